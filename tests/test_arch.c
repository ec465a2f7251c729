// test_arch.c: the architecture options of the faithful setups (issue 12):
// model.norm = none and model.activation = relu against finite differences,
// model.init = torch against PyTorch's module defaults (moments and bounds of every
// tensor's initial values, determinism from the seed), and the keys' validation.
// PyTorch cases for norm/activation are in tools/torch_reference.py.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "model/model.h"
#include "model/ops.h"
#include "model/optim.h"
#include "model/checkpoint.h"
#include "run/run.h"
#include "run/train.h"
#include "tasks/task.h"
#include "tests/test_grad.h"
#include "tests/test_util.h"
#include <cjson/cJSON.h>

static ModelConfig small_config(const char *norm, const char *activation)
{
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 7; c.block_size = 8; c.n_layer = 2; c.n_head = 2; c.n_embd = 8; c.mlp_hidden = 12;
    snprintf(c.norm, sizeof c.norm, "%s", norm);
    snprintf(c.activation, sizeof c.activation, "%s", activation);
    return c;
}

// ---------------------------------------------------------------- the relu op
Test(arch_ops, relu_backward_matches_finite_differences_away_from_the_kink)
{
    enum { N = 64 };
    float x[N], R[N], d[N], out[N];
    uint64_t rng = rng_seed(11);
    // inputs at least 0.05 from 0, so a step of h = 1e-2 never crosses the kink
    for (int i = 0; i < N; i++) {
        float u = 0.05f + 1.5f * rng_f32(&rng);
        x[i] = i % 2 ? u : -u;
        R[i] = 2.0f * rng_f32(&rng) - 1.0f;
    }
    relu_backward(d, x, R, N);
    double num = 0.0, den = 0.0;
    for (int i = 0; i < N; i++) {
        float keep = x[i], h = 1e-2f;
        double lp = 0.0, lm = 0.0;
        x[i] = keep + h; relu_forward(out, x, N); for (int j = 0; j < N; j++) lp += (double)out[j] * R[j];
        x[i] = keep - h; relu_forward(out, x, N); for (int j = 0; j < N; j++) lm += (double)out[j] * R[j];
        x[i] = keep;
        double fd = (lp - lm) / (2.0 * h);
        num += (fd - d[i]) * (fd - d[i]);
        den += fd * fd + (double)d[i] * d[i];
    }
    cr_expect(sqrt(num / den) < 1e-4, "relu: relative error %.3e", sqrt(num / den));
    // and the op is ReLU: negatives to 0, positives kept, in place allowed
    relu_forward(out, x, N);
    for (int i = 0; i < N; i++) cr_expect_eq(out[i], x[i] > 0 ? x[i] : 0.0f);
    memcpy(d, R, sizeof d);
    relu_backward(d, x, d, N);
    for (int i = 0; i < N; i++) cr_expect_eq(d[i], x[i] > 0 ? R[i] : 0.0f);
}

// ---------------------------------------------------------------- whole model
typedef struct { const int *x, *y; int B, T; } batch_ctx_t;

// the signs of every MLP pre-activation of the last forward, packed one per byte
static void relu_signs(const Model *m, unsigned char *out)
{
    size_t NH = (size_t)m->B * m->T * m->cfg.mlp_hidden;
    for (int p = 0; p < m->pass_hi; p++)
        for (size_t i = 0; i < NH; i++) out[p * NH + i] = m->la[p].fch[i] > 0.0f;
}

