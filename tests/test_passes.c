// test_passes.c: looped models seen pass by pass. The accessors of
// model/inspect.h (which block a pass runs, which passes are injected, the
// residual stream and the attention and MLP contributions of each pass), and
// the probes that read them: the logit lens has a row per pass whose last one
// is the model's own logits, and the attention probe writes every pass.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <math.h>
#include "core/npy.h"
#include "probes/probe.h"
#include "tests/test_task_util.h"

// ---------------------------------------------------------------- helpers

// a random model for the quickstart task: n_layer blocks applied n_loops times
static void looped_model(Model *m, int n_layer, int n_loops, int post_ln, int B, uint64_t seed)
{
    ModelConfig cfg = model_config_quickstart(n_layer, 2, 32);
    cfg.n_loops = n_loops; cfg.post_ln = post_ln;
    model_build_quickstart(m, &cfg, B, seed);
}

static TaskExample *examples(int n, uint64_t seed)
{
    char err[ERR_MAX];
    TaskConfig tc = task_config_quickstart();
    TaskExample *ex = malloc(sizeof(TaskExample) * n);
    uint64_t rng = rng_seed(seed);
    for (int i = 0; i < n; i++) cr_assert_eq(task_generate(&tc, &rng, TASK_SPLIT_ANY, &ex[i], err), 0, "%s", err);
    return ex;
}

// a teacher-forced forward of examples 0..n-1 in one batch; returns T
static int forward(Model *m, const TaskExample *ex, int n)
{
    char err[ERR_MAX];
    int T = 0;
    for (int b = 0; b < n; b++) T = ex[b].n_tokens - 1 > T ? ex[b].n_tokens - 1 : T;
    int *in = malloc(sizeof(int) * n * T), *tg = malloc(sizeof(int) * n * T);
    cr_assert_eq(task_batch_from_examples(ex, n, T, in, tg, err), 0, "%s", err);
    model_forward(m, in, NULL, n, T);
    free(in); free(tg);
    return T;
}

static float max_abs_diff(const float *a, const float *b, size_t n)
{
    float d = 0.0f;
    for (size_t i = 0; i < n; i++) d = fabsf(a[i] - b[i]) > d ? fabsf(a[i] - b[i]) : d;
    return d;
}

// ---------------------------------------------------------------- the accessors

Test(passes, a_looped_model_names_its_passes_blocks_and_injections)
{
    Model m;
    looped_model(&m, 2, 3, 0, 2, 1);
    cr_expect_eq(model_n_passes(&m), 6);
    int block[6] = {0, 1, 0, 1, 0, 1}, injected[6] = {0, 0, 1, 0, 1, 0};
    for (int p = 0; p < 6; p++) {
        cr_expect_eq(model_pass_block(&m, p), block[p], "pass %d", p);
        cr_expect_eq(model_pass_injected(&m, p), injected[p], "pass %d", p);
    }
    cr_expect_eq(model_pass_block(&m, 6), -1);
    cr_expect_eq(model_passes_run(&m), 0, "no forward yet");
    cr_expect_null(model_pass_residual(&m, 0), "no forward yet: nothing to read");
    TaskExample *ex = examples(2, 3);
    forward(&m, ex, 2);
    cr_expect_eq(model_passes_run(&m), 6);
    cr_expect_not_null(model_pass_attention(&m, 5));
    cr_expect_null(model_pass_attention(&m, 6));
    cr_expect_null(model_pass_residual(&m, -2));
    cr_expect_eq(model_pass_residual(&m, -1), model_pass_injection(&m, 2), "the injection is the embeddings");
    cr_expect_null(model_pass_injection(&m, 1));
    char err[ERR_MAX] = "";
    cr_expect_eq(model_pass_contributions(&m, 6, NULL, NULL, err), -1);
    cr_expect(strstr(err, "pass 6: the last forward ran passes 0..5"), "%s", err);
    free(ex);
    model_free(&m);
}

