// rope.c: rotary position embeddings (Su et al. 2021, "RoFormer", eq. 34): in every head the pairs
// (2i, 2i+1) of q and k at position t turn by t * rope_base^(-2i/HS), so q_m . k_n depends on m-n only.
// Interleaved pairs as in the paper and LLaMA (GPT-NeoX's half split is a channel permutation of it).
#include <math.h>
#include <stdlib.h>
#include <omp.h>
#include "embeddings/pos.h"
#include "core/common.h"

typedef struct {
    int half;            // rotated pairs per head: HS / 2 (an odd HS leaves its last channel as is)
    float *cos, *sin;    // (block_size, half)
} rope_state_t;

static void rope_free(pos_scheme_t *p)
{
    rope_state_t *st = p->state;
    if (st) { free(st->cos); free(st->sin); free(st); }
    p->state = NULL;
}

// the scheme's options (pos.h): config keys model.*, stored in ModelConfig.pos
static const key_def_t rope_keys[] = {
    {"model.rope_base", KEY_INT, 0, sizeof(int), 1, 1 << 30, "10000", 0, "RoPE frequency base"},
};

static int rope_init(pos_scheme_t *p, const pos_config_t *cfg, char *err)
{
    int T = cfg->block_size, HS = cfg->n_embd / cfg->n_head, half = HS / 2;
    int base = pos_opt(cfg->opts, "model.rope_base");
    rope_state_t *st = calloc(1, sizeof(*st));
    p->state = st;
    if (st) {
        st->half = half;
        st->cos = malloc(sizeof(float) * ((size_t)T * half + 1));
        st->sin = malloc(sizeof(float) * ((size_t)T * half + 1));
    }
    if (!st || !st->cos || !st->sin) { rope_free(p); return err_set(err, "rope: out of memory for the %d x %d tables", T, half); }
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double angle = t * pow((double)base, -2.0 * i / HS);
            st->cos[(size_t)t * half + i] = (float)cos(angle);
            st->sin[(size_t)t * half + i] = (float)sin(angle);
        }
    return 0;
}

// x (HS) of one head: pairs (x[2i], x[2i+1]) rotated by +angle (sign 1) or -angle (sign -1)
static void rope_rotate(float *x, const float *cs, const float *sn, int half, float sign)
{
    for (int i = 0; i < half; i++) {
        float a = x[2 * i], b = x[2 * i + 1], c = cs[i], s = sign * sn[i];
        x[2 * i] = a * c - b * s;
        x[2 * i + 1] = a * s + b * c;
    }
}

// qkv (B,T,3C): q at columns [0,C), k at [C,2C), head h at h*HS; row t is position t0+t
// (pos[b,t] in a masked-packed row)
static void rope_apply(const pos_scheme_t *p, const pos_shape_t *s, float *qkv, float sign)
{
    const rope_state_t *st = p->state;
    int T = s->T, C = s->C, NH = s->NH, HS = s->HS, half = st->half;
    #pragma omp parallel for
    for (int bt = 0; bt < s->B * T; bt++) {
        size_t pos = (size_t)pos_at(s, bt / T, bt % T) * half;
        float *row = qkv + (size_t)bt * 3 * C;
        for (int h = 0; h < NH; h++) {
            rope_rotate(row + h * HS, st->cos + pos, st->sin + pos, half, sign);
            rope_rotate(row + C + h * HS, st->cos + pos, st->sin + pos, half, sign);
        }
    }
}

// qkv (B,T,3C): q and k rotated in place
static void rope_qk_forward(pos_scheme_t *p, const pos_shape_t *s, int layer, float *qkv)
{
    rope_apply(p, s, qkv, 1.0f);
}

// dqkv (B,T,3C): the gradient w.r.t. the unrotated q, k is R^T dq = R(-angle) dq
static void rope_qk_backward(pos_scheme_t *p, const pos_shape_t *s, int layer, float *dqkv)
{
    rope_apply(p, s, dqkv, -1.0f);
}

const pos_vtable_t pos_rope = {
    .name = "rope",
    .help = "rotary embeddings of q and k (RoFormer), interleaved pairs, base model.rope_base",
    .keys = rope_keys,
    .n_keys = (int)(sizeof(rope_keys) / sizeof(rope_keys[0])),
    .init = rope_init,
    .free = rope_free,
    .qk_forward = rope_qk_forward,
    .qk_backward = rope_qk_backward,
};
