// plot.c: line charts, heatmaps and bar charts drawn with Cairo, text laid out
// by Pango (the font found through fontconfig), written as PNG, SVG or PDF.
// Sections in reading order: canvas, output files, text, colours, ticks,
// geometry, shared chart pieces, then the three charts.
#define _POSIX_C_SOURCE 200809L   // core/common.h uses clock_gettime; open_memstream
#include "plot/plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>

#include "core/common.h"
#include "core/files.h"

// Layout constants: font sizes (px), gaps, and the chart's greys.
#define FS_TICK 12.0f
#define FS_LABEL 14.0f
#define FS_TITLE 16.0f
#define PAD 10          // canvas edge and between stacked labels
#define TICK_LEN 5
#define TICKS_MAX 96
static const plot_rgb WHITE = {255, 255, 255}, INK = {34, 34, 34};
static const plot_rgb FRAME = {70, 70, 70}, GRID = {228, 228, 228};

// tick positions in axis units (log10 on a log axis); minor ticks have no label
typedef struct {
    int n;
    double v[TICKS_MAX];
    int major[TICKS_MAX];
    char s[TICKS_MAX][24];
} tickset;

// ---------------------------------------------------------------- canvas
// A canvas is a Cairo recording surface: drawing is kept as vector operations,
// replayed onto an image (PNG, plot_pixel), an SVG or a PDF surface on demand.
// The raster for plot_pixel is cached and dropped whenever something is drawn.

static cairo_t *ctx(plot_canvas *c)
{
    if (c->img) { cairo_surface_destroy(c->img); c->img = NULL; }
    return c->cr;
}

static void set_rgb(cairo_t *cr, plot_rgb col)
{
    cairo_set_source_rgb(cr, col.r / 255.0, col.g / 255.0, col.b / 255.0);
}

int plot_canvas_init(plot_canvas *c, int w, int h, plot_rgb bg, char *err)
{
    if (!c) return err_set(err, "plot_canvas_init: no canvas given");
    memset(c, 0, sizeof *c);
    if (w < 1 || h < 1 || w > 16384 || h > 16384)
        return err_set(err, "plot_canvas_init: size %dx%d, expected 1..16384 on each side", w, h);
    cairo_rectangle_t ext = {0, 0, w, h};
    c->rec = cairo_recording_surface_create(CAIRO_CONTENT_COLOR, &ext);
    c->cr = cairo_create(c->rec);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        const char *why = cairo_status_to_string(cairo_status(c->cr));
        plot_canvas_free(c);
        return err_set(err, "plot_canvas_init: cannot make a %dx%d canvas: %s", w, h, why);
    }
    c->w = w;
    c->h = h;
    plot_fill_rect(c, (plot_rect){0, 0, w, h}, bg);
    return 0;
}

void plot_canvas_free(plot_canvas *c)
{
    if (!c) return;
    if (c->cr) cairo_destroy(c->cr);
    if (c->rec) cairo_surface_destroy(c->rec);
    if (c->img) cairo_surface_destroy(c->img);
    memset(c, 0, sizeof *c);
}

void plot_canvas_set_title(plot_canvas *c, const char *title)
{
    snprintf(c->title, sizeof c->title, "%s", title ? title : "");
}

// the recording replayed at one pixel per unit onto an RGB image
static cairo_surface_t *canvas_raster(const plot_canvas *c)
{
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, c->w, c->h);
    cairo_t *cr = cairo_create(img);
    cairo_set_source_surface(cr, c->rec, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_flush(img);
    return img;
}

plot_rgb plot_pixel(const plot_canvas *c, int x, int y)
{
    if (!c->rec || x < 0 || y < 0 || x >= c->w || y >= c->h) return (plot_rgb){0, 0, 0};
    plot_canvas *m = (plot_canvas *)c;   // the cache is not part of what the canvas shows
    if (!m->img) m->img = canvas_raster(c);
    const unsigned char *row = cairo_image_surface_get_data(m->img) + (size_t)y * cairo_image_surface_get_stride(m->img);
    uint32_t p = ((const uint32_t *)row)[x];   // RGB24: 0x00RRGGBB in native order
    return (plot_rgb){(uint8_t)(p >> 16), (uint8_t)(p >> 8), (uint8_t)p};
}

void plot_fill_rect(plot_canvas *c, plot_rect r, plot_rgb col)
{
    cairo_t *cr = ctx(c);
    set_rgb(cr, col);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_fill(cr);
}

void plot_line(plot_canvas *c, double x0, double y0, double x1, double y1,
               double width_px, plot_rgb col)
{
    cairo_t *cr = ctx(c);
    set_rgb(cr, col);
    cairo_set_line_width(cr, width_px);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
}

void plot_polyline(plot_canvas *c, const double *xy, int n, double width_px, plot_rgb col)
{
    if (n < 1) return;
    cairo_t *cr = ctx(c);
    set_rgb(cr, col);
    cairo_set_line_width(cr, width_px);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_move_to(cr, xy[0], xy[1]);
    for (int i = 1; i < n; i++) cairo_line_to(cr, xy[2 * i], xy[2 * i + 1]);
    if (n == 1) cairo_line_to(cr, xy[0], xy[1]);
    cairo_stroke(cr);
}

void plot_fill_polygon(plot_canvas *c, const double *xy, int n, plot_rgb col, double alpha)
{
    if (n < 3) return;
    cairo_t *cr = ctx(c);
    cairo_set_source_rgba(cr, col.r / 255.0, col.g / 255.0, col.b / 255.0, alpha);
    cairo_move_to(cr, xy[0], xy[1]);
    for (int i = 1; i < n; i++) cairo_line_to(cr, xy[2 * i], xy[2 * i + 1]);
    cairo_close_path(cr);
    cairo_fill(cr);
}

void plot_marker(plot_canvas *c, double x, double y, double radius_px, plot_rgb col)
{
    cairo_t *cr = ctx(c);
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, radius_px, 0, 2 * G_PI);
    set_rgb(cr, WHITE);
    cairo_fill_preserve(cr);
    set_rgb(cr, col);
    cairo_set_line_width(cr, radius_px * 0.6);
    cairo_stroke(cr);
}

void plot_dashed_line(plot_canvas *c, double x0, double y0, double x1, double y1,
                      double width_px, plot_rgb col)
{
    cairo_t *cr = ctx(c);
    double dash[2] = {5, 3};
    cairo_save(cr);
    cairo_set_dash(cr, dash, 2, 0);
    set_rgb(cr, col);
    cairo_set_line_width(cr, width_px);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
    cairo_restore(cr);
}

int plot_canvas_blit(plot_canvas *dst, const plot_canvas *src, int x, int y, char *err)
{
    if (!dst || !dst->rec || !src || !src->rec) return err_set(err, "plot_canvas_blit: a canvas is empty");
    cairo_t *cr = ctx(dst);
    cairo_save(cr);
    cairo_rectangle(cr, x, y, src->w, src->h);
    cairo_clip(cr);
    cairo_set_source_surface(cr, src->rec, x, y);
    cairo_paint(cr);
    cairo_restore(cr);
    return 0;
}

// ---------------------------------------------------------------- output files
static unsigned g_formats = PLOT_FORMAT_PNG;

static const struct { plot_format f; const char *name; } FORMATS[] = {
    {PLOT_FORMAT_PNG, "png"}, {PLOT_FORMAT_SVG, "svg"}, {PLOT_FORMAT_PDF, "pdf"},
};
#define N_FORMATS ((int)(sizeof FORMATS / sizeof FORMATS[0]))

int plot_formats_parse(const char *list, unsigned *mask, char *err)
{
    unsigned m = 0;
    const char *p = list ? list : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        int k = 0;
        while (k < N_FORMATS && !(strlen(FORMATS[k].name) == n && !strncasecmp(p, FORMATS[k].name, n))) k++;
        if (k == N_FORMATS)
            return err_set(err, "--format '%s': unknown format '%.*s'; accepted: a comma-separated list of png, svg, pdf",
                           list, (int)n, p);
        m |= FORMATS[k].f;
        p += n + (p[n] == ',');
    }
    if (!m) return err_set(err, "--format '%s': empty; accepted: a comma-separated list of png, svg, pdf",
                           list ? list : "");
    *mask = m;
    return 0;
}

void plot_set_formats(unsigned mask) { g_formats = mask ? mask : PLOT_FORMAT_PNG; }
unsigned plot_formats(void) { return g_formats; }

const char *plot_format_ext(plot_format f)
{
    for (int k = 0; k < N_FORMATS; k++) if (FORMATS[k].f == f) return FORMATS[k].name;
    return "png";
}

void plot_formats_str(unsigned mask, char *buf, size_t n)
{
    size_t used = 0;
    if (n) buf[0] = 0;
    for (int k = 0; k < N_FORMATS; k++)
        if (mask & FORMATS[k].f) {
            int w = snprintf(buf + used, n > used ? n - used : 0, "%s%s", used ? "," : "", FORMATS[k].name);
            if (w > 0) used += (size_t)w;
        }
}

// Cairo does not always carry a stream's write error into the surface's status,
// so the first failure's errno is kept here (one per file being written)
typedef struct { FILE *f; int errno_seen; } out_stream;

