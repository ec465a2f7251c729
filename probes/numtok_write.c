// numtok_write.c: the probes' files for number-token models (task.numbers = tokens):
// Fourier spectra of the number-token embedding and unembedding rows over the values,
// the logit lens over the answer tokens, the neurons' 2-D DFT over all pairs (modadd),
// and the helix fit (probes/probe.h, probe_numtok_fourier_write, probe_helix_write).
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "probes/probe.h"
#include "probes/files.h"
#include "plot/plot.h"
#include "model/ops.h"

// ---------------------------------------------------------------- spectra of the rows

// rows (N, C) over the values 0..N-1: spectrum CSV and bar chart, key frequencies logged
static int numtok_spectrum(const float *rows, int N, int C, const char *what, const char *stem, float key_ratio,
                           const char *out, FILE *log, char *err)
{
    int NF = probe_fourier_n_freq(N), r = 0;
    float *coef = malloc(sizeof(float) * (size_t)N * C), *norm = malloc(sizeof(float) * NF);
    float *share = malloc(sizeof(float) * NF);
    int *keys = malloc(sizeof(int) * NF), *is_key = calloc((size_t)NF, sizeof(int));
    if (!coef || !norm || !share || !keys || !is_key || probe_fourier_project(rows, N, C, coef))
        r = err_set(err, "out of memory for the spectrum of %d rows", N);
    int nk = 0;
    if (!r) {
        probe_fourier_spectrum(coef, N, C, norm);
        nk = probe_fourier_key_freqs(norm, N, key_ratio, share, keys);
        for (int i = 0; i < nk; i++) is_key[keys[i]] = 1;
    }
    char name[128], path[4096];
    snprintf(name, sizeof name, "%s_spectrum.csv", stem);
    FILE *f = r ? NULL : probe__open(out, name, path, sizeof path, err);
    if (!r && !f) r = -1;
    if (f) {
        fprintf(f, "k,period,norm,share_of_nonconstant_energy,key\n");
        for (int k = 0; k < NF; k++)
            fprintf(f, "%d,%.6g,%.6g,%.6g,%d\n", k, k ? (double)N / k : INFINITY, (double)norm[k], (double)share[k], is_key[k]);
        r = probe__close(f, path, err);
    }
    if (!r) {
        char title[256];
        snprintf(title, sizeof title, "%s: Fourier norm per frequency over the values 0..%d (red: key, >= %.3g x flat share)",
                 what, N - 1, (double)key_ratio);
        plot_bar_opts bo = { .width = NF > 60 ? 1100 : 760, .height = 420, .title = title,
                             .xlabel = "frequency k (period N/k)", .ylabel = "norm (cos and sin, all channels)",
                             .highlight = is_key };
        snprintf(name, sizeof name, "%s_spectrum.png", stem);
        r = plot_bar_write(probe__path(out, name), norm, NF, &bo, err);
    }
    if (!r) {
        probe__say(log, "%s (N = %d): key frequencies:", what, N);
        for (int i = 0; i < nk; i++) probe__say(log, " k=%d (%.0f%%)", keys[i], 100.0 * share[keys[i]]);
        double all = 0.0;
        for (int k = 0; k < NF; k++) all += (double)norm[k] * norm[k];
        if (!nk) probe__say(log, " none%s", all - (double)norm[0] * norm[0] < PROBE_FOURIER_ENERGY_FLOOR * all
                                             ? " (the rows do not depend on the value)" : " (no frequency stands out)");
        probe__say(log, "\n");
    }
    free(coef); free(norm); free(share); free(keys); free(is_key);
    return r;
}

// ---------------------------------------------------------------- logit lens over the answer tokens

// the pieces of the residual read at the answer position, as probe_logit_lens names them
typedef struct { int kind, pass; char name[40]; } lens_comp;

