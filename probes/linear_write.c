// linear_write.c: the linear probes' files: logistic-regression probes for the
// answer digit and the carry into each place, read from the residual stream at
// the embeddings and after every pass (probes/probe.h, probe_linear_write).
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "probes/probe.h"
#include "probes/files.h"
#include "plot/plot.h"

enum { TARGET_DIGIT, TARGET_CARRY, N_TARGETS };
static const char *const TARGET_NAMES[N_TARGETS] = {"answer digit", "carry into the place"};
static const char *const TARGET_KEYS[N_TARGETS] = {"digit", "carry"};

// features of every (layer point, place, example): the residual stream at the
// position that predicts answer place p; layer point 0 is the embeddings, layer
// point lp >= 1 the residual after pass lp-1
typedef struct {
    int n, P, LP, C;
    char (*names)[40];  // (LP) "embed", "after L0", ... or "after pass 2 (block 0)"
    float *feat;        // (LP, P, n, C)
    int *label;         // (N_TARGETS, P, n); -1 where the example has no such place or target
} linear_data;

static int linear_collect(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, linear_data *D, char *err)
{
    int NP = model_n_passes(m), C = m->cfg.n_embd, P = 0, r = 0;
    probe_places *pl = malloc(sizeof(probe_places) * n);
    if (!pl) return err_set(err, "out of memory");
    for (int i = 0; i < n && !r; i++) {
        r = probe_find_places(tc, &ex[i], &pl[i], err);
        P = !r && pl[i].n_ans > P ? pl[i].n_ans : P;
    }
    D->n = n; D->P = P; D->LP = NP + 1; D->C = C;
    D->feat = r ? NULL : calloc((size_t)D->LP * P * n * C, sizeof(float));
    D->label = r ? NULL : malloc(sizeof(int) * N_TARGETS * P * n);
    D->names = r ? NULL : malloc(sizeof(*D->names) * D->LP);
    if (!r && (!D->feat || !D->label || !D->names)) r = err_set(err, "out of memory for %d x %d features", n, C);
    for (int lp = 0; !r && lp < D->LP; lp++) {
        char pn[32];
        probe_pass_name(lp - 1, m->cfg.n_layer, NP, pn, sizeof pn);
        if (lp) snprintf(D->names[lp], sizeof D->names[lp], "after %s", pn);
        else snprintf(D->names[lp], sizeof D->names[lp], "embed");
    }
    for (int i = 0; !r && i < N_TARGETS * P * n; i++) D->label[i] = -1;
    probe_batches it = {0};
    if (!r) r = probe_batches_init(&it, m, ex, n, err);
    while (!r && (r = probe_batches_next(&it, err)) > 0) {
        r = 0;
        for (int b = 0; b < it.nb; b++) {
            int i = it.first + b;
            for (int p = 0; p < pl[i].n_ans; p++) {
                size_t row = (size_t)b * it.T + pl[i].pos_ans[p] - 1;
                for (int lp = 0; lp <= NP; lp++)
                    memcpy(D->feat + (((size_t)lp * P + p) * n + i) * C, model_pass_residual(m, lp - 1) + row * C,
                           sizeof(float) * C);
                D->label[((size_t)TARGET_DIGIT * P + p) * n + i] = task_tok_digit(ex[i].tokens[pl[i].pos_ans[p]]);
                // the carry into place 0 is always 0: nothing to probe
                D->label[((size_t)TARGET_CARRY * P + p) * n + i] = p ? probe_carry_into(tc->task, ex[i].a, ex[i].b, p) : -1;
            }
        }
    }
    probe_batches_free(&it);
    free(pl);
    return r;
}

static void linear_data_free(linear_data *D)
{
    free(D->feat); free(D->label); free(D->names);
    D->feat = NULL; D->label = NULL; D->names = NULL;
}