// pre-LN: residual(p) = residual(p-1) + injection(p) + attn + mlp, for every pass;
// an attention contribution that absorbed the injected embeddings would count them twice
Test(passes, contributions_plus_injection_plus_previous_residual_are_the_next_residual)
{
    Model m;
    looped_model(&m, 1, 3, 0, 3, 2);
    TaskExample *ex = examples(3, 4);
    int T = forward(&m, ex, 3);
    size_t NC = (size_t)3 * T * m.cfg.n_embd;
    float *attn = malloc(sizeof(float) * NC), *mlp = malloc(sizeof(float) * NC), *sum = malloc(sizeof(float) * NC);
    char err[ERR_MAX];
    for (int p = 0; p < 3; p++) {
        cr_assert_eq(model_pass_contributions(&m, p, attn, mlp, err), 0, "%s", err);
        const float *prev = model_pass_residual(&m, p - 1), *inj = model_pass_injection(&m, p);
        cr_assert_eq(inj != NULL, p > 0, "pass %d of a 1 x 3 model: injected is %d", p, inj != NULL);
        for (size_t i = 0; i < NC; i++) sum[i] = prev[i] + (inj ? inj[i] : 0.0f) + attn[i] + mlp[i];
        float d = max_abs_diff(sum, model_pass_residual(&m, p), NC);
        cr_expect(d < 1e-5f, "pass %d: previous + injection + attn + mlp is off the residual by %g", p, d);
    }
    free(attn); free(mlp); free(sum); free(ex);
    model_free(&m);
}

// out (N, C) = gain * rstd * (v - mean(v)) per row
static void ln_scale(float *out, const float *v, const float *gain, const float *rstd, size_t N, int C)
{
    for (size_t n = 0; n < N; n++) {
        double mu = 0.0;
        for (int c = 0; c < C; c++) mu += v[n * C + c];
        mu /= C;
        for (int c = 0; c < C; c++) out[n * C + c] = (float)((v[n * C + c] - mu) * rstd[n] * gain[c]);
    }
}

// post-LN: residual(p) = S2(S1(x)) + S2(b1) + b2 + attn + mlp, x the block's input
// (previous residual plus injection), S_i a LayerNorm at its actual scales without bias;
// and the attention contribution is the attention's output projection carried through both norms
Test(passes, post_ln_contributions_are_the_sublayers_carried_through_the_norms)
{
    Model m;
    looped_model(&m, 1, 2, 1, 2, 5);
    TaskExample *ex = examples(2, 6);
    int T = forward(&m, ex, 2), C = m.cfg.n_embd;
    size_t N = (size_t)2 * T, NC = N * C;
    float *attn = malloc(sizeof(float) * NC), *mlp = malloc(sizeof(float) * NC), *x = malloc(sizeof(float) * NC);
    float *carried = malloc(sizeof(float) * NC), *b1 = malloc(sizeof(float) * NC), *proj = malloc(sizeof(float) * NC);
    char err[ERR_MAX];
    for (int p = 0; p < 2; p++) {
        const LayerActs *a = &m.la[p];            // the test may look inside; tools may not
        const LayerParams *lp = &m.lp[0];
        cr_assert_eq(model_pass_contributions(&m, p, attn, mlp, err), 0, "%s", err);
        const float *prev = model_pass_residual(&m, p - 1), *inj = model_pass_injection(&m, p);
        for (size_t i = 0; i < NC; i++) x[i] = prev[i] + (inj ? inj[i] : 0.0f);
        ln_scale(carried, x, lp->ln1w, a->ln1_rstd, N, C);
        ln_scale(carried, carried, lp->ln2w, a->ln2_rstd, N, C);
        for (size_t n = 0; n < N; n++) memcpy(b1 + n * C, lp->ln1b, sizeof(float) * C);
        ln_scale(b1, b1, lp->ln2w, a->ln2_rstd, N, C);
        for (size_t i = 0; i < NC; i++) carried[i] += b1[i] + lp->ln2b[i % C] + attn[i] + mlp[i];
        float d = max_abs_diff(carried, model_pass_residual(&m, p), NC);
        cr_expect(d < 1e-5f, "pass %d: carried input + attn + mlp is off the residual by %g", p, d);
        // the attention's output, projected (atty @ W^T + b), then through both norms
        for (size_t n = 0; n < N; n++)
            for (int o = 0; o < C; o++) {
                double s = lp->attprojb[o];
                for (int c = 0; c < C; c++) s += (double)a->atty[n * C + c] * lp->attprojw[(size_t)o * C + c];
                proj[n * C + o] = (float)s;
            }
        ln_scale(proj, proj, lp->ln1w, a->ln1_rstd, N, C);
        ln_scale(proj, proj, lp->ln2w, a->ln2_rstd, N, C);
        d = max_abs_diff(proj, attn, NC);
        cr_expect(d < 1e-5f, "pass %d: the attention contribution is off its projection by %g", p, d);
    }
    free(attn); free(mlp); free(x); free(carried); free(b1); free(proj); free(ex);
    model_free(&m);
}

// ---------------------------------------------------------------- the logit lens

