// probe_cmds.c: `arithlab probe fourier|attention|linear`: load a trained
// checkpoint, run one probe of probes/probe.h on problems of the run's own task,
// and write its numbers (CSV, .npy) and pictures (PNG) into --out.
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <omp.h>
#include "cli/args.h"
#include "model/checkpoint.h"
#include "core/npy.h"
#include "probes/probe.h"
#include "plot/plot.h"

// ---------------------------------------------------------------- shared

// what every probe subcommand takes
typedef struct {
    const char *ckpt, *run, *out;
    int n, seed, threads;
    char path[4096], outbuf[4096];
} probe_args;

// checkpoint and output directory from --checkpoint / --run / --out; 2 on a usage error
static int resolve_paths(const char *cmd, probe_args *a)
{
    char err[ERR_MAX];
    if (a->run && !a->ckpt) { snprintf(a->path, sizeof(a->path), "%s/ckpt.safetensors", a->run); a->ckpt = a->path; }
    if (!a->ckpt) {
        fprintf(stderr, "arithlab probe %s: --checkpoint FILE (or --run DIR) is required\n", cmd);
        return 2;
    }
    if (!a->out && a->run) { snprintf(a->outbuf, sizeof(a->outbuf), "%s/probe_%s", a->run, cmd); a->out = a->outbuf; }
    if (!a->out) { fprintf(stderr, "arithlab probe %s: --out DIR is required\n", cmd); return 2; }
    struct stat st;
    if (stat(a->ckpt, &st)) {
        fprintf(stderr, "arithlab probe %s: checkpoint %s: %s (give the .safetensors file written by arithlab train)\n",
                cmd, a->ckpt, strerror(errno));
        return 2;
    }
    if (cli_mkdir_p(a->out, err)) { fprintf(stderr, "arithlab probe %s: --out: %s\n", cmd, err); return 2; }
    return 0;
}

// run config and model (B_max sequences of up to block_size tokens); 2 on failure
static int load_model(const char *cmd, const probe_args *a, RunConfig *rc, Model *m, int B)
{
    char err[ERR_MAX];
    ModelConfig cfg;
    if (run_config_from_checkpoint(rc, a->ckpt, err) || ckpt_read_config(a->ckpt, &cfg, err) ||
        ckpt_build_model(m, NULL, 0, a->ckpt, B, cfg.block_size, err)) {
        fprintf(stderr, "arithlab probe %s: %s\n", cmd, err);
        return 2;
    }
    model_set_threads(m, a->threads > 0 ? a->threads : omp_get_max_threads());
    return 0;
}

// n problems of the run's task, distinct when the task has that many; -1 + err
static int make_examples(const TaskConfig *tc, int n, int seed, TaskExample **out, char *err)
{
    TaskExample *ex = malloc(sizeof(TaskExample) * n);
    TaskSet seen;
    if (!ex || task_set_init(&seen, (size_t)n * 2, err)) { free(ex); return err_set(err, "out of memory for %d problems", n); }
    uint64_t rng = rng_seed((uint64_t)seed);
    int k = 0;
    for (long tries = 0; k < n && tries < 50L * n; tries++) {
        if (task_generate(tc, &rng, TASK_SPLIT_ANY, &ex[k], err)) { free(ex); task_set_free(&seen); return -1; }
        int fresh = task_set_add(&seen, task_problem_key(ex[k].problem), err);
        if (fresh < 0) { free(ex); task_set_free(&seen); return -1; }
        if (fresh || tries >= 20L * n) k++;   // small tasks run out of distinct problems: allow repeats
    }
    task_set_free(&seen);
    *out = ex;
    return 0;
}