static int linear_plots(const linear_data *D, const float *acc, const float *maj, const char *out, char *err)
{
    int P = D->P, LP = D->LP, r = 0;
    char pn[PROBE_MAX_PLACES][24], title[256];
    const char *lcols[65], *prows[PROBE_MAX_PLACES];
    for (int lp = 0; lp < LP && lp < 64; lp++) lcols[lp] = D->names[lp];
    for (int p = 0; p < P; p++) { snprintf(pn[p], 24, p ? "place %d" : "place 0 (units)", p); prows[p] = pn[p]; }
    // one heatmap per target: place x layer point, and a last column, outlined, with
    // each place's majority-class baseline (what a probe that learnt nothing scores)
    lcols[LP < 64 ? LP : 64] = "majority class";
    for (int tg = 0; tg < N_TARGETS && !r && LP <= 64; tg++) {
        char name[64];
        int NC = LP + 1;
        snprintf(title, sizeof title, "Linear probe for the %s: held-out accuracy (%%)", TARGET_NAMES[tg]);
        snprintf(name, sizeof name, "linear_%s.png", TARGET_KEYS[tg]);
        float *m = malloc(sizeof(float) * P * NC);
        if (!m) return err_set(err, "out of memory");
        for (int p = 0; p < P; p++) {
            for (int lp = 0; lp < LP; lp++) m[p * NC + lp] = 100.0f * acc[((size_t)tg * P + p) * LP + lp];
            m[p * NC + LP] = 100.0f * maj[((size_t)tg * P + p) * LP];
        }
        plot_heatmap_opts o = { .width = 260 + 150 * NC, .height = 200 + 48 * P, .title = title,
                                .xlabel = "residual stream read", .ylabel = "answer place", .cbar_label = "accuracy (%)",
                                .cmap = PLOT_CMAP_VIRIDIS, .vmin = 0, .vmax = 100, .row_labels = prows, .col_labels = lcols,
                                .annotate = 1, .annot_fmt = "%.0f", .stretch = 1,
                                .outline = {0, LP, P, 1}, .outline_label = "baseline: majority class of the place",
                                .nan_label = "too few examples to probe" };
        r = plot_heatmap_write(probe__path(out, name), m, P, NC, &o, err);
        free(m);
    }
    // the line plot: mean over places per layer point, and the majority-class baselines
    float ys[2 * N_TARGETS][64], xs[64];
    plot_series ser[2 * N_TARGETS];
    char sname[2 * N_TARGETS][64];
    plot_rgb cols[2 * N_TARGETS];
    for (int tg = 0; tg < N_TARGETS; tg++)
        for (int lp = 0; lp < LP && lp < 64; lp++) {
            double s = 0, sm = 0;
            int k = 0;
            for (int p = 0; p < P; p++) {
                float v = acc[((size_t)tg * P + p) * LP + lp];
                if (isnan(v)) continue;
                s += v; sm += maj[((size_t)tg * P + p) * LP + lp]; k++;
            }
            xs[lp] = (float)lp;
            ys[tg][lp] = k ? (float)(100.0 * s / k) : NAN;
            ys[N_TARGETS + tg][lp] = k ? (float)(100.0 * sm / k) : NAN;
        }
    for (int tg = 0; tg < N_TARGETS; tg++) {
        plot_rgb c = plot_palette(tg), pale = {(uint8_t)(c.r + (255 - c.r) / 3), (uint8_t)(c.g + (255 - c.g) / 3),
                                               (uint8_t)(c.b + (255 - c.b) / 3)};
        cols[tg] = c; cols[N_TARGETS + tg] = pale;
        snprintf(sname[tg], 64, "%s", TARGET_NAMES[tg]);
        snprintf(sname[N_TARGETS + tg], 64, "%s: majority class", TARGET_KEYS[tg]);
    }
    for (int i = 0; i < 2 * N_TARGETS; i++)
        ser[i] = (plot_series){ .name = sname[i], .x = xs, .y = ys[i], .n = LP < 64 ? LP : 64, .color = &cols[i],
                                .markers = 1, .dashed = i >= N_TARGETS };   // baselines dashed, one point per layer
    plot_line_opts lo = { .width = 760, .height = 440, .title = "Linear probes on the residual stream (held-out accuracy, mean over places)",
                          .xlabel = "residual stream read", .ylabel = "accuracy (%)",
                          .xmin = -0.3f, .xmax = LP - 0.7f, .ymin = 0, .ymax = 100, .legend = PLOT_LEGEND_LOWER_RIGHT,
                          .xtick_labels = lcols, .n_xtick_labels = LP < 64 ? LP : 64 };
    if (!r) r = plot_line_write(probe__path(out, "linear_probes.png"), ser, 2 * N_TARGETS, &lo, err);
    return r;
}


// accuracies (N_TARGETS, P, LP): held-out (acc), training (tr), majority class
// (maj); nrows: the examples that have the target at that place
typedef struct { float *acc, *tr, *maj; int *nrows; } linear_scores;