static cairo_status_t stream_write(void *closure, const unsigned char *data, unsigned int n)
{
    out_stream *o = closure;
    if (o->errno_seen) return CAIRO_STATUS_WRITE_ERROR;
    errno = 0;
    if (fwrite(data, 1, n, o->f) == n) return CAIRO_STATUS_SUCCESS;
    o->errno_seen = errno ? errno : EIO;
    return CAIRO_STATUS_WRITE_ERROR;
}

// XML text: & < > escaped
static void xml_escaped(FILE *f, const char *s)
{
    for (; *s; s++)
        if (*s == '&') fputs("&amp;", f);
        else if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else fputc(*s, f);
}

// Cairo writes text as glyph outlines; the SVG gets the figure's title as a
// <title> element (what screen readers and browsers show) after its root tag.
static cairo_status_t svg_render(const plot_canvas *c, out_stream *out)
{
    FILE *f = out->f;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) return CAIRO_STATUS_NO_MEMORY;
    out_stream ms = {mem, 0};
    cairo_surface_t *s = cairo_svg_surface_create_for_stream(stream_write, &ms, c->w, c->h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_surface(cr, c->rec, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    cairo_status_t st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    if ((fclose(mem) || ms.errno_seen) && st == CAIRO_STATUS_SUCCESS) st = CAIRO_STATUS_NO_MEMORY;
    if (st == CAIRO_STATUS_SUCCESS) {
        char *root = buf ? strstr(buf, "<svg") : NULL;
        char *end = root ? strchr(root, '>') : NULL;
        size_t head = end ? (size_t)(end + 1 - buf) : len;
        fwrite(buf, 1, head, f);
        if (end && c->title[0]) {
            fputs("\n<title>", f);
            xml_escaped(f, c->title);
            fputs("</title>", f);
        }
        fwrite(buf + head, 1, len - head, f);
        if (ferror(f)) {
            out->errno_seen = errno ? errno : EIO;
            st = CAIRO_STATUS_WRITE_ERROR;
        }
    }
    free(buf);
    return st;
}

static cairo_status_t pdf_render(const plot_canvas *c, out_stream *out)
{
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(stream_write, out, c->w, c->h);
    if (c->title[0]) cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, c->title);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "arithlab");
    cairo_t *cr = cairo_create(s);
    cairo_set_source_surface(cr, c->rec, 0, 0);
    cairo_paint(cr);
    cairo_show_page(cr);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    cairo_status_t st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    return st;
}

int plot_canvas_save(const plot_canvas *c, const char *path, plot_format fmt, char *err)
{
    if (!c || !c->rec) return err_set(err, "plot_canvas_save: the canvas is empty");
    if (!path || !*path) return err_set(err, "plot_canvas_save: no file name given");
    // through the checked atomic writer (core/files.h): PATH keeps its old content,
    // or stays absent, unless every byte of the new figure was written
    errno = 0;
    FILE *f = files_atomic_open(path, err);
    if (!f) {
        int e = errno;
        err_set(err, "plot: cannot write %s %s: %s", plot_format_ext(fmt), path, strerror(e));
        errno = e;
        return -1;
    }
    out_stream out = {f, 0};
    cairo_status_t st;
    if (fmt == PLOT_FORMAT_SVG) st = svg_render(c, &out);
    else if (fmt == PLOT_FORMAT_PDF) st = pdf_render(c, &out);
    else {
        cairo_surface_t *img = canvas_raster(c);
        st = cairo_surface_write_to_png_stream(img, stream_write, &out);
        cairo_surface_destroy(img);
    }
    if (st != CAIRO_STATUS_SUCCESS && !out.errno_seen) {   // Cairo failed, not the file
        files_atomic_discard(f, path);
        errno = EIO;
        return err_set(err, "plot: cannot write %s %s: %s", plot_format_ext(fmt), path, cairo_status_to_string(st));
    }
    // a failed write (the stream's errno) is the file's error: commit reports and counts it
    char cerr[ERR_MAX];
    if (out.errno_seen) errno = out.errno_seen;
    if (files_atomic_commit(f, path, cerr)) {
        int e = out.errno_seen ? out.errno_seen : errno ? errno : EIO;
        err_set(err, "plot: cannot write %s %s: %s", plot_format_ext(fmt), path, cerr);
        errno = e;
        return -1;
    }
    return 0;
}

int plot_canvas_save_png(const plot_canvas *c, const char *path, char *err)
{
    return plot_canvas_save(c, path, PLOT_FORMAT_PNG, err);
}

