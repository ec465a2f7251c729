// attention_write.c: the attention probe's files: one problem's patterns,
// heatmaps and attention graph over every pass, and the staircase scores
// (probes/probe.h, probe_attention_write).
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include "probes/probe.h"
#include "probes/files.h"
#include "plot/plot.h"

// pass names: "L<l>" for a plain model, "pass <p> (block <l>)" for a looped one
typedef struct { int n, looped; char (*name)[32]; const char **ptr; } pass_names;

static void pass_names_free(pass_names *pn) { free(pn->name); free(pn->ptr); }

static int pass_names_init(const Model *m, pass_names *pn, char *err)
{
    pn->n = model_n_passes(m);
    pn->looped = pn->n != m->cfg.n_layer;
    pn->name = malloc(sizeof(*pn->name) * pn->n);
    pn->ptr = malloc(sizeof(*pn->ptr) * pn->n);
    if (!pn->name || !pn->ptr) { pass_names_free(pn); return err_set(err, "out of memory"); }
    for (int p = 0; p < pn->n; p++) {
        probe_pass_name(p, m->cfg.n_layer, pn->n, pn->name[p], sizeof pn->name[p]);
        pn->ptr[p] = pn->name[p];
    }
    return 0;
}

// head < 0: the graph uses the mean over heads; else that head of every pass
static int attention_one(Model *m, const TaskExample *e, const char *out, float threshold, int rollout, int head,
                         const pass_names *pn, FILE *log, char *err)
{
    int L = pn->n, NH = m->cfg.n_head, T = e->n_tokens - 1, r = 0;
    size_t TT = (size_t)T * T;
    probe_batches it = {0};
    if (probe_batches_init(&it, m, e, 1, err)) return -1;
    r = probe_batches_next(&it, err) < 0 ? -1 : 0;
    probe_batches_free(&it);
    if (r) return -1;
    float *att = malloc(sizeof(float) * L * NH * TT), *mean = malloc(sizeof(float) * L * TT);
    const char **names = malloc(sizeof(char *) * T);
    if (!att || !mean || !names) { free(att); free(mean); free(names); return err_set(err, "out of memory"); }
    for (int l = 0; l < L; l++) {
        const float *a = model_pass_attention(m, l);
        memcpy(att + (size_t)l * NH * TT, a, sizeof(float) * NH * TT);
        if (head < 0) probe_attn_head_mean(a, NH, T, mean + l * TT);
        else memcpy(mean + l * TT, a + head * TT, sizeof(float) * TT);
    }
    for (int t = 0; t < T; t++) names[t] = task_tok_name(e->tokens[t]);

    char path[4096], title[256];
    FILE *f = probe__open(out, "tokens.csv", path, sizeof path, err);
    if (!f) r = -1;
    else {
        fprintf(f, "pos,id,token\n");
        for (int t = 0; t < T; t++) fprintf(f, "%d,%d,\"%s\"\n", t, e->tokens[t], strcmp(names[t], "\"") ? names[t] : "\"\"");
        r = probe__close(f, path, err);
    }
    int64_t shp[4] = {L, NH, T, T};
    if (!r) r = probe__write_npy(out, "attention.npy", att, 4, shp, err);
    // the figures: "position token" on both axes, and the causally masked keys
    // (after the query) as NaN, so that they show grey rather than as attention 0
    char (*plab)[32] = malloc(sizeof(*plab) * T);
    const char **pnames = malloc(sizeof(char *) * T);
    float *shown = malloc(sizeof(float) * L * NH * TT);
    if (!r && (!plab || !pnames || !shown)) r = err_set(err, "out of memory");
    for (int t = 0; !r && t < T; t++) {
        snprintf(plab[t], sizeof plab[t], "%d %s", t, names[t]);
        pnames[t] = plab[t];
    }
    for (size_t lh = 0; !r && lh < (size_t)L * NH; lh++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++)
                shown[lh * TT + (size_t)i * T + j] = j > i ? NAN : att[lh * TT + (size_t)i * T + j];
    for (int l = 0; l < L && !r; l++)
        for (int h = 0; h < NH && !r; h++) {
            char name[64];
            if (pn->looped) {
                snprintf(title, sizeof title, "%.80s: %s head %d", e->problem, pn->name[l], h);
                snprintf(name, sizeof name, "attn_P%d_L%d_H%d.png", l, model_pass_block(m, l), h);
            } else {
                snprintf(title, sizeof title, "%.80s: layer %d head %d", e->problem, l, h);
                snprintf(name, sizeof name, "attn_L%d_H%d.png", l, h);
            }
            // room to label every token, up to 1400 px; past that every k-th label
            int side = 190 + 19 * T < 600 ? 600 : 190 + 19 * T > 1400 ? 1400 : 190 + 19 * T;
            plot_heatmap_opts o = { .width = side + 80, .height = side, .title = title,
                                    .xlabel = "key (position token attended to)", .ylabel = "query (position token attending)",
                                    .cbar_label = "attention", .cmap = PLOT_CMAP_VIRIDIS, .vmin = 0, .vmax = 1,
                                    .row_labels = pnames, .col_labels = pnames, .nan_label = "masked (causal)" };
            r = plot_heatmap_write(probe__path(out, name), shown + ((size_t)l * NH + h) * TT, T, T, &o, err);
        }
    snprintf(title, sizeof title, "Attention of every head for %.80s (rows: query, columns: key)", e->problem);
    if (!r) r = probe_attn_grid_png(shown, L, NH, T, pnames, pn->looped ? pn->ptr : NULL, title, probe__path(out, "attention_heads.png"), err);
    free(plab); free(pnames); free(shown);

    for (int mode = 0; mode <= rollout && !r; mode++) {
        probe_graph g;
        const char *stem = mode ? "attention_rollout" : "attention_graph";
        char which[32];
        if (head < 0) snprintf(which, sizeof which, "mean over heads");
        else snprintf(which, sizeof which, "head %d of each %s", head, pn->looped ? "pass" : "layer");
        snprintf(title, sizeof title, "%s %.80s (%s, >= %.2f)", mode ? "Attention rollout for" : "Attention graph for",
                 e->problem, which, (double)threshold);
        if ((r = probe_graph_build(mean, L, T, threshold, mode, &g, err))) break;
        if (pn->looped) g.n_block = m->cfg.n_layer;
        char name[64];
        snprintf(name, sizeof name, "%s.dot", stem);
        f = probe__open(out, name, path, sizeof path, err);
        if (!f) r = -1;
        else { probe_graph_write_dot(&g, names, title, f); r = probe__close(f, path, err); }
        char *json = r ? NULL : probe_graph_json(&g, names, title);
        if (!r && !json) r = err_set(err, "out of memory for the JSON");
        if (!r) {
            snprintf(name, sizeof name, "%s.json", stem);
            f = probe__open(out, name, path, sizeof path, err);
            if (!f) r = -1;
            else { fputs(json, f); fputc('\n', f); r = probe__close(f, path, err); }
        }
        free(json);
        snprintf(name, sizeof name, "%s.png", stem);
        if (!r) r = probe_graph_png(&g, names, title, probe__path(out, name), err);
        if (!r) probe__say(log, "%s: %d edges >= %.2f\n", stem, g.n_edges, (double)threshold);
        probe_graph_free(&g);
    }
    free(att); free(mean); free(names);
    return r;
}

