// fone.c: FoNE number embeddings (Zhou et al. 2025, "FoNE: Precise Single-Token Number
// Embeddings via Fourier Features"): a [NUM] token with value x adds, for digit places
// i = 1..P, cos and sin of 2 pi x / 10^i to channels 2(i-1) and 2i-1, or (model.fone_linear)
// W f with the 2P features f and a learned W (C, 2P). The digit head is model/fone.c.
#include <math.h>
#include <stdlib.h>
#include <omp.h>
#include "embeddings/pos.h"
#include "core/common.h"
#include "core/vocab.h"

typedef struct {
    int P;          // digit places
    int linear;     // 1: features through p->w[0] (C, 2P)
} fone_state_t;

#define FONE_MAX_PLACES VOCAB_FONE_MAX_PLACES   // core/vocab.h

// the scheme's options (pos.h): config keys model.*, stored in ModelConfig.pos; the fone
// output head (model/head_fone.c) reads model.fone_places too. Added after checkpoints were
// first written, so a checkpoint without them reads the defaults.
static const key_def_t fone_keys[] = {
    {"model.fone_places", KEY_INT, 0, sizeof(int), 0, FONE_MAX_PLACES, "0", 1,
     "FoNE: digit places of the [NUM] embedding and digit head (0 = the task's widest number)"},
    {"model.fone_linear", KEY_INT, 0, sizeof(int), 0, 1, "0", 1,
     "FoNE: 1 = the Fourier features enter through a learned linear map instead of channels 0..2P-1"},
};

static int fone_init(pos_scheme_t *p, const pos_config_t *cfg, char *err)
{
    int P = pos_opt(cfg->opts, "model.fone_places");
    if (P < 1 || P > FONE_MAX_PLACES)
        return err_set(err, "fone: model.fone_places = %d: accepted 1..%d digit places (arithlab train derives it "
                       "from the task's widest number when 0)", P, FONE_MAX_PLACES);
    if (2 * P > cfg->n_embd)   // the digit head reads channels 0..2P-1, with or without the map
        return err_set(err, "fone: model.fone_places = %d needs 2*%d channels for the digit head, but "
                       "model.n_embd = %d", P, P, cfg->n_embd);
    fone_state_t *st = malloc(sizeof(*st));
    if (!st) return err_set(err, "fone: out of memory");
    *st = (fone_state_t){P, pos_opt(cfg->opts, "model.fone_linear")};
    p->state = st;
    if (st->linear) {
        int shape[2] = {cfg->n_embd, 2 * P};
        pos_declare(p, "transformer.fone.weight", 2, shape, 0, 0.02f);   // part of the embedding: no decay
    }
    return 0;
}

static void fone_free(pos_scheme_t *p) { free(p->state); p->state = NULL; }

// f (2P): cos, sin of 2 pi (x mod 10^i) / 10^i, i = 1..P; the residue in integers keeps
// the angle exact however large x is (x: a non-negative integer of at most 15 digits)
static void fone_features(double v, int P, float *f)
{
    long long x = v > 0 ? llround(v) : 0, mod = 1;
    for (int i = 0; i < P; i++) {
        mod *= 10;
        double a = 6.283185307179586 * (double)(x % mod) / (double)mod;
        f[2 * i] = (float)cos(a);
        f[2 * i + 1] = (float)sin(a);
    }
}

// the [NUM] token of chunk row (b, t) and its features; 0 if it is not one
static int fone_token(const fone_state_t *st, const pos_shape_t *s, int b, int t, float *f)
{
    size_t at = (size_t)b * s->tokens_stride + s->t0 + t;
    if (s->tokens_full[at] != TASK_NUM) return 0;
    fone_features(s->values[at], st->P, f);
    return 1;
}

// x (B,T,C) += features (2P) in channels 0..2P-1, or W (C,2P) @ features
static void fone_embed_forward(pos_scheme_t *p, const pos_shape_t *s, float *x, const int *tokens)
{
    const fone_state_t *st = p->state;
    if (!s->values) return;
    int T = s->T, C = s->C, K = 2 * st->P;
    #pragma omp parallel for
    for (int bt = 0; bt < s->B * T; bt++) {
        float f[2 * FONE_MAX_PLACES];
        if (!fone_token(st, s, bt / T, bt % T, f)) continue;
        float *xr = x + (size_t)bt * C;
        if (!st->linear) {
            for (int k = 0; k < K; k++) xr[k] += f[k];
            continue;
        }
        for (int c = 0; c < C; c++) {
            const float *w = p->w[0] + (size_t)c * K;
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc += w[k] * f[k];
            xr[c] += acc;
        }
    }
}

// dW (C,2P) += sum over [NUM] tokens of dx (C) outer features (2P), tokens in order (b, t).
// Serial: a few [NUM] tokens per row make it a small fraction of one GEMM. Without the map
// the features are fixed and nothing is learned here.
static void fone_embed_backward(pos_scheme_t *p, const pos_shape_t *s, const float *dx, const int *tokens)
{
    const fone_state_t *st = p->state;
    if (!st->linear || !s->values) return;
    int T = s->T, C = s->C, K = 2 * st->P;
    float *dw = p->dw[0];
    for (int bt = 0; bt < s->B * T; bt++) {
        float f[2 * FONE_MAX_PLACES];
        if (!fone_token(st, s, bt / T, bt % T, f)) continue;
        const float *g = dx + (size_t)bt * C;
        for (int c = 0; c < C; c++)
            for (int k = 0; k < K; k++) dw[(size_t)c * K + k] += g[c] * f[k];
    }
}

const pos_vtable_t pos_fone = {
    .name = "fone",
    .help = "FoNE: a [NUM] token (task.numbers = fone) adds cos, sin of 2 pi x/10^i for its value x, "
            "i = 1..model.fone_places; model.fone_linear maps them; the answer is read digit by digit. "
            "Combine, e.g. fone+rope",
    .keys = fone_keys,
    .n_keys = (int)(sizeof(fone_keys) / sizeof(fone_keys[0])),
    .init = fone_init,
    .free = fone_free,
    .embed_forward = fone_embed_forward,
    .embed_backward = fone_embed_backward,
};