// dir/name opened for writing; path (cap bytes) gets the name for messages
static FILE *open_out(const char *dir, const char *name, char *path, size_t cap, char *err)
{
    snprintf(path, cap, "%.3900s/%.150s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) err_set(err, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path, char *err)
{
    int bad = ferror(f);
    if (fclose(f) || bad) return err_set(err, "%s: write failed", path);
    return 0;
}

static int write_npy(const char *dir, const char *name, const float *x, int ndim, const int64_t *shape, char *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%.3900s/%.150s", dir, name);
    return npy_write_f32(path, x, ndim, shape, err);
}

static const char *out_path(const char *dir, const char *name)
{
    static char path[4096];   // one at a time: used at once by the caller
    snprintf(path, sizeof(path), "%.3900s/%.150s", dir, name);
    return path;
}

// ---------------------------------------------------------------- fourier

// (a) the digit embeddings over the digit axis. Every task writes numbers in
// digit tokens (modadd too), so the number axis is the ten digits 0..9; one
// token per number (FoNE) would pass its (N, C) rows to the same functions.
static int fourier_embed(const Model *m, const char *out, float key_ratio, char *err)
{
    enum { N = 10, NF = N / 2 + 1 };
    int C = m->cfg.n_embd;
    float *x = malloc(sizeof(float) * N * C), *coef = malloc(sizeof(float) * N * C);
    if (!x || !coef) { free(x); free(coef); return err_set(err, "out of memory"); }
    for (int n = 0; n < N; n++) memcpy(x + (size_t)n * C, m->wte + (size_t)(TASK_DIGIT0 + n) * C, sizeof(float) * C);
    if (probe_fourier_project(x, N, C, coef)) { free(x); free(coef); return err_set(err, "out of memory"); }
    float norm[NF], share[NF];
    int keys[NF], is_key[NF] = {0};
    probe_fourier_spectrum(coef, N, C, norm);
    int nk = probe_fourier_key_freqs(norm, N, key_ratio, share, keys);
    for (int i = 0; i < nk; i++) is_key[keys[i]] = 1;

    char path[4096];
    FILE *f = open_out(out, "embed_spectrum.csv", path, sizeof path, err);
    int r = f ? 0 : -1;
    if (f) {
        fprintf(f, "k,period,norm,share_of_nonconstant_energy,key\n");
        for (int k = 0; k < NF; k++)
            fprintf(f, "%d,%.4g,%.6g,%.6g,%d\n", k, k ? (double)N / k : INFINITY, (double)norm[k],
                    (double)share[k], is_key[k]);
        r = close_out(f, path, err);
    }
    int64_t shp[2] = {N, C};
    if (!r) r = write_npy(out, "embed_digits.npy", x, 2, shp, err);
    if (!r) r = write_npy(out, "embed_fourier.npy", coef, 2, shp, err);

    // bar chart of the spectrum, key frequencies in red
    char lab[NF][32], title[256];
    const char *labels[NF];
    for (int k = 0; k < NF; k++) {
        if (k) snprintf(lab[k], sizeof lab[k], "k=%d (T=%.3g)", k, (double)N / k);
        else snprintf(lab[k], sizeof lab[k], "k=0 (const)");
        labels[k] = lab[k];
    }
    snprintf(title, sizeof title, "Digit embeddings 0-9: Fourier norm per frequency (red: key, >= %.3g x flat share)",
             (double)key_ratio);
    plot_bar_opts bo = { .width = 760, .height = 420, .title = title, .xlabel = "frequency k over the digit (period T = 10/k)",
                         .ylabel = "norm (cos and sin, all channels)", .labels = labels, .highlight = is_key };
    if (!r) r = plot_bar_png(out_path(out, "embed_spectrum.png"), norm, NF, &bo, err);

    // the embedding in the Fourier basis: basis functions x channels
    char rn[N][16];
    const char *rows[N];
    for (int i = 0; i < N; i++) { probe_fourier_row_name(N, i, rn[i], sizeof rn[i]); rows[i] = rn[i]; }
    plot_heatmap_opts ho = { .width = C > 64 ? 1100 : 760, .height = 460,
                             .title = "Digit embeddings in the Fourier basis over the digits 0-9",
                             .xlabel = "embedding channel", .ylabel = "basis function", .cbar_label = "coefficient",
                             .cmap = PLOT_CMAP_DIVERGING, .row_labels = rows, .stretch = 1 };
    if (!r) r = plot_heatmap_png(out_path(out, "embed_fourier.png"), coef, N, C, &ho, err);

    if (!r) {
        printf("digit embeddings: norm per frequency k (share of the non-constant energy):");
        for (int k = 0; k < NF; k++) printf(" k=%d %.3g (%.0f%%)", k, (double)norm[k], 100.0 * share[k]);
        printf("\nkey frequencies:");
        for (int i = 0; i < nk; i++) printf(" k=%d (period %.3g)", keys[i], (double)N / keys[i]);
        printf(nk ? "\n" : " none (no frequency holds %.3g x its flat share)\n", (double)key_ratio);
    }
    free(x); free(coef);
    return r;
}

// (b) the logit lens over layers and components, and (c) the band ablation
static int fourier_lens(Model *m, const RunConfig *rc, const TaskExample *ex, int n, int low_max,
                        const char *out, char *err)
{
    probe_lens lens;
    if (probe_logit_lens(m, &rc->task, ex, n, low_max, &lens, err)) return -1;
    int nc = lens.n_comp, NF = lens.n_freq, r = 0;
    // share of each frequency in the component's non-constant magnitude (k >= 1)
    float *mag = malloc(sizeof(float) * nc * NF), *rel = malloc(sizeof(float) * nc * (NF - 1));
    if (!mag || !rel) { free(mag); free(rel); probe_lens_free(&lens); return err_set(err, "out of memory"); }
    for (int c = 0; c < nc; c++) {
        double tot = 0.0;
        for (int k = 1; k < NF; k++) tot += lens.mag[c * NF + k];
        for (int k = 0; k < NF; k++) mag[c * NF + k] = (float)lens.mag[c * NF + k];
        for (int k = 1; k < NF; k++) rel[c * (NF - 1) + k - 1] = tot > 0 ? (float)(lens.mag[c * NF + k] / tot) : NAN;
    }
    char path[4096];
    FILE *f = open_out(out, "lens_spectrum.csv", path, sizeof path, err);
    if (!f) r = -1;
    else {
        fprintf(f, "component,k,period,mean_magnitude,share_of_nonconstant,digit_accuracy\n");
        for (int c = 0; c < nc; c++)
            for (int k = 0; k < NF; k++)
                fprintf(f, "%s,%d,%.4g,%.6g,%.6g,%.4f\n", lens.name[c], k, k ? 10.0 / k : INFINITY, (double)mag[c * NF + k],
                        k ? (double)rel[c * (NF - 1) + k - 1] : NAN, (double)lens.n_correct[c] / lens.n_positions);
        r = close_out(f, path, err);
    }
    int64_t shp[2] = {nc, NF};
    if (!r) r = write_npy(out, "lens_spectrum.npy", mag, 2, shp, err);

    const char *rows[PROBE_MAX_COMPONENTS];
    char cl[8][32];
    const char *cols[8];
    for (int c = 0; c < nc; c++) rows[c] = lens.name[c];
    for (int k = 1; k < NF; k++) { snprintf(cl[k], sizeof cl[k], "k=%d T=%.3g", k, 10.0 / k); cols[k - 1] = cl[k]; }
    char title[256];
    snprintf(title, sizeof title, "Logit lens: mean |Fourier coefficient| of the digit logits (%ld answer digits)",
             lens.n_positions);
    plot_heatmap_opts ho = { .width = 820, .height = 160 + 46 * nc, .title = title,
                             .xlabel = "frequency over the digit axis (period T)", .ylabel = "layer / component",
                             .cbar_label = "mean magnitude", .cmap = PLOT_CMAP_VIRIDIS, .row_labels = rows,
                             .col_labels = cols, .annotate = 1, .annot_fmt = "%.2g", .stretch = 1 };
    // the constant k = 0 shifts every digit logit alike; softmax ignores it, so it is left out of the pictures
    float *mk = malloc(sizeof(float) * nc * (NF - 1));
    if (!mk) r = err_set(err, "out of memory");
    for (int c = 0; !r && c < nc; c++)
        for (int k = 1; k < NF; k++) mk[c * (NF - 1) + k - 1] = mag[c * NF + k];
    if (!r) r = plot_heatmap_png(out_path(out, "lens_spectrum.png"), mk, nc, NF - 1, &ho, err);
    ho.title = "Logit lens: each row's share of its non-constant Fourier magnitude";
    ho.cbar_label = "share of row";
    ho.vmin = 0; ho.vmax = 1;
    if (!r) r = plot_heatmap_png(out_path(out, "lens_spectrum_share.png"), rel, nc, NF - 1, &ho, err);
    free(mk);

    // (c) ablation
    int na = 0, idx[PROBE_MAX_COMPONENTS];
    for (int c = 0; c < nc; c++) if (lens.kind[c] == PROBE_COMP_ATTN || lens.kind[c] == PROBE_COMP_MLP) idx[na++] = c;
    double base_d = (double)lens.base_digits / lens.n_positions, base_s = (double)lens.base_seqs / lens.n_seqs;
    if (!r && na) {
        f = open_out(out, "ablation.csv", path, sizeof path, err);
        if (!f) r = -1;
        else {
            fprintf(f, "component,band,frequencies_removed,digit_accuracy,answer_accuracy,baseline_digit_accuracy,"
                       "baseline_answer_accuracy\n");
            for (int b = 0; b < 2; b++)
                fprintf(f, "final logits,%s,k=%d..%d,%.4f,%.4f,%.4f,%.4f\n", b ? "high" : "low", b ? low_max + 1 : 1,
                        b ? 5 : low_max, (double)lens.final_digits[b] / lens.n_positions,
                        (double)lens.final_seqs[b] / lens.n_seqs, base_d, base_s);
            for (int i = 0; i < na; i++)
                for (int b = 0; b < 2; b++) {
                    int c = idx[i];
                    fprintf(f, "%s,%s,%s%d..%d,%.4f,%.4f,%.4f,%.4f\n", lens.name[c], b ? "high" : "low", "k=",
                            b ? low_max + 1 : 1, b ? 5 : low_max, (double)lens.abl_digits[c * 2 + b] / lens.n_positions,
                            (double)lens.abl_seqs[c * 2 + b] / lens.n_seqs, base_d, base_s);
                }
            r = close_out(f, path, err);
        }
        float *acc = malloc(sizeof(float) * (na + 1) * 3);
        const char *arows[PROBE_MAX_COMPONENTS + 1];
        char c0[64], c1[64];
        snprintf(c0, sizeof c0, "none removed");
        snprintf(c1, sizeof c1, "low k=1..%d removed", low_max);
        char c2[64];
        snprintf(c2, sizeof c2, "high k=%d..5 removed", low_max + 1);
        const char *acols[3] = {c0, c1, c2};
        if (!acc) r = err_set(err, "out of memory");
        for (int i = 0; !r && i < na; i++) {
            arows[i] = lens.name[idx[i]];
            acc[i * 3] = (float)(100.0 * base_s);
            for (int b = 0; b < 2; b++) acc[i * 3 + 1 + b] = (float)(100.0 * lens.abl_seqs[idx[i] * 2 + b] / lens.n_seqs);
        }
        if (!r) {   // last row: the band removed from the whole final digit logits
            arows[na] = "final logits";
            acc[na * 3] = (float)(100.0 * base_s);
            for (int b = 0; b < 2; b++) acc[na * 3 + 1 + b] = (float)(100.0 * lens.final_seqs[b] / lens.n_seqs);
        }
        plot_heatmap_opts ao = { .width = 760, .height = 250 + 50 * na,
                                 .title = "Answers right (%, teacher-forced) with a band removed from one component",
                                 .xlabel = "frequencies removed from the component's digit logits", .ylabel = "component",
                                 .cbar_label = "exact match (%)", .cmap = PLOT_CMAP_VIRIDIS, .vmin = 0, .vmax = 100,
                                 .row_labels = arows, .col_labels = acols, .annotate = 1, .annot_fmt = "%.1f",
                                 .stretch = 1 };
        if (!r) r = plot_heatmap_png(out_path(out, "ablation.png"), acc, na + 1, 3, &ao, err);
        free(acc);
    }

    if (!r) {
        printf("logit lens over %ld answer digits of %ld problems (k=1..5, periods 10, 5, 3.3, 2.5, 2):\n",
               lens.n_positions, lens.n_seqs);
        for (int c = 0; c < nc; c++) {
            printf("  %-10s digit acc %5.1f%%  share", lens.name[c], 100.0 * lens.n_correct[c] / lens.n_positions);
            for (int k = 1; k < NF; k++) printf(" %4.2f", (double)rel[c * (NF - 1) + k - 1]);
            printf("\n");
        }
        if (na) {
            printf("band ablation (teacher-forced exact match; baseline %.1f%%):\n", 100.0 * base_s);
            for (int i = 0; i < na; i++)
                printf("  %-10s low k=1..%d removed %5.1f%%   high k=%d..5 removed %5.1f%%\n", lens.name[idx[i]], low_max,
                       100.0 * lens.abl_seqs[idx[i] * 2] / lens.n_seqs, low_max + 1,
                       100.0 * lens.abl_seqs[idx[i] * 2 + 1] / lens.n_seqs);
            printf("  %-10s low k=1..%d removed %5.1f%%   high k=%d..5 removed %5.1f%%\n", "final", low_max,
                   100.0 * lens.final_seqs[0] / lens.n_seqs, low_max + 1, 100.0 * lens.final_seqs[1] / lens.n_seqs);
        }
    }
    free(mag); free(rel);
    probe_lens_free(&lens);
    return r;
}

static int probe_fourier_cmd(int argc, char **argv)
{
    probe_args a = { .n = 512, .seed = 1 };
    float key_ratio = 2.0f;
    int low_max = 2;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &a.ckpt, "checkpoint written by arithlab train"},
        {"--run", ARG_STR, &a.run, "run directory (uses DIR/ckpt.safetensors; --out defaults to DIR/probe_fourier)"},
        {"--out", ARG_STR, &a.out, "directory for the CSV, .npy and PNG files"},
        {"--n", ARG_INT, &a.n, "problems for the logit lens (default 512)"},
        {"--seed", ARG_INT, &a.seed, "seed of the problems (default 1)"},
        {"--key-ratio", ARG_FLOAT, &key_ratio, "key frequency: energy >= this many times its flat-spectrum share (default 2)"},
        {"--low-max", ARG_INT, &low_max, "ablation bands: low k = 1..K, high k = K+1..5 (default 2)"},
        {"--threads", ARG_INT, &a.threads, "compute threads (default OMP_NUM_THREADS or all cores)"},
    };
    int r = args_parse("probe fourier", "--checkpoint FILE --out DIR [--n N] [--seed S] [--key-ratio R] [--low-max K]",
                       args, 8, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    if ((r = resolve_paths("fourier", &a))) return r;
    if (a.n < 1 || key_ratio <= 0 || low_max < 1 || low_max > 4) {
        fprintf(stderr, "arithlab probe fourier: need --n >= 1, --key-ratio > 0, --low-max in 1..4\n");
        return 2;
    }
    RunConfig rc;
    Model m;
    if ((r = load_model("fourier", &a, &rc, &m, a.n < 256 ? a.n : 256))) return r;
    char err[ERR_MAX];
    if (m.cfg.vocab_size < TASK_DIGIT0 + 10) {
        fprintf(stderr, "arithlab probe fourier: the model's vocabulary (%d) has no digit tokens\n", m.cfg.vocab_size);
        model_free(&m);
        return 2;
    }
    r = fourier_embed(&m, a.out, key_ratio, err);
    probe_places pl;
    TaskExample *ex = NULL;
    if (!r && (r = make_examples(&rc.task, a.n, a.seed, &ex, err)) == 0) {
        if (probe_find_places(&rc.task, &ex[0], &pl, err))
            printf("logit lens skipped: %s\n", err);   // e.g. sort: the answer is not digits
        else
            r = fourier_lens(&m, &rc, ex, a.n, low_max, a.out, err);
    }
    if (r) fprintf(stderr, "arithlab probe fourier: %s\n", err);
    else printf("wrote %s/{embed_spectrum,lens_spectrum,ablation}.csv, .npy and .png\n", a.out);
    free(ex);
    model_free(&m);
    return r ? 1 : 0;
}

// ---------------------------------------------------------------- attention

// head < 0: the graph uses the mean over heads; else that head of every layer
static int attention_one(Model *m, const TaskExample *e, const char *out, float threshold, int rollout, int head,
                         char *err)
{
    int L = m->cfg.n_layer, NH = m->cfg.n_head, T = e->n_tokens - 1, r = 0;
    size_t TT = (size_t)T * T;
    // feed every token but <eos>: the last position is the one that predicts it
    model_forward(m, e->tokens, NULL, 1, T);
    float *att = malloc(sizeof(float) * L * NH * TT), *mean = malloc(sizeof(float) * L * TT);
    const char **names = malloc(sizeof(char *) * T);
    if (!att || !mean || !names) { free(att); free(mean); free(names); return err_set(err, "out of memory"); }
    for (int l = 0; l < L; l++) {
        memcpy(att + (size_t)l * NH * TT, m->la[l].att, sizeof(float) * NH * TT);
        if (head < 0) probe_attn_head_mean(m->la[l].att, NH, T, mean + l * TT);
        else memcpy(mean + l * TT, m->la[l].att + head * TT, sizeof(float) * TT);
    }
    for (int t = 0; t < T; t++) names[t] = task_tok_name(e->tokens[t]);

    char path[4096], title[256];
    FILE *f = open_out(out, "tokens.csv", path, sizeof path, err);
    if (!f) r = -1;
    else {
        fprintf(f, "pos,id,token\n");
        for (int t = 0; t < T; t++) fprintf(f, "%d,%d,\"%s\"\n", t, e->tokens[t], strcmp(names[t], "\"") ? names[t] : "\"\"");
        r = close_out(f, path, err);
    }
    int64_t shp[4] = {L, NH, T, T};
    if (!r) r = write_npy(out, "attention.npy", att, 4, shp, err);
    for (int l = 0; l < L && !r; l++)
        for (int h = 0; h < NH && !r; h++) {
            char name[64];
            snprintf(title, sizeof title, "%.80s: layer %d head %d", e->problem, l, h);
            snprintf(name, sizeof name, "attn_L%d_H%d.png", l, h);
            int side = 190 + 19 * T < 600 ? 600 : 190 + 19 * T;   // room to label every token
            plot_heatmap_opts o = { .width = side + 40, .height = side, .title = title, .xlabel = "key (attended token)",
                                    .ylabel = "query (attending token)", .cbar_label = "attention", .cmap = PLOT_CMAP_VIRIDIS,
                                    .vmin = 0, .vmax = 1, .row_labels = names, .col_labels = names };
            r = plot_heatmap_png(out_path(out, name), att + ((size_t)l * NH + h) * TT, T, T, &o, err);
        }
    snprintf(title, sizeof title, "Attention of every head for %.80s (rows: query, columns: key)", e->problem);
    if (!r) r = probe_attn_grid_png(att, L, NH, T, names, title, out_path(out, "attention_heads.png"), err);

    for (int mode = 0; mode <= rollout && !r; mode++) {
        probe_graph g;
        const char *stem = mode ? "attention_rollout" : "attention_graph";
        char which[32];
        if (head < 0) snprintf(which, sizeof which, "mean over heads");
        else snprintf(which, sizeof which, "head %d of each layer", head);
        snprintf(title, sizeof title, "%s %.80s (%s, >= %.2f)", mode ? "Attention rollout for" : "Attention graph for",
                 e->problem, which, (double)threshold);
        if ((r = probe_graph_build(mean, L, T, threshold, mode, &g, err))) break;
        char name[64];
        snprintf(name, sizeof name, "%s.dot", stem);
        f = open_out(out, name, path, sizeof path, err);
        if (!f) r = -1;
        else { probe_graph_write_dot(&g, names, title, f); r = close_out(f, path, err); }
        char *json = r ? NULL : probe_graph_json(&g, names, title);
        if (!r && !json) r = err_set(err, "out of memory for the JSON");
        if (!r) {
            snprintf(name, sizeof name, "%s.json", stem);
            f = open_out(out, name, path, sizeof path, err);
            if (!f) r = -1;
            else { fputs(json, f); fputc('\n', f); r = close_out(f, path, err); }
        }
        free(json);
        snprintf(name, sizeof name, "%s.png", stem);
        if (!r) r = probe_graph_png(&g, names, title, out_path(out, name), err);
        if (!r) printf("%s: %d edges >= %.2f\n", stem, g.n_edges, (double)threshold);
        probe_graph_free(&g);
    }
    free(att); free(mean); free(names);
    return r;
}

static int attention_staircase(Model *m, const RunConfig *rc, const TaskExample *ex, int n, const char *out, char *err)
{
    int L = m->cfg.n_layer, NH = m->cfg.n_head, r;
    probe_stair s;
    if (probe_stair_init(&s, L, NH, err)) return -1;
    float *same = malloc(sizeof(float) * L * NH), *prev = malloc(sizeof(float) * L * NH), us, up;
    r = !same || !prev ? err_set(err, "out of memory") : probe_staircase(m, &rc->task, ex, n, &s, err);
    if (!r) probe_stair_means(&s, same, prev, &us, &up);
    char path[4096];
    FILE *f = r ? NULL : open_out(out, "staircase.csv", path, sizeof path, err);
    if (!r && !f) r = -1;
    if (f) {
        fprintf(f, "layer,head,same_place,prev_place,uniform_same,uniform_prev,same_over_uniform\n");
        for (int l = 0; l < L; l++)
            for (int h = 0; h < NH; h++)
                fprintf(f, "%d,%d,%.5f,%.5f,%.5f,%.5f,%.3f\n", l, h, (double)same[l * NH + h], (double)prev[l * NH + h],
                        (double)us, (double)up, (double)(same[l * NH + h] / us));
        r = close_out(f, path, err);
    }
    int64_t shp[2] = {L, NH};
    if (!r) r = write_npy(out, "staircase_same.npy", same, 2, shp, err);
    if (!r) r = write_npy(out, "staircase_prev.npy", prev, 2, shp, err);
    char rl[64][16], cl[64][16], title[256];
    const char *rows[64], *cols[64];
    for (int l = 0; l < L && l < 64; l++) { snprintf(rl[l], 16, "layer %d", l); rows[l] = rl[l]; }
    for (int h = 0; h < NH && h < 64; h++) { snprintf(cl[h], 16, "head %d", h); cols[h] = cl[h]; }
    for (int which = 0; which < 2 && !r && L <= 64 && NH <= 64; which++) {
        char xlabel[96];
        snprintf(title, sizeof title, "Staircase: answer digit -> operand digits of %s (uniform %.3f)",
                 which ? "the place below" : "its place", (double)(which ? up : us));
        snprintf(xlabel, sizeof xlabel, "head (mean over %ld answer digits of %d problems)", which ? s.n_prev : s.n_same, n);
        plot_heatmap_opts o = { .width = 300 + 110 * NH < 760 ? 760 : 300 + 110 * NH, .height = 200 + 90 * L,
                                .title = title, .xlabel = xlabel, .ylabel = "layer", .cbar_label = "attention mass",
                                .cmap = PLOT_CMAP_VIRIDIS, .vmin = 0, .vmax = 1, .row_labels = rows, .col_labels = cols,
                                .annotate = 1, .annot_fmt = "%.2f", .stretch = 1 };
        r = plot_heatmap_png(out_path(out, which ? "staircase_prev.png" : "staircase.png"), which ? prev : same, L, NH, &o, err);
    }
    if (!r) {
        printf("staircase over %d problems (uniform attention would give %.3f same place, %.3f place below):\n", n,
               (double)us, (double)up);
        for (int l = 0; l < L; l++) {
            printf("  layer %d  same:", l);
            for (int h = 0; h < NH; h++) printf(" %.2f", (double)same[l * NH + h]);
            printf("   below:");
            for (int h = 0; h < NH; h++) printf(" %.2f", (double)prev[l * NH + h]);
            printf("\n");
        }
    }
    free(same); free(prev);
    probe_stair_free(&s);
    return r;
}

static int probe_attention_cmd(int argc, char **argv)
{
    probe_args a = { .n = 256, .seed = 1 };
    const char *problem = NULL;
    float threshold = 0.1f;
    int rollout = 0, head = -1;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &a.ckpt, "checkpoint written by arithlab train"},
        {"--run", ARG_STR, &a.run, "run directory (uses DIR/ckpt.safetensors; --out defaults to DIR/probe_attention)"},
        {"--out", ARG_STR, &a.out, "directory for the CSV, .npy, DOT, JSON and PNG files"},
        {"--problem", ARG_STR, &problem,
         "the problem to draw, in ordinary notation, e.g. \"128+367\" (default: one drawn from the task)"},
        {"--threshold", ARG_FLOAT, &threshold, "smallest edge weight drawn in the attention graph (default 0.1)"},
        {"--rollout", ARG_FLAG, &rollout, "also write the attention rollout graph (Abnar & Zuidema 2020)"},
        {"--head", ARG_INT, &head, "draw the graph of this head in every layer (default: the mean over heads)"},
        {"--n", ARG_INT, &a.n, "problems for the staircase scores (default 256)"},
        {"--seed", ARG_INT, &a.seed, "seed of the problems (default 1)"},
        {"--threads", ARG_INT, &a.threads, "compute threads (default OMP_NUM_THREADS or all cores)"},
    };
    int r = args_parse("probe attention", "--checkpoint FILE --out DIR [--problem \"128+367\"] [--threshold W] [--rollout] [--head H] [--n N]",
                       args, 10, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    if ((r = resolve_paths("attention", &a))) return r;
    if (a.n < 1 || !(threshold >= 0 && threshold <= 1)) {
        fprintf(stderr, "arithlab probe attention: need --n >= 1 and --threshold in [0, 1]\n");
        return 2;
    }
    char err[ERR_MAX];
    RunConfig rc;
    if (run_config_from_checkpoint(&rc, a.ckpt, err)) { fprintf(stderr, "arithlab probe attention: %s\n", err); return 2; }
    // the one problem, written as the model saw it (no random spaces or hint letters)
    TaskConfig tc = rc.task;
    tc.space_prob = 0.0;
    tc.hint_random_start = 0;
    TaskExample *one = malloc(sizeof(TaskExample));
    if (!one) return 1;
    if (problem) r = task_example_from_problem(&tc, problem, one, err);
    else { uint64_t rng = rng_seed((uint64_t)a.seed + 1000); r = task_generate(&tc, &rng, TASK_SPLIT_ANY, one, err); }
    if (r) {
        fprintf(stderr, "arithlab probe attention: --problem '%s': %s\n", problem ? problem : "", err);
        free(one);
        return 2;
    }
    Model m;
    if ((r = load_model("attention", &a, &rc, &m, a.n < 128 ? a.n : 128))) { free(one); return r; }
    if (one->n_tokens - 1 > m.cfg.block_size) {
        fprintf(stderr, "arithlab probe attention: '%s' needs %d positions, more than the model's block_size %d\n",
                one->problem, one->n_tokens - 1, m.cfg.block_size);
        model_free(&m); free(one);
        return 2;
    }
    printf("problem %s (%d tokens)\n", one->problem, one->n_tokens);
    if (head >= m.cfg.n_head) {
        fprintf(stderr, "arithlab probe attention: --head %d: the model has heads 0..%d\n", head, m.cfg.n_head - 1);
        model_free(&m); free(one);
        return 2;
    }
    r = attention_one(&m, one, a.out, threshold, rollout, head, err);
    TaskExample *ex = NULL;
    probe_places pl;
    if (!r && (r = make_examples(&rc.task, a.n, a.seed, &ex, err)) == 0) {
        if (probe_find_places(&rc.task, &ex[0], &pl, err)) printf("staircase skipped: %s\n", err);
        else r = attention_staircase(&m, &rc, ex, a.n, a.out, err);
    }
    if (r) fprintf(stderr, "arithlab probe attention: %s\n", err);
    else printf("wrote %s/attention_heads.png, attn_L*_H*.png, attention_graph.{png,dot,json}%s, staircase.{csv,png}\n",
                a.out, rollout ? ", attention_rollout.{png,dot,json}" : "");
    free(ex); free(one);
    model_free(&m);
    return r ? 1 : 0;
}

