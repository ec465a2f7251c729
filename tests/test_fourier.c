// test_fourier.c: the Fourier probe's three corrections of issue 12: no key
// frequency for an embedding that does not depend on the digit (the energy floor,
// the double basis and centring), exactly the planted frequencies otherwise; a FoNE
// model refused instead of reporting its untrained digit rows; and the logit lens
// of a model.norm = none model, whose final norm is the identity.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/checkpoint.h"
#include "model/head.h"
#include "probes/probe.h"
#include "tests/test_task_util.h"

// ---------------------------------------------------------------- helpers

// a random model for the quickstart task; norm: "layernorm" or "none"
static void small_model(Model *m, const char *norm, int B, uint64_t seed)
{
    ModelConfig cfg = model_config_quickstart(2, 2, 32);
    snprintf(cfg.norm, sizeof cfg.norm, "%s", norm);
    model_build_quickstart(m, &cfg, B, seed);
}

// key frequencies of x (N, C) as the probe finds them; returns their count
static int key_freqs(const float *x, int N, int C, float *share, int *keys)
{
    float *coef = malloc(sizeof(float) * N * C), norm[64];
    cr_assert_eq(probe_fourier_project(x, N, C, coef), 0);
    probe_fourier_spectrum(coef, N, C, norm);
    free(coef);
    return probe_fourier_key_freqs(norm, N, 2.0f, share, keys);
}

// the embed_spectrum.csv "key" column, k = 0..5, and the probe's log
static void run_embed_probe(Model *m, int *is_key, char *log_text, size_t cap)
{
    char err[ERR_MAX];
    TaskConfig tc = task_config_quickstart();
    probe_fourier_opts o = { .n = 4, .seed = 1, .key_ratio = 2.0f, .low_max = 2 };
    FILE *log = fmemopen(log_text, cap, "w");
    cr_assert_not_null(log);
    cr_assert_eq(probe_fourier_write(m, &tc, &o, tmpdir, log, err), 0, "%s", err);
    fclose(log);
    FILE *f = fopen(tmp_path("embed_spectrum.csv"), "r");
    cr_assert_not_null(f);
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, f));   // header
    for (int k = 0; k < 6; k++) {
        cr_assert_not_null(fgets(line, sizeof line, f), "row k=%d missing", k);
        const char *last = strrchr(line, ',');
        cr_assert_not_null(last);
        is_key[k] = atoi(last + 1);
    }
    fclose(f);
}

// ---------------------------------------------------------------- the key-frequency floor

// every digit row the same (a different value per channel, about the size of a
// trained embedding's mean): the spectrum is the constant alone, no key frequency
Test(fourier_floor, an_embedding_constant_across_digits_has_no_key_frequency)
{
    enum { N = 10, C = 64 };
    float x[N * C], share[N / 2 + 1];
    uint64_t rng = rng_seed(7);
    for (int c = 0; c < C; c++) {
        float v = 0.65f * (2.0f * rng_f32(&rng) - 1.0f);
        for (int n = 0; n < N; n++) x[n * C + c] = v;
    }
    int keys[N];
    int nk = key_freqs(x, N, C, share, keys);
    cr_expect_eq(nk, 0, "a constant embedding reports %d key frequencies, the first k=%d", nk, nk ? keys[0] : -1);
    for (int k = 1; k <= N / 2; k++) cr_expect_eq(share[k], 0.0f, "k=%d holds a share %g of rounding", k, share[k]);
}

// a large constant plus only k1 = 1 and k2 = 3 (spread over channels, cos and sin):
// exactly those two; the constant leaks into no other frequency
Test(fourier_floor, planted_frequencies_on_a_large_constant_are_exactly_those)
{
    enum { N = 10, C = 16 };
    float x[N * C], share[N / 2 + 1];
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double a1 = 2 * M_PI * 1 * n / N + 0.3 * c, a3 = 2 * M_PI * 3 * n / N - 0.7 * c;
            x[n * C + c] = (float)(300.0 + 5.0 * c + 0.02 * cos(a1) + 0.02 * sin(a3));
        }
    int keys[N];
    int nk = key_freqs(x, N, C, share, keys);
    cr_assert_eq(nk, 2, "%d key frequencies", nk);
    cr_expect(keys[0] == 1 && keys[1] == 3, "keys %d %d", keys[0], keys[1]);
    cr_expect_float_eq(share[1] + share[3], 1.0f, 1e-3, "k=1 and k=3 hold %g and %g", share[1], share[3]);
}

