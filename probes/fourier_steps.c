// fourier_steps.c: the number embeddings' Fourier spectrum at every checkpoint a
// run kept (probes/fourier_steps.h): the ten digit tokens, or a number-token
// model's operand tokens (period N); the spectrum computed by the Fourier probe's
// own functions (probes/fourier.c) on embeddings read through model/inspect.h.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/inspect.h"
#include "model/head.h"
#include "plot/plot.h"
#include "probes/files.h"
#include "probes/fourier_steps.h"
#include "probes/probe.h"
#include "run/load.h"
#include "run/report.h"
#include "run/run.h"
#include "run/train.h"

enum { N_DIGITS = 10 };

// the number axis of a checkpoint: the ten digit tokens, or for task.numbers = tokens the
// operand tokens' values 0..N-1 (modadd: the residues). 0 + *N, or -1 + err.
static int number_axis(const char *path, int *N, int *tokens, char *err)
{
    RunConfig rc;
    if (run_config_from_checkpoint(&rc, path, err)) return -1;
    *tokens = rc.task.numbers == TASK_NUMBERS_TOKENS;
    *N = *tokens ? task_operand_range(&rc.task) : N_DIGITS;
    if (*N < 2 || *N > PROBE_NUMTOK_MAX_N)
        return err_set(err, "%s: %d number tokens: the probe takes 2..%d", path, *N, PROBE_NUMTOK_MAX_N);
    return 0;
}

// share (nf) and is_key (nf) of the number embeddings (N rows) of the checkpoint at path
static int spectrum_of(const char *path, int N, int tokens, float key_ratio, int threads, float *share, int *is_key,
                       char *err)
{
    Model m;
    if (run_load_model(&m, path, N, 1, threads, err)) return -1;
    int r = 0, C = m.cfg.n_embd, nf = probe_fourier_n_freq(N);
    if (m.head->decodes == MODEL_HEAD_DIGITS || model_value_scheme(&m.cfg))
        r = err_set(err, "%s: a FoNE model (model.head = fone or the fone scheme): its numbers are [NUM] tokens, "
                    "so there are no trained digit-token embeddings to analyse", path);
    else if (!tokens && m.cfg.vocab_size < TASK_DIGIT0 + N_DIGITS)
        r = err_set(err, "%s: the vocabulary (%d) has no digit tokens", path, m.cfg.vocab_size);
    float *x = malloc(sizeof(float) * (size_t)N * C), *coef = malloc(sizeof(float) * (size_t)N * C);
    float *norm = malloc(sizeof(float) * nf);
    int *keys = malloc(sizeof(int) * nf);
    if (!r && (!x || !coef || !norm || !keys)) r = err_set(err, "out of memory");
    if (!r && tokens) {
        r = probe_numtok_rows(&m, 0, N, x, err);   // x (N, C): the operand tokens' embedding rows
    } else if (!r) {
        int tok[N_DIGITS];
        for (int d = 0; d < N_DIGITS; d++) tok[d] = TASK_DIGIT0 + d;
        model_forward(&m, tok, NULL, N_DIGITS, 1);   // (10, 1): one digit per row
        r = model_embed_parts(&m, x, NULL, err);   // x (10, C): the digits' token embeddings
    }
    if (!r && probe_fourier_project(x, N, C, coef)) r = err_set(err, "out of memory");
    if (!r) {
        probe_fourier_spectrum(coef, N, C, norm);
        int nk = probe_fourier_key_freqs(norm, N, key_ratio, share, keys);
        memset(is_key, 0, sizeof(int) * nf);
        for (int i = 0; i < nk; i++) is_key[keys[i]] = 1;
    }
    free(x); free(coef); free(norm); free(keys);
    model_free(&m);
    return r;
}