// coefficients (10) of digit logits -> mean |coefficient| per frequency k = 0..5
static void digit_mags(const float *u, double *mag)
{
    float basis[100], c[10];
    probe_fourier_basis(10, basis);
    for (int r = 0; r < 10; r++) {
        c[r] = 0.0f;
        for (int d = 0; d < 10; d++) c[r] += basis[r * 10 + d] * u[d];
    }
    mag[0] = fabs(c[0]);
    for (int k = 1; k < 5; k++) mag[k] = hypot(c[2 * k - 1], c[2 * k]);
    mag[5] = fabs(c[9]);
}

Test(logit_lens, a_looped_model_has_a_resid_row_per_pass_and_the_last_is_its_logits)
{
    enum { N = 12 };
    Model m;
    looped_model(&m, 1, 3, 0, 16, 7);
    TaskExample *ex = examples(N, 8);
    TaskConfig tc = task_config_quickstart();
    char err[ERR_MAX];
    probe_lens lens;
    cr_assert_eq(probe_logit_lens(&m, &tc, ex, N, 2, &lens, err), 0, "%s", err);
    // embed; pass 0 attn mlp resid; passes 1 and 2: inject attn mlp resid
    cr_assert_eq(lens.n_comp, 1 + 3 + 4 + 4);
    cr_expect_str_eq(lens.name[0], "embed");
    int resid[3], nr = 0;
    for (int c = 0; c < lens.n_comp; c++)
        if (lens.kind[c] == PROBE_COMP_RESID) { cr_assert_lt(nr, 3); resid[nr++] = c; }
    cr_assert_eq(nr, 3, "one resid row per pass");
    cr_expect_str_eq(lens.name[resid[0]], "pass 0 (block 0) resid");
    cr_expect_str_eq(lens.name[resid[2]], "pass 2 (block 0) resid");
    cr_expect_str_eq(lens.name[resid[2] - 3], "pass 2 (block 0) inject");
    cr_expect_eq(resid[2], lens.n_comp - 1);

    // the model's own logits, from one forward of the same examples
    double ref[6] = {0};
    long np = 0;
    int T = forward(&m, ex, N), V = m.cfg.vocab_size;
    for (int b = 0; b < N; b++) {
        probe_places pl;
        cr_assert_eq(probe_find_places(&tc, &ex[b], &pl, err), 0, "%s", err);
        for (int p = 0; p < pl.n_ans; p++, np++) {
            double mag[6];
            digit_mags(m.logits + ((size_t)b * T + pl.pos_ans[p] - 1) * V + TASK_DIGIT0, mag);
            for (int k = 0; k < 6; k++) ref[k] += mag[k];
        }
    }
    cr_assert_eq(np, lens.n_positions);
    double off_first = 0.0;
    for (int k = 0; k < 6; k++) {
        double last = lens.mag[(size_t)resid[2] * 6 + k], want = ref[k] / np;
        cr_expect(fabs(last - want) <= 1e-4 * (fabs(want) + 1e-3), "k=%d: last resid row %g, the model's logits %g", k, last, want);
        off_first += fabs(lens.mag[(size_t)resid[0] * 6 + k] - want);
    }
    cr_expect(off_first > 1e-3, "pass 0's row reads like the final logits: the test would not see a wrong pass");
    cr_expect_eq(lens.n_correct[resid[2]], lens.base_digits, "the last resid row is the model's own prediction");
    probe_lens_free(&lens);
    free(ex);
    model_free(&m);
}

Test(logit_lens, a_looped_post_ln_model_has_embed_and_a_resid_row_per_pass)
{
    Model m;
    looped_model(&m, 1, 3, 1, 4, 9);
    TaskExample *ex = examples(4, 10);
    TaskConfig tc = task_config_quickstart();
    char err[ERR_MAX];
    probe_lens lens;
    cr_assert_eq(probe_logit_lens(&m, &tc, ex, 4, 2, &lens, err), 0, "%s", err);
    cr_expect_eq(lens.n_comp, 4);
    cr_expect_str_eq(lens.name[3], "pass 2 (block 0) resid");
    cr_expect_eq(lens.n_correct[3], lens.base_digits);
    probe_lens_free(&lens);
    free(ex);
    model_free(&m);
}

Test(logit_lens, refuses_more_passes_than_it_holds)
{
    Model m;
    looped_model(&m, 2, 40, 0, 2, 11);
    TaskExample *ex = examples(2, 12);
    TaskConfig tc = task_config_quickstart();
    char err[ERR_MAX] = "";
    probe_lens lens;
    cr_expect_eq(probe_logit_lens(&m, &tc, ex, 2, 2, &lens, err), -1);
    cr_expect(strstr(err, "at most 64 passes; the model runs 80 (model.n_layer = 2 x model.n_loops = 40)"), "%s", err);
    free(ex);
    model_free(&m);
}

