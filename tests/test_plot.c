// test_plot.c: the plotting library draws what the numbers say: colours of
// heatmap cells, rows of flat series, heights of bars, where frames, outlines
// and text land; and it fails cleanly on bad paths, missing fonts, bad input.
// PNGs go to plot_out/ in a mkdtemp directory per test process (removed at exit;
// the gallery test writes teaching samples there).
#define _GNU_SOURCE   // setenv, mkdir, memmem
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cairo.h>

#include "core/common.h"
#include "plot/plot.h"
#include "sweep/sweep.h"

#define OUT_DIR "plot_out"

static char scratch_dir[64];
static void scratch_remove(void)
{
    char cmd[128];
    if (chdir("/")) return;
    snprintf(cmd, sizeof cmd, "rm -rf %s", scratch_dir);
    if (system(cmd)) fprintf(stderr, "warning: could not remove %s\n", scratch_dir);
}

// OUT_DIR inside this process's own scratch directory (its current directory)
static void out_dir(void)
{
    if (!scratch_dir[0]) {
        strcpy(scratch_dir, "/tmp/arithlab_plot_XXXXXX");
        cr_assert_not_null(mkdtemp(scratch_dir));
        cr_assert_eq(chdir(scratch_dir), 0);
        atexit(scratch_remove);
    }
    mkdir(OUT_DIR, 0755);
}

static int near(plot_rgb a, plot_rgb b, int tol)
{
    return abs(a.r - b.r) <= tol && abs(a.g - b.g) <= tol && abs(a.b - b.b) <= tol;
}

#define ASSERT_RGB(got, want, tol, what)                                                \
    cr_assert(near(got, want, tol), "%s: got (%d,%d,%d), want (%d,%d,%d)", what,        \
              (got).r, (got).g, (got).b, (want).r, (want).g, (want).b)

// centre pixel of heatmap cell (i, j)
static plot_rgb cell_px(const plot_canvas *c, const plot_axes *ax, int i, int j)
{
    double px, py;
    plot_axes_px(ax, j + 0.5, i + 0.5, &px, &py);
    return plot_pixel(c, (int)px, (int)py);
}

static void save(const plot_canvas *c, const char *name)
{
    char path[256], err[ERR_MAX];
    out_dir();
    snprintf(path, sizeof path, OUT_DIR "/%s", name);
    cr_assert_eq(plot_canvas_save_png(c, path, err), 0, "%s", err);
}

// ---------------------------------------------------------------- colour maps
Test(plot_cmap, viridis_runs_from_purple_to_yellow)
{
    ASSERT_RGB(plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 0), ((plot_rgb){0x44, 0x01, 0x54}), 1, "viridis(0)");
    ASSERT_RGB(plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 0.5), ((plot_rgb){0x21, 0x91, 0x8c}), 2, "viridis(0.5)");
    ASSERT_RGB(plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 1), ((plot_rgb){0xfd, 0xe7, 0x25}), 1, "viridis(1)");
    ASSERT_RGB(plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 7), plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 1), 0, "clamped");
}

Test(plot_cmap, diverging_is_blue_white_red)
{
    plot_rgb lo = plot_cmap_rgb(PLOT_CMAP_DIVERGING, 0), mid = plot_cmap_rgb(PLOT_CMAP_DIVERGING, 0.5),
             hi = plot_cmap_rgb(PLOT_CMAP_DIVERGING, 1);
    cr_assert(lo.b > lo.r + 50, "low end is blue: (%d,%d,%d)", lo.r, lo.g, lo.b);
    cr_assert(hi.r > hi.b + 50, "high end is red: (%d,%d,%d)", hi.r, hi.g, hi.b);
    cr_assert(mid.r > 240 && mid.g > 240 && mid.b > 240, "centre is white: (%d,%d,%d)", mid.r, mid.g, mid.b);
}

Test(plot_ticks, steps_are_one_two_or_five)
{
    double v[32];
    int n = plot_ticks(0, 1, 6, v, 32);
    cr_assert_eq(n, 6);
    for (int i = 0; i < n; i++) cr_assert_float_eq(v[i], 0.2 * i, 1e-12);
    n = plot_ticks(-3.3, 47, 6, v, 32);   // step 10: 0, 10, ..., 40
    cr_assert_eq(n, 5);
    cr_assert_float_eq(v[0], 0, 1e-12);
    cr_assert_float_eq(v[4], 40, 1e-12);
    n = plot_ticks(1, 1, 5, v, 32);
    cr_assert_eq(n, 0, "an empty range has no ticks");
}

Test(plot_ticks, labels_of_one_axis_share_one_format)
{
    double v[32];
    char s[32][24];
    int n = plot_tick_labels(0, 1, 3, v, s, 32);   // step 0.5: every label with one decimal
    cr_assert_eq(n, 3);
    cr_assert_str_eq(s[0], "0.0");
    cr_assert_str_eq(s[1], "0.5");
    cr_assert_str_eq(s[2], "1.0");
    n = plot_tick_labels(-0.02, 0.05, 4, v, s, 32);
    for (int i = 0; i < n; i++) cr_assert_eq(strlen(s[i]) - (s[i][0] == '-'), 4, "two decimals: %s", s[i]);
    n = plot_tick_labels(0, 1e7, 5, v, s, 32);   // large: one exponent for all
    cr_assert_eq(n, 6);
    cr_assert_str_eq(s[1], "2e6");
    cr_assert_str_eq(s[5], "10e6", "not 1e7 next to 8e6");
    n = plot_tick_labels(0, 2.6e-5, 2, v, s, 32);   // small
    for (int i = 1; i < n; i++) cr_assert(strstr(s[i], "e-5"), "one exponent: %s", s[i]);
}

Test(plot_ticks, cell_values_of_one_figure_share_one_format)
{
    char fmt[16], a[32], b[32];
    const float small[] = {0.3f, 0.068f, NAN, 0.0f};
    plot_value_format(small, 4, fmt, sizeof fmt);
    snprintf(a, sizeof a, fmt, 0.3), snprintf(b, sizeof b, fmt, 0.068);
    cr_expect_str_eq(a, "0.30", "%s", fmt);
    cr_expect_str_eq(b, "0.07", "not 0.3 beside 0.068: %s", fmt);
    const float pct[] = {100.0f, 3.5f, -12.0f};
    plot_value_format(pct, 3, fmt, sizeof fmt);
    cr_expect_str_eq(fmt, "%.0f");
    const float mixed[] = {10.2f, 0.4f};
    plot_value_format(mixed, 2, fmt, sizeof fmt);
    cr_expect_str_eq(fmt, "%.1f", "10.2 beside 0.4, not 10 beside 0");
    const float tiny[] = {0.0004f, 0.00002f};
    plot_value_format(tiny, 2, fmt, sizeof fmt);
    cr_expect_str_eq(fmt, "%.4f");
    const float big[] = {2e6f, 3.0f};
    plot_value_format(big, 2, fmt, sizeof fmt);
    cr_expect_str_eq(fmt, "%.1e");
    const float none[] = {NAN};
    plot_value_format(none, 1, fmt, sizeof fmt);
    cr_expect_str_eq(fmt, "%.0f");
}