// ---------------------------------------------------------------- linear

enum { TARGET_DIGIT, TARGET_CARRY, N_TARGETS };
static const char *const TARGET_NAMES[N_TARGETS] = {"answer digit", "carry into the place"};
static const char *const TARGET_KEYS[N_TARGETS] = {"digit", "carry"};

// features of every (layer point, place, example): the residual stream at the
// position that predicts answer place p; layer point 0 is the embeddings
typedef struct {
    int n, P, LP, C;
    float *feat;        // (LP, P, n, C)
    int *label;         // (N_TARGETS, P, n); -1 where the example has no such place or target
} linear_data;

static int linear_collect(Model *m, const RunConfig *rc, const TaskExample *ex, int n, linear_data *D, char *err)
{
    int L = m->cfg.n_layer, C = m->cfg.n_embd, B = m->B_max, P = 0, r = 0;
    probe_places *pl = malloc(sizeof(probe_places) * n);
    if (!pl) return err_set(err, "out of memory");
    for (int i = 0; i < n && !r; i++) {
        r = probe_find_places(&rc->task, &ex[i], &pl[i], err);
        P = !r && pl[i].n_ans > P ? pl[i].n_ans : P;
    }
    D->n = n; D->P = P; D->LP = L + 1; D->C = C;
    D->feat = r ? NULL : calloc((size_t)D->LP * P * n * C, sizeof(float));
    D->label = r ? NULL : malloc(sizeof(int) * N_TARGETS * P * n);
    int *inputs = malloc(sizeof(int) * B * m->T_max), *targets = malloc(sizeof(int) * B * m->T_max);
    if (!r && (!D->feat || !D->label || !inputs || !targets)) r = err_set(err, "out of memory for %d x %d features", n, C);
    for (int i = 0; !r && i < N_TARGETS * P * n; i++) D->label[i] = -1;
    for (int s = 0; !r && s < n; s += B) {
        int nb = n - s < B ? n - s : B, T = 0;
        for (int b = 0; b < nb; b++) T = ex[s + b].n_tokens - 1 > T ? ex[s + b].n_tokens - 1 : T;
        if (T > m->T_max) { r = err_set(err, "'%s' needs %d positions, the model holds %d", ex[s].problem, T, m->T_max); break; }
        if ((r = task_batch_from_examples(ex + s, nb, T, inputs, targets, err))) break;
        model_forward(m, inputs, NULL, nb, T);
        for (int b = 0; b < nb; b++) {
            int i = s + b;
            for (int p = 0; p < pl[i].n_ans; p++) {
                size_t row = (size_t)b * T + pl[i].pos_ans[p] - 1;
                for (int lp = 0; lp <= L; lp++) {
                    const float *src = (lp ? m->la[lp - 1].res3 : m->encoded) + row * C;
                    memcpy(D->feat + (((size_t)lp * P + p) * n + i) * C, src, sizeof(float) * C);
                }
                D->label[((size_t)TARGET_DIGIT * P + p) * n + i] = task_tok_digit(ex[i].tokens[pl[i].pos_ans[p]]);
                // the carry into place 0 is always 0: nothing to probe
                D->label[((size_t)TARGET_CARRY * P + p) * n + i] = p ? probe_carry_into(rc->task.task, ex[i].a, ex[i].b, p) : -1;
            }
        }
    }
    free(pl); free(inputs); free(targets);
    return r;
}