// ---------------------------------------------------------------- the attention probe

static int count_lines(const char *path)
{
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    int k = 0;
    for (size_t i = 0; i < n; i++) k += b[i] == '\n';
    free(b);
    return k;
}

static int exists(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f) fclose(f);
    return f != NULL;
}

Test(attention_probe, writes_every_pass_of_a_1x3_looped_model, .init = tmp_setup, .fini = tmp_teardown)
{
    Model m;
    looped_model(&m, 1, 3, 0, 8, 13);
    TaskConfig tc = task_config_quickstart();
    char err[ERR_MAX];
    TaskExample one;
    cr_assert_eq(task_example_from_problem(&tc, "128+367", &one, err), 0, "%s", err);
    probe_attention_opts o = { .n = 8, .seed = 1, .threshold = 0.1f, .rollout = 1, .head = -1 };
    cr_assert_eq(probe_attention_write(&m, &tc, &one, &o, tmpdir, NULL, err), 0, "%s", err);

    NpyArray a;
    cr_assert_eq(npy_read(tmp_path("attention.npy"), &a, err), 0, "%s", err);
    int NH = m.cfg.n_head, T = one.n_tokens - 1;
    cr_assert_eq(a.ndim, 4);
    cr_expect(a.shape[0] == 3 && a.shape[1] == NH && a.shape[2] == T && a.shape[3] == T,
              "attention.npy is (%ld, %ld, %ld, %ld)", (long)a.shape[0], (long)a.shape[1], (long)a.shape[2], (long)a.shape[3]);
    // each pass's pattern is that pass's, and the passes differ
    forward(&m, &one, 1);
    size_t per = (size_t)NH * T * T;
    for (int p = 0; p < 3; p++)
        cr_expect(max_abs_diff((float *)a.data + p * per, model_pass_attention(&m, p), per) == 0.0f, "pass %d", p);
    cr_expect(max_abs_diff(model_pass_attention(&m, 0), model_pass_attention(&m, 2), per) > 1e-4f);
    npy_free(&a);

    for (int p = 0; p < 3; p++)
        for (int h = 0; h < NH; h++) {
            char name[64];
            snprintf(name, sizeof name, "attn_P%d_L0_H%d.png", p, h);
            cr_expect(exists(tmp_path(name)), "%s not written", name);
        }
    size_t n;
    unsigned char *csv = read_bytes(tmp_path("staircase.csv"), &n);
    cr_expect(!strncmp((char *)csv, "pass,block,head,", 16), "%.60s", csv);
    cr_expect(strstr((char *)csv, "\n2,0,1,"), "no row for pass 2 (block 0) head 1: %s", csv);
    free(csv);
    cr_expect_eq(count_lines(tmp_path("staircase.csv")), 1 + 3 * NH);
    csv = read_bytes(tmp_path("attention_graph.json"), &n);
    cr_expect(strstr((char *)csv, "\"after pass 2 (block 0)\""), "the graph names its passes");
    free(csv);
    model_free(&m);
}

// ---------------------------------------------------------------- the linear probes

Test(linear_probe, reads_the_embeddings_and_every_pass_of_a_1x3_looped_model, .init = tmp_setup, .fini = tmp_teardown)
{
    Model m;
    looped_model(&m, 1, 3, 0, 64, 15);
    TaskConfig tc = task_config_quickstart();
    char err[ERR_MAX];
    probe_linear_write_opts o = { .n = 80, .seed = 1, .train_frac = 0.75f, .fit = { .n_iter = 20 } };
    cr_assert_eq(probe_linear_write(&m, &tc, &o, tmpdir, NULL, err), 0, "%s", err);
    NpyArray a;
    cr_assert_eq(npy_read(tmp_path("linear_test_accuracy.npy"), &a, err), 0, "%s", err);
    cr_assert_eq(a.ndim, 3);
    cr_expect_eq(a.shape[2], 4, "layer points: embed and 3 passes, not %ld", (long)a.shape[2]);
    npy_free(&a);
    size_t n;
    unsigned char *csv = read_bytes(tmp_path("linear_probes.csv"), &n);
    cr_expect(strstr((char *)csv, ",after pass 2 (block 0),3,"), "no column for pass 2: %.300s", csv);
    free(csv);
    model_free(&m);
}