// ---------------------------------------------------------------- heatmap
Test(plot_heatmap, cells_have_the_viridis_colour_of_their_value)
{
    float m[3 * 4];
    for (int i = 0; i < 12; i++) m[i] = (float)i;   // 0 top left, 11 bottom right
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 500, 400, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_heatmap_opts o = {.title = "0..11", .xlabel = "col", .ylabel = "row"};
    cr_assert_eq(plot_heatmap_draw(&c, m, 3, 4, &o, &ax, err), 0, "%s", err);
    save(&c, "heatmap_viridis.png");
    cr_assert_float_eq(ax.v_lo, 0, 1e-9);
    cr_assert_float_eq(ax.v_hi, 11, 1e-9);
    ASSERT_RGB(cell_px(&c, &ax, 2, 3), ((plot_rgb){0xfd, 0xe7, 0x25}), 2, "max cell is the top of the map");
    ASSERT_RGB(cell_px(&c, &ax, 0, 0), ((plot_rgb){0x44, 0x01, 0x54}), 2, "min cell is the bottom of the map");
    ASSERT_RGB(cell_px(&c, &ax, 1, 2), plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 6.0 / 11), 1, "cell (1,2) = 6");
    // the colour bar: max at its top, min at its bottom
    plot_rgb top = plot_pixel(&c, ax.cbar.x + ax.cbar.w / 2, ax.cbar.y + 1);
    plot_rgb bot = plot_pixel(&c, ax.cbar.x + ax.cbar.w / 2, ax.cbar.y + ax.cbar.h - 2);
    ASSERT_RGB(top, plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 1), 6, "colour bar top");
    ASSERT_RGB(bot, plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 0), 6, "colour bar bottom");
    plot_canvas_free(&c);
}

Test(plot_heatmap, diverging_zero_is_white_and_negative_is_blue)
{
    float m[2 * 3] = {-2, 0, 2, -1, 0.0f, 1};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 420, 320, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_heatmap_opts o = {.cmap = PLOT_CMAP_DIVERGING, .title = "signed"};
    cr_assert_eq(plot_heatmap_draw(&c, m, 2, 3, &o, &ax, err), 0, "%s", err);
    save(&c, "heatmap_diverging.png");
    cr_assert_float_eq(ax.v_lo, -2, 1e-9, "range is symmetric about 0");
    cr_assert_float_eq(ax.v_hi, 2, 1e-9);
    plot_rgb zero = cell_px(&c, &ax, 0, 1), neg = cell_px(&c, &ax, 0, 0), pos = cell_px(&c, &ax, 0, 2);
    cr_assert(zero.r > 235 && zero.g > 235 && zero.b > 235, "zero is white-ish: (%d,%d,%d)", zero.r, zero.g, zero.b);
    cr_assert(neg.b > neg.r + 40, "negative is blue-ish: (%d,%d,%d)", neg.r, neg.g, neg.b);
    cr_assert(pos.r > pos.b + 40, "positive is red-ish: (%d,%d,%d)", pos.r, pos.g, pos.b);
    plot_canvas_free(&c);
}

Test(plot_heatmap, outline_is_drawn_on_the_region_border)
{
    enum { R = 6, C = 8 };
    float m[R * C];
    for (int i = 0; i < R * C; i++) m[i] = 0.5f;
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 520, 420, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_heatmap_opts o = {.vmin = 0, .vmax = 1, .outline = {.row = 0, .col = 0, .n_rows = 3, .n_cols = 5},
                           .outline_label = "in distribution"};
    cr_assert_eq(plot_heatmap_draw(&c, m, R, C, &o, &ax, err), 0, "%s", err);
    save(&c, "heatmap_outline.png");
    plot_rgb ol = plot_outline_rgb(PLOT_CMAP_VIRIDIS), fill = plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 0.5);
    double x1, y1, xm, ym;
    plot_axes_px(&ax, 5, 3, &x1, &y1);       // the block's bottom-right corner
    plot_axes_px(&ax, 2.5, 1.5, &xm, &ym);   // its middle
    int X1 = (int)lround(x1), Y1 = (int)lround(y1), XM = (int)xm, YM = (int)ym;
    ASSERT_RGB(plot_pixel(&c, X1, YM), ol, 0, "right edge");
    ASSERT_RGB(plot_pixel(&c, X1 - 1, YM), ol, 0, "right edge, inner pixel");
    ASSERT_RGB(plot_pixel(&c, XM, Y1), ol, 0, "bottom edge");
    ASSERT_RGB(plot_pixel(&c, XM, ax.area.y), ol, 0, "top edge, on the grid's border");
    ASSERT_RGB(plot_pixel(&c, X1 + 4, YM), fill, 0, "just right of the block: a cell");
    ASSERT_RGB(plot_pixel(&c, XM, Y1 + 4), fill, 0, "just below the block: a cell");
    ASSERT_RGB(plot_pixel(&c, XM, YM), fill, 0, "inside the block: a cell");
    plot_canvas_free(&c);
}

Test(plot_heatmap, nan_cells_are_grey)
{
    float m[4] = {0, NAN, 1, 0.5f};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 400, 300, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_heatmap_opts o = {.annotate = 1};
    cr_assert_eq(plot_heatmap_draw(&c, m, 2, 2, &o, &ax, err), 0, "%s", err);
    ASSERT_RGB(cell_px(&c, &ax, 0, 1), PLOT_NAN_RGB, 0, "NaN cell");
    cr_assert_float_eq(ax.v_hi, 1, 1e-9, "NaN is left out of the range");
    plot_canvas_free(&c);
}

