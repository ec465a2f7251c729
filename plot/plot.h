// plot.h: line charts, heatmaps and bar charts drawn with Cairo and written as
// PNG, SVG or PDF, so that loss curves, accuracy grids, attention maps and
// spectra can be looked at without leaving C. Pango lays out the text in a font
// that fontconfig finds by family name (Debian: libcairo2-dev, libpango1.0-dev,
// fonts-dejavu-core); no font file path is built in.
//
//   plot_series s = { .name = "train", .y = loss, .n = n_steps };
//   plot_line_opts o = { .title = "Loss", .xlabel = "step", .ylabel = "loss", .logy = 1 };
//   if (plot_line_write("runs/x/loss.png", &s, 1, &o, err)) fprintf(stderr, "%s\n", err);
//
// Option structs are zero-initialised for defaults; a range (min, max) is used
// only when min < max, otherwise it is taken from the data. Functions that can
// fail return 0, or -1 with a message in err (ERR_MAX bytes, core/common.h);
// those that write a file leave errno set on failure and remove a partial file.
// A canvas records vector drawing operations; the *_draw functions draw onto a
// canvas the caller owns and report where the data landed (plot_axes), so tests
// and composite figures can find pixels (plot_pixel rasterises the recording).
// Output formats: *_write and plot_canvas_write write the path given with its
// extension replaced by each format in plot_formats() (set once by the CLI's
// --format png,svg,pdf; default png); *_png and plot_canvas_save_png write PNG only.
// The font family is PLOT_FONT_FAMILY, or the fontconfig family named by the
// environment variable ARITHLAB_PLOT_FONT; it is checked once, on first use
// (that first call should not race another thread's), and a family fontconfig
// does not have is an error rather than a silent substitute.
#ifndef ARITHLAB_PLOT_H
#define ARITHLAB_PLOT_H

#include <stddef.h>
#include <stdint.h>

#define PLOT_FONT_FAMILY "DejaVu Sans"

// ---------------------------------------------------------------- canvas
typedef struct { uint8_t r, g, b; } plot_rgb;
// pixels x..x+w-1, y..y+h-1; y grows downwards
typedef struct { int x, y, w, h; } plot_rect;
// w x h units (pixels in a PNG, points in a PDF), y down; a Cairo recording
// surface and its context; img caches the raster that plot_pixel reads
typedef struct _cairo cairo_t;
typedef struct _cairo_surface cairo_surface_t;
typedef struct {
    int w, h;
    cairo_surface_t *rec, *img;
    cairo_t *cr;
    char title[128];    // SVG <title> and PDF Title of the written file
} plot_canvas;

typedef enum { PLOT_FORMAT_PNG = 1, PLOT_FORMAT_SVG = 2, PLOT_FORMAT_PDF = 4 } plot_format;

int  plot_canvas_init(plot_canvas *c, int w, int h, plot_rgb bg, char *err);
void plot_canvas_free(plot_canvas *c);
void plot_canvas_set_title(plot_canvas *c, const char *title);
// one file in one format, the path taken as given
int  plot_canvas_save(const plot_canvas *c, const char *path, plot_format fmt, char *err);
int  plot_canvas_save_png(const plot_canvas *c, const char *path, char *err);
// every format in plot_formats(), path's extension replaced by each one's
int  plot_canvas_write(const plot_canvas *c, const char *path, char *err);
// "png,svg,pdf" (any non-empty subset, any order) -> a mask of plot_format
int  plot_formats_parse(const char *list, unsigned *mask, char *err);
void plot_set_formats(unsigned mask);     // process-wide; 0 -> PNG
unsigned plot_formats(void);
const char *plot_format_ext(plot_format f);   // "png", "svg", "pdf"
// mask as the list plot_formats_parse reads back, e.g. "png,svg"
void plot_formats_str(unsigned mask, char *buf, size_t n);

// pixel (x, y) covers [x,x+1) x [y,y+1) of the rasterised canvas
plot_rgb plot_pixel(const plot_canvas *c, int x, int y);   // black outside the canvas
void plot_fill_rect(plot_canvas *c, plot_rect r, plot_rgb col);
// anti-aliased segment with round caps; coordinates in pixels (x0,y0 may be fractional)
void plot_line(plot_canvas *c, double x0, double y0, double x1, double y1,
               double width_px, plot_rgb col);
void plot_dashed_line(plot_canvas *c, double x0, double y0, double x1, double y1,
                      double width_px, plot_rgb col);
