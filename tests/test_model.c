// test_model.c: behaviour of the engine beyond gradients: AdamW against
// hand-computed values, the schedule, determinism, and cached decoding.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/model.h"
#include "model/optim.h"
#include "model/ops.h"

static ModelConfig tiny_config(void)
{
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 11; c.block_size = 16; c.n_layer = 2; c.n_head = 2; c.n_embd = 16;
    return c;
}

// ---------------------------------------------------------------- AdamW
Test(adamw, first_steps_match_hand_computed_values)
{
    char err[ERR_MAX];
    Model m;
    ModelConfig c = tiny_config();
    cr_assert_eq(model_build(&m, &c, 1, 4, 1, err), 0, "%s", err);
    ParamInfo *wd = model_find_tensor(&m, "transformer.h.0.attn.c_attn.weight");  // decayed
    ParamInfo *nd = model_find_tensor(&m, "transformer.h.0.ln_1.bias");           // not decayed
    cr_assert(wd && nd && wd->decay && !nd->decay);
    AdamWConfig oc;
    adamw_config_default(&oc);
    oc.beta1 = 0.9f; oc.beta2 = 0.99f; oc.eps = 1e-8f; oc.weight_decay = 0.1f; oc.grad_clip = 0;
    float lr = 0.1f, g[2] = {0.2f, -0.1f};
    model_zero_grad(&m);
    m.params[wd->offset] = 0.5f;
    m.params[nd->offset] = 0.5f;
    // step 1 by hand: m = 0.02, v = 4e-4, mhat/sqrt(vhat) = 1
    m.grads[wd->offset] = g[0]; m.grads[nd->offset] = g[0];
    model_update(&m, &oc, lr, 1, model_grad_norm(&m));
    cr_expect_float_eq(m.params[wd->offset], 0.5f - 0.1f * (0.1f * 0.5f + 1.0f), 1e-6);   // 0.395
    cr_expect_float_eq(m.params[nd->offset], 0.5f - 0.1f, 1e-6);                           // 0.4
    // step 2, in the form torch.optim.AdamW writes it
    m.grads[wd->offset] = g[1]; m.grads[nd->offset] = g[1];
    model_update(&m, &oc, lr, 2, model_grad_norm(&m));
    double mom = 0.9 * 0.02 + 0.1 * g[1], vel = 0.99 * 4e-4 + 0.01 * (double)g[1] * g[1];
    double bc1 = 1 - 0.9 * 0.9, bc2 = 1 - 0.99 * 0.99;
    double step = lr / bc1 * mom / (sqrt(vel) / sqrt(bc2) + 1e-8);
    cr_expect(fabs(m.params[wd->offset] - (0.395 * (1 - 0.1 * 0.1) - step)) < 1e-6, "decayed: %.8f", m.params[wd->offset]);
    cr_expect(fabs(m.params[nd->offset] - (0.4 - step)) < 1e-6, "not decayed: %.8f", m.params[nd->offset]);
    model_free(&m);
}

Test(adamw, clipping_scales_gradients_to_the_global_norm)
{
    char err[ERR_MAX];
    Model m;
    ModelConfig c = tiny_config();
    cr_assert_eq(model_build(&m, &c, 1, 4, 1, err), 0, "%s", err);
    ParamInfo *nd = model_find_tensor(&m, "transformer.h.1.ln_2.bias");
    AdamWConfig oc;
    adamw_config_default(&oc);
    oc.grad_clip = 1.0f; oc.weight_decay = 0;
    model_zero_grad(&m);
    m.grads[nd->offset] = 3.0f; m.grads[nd->offset + 1] = 4.0f;   // norm 5
    float norm = model_update(&m, &oc, 0.0f, 1, model_grad_norm(&m));                   // lr 0: only the moments move
    cr_expect_float_eq(norm, 5.0f, 1e-5);
    // m = (1-beta1) * g * clip/(norm+1e-6)
    cr_expect_float_eq(m.m[nd->offset], (1 - oc.beta1) * 3.0f / (5.0f + 1e-6f), 1e-7);
    cr_expect_float_eq(m.m[nd->offset + 1], (1 - oc.beta1) * 4.0f / (5.0f + 1e-6f), 1e-7);
    model_free(&m);
}