Test(plot_heatmap, rejects_an_outline_outside_the_matrix)
{
    float m[4] = {0, 1, 2, 3};
    plot_canvas c;
    char err[ERR_MAX] = "";
    cr_assert_eq(plot_canvas_init(&c, 300, 300, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_heatmap_opts o = {.outline = {.n_rows = 3, .n_cols = 1}};
    cr_assert_eq(plot_heatmap_draw(&c, m, 2, 2, &o, NULL, err), -1);
    cr_assert(strstr(err, "outline"), "message names the field: %s", err);
    cr_assert_eq(plot_heatmap_draw(&c, m, 0, 2, NULL, NULL, err), -1, "zero rows");
    plot_canvas_free(&c);
}

Test(plot_heatmap, diverging_map_is_centred_at_the_baseline)
{
    float m[3] = {20, 50, 60};   // a baseline of 50: one cell below it, one at it, one above
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 420, 240, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_heatmap_opts o = {.cmap = PLOT_CMAP_DIVERGING, .center = 50};
    cr_assert_eq(plot_heatmap_draw(&c, m, 1, 3, &o, &ax, err), 0, "%s", err);
    cr_assert_float_eq(ax.v_lo, 20, 1e-9, "50 - max |v - 50|");
    cr_assert_float_eq(ax.v_hi, 80, 1e-9, "50 + max |v - 50|");
    plot_rgb at = cell_px(&c, &ax, 0, 1), below = cell_px(&c, &ax, 0, 0), above = cell_px(&c, &ax, 0, 2);
    cr_assert(at.r > 240 && at.g > 240 && at.b > 240, "the baseline is white: (%d,%d,%d)", at.r, at.g, at.b);
    ASSERT_RGB(below, plot_cmap_rgb(PLOT_CMAP_DIVERGING, 0), 2, "the farthest below is the blue end");
    ASSERT_RGB(above, plot_cmap_rgb(PLOT_CMAP_DIVERGING, 40.0 / 60), 2, "10 above: a third of the way to red");
    plot_canvas_free(&c);
}

Test(plot_heatmap, masked_cells_differ_from_zero_and_a_grid_shares_one_colour_bar)
{
    // causal attention: row i attends to keys 0..i; the keys after it are masked (NaN)
    enum { T = 4 };
    float m[T * T];
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) m[i * T + j] = j > i ? NAN : j == 0 ? 0.0f : 1.0f / (i + 1);
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 400, 360, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_heatmap_opts o = {.vmin = 0, .vmax = 1, .nan_label = "masked (causal)", .no_cbar = 1};
    cr_assert_eq(plot_heatmap_draw(&c, m, T, T, &o, &ax, err), 0, "%s", err);
    save(&c, "heatmap_masked.png");
    plot_rgb masked = cell_px(&c, &ax, 0, 3), zero = cell_px(&c, &ax, 3, 0);
    ASSERT_RGB(masked, PLOT_NAN_RGB, 0, "a masked key");
    ASSERT_RGB(zero, plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 0), 1, "attention 0");
    cr_assert(!near(masked, zero, 40), "masked and 0 look different");
    cr_assert_eq(ax.cbar.w, 0, "no colour bar of its own");
    int grey = 0;   // the key's swatch, above the grid
    for (int y = 0; y < ax.area.y; y++)
        for (int x = ax.area.x; x < ax.area.x + ax.area.w; x++) grey += near(plot_pixel(&c, x, y), PLOT_NAN_RGB, 0);
    cr_assert_gt(grey, 100, "the masked key's grey swatch: %d px", grey);
    // the shared bar, drawn once by the caller
    plot_rect bar = {ax.area.x + ax.area.w + 20, ax.area.y, 14, ax.area.h};
    cr_assert_eq(plot_colorbar_draw(&c, bar, PLOT_CMAP_VIRIDIS, 0, 1, "attention", err), 0, "%s", err);
    ASSERT_RGB(plot_pixel(&c, bar.x + 7, bar.y + 1), plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 1), 6, "bar top");
    ASSERT_RGB(plot_pixel(&c, bar.x + 7, bar.y + bar.h - 2), plot_cmap_rgb(PLOT_CMAP_VIRIDIS, 0), 6, "bar bottom");
    cr_assert_eq(plot_colorbar_draw(&c, bar, PLOT_CMAP_VIRIDIS, 1, 1, NULL, err), -1, "an empty range");
    plot_canvas_free(&c);
}

// ---------------------------------------------------------------- line chart
Test(plot_line, flat_series_is_drawn_at_its_row_inside_the_frame)
{
    float y[50];
    for (int i = 0; i < 50; i++) y[i] = 0.25f;
    float y2[50];
    for (int i = 0; i < 50; i++) y2[i] = 0.25f + 0.01f * i;   // sets the range: 0.25 .. 0.74
    plot_series s[2] = {{.name = "flat", .y = y, .n = 50}, {.name = "rising", .y = y2, .n = 50}};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 600, 400, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_line_opts o = {.title = "flat", .xlabel = "step", .ylabel = "y", .legend = PLOT_LEGEND_LOWER_RIGHT};
    cr_assert_eq(plot_line_draw(&c, s, 2, &o, &ax, err), 0, "%s", err);
    save(&c, "line_flat.png");
    double px, py;
    plot_axes_px(&ax, 10, 0.25, &px, &py);
    int row = (int)floor(py);
    cr_assert(row > ax.area.y && row < ax.area.y + ax.area.h, "row %d inside the area", row);
    ASSERT_RGB(plot_pixel(&c, (int)px, row), plot_palette(0), 0, "series colour on its row");
    plot_rgb off = plot_pixel(&c, (int)px, row - 6);
    cr_assert(!near(off, plot_palette(0), 40), "6 rows above is not the series");
    // the frame: left spine 1 px left of the area, bottom spine 1 px below it
    for (int yy = ax.area.y; yy < ax.area.y + ax.area.h; yy += 7) {
        plot_rgb p = plot_pixel(&c, ax.area.x - 1, yy);
        cr_assert(p.r < 100 && p.g < 100 && p.b < 100, "left spine at x = %d, y = %d", ax.area.x - 1, yy);
    }
    plot_rgb b = plot_pixel(&c, ax.area.x + ax.area.w / 3, ax.area.y + ax.area.h);
    cr_assert(b.r < 100 && b.g < 100 && b.b < 100, "bottom spine at y = %d", ax.area.y + ax.area.h);
    plot_rgb in = plot_pixel(&c, ax.area.x + 1, ax.area.y + ax.area.h - 2);
    cr_assert(in.r > 200, "inside the corner is background, not frame");
    plot_canvas_free(&c);
}