static int numtok_components(const Model *m, lens_comp *comp, char *err)
{
    int L = m->cfg.n_layer, NP = model_n_passes(m), pre_ln = !m->cfg.post_ln, n = 0;
    if (NP > PROBE_MAX_PASSES) return err_set(err, "the logit lens reads at most %d passes; the model runs %d", PROBE_MAX_PASSES, NP);
    comp[n++] = (lens_comp){ PROBE_COMP_EMBED, -1, "embed" };
    for (int p = 0; p < NP; p++) {
        char pn[32];
        probe_pass_name(p, L, NP, pn, sizeof pn);
        if (pre_ln) {
            comp[n] = (lens_comp){ PROBE_COMP_ATTN, p, "" };
            snprintf(comp[n++].name, 40, "%s attn", pn);
            comp[n] = (lens_comp){ PROBE_COMP_MLP, p, "" };
            snprintf(comp[n++].name, 40, "%s mlp", pn);
        }
        comp[n] = (lens_comp){ PROBE_COMP_RESID, p, "" };
        snprintf(comp[n++].name, 40, "%s resid", pn);
    }
    return n;
}

static int numtok_lens(Model *m, const TaskConfig *tc, const probe_fourier_opts *o, const char *out, FILE *log, char *err)
{
    int NA = task_number_tokens(tc), C = m->cfg.n_embd, NF = probe_fourier_n_freq(NA);
    lens_comp comp[PROBE_MAX_COMPONENTS];
    int nc = numtok_components(m, comp, err);
    if (nc < 0) return -1;
    TaskExample *ex = NULL;
    if (probe_make_examples(tc, o->n, o->seed, &ex, err)) return -1;
    int B = m->B_max, n = o->n, r = 0;
    float *basis = malloc(sizeof(float) * (size_t)NA * NA), *X = malloc(sizeof(float) * (size_t)B * C);
    float *Y = malloc(sizeof(float) * (size_t)B * C), *U = malloc(sizeof(float) * (size_t)B * NA);
    float *attn = malloc(sizeof(float) * (size_t)B * m->T_max * C), *mlp = malloc(sizeof(float) * (size_t)B * m->T_max * C);
    float *mean = malloc(sizeof(float) * B), *rstd = malloc(sizeof(float) * B);
    double *mag = calloc((size_t)nc * NF, sizeof(double));
    long *correct = calloc((size_t)nc, sizeof(long));
    int *rows = malloc(sizeof(int) * B), *target = malloc(sizeof(int) * B);
    if (!basis || !X || !Y || !U || !attn || !mlp || !mean || !rstd || !mag || !correct || !rows || !target)
        r = err_set(err, "out of memory for the logit lens over %d answer tokens", NA);
    if (!r) probe_fourier_basis(NA, basis);
    probe_batches it = {0};
    if (!r) r = probe_batches_init(&it, m, ex, n, err);
    while (!r && (r = probe_batches_next(&it, err)) > 0) {
        r = 0;
        int nb = it.nb, T = it.T;
        for (int b = 0; b < nb; b++) {
            const TaskExample *e = &ex[it.first + b];
            rows[b] = b * T + e->answer_start - 1;   // the position whose next token is the answer <c>
            target[b] = task_tok_number(e->tokens[e->answer_start]);
        }
        for (int ci = 0; ci < nc && !r; ci++) {
            const float *src = NULL;
            int dla = comp[ci].kind == PROBE_COMP_ATTN || comp[ci].kind == PROBE_COMP_MLP;
            if (comp[ci].kind == PROBE_COMP_ATTN) {
                if ((r = model_pass_contributions(m, comp[ci].pass, attn, mlp, err))) break;
                src = attn;
            } else if (comp[ci].kind == PROBE_COMP_MLP) {
                src = mlp;   // filled at the pass's attn row, just before
            } else {
                src = model_pass_residual(m, comp[ci].pass);
            }
            for (int b = 0; b < nb; b++) memcpy(X + (size_t)b * C, src + (size_t)rows[b] * C, sizeof(float) * C);
            if (dla && model_has_norm(m)) {   // direct logit attribution: the final LayerNorm's scale, no bias
                for (int b = 0; b < nb; b++) {
                    float mu = 0.0f, s = m->lnf_rstd[rows[b]];
                    for (int c = 0; c < C; c++) mu += X[(size_t)b * C + c];
                    mu /= C;
                    for (int c = 0; c < C; c++) Y[(size_t)b * C + c] = (X[(size_t)b * C + c] - mu) * s * m->lnfw[c];
                }
            } else {
                model_final_norm(m, Y, mean, rstd, X, nb);
            }
            matmul_forward(U, Y, m->lm_head + (size_t)TASK_NUMTOK0 * C, NULL, nb, C, NA);
            for (int b = 0; b < nb; b++) {
                const float *u = U + (size_t)b * NA;
                int best = 0;
                for (int v = 1; v < NA; v++) if (u[v] > u[best]) best = v;
                correct[ci] += best == target[b];
                double *mk = mag + (size_t)ci * NF;
                for (int row = 0; row < NA; row++) {
                    double s = 0.0;
                    for (int v = 0; v < NA; v++) s += (double)basis[(size_t)row * NA + v] * u[v];
                    mk[probe_fourier_row_freq(NA, row)] += s * s / n;   // mean energy per frequency
                }
            }
        }
    }
    probe_batches_free(&it);
    char path[4096];
    FILE *f = r ? NULL : probe__open(out, "numtok_lens.csv", path, sizeof path, err);
    if (!r && !f) r = -1;
    float *share = r ? NULL : malloc(sizeof(float) * (size_t)nc * (NF - 1));
    if (!r && !share) r = err_set(err, "out of memory");
    for (int ci = 0; !r && ci < nc; ci++) {
        double tot = 0.0;
        for (int k = 1; k < NF; k++) tot += mag[(size_t)ci * NF + k];
        for (int k = 1; k < NF; k++) share[(size_t)ci * (NF - 1) + k - 1] = tot > 0 ? (float)(mag[(size_t)ci * NF + k] / tot) : NAN;
    }
    if (f) {
        fprintf(f, "component,k,period,mean_energy,share_of_nonconstant,answer_accuracy\n");
        for (int ci = 0; ci < nc; ci++)
            for (int k = 0; k < NF; k++)
                fprintf(f, "%s,%d,%.6g,%.6g,%.6g,%.4f\n", comp[ci].name, k, k ? (double)NA / k : INFINITY, mag[(size_t)ci * NF + k],
                        k ? (double)share[(size_t)ci * (NF - 1) + k - 1] : NAN, (double)correct[ci] / n);
        r = probe__close(f, path, err);
    }
    if (!r) {
        const char *rl[PROBE_MAX_COMPONENTS];
        for (int ci = 0; ci < nc; ci++) rl[ci] = comp[ci].name;
        char title[256];
        snprintf(title, sizeof title, "Logit lens over the %d answer tokens: share of each frequency (period %d/k), %d problems",
                 NA, NA, n);
        plot_heatmap_opts ho = { .width = 1100, .height = 160 + 46 * nc, .title = title, .xlabel = "frequency k = 1..N/2",
                                 .ylabel = "layer / component", .cbar_label = "share of row", .cmap = PLOT_CMAP_VIRIDIS,
                                 .row_labels = rl, .stretch = 1, .vmin = 0, .vmax = 1 };
        r = plot_heatmap_write(probe__path(out, "numtok_lens.png"), share, nc, NF - 1, &ho, err);
    }
    if (!r) {
        probe__say(log, "logit lens over the %d answer tokens at the position before <c>, %d problems:\n", NA, n);
        for (int ci = 0; ci < nc; ci++) {
            probe__say(log, "  %-14s answer acc %5.1f%%  top frequencies", comp[ci].name, 100.0 * correct[ci] / n);
            int used[3] = {-1, -1, -1};
            for (int t = 0; t < 3; t++) {
                int best = -1;
                for (int k = 1; k < NF; k++) {
                    if (k == used[0] || k == used[1]) continue;
                    if (best < 0 || share[(size_t)ci * (NF - 1) + k - 1] > share[(size_t)ci * (NF - 1) + best - 1]) best = k;
                }
                used[t] = best;
                if (best > 0) probe__say(log, " k=%d (%.0f%%)", best, 100.0 * share[(size_t)ci * (NF - 1) + best - 1]);
            }
            probe__say(log, "\n");
        }
    }
    free(share);
    free(ex); free(basis); free(X); free(Y); free(U); free(attn); free(mlp); free(mean); free(rstd);
    free(mag); free(correct); free(rows); free(target);
    return r;
}

