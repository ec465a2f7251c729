// fire.c: FIRE (Li et al. 2024, "Functional Interpolation for Relative Positions Improves Long Context
// Transformers"): logits[i,j] += f_l(psi(i-j) / psi(max(L_l, i+1)))[h], psi(x) = log(c_l x + 1), f_l a
// per-layer MLP 1 -> 32 -> NH with ReLU and no output bias (softmax ignores a constant per row).
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "embeddings/pos.h"
#include "core/common.h"

#define FIRE_HIDDEN 32
#define FIRE_C0 0.1f      // c = |FIRE_C0 + c_raw|: the authors' initial c, with c_raw zero at init
#define FIRE_EPS 1e-6f    // keeps the normalizer positive as c -> 0, as in the authors' code

enum { W1, B1, W2, CRAW, LRAW, N_FIRE };   // parameter slots, each with a leading layer dimension

typedef struct {
    int NH, n_grad;      // n_grad: gradient floats of one layer
    float L0;            // threshold L = |L0 (1 + L_raw)|; L0 = block_size
    float *row_grads;    // (block_size, n_grad) per-query-row partial gradients (backward scratch)
} fire_state_t;

static void fire_free(pos_scheme_t *p)
{
    fire_state_t *st = p->state;
    if (st) { free(st->row_grads); free(st); }
    p->state = NULL;
}

// Init: ReLU MLP weights with the variance of PyTorch's default Linear init; c and L
// start at the authors' c = 0.1 and L = block_size (every training position below it,
// so the normalizer is psi(L) until L is learned smaller), through zero-initialized offsets.
static int fire_init(pos_scheme_t *p, const pos_config_t *cfg, char *err)
{
    int L = cfg->n_layer, NH = cfg->n_head, Hd = FIRE_HIDDEN;
    fire_state_t *st = calloc(1, sizeof(*st));
    if (!st) return err_set(err, "fire: out of memory");
    p->state = st;
    st->NH = NH;
    st->n_grad = 2 * Hd + NH * Hd + 2;
    st->L0 = (float)cfg->block_size;
    st->row_grads = malloc(sizeof(float) * (size_t)cfg->block_size * st->n_grad);
    if (!st->row_grads) { fire_free(p); return err_set(err, "fire: out of memory"); }
    float s1 = 1.0f / sqrtf(3.0f), s2 = 1.0f / sqrtf(3.0f * Hd);   // std of U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    pos_declare(p, "transformer.pos.fire.w1", 2, (int[]){L, Hd}, 0, s1);
    pos_declare(p, "transformer.pos.fire.b1", 2, (int[]){L, Hd}, 0, s1);
    pos_declare(p, "transformer.pos.fire.w2", 3, (int[]){L, NH, Hd}, 0, s2);
    pos_declare(p, "transformer.pos.fire.c", 1, (int[]){L}, 0, 0.0f);
    pos_declare(p, "transformer.pos.fire.L", 1, (int[]){L}, 0, 0.0f);
    return 0;
}

// one layer's parameters
typedef struct { const float *w1, *b1, *w2; float c, L, csign, Lsign; } fire_layer_t;

static fire_layer_t fire_layer(const pos_scheme_t *p, int l)
{
    const fire_state_t *st = p->state;
    int Hd = FIRE_HIDDEN, NH = st->NH;
    float c = FIRE_C0 + p->w[CRAW][l], L = st->L0 * (1.0f + p->w[LRAW][l]);
    return (fire_layer_t){p->w[W1] + (size_t)l * Hd, p->w[B1] + (size_t)l * Hd, p->w[W2] + (size_t)l * NH * Hd,
                          fabsf(c), fabsf(L), c < 0 ? -1.0f : 1.0f, L < 0 ? -1.0f : 1.0f};
}

// the MLP's input for query position qpos and key distance d
static float fire_input(const fire_layer_t *f, int qpos, int d, float *u, float *v)
{
    float M = f->L > qpos + 1 ? f->L : (float)(qpos + 1);
    *u = logf(f->c * d + 1.0f);
    *v = logf(f->c * M + 1.0f) + FIRE_EPS;
    return *u / *v;
}

// preatt (T, T_kv) of (b,h) += f(x(qpos, d))[h] for the keys j <= t0+i at distance d = t0+i-j;
// qpos, the query's position, is t0+i, or pos[b,i] in a masked-packed row (whose keys before
// i - pos[b,i] are masked afterwards, so they are skipped)
static void fire_bias_forward(pos_scheme_t *p, const pos_shape_t *s, int layer, int b, int h,
                              const float *q, float *preatt)
{
    fire_layer_t f = fire_layer(p, layer);
    const float *w2 = f.w2 + (size_t)h * FIRE_HIDDEN;
    for (int i = 0; i < s->T; i++) {
        int last = s->t0 + i, qpos = pos_at(s, b, i);
        float *row = preatt + (size_t)i * s->T_kv;
        for (int j = last - qpos; j <= last; j++) {
            float u, v, x = fire_input(&f, qpos, last - j, &u, &v), out = 0.0f;
            for (int k = 0; k < FIRE_HIDDEN; k++) {
                float a = f.w1[k] * x + f.b1[k];
                out += a > 0.0f ? w2[k] * a : 0.0f;
            }
            row[j] += out;
        }
    }
}