Test(plot_line, logy_skips_nonpositive_and_nan_points)
{
    float y[8] = {10, 0, -3, 1, NAN, 0.1f, 0.01f, 0};
    plot_series s = {.name = "loss", .y = y, .n = 8};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 600, 400, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_line_opts o = {.logy = 1, .title = "log y with gaps"};
    cr_assert_eq(plot_line_draw(&c, &s, 1, &o, &ax, err), 0, "%s", err);
    save(&c, "line_logy_gaps.png");
    cr_assert(ax.logy);
    cr_assert(isfinite(ax.y_lo) && isfinite(ax.y_hi), "range is finite: %g..%g", ax.y_lo, ax.y_hi);
    cr_assert(ax.y_lo < -2 && ax.y_lo > -3, "bottom just under log10(0.01): %g", ax.y_lo);
    cr_assert(ax.y_hi > 1 && ax.y_hi < 2, "top just over log10(10): %g", ax.y_hi);
    // all points invalid: still draws, with a default range
    float bad[3] = {0, -1, NAN};
    plot_series sb = {.y = bad, .n = 3};
    cr_assert_eq(plot_line_draw(&c, &sb, 1, &o, &ax, err), 0, "%s", err);
    plot_line_opts fixed = {.logy = 1, .ymin = 0, .ymax = 1};
    cr_assert_eq(plot_line_draw(&c, &s, 1, &fixed, &ax, err), -1, "ymin = 0 on a log axis");
    cr_assert(strstr(err, "ymin"), "%s", err);
    plot_canvas_free(&c);
}

Test(plot_line, log_x_markers_and_min_max_band_land_where_the_data_says)
{
    // seeds' accuracy at train sizes 100 .. 100000: a band from min to max, the mean on it
    float x[4] = {100, 1000, 10000, 100000}, mean[4] = {20, 60, 100, 100}, lo[4] = {10, 50, 100, 100},
          hi[4] = {30, 70, 100, 100};
    plot_rgb col = plot_palette(0);
    plot_series s = {.name = "mean", .x = x, .y = mean, .n = 4, .markers = 1, .y_lo = lo, .y_hi = hi, .color = &col};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 600, 400, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_line_opts o = {.title = "log x", .logx = 1, .ymin = 0, .ymax = 100, .legend = PLOT_LEGEND_NONE};
    cr_assert_eq(plot_line_draw(&c, &s, 1, &o, &ax, err), 0, "%s", err);
    save(&c, "line_logx_band.png");
    cr_assert(ax.logx);
    double p1, p2, p3, py;
    plot_axes_px(&ax, 100, 0, &p1, NULL);
    plot_axes_px(&ax, 1000, 0, &p2, NULL);
    plot_axes_px(&ax, 10000, 0, &p3, NULL);
    cr_assert_float_eq(p2 - p1, p3 - p2, 1e-6, "decades are evenly spaced on a log axis");
    // the band: between 50 and 70 at x = 1000, above the mean, is pale blue; outside it is white
    plot_axes_px(&ax, 1000, 66, NULL, &py);
    plot_rgb band = plot_pixel(&c, (int)p2 + 12, (int)py);
    cr_assert(band.b > band.r + 20 && band.r > 150, "inside the band: pale blue (%d,%d,%d)", band.r, band.g, band.b);
    plot_axes_px(&ax, 1000, 77, NULL, &py);
    ASSERT_RGB(plot_pixel(&c, (int)p2 + 12, (int)py), ((plot_rgb){255, 255, 255}), 0, "above the band");
    // a marker: a white centre inside a ring of the series colour
    plot_axes_px(&ax, 1000, 60, NULL, &py);
    ASSERT_RGB(plot_pixel(&c, (int)p2, (int)py), ((plot_rgb){255, 255, 255}), 10, "marker centre");
    ASSERT_RGB(plot_pixel(&c, (int)p2 + 4, (int)py), col, 40, "marker ring");
    // 100% on the top edge: drawn over the frame, so the series colour shows there
    double p4;
    plot_axes_px(&ax, 30000, 100, &p4, &py);
    ASSERT_RGB(plot_pixel(&c, (int)p4, ax.area.y - 1), col, 30, "a line at the range's top is not hidden by the frame");
    plot_canvas_free(&c);
}

Test(plot_line, a_sweeps_values_get_the_x_ticks_and_labels_in_one_form)
{
    char lab[6][24];
    const float lr[4] = {0.001f, 0.003f, 0.01f, 0.03f};
    plot_value_labels(lr, 4, lab);
    const char *want_lr[] = {"1e-3", "3e-3", "1e-2", "3e-2"};   // not 0.001 beside 0.03, nor 10e-3
    for (int i = 0; i < 4; i++) cr_expect_str_eq(lab[i], want_lr[i]);
    const float sizes[3] = {100, 1000, 10000};
    plot_value_labels(sizes, 3, lab);
    cr_expect_str_eq(lab[0], "100");
    cr_expect_str_eq(lab[2], "10000");
    const float big[2] = {1e6f, 2.5e6f};
    plot_value_labels(big, 2, lab);
    cr_expect_str_eq(lab[0], "1e6");
    cr_expect_str_eq(lab[1], "2.5e6");
    const float frac[3] = {0.25f, 0.5f, 1.0f};
    plot_value_labels(frac, 3, lab);
    cr_expect_str_eq(lab[0], "0.25");
    cr_expect_str_eq(lab[1], "0.50", "one number of decimals for the axis");
    cr_expect_str_eq(lab[2], "1.00");

    // the ticks: one below the frame at each value, none between (no automatic 2e-3)
    float y[4] = {10, 20, 30, 40};
    plot_series s = {.x = lr, .y = y, .n = 4, .markers = 1};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 600, 400, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_line_opts o = {.logx = 1, .legend = PLOT_LEGEND_NONE, .xtick_values = lr, .n_xtick_values = 4};
    cr_assert_eq(plot_line_draw(&c, &s, 1, &o, &ax, err), 0, "%s", err);
    save(&c, "line_xtick_values.png");
    int row = ax.area.y + ax.area.h + 3;
    for (int i = 0; i < 4; i++) {
        double px;
        plot_axes_px(&ax, lr[i], 0, &px, NULL);
        plot_rgb p = plot_pixel(&c, (int)floor(px), row);
        cr_expect(p.r < 140, "no tick under x = %g (%d,%d,%d)", (double)lr[i], p.r, p.g, p.b);
    }
    double p2;
    plot_axes_px(&ax, 0.002, 0, &p2, NULL);
    for (int dx = -1; dx <= 1; dx++) ASSERT_RGB(plot_pixel(&c, (int)floor(p2) + dx, row), ((plot_rgb){255, 255, 255}), 0,
                                                "a tick at 2e-3, which is not a value");
    plot_canvas_free(&c);
}