// ---------------------------------------------------------------- forwards over number tokens

// prompts <bos> <a> op <b> = for rows [first, first + nb) of the list (a = row / bsz ... as
// the caller sets them in pa, pb), one forward of shape (nb, 5)
static void forward_pairs(Model *m, const TaskConfig *tc, const int *pa, const int *pb, int nb, int *tok)
{
    for (int i = 0; i < nb; i++) {
        int *t = tok + (size_t)i * 5;
        t[0] = TASK_BOS;
        t[1] = TASK_NUMTOK0 + pa[i];
        t[2] = task_tok('+');
        t[3] = TASK_NUMTOK0 + pb[i];
        t[4] = task_tok('=');
    }
    (void)tc;
    model_forward(m, tok, NULL, nb, 5);
}

// ---------------------------------------------------------------- neuron 2-D DFT (modadd)

static int numtok_neuron_dft(Model *m, const TaskConfig *tc, const char *out, FILE *log, char *err)
{
    int p = tc->modulus, H = m->cfg.mlp_hidden, NP = model_n_passes(m), Bm = m->B_max, nf = p / 2 + 1, r = 0;
    size_t pp = (size_t)p * p;
    float *act = malloc(sizeof(float) * pp * H * (size_t)NP);
    int *tok = malloc(sizeof(int) * (size_t)Bm * 5), *pa = malloc(sizeof(int) * Bm), *pb = malloc(sizeof(int) * Bm);
    double *energy = malloc(sizeof(double) * (size_t)nf * nf * NP);
    float *share = malloc(sizeof(float) * (size_t)nf * nf);
    if (!act || !tok || !pa || !pb || !energy || !share) r = err_set(err, "out of memory for the neuron DFT over %d pairs", p * p);
    for (size_t start = 0; !r && start < pp; start += Bm) {
        int nb = pp - start < (size_t)Bm ? (int)(pp - start) : Bm;
        for (int i = 0; i < nb; i++) { pa[i] = (int)((start + i) / p); pb[i] = (int)((start + i) % p); }
        forward_pairs(m, tc, pa, pb, nb, tok);
        for (int q = 0; q < NP; q++) {
            const float *h = model_pass_mlp_hidden(m, q);
            for (int i = 0; i < nb; i++)
                memcpy(act + ((size_t)q * pp + start + i) * H, h + ((size_t)i * 5 + 4) * H, sizeof(float) * H);
        }
    }
    for (int q = 0; !r && q < NP; q++) r = probe_dft2_energy(act + (size_t)q * pp * H, p, H, energy + (size_t)q * nf * nf, err);
    char path[4096];
    FILE *f = r ? NULL : probe__open(out, "neuron_dft.csv", path, sizeof path, err);
    if (!r && !f) r = -1;
    if (f) {
        fprintf(f, "pass,ka,kb,energy,share\n");
        for (int q = 0; q < NP; q++) {
            double tot = 0.0;
            for (int i = 0; i < nf * nf; i++) tot += energy[(size_t)q * nf * nf + i];
            for (int i = 0; i < nf * nf; i++)
                fprintf(f, "%d,%d,%d,%.6g,%.6g\n", q, i / nf, i % nf, energy[(size_t)q * nf * nf + i],
                        tot > 0 ? energy[(size_t)q * nf * nf + i] / tot : 0.0);
        }
        r = probe__close(f, path, err);
    }
    for (int q = 0; !r && q < NP; q++) {
        const double *e = energy + (size_t)q * nf * nf;
        double tot = 0.0;
        for (int i = 0; i < nf * nf; i++) tot += e[i];
        for (int i = 0; i < nf * nf; i++) share[i] = tot > 0 ? (float)(e[i] / tot) : 0.0f;
        char pn[32], title[256], name[64];
        probe_pass_name(q, m->cfg.n_layer, NP, pn, sizeof pn);
        snprintf(title, sizeof title, "MLP neurons (%s, position of '='): energy share per (ka, kb) over all %d pairs", pn, p * p);
        plot_heatmap_opts ho = { .width = 820, .height = 760, .title = title, .xlabel = "kb (frequency over b)",
                                 .ylabel = "ka (frequency over a)", .cbar_label = "share of the energy",
                                 .cmap = PLOT_CMAP_VIRIDIS, .stretch = 1 };
        snprintf(name, sizeof name, "neuron_dft_P%d.png", q);
        if (NP == m->cfg.n_layer) snprintf(name, sizeof name, "neuron_dft_L%d.png", q);
        r = plot_heatmap_write(probe__path(out, name), share, nf, nf, &ho, err);
        if (r) break;
        probe__say(log, "neurons of %s over all %d pairs: largest (ka, kb) shares:", pn, p * p);
        int used[8];
        for (int t = 0; t < 8; t++) {
            int best = -1;
            for (int i = 0; i < nf * nf; i++) {
                int taken = 0;
                for (int u = 0; u < t; u++) taken |= used[u] == i;
                if (!taken && (best < 0 || share[i] > share[best])) best = i;
            }
            used[t] = best;
            probe__say(log, " (%d,%d) %.1f%%", best / nf, best % nf, 100.0 * share[best]);
        }
        probe__say(log, "\n");
    }
    free(act); free(tok); free(pa); free(pb); free(energy); free(share);
    return r;
}