// A line chart whose x positions 0..n-1 are categories (layers): plot.h picks
// numeric x ticks (0.5, 1.5 for three layers), so the tick strip under the
// frame is repainted with one labelled tick per category. A plot_line_opts
// field for x tick labels would make this unnecessary.
static int line_png_categorical(const char *path, const plot_series *s, int ns, const plot_line_opts *o,
                                const char *const *labels, int n, char *err)
{
    plot_canvas c;
    plot_axes ax;
    int r = plot_canvas_init(&c, o->width, o->height, (plot_rgb){255, 255, 255}, err);
    if (!r) r = plot_line_draw(&c, s, ns, o, &ax, err);
    if (!r) {
        int y0 = ax.area.y + ax.area.h + 1, y1 = c.h - 10 - 14 - 3;   // above the x label (PAD, FS_LABEL)
        // from just left of the frame: the y axis label "0" hangs below the frame on its left
        plot_fill_rect(&c, (plot_rect){ax.area.x - 4, y0, c.w, y1 - y0}, (plot_rgb){255, 255, 255});
        plot_text_style st = { .size_px = 12, .color = {34, 34, 34}, .halign = PLOT_ALIGN_CENTER, .valign = PLOT_ALIGN_TOP };
        for (int i = 0; i < n && !r; i++) {
            double px, py;
            plot_axes_px(&ax, i, ax.y_lo, &px, &py);
            plot_fill_rect(&c, (plot_rect){(int)px, y0, 1, 5}, (plot_rgb){34, 34, 34});
            r = plot_text(&c, px, y0 + 7, labels[i], &st, NULL, err);
        }
    }
    if (!r) r = plot_canvas_save_png(&c, path, err);
    plot_canvas_free(&c);
    return r;
}

