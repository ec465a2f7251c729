// patch_write.c: the files of activation patching and head ablation
// (probes/patch.h): CSV with every cell's sums, .npy grids, diverging heatmaps.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "probes/patch.h"
#include "probes/probe.h"
#include "probes/files.h"
#include "plot/plot.h"

static const char *const GRID_FILES[] = {"patch_resid", "patch_mlp", "patch_heads"};
static const char *const GRID_TITLES[] = {"residual stream after the pass", "MLP output", "head output (every position)"};
_Static_assert(sizeof(GRID_FILES) / sizeof(GRID_FILES[0]) == PROBE_PATCH_N_GRIDS, "one file per grid");

// row names: "embed", then the passes (resid); the passes (mlp, heads)
static void row_name(const probe_patch_sums *s, int g, int row, int n_layer, char *buf, size_t cap)
{
    if (g == PROBE_PATCH_RESID && row == 0) { snprintf(buf, cap, "embed"); return; }
    probe_pass_name(g == PROBE_PATCH_RESID ? row - 1 : row, n_layer, s->n_passes, buf, cap);
}

// a diverging map centred at `center`, symmetric, at least +-min_half wide
static void diverging_range(const float *v, size_t n, float center, float min_half, float *lo, float *hi)
{
    float half = min_half;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && fabsf(v[i] - center) > half) half = fabsf(v[i] - center);
    *lo = center - half;
    *hi = center + half;
}

static int write_grid(const Model *m, const probe_patch_sums *s, int g, const char *const *labels, const char *title,
                      const char *dir, char *err)
{
    int rows = s->rows[g], cols = g == PROBE_PATCH_HEAD ? s->n_heads : s->T_max_seen;
    float *share = malloc(sizeof(float) * rows * cols), *exact = malloc(sizeof(float) * rows * cols);
    char (*rn)[40] = malloc(sizeof(*rn) * rows), (*cn)[64] = malloc(sizeof(*cn) * cols);
    const char **rp = malloc(sizeof(char *) * rows), **cp = malloc(sizeof(char *) * cols);
    int r = 0;
    if (!share || !exact || !rn || !cn || !rp || !cp) { r = err_set(err, "out of memory"); goto done; }
    for (int i = 0; i < rows; i++) { row_name(s, g, i, m->cfg.n_layer, rn[i], sizeof rn[i]); rp[i] = rn[i]; }
    for (int j = 0; j < cols; j++) {
        if (g == PROBE_PATCH_HEAD) snprintf(cn[j], sizeof cn[j], "H%d", j);
        else if (labels) snprintf(cn[j], sizeof cn[j], "%d %.40s", j, labels[j]);
        else snprintf(cn[j], sizeof cn[j], "%d", j);
        cp[j] = cn[j];
    }
    char name[64], path[4096];
    snprintf(name, sizeof name, "%s.csv", GRID_FILES[g]);
    FILE *f = probe__open(dir, name, path, sizeof path, err);
    if (!f) { r = -1; goto done; }
    fprintf(f, g == PROBE_PATCH_HEAD ? "pass,block,head,pairs,ld_patched,ld_clean,ld_corrupt,restored,exact_match\n"
                                     : "pass,block,position,token,pairs,ld_patched,ld_clean,ld_corrupt,restored,exact_match\n");
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            size_t k = (size_t)i * s->cols[g] + j;
            long n = s->n[g][k];
            share[i * cols + j] = (float)probe_patch_restored(s, g, i, j);
            exact[i * cols + j] = (float)probe_patch_exact(s, g, i, j);
            int pass = g == PROBE_PATCH_RESID ? i - 1 : i;
            int block = pass < 0 ? -1 : pass % m->cfg.n_layer;
            if (g == PROBE_PATCH_HEAD) fprintf(f, "%d,%d,%d", pass, block, j);
            else {
                const char *tok = labels ? labels[j] : "";
                fprintf(f, "%d,%d,%d,\"%s\"", pass, block, j, strcmp(tok, "\"") ? tok : "\"\"");
            }
            double d = n ? (double)n : 1.0;
            fprintf(f, ",%ld,%.6g,%.6g,%.6g,%.6g,%.6g\n", n, s->ld[g][k] / d, s->ld_clean[g][k] / d, s->ld_corrupt[g][k] / d,
                    share[i * cols + j], exact[i * cols + j]);
        }
    if ((r = probe__close(f, path, err))) goto done;
    int64_t shp[2] = {rows, cols};
    snprintf(name, sizeof name, "%s.npy", GRID_FILES[g]);
    if ((r = probe__write_npy(dir, name, share, 2, shp, err))) goto done;
    snprintf(name, sizeof name, "%s_exact.npy", GRID_FILES[g]);
    if ((r = probe__write_npy(dir, name, exact, 2, shp, err))) goto done;
    char ttl[512];
    snprintf(ttl, sizeof ttl, "%s: patching the %s", title, GRID_TITLES[g]);
    plot_heatmap_opts o = {
        .width = g == PROBE_PATCH_HEAD ? 520 : 120 + 44 * cols, .height = 180 + 40 * rows,
        .title = ttl, .xlabel = g == PROBE_PATCH_HEAD ? "head" : "position", .ylabel = "pass",
        .cbar_label = "restored (0 corrupted, 1 clean)", .cmap = PLOT_CMAP_DIVERGING,
        .center = 0.0f, .row_labels = rp, .col_labels = cp, .annotate = 1, .annot_fmt = "%.2f", .stretch = 1,
        .nan_label = "no pair / no gap",
    };
    if (o.width < 520) o.width = 520;
    diverging_range(share, (size_t)rows * cols, 0.0f, 1.0f, &o.vmin, &o.vmax);
    snprintf(name, sizeof name, "%s.png", GRID_FILES[g]);
    r = plot_heatmap_write(probe__path(dir, name), share, rows, cols, &o, err);
