// t5.c: learned relative-position biases (Raffel et al. 2020, "T5", section 2.1):
// logits[i,j] += bias[bucket(i-j), h], one (t5_buckets, NH) table shared by all layers as
// in T5. Causal bucketing as Mesh TensorFlow's unidirectional _relative_position_bucket.
#include <math.h>
#include <stdlib.h>
#include <omp.h>
#include "embeddings/pos.h"
#include "core/common.h"

typedef struct {
    int n_dist;          // block_size: distances 0..block_size-1 occur
    int *bucket;         // (n_dist) bucket of each distance
} t5_state_t;

// distances below nb/2 get their own bucket; larger ones share nb/2 log-spaced buckets
// up to max_dist, beyond which all fall in the last. Float arithmetic as in the reference.
static int t5_bucket(int d, int nb, int max_dist)
{
    int exact = nb / 2;
    if (d < exact) return d;
    int v = exact + (int)(logf((float)d / exact) / (float)log((double)max_dist / exact) * (float)(nb - exact));
    return v < nb - 1 ? v : nb - 1;
}

static void t5_free(pos_scheme_t *p)
{
    t5_state_t *st = p->state;
    if (st) { free(st->bucket); free(st); }
    p->state = NULL;
}

// T5's own option; model.rel_max, its max_distance, is declared by shaw.c (one owner)
static const key_def_t t5_keys[] = {
    {"model.t5_buckets", KEY_INT, 0, sizeof(int), 1, 1 << 12, "32", 0, "T5: log-spaced relative-distance buckets"},
};

static int t5_init(pos_scheme_t *p, const pos_config_t *cfg, char *err)
{
    int nb = pos_opt(cfg->opts, "model.t5_buckets"), rel_max = pos_opt(cfg->opts, "model.rel_max");
    if (nb < 2 || rel_max <= nb / 2)
        return err_set(err, "t5: needs model.t5_buckets >= 2 (got %d) and model.rel_max > t5_buckets/2 "
                       "(got rel_max %d, t5_buckets/2 = %d): distances below t5_buckets/2 have exact buckets",
                       nb, rel_max, nb / 2);
    t5_state_t *st = calloc(1, sizeof(*st));
    if (st) st->bucket = malloc(sizeof(int) * cfg->block_size);
    if (!st || !st->bucket) { free(st); return err_set(err, "t5: out of memory"); }
    st->n_dist = cfg->block_size;
    for (int d = 0; d < st->n_dist; d++) st->bucket[d] = t5_bucket(d, nb, rel_max);
    p->state = st;
    int shape[2] = {nb, cfg->n_head};
    pos_declare(p, "transformer.pos.t5.bias", 2, shape, 0, 0.02f);
    return 0;
}

// preatt (T, T_kv) of (b,h) += bias[bucket(t0+i-j), h] for j <= t0+i
static void t5_bias_forward(pos_scheme_t *p, const pos_shape_t *s, int layer, int b, int h,
                            const float *q, float *preatt)
{
    const t5_state_t *st = p->state;
    const float *bias = p->w[0];
    for (int i = 0; i < s->T; i++) {
        int qpos = s->t0 + i;
        float *row = preatt + (size_t)i * s->T_kv;
        for (int j = 0; j <= qpos; j++) row[j] += bias[st->bucket[qpos - j] * s->NH + h];
    }
}

// dpreatt (B,NH,T,T) -> dbias (t5_buckets, NH); parallel over heads, so each column
// of dbias sums in the fixed order (b, i, j) whatever the thread count
static void t5_bias_backward(pos_scheme_t *p, const pos_shape_t *s, int layer,
                             const float *qkv, const float *dpreatt, float *dqkv)
{
    const t5_state_t *st = p->state;
    float *dbias = p->dw[0];
    int B = s->B, T = s->T, NH = s->NH;
    #pragma omp parallel for
    for (int h = 0; h < NH; h++)
        for (int b = 0; b < B; b++)
            for (int i = 0; i < T; i++) {
                const float *g = dpreatt + (((size_t)b * NH + h) * T + i) * T;
                for (int j = 0; j <= i; j++) dbias[st->bucket[i - j] * NH + h] += g[j];
            }
}

const pos_vtable_t pos_t5 = {
    .name = "t5",
    .help = "learned bias per (log-spaced distance bucket, head), shared by layers (T5); model.t5_buckets, model.rel_max",
    .keys = t5_keys,
    .n_keys = (int)(sizeof(t5_keys) / sizeof(t5_keys[0])),
    .init = t5_init,
    .free = t5_free,
    .bias_forward = t5_bias_forward,
    .bias_backward = t5_bias_backward,
};