static int linear_plots(const linear_data *D, const float *acc, const float *maj, const char *out, char *err)
{
    int P = D->P, LP = D->LP, r = 0;
    char ln[64][24], pn[PROBE_MAX_PLACES][24], title[256];
    const char *lcols[64], *prows[PROBE_MAX_PLACES];
    for (int lp = 0; lp < LP && lp < 64; lp++) {
        if (lp) snprintf(ln[lp], 24, "after L%d", lp - 1);
        else snprintf(ln[lp], 24, "embed");
        lcols[lp] = ln[lp];
    }
    for (int p = 0; p < P; p++) { snprintf(pn[p], 24, p ? "place %d" : "place 0 (units)", p); prows[p] = pn[p]; }
    // one heatmap per target: place x layer point
    for (int tg = 0; tg < N_TARGETS && !r && LP <= 64; tg++) {
        char name[64];
        snprintf(title, sizeof title, "Linear probe for the %s: held-out accuracy (%%)", TARGET_NAMES[tg]);
        snprintf(name, sizeof name, "linear_%s.png", TARGET_KEYS[tg]);
        float *m = malloc(sizeof(float) * P * LP);
        if (!m) return err_set(err, "out of memory");
        for (int p = 0; p < P; p++)
            for (int lp = 0; lp < LP; lp++) m[p * LP + lp] = 100.0f * acc[((size_t)tg * P + p) * LP + lp];
        plot_heatmap_opts o = { .width = 260 + 150 * LP, .height = 180 + 48 * P, .title = title,
                                .xlabel = "residual stream read", .ylabel = "answer place", .cbar_label = "accuracy (%)",
                                .cmap = PLOT_CMAP_VIRIDIS, .vmin = 0, .vmax = 100, .row_labels = prows, .col_labels = lcols,
                                .annotate = 1, .annot_fmt = "%.0f", .stretch = 1 };
        r = plot_heatmap_png(out_path(out, name), m, P, LP, &o, err);
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
        plot_rgb c = plot_palette(tg), pale = {(uint8_t)(c.r + (255 - c.r) / 2), (uint8_t)(c.g + (255 - c.g) / 2),
                                               (uint8_t)(c.b + (255 - c.b) / 2)};
        cols[tg] = c; cols[N_TARGETS + tg] = pale;
        snprintf(sname[tg], 64, "%s", TARGET_NAMES[tg]);
        snprintf(sname[N_TARGETS + tg], 64, "%s: majority class", TARGET_KEYS[tg]);
    }
    for (int i = 0; i < 2 * N_TARGETS; i++)
        ser[i] = (plot_series){ .name = sname[i], .x = xs, .y = ys[i], .n = LP < 64 ? LP : 64, .color = &cols[i] };
    plot_line_opts lo = { .width = 760, .height = 440, .title = "Linear probes on the residual stream (held-out accuracy, mean over places)",
                          .xlabel = "residual stream read", .ylabel = "accuracy (%)",
                          .xmin = -0.3f, .xmax = LP - 0.7f, .ymin = 0, .ymax = 100, .legend = PLOT_LEGEND_LOWER_RIGHT };
    if (!r) r = line_png_categorical(out_path(out, "linear_probes.png"), ser, 2 * N_TARGETS, &lo, lcols, LP, err);
    return r;
}