int plot_canvas_write(const plot_canvas *c, const char *path, char *err)
{
    if (!path || !*path) return err_set(err, "plot_canvas_write: no file name given");
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    for (int k = 0; k < N_FORMATS; k++) {
        if (!(g_formats & FORMATS[k].f)) continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%.*s.%s", (int)stem, path, FORMATS[k].name) >= (int)sizeof p)
            return err_set(err, "plot: file name too long: %s", path);
        if (plot_canvas_save(c, p, FORMATS[k].f, err)) return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- text
// The font family is checked against fontconfig once, on first use; Pango then
// lays out every string. Hinted metrics are off so that a string has the same
// size on every surface (PNG, SVG, PDF).
static struct {
    int ready;
    char family[128];
    double em_per_px;    // font size (em) that gives a line height of 1 px
    double ascent, cap;  // in em
} font;

static PangoFontDescription *font_desc(float size)
{
    PangoFontDescription *d = pango_font_description_new();
    pango_font_description_set_family(d, font.family);
    pango_font_description_set_absolute_size(d, size * font.em_per_px * PANGO_SCALE);
    return d;
}

static void layout_prepare(PangoLayout *l, const char *s, float size)
{
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(pango_layout_get_context(l), fo);
    cairo_font_options_destroy(fo);
    pango_layout_context_changed(l);
    PangoFontDescription *d = font_desc(size);
    pango_layout_set_font_description(l, d);
    pango_font_description_free(d);
    pango_layout_set_text(l, s, -1);
}

// a layout for measuring only (no canvas): the default font map's context
static PangoLayout *layout_new(const char *s, float size)
{
    PangoContext *pc = pango_font_map_create_context(pango_cairo_font_map_get_default());
    PangoLayout *l = pango_layout_new(pc);
    g_object_unref(pc);
    layout_prepare(l, s, size);
    return l;
}

static int font_load(char *err)
{
    if (font.ready) return 0;
    const char *want = getenv("ARITHLAB_PLOT_FONT");
    if (!want || !*want) want = PLOT_FONT_FAMILY;
    FcPattern *pat = FcNameParse((const FcChar8 *)want), *match = NULL;
    FcResult res = FcResultNoMatch;
    FcChar8 *got = NULL;
    if (pat && FcInit()) {
        FcConfigSubstitute(NULL, pat, FcMatchPattern);
        FcDefaultSubstitute(pat);
        match = FcFontMatch(NULL, pat, &res);
    }
    FcPattern *asked = FcNameParse((const FcChar8 *)want);
    FcChar8 *family = NULL;
    if (asked) FcPatternGetString(asked, FC_FAMILY, 0, &family);
    int ok = match && FcPatternGetString(match, FC_FAMILY, 0, &got) == FcResultMatch && family &&
             !strcasecmp((const char *)got, (const char *)family);
    char have[128];
    snprintf(have, sizeof have, "%s", got ? (const char *)got : "none");
    if (ok) snprintf(font.family, sizeof font.family, "%s", (const char *)family);
    if (match) FcPatternDestroy(match);
    if (pat) FcPatternDestroy(pat);
    if (asked) FcPatternDestroy(asked);
    if (!ok)
        return err_set(err, "plot: fontconfig has no font family '%s' (its closest is '%s'); install it "
                       "(for DejaVu Sans, Debian package fonts-dejavu-core: apt-get install fonts-dejavu-core) "
                       "or set ARITHLAB_PLOT_FONT to an installed family (see fc-list : family)", want, have);
    // metrics at 100 px per em give the scale from line height to font size
    font.em_per_px = 1;
    PangoLayout *l = layout_new("H", 100);
    PangoRectangle ink, logical;
    pango_layout_get_pixel_extents(l, &ink, &logical);
    double ascent = pango_layout_get_baseline(l) / (double)PANGO_SCALE;
    g_object_unref(l);
    if (logical.height <= 0) return err_set(err, "plot: font family '%s' has no usable metrics", want);
    font.em_per_px = 100.0 / logical.height;
    font.ascent = ascent / 100.0;
    font.cap = (ascent - ink.y) / 100.0;
    font.ready = 1;
    return 0;
}

static float text_clamp_size(float size) { return size <= 0 ? 13.0f : size > 72 ? 72.0f : size; }

static void text_size(const char *s, float size, int *w, int *h)
{
    size = text_clamp_size(size);
    PangoLayout *l = layout_new(s ? s : "", size);
    PangoRectangle logical;
    pango_layout_get_extents(l, NULL, &logical);
    g_object_unref(l);
    *w = (int)ceil(logical.width / (double)PANGO_SCALE);
    *h = (int)ceil(size);
}

static plot_rect text_draw(plot_canvas *c, double x, double y, const char *s, float size,
                     plot_rgb col, plot_halign ha, plot_valign va, int rot)
{
    size = text_clamp_size(size);
    int w = 0, h = 0;
    text_size(s, size, &w, &h);
    int W = rot ? h : w, H = rot ? w : h;
    double bx = x - (ha == PLOT_ALIGN_CENTER ? W / 2.0 : ha == PLOT_ALIGN_RIGHT ? W : 0);
    double by = y - (va == PLOT_ALIGN_MIDDLE ? H / 2.0 : va == PLOT_ALIGN_BOTTOM ? H : 0);
    if (va == PLOT_ALIGN_MIDDLE && !rot) {
        // centre capitals and digits on y, not the box with its descender room
        double em = size * font.em_per_px;
        by = y - font.ascent * em + font.cap * em / 2.0;
    }
    plot_rect box = {(int)lround(bx), (int)lround(by), W, H};
    if (!s || !*s) return box;
    cairo_t *cr = ctx(c);
    cairo_save(cr);
    PangoLayout *l = pango_cairo_create_layout(cr);
    layout_prepare(l, s, size);
    set_rgb(cr, col);
    if (rot) {   // the start of the text at the bottom, glyph tops facing left
        cairo_translate(cr, box.x, box.y + box.h);
        cairo_rotate(cr, -G_PI / 2);
    } else {
        cairo_translate(cr, box.x, box.y);
    }
    pango_cairo_show_layout(cr, l);
    g_object_unref(l);
    cairo_restore(cr);
    return box;
}

int plot_text(plot_canvas *c, double x, double y, const char *s,
              const plot_text_style *st, plot_rect *box, char *err)
{
    static const plot_text_style defaults = {0};
    if (!c || !c->rec) return err_set(err, "plot_text: the canvas is empty");
    if (font_load(err)) return -1;
    if (!st) st = &defaults;
    plot_rect b = text_draw(c, x, y, s, st->size_px, st->color, st->halign, st->valign, st->rotate90);
    if (box) *box = b;
    return 0;
}

int plot_text_size(const char *s, float size_px, int *w, int *h, char *err)
{
    if (font_load(err)) return -1;
    int tw, th;
    text_size(s, size_px, &tw, &th);
    if (w) *w = tw;
    if (h) *h = th;
    return 0;
}

static int text_w(const char *s, float size)
{
    int w, h;
    text_size(s, size, &w, &h);
    return w;
}

// ---------------------------------------------------------------- colours
typedef struct { float t; uint8_t r, g, b; } cmap_stop;

// matplotlib's viridis, entries 0, 16, ..., 240, 255 of its 256
static const cmap_stop VIRIDIS[17] = {
    {  0/255.f,  68,   1,  84}, { 16/255.f,  72,  24, 106}, { 32/255.f,  71,  45, 123},
    { 48/255.f,  66,  64, 134}, { 64/255.f,  59,  82, 139}, { 80/255.f,  51,  99, 141},
    { 96/255.f,  44, 114, 142}, {112/255.f,  38, 130, 142}, {128/255.f,  33, 145, 140},
    {144/255.f,  31, 160, 136}, {160/255.f,  40, 174, 128}, {176/255.f,  63, 188, 115},
    {192/255.f,  94, 201,  98}, {208/255.f, 132, 212,  75}, {224/255.f, 173, 220,  48},
    {240/255.f, 216, 226,  25}, {255/255.f, 253, 231,  37},
};
// ColorBrewer RdBu (11 classes) reversed so that low is blue, white-ish at 0.5
static const cmap_stop DIVERGING[11] = {
    {0.0f,   5,  48,  97}, {0.1f,  33, 102, 172}, {0.2f,  67, 147, 195}, {0.3f, 146, 197, 222},
    {0.4f, 209, 229, 240}, {0.5f, 247, 247, 247}, {0.6f, 253, 219, 199}, {0.7f, 244, 165, 130},
    {0.8f, 214,  96,  77}, {0.9f, 178,  24,  43}, {1.0f, 103,   0,  31},
};

static plot_rgb cmap_lerp(const cmap_stop *tab, int n, double t)
{
    t = t != t ? 0 : t < 0 ? 0 : t > 1 ? 1 : t;   // NaN -> low end
    int k = 0;
    while (k < n - 2 && t > tab[k + 1].t) k++;
    double f = (t - tab[k].t) / (tab[k + 1].t - tab[k].t);
    return (plot_rgb){
        (uint8_t)lround(tab[k].r + f * (tab[k + 1].r - tab[k].r)),
        (uint8_t)lround(tab[k].g + f * (tab[k + 1].g - tab[k].g)),
        (uint8_t)lround(tab[k].b + f * (tab[k + 1].b - tab[k].b)),
    };
}

plot_rgb plot_cmap_rgb(plot_cmap m, double t)
{
    return m == PLOT_CMAP_DIVERGING ? cmap_lerp(DIVERGING, 11, t) : cmap_lerp(VIRIDIS, 17, t);
}

plot_rgb plot_palette(int i)
{
    static const plot_rgb tab10[10] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
        {140, 86, 75}, {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
    };
    return tab10[((i % 10) + 10) % 10];
}

plot_rgb plot_outline_rgb(plot_cmap m)
{
    return m == PLOT_CMAP_DIVERGING ? (plot_rgb){20, 20, 20} : (plot_rgb){230, 30, 30};
}

// ---------------------------------------------------------------- ticks
int plot_ticks(double lo, double hi, int max_n, double *out, int cap)
{
    if (!(lo < hi) || !isfinite(lo) || !isfinite(hi) || cap < 1) return 0;
    if (max_n < 1) max_n = 1;
    double raw = (hi - lo) / max_n, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    double k0 = ceil(lo / step - 1e-9), k1 = floor(hi / step + 1e-9);
    int n = 0;
    for (double k = k0; k <= k1 && n < cap; k++) {
        double v = k * step;
        out[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    }
    return n;
}

// One format for every tick of an axis, from the step alone: fixed point with
// the decimals that tell ticks `step` apart (0.0, 0.5, 1.0), or, for very large
// or small steps, mantissas with one shared exponent (0, 2.5e6, 5.0e6).
static void tick_label(char *buf, size_t n, double v, double step)
{
    if (step >= 1e6 || (step < 1e-4 && step > 0)) {
        int e = (int)floor(log10(step) + 1e-9);
        double base = pow(10, e), mant = v / base;
        if (fabs(mant) < 1e-9) { snprintf(buf, n, "0"); return; }
        int dec = fabs(step / base - round(step / base)) > 1e-6 ? 1 : 0;   // a step of 2.5e6
        snprintf(buf, n, "%.*fe%d", dec, mant, e);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, n, "%.*f", dec, v);
    if (strspn(buf, "-0.") == strlen(buf) && buf[0] == '-') memmove(buf, buf + 1, strlen(buf));
}

void plot_value_format(const float *v, size_t n, char *fmt, size_t cap)
{
    double maxabs = 0;
    for (size_t i = 0; i < n; i++) if (isfinite(v[i])) maxabs = fmax(maxabs, fabs(v[i]));
    if (maxabs >= 1e5) { snprintf(fmt, cap, "%%.1e"); return; }
    // two significant digits for the largest value, as many decimals for all the others,
    // and one decimal at least below 100 (10.2 beside 0.4, not 10 beside 0)
    int dec = maxabs > 0 ? 1 - (int)floor(log10(maxabs)) : 0;
    if (dec < 1 && maxabs > 0 && maxabs < 100) dec = 1;
    if (dec < 0) dec = 0;
    if (dec > 4) dec = 4;
    snprintf(fmt, cap, "%%.%df", dec);
}

// decimals (up to max_dec) that write v exactly to 6 significant digits; -1 when more are needed
static int decimals_needed(double v, int max_dec)
{
    for (int d = 0; d <= max_dec; d++) {
        double s = v * pow(10, d);
        if (fabs(s - round(s)) <= 1e-6 * fmax(1.0, fabs(s))) return d;
    }
    return -1;
}

void plot_value_labels(const float *v, int n, char (*labels)[24])
{
    double lo = INFINITY, hi = 0;
    int whole = 1, dec = 0;
    for (int i = 0; i < n; i++) {
        double a = fabs(v[i]);
        if (a > 0) lo = fmin(lo, a);
        hi = fmax(hi, a);
        int d = decimals_needed(v[i], 4);
        whole &= d == 0;
        dec = d < 0 ? 99 : d > dec ? d : dec;
    }
    int sci = whole ? hi >= 1e6 : !(lo >= 0.01 && hi < 1e4 && dec <= 4);
    for (int i = 0; i < n; i++) {
        if (!sci) {
            snprintf(labels[i], 24, "%.*f", whole ? 0 : dec, (double)v[i]);
        } else if (v[i] == 0) {
            snprintf(labels[i], 24, "0");
        } else {   // printf's rounding picks the exponent (a float 0.01 is 9.99999978e-3)
            char buf[32], *ex;
            snprintf(buf, sizeof buf, "%.2e", (double)v[i]);
            ex = strchr(buf, 'e');
            int e = atoi(ex + 1);
            *ex = 0;
            char *end = buf + strlen(buf);
            while (end > buf && end[-1] == '0') *--end = 0;
            if (end > buf && end[-1] == '.') *--end = 0;
            snprintf(labels[i], 24, "%se%d", buf, e);
        }
    }
}

int plot_tick_labels(double lo, double hi, int max_n, double *out, char (*labels)[24], int cap)
{
    int n = plot_ticks(lo, hi, max_n, out, cap);
    double step = n > 1 ? out[1] - out[0] : hi - lo;
    for (int i = 0; i < n; i++) tick_label(labels[i], 24, out[i], step);
    return n;
}

static void ticks_linear(tickset *t, double lo, double hi, int max_n)
{
    t->n = plot_ticks(lo, hi, max_n, t->v, TICKS_MAX);
    double step = t->n > 1 ? t->v[1] - t->v[0] : hi - lo;
    for (int i = 0; i < t->n; i++) {
        tick_label(t->s[i], sizeof t->s[i], t->v[i], step);
        t->major[i] = 1;
    }
}

// sci: every label of the axis as 1e6 / 2e-5, chosen once per axis so that
// plain (1000) and exponent (1e6) forms never mix on one axis
static void log_label(char *buf, size_t n, int m, int k, int sci)
{
    if (!sci) snprintf(buf, n, "%g", m * pow(10, k));
    else if (m == 1) snprintf(buf, n, "1e%d", k);
    else snprintf(buf, n, "%de%d", m, k);
}

static void ticks_add(tickset *t, double v, const char *label)
{
    if (t->n >= TICKS_MAX) return;
    t->v[t->n] = v;
    t->major[t->n] = label != NULL;
    snprintf(t->s[t->n], sizeof t->s[0], "%s", label ? label : "");
    t->n++;
}

// llo, lhi in log10 units; so are the tick values
static void ticks_log(tickset *t, double llo, double lhi, int max_n)
{
    char buf[24];
    t->n = 0;
    int d0 = (int)ceil(llo - 1e-9), d1 = (int)floor(lhi + 1e-9), nd = d1 - d0 + 1;
    int sci = nd >= 2 ? d0 < -3 || d1 > 5 : floor(llo) < -3 || ceil(lhi) > 5;
    if (max_n < 2) max_n = 2;
    if (nd >= 2) {   // decades, every stride-th labelled, the rest as minor marks
        int stride = 1;
        while ((nd + stride - 1) / stride > max_n) stride++;
        for (int k = (int)floor(llo); k <= d1; k++)
            for (int m = 1; m <= 9; m++) {
                double v = k + log10(m);
                if (v < llo - 1e-9 || v > lhi + 1e-9) continue;
                if (m == 1 && (k - d0) % stride == 0) { log_label(buf, sizeof buf, 1, k, sci); ticks_add(t, v, buf); }
                else if (stride == 1 || m == 1) ticks_add(t, v, NULL);
            }
        return;
    }
    for (int k = (int)floor(llo); k <= (int)ceil(lhi); k++)   // under two decades: 1, 2, 5
        for (int m = 1; m <= 9; m++) {
            double v = k + log10(m);
            if (v < llo - 1e-9 || v > lhi + 1e-9) continue;
            if (m == 1 || m == 2 || m == 5) { log_label(buf, sizeof buf, m, k, sci); ticks_add(t, v, buf); }
            else ticks_add(t, v, NULL);
        }
    int majors = 0;
    for (int i = 0; i < t->n; i++) majors += t->major[i];
    if (majors >= 2) return;
    // a narrow range: plain ticks in data units, placed on the log axis
    double v[TICKS_MAX];
    int n = plot_ticks(pow(10, llo), pow(10, lhi), max_n, v, TICKS_MAX);
    double step = n > 1 ? v[1] - v[0] : 1;
    t->n = 0;
    for (int i = 0; i < n; i++) {
        if (v[i] <= 0) continue;
        tick_label(buf, sizeof buf, v[i], step);
        ticks_add(t, log10(v[i]), buf);
    }
}

static int ticks_widest(const tickset *t, float size)
{
    int w = 0;
    for (int i = 0; i < t->n; i++)
        if (t->major[i]) {
            int tw = text_w(t->s[i], size);
            if (tw > w) w = tw;
        }
    return w;
}

// ---------------------------------------------------------------- geometry
void plot_axes_px(const plot_axes *ax, double x, double y, double *px, double *py)
{
    if (ax->logy) y = y > 0 ? log10(y) : NAN;
    if (ax->logx) x = x > 0 ? log10(x) : NAN;
    if (px) *px = ax->area.x + ax->area.w * (x - ax->x_lo) / (ax->x_hi - ax->x_lo);
    if (py) *py = ax->area.y + ax->area.h * (ax->y_hi - y) / (ax->y_hi - ax->y_lo);
}

// pixel row of axis value y (log10 units on a log axis)
static double axis_row(const plot_axes *ax, double y)
{
    return ax->area.y + ax->area.h * (ax->y_hi - y) / (ax->y_hi - ax->y_lo);
}

// pixel column (or row) of a tick at p on an axis of len pixels from start:
// ticks on the area's edges go onto the frame, which lies just outside it
static int tick_px(double p, int start, int len)
{
    if (fabs(p - start) < 0.5) return start - 1;
    if (fabs(p - (start + len)) < 0.5) return start + len;
    return (int)floor(p);
}

// ---------------------------------------------------------------- chart pieces
// a 1 px box just outside r
static void frame_draw(plot_canvas *c, plot_rect r, plot_rgb col)
{
    plot_fill_rect(c, (plot_rect){r.x - 1, r.y - 1, r.w + 2, 1}, col);
    plot_fill_rect(c, (plot_rect){r.x - 1, r.y + r.h, r.w + 2, 1}, col);
    plot_fill_rect(c, (plot_rect){r.x - 1, r.y, 1, r.h}, col);
    plot_fill_rect(c, (plot_rect){r.x + r.w, r.y, 1, r.h}, col);
}

// y-axis grid lines (behind the data)
static void ygrid_draw(plot_canvas *c, const plot_axes *ax, const tickset *t)
{
    for (int i = 0; i < t->n; i++) {
        if (!t->major[i]) continue;
        int row = (int)floor(axis_row(ax, t->v[i]));
        if (row > ax->area.y && row < ax->area.y + ax->area.h)
            plot_fill_rect(c, (plot_rect){ax->area.x, row, ax->area.w, 1}, GRID);
    }
}

// y-axis tick marks and labels at the left of the frame
static void yticks_draw(plot_canvas *c, const plot_axes *ax, const tickset *t)
{
    for (int i = 0; i < t->n; i++) {
        int row = tick_px(axis_row(ax, t->v[i]), ax->area.y, ax->area.h);
        int len = t->major[i] ? TICK_LEN : 3;
        if (row < ax->area.y - 1 || row > ax->area.y + ax->area.h) continue;
        plot_fill_rect(c, (plot_rect){ax->area.x - 1 - len, row, len, 1}, FRAME);
        if (t->major[i])
            text_draw(c, ax->area.x - 1 - TICK_LEN - 4, row + 0.5, t->s[i], FS_TICK,
                       INK, PLOT_ALIGN_RIGHT, PLOT_ALIGN_MIDDLE, 0);
    }
}

// title over the area, x label at the bottom of the canvas, y label rotated at its left
static void chrome_draw(plot_canvas *c, plot_rect a, int top, const char *title,
                  const char *xlabel, int xlabel_y, const char *ylabel, int ylabel_x)
{
    if (title)
        text_draw(c, a.x + a.w / 2.0, top, title, FS_TITLE, INK,
                   PLOT_ALIGN_CENTER, PLOT_ALIGN_TOP, 0);
    if (xlabel)
        text_draw(c, a.x + a.w / 2.0, xlabel_y, xlabel, FS_LABEL, INK,
                   PLOT_ALIGN_CENTER, PLOT_ALIGN_TOP, 0);
    if (ylabel)
        text_draw(c, ylabel_x, a.y + a.h / 2.0, ylabel, FS_LABEL, INK,
                   PLOT_ALIGN_LEFT, PLOT_ALIGN_MIDDLE, 1);
}

// ---------------------------------------------------------------- line chart
// point i of s in axis units; 0 if it leaves a gap (NaN, or y <= 0 on a log axis)
static int series_point(const plot_series *s, int i, int logx, int logy, double *x, double *y)
{
    *x = s->x ? s->x[i] : i;
    *y = s->y[i];
    if (!isfinite(*x) || !isfinite(*y)) return 0;
    if (logx) {
        if (*x <= 0) return 0;
        *x = log10(*x);
    }
    if (logy) {
        if (*y <= 0) return 0;
        *y = log10(*y);
    }
    return 1;
}

// like plot_axes_px, but y is already in axis units (log10 on a log axis)
static void series_px(const plot_axes *ax, double x, double y, double *px, double *py)
{
    *px = ax->area.x + ax->area.w * (x - ax->x_lo) / (ax->x_hi - ax->x_lo);
    *py = axis_row(ax, y);
}

// Liang-Barsky: clip segment to rectangle r; 0 if nothing is left
static int clip_segment(plot_rect r, double *x0, double *y0, double *x1, double *y1)
{
    double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {*x0 - r.x, r.x + r.w - *x0, *y0 - r.y, r.y + r.h - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0) return 0;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0) { if (t > t1) return 0; if (t > t0) t0 = t; }
        else          { if (t < t0) return 0; if (t < t1) t1 = t; }
    }
    *x1 = *x0 + t1 * dx; *y1 = *y0 + t1 * dy;
    *x0 = *x0 + t0 * dx; *y0 = *y0 + t0 * dy;
    return 1;
}

// how much of the drawn data lies inside box: points sampled every few px along segments
static int series_cover(const plot_axes *ax, const plot_series *s, int ns, plot_rect box)
{
    int hits = 0;
    for (int k = 0; k < ns; k++) {
        double px0 = 0, py0 = 0;
        int prev = 0;
        for (int i = 0; i < s[k].n; i++) {
            double x, y, px = 0, py = 0;
            int ok = series_point(&s[k], i, ax->logx, ax->logy, &x, &y);
            if (ok) series_px(ax, x, y, &px, &py);
            if (ok && prev) {
                int steps = 1 + (int)(hypot(px - px0, py - py0) / 3);
                for (int j = 0; j <= steps; j++) {
                    double qx = px0 + (px - px0) * j / steps, qy = py0 + (py - py0) * j / steps;
                    hits += qx >= box.x && qx < box.x + box.w && qy >= box.y && qy < box.y + box.h;
                }
            }
            prev = ok; px0 = px; py0 = py;
        }
    }
    return hits;
}

static void legend_draw(plot_canvas *c, const plot_axes *ax, const plot_series *s, int ns,
                        plot_legend_pos pos, double line_px)
{
    enum { ROW = 20, SAMPLE = 26 };
    int named = 0, tw = 0;
    for (int k = 0; k < ns; k++)
        if (s[k].name) {
            named++;
            int w = text_w(s[k].name, FS_TICK);
            if (w > tw) tw = w;
        }
    if (!named || pos == PLOT_LEGEND_NONE) return;
    plot_rect a = ax->area;
    int bw = 10 + SAMPLE + 8 + tw + 10, bh = 6 + named * ROW + 4, m = 10;
    plot_rect corner[4] = {   // in plot_legend_pos order, from UPPER_RIGHT
        {a.x + a.w - m - bw, a.y + m, bw, bh}, {a.x + m, a.y + m, bw, bh},
        {a.x + a.w - m - bw, a.y + a.h - m - bh, bw, bh}, {a.x + m, a.y + a.h - m - bh, bw, bh},
    };
    int pick = pos - PLOT_LEGEND_UPPER_RIGHT;
    if (pos == PLOT_LEGEND_AUTO) {
        int best = -1;
        for (int i = 0; i < 4; i++) {
            plot_rect near = {corner[i].x - m, corner[i].y - m, corner[i].w + 2 * m, corner[i].h + 2 * m};
            int hits = series_cover(ax, s, ns, near);
            if (best < 0 || hits < best) { best = hits; pick = i; }
        }
    }
    plot_rect b = corner[pick];
    plot_fill_rect(c, b, WHITE);
    frame_draw(c, (plot_rect){b.x + 1, b.y + 1, b.w - 2, b.h - 2}, (plot_rgb){200, 200, 200});
    int row = 0;
    for (int k = 0; k < ns; k++) {
        if (!s[k].name) continue;
        double cy = b.y + 6 + row * ROW + ROW / 2.0;
        plot_rgb col = s[k].color ? *s[k].color : plot_palette(k);
        if (s[k].dashed) plot_dashed_line(c, b.x + 10, cy, b.x + 10 + SAMPLE, cy, line_px, col);
        else plot_line(c, b.x + 10, cy, b.x + 10 + SAMPLE, cy, line_px, col);
        if (s[k].y_lo && s[k].y_hi)
            plot_fill_polygon(c, (double[8]){b.x + 10, cy - 5, b.x + 10 + SAMPLE, cy - 5,
                                             b.x + 10 + SAMPLE, cy + 5, b.x + 10, cy + 5}, 4, col, 0.18);
        if (s[k].markers) plot_marker(c, b.x + 10 + SAMPLE / 2.0, cy, line_px + 1.5, col);
        text_draw(c, b.x + 10 + SAMPLE + 8, cy, s[k].name, FS_TICK, INK,
                  PLOT_ALIGN_LEFT, PLOT_ALIGN_MIDDLE, 0);
        row++;
    }
}

int plot_line_draw(plot_canvas *c, const plot_series *s, int ns, const plot_line_opts *o,
                   plot_axes *ax_out, char *err)
{
    static const plot_line_opts defaults = {0};
    if (!o) o = &defaults;
    if (!c || !c->rec) return err_set(err, "plot_line_draw: the canvas is empty");
    if (ns < 0 || (ns > 0 && !s)) return err_set(err, "plot_line_draw: n_series = %d with no series", ns);
    for (int k = 0; k < ns; k++)
        if (s[k].n < 0 || (s[k].n > 0 && !s[k].y))
            return err_set(err, "plot_line_draw: series %d (%s) has n = %d and y = %s", k,
                           s[k].name ? s[k].name : "unnamed", s[k].n, s[k].y ? "set" : "NULL");
    int logy = o->logy != 0, logx = o->logx != 0;
    if (logy && o->ymin < o->ymax && o->ymin <= 0)
        return err_set(err, "plot_line_draw: logy needs ymin > 0, got ymin = %g", o->ymin);
    if (logx && o->xmin < o->xmax && o->xmin <= 0)
        return err_set(err, "plot_line_draw: logx needs xmin > 0, got xmin = %g", o->xmin);
    if (font_load(err)) return -1;

    // data range in axis units; y padded so that flat series stay off the frame
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double x, y;
            if (!series_point(&s[k], i, logx, logy, &x, &y)) continue;
            xlo = fmin(xlo, x); xhi = fmax(xhi, x);
            ylo = fmin(ylo, y); yhi = fmax(yhi, y);
            for (int b = 0; b < 2; b++) {   // the band counts towards the range too
                const float *yb = b ? s[k].y_hi : s[k].y_lo;
                double v = yb ? yb[i] : NAN;
                if (logy) v = v > 0 ? log10(v) : NAN;
                if (isfinite(v)) { ylo = fmin(ylo, v); yhi = fmax(yhi, v); }
            }
        }
    if (!(xlo <= xhi)) { xlo = 0; xhi = 1; }
    else if (xlo == xhi) { xlo -= 0.5; xhi += 0.5; }
    else if (logx) {   // room for the end markers on a log axis
        double d = 0.04 * (xhi - xlo);
        xlo -= d; xhi += d;
    }
    if (!(ylo <= yhi)) { ylo = 0; yhi = 1; }
    else if (ylo == yhi) {
        double d = logy ? 0.5 : ylo != 0 ? fabs(ylo) * 0.1 : 0.5;
        ylo -= d; yhi += d;
    } else {
        double d = 0.05 * (yhi - ylo);
        ylo -= d; yhi += d;
    }
    if (o->xmin < o->xmax) {
        xlo = logx ? log10(o->xmin) : o->xmin;
        xhi = logx ? log10(o->xmax) : o->xmax;
    }
    if (o->ymin < o->ymax) {
        ylo = logy ? log10(o->ymin) : o->ymin;
        yhi = logy ? log10(o->ymax) : o->ymax;
    }

    // layout: margins from the measured labels
    int W = c->w, H = c->h;
    plot_fill_rect(c, (plot_rect){0, 0, W, H}, WHITE);
    int top = PAD + (o->title ? (int)FS_TITLE + PAD : 0) + 4;
    int bottom = TICK_LEN + 4 + (int)FS_TICK + (o->xlabel ? 8 + (int)FS_LABEL : 0) + PAD;
    int ah = H - top - bottom;
    tickset yt, xt;
    if (logy) ticks_log(&yt, ylo, yhi, ah / 45);
    else ticks_linear(&yt, ylo, yhi, ah / 45);
    int left = PAD + (o->ylabel ? (int)FS_LABEL + 8 : 0) + ticks_widest(&yt, FS_TICK) + 4 + TICK_LEN;
    int right = PAD + 14, aw = W - left - right;
    for (int max_n = aw / 70; !o->xtick_labels && !o->xtick_values; max_n--) {   // fewer x ticks until their labels have room
        if (logx) ticks_log(&xt, xlo, xhi, max_n);
        else ticks_linear(&xt, xlo, xhi, max_n);
        double gap = aw;   // the narrowest gap between labelled ticks
        for (int i = 0, prev = -1; i < xt.n; i++)
            if (xt.major[i]) {
                if (prev >= 0) gap = fmin(gap, aw * (xt.v[i] - xt.v[prev]) / (xhi - xlo));
                prev = i;
            }
        if (ticks_widest(&xt, FS_TICK) + 16 <= gap || max_n <= 2) break;
    }
    if (o->xtick_values) {   // a tick at each given value inside the range, one label format
        char (*lab)[24] = malloc(sizeof(*lab) * (o->n_xtick_values > 0 ? o->n_xtick_values : 1));
        if (!lab) return err_set(err, "plot_line_draw: out of memory");
        plot_value_labels(o->xtick_values, o->n_xtick_values, lab);
        xt.n = 0;
        for (int i = 0; i < o->n_xtick_values && xt.n < TICKS_MAX; i++) {
            double x = o->xtick_values[i];
            if (logx && !(x > 0)) continue;
            double v = logx ? log10(x) : x;
            if (v < xlo - 1e-9 || v > xhi + 1e-9) continue;
            ticks_add(&xt, v, lab[i]);
        }
        free(lab);
    }
    if (o->xtick_labels) {   // one tick per category inside the range
        xt.n = 0;
        for (int i = 0; i < o->n_xtick_labels && xt.n < TICKS_MAX; i++) {
            double v = logx ? (i > 0 ? log10(i) : -INFINITY) : i;
            if (v < xlo - 1e-9 || v > xhi + 1e-9) continue;
            ticks_add(&xt, v, o->xtick_labels[i] ? o->xtick_labels[i] : "");
        }
    }
    if (aw < 40 || ah < 40)
        return err_set(err, "plot_line_draw: a %dx%d canvas is too small for the labels", W, H);
    plot_axes ax = {.area = {left, top, aw, ah}, .x_lo = xlo, .x_hi = xhi,
                    .y_lo = ylo, .y_hi = yhi, .logy = logy, .logx = logx};
    plot_rect a = ax.area;

    // grid, frame, bands, data (over the frame: a line at the range's end stays
    // visible), markers, ticks, labels, legend
    ygrid_draw(c, &ax, &yt);
    for (int i = 0; i < xt.n; i++) {
        if (!xt.major[i]) continue;
        double px, py;
        series_px(&ax, xt.v[i], ylo, &px, &py);
        int col = (int)floor(px);
        if (col > a.x && col < a.x + a.w - 1) plot_fill_rect(c, (plot_rect){col, a.y, 1, a.h}, GRID);
    }
    frame_draw(c, a, FRAME);
    cairo_t *cr = ctx(c);
    cairo_save(cr);
    cairo_rectangle(cr, a.x - 1, a.y - 1, a.w + 2, a.h + 2);   // bands may not leave the frame
    cairo_clip(cr);
    for (int k = 0; k < ns; k++) {
        if (!s[k].y_lo || !s[k].y_hi) continue;
        plot_rgb col = s[k].color ? *s[k].color : plot_palette(k);
        for (int i = 0; i + 1 < s[k].n; i++) {   // one quad per pair of neighbouring points
            double q[8], x, y;
            int ok = 1;
            for (int e = 0; e < 2 && ok; e++) {
                int j = i + e;
                ok = series_point(&s[k], j, logx, logy, &x, &y);
                double lo = s[k].y_lo[j], hi = s[k].y_hi[j];
                if (logy) { lo = lo > 0 ? log10(lo) : NAN; hi = hi > 0 ? log10(hi) : NAN; }
                ok = ok && isfinite(lo) && isfinite(hi);
                if (ok) {
                    series_px(&ax, x, hi, &q[e ? 2 : 0], &q[e ? 3 : 1]);
                    series_px(&ax, x, lo, &q[e ? 4 : 6], &q[e ? 5 : 7]);
                }
            }
            if (ok) plot_fill_polygon(c, q, 4, col, 0.18);
        }
    }
    cairo_restore(cr);
    double lw = o->line_px > 0 ? o->line_px : 2;
    for (int k = 0; k < ns; k++) {
        plot_rgb col = s[k].color ? *s[k].color : plot_palette(k);
        double px0 = 0, py0 = 0;
        int prev = 0;
        for (int i = 0; i < s[k].n; i++) {
            double x, y, px = 0, py = 0;
            int ok = series_point(&s[k], i, logx, logy, &x, &y);
            if (ok) series_px(&ax, x, y, &px, &py);
            if (ok && prev) {
                double x0 = px0, y0 = py0, x1 = px, y1 = py;
                if (clip_segment(a, &x0, &y0, &x1, &y1)) {
                    if (s[k].dashed) plot_dashed_line(c, x0, y0, x1, y1, lw, col);
                    else plot_line(c, x0, y0, x1, y1, lw, col);
                }
            } else if (ok) {   // a point with no neighbour to its left: a dot if none to its right
                double nx, ny;
                int next = i + 1 < s[k].n && series_point(&s[k], i + 1, logx, logy, &nx, &ny);
                if (!next && px >= a.x && px <= a.x + a.w && py >= a.y && py <= a.y + a.h)
                    plot_line(c, px, py, px, py, lw + 3, col);
            }
            prev = ok; px0 = px; py0 = py;
        }
        for (int i = 0; s[k].markers && i < s[k].n; i++) {
            double x, y, px, py;
            if (!series_point(&s[k], i, logx, logy, &x, &y)) continue;
            series_px(&ax, x, y, &px, &py);
            if (px >= a.x - 1 && px <= a.x + a.w + 1 && py >= a.y - 1 && py <= a.y + a.h + 1)
                plot_marker(c, px, py, lw + 1.5, col);
        }
    }
    yticks_draw(c, &ax, &yt);
    for (int i = 0; i < xt.n; i++) {
        double px, py;
        series_px(&ax, xt.v[i], ylo, &px, &py);
        int col = tick_px(px, a.x, a.w);
        if (col < a.x - 1 || col > a.x + a.w) continue;
        plot_fill_rect(c, (plot_rect){col, a.y + a.h + 1, 1, xt.major[i] ? TICK_LEN : 3}, FRAME);
        if (xt.major[i])
            text_draw(c, col + 0.5, a.y + a.h + 1 + TICK_LEN + 3, xt.s[i], FS_TICK, INK,
                      PLOT_ALIGN_CENTER, PLOT_ALIGN_TOP, 0);
    }
    chrome_draw(c, a, PAD, o->title, o->xlabel, H - PAD - (int)FS_LABEL, o->ylabel, PAD);
    legend_draw(c, &ax, s, ns, o->legend, lw);
    if (ax_out) *ax_out = ax;
    return 0;
}

