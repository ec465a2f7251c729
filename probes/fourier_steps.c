// fourier_steps.c: the digit embeddings' Fourier spectrum at every checkpoint a
// run kept (probes/fourier_steps.h), the spectrum computed by the Fourier
// probe's own functions (probes/fourier.c) on embeddings read through
// model/inspect.h (a forward of the ten digit tokens).
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
#include "run/train.h"

enum { N_DIGITS = 10, N_FREQ = N_DIGITS / 2 + 1 };

// share (N_FREQ) and is_key (N_FREQ) of the digit embeddings of the checkpoint at path
static int spectrum_of(const char *path, float key_ratio, int threads, float *share, int *is_key, char *err)
{
    Model m;
    if (run_load_model(&m, path, N_DIGITS, 1, threads, err)) return -1;
    int r = 0, C = m.cfg.n_embd;
    if (m.head->decodes == MODEL_HEAD_DIGITS || model_value_scheme(&m.cfg))
        r = err_set(err, "%s: a FoNE model (model.head = fone or the fone scheme): its numbers are [NUM] tokens, "
                    "so there are no trained digit-token embeddings to analyse", path);
    else if (m.cfg.vocab_size < TASK_DIGIT0 + N_DIGITS)
        r = err_set(err, "%s: the vocabulary (%d) has no digit tokens", path, m.cfg.vocab_size);
    float *x = malloc(sizeof(float) * N_DIGITS * C), *coef = malloc(sizeof(float) * N_DIGITS * C);
    if (!r && (!x || !coef)) r = err_set(err, "out of memory");
    if (!r) {
        int tok[N_DIGITS];
        for (int d = 0; d < N_DIGITS; d++) tok[d] = TASK_DIGIT0 + d;
        model_forward(&m, tok, NULL, N_DIGITS, 1);   // (10, 1): one digit per row
        r = model_embed_parts(&m, x, NULL, err);   // x (10, C): the digits' token embeddings
    }
    if (!r && probe_fourier_project(x, N_DIGITS, C, coef)) r = err_set(err, "out of memory");
    if (!r) {
        float norm[N_FREQ];
        int keys[N_FREQ];
        probe_fourier_spectrum(coef, N_DIGITS, C, norm);
        int nk = probe_fourier_key_freqs(norm, N_DIGITS, key_ratio, share, keys);
        memset(is_key, 0, sizeof(int) * N_FREQ);
        for (int i = 0; i < nk; i++) is_key[keys[i]] = 1;
    }
    free(x); free(coef);
    model_free(&m);
    return r;
}

static int write_plot(const char *dir, const long *steps, const float *share, const int *is_key, int n, float key_ratio, char *err)
{
    int any[N_FREQ] = {0}, n_any = 0;
    for (int i = 0; i < n; i++)
        for (int k = 1; k < N_FREQ; k++) any[k] |= is_key[i * N_FREQ + k];
    for (int k = 1; k < N_FREQ; k++) n_any += any[k];
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * (size_t)n * N_FREQ);
    if (!x || !y) { free(x); free(y); return err_set(err, "out of memory"); }
    plot_series s[N_FREQ];
    char names[N_FREQ][48];
    int ns = 0;
    for (int i = 0; i < n; i++) x[i] = (float)steps[i];
    for (int k = 1; k < N_FREQ; k++) {
        if (n_any && !any[k]) continue;
        for (int i = 0; i < n; i++) y[(size_t)k * n + i] = share[i * N_FREQ + k];
        snprintf(names[k], sizeof names[k], "k=%d (period %.3g)", k, (double)N_DIGITS / k);
        s[ns++] = (plot_series){ .name = names[k], .x = x, .y = y + (size_t)k * n, .n = n, .markers = 1 };
    }
    char title[160];
    snprintf(title, sizeof title, n_any ? "Digit embeddings: share of each key frequency (ratio %.3g) at each kept checkpoint"
                                        : "Digit embeddings: share per frequency at each kept checkpoint (no key frequency, ratio %.3g)",
             (double)key_ratio);
    plot_line_opts o = { .title = title, .xlabel = "training step", .ylabel = "share of the non-constant energy",
                         .ymin = 0.0f, .ymax = 1.0f };
    int r = plot_line_write(probe__path(dir, "fourier_steps.png"), s, ns, &o, err);
    free(x); free(y);
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
    float *share = malloc(sizeof(float) * (size_t)n * N_FREQ);
    int *is_key = malloc(sizeof(int) * (size_t)n * N_FREQ), r = 0;
    if (!share || !is_key) r = err_set(err, "out of memory");
    for (int i = 0; !r && i < n; i++) r = spectrum_of(paths[i], key_ratio, threads, share + i * N_FREQ, is_key + i * N_FREQ, err);
    char path[4096];
    FILE *f = r ? NULL : probe__open(dir, "fourier_steps.csv", path, sizeof path, err);
    if (!r && !f) r = -1;
    if (f) {
        fprintf(f, "step,k,period,share_of_nonconstant_energy,key\n");
        for (int i = 0; i < n; i++)
            for (int k = 0; k < N_FREQ; k++)
                fprintf(f, "%ld,%d,%.4g,%.6g,%d\n", steps[i], k, k ? (double)N_DIGITS / k : INFINITY,
                        (double)share[i * N_FREQ + k], is_key[i * N_FREQ + k]);
        r = probe__close(f, path, err);
    }
    int64_t shp[2] = {n, N_FREQ};
    if (!r) r = probe__write_npy(dir, "fourier_steps.npy", share, 2, shp, err);
    if (!r) r = write_plot(dir, steps, share, is_key, n, key_ratio, err);
    if (!r) {
        probe__say(log, "digit embeddings over %d kept checkpoints (share of the non-constant energy per k; * key):\n", n);
        for (int i = 0; i < n; i++) {
            probe__say(log, "  step %7ld:", steps[i]);
            for (int k = 1; k < N_FREQ; k++)
                probe__say(log, " k=%d %4.1f%%%s", k, 100.0 * share[i * N_FREQ + k], is_key[i * N_FREQ + k] ? "*" : " ");
            probe__say(log, "\n");
        }
    }
    free(share); free(is_key);
    run_kept_free(paths, steps, n);
    return r;
}
