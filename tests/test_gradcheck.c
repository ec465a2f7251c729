// test_gradcheck.c: every op's backward, and the whole model's, against
// central finite differences. One table of ops, one loop (as in ggml).
// Per-op: loss = sum(out * R) in double for a fixed random R, so dout = R.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/model.h"
#include "model/ops.h"
#include "model/attention.h"
#include "tests/test_grad.h"

static uint64_t g_rng;
static float *randv(size_t n, float scale)
{
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) p[i] = scale * (2.0f * rng_f32(&g_rng) - 1.0f);
    return p;
}

// ---------------------------------------------------------------- op table
// each case owns a few input tensors; fwd computes out from them; bwd
// accumulates gradients of every input given dout
enum { MAXT = 4 };
typedef struct {
    const char *name;
    int n_in;
    size_t in_n[MAXT];
    size_t out_n;
    void (*fwd)(float **in, float *out);
    void (*bwd)(float **in, float **din, const float *dout);
} op_case_t;

enum { N_ = 6, C_ = 8, OC_ = 5, V_ = 7 };
static int g_targets[N_] = {1, -1, 6, 0, 3, -1};

static void ln_fwd(float **in, float *out)
{
    float mean[N_], rstd[N_];
    layernorm_forward(out, mean, rstd, in[0], in[1], in[2], N_, C_);
}
static void ln_bwd(float **in, float **din, const float *dout)
{
    float mean[N_], rstd[N_], tmp[N_ * C_];
    layernorm_forward(tmp, mean, rstd, in[0], in[1], in[2], N_, C_);
    layernorm_backward(din[0], din[1], din[2], dout, in[0], in[1], mean, rstd, N_, C_, 1);
}
static void mm_fwd(float **in, float *out) { matmul_forward(out, in[0], in[1], in[2], N_, C_, OC_); }
static void mm_bwd(float **in, float **din, const float *dout)
{ matmul_backward(din[0], din[1], din[2], dout, in[0], in[1], N_, C_, OC_, 1); }
static void gelu_fwd(float **in, float *out) { gelu_forward(out, in[0], N_ * C_); }
static void gelu_bwd(float **in, float **din, const float *dout)
{
    float tmp[N_ * C_];
    gelu_backward(tmp, in[0], dout, N_ * C_);
    for (int i = 0; i < N_ * C_; i++) din[0][i] += tmp[i];
}
// cross-entropy: out is the scalar mean loss (out_n = 1)
static void ce_fwd(float **in, float *out)
{
    float probs[N_ * V_], losses[N_];
    int n;
    memcpy(probs, in[0], sizeof(probs));
    out[0] = crossentropy_forward(probs, losses, g_targets, N_, V_, &n);
}
static void ce_bwd(float **in, float **din, const float *dout)
{
    float probs[N_ * V_], losses[N_], d[N_ * V_];
    int n;
    memcpy(probs, in[0], sizeof(probs));
    crossentropy_forward(probs, losses, g_targets, N_, V_, &n);
    crossentropy_backward(d, probs, g_targets, N_, V_, n);
    for (int i = 0; i < N_ * V_; i++) din[0][i] += dout[0] * d[i];
}

