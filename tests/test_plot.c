// test_plot.c: the plotting library draws what the numbers say: colours of
// heatmap cells, rows of flat series, heights of bars, where frames, outlines
// and text land; and it fails cleanly on bad paths, missing fonts, bad input.
// PNGs go to plot_out/ in a mkdtemp directory per test process (removed at exit;
// the gallery test writes teaching samples there).
#define _POSIX_C_SOURCE 200809L   // setenv, mkdir
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/common.h"
#include "plot/plot.h"

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

Test(plot_text, missing_font_names_the_path_and_the_package)
{
    // each Criterion test runs in its own process, so the font cache is empty here
    setenv("ARITHLAB_PLOT_FONT", "/nonexistent/DejaVuSans.ttf", 1);
    plot_canvas c;
    char err[ERR_MAX] = "";
    cr_assert_eq(plot_canvas_init(&c, 50, 50, (plot_rgb){255, 255, 255}, err), 0, "%s", err);
    cr_assert_eq(plot_text(&c, 1, 1, "x", NULL, NULL, err), -1);
    cr_assert(strstr(err, "/nonexistent/DejaVuSans.ttf"), "names the path: %s", err);
    cr_assert(strstr(err, "fonts-dejavu-core"), "names the package: %s", err);
    float v[2] = {1, 2};
    cr_assert_eq(plot_bar_draw(&c, v, 2, NULL, NULL, err), -1, "charts fail too");
    plot_canvas_free(&c);
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
    char lbuf[L][4];
    for (int i = 0; i < L; i++) { snprintf(lbuf[i], 4, "%d", i + 1); len[i] = lbuf[i]; }
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
