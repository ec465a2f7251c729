// test_fone_fixture.h: the FoNE finite-difference fixture (a batch of [NUM] tokens with
// values, the digit-head loss in double, every tensor against central differences), shared
// by tests/test_fone.c and the registry-driven scheme table of tests/test_pos.c.
#ifndef ARITHLAB_TEST_FONE_FIXTURE_H
#define ARITHLAB_TEST_FONE_FIXTURE_H
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/vocab.h"
#include "model/fone.h"
#include "model/model.h"
#include "tests/test_grad.h"

static ModelConfig fone_config(const char *spec, int places, int linear)
{
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = TASK_VOCAB_SIZE; c.block_size = 8; c.n_layer = 2; c.n_head = 2; c.n_embd = 8; c.mlp_hidden = 12;
    *pos_opt_ptr(&c.pos, "model.fone_places") = places;
    *pos_opt_ptr(&c.pos, "model.fone_linear") = linear;
    snprintf(c.position, sizeof(c.position), "%s", spec);
    return c;
}

// ---------------------------------------------------------------- gradients

// a batch of two FoNE sequences, (B,T) = (2,6): [NUM] tokens with values, [NUM] targets
// with the answers' values, one ordinary target (counted by a plain model, not here)
enum { GB = 2, GT = 6 };
static const int G_X[GB * GT] = {
    TASK_BOS, TASK_NUM, TASK_PUNCT0, TASK_NUM, TASK_PUNCT0 + 3, TASK_NUM,
    TASK_BOS, TASK_NUM, TASK_PUNCT0 + 1, TASK_NUM, TASK_PUNCT0 + 3, TASK_NUM,
};
static const int G_Y[GB * GT] = {
    -1, -1, -1, TASK_PUNCT0 + 3, TASK_NUM, TASK_EOS,
    -1, -1, -1, -1, TASK_NUM, TASK_NUM,
};
static const double G_V[GB * GT] = { 0, 128, 0, 367, 0, 495, 0, 905, 0, 17, 0, 888 };
static const double G_YV[GB * GT] = { 0, 0, 0, 0, 495, 0, 0, 0, 0, 0, 888, 31 };

// the FoNE loss in double from the digit logits (float32's m->loss quantizes it)
static double fone_loss_double(Model *m)
{
    int P = pos_opt(&m->cfg.pos, "model.fone_places"), n = 0, dims[2];
    cr_assert_eq(m->head->output_dims(m, dims), 2);
    cr_assert(dims[0] == P && dims[1] == 10, "the digit head's outputs are (P, 10) per position");
    float *l = malloc(sizeof(float) * GB * GT * P * 10);
    model_forward_batch(m, &(Batch){G_X, NULL, G_V, NULL, GB, GT});
    m->head->outputs(m, l);
    double sum = 0.0;
    for (int i = 0; i < GB * GT; i++) {
        if (G_Y[i] != TASK_NUM) continue;
        long long v = (long long)G_YV[i];
        double li = 0.0;
        for (int p = 0; p < P; p++, v /= 10) {
            const float *lp = l + ((size_t)i * P + p) * 10;
            double mx = lp[0], z = 0.0;
            for (int j = 1; j < 10; j++) mx = fmax(mx, lp[j]);
            for (int j = 0; j < 10; j++) z += exp(lp[j] - mx);
            li += mx + log(z) - lp[v % 10];
        }
        sum += li / P;
        n++;
    }
    free(l);
    return sum / n;
}

static double fone_loss_fn(Model *m, void *ctx) { (void)ctx; return fone_loss_double(m); }

static void check_fone_gradients(ModelConfig cfg, const char *label)
{
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &cfg, GB, GT, 3, err), 0, "%s", err);
    uint64_t rng = rng_seed(5);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.3f * (2.0f * rng_f32(&rng) - 1.0f);
    const Batch batch = {G_X, G_Y, G_V, G_YV, GB, GT};
    model_forward_batch(&m, &batch);
    cr_assert_eq(m.n_loss_tokens, 3, "%s: the [NUM] targets count, nothing else", label);
    float loss = m.loss;
    cr_assert_float_eq(loss, fone_loss_double(&m), 1e-5, "%s: loss %g", label, loss);
    model_forward_batch(&m, &batch);
    model_zero_grad(&m);
    model_backward(&m);
    float *g = malloc(sizeof(float) * m.n_params);
    memcpy(g, m.grads, sizeof(float) * m.n_params);
    int n_with_gradient = 0;
    for (int t = 0; t < m.n_tensors; t++) {
        ParamInfo *p = &m.tensors[t];
        test_fd_t fd = test_fd_tensor(&m, p, g, 4e-3f, &rng, fone_loss_fn, NULL);
        double rel = fd.den < 1e-14 ? 0.0 : fd.rel;
        n_with_gradient += fd.den >= 1e-14;
        cr_log_info("%s %-36s rel err %.2e", label, p->name, rel);
        cr_expect(rel < 2e-3, "%s: %s relative error %.3e", label, p->name, rel);
    }
    cr_expect_gt(n_with_gradient, m.n_tensors / 2, "%s: most tensors must get a gradient", label);
    ParamInfo *head = model_find_tensor(&m, "lm_head.weight");
    for (size_t j = 0; head && j < head->numel; j++)
        cr_assert_eq(g[head->offset + j], 0.0f, "%s: the LM head takes no part in a FoNE loss", label);
    free(g);
    model_free(&m);
}

#endif
