// plot.h: line charts, heatmaps and bar charts rendered to RGB PNG, so that
// loss curves, accuracy grids, attention maps and spectra can be looked at
// without leaving C. stb_image_write writes the PNG; stb_truetype draws
// anti-aliased DejaVu Sans text (Debian: libstb-dev, fonts-dejavu-core).
//
//   plot_series s = { .name = "train", .y = loss, .n = n_steps };
//   plot_line_opts o = { .title = "Loss", .xlabel = "step", .ylabel = "loss", .logy = 1 };
//   if (plot_line_png("runs/x/loss.png", &s, 1, &o, err)) fprintf(stderr, "%s\n", err);
//
// Option structs are zero-initialised for defaults; a range (min, max) is used
// only when min < max, otherwise it is taken from the data. Functions that can
// fail return 0, or -1 with a message in err (ERR_MAX bytes, core/common.h).
// The *_draw functions render onto a canvas the caller owns and report where
// the data landed (plot_axes), so tests and composite figures can find pixels.
// The font is loaded once, on first use, from PLOT_FONT_PATH or from the file
// named by the environment variable ARITHLAB_PLOT_FONT when that is set; the
// first call that draws text should not race another thread's.
#ifndef ARITHLAB_PLOT_H
#define ARITHLAB_PLOT_H

#include <stdint.h>

#define PLOT_FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

// ---------------------------------------------------------------- canvas
typedef struct { uint8_t r, g, b; } plot_rgb;
// pixels x..x+w-1, y..y+h-1; y grows downwards
typedef struct { int x, y, w, h; } plot_rect;
// px is (h, w, 3) RGB, row 0 at the top; pixel (x, y) covers [x,x+1) x [y,y+1)
typedef struct { int w, h; uint8_t *px; } plot_canvas;

int  plot_canvas_init(plot_canvas *c, int w, int h, plot_rgb bg, char *err);
void plot_canvas_free(plot_canvas *c);
int  plot_canvas_save_png(const plot_canvas *c, const char *path, char *err);
plot_rgb plot_pixel(const plot_canvas *c, int x, int y);   // black outside the canvas
void plot_fill_rect(plot_canvas *c, plot_rect r, plot_rgb col);   // clipped
// anti-aliased segment with round caps; coordinates in pixels (x0,y0 may be fractional)
void plot_line(plot_canvas *c, double x0, double y0, double x1, double y1,
               double width_px, plot_rgb col);

// ---------------------------------------------------------------- text
typedef enum { PLOT_ALIGN_LEFT, PLOT_ALIGN_CENTER, PLOT_ALIGN_RIGHT } plot_halign;
typedef enum { PLOT_ALIGN_TOP, PLOT_ALIGN_MIDDLE, PLOT_ALIGN_BOTTOM } plot_valign;
typedef struct {
    float size_px;          // line height (ascent + descent) in pixels; 0 -> 13
    plot_rgb color;         // {0} is black
    plot_halign halign;     // alignment of the box on the canvas, after rotation,
    plot_valign valign;     //   relative to the anchor point
    int rotate90;           // 1: text runs bottom to top (y-axis labels)
} plot_text_style;

// Draws UTF-8 text s anchored at (x, y); st NULL for defaults. box (may be
// NULL) receives the rectangle the text occupies. Fails only if the font
// cannot be loaded.
int plot_text(plot_canvas *c, double x, double y, const char *s,
              const plot_text_style *st, plot_rect *box, char *err);
// size of the unrotated box plot_text would fill
int plot_text_size(const char *s, float size_px, int *w, int *h, char *err);

// ---------------------------------------------------------------- colours
typedef enum {
    PLOT_CMAP_VIRIDIS,      // perceptual, dark purple (low) to yellow (high): unsigned data
    PLOT_CMAP_DIVERGING,    // blue (low) - white (middle) - red (high): signed data, centred at 0
} plot_cmap;
plot_rgb plot_cmap_rgb(plot_cmap m, double t);   // t in [0, 1], clamped
plot_rgb plot_palette(int i);                    // categorical series colours (tab10), cycling

// "Nice" tick values (steps of 1, 2 or 5 times a power of ten) inside [lo, hi],
// at most about max_n of them; writes up to cap values, returns the count.
int plot_ticks(double lo, double hi, int max_n, double *out, int cap);