// the same through the probe's own files: a model whose digit rows are constant
// reports "none"; one holding frequencies {2, 4} reports those in the CSV's key column
Test(fourier_floor, the_probe_files_report_the_planted_embedding, .init = tmp_setup, .fini = tmp_teardown)
{
    Model m;
    small_model(&m, "layernorm", 4, 3);
    int C = m.cfg.n_embd, is_key[6];
    char log_text[8192] = "";
    float *wd = m.wte + (size_t)TASK_DIGIT0 * C;
    for (int c = 0; c < C; c++)
        for (int n = 1; n < 10; n++) wd[(size_t)n * C + c] = wd[c];
    run_embed_probe(&m, is_key, log_text, sizeof log_text);
    for (int k = 0; k < 6; k++) cr_expect_eq(is_key[k], 0, "constant digit rows: k=%d reported key", k);
    cr_expect(strstr(log_text, "key frequencies: none"), "%s", log_text);

    for (int n = 0; n < 10; n++)
        for (int c = 0; c < C; c++)
            wd[(size_t)n * C + c] = 0.5f + 0.01f * c + 0.2f * (float)cos(2 * M_PI * 2 * n / 10 + c)
                                    + 0.2f * (float)sin(2 * M_PI * 4 * n / 10 - c);
    run_embed_probe(&m, is_key, log_text, sizeof log_text);
    for (int k = 0; k < 6; k++) cr_expect_eq(is_key[k], k == 2 || k == 4, "planted {2, 4}: k=%d key %d", k, is_key[k]);
    cr_expect(strstr(log_text, "key frequencies: k=2 (period 5) k=4 (period 2.5)"), "%s", log_text);
    model_free(&m);
}

// ---------------------------------------------------------------- FoNE

// a FoNE model reads numbers as Fourier features of their values, not digit
// tokens: the probe refuses it and writes nothing, rather than report digit rows
// that training never touched
Test(fourier_fone, a_fone_model_is_refused_with_the_reason, .init = tmp_setup, .fini = tmp_teardown)
{
    char err[ERR_MAX] = "";
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = task_vocab_size();
    cfg.block_size = 8; cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = 16;
    *pos_opt_ptr(&cfg.pos, "model.fone_places") = 4;
    snprintf(cfg.position, sizeof cfg.position, "fone");
    cr_assert_eq(model_config_validate(&cfg, err), 0, "%s", err);
    Model m;
    cr_assert_eq(model_build(&m, &cfg, 2, cfg.block_size, 1, err), 0, "%s", err);
    cr_assert_eq(m.head, &model_head_fone);
    TaskConfig tc;
    task_config_default(&tc);
    cr_assert_eq(task_config_set(&tc, "numbers", "fone", err), 0, "%s", err);
    cr_assert_eq(task_config_validate(&tc, err), 0, "%s", err);
    probe_fourier_opts o = { .n = 4, .seed = 1, .key_ratio = 2.0f, .low_max = 2 };
    char log_text[4096] = "";
    FILE *log = fmemopen(log_text, sizeof log_text, "w");
    err[0] = 0;
    cr_expect_eq(probe_fourier_write(&m, &tc, &o, tmpdir, log, err), -1, "a FoNE model was analysed: %s", log_text);
    fclose(log);
    cr_expect(strstr(err, "FoNE") && strstr(err, "model.head = fone"), "the message does not say why: %s", err);
    FILE *f = fopen(tmp_path("embed_spectrum.csv"), "r");
    cr_expect_null(f, "the refused probe wrote embed_spectrum.csv");
    if (f) fclose(f);

    // a digit-token model on a numbers = fone task is refused too (the task names it)
    model_free(&m);
    small_model(&m, "layernorm", 2, 2);
    err[0] = 0;
    log = fmemopen(log_text, sizeof log_text, "w");
    cr_expect_eq(probe_fourier_write(&m, &tc, &o, tmpdir, log, err), -1);
    fclose(log);
    cr_expect(strstr(err, "task.numbers = fone"), "%s", err);
    model_free(&m);
}