static int attention_staircase(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, const char *out,
                               const pass_names *pn, FILE *log, char *err)
{
    int L = pn->n, NH = m->cfg.n_head, r;
    probe_stair s;
    if (probe_stair_init(&s, L, NH, err)) return -1;
    float *same = malloc(sizeof(float) * L * NH), *prev = malloc(sizeof(float) * L * NH), us, up;
    r = !same || !prev ? err_set(err, "out of memory") : probe_staircase(m, tc, ex, n, &s, err);
    if (!r) probe_stair_means(&s, same, prev, &us, &up);
    char path[4096];
    FILE *f = r ? NULL : probe__open(out, "staircase.csv", path, sizeof path, err);
    if (!r && !f) r = -1;
    if (f) {
        // a looped model: one row per pass, with the block it runs
        fprintf(f, "%shead,same_place,prev_place,uniform_same,uniform_prev,same_over_uniform\n", pn->looped ? "pass,block," : "layer,");
        for (int l = 0; l < L; l++)
            for (int h = 0; h < NH; h++) {
                if (pn->looped) fprintf(f, "%d,", l);
                fprintf(f, "%d,%d,%.5f,%.5f,%.5f,%.5f,%.3f\n", model_pass_block(m, l), h, (double)same[l * NH + h],
                        (double)prev[l * NH + h], (double)us, (double)up, (double)(same[l * NH + h] / us));
            }
        r = probe__close(f, path, err);
    }
    int64_t shp[2] = {L, NH};
    if (!r) r = probe__write_npy(out, "staircase_same.npy", same, 2, shp, err);
    if (!r) r = probe__write_npy(out, "staircase_prev.npy", prev, 2, shp, err);
    char rl[64][32], cl[64][16], title[256];
    const char *rows[64], *cols[64];
    for (int l = 0; l < L && l < 64; l++) {
        if (pn->looped) snprintf(rl[l], 32, "%s", pn->name[l]);
        else snprintf(rl[l], 32, "layer %d", l);
        rows[l] = rl[l];
    }
    for (int h = 0; h < NH && h < 64; h++) { snprintf(cl[h], 16, "head %d", h); cols[h] = cl[h]; }
    for (int which = 0; which < 2 && !r && L <= 64 && NH <= 64; which++) {
        char xlabel[96];
        snprintf(title, sizeof title, "Staircase: answer digit -> operand digits of %s (uniform %.3f)",
                 which ? "the place below" : "its place", (double)(which ? up : us));
        snprintf(xlabel, sizeof xlabel, "head (mean over %ld answer digits of %d problems)", which ? s.n_prev : s.n_same, n);
        plot_heatmap_opts o = { .width = 300 + 110 * NH < 760 ? 760 : 300 + 110 * NH, .height = 200 + 90 * L,
                                .title = title, .xlabel = xlabel, .ylabel = pn->looped ? "pass" : "layer", .cbar_label = "attention mass",
                                .cmap = PLOT_CMAP_VIRIDIS, .vmin = 0, .vmax = 1, .row_labels = rows, .col_labels = cols,
                                .annotate = 1, .annot_fmt = "%.2f", .stretch = 1 };
        r = plot_heatmap_write(probe__path(out, which ? "staircase_prev.png" : "staircase.png"), which ? prev : same, L, NH, &o, err);
    }
    if (!r) {
        probe__say(log, "staircase over %d problems (uniform attention would give %.3f same place, %.3f place below):\n", n,
               (double)us, (double)up);
        for (int l = 0; l < L; l++) {
            if (pn->looped) probe__say(log, "  %s  same:", pn->name[l]);
            else probe__say(log, "  layer %d  same:", l);
            for (int h = 0; h < NH; h++) probe__say(log, " %.2f", (double)same[l * NH + h]);
            probe__say(log, "   below:");
            for (int h = 0; h < NH; h++) probe__say(log, " %.2f", (double)prev[l * NH + h]);
            probe__say(log, "\n");
        }
    }
    free(same); free(prev);
    probe_stair_free(&s);
    return r;
}


int probe_attention_write(Model *m, const TaskConfig *tc, const TaskExample *one, const probe_attention_opts *o,
                          const char *dir, FILE *log, char *err)
{
    if (o->head >= m->cfg.n_head) return err_set(err, "head %d: the model has heads 0..%d", o->head, m->cfg.n_head - 1);
    pass_names pn;
    if (pass_names_init(m, &pn, err)) return -1;
    int r = attention_one(m, one, dir, o->threshold, o->rollout, o->head, &pn, log, err);
    TaskExample *ex = NULL;
    probe_places pl;
    if (!r && (r = probe_make_examples(tc, o->n, o->seed, &ex, err)) == 0) {
        if (probe_find_places(tc, &ex[0], &pl, err)) probe__say(log, "staircase skipped: %s\n", err);
        else r = attention_staircase(m, tc, ex, o->n, dir, &pn, log, err);
    }
    free(ex);
    pass_names_free(&pn);
    return r;
}