static int write_plot(const char *run_dir, const char *dir, const long *steps, const float *share, const int *is_key,
                      int n, int N, int tokens, float key_ratio, char *err)
{
    int nf = probe_fourier_n_freq(N), n_any = 0, *any = calloc(nf, sizeof(int));
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * (size_t)n * nf);
    // at most 8 frequency lines: the key ones (by their largest share), else k = 1..5
    enum { MAX_LINES = 8 };
    plot_series s[MAX_LINES + 2];
    char names[MAX_LINES][48];
    ReportMetrics mt = {0};
    int ns = 0, r = 0;
    if (!any || !x || !y) { r = err_set(err, "out of memory"); goto done; }
    for (int i = 0; i < n; i++)
        for (int k = 1; k < nf; k++) any[k] |= is_key[i * nf + k];
    for (int k = 1; k < nf; k++) n_any += any[k];
    for (int i = 0; i < n; i++) x[i] = (float)steps[i];
    for (int k = 1; k < nf && ns < MAX_LINES; k++) {
        if (n_any ? !any[k] : k > 5) continue;
        for (int i = 0; i < n; i++) y[(size_t)k * n + i] = share[i * nf + k];
        snprintf(names[ns], sizeof names[ns], "k=%d (period %.3g)", k, (double)N / k);
        s[ns] = (plot_series){ .name = names[ns], .x = x, .y = y + (size_t)k * n, .n = n, .markers = 1 };
        ns++;
    }
    // beside them, the run's held-out and training accuracy (grokking: the delayed rise); without
    // a readable metrics.csv, the shares alone
    char merr[ERR_MAX];
    if (report_read_metrics(run_dir, &mt, merr)) mt.n_acc = 0;
    int n_acc = mt.n_acc;
    static const plot_rgb grey = {0.6f, 0.6f, 0.6f}, black = {0.0f, 0.0f, 0.0f};
    if (n_acc) {
        s[ns++] = (plot_series){ .name = "held-out exact match", .x = mt.acc_step, .y = mt.acc, .n = n_acc, .color = &black };
        s[ns++] = (plot_series){ .name = "training exact match", .x = mt.acc_step, .y = mt.train_acc, .n = n_acc, .color = &grey,
                                 .dashed = 1 };
    }
    char title[200];
    const char *what = tokens ? "Number-token embeddings" : "Digit embeddings";
    snprintf(title, sizeof title, n_any ? "%s: share of each key frequency (ratio %.3g) at each kept checkpoint"
                                        : "%s: share per frequency at each kept checkpoint (no key frequency, ratio %.3g)",
             what, (double)key_ratio);
    plot_line_opts o = { .title = title, .xlabel = "training step",
                         .ylabel = n_acc ? "share of the non-constant energy; exact match" : "share of the non-constant energy",
                         .ymin = 0.0f, .ymax = 1.0f };
    r = plot_line_write(probe__path(dir, "fourier_steps.png"), s, ns, &o, err);
done:
    free(any); free(x); free(y);
    report_metrics_free(&mt);
    return r;
}

int probe_fourier_steps_write(const char *run_dir, float key_ratio, int threads, const char *dir, FILE *log, char *err)
{
    char **paths;
    long *steps;
    int n;
    if (run_kept_checkpoints(run_dir, &paths, &steps, &n, err)) return -1;
    if (!n) {
        return err_set(err, "%s holds no kept checkpoint (" RUN_KEPT_CKPT_FMT "-style files): train with "
                       "--set train.keep_every=N to keep one every N steps", run_dir, 500L);
    }
    int N = 0, tokens = 0, r = number_axis(paths[0], &N, &tokens, err), nf = probe_fourier_n_freq(N);
    float *share = r ? NULL : malloc(sizeof(float) * (size_t)n * nf);
    int *is_key = r ? NULL : malloc(sizeof(int) * (size_t)n * nf);
    if (!r && (!share || !is_key)) r = err_set(err, "out of memory");
    for (int i = 0; !r && i < n; i++) r = spectrum_of(paths[i], N, tokens, key_ratio, threads, share + i * nf, is_key + i * nf, err);
    char path[4096];
    FILE *f = r ? NULL : probe__open(dir, "fourier_steps.csv", path, sizeof path, err);
    if (!r && !f) r = -1;
    if (f) {
        fprintf(f, "step,k,period,share_of_nonconstant_energy,key\n");
        for (int i = 0; i < n; i++)
            for (int k = 0; k < nf; k++)
                fprintf(f, "%ld,%d,%.4g,%.6g,%d\n", steps[i], k, k ? (double)N / k : INFINITY,
                        (double)share[i * nf + k], is_key[i * nf + k]);
        r = probe__close(f, path, err);
    }
    int64_t shp[2] = {n, nf};
    if (!r) r = probe__write_npy(dir, "fourier_steps.npy", share, 2, shp, err);
    if (!r) r = write_plot(run_dir, dir, steps, share, is_key, n, N, tokens, key_ratio, err);
    if (!r) {
        probe__say(log, "%s over %d kept checkpoints (share of the non-constant energy per k; * key):\n",
                   tokens ? "number-token embeddings" : "digit embeddings", n);
        for (int i = 0; i < n; i++) {
            probe__say(log, "  step %7ld:", steps[i]);
            int shown = 0;
            for (int k = 1; k < nf; k++) {
                if (nf > 6 && !is_key[i * nf + k]) continue;   // many frequencies: only the key ones
                probe__say(log, " k=%d %4.1f%%%s", k, 100.0 * share[i * nf + k], is_key[i * nf + k] ? "*" : " ");
                shown++;
            }
            if (!shown) probe__say(log, " no key frequency");
            probe__say(log, "\n");
        }
    }
    free(share); free(is_key);
    run_kept_free(paths, steps, n);
    return r;
}
