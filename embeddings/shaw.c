// shaw.c: learned relative key embeddings (Shaw et al. 2018, "Self-Attention with Relative
// Position Representations", eq. 4, keys only, as in the arithmetic length-generalization work):
// logits[i,j] += q_i . r[l, min(i-j, rel_max)] / sqrt(HS); r is shared by the heads of a layer.
#include <math.h>
#include <stdlib.h>
#include <omp.h>
#include "embeddings/pos.h"
#include "core/common.h"

// model.rel_max is declared here, once, and T5 (t5.c) reads it too: the clipping
// distance is Shaw et al.'s k, the first relative scheme's option, and T5's max_distance
// plays the same part. A second declaration would be refused by pos_keys (pos_registry.c).
static const key_def_t shaw_keys[] = {
    {"model.rel_max", KEY_INT, 0, sizeof(int), 1, 1 << 16, "32", 0, "Shaw/T5: largest relative distance told apart"},
};

typedef struct { int R; } shaw_state_t;   // rel_max: distances >= R share r[R]

// every layer's table lives in one tensor (n_layer, rel_max+1, HS), so the scheme
// needs one parameter slot however deep the model is
static int shaw_init(pos_scheme_t *p, const pos_config_t *cfg, char *err)
{
    shaw_state_t *st = malloc(sizeof(*st));
    if (!st) return err_set(err, "shaw: out of memory");
    st->R = pos_opt(cfg->opts, "model.rel_max");
    p->state = st;
    int shape[3] = {cfg->n_layer, st->R + 1, cfg->n_embd / cfg->n_head};
    pos_declare(p, "transformer.pos.shaw.rel_k", 3, shape, 0, 0.02f);
    return 0;
}

static void shaw_free(pos_scheme_t *p) { free(p->state); p->state = NULL; }

static float dot(const float *a, const float *b, int n)
{
    float s = 0.0f;
    for (int k = 0; k < n; k++) s += a[k] * b[k];
    return s;
}

// preatt (T, T_kv) of (b,h) += q_i . r[min(t0+i-j, R)] / sqrt(HS); q is (T, HS) with row stride 3C.
// One dot product per distinct distance: keys at distance >= R share r[R].
static void shaw_bias_forward(pos_scheme_t *p, const pos_shape_t *s, int layer, int b, int h,
                              const float *q, float *preatt)
{
    int R = ((const shaw_state_t *)p->state)->R, HS = s->HS;
    const float *r = p->w[0] + (size_t)layer * (R + 1) * HS;   // (R+1, HS)
    float scale = 1.0f / sqrtf((float)HS);
    for (int i = 0; i < s->T; i++) {
        int qpos = s->t0 + i;
        const float *qi = q + (size_t)i * 3 * s->C;
        float *row = preatt + (size_t)i * s->T_kv;
        for (int d = 0; d <= qpos && d < R; d++) row[qpos - d] += scale * dot(qi, r + (size_t)d * HS, HS);
        if (qpos >= R) {
            float v = scale * dot(qi, r + (size_t)R * HS, HS);
            for (int j = 0; j <= qpos - R; j++) row[j] += v;
        }
    }
}

// sum of the gradient row g (keys 0..i) over the keys at clipped distance d from query i
static float shaw_row_sum(const float *g, int i, int d, int R)
{
    if (d < R) return i - d >= 0 ? g[i - d] : 0.0f;
    float sum = 0.0f;
    for (int j = 0; j <= i - R; j++) sum += g[j];
    return sum;
}

// dpreatt (B,NH,T,T), qkv (B,T,3C) -> dq (in dqkv (B,T,3C)) += sum_j dpre[i,j] r[d(i,j)] / sqrt(HS),
// dr (R+1, HS) += sum over (b,h,i,j) with d(i,j) = d of dpre[i,j] q_i / sqrt(HS).
// dq parallel over its rows, dr over distances: each output sums in one fixed order.
static void shaw_bias_backward(pos_scheme_t *p, const pos_shape_t *s, int layer,
                               const float *qkv, const float *dpreatt, float *dqkv)
{
    int R = ((const shaw_state_t *)p->state)->R, B = s->B, T = s->T, C = s->C, NH = s->NH, HS = s->HS;
    const float *r = p->w[0] + (size_t)layer * (R + 1) * HS;
    float *dr = p->dw[0] + (size_t)layer * (R + 1) * HS;
    float scale = 1.0f / sqrtf((float)HS);
    #pragma omp parallel for collapse(2)
    for (int bh = 0; bh < B * NH; bh++)
        for (int i = 0; i < T; i++) {
            int b = bh / NH, h = bh % NH;
            const float *g = dpreatt + ((size_t)bh * T + i) * T;
            float *dq = dqkv + ((size_t)b * T + i) * 3 * C + h * HS;
            for (int d = 0; d <= i && d <= R; d++) {
                float w = scale * shaw_row_sum(g, i, d, R);
                const float *rd = r + (size_t)d * HS;
                for (int k = 0; k < HS; k++) dq[k] += w * rd[k];
            }
        }
    int n_d = T - 1 < R ? T : R + 1;   // distances that occur
    #pragma omp parallel for
    for (int d = 0; d < n_d; d++) {
        float *drd = dr + (size_t)d * HS;
        for (int bh = 0; bh < B * NH; bh++)
            for (int i = d; i < T; i++) {
                int b = bh / NH, h = bh % NH;
                float w = scale * shaw_row_sum(dpreatt + ((size_t)bh * T + i) * T, i, d, R);
                const float *qi = qkv + ((size_t)b * T + i) * 3 * C + h * HS;
                for (int k = 0; k < HS; k++) drd[k] += w * qi[k];
            }
    }
}

const pos_vtable_t pos_shaw = {
    .name = "shaw",
    .help = "learned relative key embeddings per layer, shared by heads, distances clipped at model.rel_max (Shaw et al.)",
    .keys = shaw_keys,
    .n_keys = (int)(sizeof(shaw_keys) / sizeof(shaw_keys[0])),
    .init = shaw_init,
    .free = shaw_free,
    .bias_forward = shaw_bias_forward,
    .bias_backward = shaw_bias_backward,
};