// Central differences at up to 24 entries of every tensor, as tests/test_grad.h does. With
// ReLU, an entry whose +h or -h step flips the sign of any hidden pre-activation is
// skipped: across the kink the difference quotient is not the derivative. At most a
// third of a tensor's entries may be skipped, so the check cannot pass by skipping.
static void check_model(ModelConfig cfg, const char *label)
{
    enum { B = 2, T = 6 };
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &cfg, B, T, 3, err), 0, "%s", err);
    uint64_t rng = rng_seed(5);
    int relu = !strcmp(cfg.activation, "relu"), no_norm = !strcmp(cfg.norm, "none");
    // weights larger than init, so gradients stand above float noise; without norms the
    // gradients of the attention weights are small at 0.3 (errors near 1e-2 from float32
    // rounding of the loss), so those models get 0.5
    float spread = no_norm ? 0.5f : 0.3f;
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += spread * (2.0f * rng_f32(&rng) - 1.0f);
    int x[B * T], y[B * T];
    for (int i = 0; i < B * T; i++) { x[i] = rng_int(&rng, cfg.vocab_size); y[i] = i % 4 == 1 ? -1 : rng_int(&rng, cfg.vocab_size); }
    model_forward(&m, x, y, B, T);
    model_zero_grad(&m);
    model_backward(&m);
    size_t n_signs = (size_t)m.pass_hi * B * T * cfg.mlp_hidden;
    unsigned char *s0 = malloc(n_signs), *s1 = malloc(n_signs);
    relu_signs(&m, s0);
    float *g = malloc(sizeof(float) * m.n_params), h = relu ? 1e-3f : 1e-2f;
    memcpy(g, m.grads, sizeof(float) * m.n_params);
    int skipped_total = 0;
    for (int t = 0; t < m.n_tensors; t++) {
        ParamInfo *p = &m.tensors[t];
        int n = p->numel < 24 ? (int)p->numel : 24, skipped = 0;
        double num = 0.0, den = 0.0;
        for (int k = 0; k < n; k++) {
            size_t j = p->offset + (p->numel < 24 ? (size_t)k : (size_t)rng_int(&rng, (int)p->numel));
            float keep = m.params[j];
            int flips = 0;
            m.params[j] = keep + h; model_forward(&m, x, y, B, T); double lp = m.loss;
            if (relu) { relu_signs(&m, s1); flips |= memcmp(s0, s1, n_signs) != 0; }
            m.params[j] = keep - h; model_forward(&m, x, y, B, T); double lm = m.loss;
            if (relu) { relu_signs(&m, s1); flips |= memcmp(s0, s1, n_signs) != 0; }
            m.params[j] = keep;
            if (flips) { skipped++; continue; }
            double fd = (lp - lm) / (2.0 * h);
            num += (fd - g[j]) * (fd - g[j]);
            den += fd * fd + (double)g[j] * g[j];
        }
        skipped_total += skipped;
        double rel = den > 0.0 ? sqrt(num / den) : 0.0;
        cr_log_info("%s %-36s rel err %.2e (%d of %d entries skipped at a kink)", label, p->name, rel, skipped, n);
        cr_expect(3 * skipped <= n, "%s: %s: %d of %d entries cross a ReLU kink", label, p->name, skipped, n);
        if (no_norm && strstr(p->name, "ln_")) {
            // without norms the LayerNorm tensors take no part: no gradient either way
            cr_expect(den == 0.0, "%s: %s has a gradient (%.3e) with model.norm = none", label, p->name, den);
            continue;
        }
        cr_expect(den > 1e-10, "%s: %s has no gradient", label, p->name);
        cr_expect(rel < 5e-3, "%s: %s relative error %.3e", label, p->name, rel);
    }
    cr_log_info("%s: %d entries skipped at a kink", label, skipped_total);
    free(g); free(s0); free(s1);
    model_free(&m);
}

Test(arch_grad, no_norm_model_matches_finite_differences) { check_model(small_config("none", "gelu"), "norm=none"); }
Test(arch_grad, relu_model_matches_finite_differences) { check_model(small_config("layernorm", "relu"), "relu"); }
Test(arch_grad, no_norm_relu_model_matches_finite_differences)
{
    check_model(small_config("none", "relu"), "norm=none relu");
}
Test(arch_grad, no_norm_tied_relu_model_matches_finite_differences)
{
    ModelConfig c = small_config("none", "relu");
    c.tied = 1;
    c.n_layer = 1;
    check_model(c, "norm=none relu tied");
}

// the options change what the model computes: the same weights give other logits
Test(arch_grad, norm_and_activation_change_the_forward)
{
    const char *variants[][2] = {{"layernorm", "gelu"}, {"none", "gelu"}, {"layernorm", "relu"}, {"none", "relu"}};
    float loss[4];
    int x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {2, 3, 4, 5, 6, 0};
    for (int k = 0; k < 4; k++) {
        ModelConfig c = small_config(variants[k][0], variants[k][1]);
        Model m;
        char err[ERR_MAX];
        cr_assert_eq(model_build(&m, &c, 1, 6, 9, err), 0, "%s", err);
        uint64_t rng = rng_seed(2);
        for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.5f * (2.0f * rng_f32(&rng) - 1.0f);
        model_forward(&m, x, y, 1, 6);
        loss[k] = m.loss;
        model_free(&m);
    }
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            cr_expect_neq(loss[a], loss[b], "%s/%s and %s/%s give the same loss", variants[a][0], variants[a][1],
                          variants[b][0], variants[b][1]);
}