Test(plot_line, a_dashed_baseline_has_gaps_a_solid_line_has_none)
{
    float y[2] = {1, 1}, y2[2] = {0, 2};
    plot_series s[2] = {{.y = y, .n = 2, .dashed = 1}, {.y = y2, .n = 2}};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 600, 400, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_line_opts o = {.legend = PLOT_LEGEND_NONE};
    cr_assert_eq(plot_line_draw(&c, s, 2, &o, &ax, err), 0, "%s", err);
    double py;
    plot_axes_px(&ax, 0, 1, NULL, &py);
    int on = 0, off = 0;
    for (int x = ax.area.x + 5; x < ax.area.x + ax.area.w / 3; x++) {
        plot_rgb p = plot_pixel(&c, x, (int)floor(py));
        if (near(p, plot_palette(0), 20)) on++;
        else if (p.r > 200 && p.g > 200 && p.b > 200) off++;   // background or grid
    }
    cr_assert(on > 20 && off > 10, "dashes and gaps along the baseline: %d on, %d off", on, off);
    plot_canvas_free(&c);
}

Test(plot_line, category_ticks_sit_at_whole_x_and_nowhere_else)
{
    float y[3] = {10, 90, 95};
    const char *cats[3] = {"embed", "after L0", "after L1"};
    plot_series s = {.y = y, .n = 3};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 600, 400, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_line_opts o = {.xmin = -0.3f, .xmax = 2.3f, .xtick_labels = cats, .n_xtick_labels = 3};
    cr_assert_eq(plot_line_draw(&c, &s, 1, &o, &ax, err), 0, "%s", err);
    save(&c, "line_categories.png");
    int below = ax.area.y + ax.area.h + 3;   // in the tick marks' strip under the frame
    for (int i = 0; i < 3; i++) {
        double px;
        plot_axes_px(&ax, i, 50, &px, NULL);
        plot_rgb t = plot_pixel(&c, (int)floor(px), below);
        cr_assert(t.r < 120, "a tick mark under category %d", i);
    }
    double half;
    plot_axes_px(&ax, 0.5, 50, &half, NULL);
    ASSERT_RGB(plot_pixel(&c, (int)floor(half), below), ((plot_rgb){255, 255, 255}), 0, "no tick between categories");
    ASSERT_RGB(plot_pixel(&c, (int)floor(half), ax.area.y + 5), ((plot_rgb){255, 255, 255}), 0, "no grid line between them");
    plot_canvas_free(&c);
}

Test(plot_line, log_tick_labels_share_one_format_per_axis)
{
    float y[2] = {10, 1e7f};
    plot_series s = {.y = y, .n = 2};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 600, 400, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_line_opts o = {.logy = 1};
    cr_assert_eq(plot_line_draw(&c, &s, 1, &o, &ax, err), 0, "%s", err);
    plot_canvas_free(&c);
    // the label widths tell the formats apart: "1e1" .. "1e7" are all three glyphs wide
    int w1, w7, w;
    cr_assert_eq(plot_text_size("1e1", 12, &w1, NULL, err), 0, "%s", err);
    cr_assert_eq(plot_text_size("1e7", 12, &w7, NULL, err), 0, "%s", err);
    cr_assert_eq(plot_text_size("10", 12, &w, NULL, err), 0, "%s", err);
    cr_assert(ax.area.x < 10 + 14 + w7 + 12 + 5 + 6, "the margin fits 1e7, not 10000000: area.x = %d", ax.area.x);
    cr_assert_eq(w1, w7);
}

Test(sweep_plot, geometric_values_get_a_log_axis)
{
    float dec[3] = {100, 1000, 10000}, dbl[4] = {1, 2, 4, 8}, lin[4] = {1, 2, 3, 4}, two[2] = {1, 100},
          near2[2] = {1, 3}, down[3] = {0.1f, 0.01f, 0.001f}, zero[3] = {0, 10, 100}, rep[3] = {5, 5, 5};
    cr_assert(sweep_values_geometric(dec, 3), "decades");
    cr_assert(sweep_values_geometric(dbl, 4), "doublings");
    cr_assert(sweep_values_geometric(down, 3), "shrinking decades");
    cr_assert(sweep_values_geometric(two, 2), "two values 100x apart");
    cr_assert(!sweep_values_geometric(lin, 4), "evenly spaced values stay linear");
    cr_assert(!sweep_values_geometric(near2, 2), "two values 3x apart stay linear");
    cr_assert(!sweep_values_geometric(zero, 3), "zero cannot go on a log axis");
    cr_assert(!sweep_values_geometric(rep, 3), "repeated values");
}

// ---------------------------------------------------------------- bar chart
Test(plot_bar, tallest_bar_reaches_its_height_and_highlights_show)
{
    float v[6] = {1, 4, 2, 8, 0.5f, 3};
    int hl[6] = {0, 0, 0, 1, 0, 0};
    plot_canvas c;
    plot_axes ax;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 600, 400, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_bar_opts o = {.title = "bars", .ymin = 0, .ymax = 10, .highlight = hl};
    cr_assert_eq(plot_bar_draw(&c, v, 6, &o, &ax, err), 0, "%s", err);
    save(&c, "bar.png");
    double px, top, base;
    plot_axes_px(&ax, 3, 8, &px, &top);
    plot_axes_px(&ax, 3, 0, NULL, &base);
    int T = (int)lround(top), X = (int)px;
    ASSERT_RGB(plot_pixel(&c, X, T), plot_palette(3), 0, "top row of the highlighted bar");
    ASSERT_RGB(plot_pixel(&c, X, (int)lround(base) - 1), plot_palette(3), 0, "its bottom row");
    plot_rgb above = plot_pixel(&c, X, T - 1);
    cr_assert(!near(above, plot_palette(3), 30), "nothing of the bar above its height");
    plot_axes_px(&ax, 1, 2, &px, &top);   // bar 1 (value 4) at height 2 is plain blue
    ASSERT_RGB(plot_pixel(&c, (int)px, (int)top), plot_palette(0), 0, "plain bar");
    plot_canvas_free(&c);
}