done:
    free(share); free(exact); free(rn); free(cn); free(rp); free(cp);
    return r;
}

int probe_patch_write(const Model *m, const probe_patch_sums *s, const char *const *labels, const char *title,
                      const char *dir, char *err)
{
    for (int g = 0; g < PROBE_PATCH_N_GRIDS; g++)
        if (write_grid(m, s, g, labels, title, dir, err)) return -1;
    return 0;
}

int probe_ablate_write(const Model *m, double base_acc, const double *acc, const char *mode, const char *dir, char *err)
{
    int P = model_n_passes(m), NH = m->cfg.n_head;
    float *a = malloc(sizeof(float) * P * NH);
    char (*rn)[40] = malloc(sizeof(*rn) * P), (*cn)[16] = malloc(sizeof(*cn) * NH);
    const char **rp = malloc(sizeof(char *) * P), **cp = malloc(sizeof(char *) * NH);
    int r = 0;
    if (!a || !rn || !cn || !rp || !cp) { r = err_set(err, "out of memory"); goto done; }
    char path[4096];
    FILE *f = probe__open(dir, "ablate.csv", path, sizeof path, err);
    if (!f) { r = -1; goto done; }
    fprintf(f, "pass,block,head,mode,accuracy,unablated,drop\n");
    for (int p = 0; p < P; p++)
        for (int h = 0; h < NH; h++) {
            a[p * NH + h] = (float)acc[p * NH + h];
            fprintf(f, "%d,%d,%d,%s,%.6g,%.6g,%.6g\n", p, p % m->cfg.n_layer, h, mode, acc[p * NH + h], base_acc,
                    base_acc - acc[p * NH + h]);
        }
    if ((r = probe__close(f, path, err))) goto done;
    int64_t shp[2] = {P, NH};
    if ((r = probe__write_npy(dir, "ablate.npy", a, 2, shp, err))) goto done;
    for (int p = 0; p < P; p++) { probe_pass_name(p, m->cfg.n_layer, P, rn[p], sizeof rn[p]); rp[p] = rn[p]; }
    for (int h = 0; h < NH; h++) { snprintf(cn[h], sizeof cn[h], "H%d", h); cp[h] = cn[h]; }
    char ttl[256], cb[128];
    snprintf(ttl, sizeof ttl, "Accuracy with one head %s-ablated (unablated %.3f)", mode, base_acc);
    snprintf(cb, sizeof cb, "accuracy (white: unablated %.3f)", base_acc);
    plot_heatmap_opts o = {
        .width = 560, .height = 200 + 40 * P, .title = ttl, .xlabel = "head", .ylabel = "pass", .cbar_label = cb,
        .cmap = PLOT_CMAP_DIVERGING, .center = (float)base_acc, .row_labels = rp, .col_labels = cp,
        .annotate = 1, .annot_fmt = "%.3f", .stretch = 1,
    };
    diverging_range(a, (size_t)P * NH, (float)base_acc, 0.05f, &o.vmin, &o.vmax);
    r = plot_heatmap_write(probe__path(dir, "ablate.png"), a, P, NH, &o, err);
done:
    free(a); free(rn); free(cn); free(rp); free(cp);
    return r;
}
