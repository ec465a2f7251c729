// fourier_write.c: the Fourier probe's files: the spectrum of the digit
// embeddings, the logit lens over every pass and component, and the band
// ablation (probes/probe.h, probe_fourier_write).
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "probes/probe.h"
#include "probes/files.h"
#include "plot/plot.h"
#include "model/head.h"

// (a) the digit embeddings over the digit axis. Every task writes numbers in
// digit tokens (modadd too), so the number axis is the ten digits 0..9. A FoNE
// model has no digit-token numbers and is refused (refuse_fone).
static int fourier_embed(const Model *m, const char *out, float key_ratio, FILE *log, char *err)
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
    FILE *f = probe__open(out, "embed_spectrum.csv", path, sizeof path, err);
    int r = f ? 0 : -1;
    if (f) {
        fprintf(f, "k,period,norm,share_of_nonconstant_energy,key\n");
        for (int k = 0; k < NF; k++)
            fprintf(f, "%d,%.4g,%.6g,%.6g,%d\n", k, k ? (double)N / k : INFINITY, (double)norm[k],
                    (double)share[k], is_key[k]);
        r = probe__close(f, path, err);
    }
    int64_t shp[2] = {N, C};
    if (!r) r = probe__write_npy(out, "embed_digits.npy", x, 2, shp, err);
    if (!r) r = probe__write_npy(out, "embed_fourier.npy", coef, 2, shp, err);

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
    if (!r) r = plot_bar_write(probe__path(out, "embed_spectrum.png"), norm, NF, &bo, err);

    // the embedding in the Fourier basis: basis functions x channels
    char rn[N][16];
    const char *rows[N];
    for (int i = 0; i < N; i++) { probe_fourier_row_name(N, i, rn[i], sizeof rn[i]); rows[i] = rn[i]; }
    plot_heatmap_opts ho = { .width = C > 64 ? 1100 : 760, .height = 460,
                             .title = "Digit embeddings in the Fourier basis over the digits 0-9",
                             .xlabel = "embedding channel", .ylabel = "basis function", .cbar_label = "coefficient",
                             .cmap = PLOT_CMAP_DIVERGING, .row_labels = rows, .stretch = 1 };
    if (!r) r = plot_heatmap_write(probe__path(out, "embed_fourier.png"), coef, N, C, &ho, err);

    if (!r) {
        probe__say(log, "digit embeddings: norm per frequency k (share of the non-constant energy):");
        for (int k = 0; k < NF; k++) probe__say(log, " k=%d %.3g (%.0f%%)", k, (double)norm[k], 100.0 * share[k]);
        probe__say(log, "\nkey frequencies:");
        for (int i = 0; i < nk; i++) probe__say(log, " k=%d (period %.3g)", keys[i], (double)N / keys[i]);
        double e_all = 0.0, e_var = 0.0;
        for (int k = 0; k < NF; k++) e_all += (double)norm[k] * norm[k];
        e_var = e_all - (double)norm[0] * norm[0];
        if (nk) probe__say(log, "\n");
        else if (!(e_var >= PROBE_FOURIER_ENERGY_FLOOR * e_all))
            probe__say(log, " none (the rows do not depend on the digit: non-constant energy %.3g of the total, "
                       "below the floor %g)\n", e_all > 0 ? e_var / e_all : 0.0, PROBE_FOURIER_ENERGY_FLOOR);
        else probe__say(log, " none (no frequency holds %.3g x its flat share)\n", (double)key_ratio);
    }
    free(x); free(coef);
    return r;
}