// ---------------------------------------------------------------- model.init = torch
// what PyTorch draws for each tensor of the nanoGPT-style model, written out here from
// the torch.nn documentation rather than read from the model's own rule
typedef struct { int kind; double scale; } want_t;

static want_t torch_default(const ParamInfo *p, const ModelConfig *c)
{
    const char *n = p->name;
    int C = c->n_embd, H = c->mlp_hidden;
    if (!strcmp(n, "transformer.wte.weight") || !strcmp(n, "transformer.wpe.weight") ||
        !strcmp(n, "transformer.abacus.weight")) return (want_t){MODEL_INIT_NORMAL, 1.0};   // nn.Embedding
    if (strstr(n, "ln_") && strstr(n, ".weight")) return (want_t){MODEL_INIT_ONES, 0};
    if (strstr(n, "ln_") && strstr(n, ".bias")) return (want_t){MODEL_INIT_ZEROS, 0};
    // nn.Linear(in, out): weight and bias U(-1/sqrt(in), 1/sqrt(in))
    if (strstr(n, "mlp.c_proj.")) return (want_t){MODEL_INIT_UNIFORM, 1.0 / sqrt(H)};
    if (strstr(n, "attn.c_attn.") || strstr(n, "attn.c_proj.") || strstr(n, "mlp.c_fc.") || !strcmp(n, "lm_head.weight"))
        return (want_t){MODEL_INIT_UNIFORM, 1.0 / sqrt(C)};
    cr_assert_fail("no PyTorch default written down for %s", n);
    return (want_t){0, 0};
}

// sample moments in double
static void moments(const float *w, size_t n, double *mean, double *var, double *kurt, double *maxabs)
{
    double s = 0, s2 = 0, s4 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) s += w[i];
    *mean = s / n;
    for (size_t i = 0; i < n; i++) {
        double d = w[i] - *mean;
        s2 += d * d; s4 += d * d * d * d;
        if (fabs(w[i]) > mx) mx = fabs(w[i]);
    }
    *var = s2 / n;
    *kurt = s4 / n / (*var * *var);
    *maxabs = mx;
}

// Tolerances, each at 5 standard errors of the statistic for n draws (a false failure
// about once in 3 million per check): the mean, sigma/sqrt(n); the variance, sqrt(Var(x^2)/n)
// with Var(x^2) = 2 s^4 for N(0,s) and 4 b^4/45 for U(-b,b); the kurtosis (3 for a normal,
// 1.8 for a uniform), sqrt(24/n), the normal's standard error (the uniform's is smaller),
// checked only when n >= 1000 (there 5 sqrt(24/n) < 0.8, so the two are told apart).
// A uniform draw also lies within [-b, b] and reaches past b (1 - 10/n): P(miss) = e^-10.
static void check_tensor(const Model *m, const ParamInfo *p, want_t w)
{
    const float *x = m->params + p->offset;
    size_t n = p->numel;
    double mean, var, kurt, mx;
    moments(x, n, &mean, &var, &kurt, &mx);
    cr_log_info("%-32s n=%6zu mean %+.4f var %.5f kurt %.2f max|w| %.4f", p->name, n, mean, var, kurt, mx);
    if (w.kind == MODEL_INIT_ONES || w.kind == MODEL_INIT_ZEROS) {
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(x[i], w.kind == MODEL_INIT_ONES ? 1.0f : 0.0f, "%s[%zu] = %g", p->name, i, x[i]);
        return;
    }
    double s2 = w.kind == MODEL_INIT_NORMAL ? w.scale * w.scale : w.scale * w.scale / 3.0;
    double var_x2 = w.kind == MODEL_INIT_NORMAL ? 2.0 * s2 * s2 : 4.0 * pow(w.scale, 4) / 45.0;
    cr_expect(fabs(mean) < 5.0 * sqrt(s2 / n), "%s: mean %g, want 0 +- %g", p->name, mean, 5.0 * sqrt(s2 / n));
    cr_expect(fabs(var - s2) < 5.0 * sqrt(var_x2 / n), "%s: variance %g, want %g +- %g", p->name, var, s2,
              5.0 * sqrt(var_x2 / n));
    if (n >= 1000) {
        double k = w.kind == MODEL_INIT_NORMAL ? 3.0 : 1.8;
        cr_expect(fabs(kurt - k) < 5.0 * sqrt(24.0 / n), "%s: kurtosis %g, want %g", p->name, kurt, k);
    }
    if (w.kind == MODEL_INIT_UNIFORM) {
        cr_expect(mx <= w.scale * (1 + 1e-6), "%s: max |w| %g beyond the bound %g", p->name, mx, w.scale);
        cr_expect(mx > w.scale * (1.0 - 10.0 / n), "%s: max |w| %g does not reach the bound %g", p->name, mx, w.scale);
    }
}