// ---------------------------------------------------------------- geometry
// Where the data landed. Data x in [x_lo, x_hi] spans area from its left edge
// to its right edge; data y in [y_lo, y_hi] spans it from the bottom edge up
// (y in log10 units when logy). The chart frame is drawn 1 px outside area.
// Heatmaps: x_lo = 0, x_hi = cols, y_lo = rows, y_hi = 0, so cell (i, j)
// covers data [j, j+1] x [i, i+1]; v_lo, v_hi are the colour range and cbar
// the colour bar (v_hi at its top).
typedef struct {
    plot_rect area;
    double x_lo, x_hi, y_lo, y_hi;
    int logy;
    double v_lo, v_hi;
    plot_rect cbar;
} plot_axes;
// data (x, y) -> canvas pixel coordinates (y in data units; log taken if logy)
void plot_axes_px(const plot_axes *ax, double x, double y, double *px, double *py);

// ---------------------------------------------------------------- line chart
typedef struct {
    const char *name;       // legend entry; NULL leaves the series out of the legend
    const float *x;         // NULL: x = 0, 1, ..., n-1
    const float *y;         // NaN (and y <= 0 on a log axis) leaves a gap
    int n;
    const plot_rgb *color;  // NULL: plot_palette(series index)
} plot_series;

typedef enum {
    PLOT_LEGEND_AUTO,       // the corner that covers the fewest data points
    PLOT_LEGEND_UPPER_RIGHT, PLOT_LEGEND_UPPER_LEFT,
    PLOT_LEGEND_LOWER_RIGHT, PLOT_LEGEND_LOWER_LEFT,
    PLOT_LEGEND_NONE,
} plot_legend_pos;

typedef struct {
    int width, height;      // canvas for plot_line_png; 0 -> 720 x 440
    const char *title, *xlabel, *ylabel;
    int logy;               // log10 y axis
    float xmin, xmax, ymin, ymax;   // fixed ranges when min < max
    plot_legend_pos legend;
    float line_px;          // 0 -> 2
} plot_line_opts;

int plot_line_draw(plot_canvas *c, const plot_series *s, int n_series,
                   const plot_line_opts *o, plot_axes *ax, char *err);
int plot_line_png(const char *path, const plot_series *s, int n_series,
                  const plot_line_opts *o, char *err);

// ---------------------------------------------------------------- heatmap
typedef struct { int row, col, n_rows, n_cols; } plot_cells;   // a block of cells

typedef struct {
    int width, height;      // canvas for plot_heatmap_png; 0 -> 640 x 560
    const char *title, *xlabel, *ylabel, *cbar_label;
    plot_cmap cmap;
    float vmin, vmax;       // colour range when vmin < vmax; else the data's
                            //   (diverging: symmetric, -max|v| .. +max|v|)
    const char *const *row_labels;  // rows strings, e.g. tokens; NULL: indices
    const char *const *col_labels;  // cols strings; NULL: indices
    int annotate;           // write each cell's value in it (when cells are big enough)
    const char *annot_fmt;  // printf format for one double; NULL -> "%.2g"
    plot_cells outline;     // outlined block when n_rows, n_cols > 0
    const char *outline_label;  // key for the outline, e.g. "trained lengths"
    int stretch;            // 1: cells fill the area; 0: square cells
} plot_heatmap_opts;

// m is (rows, cols) row-major, row 0 drawn at the top; NaN cells are grey
int plot_heatmap_draw(plot_canvas *c, const float *m, int rows, int cols,
                      const plot_heatmap_opts *o, plot_axes *ax, char *err);
int plot_heatmap_png(const char *path, const float *m, int rows, int cols,
                     const plot_heatmap_opts *o, char *err);
// colour the heatmap gives NaN cells, and the outline's colour for each map
#define PLOT_NAN_RGB ((plot_rgb){150, 150, 150})
plot_rgb plot_outline_rgb(plot_cmap m);

// ---------------------------------------------------------------- bar chart
typedef struct {
    int width, height;      // canvas for plot_bar_png; 0 -> 720 x 400
    const char *title, *xlabel, *ylabel;
    const char *const *labels;  // one per bar; NULL: indices
    const int *highlight;   // one per bar, nonzero: drawn in plot_palette(3) (red)
                            //   instead of plot_palette(0) (blue); NULL: none
    float ymin, ymax;       // fixed range when ymin < ymax; else 0 .. data
} plot_bar_opts;

// bar i is centred at data x = i; NaN bars are left out
int plot_bar_draw(plot_canvas *c, const float *v, int n, const plot_bar_opts *o,
                  plot_axes *ax, char *err);
int plot_bar_png(const char *path, const float *v, int n, const plot_bar_opts *o,
                 char *err);

#endif