// (b) the logit lens over layers and components, and (c) the band ablation
static int fourier_lens(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, int low_max,
                        const char *out, FILE *log, char *err)
{
    probe_lens lens;
    if (probe_logit_lens(m, tc, ex, n, low_max, &lens, err)) return -1;
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
    FILE *f = probe__open(out, "lens_spectrum.csv", path, sizeof path, err);
    if (!f) r = -1;
    else {
        fprintf(f, "component,k,period,mean_magnitude,share_of_nonconstant,digit_accuracy\n");
        for (int c = 0; c < nc; c++)
            for (int k = 0; k < NF; k++)
                fprintf(f, "%s,%d,%.4g,%.6g,%.6g,%.4f\n", lens.name[c], k, k ? 10.0 / k : INFINITY, (double)mag[c * NF + k],
                        k ? (double)rel[c * (NF - 1) + k - 1] : NAN, (double)lens.n_correct[c] / lens.n_positions);
        r = probe__close(f, path, err);
    }
    int64_t shp[2] = {nc, NF};
    if (!r) r = probe__write_npy(out, "lens_spectrum.npy", mag, 2, shp, err);

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
                             .col_labels = cols, .annotate = 1, .stretch = 1 };   // one format for every cell
    // the constant k = 0 shifts every digit logit alike; softmax ignores it, so it is left out of the pictures
    float *mk = malloc(sizeof(float) * nc * (NF - 1));
    if (!mk) r = err_set(err, "out of memory");
    for (int c = 0; !r && c < nc; c++)
        for (int k = 1; k < NF; k++) mk[c * (NF - 1) + k - 1] = mag[c * NF + k];
    if (!r) r = plot_heatmap_write(probe__path(out, "lens_spectrum.png"), mk, nc, NF - 1, &ho, err);
    ho.title = "Logit lens: each row's share of its non-constant Fourier magnitude";
    ho.cbar_label = "share of row";
    ho.vmin = 0; ho.vmax = 1;
    if (!r) r = plot_heatmap_write(probe__path(out, "lens_spectrum_share.png"), rel, nc, NF - 1, &ho, err);
    free(mk);

    // (c) ablation
    int na = 0, idx[PROBE_MAX_COMPONENTS];
    for (int c = 0; c < nc; c++) if (lens.kind[c] == PROBE_COMP_ATTN || lens.kind[c] == PROBE_COMP_MLP) idx[na++] = c;
    double base_d = (double)lens.base_digits / lens.n_positions, base_s = (double)lens.base_seqs / lens.n_seqs;
    if (!r && na) {
        f = probe__open(out, "ablation.csv", path, sizeof path, err);
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
            r = probe__close(f, path, err);
        }
        float *acc = malloc(sizeof(float) * (na + 1) * 3);
        const char *arows[PROBE_MAX_COMPONENTS + 1];
        char c0[64], c1[64];
        snprintf(c0, sizeof c0, "none removed (%.1f%%)", 100.0 * base_s);
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
        // the figure shows the change from the baseline (nothing removed), white at no change
        for (int i = 0; !r && i < (na + 1) * 3; i++) acc[i] -= (float)(100.0 * base_s);
        plot_heatmap_opts ao = { .width = 760, .height = 250 + 50 * na,
                                 .title = "Change in answers right (teacher-forced) when a band is removed from one component",
                                 .xlabel = "frequencies removed from the component's digit logits", .ylabel = "component",
                                 .cbar_label = "change in exact match (percentage points)", .cmap = PLOT_CMAP_DIVERGING,
                                 .row_labels = arows, .col_labels = acols, .annotate = 1, .annot_fmt = "%+.1f",
                                 .stretch = 1 };
        if (!r) r = plot_heatmap_write(probe__path(out, "ablation.png"), acc, na + 1, 3, &ao, err);
        free(acc);
    }

    if (!r) {
        probe__say(log, "logit lens over %ld answer digits of %ld problems (k=1..5, periods 10, 5, 3.3, 2.5, 2):\n",
               lens.n_positions, lens.n_seqs);
        int w = 10;
        for (int c = 0; c < nc; c++) w = (int)strlen(lens.name[c]) > w ? (int)strlen(lens.name[c]) : w;
        for (int c = 0; c < nc; c++) {
            probe__say(log, "  %-*s digit acc %5.1f%%  share", w, lens.name[c], 100.0 * lens.n_correct[c] / lens.n_positions);
            for (int k = 1; k < NF; k++) probe__say(log, " %4.2f", (double)rel[c * (NF - 1) + k - 1]);
            probe__say(log, "\n");
        }
        if (na) {
            probe__say(log, "band ablation (teacher-forced exact match; baseline %.1f%%):\n", 100.0 * base_s);
            for (int i = 0; i < na; i++)
                probe__say(log, "  %-*s low k=1..%d removed %5.1f%%   high k=%d..5 removed %5.1f%%\n", w, lens.name[idx[i]], low_max,
                       100.0 * lens.abl_seqs[idx[i] * 2] / lens.n_seqs, low_max + 1,
                       100.0 * lens.abl_seqs[idx[i] * 2 + 1] / lens.n_seqs);
            probe__say(log, "  %-*s low k=1..%d removed %5.1f%%   high k=%d..5 removed %5.1f%%\n", w, "final", low_max,
                   100.0 * lens.final_seqs[0] / lens.n_seqs, low_max + 1, 100.0 * lens.final_seqs[1] / lens.n_seqs);
        }
    }
    free(mag); free(rel);
    probe_lens_free(&lens);
    return r;
}


// FoNE (Zhou et al. 2025) writes each number as one [NUM] token whose embedding is
// the Fourier features of its value, read back by the digit head: the digit-token
// rows (a) analyses are never trained there and the lens's digit logits do not
// exist, so the probe refuses rather than report untrained weights
static int refuse_fone(const Model *m, const TaskConfig *tc, char *err)
{
    int fone_model = m->head->decodes == MODEL_HEAD_DIGITS || model_value_scheme(&m->cfg);
    if (!fone_model && tc->numbers != TASK_NUMBERS_FONE) return 0;
    return err_set(err, "%s: numbers are FoNE [NUM] tokens whose embedding is the Fourier features of the value, "
                   "so the digit-token embeddings this probe analyses are untrained and there are no digit logits "
                   "to lens; probe fourier reads digit-token models only (model.head = lm, task.numbers = digits)",
                   fone_model ? "the checkpoint's model.head = fone (model.position has the fone scheme)"
                              : "the run's task.numbers = fone");
}

int probe_fourier_write(Model *m, const TaskConfig *tc, const probe_fourier_opts *o, const char *dir, FILE *log,
                        char *err)
{
    if (refuse_fone(m, tc, err)) return -1;
    // one token per value: the number axis is the values 0..N-1 (probes/numtok_write.c)
    if (tc->numbers == TASK_NUMBERS_TOKENS) return probe_numtok_fourier_write(m, tc, o, dir, log, err);
    if (fourier_embed(m, dir, o->key_ratio, log, err)) return -1;
    TaskExample *ex = NULL;
    probe_places pl;
    int r = probe_make_examples(tc, o->n, o->seed, &ex, err);
    if (!r) {
        if (probe_find_places(tc, &ex[0], &pl, err))
            probe__say(log, "logit lens skipped: %s\n", err);   // e.g. sort: the answer is not digits
        else
            r = fourier_lens(m, tc, ex, o->n, o->low_max, dir, log, err);
    }
    free(ex);
    return r;
}