static int line_file(const char *path, int all_formats, const plot_series *s, int n_series, const plot_line_opts *o, char *err)
{
    plot_canvas c;
    int w = o && o->width > 0 ? o->width : 720, h = o && o->height > 0 ? o->height : 440;
    if (plot_canvas_init(&c, w, h, WHITE, err)) return -1;
    plot_canvas_set_title(&c, o ? o->title : NULL);
    int rc = plot_line_draw(&c, s, n_series, o, NULL, err);
    if (!rc) rc = all_formats ? plot_canvas_write(&c, path, err) : plot_canvas_save_png(&c, path, err);
    plot_canvas_free(&c);
    return rc;
}

int plot_line_png(const char *path, const plot_series *s, int n_series, const plot_line_opts *o, char *err)
{
    return line_file(path, 0, s, n_series, o, err);
}

int plot_line_write(const char *path, const plot_series *s, int n_series, const plot_line_opts *o, char *err)
{
    return line_file(path, 1, s, n_series, o, err);
}

// ---------------------------------------------------------------- heatmap
// labels[i], or i as text when there are no labels
static const char *label_at(const char *const *labels, int i, char *buf, size_t n)
{
    if (labels) return labels[i] ? labels[i] : "";
    snprintf(buf, n, "%d", i);
    return buf;
}