static int linear_fit_all(const linear_data *D, float train_frac, const probe_linear_opts *lo, linear_scores *S,
                          char *err)
{
    int P = D->P, LP = D->LP, C = D->C, n = D->n, r = 0;
    float *X = malloc(sizeof(float) * n * C);
    int *y = malloc(sizeof(int) * n);
    if (!X || !y) r = err_set(err, "out of memory");
    for (int tg = 0; tg < N_TARGETS && !r; tg++)
        for (int p = 0; p < P && !r; p++) {
            const int *lab = D->label + ((size_t)tg * P + p) * n;
            int rows = 0, K = tg == TARGET_DIGIT ? 10 : 2, count[10] = {0};
            for (int i = 0; i < n; i++) if (lab[i] >= 0) y[rows++] = lab[i];
            int n_train = (int)(train_frac * rows);
            for (int i = 0; i < n_train; i++) count[y[i]]++;
            int top = 0;
            for (int k = 1; k < K; k++) top = count[k] > count[top] ? k : top;
            int maj_hits = 0;
            for (int i = n_train; i < rows; i++) maj_hits += y[i] == top;
            for (int lp = 0; lp < LP && !r; lp++) {
                size_t at = ((size_t)tg * P + p) * LP + lp;
                S->acc[at] = S->tr[at] = S->maj[at] = NAN;
                S->nrows[at] = rows;
                if (n_train < 10 || rows - n_train < 5) continue;   // too few examples have this place
                int k = 0;
                for (int i = 0; i < n; i++)
                    if (lab[i] >= 0) memcpy(X + (size_t)k++ * C, D->feat + (((size_t)lp * P + p) * n + i) * C, sizeof(float) * C);
                r = probe_linear_split(X, y, rows, n_train, C, K, lo, &S->tr[at], &S->acc[at], err);
                S->maj[at] = (float)maj_hits / (rows - n_train);
            }
        }
    free(X); free(y);
    return r;
}

static int linear_write_csv(const linear_data *D, const linear_scores *S, float train_frac, const char *out, char *err)
{
    int P = D->P, LP = D->LP;
    char path[4096];
    FILE *f = probe__open(out, "linear_probes.csv", path, sizeof path, err);
    if (!f) return -1;
    fprintf(f, "target,place,layer,layer_index,n_train,n_test,train_accuracy,test_accuracy,majority_accuracy\n");
    for (int tg = 0; tg < N_TARGETS; tg++)
        for (int p = 0; p < P; p++)
            for (int lp = 0; lp < LP; lp++) {
                size_t at = ((size_t)tg * P + p) * LP + lp;
                int ntr = (int)(train_frac * S->nrows[at]);
                if (isnan(S->acc[at])) continue;
                fprintf(f, "%s,%d,%s,%d,%d,%d,%.4f,%.4f,%.4f\n", TARGET_KEYS[tg], p, D->names[lp], lp, ntr,
                        S->nrows[at] - ntr, (double)S->tr[at], (double)S->acc[at], (double)S->maj[at]);
            }
    return probe__close(f, path, err);
}

int probe_linear_write(Model *m, const TaskConfig *tc, const probe_linear_write_opts *o, const char *dir, FILE *log,
                       char *err)
{
    TaskExample *ex = NULL;
    linear_data D = {0};
    linear_scores S = {0};
    int r = probe_make_examples(tc, o->n, o->seed, &ex, err);
    if (!r) r = linear_collect(m, tc, ex, o->n, &D, err);
    size_t nacc = (size_t)N_TARGETS * D.P * D.LP;
    if (!r) {
        S.acc = malloc(sizeof(float) * nacc); S.tr = malloc(sizeof(float) * nacc); S.maj = malloc(sizeof(float) * nacc);
        S.nrows = calloc(nacc, sizeof(int));
        if (!S.acc || !S.tr || !S.maj || !S.nrows) r = err_set(err, "out of memory");
    }
    double t0 = time_s();
    if (!r) r = linear_fit_all(&D, o->train_frac, &o->fit, &S, err);
    if (!r) r = linear_write_csv(&D, &S, o->train_frac, dir, err);
    int64_t shp[3] = {N_TARGETS, D.P, D.LP};
    if (!r) r = probe__write_npy(dir, "linear_test_accuracy.npy", S.acc, 3, shp, err);
    if (!r) r = linear_plots(&D, S.acc, S.maj, dir, err);
    if (!r) {
        probe__say(log, "linear probes on %d problems (%.0f%% to fit), %.1f s; held-out accuracy, place x layer read "
                   "(embed, %s, ...):\n", D.n, 100.0 * o->train_frac, time_s() - t0, D.names[1]);
        for (int tg = 0; tg < N_TARGETS; tg++)
            for (int p = 0; p < D.P; p++) {
                size_t at0 = ((size_t)tg * D.P + p) * D.LP;
                if (isnan(S.acc[at0])) continue;
                probe__say(log, "  %-6s place %d:", TARGET_KEYS[tg], p);
                for (int lp = 0; lp < D.LP; lp++) probe__say(log, " %5.1f%%", 100.0 * S.acc[at0 + lp]);
                probe__say(log, "   (majority %4.1f%%)\n", 100.0 * S.maj[at0]);
            }
    }
    free(S.acc); free(S.tr); free(S.maj); free(S.nrows);
    free(ex);
    linear_data_free(&D);
    return r;
}