static void res_fwd(float **in, float *out) { residual_forward(out, in[0], in[1], N_ * C_); }
static void res_bwd(float **in, float **din, const float *dout) { (void)in; residual_backward(din[0], din[1], dout, N_ * C_); }
// the encoder: token embedding rows of g_tokens (B,T) = (2,3); wte (V,C) is the input
static const int g_tokens[N_] = {3, 0, 3, 6, 1, 3};
static void enc_fwd(float **in, float *out) { encoder_forward(out, g_tokens, in[0], 2, 3, C_); }
static void enc_bwd(float **in, float **din, const float *dout) { (void)in; encoder_backward(din[0], dout, g_tokens, 2, 3, C_, V_); }
// attention without position hooks: qkv (B,T,3C) = (2,3,3*8), 2 heads; out (B,T,C)
static const pos_shape_t g_att_shape = {.B = 2, .T = 3, .C = C_, .NH = 2, .HS = C_ / 2, .t0 = 0, .T_kv = 3};
static void att_fwd(float **in, float *out)
{
    float att[2 * 2 * 3 * 3];
    attention_forward(NULL, 0, &g_att_shape, 0, out, att, in[0], in[0] + C_, in[0] + 2 * C_, 3 * 3 * C_, 3 * C_);
}
static void att_bwd(float **in, float **din, const float *dout)
{
    float att[2 * 2 * 3 * 3], out[N_ * C_], dpre[2 * 2 * 3 * 3], dqkv[N_ * 3 * C_];
    attention_forward(NULL, 0, &g_att_shape, 0, out, att, in[0], in[0] + C_, in[0] + 2 * C_, 3 * 3 * C_, 3 * C_);
    attention_backward(NULL, 0, &g_att_shape, 0, dqkv, dpre, dout, in[0], att);
    for (int i = 0; i < N_ * 3 * C_; i++) din[0][i] += dqkv[i];
}
// the same over masked-packed rows (Batch.pos): row 0 holds problems of 2 and 1 tokens, row 1
// of 1 and 2; each query sees only its own problem's keys
static const int g_att_pos[N_] = {0, 1, 0, 0, 0, 1};
static const pos_shape_t g_att_packed = {.B = 2, .T = 3, .C = C_, .NH = 2, .HS = C_ / 2, .t0 = 0, .T_kv = 3, .pos = g_att_pos};
static void att_packed_fwd(float **in, float *out)
{
    float att[2 * 2 * 3 * 3];
    attention_forward(NULL, 0, &g_att_packed, 0, out, att, in[0], in[0] + C_, in[0] + 2 * C_, 3 * 3 * C_, 3 * C_);
}
static void att_packed_bwd(float **in, float **din, const float *dout)
{
    float att[2 * 2 * 3 * 3], out[N_ * C_], dpre[2 * 2 * 3 * 3], dqkv[N_ * 3 * C_];
    attention_forward(NULL, 0, &g_att_packed, 0, out, att, in[0], in[0] + C_, in[0] + 2 * C_, 3 * 3 * C_, 3 * C_);
    attention_backward(NULL, 0, &g_att_packed, 0, dqkv, dpre, dout, in[0], att);
    for (int i = 0; i < N_ * 3 * C_; i++) din[0][i] += dqkv[i];
}

// to add an op: a fwd/bwd pair above and one line here (inputs, their sizes, the output size)
static const op_case_t OPS[] = {
    {"residual", 2, {N_ * C_, N_ * C_}, N_ * C_, res_fwd, res_bwd},
    {"encoder", 1, {V_ * C_}, N_ * C_, enc_fwd, enc_bwd},
    {"attention", 1, {N_ * 3 * C_}, N_ * C_, att_fwd, att_bwd},
    {"attention, masked-packed rows", 1, {N_ * 3 * C_}, N_ * C_, att_packed_fwd, att_packed_bwd},
    {"layernorm", 3, {N_ * C_, C_, C_}, N_ * C_, ln_fwd, ln_bwd},
    {"matmul", 3, {N_ * C_, OC_ * C_, OC_}, N_ * OC_, mm_fwd, mm_bwd},
    {"gelu", 1, {N_ * C_}, N_ * C_, gelu_fwd, gelu_bwd},
    {"crossentropy", 1, {N_ * V_}, 1, ce_fwd, ce_bwd},
};

static double op_loss(const op_case_t *op, float **in, const float *R)
{
    float *out = malloc(sizeof(float) * op->out_n);
    op->fwd(in, out);
    double s = 0.0;
    for (size_t i = 0; i < op->out_n; i++) s += (double)out[i] * R[i];
    free(out);
    return s;
}

Test(gradcheck, every_op_matches_finite_differences)
{
    ops_set_threads(2);
    for (size_t k = 0; k < sizeof(OPS) / sizeof(OPS[0]); k++) {
        const op_case_t *op = &OPS[k];
        g_rng = rng_seed(100 + k);
        float *in[MAXT], *din[MAXT];
        for (int i = 0; i < op->n_in; i++) { in[i] = randv(op->in_n[i], 1.5f); din[i] = calloc(op->in_n[i], sizeof(float)); }
        float *R = randv(op->out_n, 1.0f);
        op->bwd(in, din, R);
        for (int i = 0; i < op->n_in; i++) {
            double num = 0.0, den = 0.0;
            for (size_t j = 0; j < op->in_n[i]; j++) {
                float keep = in[i][j], h = 1e-2f;
                in[i][j] = keep + h; double lp = op_loss(op, in, R);
                in[i][j] = keep - h; double lm = op_loss(op, in, R);
                in[i][j] = keep;
                double fd = (lp - lm) / (2.0 * h);
                num += (fd - din[i][j]) * (fd - din[i][j]);
                den += fd * fd + (double)din[i][j] * din[i][j];
            }
            double rel = sqrt(num / (den + 1e-30));
            cr_log_info("%-12s input %d: relative error %.2e", op->name, i, rel);
            cr_expect(rel < 2e-3, "%s input %d: relative error %.3e", op->name, i, rel);
        }
        for (int i = 0; i < op->n_in; i++) { free(in[i]); free(din[i]); }
        free(R);
    }
}