static int labels_widest(const char *const *labels, int n)
{
    char buf[16];
    int w = 0;
    for (int i = 0; i < n; i++) {
        int tw = text_w(label_at(labels, i, buf, sizeof buf), FS_TICK);
        if (tw > w) w = tw;
    }
    return w;
}

// smallest of 1, 2, 5, 10, 20, ... that is >= x: label every k-th row when crowded
static int nice_stride(double x)
{
    static const int mult[3] = {1, 2, 5};
    for (int mag = 1; mag < 100000000; mag *= 10)
        for (int i = 0; i < 3; i++)
            if (mag * mult[i] >= x) return mag * mult[i];
    return 1000000000;
}

static void cell_size(int aw, int ah, int rows, int cols, int stretch, double *cw, double *ch)
{
    *cw = (double)aw / cols;
    *ch = (double)ah / rows;
    if (!stretch) *cw = *ch = fmin(*cw, *ch);
    if (*cw >= 3) *cw = floor(*cw);   // whole pixels: every cell the same size
    if (*ch >= 3) *ch = floor(*ch);
}

// the map from top (hi) to bottom (lo) in r, framed, with ticks t and a label at its right
static void colorbar_draw(plot_canvas *c, plot_rect cb, plot_cmap m, double lo, double hi,
                          const tickset *ct, const char *label)
{
    // one gradient (a few stops per map segment) rather than a rectangle per row:
    // small and smooth in SVG and PDF
    cairo_t *cr = ctx(c);
    cairo_pattern_t *g = cairo_pattern_create_linear(0, cb.y + cb.h, 0, cb.y);
    for (int i = 0; i <= 64; i++) {
        plot_rgb col = plot_cmap_rgb(m, i / 64.0);
        cairo_pattern_add_color_stop_rgb(g, i / 64.0, col.r / 255.0, col.g / 255.0, col.b / 255.0);
    }
    cairo_rectangle(cr, cb.x, cb.y, cb.w, cb.h);
    cairo_set_source(cr, g);
    cairo_fill(cr);
    cairo_pattern_destroy(g);
    frame_draw(c, cb, FRAME);
    plot_axes cax = {.area = cb, .x_lo = 0, .x_hi = 1, .y_lo = lo, .y_hi = hi};
    int cbw = 0;
    for (int i = 0; i < ct->n; i++) {
        int row = tick_px(axis_row(&cax, ct->v[i]), cb.y, cb.h);
        plot_fill_rect(c, (plot_rect){cb.x + cb.w + 1, row, TICK_LEN, 1}, FRAME);
        plot_rect tb = text_draw(c, cb.x + cb.w + 1 + TICK_LEN + 3, row + 0.5, ct->s[i], FS_TICK, INK,
                                 PLOT_ALIGN_LEFT, PLOT_ALIGN_MIDDLE, 0);
        if (tb.w > cbw) cbw = tb.w;
    }
    if (label)
        text_draw(c, cb.x + cb.w + 1 + TICK_LEN + 3 + cbw + 8, cb.y + cb.h / 2.0, label,
                  FS_LABEL, INK, PLOT_ALIGN_LEFT, PLOT_ALIGN_MIDDLE, 1);
}