static ModelConfig init_config(const char *init, const char *position, int tied)
{
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 64; c.block_size = 32; c.n_layer = 2; c.n_head = 4; c.n_embd = 64; c.mlp_hidden = 256;
    c.tied = tied;
    snprintf(c.init, sizeof c.init, "%s", init);
    snprintf(c.position, sizeof c.position, "%s", position);
    return c;
}

static void check_torch_init(const char *position, int tied)
{
    ModelConfig c = init_config("torch", position, tied);
    Model m;
    char err[ERR_MAX];
    cr_assert_eq(model_build(&m, &c, 1, 8, 7, err), 0, "%s", err);
    for (int t = 0; t < m.n_tensors; t++) {
        ParamInfo *p = &m.tensors[t];
        want_t w = torch_default(p, &m.cfg);
        float scale;
        cr_expect_eq(model_init_rule(&m, t, &scale), w.kind, "%s: rule differs from PyTorch's", p->name);
        check_tensor(&m, p, w);
    }
    if (tied) cr_expect(m.lm_head == m.wte, "the tied head is the embedding");
    model_free(&m);
}

Test(arch_init, torch_init_matches_pytorch_module_defaults) { check_torch_init("absolute", 0); }
Test(arch_init, torch_init_of_a_tied_abacus_model_matches_pytorch_module_defaults) { check_torch_init("abacus", 1); }

// the GPT-2 rule is still there, and the two differ: wte is N(0,0.02) under gpt2
Test(arch_init, gpt2_init_is_the_default_and_draws_n_0_002)
{
    ModelConfig c = init_config("gpt2", "absolute", 0), d;
    model_config_default(&d);
    cr_expect_str_eq(d.init, "gpt2");
    cr_expect_str_eq(d.norm, "layernorm");
    cr_expect_str_eq(d.activation, "gelu");
    Model m;
    char err[ERR_MAX];
    cr_assert_eq(model_build(&m, &c, 1, 8, 7, err), 0, "%s", err);
    check_tensor(&m, model_find_tensor(&m, "transformer.wte.weight"), (want_t){MODEL_INIT_NORMAL, 0.02});
    check_tensor(&m, model_find_tensor(&m, "transformer.h.0.mlp.c_proj.weight"),
                 (want_t){MODEL_INIT_NORMAL, 0.02 / sqrt(2.0 * c.n_layer)});
    check_tensor(&m, model_find_tensor(&m, "transformer.h.0.attn.c_attn.bias"), (want_t){MODEL_INIT_ZEROS, 0});
    model_free(&m);
}

Test(arch_init, torch_init_is_reproducible_from_the_seed)
{
    ModelConfig c = init_config("torch", "absolute", 0);
    Model a, b, other;
    char err[ERR_MAX];
    cr_assert_eq(model_build(&a, &c, 1, 8, 42, err), 0, "%s", err);
    cr_assert_eq(model_build(&b, &c, 1, 8, 42, err), 0, "%s", err);
    cr_assert_eq(model_build(&other, &c, 1, 8, 43, err), 0, "%s", err);
    cr_expect(memcmp(a.params, b.params, sizeof(float) * a.n_params) == 0, "the same seed gave different weights");
    cr_expect(memcmp(a.params, other.params, sizeof(float) * a.n_params) != 0, "seeds 42 and 43 gave the same weights");
    model_free(&a); model_free(&b); model_free(&other);
}