// xy holds n points (x0, y0, x1, y1, ...): a joined path; a filled polygon
void plot_polyline(plot_canvas *c, const double *xy, int n, double width_px, plot_rgb col);
void plot_fill_polygon(plot_canvas *c, const double *xy, int n, plot_rgb col, double alpha);
// a white disc with a ring of colour col (a data point)
void plot_marker(plot_canvas *c, double x, double y, double radius_px, plot_rgb col);
// src drawn into dst with its top-left corner at (x, y); stays vector in SVG and PDF
int  plot_canvas_blit(plot_canvas *dst, const plot_canvas *src, int x, int y, char *err);

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
// family is not installed.
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
// the same ticks with the labels an axis gets: one format shared by all of them
// (0.0, 0.5, 1.0, not 0, 0.5, 1; 0, 2e6, 4e6 for large steps)
int plot_tick_labels(double lo, double hi, int max_n, double *out, char (*labels)[24], int cap);
// one printf format for all n values of a figure (NaN ignored): fixed decimals giving
// the largest |v| two significant digits, at least one decimal below 100 ("%.2f" for
// 0.3 and 0.068: 0.30, 0.07, not 0.3 beside 0.068; "%.1f" for 10.2 and 0.4), "%.1e" from 1e5 up
void plot_value_format(const float *v, size_t n, char *fmt, size_t cap);
// labels for n values in one form: whole numbers as such (100, 1000; from 1e6 as 1e6,
// 2e6), others with the decimals the most precise one needs when all lie in
// [0.01, 1e4) (0.25, 0.50), else as mantissa and exponent (1e-3, 3e-3, 1e-2)
void plot_value_labels(const float *v, int n, char (*labels)[24]);

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
    int logy, logx;         // x in log10 units when logx
    double v_lo, v_hi;
    plot_rect cbar;
} plot_axes;
// data (x, y) -> canvas pixel coordinates (data units; log taken if logx, logy)
void plot_axes_px(const plot_axes *ax, double x, double y, double *px, double *py);

// ---------------------------------------------------------------- line chart
typedef struct {
    const char *name;       // legend entry; NULL leaves the series out of the legend
    const float *x;         // NULL: x = 0, 1, ..., n-1
    const float *y;         // NaN (and y <= 0 on a log axis) leaves a gap
    int n;
    const plot_rgb *color;  // NULL: plot_palette(series index)
    int markers;            // 1: a ring at every point (sparse data such as sweep values)
    int dashed;             // 1: a dashed line (a baseline, e.g. the majority class)
    const float *y_lo, *y_hi;   // a shaded band from y_lo to y_hi around the line
                                //   (e.g. min..max over seeds); NULL: none
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
    int logx;               // log10 x axis (x <= 0 leaves a gap)
    float xmin, xmax, ymin, ymax;   // fixed ranges when min < max
    plot_legend_pos legend;
    float line_px;          // 0 -> 2
    const char *const *xtick_labels;   // categories: label i at x = i (i < n_xtick_labels),
    int n_xtick_labels;                //   instead of numeric x ticks
    const float *xtick_values;         // ticks at exactly these x (a sweep's values), labelled in
    int n_xtick_values;                //   one format (plot_value_labels), instead of automatic ones
} plot_line_opts;

int plot_line_draw(plot_canvas *c, const plot_series *s, int n_series,
                   const plot_line_opts *o, plot_axes *ax, char *err);
int plot_line_png(const char *path, const plot_series *s, int n_series,
                  const plot_line_opts *o, char *err);
int plot_line_write(const char *path, const plot_series *s, int n_series,
                  const plot_line_opts *o, char *err);

// ---------------------------------------------------------------- heatmap
typedef struct { int row, col, n_rows, n_cols; } plot_cells;   // a block of cells

typedef struct {
    int width, height;      // canvas for plot_heatmap_png; 0 -> 640 x 560
    const char *title, *xlabel, *ylabel, *cbar_label;
    plot_cmap cmap;
    float vmin, vmax;       // colour range when vmin < vmax; else the data's
                            //   (diverging: symmetric about center)
    float center;           // diverging: the value drawn white, e.g. a baseline
                            //   (differences from it run blue below, red above); 0 by default
    const char *const *row_labels;  // rows strings, e.g. tokens; NULL: indices
    const char *const *col_labels;  // cols strings; NULL: indices
    int annotate;           // write each cell's value in it (when cells are big enough)
    const char *annot_fmt;  // printf format for one double; NULL -> plot_value_format's, one for every cell
    plot_cells outline;     // outlined block when n_rows, n_cols > 0
    const char *outline_label;  // key for the outline, e.g. "trained lengths"
    int stretch;            // 1: cells fill the area; 0: square cells
    const char *nan_label;  // key for the grey NaN cells, e.g. "masked (causal)"; NULL: none
    int no_cbar;            // 1: no colour bar (a grid of heatmaps shares one, plot_colorbar_draw)
} plot_heatmap_opts;

// m is (rows, cols) row-major, row 0 drawn at the top; NaN cells are grey
int plot_heatmap_draw(plot_canvas *c, const float *m, int rows, int cols,
                      const plot_heatmap_opts *o, plot_axes *ax, char *err);
int plot_heatmap_png(const char *path, const float *m, int rows, int cols,
                     const plot_heatmap_opts *o, char *err);
int plot_heatmap_write(const char *path, const float *m, int rows, int cols,
                     const plot_heatmap_opts *o, char *err);
// a colour bar in r for values lo (bottom) .. hi (top), ticks and label at its right
int plot_colorbar_draw(plot_canvas *c, plot_rect r, plot_cmap m, double lo, double hi,
                       const char *label, char *err);
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
int plot_bar_write(const char *path, const float *v, int n, const plot_bar_opts *o,
                 char *err);

#endif