int plot_colorbar_draw(plot_canvas *c, plot_rect r, plot_cmap m, double lo, double hi,
                       const char *label, char *err)
{
    if (!c || !c->rec) return err_set(err, "plot_colorbar_draw: the canvas is empty");
    if (!(lo < hi) || r.w < 1 || r.h < 8)
        return err_set(err, "plot_colorbar_draw: need lo < hi and a bar at least 1 x 8, got %g..%g in %dx%d",
                       lo, hi, r.w, r.h);
    if (font_load(err)) return -1;
    tickset ct;
    ticks_linear(&ct, lo, hi, r.h / 40 > 2 ? r.h / 40 : 2);
    colorbar_draw(c, r, m, lo, hi, &ct, label);
    return 0;
}

int plot_heatmap_draw(plot_canvas *c, const float *m, int rows, int cols,
                      const plot_heatmap_opts *o, plot_axes *ax_out, char *err)
{
    static const plot_heatmap_opts defaults = {0};
    if (!o) o = &defaults;
    if (!c || !c->rec) return err_set(err, "plot_heatmap_draw: the canvas is empty");
    if (!m || rows < 1 || cols < 1)
        return err_set(err, "plot_heatmap_draw: need a matrix with rows, cols >= 1, got %s (%d x %d)",
                       m ? "data" : "NULL", rows, cols);
    const plot_cells *ol = &o->outline;
    int outline = ol->n_rows > 0 && ol->n_cols > 0;
    if (outline && (ol->row < 0 || ol->col < 0 || ol->row + ol->n_rows > rows || ol->col + ol->n_cols > cols))
        return err_set(err, "plot_heatmap_draw: outline rows %d..%d, cols %d..%d lie outside the %d x %d matrix",
                       ol->row, ol->row + ol->n_rows - 1, ol->col, ol->col + ol->n_cols - 1, rows, cols);
    if (font_load(err)) return -1;
    int diverging = o->cmap == PLOT_CMAP_DIVERGING;

    // colour range
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        if (isfinite(m[i])) { lo = fmin(lo, m[i]); hi = fmax(hi, m[i]); }
    if (o->vmin < o->vmax) { lo = o->vmin; hi = o->vmax; }
    else if (diverging) {
        double c0 = isfinite(o->center) ? o->center : 0;
        double mx = lo <= hi ? fmax(fabs(lo - c0), fabs(hi - c0)) : 0;
        if (!(mx > 0)) mx = 1;
        lo = c0 - mx; hi = c0 + mx;
    } else if (!(lo <= hi)) { lo = 0; hi = 1; }
    else if (lo == hi) {   // one value: show it at the end of a range from 0
        if (lo == 0) hi = 1;
        else if (lo > 0) lo = 0;
        else hi = 0;
    }

    // layout: margins from the labels, then square (or stretched) cells, centred
    int W = c->w, H = c->h;
    plot_fill_rect(c, (plot_rect){0, 0, W, H}, WHITE);
    enum { CB_GAP = 16, CB_W = 16 };
    int key = (outline && o->outline_label) || o->nan_label;
    int top = PAD + (o->title ? (int)FS_TITLE + PAD : 0) + (key ? (int)FS_TICK + 10 : 0) + 2;
    int left = PAD + (o->ylabel ? (int)FS_LABEL + 8 : 0) + labels_widest(o->row_labels, rows) + 4 + TICK_LEN;
    tickset ct;
    ticks_linear(&ct, lo, hi, (H - top - 60) / 40);
    int right = o->no_cbar ? PAD : CB_GAP + CB_W + 1 + TICK_LEN + 3 + ticks_widest(&ct, FS_TICK)
                + (o->cbar_label ? 8 + (int)FS_LABEL : 0) + PAD;
    int xl_h = o->xlabel ? 8 + (int)FS_LABEL : 0;
    int clw = labels_widest(o->col_labels, cols);
    int col_h = (int)FS_TICK, rot = 0;
    double cw, ch;
    cell_size(W - left - right, H - top - (TICK_LEN + 4 + col_h + xl_h + PAD), rows, cols, o->stretch, &cw, &ch);
    if (o->col_labels && clw + 8 > cw && cw >= FS_TICK) {   // words that do not fit: turn them
        rot = 1;
        col_h = clw;
        cell_size(W - left - right, H - top - (TICK_LEN + 4 + col_h + xl_h + PAD), rows, cols, o->stretch, &cw, &ch);
    }
    int bottom = TICK_LEN + 4 + col_h + xl_h + PAD;
    int gw = (int)lround(cw * cols), gh = (int)lround(ch * rows);
    if (gw < cols || gh < rows || gw < 16 || gh < 16)
        return err_set(err, "plot_heatmap_draw: a %dx%d canvas is too small for %d x %d cells and their labels",
                       W, H, rows, cols);
    int ox = (W - (left + gw + right)) / 2, oy = (H - (top + gh + bottom)) / 2;
    plot_axes ax = {.area = {(ox > 0 ? ox : 0) + left, (oy > 0 ? oy : 0) + top, gw, gh},
                    .x_lo = 0, .x_hi = cols, .y_lo = rows, .y_hi = 0, .v_lo = lo, .v_hi = hi};
    plot_rect a = ax.area;
    ax.cbar = (plot_rect){a.x + a.w + CB_GAP, a.y, CB_W, a.h};
#define CELL_X(j) (a.x + (int)lround((j) * cw))
#define CELL_Y(i) (a.y + (int)lround((i) * ch))

    // cells, then their values when the cells are big enough to hold them
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float v = m[(size_t)i * cols + j];
            plot_rgb col = isfinite(v) ? plot_cmap_rgb(o->cmap, (v - lo) / (hi - lo)) : PLOT_NAN_RGB;
            plot_fill_rect(c, (plot_rect){CELL_X(j), CELL_Y(i), CELL_X(j + 1) - CELL_X(j),
                                          CELL_Y(i + 1) - CELL_Y(i)}, col);
        }
    if (o->annotate) {
        char autofmt[16];
        plot_value_format(m, (size_t)rows * cols, autofmt, sizeof autofmt);
        const char *fmt = o->annot_fmt ? o->annot_fmt : autofmt;
        char buf[32];
        int vw = 1;
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            if (isfinite(m[i])) {
                snprintf(buf, sizeof buf, fmt, (double)m[i]);
                int w = text_w(buf, FS_TICK);
                if (w > vw) vw = w;
            }
        float fs = (float)fmin(FS_TICK, fmin(ch * 0.5, FS_TICK * (cw - 4) / vw));
        for (int i = 0; fs >= 8.5f && i < rows; i++)   // smaller would not be read
            for (int j = 0; j < cols; j++) {
                float v = m[(size_t)i * cols + j];
                if (!isfinite(v)) continue;
                plot_rgb bg = plot_cmap_rgb(o->cmap, (v - lo) / (hi - lo));
                int light = 0.299 * bg.r + 0.587 * bg.g + 0.114 * bg.b > 140;
                snprintf(buf, sizeof buf, fmt, (double)v);
                text_draw(c, (CELL_X(j) + CELL_X(j + 1)) / 2.0, (CELL_Y(i) + CELL_Y(i + 1)) / 2.0, buf, fs,
                          light ? INK : WHITE, PLOT_ALIGN_CENTER, PLOT_ALIGN_MIDDLE, 0);
            }
    }
    frame_draw(c, a, FRAME);

    // outline: 2 px straddling the block's border, drawn over the frame
    plot_rgb olc = plot_outline_rgb(o->cmap);
    if (outline) {
        int x0 = CELL_X(ol->col), x1 = CELL_X(ol->col + ol->n_cols);
        int y0 = CELL_Y(ol->row), y1 = CELL_Y(ol->row + ol->n_rows);
        plot_fill_rect(c, (plot_rect){x0 - 1, y0 - 1, x1 - x0 + 2, 2}, olc);
        plot_fill_rect(c, (plot_rect){x0 - 1, y1 - 1, x1 - x0 + 2, 2}, olc);
        plot_fill_rect(c, (plot_rect){x0 - 1, y0 - 1, 2, y1 - y0 + 2}, olc);
        plot_fill_rect(c, (plot_rect){x1 - 1, y0 - 1, 2, y1 - y0 + 2}, olc);
    }

    // row and column labels at cell centres, every k-th when crowded
    char buf[16];
    int rstep = nice_stride((FS_TICK + 6) / ch);
    for (int i = 0; i < rows; i += rstep) {
        int y = (CELL_Y(i) + CELL_Y(i + 1)) / 2;
        plot_fill_rect(c, (plot_rect){a.x - 1 - TICK_LEN, y, TICK_LEN, 1}, FRAME);
        text_draw(c, a.x - 1 - TICK_LEN - 4, y + 0.5, label_at(o->row_labels, i, buf, sizeof buf),
                  FS_TICK, INK, PLOT_ALIGN_RIGHT, PLOT_ALIGN_MIDDLE, 0);
    }
    int cstep = nice_stride(rot ? (FS_TICK + 6) / cw : (clw + 8) / cw);
    for (int j = 0; j < cols; j += cstep) {
        int x = (CELL_X(j) + CELL_X(j + 1)) / 2;
        plot_fill_rect(c, (plot_rect){x, a.y + a.h + 1, 1, TICK_LEN}, FRAME);
        text_draw(c, x + 0.5, a.y + a.h + 1 + TICK_LEN + 3, label_at(o->col_labels, j, buf, sizeof buf),
                  FS_TICK, INK, PLOT_ALIGN_CENTER, PLOT_ALIGN_TOP, rot);
    }

    if (o->no_cbar) ax.cbar = (plot_rect){0, 0, 0, 0};
    else colorbar_draw(c, ax.cbar, o->cmap, lo, hi, &ct, o->cbar_label);

    // title, axis labels, and the outline's key above the grid's right end
    int ty = (oy > 0 ? oy : 0) + PAD;
    chrome_draw(c, a, ty, o->title, o->xlabel, a.y + a.h + 1 + TICK_LEN + 4 + col_h + 8,
                o->ylabel, (ox > 0 ? ox : 0) + PAD);
    if (key) {   // keys right to left: the outline's, then the NaN cells'
        int ky = a.y - 8 - (int)FS_TICK / 2, kx = a.x + a.w;
        if (outline && o->outline_label) {
            plot_rect tb = text_draw(c, kx, ky, o->outline_label, FS_TICK, INK,
                                     PLOT_ALIGN_RIGHT, PLOT_ALIGN_MIDDLE, 0);
            plot_rect sw = {tb.x - 8 - 18, ky - 5, 18, 11};
            plot_fill_rect(c, sw, olc);
            plot_fill_rect(c, (plot_rect){sw.x + 2, sw.y + 2, sw.w - 4, sw.h - 4}, WHITE);
            kx = sw.x - 16;
        }
        if (o->nan_label) {
            plot_rect tb = text_draw(c, kx, ky, o->nan_label, FS_TICK, INK,
                                     PLOT_ALIGN_RIGHT, PLOT_ALIGN_MIDDLE, 0);
            plot_fill_rect(c, (plot_rect){tb.x - 8 - 18, ky - 5, 18, 11}, PLOT_NAN_RGB);
        }
    }