// ---------------------------------------------------------------- text, files, font
static void dark_inside_box(const plot_canvas *c, plot_rect box)
{
    int inside = 0, outside = 0;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            plot_rgb p = plot_pixel(c, x, y);
            if (p.r > 128) continue;
            if (x >= box.x && x < box.x + box.w && y >= box.y && y < box.y + box.h) inside++;
            else outside++;
        }
    cr_assert_gt(inside, 50, "dark pixels inside the box: %d", inside);
    cr_assert_eq(outside, 0, "dark pixels outside the box");
}

Test(plot_text, dark_pixels_lie_inside_the_text_box)
{
    plot_canvas c;
    plot_rect box;
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(&c, 300, 200, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_text_style st = {.size_px = 20, .halign = PLOT_ALIGN_CENTER, .valign = PLOT_ALIGN_MIDDLE};
    cr_assert_eq(plot_text(&c, 150, 100, "Fy 0.5 gq", &st, &box, err), 0, "%s", err);
    save(&c, "text.png");
    cr_assert(abs(box.x + box.w / 2 - 150) <= 1, "centred on x: box %d+%d", box.x, box.w);
    cr_assert(box.w > box.h, "horizontal text is wide");
    dark_inside_box(&c, box);

    plot_fill_rect(&c, (plot_rect){0, 0, 300, 200}, (plot_rgb){255, 255, 255});
    st.rotate90 = 1;
    cr_assert_eq(plot_text(&c, 150, 100, "Fy 0.5 gq", &st, &box, err), 0, "%s", err);
    save(&c, "text_rotated.png");
    cr_assert(box.h > box.w, "rotated text is tall");
    dark_inside_box(&c, box);
    plot_canvas_free(&c);
}

Test(plot_canvas, save_into_a_missing_directory_fails_with_a_message)
{
    plot_canvas c;
    char err[ERR_MAX] = "";
    cr_assert_eq(plot_canvas_init(&c, 10, 10, (plot_rgb){0, 0, 0}, err), 0, "%s", err);
    out_dir();
    const char *path = OUT_DIR "/no_such_dir/x.png";
    cr_assert_eq(plot_canvas_save_png(&c, path, err), -1);
    cr_assert(strstr(err, path), "message names the file: %s", err);
    plot_canvas_free(&c);
    cr_assert_eq(plot_canvas_init(&c, 0, 10, (plot_rgb){0, 0, 0}, err), -1, "zero width");
}

Test(plot_text, missing_font_names_the_family_and_the_package)
{
    // each Criterion test runs in its own process, so the font cache is empty here
    setenv("ARITHLAB_PLOT_FONT", "No Such Font Family", 1);
    plot_canvas c;
    char err[ERR_MAX] = "";
    cr_assert_eq(plot_canvas_init(&c, 50, 50, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    cr_assert_eq(plot_text(&c, 1, 1, "x", NULL, NULL, err), -1);
    cr_assert(strstr(err, "No Such Font Family"), "names the family asked for: %s", err);
    cr_assert(strstr(err, "fonts-dejavu-core"), "names the package: %s", err);
    float v[2] = {1, 2};
    cr_assert_eq(plot_bar_draw(&c, v, 2, NULL, NULL, err), -1, "charts fail too");
    plot_canvas_free(&c);
}

// ---------------------------------------------------------------- output formats
// The planted input: an "F" in the top-left quadrant of a 120 x 90 canvas, and a
// title. A flip, a transpose or a channel swap in any writer shows in the checks.
#define F_RED ((plot_rgb){200, 30, 20})
static void draw_planted_f(plot_canvas *c)
{
    char err[ERR_MAX];
    cr_assert_eq(plot_canvas_init(c, 120, 90, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    plot_canvas_set_title(c, "Planted F & <co>");
    plot_fill_rect(c, (plot_rect){10, 10, 8, 40}, F_RED);    // the stem
    plot_fill_rect(c, (plot_rect){10, 10, 30, 8}, F_RED);    // the top bar
    plot_fill_rect(c, (plot_rect){10, 26, 20, 6}, F_RED);    // the middle bar
    plot_text_style st = {.size_px = 14, .halign = PLOT_ALIGN_RIGHT, .valign = PLOT_ALIGN_BOTTOM};
    cr_assert_eq(plot_text(c, 115, 85, "x1", &st, NULL, err), 0, "%s", err);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s exists", path);
    static char buf[1 << 20];
    *n = fread(buf, 1, sizeof buf - 1, f);
    buf[*n] = 0;
    fclose(f);
    return buf;
}

static plot_rgb png_px(cairo_surface_t *img, int x, int y)
{
    const unsigned char *row = cairo_image_surface_get_data(img) + (size_t)y * cairo_image_surface_get_stride(img);
    uint32_t p = ((const uint32_t *)row)[x];
    return (plot_rgb){(uint8_t)(p >> 16), (uint8_t)(p >> 8), (uint8_t)p};
}

Test(plot_format, png_file_holds_the_planted_f_unflipped)
{
    plot_canvas c;
    char err[ERR_MAX];
    draw_planted_f(&c);
    out_dir();
    cr_assert_eq(plot_canvas_save(&c, OUT_DIR "/planted.png", PLOT_FORMAT_PNG, err), 0, "%s", err);
    plot_canvas_free(&c);
    cairo_surface_t *img = cairo_image_surface_create_from_png(OUT_DIR "/planted.png");
    cr_assert_eq(cairo_surface_status(img), CAIRO_STATUS_SUCCESS, "the PNG reads back");
    cr_assert_eq(cairo_image_surface_get_width(img), 120);
    cr_assert_eq(cairo_image_surface_get_height(img), 90);
    ASSERT_RGB(png_px(img, 35, 13), F_RED, 0, "top bar runs right from the stem");
    ASSERT_RGB(png_px(img, 13, 45), F_RED, 0, "stem runs down");
    ASSERT_RGB(png_px(img, 25, 28), F_RED, 0, "middle bar");
    ASSERT_RGB(png_px(img, 35, 28), ((plot_rgb){255, 255, 255}), 0, "middle bar is shorter than the top bar");
    ASSERT_RGB(png_px(img, 100, 13), ((plot_rgb){255, 255, 255}), 0, "no mirrored F on the right");
    ASSERT_RGB(png_px(img, 13, 75), ((plot_rgb){255, 255, 255}), 0, "no flipped F at the bottom");
    int dark = 0;   // the text, bottom right
    for (int y = 60; y < 90; y++)
        for (int x = 80; x < 120; x++) dark += png_px(img, x, y).r < 128;
    cr_assert_gt(dark, 10, "text pixels at the bottom right: %d", dark);
    cairo_surface_destroy(img);
}

Test(plot_format, svg_file_is_xml_with_the_title_and_shapes)
{
    plot_canvas c;
    char err[ERR_MAX];
    draw_planted_f(&c);
    out_dir();
    cr_assert_eq(plot_canvas_save(&c, OUT_DIR "/planted.svg", PLOT_FORMAT_SVG, err), 0, "%s", err);
    plot_canvas_free(&c);
    // Python's XML parser: a well-formed document whose root is <svg> of the
    // canvas size, with the escaped title as text and the drawing as paths
    const char *py =
        "/usr/bin/python3 -c \"import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); "
        "ns='{http://www.w3.org/2000/svg}'; t=r.find(ns+'title'); "
        "print(r.tag==ns+'svg', r.get('width'), r.get('height'), t.text if t is not None else None, "
        "len(r.findall('.//'+ns+'path'))>=3, len(r.findall('.//'+ns+'use'))>=2, sep='|')\" " OUT_DIR "/planted.svg";
    FILE *p = popen(py, "r");
    cr_assert(p);
    char line[512] = "";
    cr_assert(fgets(line, sizeof line, p), "python printed a line");
    cr_assert_eq(pclose(p), 0, "the SVG parses as XML");
    line[strcspn(line, "\n")] = 0;
    cr_assert_str_eq(line, "True|120pt|90pt|Planted F & <co>|True|True",
                     "root svg, size, title, >= 3 paths (the F) and >= 2 glyph uses (x1)");
}

Test(plot_format, pdf_file_has_a_header_a_page_and_the_title)
{
    plot_canvas c;
    char err[ERR_MAX];
    draw_planted_f(&c);
    out_dir();
    cr_assert_eq(plot_canvas_save(&c, OUT_DIR "/planted.pdf", PLOT_FORMAT_PDF, err), 0, "%s", err);
    plot_canvas_free(&c);
    size_t n;
    const char *s = slurp(OUT_DIR "/planted.pdf", &n);
    cr_assert(n > 500 && !strncmp(s, "%PDF-", 5), "starts with %%PDF-");
    cr_assert(memmem(s, n, "/Type /Page\n", 12) || memmem(s, n, "/Type /Page ", 12) || memmem(s, n, "/Type /Page/", 12),
              "has a page object");
    cr_assert(memmem(s, n, "/Count 1", 8), "one page");
    cr_assert(memmem(s, n, "0 0 120 90", 10), "the page is the canvas size");
    cr_assert(memmem(s, n, "Planted F", 9), "the title in the document information");
    cr_assert(memmem(s, n, "%%EOF", 5), "a complete file");
}

Test(plot_format, write_uses_every_selected_format_and_parse_names_bad_ones)
{
    unsigned m = 0;
    char err[ERR_MAX] = "";
    cr_assert_eq(plot_formats_parse("svg,PNG,pdf", &m, err), 0, "%s", err);
    cr_assert_eq(m, PLOT_FORMAT_PNG | PLOT_FORMAT_SVG | PLOT_FORMAT_PDF);
    char list[32];
    plot_formats_str(m, list, sizeof list);
    cr_assert_str_eq(list, "png,svg,pdf");
    cr_assert_eq(plot_formats_parse("png,jpeg", &m, err), -1);
    cr_assert(strstr(err, "jpeg") && strstr(err, "png, svg, pdf"), "names the bad entry and what is accepted: %s", err);
    cr_assert_eq(plot_formats_parse("", &m, err), -1, "an empty list");

    out_dir();
    remove(OUT_DIR "/multi.png"); remove(OUT_DIR "/multi.svg"); remove(OUT_DIR "/multi.pdf");
    plot_set_formats(PLOT_FORMAT_SVG | PLOT_FORMAT_PDF);
    float y[3] = {1, 3, 2};
    plot_series s = {.name = "y", .y = y, .n = 3};
    plot_line_opts o = {.title = "multi"};
    cr_assert_eq(plot_line_write(OUT_DIR "/multi.png", &s, 1, &o, err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(OUT_DIR "/multi.svg", &st), 0, "the SVG");
    cr_assert_eq(stat(OUT_DIR "/multi.pdf", &st), 0, "the PDF");
    cr_assert_neq(stat(OUT_DIR "/multi.png", &st), 0, "no PNG when it was not asked for");
    plot_set_formats(0);
    cr_assert_eq(plot_formats(), PLOT_FORMAT_PNG, "the default is PNG");
}

Test(plot_format, failed_write_returns_errno_and_leaves_no_file)
{
    plot_canvas c;
    char err[ERR_MAX] = "";
    draw_planted_f(&c);
    static const plot_format fmts[3] = {PLOT_FORMAT_PNG, PLOT_FORMAT_SVG, PLOT_FORMAT_PDF};
    for (int k = 0; k < 3; k++) {
        errno = 0;
        cr_assert_neq(plot_canvas_save(&c, "/tmp/arithlab_no_such_dir_for_plot/x", fmts[k], err), 0);
        cr_assert_eq(errno, ENOENT, "%s: errno %d", plot_format_ext(fmts[k]), errno);
        cr_assert(strstr(err, "/tmp/arithlab_no_such_dir_for_plot/x") && strstr(err, plot_format_ext(fmts[k])),
                  "names the file and format: %s", err);
    }
    // a full disk: in a child limited to 100 bytes per file (RLIMIT_FSIZE, SIGXFSZ ignored),
    // the write itself fails with EFBIG; no figure and no temporary file is left behind
    out_dir();
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {100, 100};
        if (setrlimit(RLIMIT_FSIZE, &rl)) _exit(3);
        errno = 0;
        int r = plot_canvas_save(&c, OUT_DIR "/full.pdf", PLOT_FORMAT_PDF, err);
        _exit(r == 0 ? 1 : errno == EFBIG ? 0 : 2);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the limited write fails with EFBIG (child status %d)", status);
    struct stat sb;
    cr_assert_neq(stat(OUT_DIR "/full.pdf", &sb), 0, "no figure left after the failed write");
    char tmp[128];
    snprintf(tmp, sizeof tmp, OUT_DIR "/full.pdf.tmp.%d", (int)pid);
    cr_assert_neq(stat(tmp, &sb), 0, "no temporary file left after the failed write");
    plot_canvas_free(&c);
}

Test(plot_format, the_cli_rejects_an_unknown_format_naming_the_flag)
{
    static const char *cmds[] = {"train", "eval --checkpoint x", "probe attention --checkpoint x --out /tmp/x",
                                 "sweep x"};
    for (int k = 0; k < 4; k++) {
        char cmd[512], line[512] = "";
        snprintf(cmd, sizeof cmd, "%s %s --format png,gif 2>&1", ARITHLAB_BIN, cmds[k]);
        FILE *p = popen(cmd, "r");
        cr_assert(p);
        cr_assert(fgets(line, sizeof line, p), "%s: printed an error", cmds[k]);
        int st = pclose(p);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s: exit status 2, got %d", cmds[k], st);
        cr_assert(strstr(line, "--format") && strstr(line, "gif") && strstr(line, "png, svg, pdf"),
                  "%s: names the flag, the bad entry and what is accepted: %s", cmds[k], line);
    }
}

// ---------------------------------------------------------------- gallery
// Teaching-sized examples of each chart, for a person to look at.
Test(plot_gallery, writes_sample_charts)
{
    char err[ERR_MAX];
    out_dir();
    enum { N = 300 };
    float step[N], train[N], test[N], acc_tr[N], acc_te[N];
    uint64_t rng = rng_seed(1);
    for (int i = 0; i < N; i++) {
        step[i] = 20.0f * i;
        double t = step[i];
        train[i] = (float)(2.3 * exp(-t / 400) + 0.002 + 0.02 * exp(-t / 3000) * rng_f32(&rng));
        test[i] = (float)(2.3 * exp(-t / 500) * (t < 2500 ? 1 : exp(-(t - 2500) / 400)) + 0.6 / (1 + exp((t - 3000) / 300)) + 0.004);
        acc_tr[i] = (float)(1 - exp(-t / 500));
        acc_te[i] = (float)(0.1 + 0.9 / (1 + exp(-(t - 3200) / 250)));
    }
    test[N / 2] = NAN;   // a gap, as a missing eval would leave
    plot_series loss[2] = {{.name = "train", .x = step, .y = train, .n = N},
                           {.name = "test", .x = step, .y = test, .n = N}};
    plot_line_opts lo = {.title = "Loss: 3-digit addition", .xlabel = "step", .ylabel = "cross-entropy (nats)", .logy = 1};
    cr_assert_eq(plot_line_png(OUT_DIR "/gallery_loss.png", loss, 2, &lo, err), 0, "%s", err);
    plot_series acc[2] = {{.name = "train accuracy", .x = step, .y = acc_tr, .n = N},
                          {.name = "test accuracy", .x = step, .y = acc_te, .n = N}};
    plot_line_opts ao = {.title = "Exact-match accuracy", .xlabel = "step", .ylabel = "accuracy", .ymin = 0, .ymax = 1.02f};
    cr_assert_eq(plot_line_png(OUT_DIR "/gallery_accuracy.png", acc, 2, &ao, err), 0, "%s", err);

    // accuracy by operand lengths, trained on lengths 1..8
    enum { L = 14 };
    float grid[L * L];
    const char *len[L];
    char lbuf[L][12];
    for (int i = 0; i < L; i++) { snprintf(lbuf[i], sizeof lbuf[i], "%d", i + 1); len[i] = lbuf[i]; }
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++) {
            int over = (i > j ? i : j) - 7;
            grid[i * L + j] = over <= 0 ? 1.0f - 0.003f * (i + j) : (float)exp(-0.45 * over) * (0.95f - 0.01f * (i + j));
        }
    grid[L * L - 1] = NAN;   // an untested cell
    plot_heatmap_opts ho = {.title = "Accuracy by operand length", .xlabel = "length of b", .ylabel = "length of a",
                            .cbar_label = "accuracy", .vmin = 0, .vmax = 1, .row_labels = len, .col_labels = len,
                            .annotate = 1, .annot_fmt = "%.2f", .outline = {0, 0, 8, 8}, .outline_label = "trained lengths",
                            .width = 760, .height = 700};
    cr_assert_eq(plot_heatmap_png(OUT_DIR "/gallery_accuracy_grid.png", grid, L, L, &ho, err), 0, "%s", err);

    // a signed matrix with token labels
    const char *tok[12] = {"<bos>", "3", "7", "+", "4", "5", "=", "8", "2", "1", "<eos>", "<pad>"};
    float att[12 * 12];
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < 12; j++)
            att[i * 12 + j] = (float)(sin(0.7 * i + 0.3) * cos(0.5 * j) * (1 + 0.1 * i) - 0.15 * (i == j));
    plot_heatmap_opts dv = {.title = "Query-key logits, head 0.1", .xlabel = "key", .ylabel = "query",
                            .cbar_label = "logit", .cmap = PLOT_CMAP_DIVERGING, .row_labels = tok, .col_labels = tok};
    cr_assert_eq(plot_heatmap_png(OUT_DIR "/gallery_diverging.png", att, 12, 12, &dv, err), 0, "%s", err);

    // a Fourier spectrum with its key frequencies highlighted
    enum { F = 57 };
    float spec[F];
    int key[F] = {0};
    for (int k = 0; k < F; k++) spec[k] = 0.05f + 0.04f * rng_f32(&rng);
    int keys[4] = {14, 35, 41, 52};
    for (int i = 0; i < 4; i++) { spec[keys[i]] = 1.0f - 0.15f * i; key[keys[i]] = 1; }
    plot_bar_opts bo = {.title = "Embedding norm by Fourier frequency (p = 113)", .xlabel = "frequency k",
                        .ylabel = "norm", .highlight = key};
    cr_assert_eq(plot_bar_png(OUT_DIR "/gallery_spectrum.png", spec, F, &bo, err), 0, "%s", err);
    const char *names[5] = {"sin 14", "cos 14", "sin 35", "cos 35", "rest"};
    float share[5] = {0.31f, 0.28f, 0.17f, 0.15f, 0.09f};
    plot_bar_opts no = {.title = "Share of logit variance", .ylabel = "fraction", .labels = names};
    cr_assert_eq(plot_bar_png(OUT_DIR "/gallery_named_bars.png", share, 5, &no, err), 0, "%s", err);

    struct stat st;
    cr_assert_eq(stat(OUT_DIR "/gallery_spectrum.png", &st), 0);
    cr_assert_gt(st.st_size, 1000);
}