// ---------------------------------------------------------------- the keys
Test(arch_keys, bad_values_are_refused_naming_the_key_and_the_choices)
{
    struct { const char *key; size_t off; const char *bad, *want; } cases[] = {
        {"init", offsetof(ModelConfig, init), "xavier", "model.init = 'xavier' is not accepted: accepted gpt2|torch"},
        {"norm", offsetof(ModelConfig, norm), "rms", "model.norm = 'rms' is not accepted: accepted layernorm|none"},
        {"activation", offsetof(ModelConfig, activation), "silu",
         "model.activation = 'silu' is not accepted: accepted gelu|relu"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ModelConfig c;
        model_config_default(&c);
        snprintf((char *)&c + cases[i].off, 16, "%s", cases[i].bad);
        char err[ERR_MAX] = "";
        cr_expect_eq(model_config_validate(&c, err), -1, "%s accepted", cases[i].bad);
        cr_expect(strstr(err, cases[i].want) != NULL, "want '%s', got '%s'", cases[i].want, err);
    }
    ModelConfig c;
    model_config_default(&c);
    snprintf(c.norm, sizeof c.norm, "none");
    c.post_ln = 1;
    char err[ERR_MAX] = "";
    cr_expect_eq(model_config_validate(&c, err), -1);
    cr_expect(strstr(err, "model.norm = none") && strstr(err, "model.post_ln"), "got '%s'", err);
}

// ---------------------------------------------------------------- full batch (train.batch_size = 0)
static void full_batch_config(RunConfig *rc, const char *batch_size, const char *train_size)
{
    run_config_default(rc);
    const char *kv[][2] = {
        {"task.max_len", "2"}, {"task.train_size", train_size}, {"train.batch_size", batch_size},
        {"train.steps", "1"}, {"train.threads", "1"}, {"eval.per_cell", "1"}, {"eval.n_during_train", "0"},
        {"model.n_layer", "1"}, {"model.n_embd", "16"}, {"model.n_head", "2"}, {"model.norm", "none"},
        {"model.activation", "relu"}, {"model.init", "torch"},
    };
    char err[ERR_MAX];
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        cr_assert_eq(run_config_set(rc, kv[i][0], kv[i][1], err), 0, "%s", err);
    cr_assert_eq(run_config_resolve(rc, err), 0, "%s", err);
}

// one full-batch step of `arithlab train` is one AdamW step over the whole fixed training set,
// built here by hand from the set (in its order), bit for bit
Test(full_batch, one_step_equals_a_step_over_the_explicit_training_set, .init = tmp_setup, .fini = tmp_teardown)
{
    RunConfig rc;
    full_batch_config(&rc, "0", "37");
    int N = rc.task.train_size, T = rc.train.seq_len;
    freopen("/dev/null", "w", stdout);
    cr_assert_eq(run_train(&rc, tmpdir, 0), 0, "the full-batch run failed");

    char err[ERR_MAX], path[512];
    Model m, trained;
    cr_assert_eq(model_build(&m, &rc.model, N, T, rc.train.seed, err), 0, "%s", err);
    model_set_threads(&m, 1);
    TaskPool pool;
    cr_assert_eq(task_pool_build(&rc.task, &pool, err), 0, "%s", err);
    cr_assert_eq(pool.n, N);
    TaskExample *ex = calloc(N, sizeof *ex);
    int *x = calloc((size_t)N * T, sizeof(int)), *y = calloc((size_t)N * T, sizeof(int));
    for (int i = 0; i < N; i++)
        cr_assert_eq(task_example_from_problem(&rc.task, pool.text + pool.offset[i], &ex[i], err), 0, "%s", err);
    cr_assert_eq(task_batch_from_examples(ex, N, T, x, y, err), 0, "%s", err);
    m.training = 1;
    model_forward(&m, x, y, N, T);
    model_zero_grad(&m);
    model_backward(&m);
    model_update(&m, &rc.optim, adamw_lr(&rc.optim, 0), 1, model_grad_norm(&m));

    snprintf(path, sizeof path, "%s/ckpt.safetensors", tmpdir);
    static TrainState st;
    cr_assert_eq(ckpt_build_model(&trained, &st, 1, path, N, T, err), 0, "%s", err);
    cr_assert_eq(trained.n_params, m.n_params);
    cr_expect(memcmp(trained.params, m.params, sizeof(float) * m.n_params) == 0,
              "the full-batch step differs from a step over the whole set");
    cr_expect(memcmp(trained.m, m.m, sizeof(float) * m.n_params) == 0, "AdamW moments differ");

    // and a sampled batch of the same size (with replacement) is another step
    RunConfig sampled;
    full_batch_config(&sampled, "37", "37");
    char dir2[300];
    snprintf(dir2, sizeof dir2, "%s/sampled", tmpdir);
    cr_assert_eq(mkdir(dir2, 0700), 0);
    cr_assert_eq(run_train(&sampled, dir2, 0), 0);
    Model other;
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir2);
    cr_assert_eq(ckpt_build_model(&other, &st, 1, path, N, T, err), 0, "%s", err);
    cr_expect(memcmp(other.params, m.params, sizeof(float) * m.n_params) != 0, "a sampled batch gave the same step");
    model_free(&other);
    model_free(&trained);
    model_free(&m);
    task_pool_free(&pool);
    free(ex); free(x); free(y);
}