// ---------------------------------------------------------------- whole model
// the loss of one fixed batch, every forward making the same random draws
typedef struct { const int *x, *y; int B, T; uint64_t rng0; } batch_ctx_t;

static double batch_loss(Model *m, void *ctx)
{
    batch_ctx_t *c = ctx;
    m->rng = c->rng0;
    model_forward(m, c->x, c->y, c->B, c->T);
    return m->loss;
}

// early_exit = 1 (looped models with loop_random): pick an RNG state whose depth draw
// skips no loop and stops before the last, so the loss is a function of every
// parameter that finite differences can check. (Draws that skip loops detach the
// skipped passes; tools/torch_reference.py checks those against torch's detach.)
static void check_model_rng(ModelConfig cfg, const char *label, int early_exit)
{
    enum { B = 2, T = 6 };
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &cfg, B, T, 3, err), 0, "%s", err);
    // larger weights than the 0.02 init, so gradients are well above float noise
    g_rng = rng_seed(5);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.3f * (2.0f * rng_f32(&g_rng) - 1.0f);
    int x[B * T], y[B * T];
    for (int i = 0; i < B * T; i++) { x[i] = rng_int(&g_rng, cfg.vocab_size); y[i] = i % 4 == 1 ? -1 : rng_int(&g_rng, cfg.vocab_size); }
    m.training = 1;
    uint64_t rng0 = m.rng;   // every forward makes the same random draws (depth, offsets)
    if (early_exit) {
        int found = 0;
        for (uint64_t s = 1; s < 1000 && !found; s++) {
            rng0 = m.rng = rng_seed(s);
            model_forward(&m, x, y, B, T);
            found = m.pass_lo == 0 && m.pass_hi < cfg.n_layer * cfg.n_loops;
        }
        cr_assert(found, "no RNG state gave an early-exit depth draw");
        cr_log_info("%s: loss after pass %d, gradient through passes %d..%d", label, m.pass_hi, m.pass_lo, m.pass_hi - 1);
    }
    m.rng = rng0;
    model_forward(&m, x, y, B, T);
    model_zero_grad(&m);
    model_backward(&m);
    float *g = malloc(sizeof(float) * m.n_params);
    memcpy(g, m.grads, sizeof(float) * m.n_params);
    batch_ctx_t ctx = {x, y, B, T, rng0};
    double worst = 0.0;
    for (int t = 0; t < m.n_tensors; t++) {
        ParamInfo *p = &m.tensors[t];
        test_fd_t fd = test_fd_tensor(&m, p, g, 1e-2f, &g_rng, batch_loss, &ctx);
        double rel = fd.den < 1e-14 ? 0.0 : fd.rel;   // tensor with no gradient (e.g. unused rows): both zero
        worst = rel > worst ? rel : worst;
        cr_log_info("%s %-36s rel err %.2e", label, p->name, rel);
        cr_expect(rel < 5e-3, "%s: %s relative error %.3e", label, p->name, rel);
    }
    cr_log_info("%s: worst relative error %.2e", label, worst);
    free(g);
    model_free(&m);
}

static void check_model(ModelConfig cfg, const char *label) { check_model_rng(cfg, label, 0); }

static ModelConfig small_config(void)
{
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 7; c.block_size = 8; c.n_layer = 2; c.n_head = 2; c.n_embd = 8; c.mlp_hidden = 12;
    return c;
}

Test(gradcheck, pre_ln_model_matches_finite_differences) { check_model(small_config(), "pre-LN"); }
Test(gradcheck, post_ln_model_matches_finite_differences)
{
    ModelConfig c = small_config();
    c.post_ln = 1;
    check_model(c, "post-LN");
}
Test(gradcheck, tied_head_model_matches_finite_differences)
{
    ModelConfig c = small_config();
    c.tied = 1;
    check_model(c, "tied");
}

Test(gradcheck, looped_model_with_input_injection_matches_finite_differences)
{
    ModelConfig c = small_config();
    c.n_layer = 1;
    c.n_loops = 3;
    check_model(c, "looped");
}

Test(gradcheck, looped_model_with_random_depth_matches_finite_differences)
{
    ModelConfig c = small_config();
    c.n_layer = 1;
    c.n_loops = 4;
    c.loop_random = 1;
    check_model_rng(c, "looped, random depth", 1);
}