static int probe_linear_cmd(int argc, char **argv)
{
    probe_args a = { .n = 2000, .seed = 1 };
    float train_frac = 0.75f, l2 = 1e-4f;
    int iters = 500;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &a.ckpt, "checkpoint written by arithlab train"},
        {"--run", ARG_STR, &a.run, "run directory (uses DIR/ckpt.safetensors; --out defaults to DIR/probe_linear)"},
        {"--out", ARG_STR, &a.out, "directory for the CSV, .npy and PNG files"},
        {"--n", ARG_INT, &a.n, "problems (default 2000), distinct where the task has that many"},
        {"--seed", ARG_INT, &a.seed, "seed of the problems (default 1)"},
        {"--train-frac", ARG_FLOAT, &train_frac, "fraction of the problems the probes are fitted on (default 0.75)"},
        {"--l2", ARG_FLOAT, &l2, "L2 penalty on the standardized weights (default 1e-4)"},
        {"--iters", ARG_INT, &iters, "gradient steps per probe (default 500)"},
        {"--threads", ARG_INT, &a.threads, "compute threads (default OMP_NUM_THREADS or all cores)"},
    };
    int r = args_parse("probe linear", "--checkpoint FILE --out DIR [--n N] [--train-frac F] [--l2 X] [--iters K]",
                       args, 9, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    if ((r = resolve_paths("linear", &a))) return r;
    if (a.n < 20 || !(train_frac > 0 && train_frac < 1) || !(l2 > 0) || iters < 1) {
        fprintf(stderr, "arithlab probe linear: need --n >= 20, --train-frac in (0, 1), --l2 > 0, --iters >= 1\n");
        return 2;
    }
    RunConfig rc;
    Model m;
    if ((r = load_model("linear", &a, &rc, &m, a.n < 256 ? a.n : 256))) return r;
    char err[ERR_MAX];
    TaskExample *ex = NULL;
    linear_data D = {0};
    r = make_examples(&rc.task, a.n, a.seed, &ex, err);
    if (!r) r = linear_collect(&m, &rc, ex, a.n, &D, err);
    if (r) {
        fprintf(stderr, "arithlab probe linear: %s\n", err);
        free(ex); free(D.feat); free(D.label); model_free(&m);
        return 1;
    }
    int P = D.P, LP = D.LP, C = D.C, n = D.n;
    size_t nacc = (size_t)N_TARGETS * P * LP;
    float *acc = malloc(sizeof(float) * nacc), *tr = malloc(sizeof(float) * nacc), *maj = malloc(sizeof(float) * nacc);
    float *X = malloc(sizeof(float) * n * C);
    int *y = malloc(sizeof(int) * n), *nrows = calloc(nacc, sizeof(int));
    if (!acc || !tr || !maj || !X || !y || !nrows) r = err_set(err, "out of memory");
    probe_linear_opts lo = { .n_iter = iters, .l2 = l2 };
    double t0 = time_s();
    for (int tg = 0; tg < N_TARGETS && !r; tg++)
        for (int p = 0; p < P && !r; p++) {
            const int *lab = D.label + ((size_t)tg * P + p) * n;
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
                acc[at] = tr[at] = maj[at] = NAN;
                nrows[at] = rows;
                if (n_train < 10 || rows - n_train < 5) continue;   // too few examples have this place
                int k = 0;
                for (int i = 0; i < n; i++)
                    if (lab[i] >= 0) memcpy(X + (size_t)k++ * C, D.feat + (((size_t)lp * P + p) * n + i) * C, sizeof(float) * C);
                r = probe_linear_split(X, y, rows, n_train, C, K, &lo, &tr[at], &acc[at], err);
                maj[at] = (float)maj_hits / (rows - n_train);
            }
        }
    char path[4096];
    FILE *f = r ? NULL : open_out(a.out, "linear_probes.csv", path, sizeof path, err);
    if (!r && !f) r = -1;
    if (f) {
        fprintf(f, "target,place,layer,layer_index,n_train,n_test,train_accuracy,test_accuracy,majority_accuracy\n");
        for (int tg = 0; tg < N_TARGETS; tg++)
            for (int p = 0; p < P; p++)
                for (int lp = 0; lp < LP; lp++) {
                    size_t at = ((size_t)tg * P + p) * LP + lp;
                    int ntr = (int)(train_frac * nrows[at]);
                    if (isnan(acc[at])) continue;
                    char ln[24];
                    if (lp) snprintf(ln, sizeof ln, "after L%d", lp - 1);
                    else snprintf(ln, sizeof ln, "embed");
                    fprintf(f, "%s,%d,%s,%d,%d,%d,%.4f,%.4f,%.4f\n", TARGET_KEYS[tg], p, ln, lp, ntr, nrows[at] - ntr,
                            (double)tr[at], (double)acc[at], (double)maj[at]);
                }
        r = close_out(f, path, err);
    }
    int64_t shp[3] = {N_TARGETS, P, LP};
    if (!r) r = write_npy(a.out, "linear_test_accuracy.npy", acc, 3, shp, err);
    if (!r) r = linear_plots(&D, acc, maj, a.out, err);
    if (!r) {
        printf("linear probes on %d problems (%.0f%% to fit), %.1f s; held-out accuracy, place x layer read "
               "(embed, after L0, ...):\n", n, 100.0 * train_frac, time_s() - t0);
        for (int tg = 0; tg < N_TARGETS; tg++)
            for (int p = 0; p < P; p++) {
                size_t at0 = ((size_t)tg * P + p) * LP;
                if (isnan(acc[at0])) continue;
                printf("  %-6s place %d:", TARGET_KEYS[tg], p);
                for (int lp = 0; lp < LP; lp++) printf(" %5.1f%%", 100.0 * acc[at0 + lp]);
                printf("   (majority %4.1f%%)\n", 100.0 * maj[at0]);
            }
        printf("wrote %s/linear_probes.{csv,png}, linear_digit.png, linear_carry.png, linear_test_accuracy.npy\n", a.out);
    } else {
        fprintf(stderr, "arithlab probe linear: %s\n", err);
    }
    free(acc); free(tr); free(maj); free(X); free(y); free(nrows);
    free(ex); free(D.feat); free(D.label);
    model_free(&m);
    return r ? 1 : 0;
}