Test(adamw, schedule_warms_up_linearly_then_decays_to_min_lr)
{
    AdamWConfig oc;
    adamw_config_default(&oc);
    oc.lr = 1.0f; oc.min_lr = 0.1f; oc.warmup_steps = 10; oc.total_steps = 110;
    cr_expect_float_eq(adamw_lr(&oc, 0), 0.1f, 1e-7);
    cr_expect_float_eq(adamw_lr(&oc, 9), 1.0f, 1e-7);
    cr_expect_float_eq(adamw_lr(&oc, 10), 1.0f, 1e-6);
    cr_expect_float_eq(adamw_lr(&oc, 60), 0.55f, 1e-6);    // half way: (1+0.1)/2
    cr_expect_float_eq(adamw_lr(&oc, 110), 0.1f, 1e-7);
    cr_expect_float_eq(adamw_lr(&oc, 500), 0.1f, 1e-7);
}

// ---------------------------------------------------------------- determinism
static void loss_curve(int threads, int steps, float *out)
{
    char err[ERR_MAX];
    Model m;
    ModelConfig c = tiny_config();
    cr_assert_eq(model_build(&m, &c, 4, 12, 42, err), 0, "%s", err);
    model_set_threads(&m, threads);
    AdamWConfig oc;
    adamw_config_default(&oc);
    uint64_t rng = rng_seed(9);
    int x[48], y[48];
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < 48; i++) { x[i] = rng_int(&rng, 11); y[i] = (x[i] + 1) % 11; }
        model_forward(&m, x, y, 4, 12);
        model_zero_grad(&m);
        model_backward(&m);
        model_update(&m, &oc, 3e-3f, s + 1, model_grad_norm(&m));
        out[s] = m.loss;
    }
    model_free(&m);
}

Test(determinism, same_seed_and_threads_give_bit_identical_losses)
{
    float a[20], b[20];
    loss_curve(2, 20, a);
    loss_curve(2, 20, b);
    cr_expect(memcmp(a, b, sizeof(a)) == 0, "loss curves differ");
    cr_expect(a[19] < a[0], "loss did not fall: %f -> %f", a[0], a[19]);
}

Test(determinism, one_and_two_threads_give_bit_identical_losses)
{
    float a[20], b[20];
    loss_curve(1, 20, a);
    loss_curve(2, 20, b);
    for (int i = 0; i < 20; i++) cr_expect(a[i] == b[i], "step %d: %.9g vs %.9g", i, a[i], b[i]);
}

// ---------------------------------------------------------------- decoding
static void cached_equals_full(ModelConfig c);

Test(decode, cached_logits_equal_full_forward_logits) { cached_equals_full(tiny_config()); }

Test(decode, cached_logits_equal_full_forward_logits_in_a_looped_model)
{
    ModelConfig c = tiny_config();
    c.n_layer = 1;
    c.n_loops = 3;
    cached_equals_full(c);
}

Test(model, a_loop_counts_parameters_once_and_flops_per_pass)
{
    char err[ERR_MAX];
    Model a, b;
    ModelConfig c = tiny_config();
    cr_assert_eq(model_build(&a, &c, 1, 4, 1, err), 0, "%s", err);
    c.n_loops = 4;
    cr_assert_eq(model_build(&b, &c, 1, 4, 1, err), 0, "%s", err);
    cr_expect_eq(a.n_params, b.n_params);
    ModelConfig c1 = tiny_config();
    double head = 2.0 * 2 * 8 * c.n_embd * c.vocab_size;
    cr_expect_float_eq(model_flops_forward(&c, 2, 8) - head, 4 * (model_flops_forward(&c1, 2, 8) - head), 1.0);
    model_free(&a);
    model_free(&b);
}