Test(full_batch, without_a_fixed_training_set_is_refused_naming_the_keys, .init = tmp_setup, .fini = tmp_teardown)
{
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "%s train --out %s/run --set train.batch_size=0 --set train.steps=1 --set train.threads=1",
             ARITHLAB_BIN, tmpdir);
    int st = run(cmd, out, sizeof out);
    cr_expect_neq(st, 0, "accepted: %s", out);
    cr_expect(strstr(out, "train.batch_size = 0") && strstr(out, "task.train_size"), "%s", out);
}

// the memory check before training sizes the activations for the whole set
Test(full_batch, memory_estimate_counts_the_whole_training_set, .init = tmp_setup, .fini = tmp_teardown)
{
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "%s train --out %s/run --set train.batch_size=0 --set task.train_size=5000000 "
             "--set model.n_embd=1024 --set model.n_head=8 --set train.steps=1 --set train.threads=1", ARITHLAB_BIN, tmpdir);
    int st = run(cmd, out, sizeof out);
    cr_expect_neq(st, 0, "accepted: %s", out);
    cr_expect(strstr(out, "of memory is available") && strstr(out, "a batch of 5000000") && strstr(out, "task.train_size (the full batch)"), "%s", out);
}

// ---------------------------------------------------------------- checkpoints
// the keys are written to the metadata, and a checkpoint older than them loads with the defaults
Test(arch_keys, checkpoints_keep_the_keys_and_older_files_get_the_defaults, .init = tmp_setup, .fini = tmp_teardown)
{
    ModelConfig c = small_config("none", "relu"), back;
    snprintf(c.init, sizeof c.init, "torch");
    Model m;
    char err[ERR_MAX], path[300], old[300];
    cr_assert_eq(model_build(&m, &c, 1, 4, 1, err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/new.safetensors", tmpdir);
    cr_assert_eq(ckpt_save(&m, NULL, 0, path, err), 0, "%s", err);
    model_free(&m);
    cr_assert_eq(ckpt_read_config(path, &back, err), 0, "%s", err);
    cr_expect_str_eq(back.init, "torch");
    cr_expect_str_eq(back.norm, "none");
    cr_expect_str_eq(back.activation, "relu");

    // the same file without the three keys, as written before they existed
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    cJSON *root = cJSON_ParseWithLength((const char *)b + 8, hl);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    cr_assert_not_null(meta);
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "model.init");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "model.norm");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "model.activation");
    char *json = cJSON_PrintUnformatted(root);
    size_t jl = strlen(json), padded = (jl + 7) / 8 * 8, data = n - 8 - hl;
    unsigned char *o = malloc(8 + padded + data);
    for (int i = 0; i < 8; i++) o[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(o + 8, json, jl);
    memset(o + 8 + jl, ' ', padded - jl);
    memcpy(o + 8 + padded, b + 8 + hl, data);
    snprintf(old, sizeof old, "%s/old.safetensors", tmpdir);
    write_bytes(old, o, 8 + padded + data);
    cr_assert_eq(ckpt_read_config(old, &back, err), 0, "%s", err);
    cr_expect_str_eq(back.init, "gpt2");
    cr_expect_str_eq(back.norm, "layernorm");
    cr_expect_str_eq(back.activation, "gelu");
    free(o); free(json); free(b);
    cJSON_Delete(root);
}