// ---------------------------------------------------------------- dispatch

typedef struct { const char *name; int (*run)(int, char **); const char *help; } probe_cmd_t;

static const probe_cmd_t PROBES[] = {
    {"fourier", probe_fourier_cmd, "Fourier spectrum of the digit embeddings and logit lens of every layer (Zhou et al. 2024)"},
    {"attention", probe_attention_cmd, "every head's pattern for one problem, attention graph (DOT/JSON/PNG), staircase scores"},
    {"linear", probe_linear_cmd, "logistic-regression probes for answer digits and carries on the residual stream"},
};
#define N_PROBES (int)(sizeof(PROBES) / sizeof(PROBES[0]))

static void probe_usage(FILE *f)
{
    fprintf(f, "usage: arithlab probe <probe> --checkpoint FILE --out DIR [options]   (arithlab probe <probe> --help)\n\nprobes:\n");
    for (int i = 0; i < N_PROBES; i++) fprintf(f, "  %-10s %s\n", PROBES[i].name, PROBES[i].help);
}

int cmd_probe(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        probe_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < N_PROBES; i++)
        if (!strcmp(argv[1], PROBES[i].name)) return PROBES[i].run(argc - 1, argv + 1);
    fprintf(stderr, "arithlab probe: unknown probe '%s'\n", argv[1]);
    probe_usage(stderr);
    return 2;
}
