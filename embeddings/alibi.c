// alibi.c: attention with linear biases (Press et al. 2022, "Train Short, Test Long"): logits[i,j]
// += -m_h (i - j), m_h = 2^(-8(h+1)/NH); for NH not a power of 2, the slopes of the power of 2 below
// followed by every other slope of the power above, as in the authors' get_slopes. No parameters.
#include <math.h>
#include <stdlib.h>
#include "embeddings/pos.h"
#include "core/common.h"

// slope i of the power-of-2 head count n
static double alibi_pow2_slope(int n, int i) { return pow(2.0, -8.0 * (i + 1) / n); }

static int alibi_init(pos_scheme_t *p, const pos_config_t *cfg, char *err)
{
    int n = cfg->n_head, cp = 1;
    float *m = malloc(sizeof(float) * n);   // (NH) slopes
    if (!m) return err_set(err, "alibi: out of memory");
    while (cp * 2 <= n) cp *= 2;
    for (int h = 0; h < cp; h++) m[h] = (float)alibi_pow2_slope(cp, h);
    for (int h = 0; h < n - cp; h++) m[cp + h] = (float)alibi_pow2_slope(2 * cp, 2 * h);
    p->state = m;
    return 0;
}

static void alibi_free(pos_scheme_t *p) { free(p->state); p->state = NULL; }

// preatt (T, T_kv) of (b,h) += -m_h * (t0+i - j) for the visible keys j <= t0+i.
// The bias does not depend on q or on parameters, so there is no backward.
static void alibi_bias_forward(pos_scheme_t *p, const pos_shape_t *s, int layer, int b, int h,
                               const float *q, float *preatt)
{
    float m = ((const float *)p->state)[h];
    for (int i = 0; i < s->T; i++) {
        int qpos = s->t0 + i;
        float *row = preatt + (size_t)i * s->T_kv;
        for (int j = 0; j <= qpos; j++) row[j] -= m * (float)(qpos - j);
    }
}

const pos_vtable_t pos_alibi = {
    .name = "alibi",
    .help = "linear attention biases -m_h*(i-j) with geometric per-head slopes (ALiBi), no parameters",
    .init = alibi_init,
    .free = alibi_free,
    .bias_forward = alibi_bias_forward,
};