// ---------------------------------------------------------------- probe fourier

int probe_numtok_fourier_write(Model *m, const TaskConfig *tc, const probe_fourier_opts *o, const char *dir,
                               FILE *log, char *err)
{
    int N = task_operand_range(tc), NA = task_number_tokens(tc), C = m->cfg.n_embd;
    if (tc->numbers != TASK_NUMBERS_TOKENS) return err_set(err, "the run's task.numbers is not tokens");
    if (NA > PROBE_NUMTOK_MAX_N)
        return err_set(err, "the task has %d number tokens; the Fourier probe over number tokens takes at most %d "
                       "(its basis is N x N)", NA, PROBE_NUMTOK_MAX_N);
    float *rows = malloc(sizeof(float) * (size_t)NA * C);
    if (!rows) return err_set(err, "out of memory");
    int r = probe_numtok_rows(m, 0, N, rows, err);
    int64_t shp[2] = {N, C};
    if (!r) r = probe__write_npy(dir, "numtok_embed.npy", rows, 2, shp, err);
    if (!r) r = numtok_spectrum(rows, N, C, "number-token embeddings", "numtok_embed", o->key_ratio, dir, log, err);
    if (!r) r = probe_numtok_rows(m, 1, NA, rows, err);
    if (!r) r = numtok_spectrum(rows, NA, C, "number-token unembeddings (answer tokens)", "numtok_unembed", o->key_ratio,
                                dir, log, err);
    free(rows);
    if (!r && tc->task == TASK_ADD && tc->sum_as == TASK_SUM_AS_DIGITS)
        probe__say(log, "logit lens skipped: with sum_as=digits the answer is digits, not a number token\n");
    else if (!r) r = numtok_lens(m, tc, o, dir, log, err);
    if (!r && tc->task == TASK_MODADD) {
        if (tc->modulus > PROBE_DFT2_MAX_P)
            probe__say(log, "neuron DFT skipped: modulus %d is above %d (it runs over all p^2 pairs)\n", tc->modulus, PROBE_DFT2_MAX_P);
        else r = numtok_neuron_dft(m, tc, dir, log, err);
    }
    return r;
}