// the gradient of one (query position qpos, distance d) input of the MLP, g (NH) the logits'
// gradient there, accumulated into one row of row_grads: dw1 (Hd), db1 (Hd), dw2 (NH,Hd), dc, dL
static void fire_accumulate(const fire_layer_t *f, const fire_state_t *st, int qpos, int d, const float *g, float *gr)
{
    int NH = st->NH, Hd = FIRE_HIDDEN;
    float *dw1 = gr, *db1 = gr + Hd, *dw2 = gr + 2 * Hd, *dc = dw2 + NH * Hd, *dL = dc + 1;
    float M = f->L > qpos + 1 ? f->L : (float)(qpos + 1);
    float a[FIRE_HIDDEN], u, v, x = fire_input(f, qpos, d, &u, &v);
    float dx = 0.0f;
    for (int k = 0; k < Hd; k++) {
        a[k] = f->w1[k] * x + f->b1[k];
        float da = 0.0f;
        for (int h = 0; h < NH; h++) {
            if (a[k] > 0.0f) dw2[h * Hd + k] += g[h] * a[k];
            da += g[h] * f->w2[h * Hd + k];
        }
        if (a[k] <= 0.0f) continue;
        dw1[k] += da * x;
        db1[k] += da;
        dx += da * f->w1[k];
    }
    // x = u / v, u = log(c d + 1), v = log(c M + 1) + eps, M = max(L, qpos+1)
    float du_dc = d / (f->c * d + 1.0f), dv_dc = M / (f->c * M + 1.0f);
    *dc += dx * (du_dc * v - u * dv_dc) / (v * v) * f->csign;
    if (f->L > qpos + 1) *dL += dx * (-u / (v * v)) * f->c / (f->c * M + 1.0f) * f->Lsign * st->L0;
}

// dpreatt (B,NH,T,T) -> this layer's slices of dw1 (32), db1 (32), dw2 (NH,32), dc, dL.
// Each query row i sums its keys' gradients into row_grads[i] (parallel over i); then the rows
// are summed in order of i: deterministic whatever the thread count. Unpacked, every batch
// row's query i is at position i, so the gradients of (i, j) are summed over b first; in a
// masked-packed row the query's position is pos[b,i], so each (b, i, j) of its problem counts alone.
static void fire_bias_backward(pos_scheme_t *p, const pos_shape_t *s, int layer,
                               const float *qkv, const float *dpreatt, float *dqkv)
{
    fire_state_t *st = p->state;
    fire_layer_t f = fire_layer(p, layer);
    int B = s->B, T = s->T, NH = s->NH, Hd = FIRE_HIDDEN, n = st->n_grad;
    #pragma omp parallel for
    for (int i = 0; i < T; i++) {
        float *gr = st->row_grads + (size_t)i * n, g[NH];
        memset(gr, 0, sizeof(float) * n);
        if (s->pos) {
            for (int b = 0; b < B; b++) {
                int qpos = s->pos[(size_t)b * T + i];
                for (int j = i - qpos; j <= i; j++) {
                    for (int h = 0; h < NH; h++) g[h] = dpreatt[(((size_t)b * NH + h) * T + i) * T + j];
                    fire_accumulate(&f, st, qpos, i - j, g, gr);
                }
            }
            continue;
        }
        for (int j = 0; j <= i; j++) {
            for (int h = 0; h < NH; h++) {
                g[h] = 0.0f;
                for (int b = 0; b < B; b++) g[h] += dpreatt[(((size_t)b * NH + h) * T + i) * T + j];
            }
            fire_accumulate(&f, st, i, i - j, g, gr);
        }
    }
    float *dst[N_FIRE] = {p->dw[W1] + (size_t)layer * Hd, p->dw[B1] + (size_t)layer * Hd,
                          p->dw[W2] + (size_t)layer * NH * Hd, p->dw[CRAW] + layer, p->dw[LRAW] + layer};
    int len[N_FIRE] = {Hd, Hd, NH * Hd, 1, 1};
    for (int slot = 0, off = 0; slot < N_FIRE; off += len[slot], slot++)
        for (int k = 0; k < len[slot]; k++)
            for (int i = 0; i < T; i++) dst[slot][k] += st->row_grads[(size_t)i * n + off + k];
}

const pos_vtable_t pos_fire = {
    .name = "fire",
    .help = "learned MLP of the log-scaled, progressively normalized distance, per layer (FIRE); threshold and c learned",
    .init = fire_init,
    .free = fire_free,
    .bias_forward = fire_bias_forward,
    .bias_backward = fire_bias_backward,
};