#undef CELL_X
#undef CELL_Y
    if (ax_out) *ax_out = ax;
    return 0;
}

static int heatmap_file(const char *path, int all_formats, const float *m, int rows, int cols, const plot_heatmap_opts *o, char *err)
{
    plot_canvas c;
    int w = o && o->width > 0 ? o->width : 640, h = o && o->height > 0 ? o->height : 560;
    if (plot_canvas_init(&c, w, h, WHITE, err)) return -1;
    plot_canvas_set_title(&c, o ? o->title : NULL);
    int rc = plot_heatmap_draw(&c, m, rows, cols, o, NULL, err);
    if (!rc) rc = all_formats ? plot_canvas_write(&c, path, err) : plot_canvas_save_png(&c, path, err);
    plot_canvas_free(&c);
    return rc;
}

int plot_heatmap_png(const char *path, const float *m, int rows, int cols, const plot_heatmap_opts *o, char *err)
{
    return heatmap_file(path, 0, m, rows, cols, o, err);
}

int plot_heatmap_write(const char *path, const float *m, int rows, int cols, const plot_heatmap_opts *o, char *err)
{
    return heatmap_file(path, 1, m, rows, cols, o, err);
}

// ---------------------------------------------------------------- bar chart
int plot_bar_draw(plot_canvas *c, const float *v, int n, const plot_bar_opts *o,
                  plot_axes *ax_out, char *err)
{
    static const plot_bar_opts defaults = {0};
    if (!o) o = &defaults;
    if (!c || !c->rec) return err_set(err, "plot_bar_draw: the canvas is empty");
    if (!v || n < 1) return err_set(err, "plot_bar_draw: need n >= 1 values, got %s (n = %d)", v ? "data" : "NULL", n);
    if (font_load(err)) return -1;

    // range: from 0 to the data, with headroom on the side that has bars
    // (more when highlighted bars carry their label above them)
    int W = c->w, H = c->h, any_hl = 0;
    int top = PAD + (o->title ? (int)FS_TITLE + PAD : 0) + 4;
    double lo = 0, hi = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) {
            lo = fmin(lo, v[i]); hi = fmax(hi, v[i]);
            any_hl |= o->highlight && o->highlight[i];
        }
    if (hi == lo) hi = 1;
    double span = hi - lo, room = any_hl ? fmax(0.05, (FS_TICK + 8) / fmax(H - top - 60.0, 40)) : 0.05;
    if (hi > 0) hi += room * span;
    if (lo < 0) lo -= room * span;
    if (o->ymin < o->ymax) { lo = o->ymin; hi = o->ymax; }

    // layout: y as in the line chart; x labels horizontal, turned, or every k-th
    plot_fill_rect(c, (plot_rect){0, 0, W, H}, WHITE);
    int xl_h = o->xlabel ? 8 + (int)FS_LABEL : 0;
    tickset yt;
    ticks_linear(&yt, lo, hi, (H - top - 60) / 45);
    int left = PAD + (o->ylabel ? (int)FS_LABEL + 8 : 0) + ticks_widest(&yt, FS_TICK) + 4 + TICK_LEN;
    int right = PAD + 6, aw = W - left - right;
    double slot = (double)aw / n;
    int lw = labels_widest(o->labels, n), rot = 0, step = 1;
    if (lw + 6 > slot) {
        if (o->labels && slot >= FS_TICK + 2) rot = 1;
        else step = nice_stride((lw + 6) / slot);
    }
    int bottom = TICK_LEN + 4 + (rot ? lw : (int)FS_TICK) + xl_h + PAD, ah = H - top - bottom;
    if (aw < 40 || ah < 40)
        return err_set(err, "plot_bar_draw: a %dx%d canvas is too small for the labels", W, H);
    plot_axes ax = {.area = {left, top, aw, ah}, .x_lo = -0.5, .x_hi = n - 0.5, .y_lo = lo, .y_hi = hi};
    plot_rect a = ax.area;

    ygrid_draw(c, &ax, &yt);
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        double xl, xr, yt0, yb0;
        plot_axes_px(&ax, i - 0.4, fmax(v[i], 0), &xl, &yt0);
        plot_axes_px(&ax, i + 0.4, fmin(v[i], 0), &xr, &yb0);
        int x0 = (int)lround(xl), x1 = (int)lround(xr), y0 = (int)lround(yt0), y1 = (int)lround(yb0);
        if (x1 <= x0) x1 = x0 + 1;
        if (y0 < a.y) y0 = a.y;
        if (y1 > a.y + a.h) y1 = a.y + a.h;
        int hl = o->highlight && o->highlight[i];
        plot_fill_rect(c, (plot_rect){x0, y0, x1 - x0, y1 - y0}, hl ? plot_palette(3) : plot_palette(0));
        if (hl) {   // name the highlighted bar where it stands out
            char buf[16];
            int up = v[i] >= 0;
            text_draw(c, (xl + xr) / 2, up ? y0 - 3 : y1 + 3, label_at(o->labels, i, buf, sizeof buf),
                      FS_TICK, plot_palette(3), PLOT_ALIGN_CENTER, up ? PLOT_ALIGN_BOTTOM : PLOT_ALIGN_TOP, 0);
        }
    }
    if (lo < 0 && hi > 0) {   // the zero line when bars go both ways
        double py;
        plot_axes_px(&ax, 0, 0, NULL, &py);
        plot_fill_rect(c, (plot_rect){a.x, (int)lround(py), a.w, 1}, FRAME);
    }
    frame_draw(c, a, FRAME);
    yticks_draw(c, &ax, &yt);
    char buf[16];
    for (int i = 0; i < n; i += step) {
        double px;
        plot_axes_px(&ax, i, lo, &px, NULL);
        int x = (int)floor(px);
        plot_fill_rect(c, (plot_rect){x, a.y + a.h + 1, 1, TICK_LEN}, FRAME);
        text_draw(c, x + 0.5, a.y + a.h + 1 + TICK_LEN + 3, label_at(o->labels, i, buf, sizeof buf),
                  FS_TICK, INK, PLOT_ALIGN_CENTER, PLOT_ALIGN_TOP, rot);
    }
    chrome_draw(c, a, PAD, o->title, o->xlabel, H - PAD - (int)FS_LABEL, o->ylabel, PAD);
    if (ax_out) *ax_out = ax;
    return 0;
}

static int bar_file(const char *path, int all_formats, const float *v, int n, const plot_bar_opts *o, char *err)
{
    plot_canvas c;
    int w = o && o->width > 0 ? o->width : 720, h = o && o->height > 0 ? o->height : 400;
    if (plot_canvas_init(&c, w, h, WHITE, err)) return -1;
    plot_canvas_set_title(&c, o ? o->title : NULL);
    int rc = plot_bar_draw(&c, v, n, o, NULL, err);
    if (!rc) rc = all_formats ? plot_canvas_write(&c, path, err) : plot_canvas_save_png(&c, path, err);
    plot_canvas_free(&c);
    return rc;
}

int plot_bar_png(const char *path, const float *v, int n, const plot_bar_opts *o, char *err)
{
    return bar_file(path, 0, v, n, o, err);
}

int plot_bar_write(const char *path, const float *v, int n, const plot_bar_opts *o, char *err)
{
    return bar_file(path, 1, v, n, o, err);
}