// the command: a FoNE checkpoint exits non-zero with the reason, and writes no spectrum
Test(fourier_fone, the_command_refuses_a_fone_checkpoint, .init = tmp_setup, .fini = tmp_teardown)
{
    char err[ERR_MAX];
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = task_vocab_size();
    cfg.block_size = 8; cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = 16;
    *pos_opt_ptr(&cfg.pos, "model.fone_places") = 4;
    snprintf(cfg.position, sizeof cfg.position, "fone");
    cr_assert_eq(model_config_validate(&cfg, err), 0, "%s", err);
    Model m;
    cr_assert_eq(model_build(&m, &cfg, 1, cfg.block_size, 1, err), 0, "%s", err);
    TrainState *st = calloc(1, sizeof(TrainState));
    cr_assert_eq(ckpt_meta_set(st, "arithlab.config", "[task]\ntask = add\nnumbers = fone\nmax_len = 3\n"
                               "[model]\nposition = fone\nfone_places = 4\nn_layer = 1\nn_head = 2\nn_embd = 16\n"), 0);
    cr_assert_eq(ckpt_save(&m, st, 0, tmp_path("fone.safetensors"), err), 0, "%s", err);
    free(st);
    model_free(&m);
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s probe fourier --checkpoint %s --n 8 --out %s/probe", ARITHLAB_BIN,
             tmp_path("fone.safetensors"), tmpdir);
    int rc = run(cmd, out, sizeof out);
    cr_expect(rc != 0, "a FoNE checkpoint was probed and exited 0: %s", out);
    cr_expect(strstr(out, "probe fourier") && strstr(out, "model.head = fone") && strstr(out, "untrained"), "%s", out);
    FILE *f = fopen(tmp_path("probe/embed_spectrum.csv"), "r");
    cr_expect_null(f, "embed_spectrum.csv written for a FoNE checkpoint");
    if (f) fclose(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s/probe", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

// ---------------------------------------------------------------- model.norm = none

// without any LayerNorm the final norm is the identity: the lens's last resid row
// is the model's own digit logits (their mean Fourier magnitudes), and the direct
// logit attributions of the embeddings and every sublayer add up to those logits
Test(fourier_norm_none, the_lens_last_row_reproduces_the_final_logits)
{
    enum { N = 12 };
    Model m;
    small_model(&m, "none", N, 5);
    char err[ERR_MAX];
    TaskConfig tc = task_config_quickstart();
    TaskExample *ex = malloc(sizeof(TaskExample) * N);
    uint64_t rng = rng_seed(4);
    for (int i = 0; i < N; i++) cr_assert_eq(task_generate(&tc, &rng, TASK_SPLIT_ANY, &ex[i], err), 0, "%s", err);
    probe_lens lens;
    cr_assert_eq(probe_logit_lens(&m, &tc, ex, N, 2, &lens, err), 0, "%s", err);
    int last = lens.n_comp - 1;
    cr_assert_eq(lens.kind[last], PROBE_COMP_RESID);

    // the model's own logits, from one teacher-forced forward of the same examples
    int T = 0, V = m.cfg.vocab_size;
    for (int b = 0; b < N; b++) T = ex[b].n_tokens - 1 > T ? ex[b].n_tokens - 1 : T;
    int *in = malloc(sizeof(int) * N * T), *tg = malloc(sizeof(int) * N * T);
    cr_assert_eq(task_batch_from_examples(ex, N, T, in, tg, err), 0, "%s", err);
    model_forward(&m, in, NULL, N, T);
    float basis[100];
    probe_fourier_basis(10, basis);
    double ref[6] = {0};
    long np = 0;
    for (int b = 0; b < N; b++) {
        probe_places pl;
        cr_assert_eq(probe_find_places(&tc, &ex[b], &pl, err), 0, "%s", err);
        for (int p = 0; p < pl.n_ans; p++, np++) {
            const float *u = m.logits + ((size_t)b * T + pl.pos_ans[p] - 1) * V + TASK_DIGIT0;
            float c[10];
            for (int r = 0; r < 10; r++) {
                c[r] = 0.0f;
                for (int d = 0; d < 10; d++) c[r] += basis[r * 10 + d] * u[d];
            }
            ref[0] += fabs(c[0]);
            for (int k = 1; k < 5; k++) ref[k] += hypot(c[2 * k - 1], c[2 * k]);
            ref[5] += fabs(c[9]);
        }
    }
    cr_assert_eq(np, lens.n_positions);
    for (int k = 0; k < 6; k++) {
        double got = lens.mag[(size_t)last * 6 + k], want = ref[k] / np;
        cr_expect(fabs(got - want) <= 1e-4 * (fabs(want) + 1e-3), "k=%d: last resid row %g, the model's logits %g", k, got, want);
    }
    cr_expect_eq(lens.n_correct[last], lens.base_digits, "the last resid row is the model's own prediction");
    // no norm: a sublayer's direct attribution is its own logits, not zero (a stale norm scale)
    for (int c = 0; c < lens.n_comp; c++)
        if (lens.kind[c] == PROBE_COMP_ATTN || lens.kind[c] == PROBE_COMP_MLP)
            cr_expect(lens.mag[(size_t)c * 6 + 1] > 0.0, "%s attributes nothing", lens.name[c]);
    probe_lens_free(&lens);
    free(in); free(tg); free(ex);
    model_free(&m);
}