static void cached_equals_full(ModelConfig c)
{
    char err[ERR_MAX];
    Model m, ref;
    cr_assert_eq(model_build(&m, &c, 3, 16, 5, err), 0, "%s", err);
    cr_assert_eq(model_build(&ref, &c, 3, 16, 5, err), 0, "%s", err);
    int tok[3 * 16];
    uint64_t rng = rng_seed(3);
    for (int i = 0; i < 48; i++) tok[i] = rng_int(&rng, 11);
    model_forward(&ref, tok, NULL, 3, 16);
    // prefill 5 positions, then one at a time
    int V = c.vocab_size;
    cr_assert_eq(model_forward_cached(&m, tok, 16, 3, 0, 5), 0);
    double worst = 0;
    for (int b = 0; b < 3; b++)
        for (int t = 0; t < 5; t++)
            for (int v = 0; v < V; v++)
                worst = fmax(worst, fabs(m.logits[((size_t)b * 5 + t) * V + v] - ref.logits[((size_t)b * 16 + t) * V + v]));
    for (int t = 5; t < 16; t++) {
        cr_assert_eq(model_forward_cached(&m, tok, 16, 3, t, 1), 0);
        for (int b = 0; b < 3; b++)
            for (int v = 0; v < V; v++)
                worst = fmax(worst, fabs(m.logits[(size_t)b * V + v] - ref.logits[((size_t)b * 16 + t) * V + v]));
    }
    cr_expect(worst < 1e-5, "cached logits differ by %.3e", worst);
    model_free(&m);
    model_free(&ref);
}

Test(decode, cache_gives_exactly_the_tokens_of_full_recomputation)
{
    char err[ERR_MAX];
    Model m;
    ModelConfig c = tiny_config();
    cr_assert_eq(model_build(&m, &c, 8, 16, 11, err), 0, "%s", err);
    // larger weights so that the argmax changes from step to step
    uint64_t rng = rng_seed(4);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.5f * (2 * rng_f32(&rng) - 1);
    int a[8 * 16], b[8 * 16], na[8], nb[8];
    for (int i = 0; i < 8 * 16; i++) a[i] = b[i] = rng_int(&rng, 11);
    cr_assert_eq(model_generate_greedy(&m, a, 16, 8, 4, 12, 10, na, 1, err), 0, "%s", err);
    cr_assert_eq(model_generate_greedy(&m, b, 16, 8, 4, 12, 10, nb, 0, err), 0, "%s", err);
    cr_expect(memcmp(a, b, sizeof(a)) == 0, "generated tokens differ");
    cr_expect(memcmp(na, nb, sizeof(na)) == 0, "generated lengths differ");
    int distinct = 0;   // the check means something only if the outputs vary
    for (int i = 5; i < 16; i++) distinct += a[i] != a[4];
    cr_expect(distinct > 0, "degenerate generation");
    model_free(&m);
}

Test(decode, rejects_a_sequence_longer_than_the_context)
{
    char err[ERR_MAX];
    Model m;
    ModelConfig c = tiny_config();
    cr_assert_eq(model_build(&m, &c, 2, 16, 1, err), 0, "%s", err);
    int seq[2 * 20] = {0}, n[2];
    cr_expect_eq(model_generate_greedy(&m, seq, 17, 2, 4, 8, 1, n, 1, err), 0, "%s", err);   // 16 fed, 1 generated
    cr_expect_eq(model_generate_greedy(&m, seq, 18, 2, 4, 8, 1, n, 1, err), -1);
    cr_expect(strstr(err, "context") != NULL, "message: %s", err);
    model_free(&m);
}

Test(model, rejects_bad_configs_naming_the_field)
{
    char err[ERR_MAX];
    Model m;
    ModelConfig c = tiny_config();
    c.n_head = 3;
    cr_expect_eq(model_build(&m, &c, 1, 4, 1, err), -1);
    cr_expect(strstr(err, "n_head") != NULL, "%s", err);
    c = tiny_config();
    snprintf(c.position, sizeof(c.position), "absolute+bogus");
    cr_expect_eq(model_build(&m, &c, 1, 4, 1, err), -1);
    cr_expect(strstr(err, "bogus") && strstr(err, "absolute"), "%s", err);
    c = tiny_config();
    cr_expect_eq(model_build(&m, &c, 1, 17, 1, err), -1);
    cr_expect(strstr(err, "block_size") != NULL, "%s", err);
}