// ---------------------------------------------------------------- probe helix

int probe_helix_write(Model *m, const TaskConfig *tc, const double *periods, int n_periods, const char *dir,
                      FILE *log, char *err)
{
    if (tc->numbers != TASK_NUMBERS_TOKENS)
        return err_set(err, "the helix fit reads number tokens, one per value; this run's task.numbers = %s "
                       "(the probe takes task.numbers = tokens)", tc->numbers == TASK_NUMBERS_FONE ? "fone" : "digits");
    int N = task_operand_range(tc), C = m->cfg.n_embd, NP = model_n_passes(m), Bm = m->B_max, NR = NP + 2, r = 0;
    if (n_periods < 1 || n_periods > PROBE_HELIX_MAX_PERIODS)
        return err_set(err, "the helix fit takes 1..%d periods, not %d", PROBE_HELIX_MAX_PERIODS, n_periods);
    if (N > PROBE_NUMTOK_MAX_N) return err_set(err, "%d operand tokens; the helix probe takes at most %d", N, PROBE_NUMTOK_MAX_N);
    // representations: the embedding rows, then the residual at the operand's position (1) before pass 0 and after each
    float *rep = malloc(sizeof(float) * (size_t)NR * N * C), *planes = malloc(sizeof(float) * (size_t)n_periods * N * 2);
    double *x = malloc(sizeof(double) * N);
    int *tok = malloc(sizeof(int) * (size_t)Bm * 5), *pa = malloc(sizeof(int) * Bm), *pb = calloc((size_t)Bm, sizeof(int));
    float *u = malloc(sizeof(float) * N), *v = malloc(sizeof(float) * N);
    char (*rname)[40] = malloc(sizeof(*rname) * NR);
    if (!rep || !planes || !x || !tok || !pa || !pb || !u || !v || !rname) r = err_set(err, "out of memory for the helix fit");
    if (!r) r = probe_numtok_rows(m, 0, N, rep, err);
    for (int n = 0; n < N; n++) if (x) x[n] = n;
    for (int start = 0; !r && start < N; start += Bm) {
        int nb = N - start < Bm ? N - start : Bm;
        for (int i = 0; i < nb; i++) pa[i] = start + i;
        forward_pairs(m, tc, pa, pb, nb, tok);
        for (int q = -1; q < NP; q++) {
            const float *res = model_pass_residual(m, q);
            for (int i = 0; i < nb; i++)
                memcpy(rep + ((size_t)(q + 2) * N + start + i) * C, res + ((size_t)i * 5 + 1) * C, sizeof(float) * C);
        }
    }
    if (!r) {
        snprintf(rname[0], 40, "embedding");
        snprintf(rname[1], 40, "resid_embed");
        for (int q = 0; q < NP; q++) {
            char pn[32];
            probe_pass_name(q, m->cfg.n_layer, NP, pn, sizeof pn);
            snprintf(rname[q + 2], 40, "resid_%s", pn);
            for (char *c = rname[q + 2]; *c; c++) if (*c == ' ' || *c == '(' || *c == ')') *c = '_';
        }
    }
    char path[4096];
    FILE *f = r ? NULL : probe__open(dir, "helix.csv", path, sizeof path, err);
    if (!r && !f) r = -1;
    if (f) fprintf(f, "representation,fit,r2\n");
    for (int ri = 0; !r && ri < NR; ri++) {
        const float *X = rep + (size_t)ri * N * C;
        double r2_all, r2_lin, r2_T[PROBE_HELIX_MAX_PERIODS];
        if ((r = probe_helix_fit(X, x, N, C, periods, n_periods, 1, &r2_all, planes, err))) break;
        if ((r = probe_helix_fit(X, x, N, C, NULL, 0, 1, &r2_lin, NULL, err))) break;
        for (int j = 0; j < n_periods && !r; j++) r = probe_helix_fit(X, x, N, C, periods + j, 1, 0, &r2_T[j], NULL, err);
        if (r) break;
        fprintf(f, "%s,x,%.6f\n", rname[ri], r2_lin);
        for (int j = 0; j < n_periods; j++) fprintf(f, "%s,T=%g,%.6f\n", rname[ri], periods[j], r2_T[j]);
        fprintf(f, "%s,all,%.6f\n", rname[ri], r2_all);
        probe__say(log, "helix %-14s variance explained: x %.3f", rname[ri], r2_lin);
        for (int j = 0; j < n_periods; j++) probe__say(log, "  T=%g %.3f", periods[j], r2_T[j]);
        probe__say(log, "  all %.3f\n", r2_all);
        for (int j = 0; j < n_periods && !r; j++) {
            for (int n = 0; n < N; n++) { u[n] = planes[((size_t)j * N + n) * 2]; v[n] = planes[((size_t)j * N + n) * 2 + 1]; }
            char title[256], name[96];
            snprintf(title, sizeof title, "%s: tokens 0..%d on the T=%g plane (joined in order of value; %.0f%% of variance alone)",
                     rname[ri], N - 1, periods[j], 100.0 * r2_T[j]);
            plot_series s = { .name = NULL, .x = u, .y = v, .n = N, .markers = 1 };
            plot_line_opts lo = { .width = 640, .height = 600, .title = title, .xlabel = "cos direction",
                                  .ylabel = "sin direction", .line_px = 1 };
            snprintf(name, sizeof name, "helix_%s_T%g.png", rname[ri], periods[j]);
            r = plot_line_write(probe__path(dir, name), &s, 1, &lo, err);
        }
    }
    if (f) { int rc = probe__close(f, path, err); if (!r) r = rc; }
    free(rep); free(planes); free(x); free(tok); free(pa); free(pb); free(u); free(v); free(rname);
    return r;
}
