// abacus.c: Abacus embeddings (McLeish et al. 2024, "Transformers Can Do Arithmetic with
// the Right Embeddings"): digit n of a number (1, 2, 3, ... in sequence order) adds row
// n + k of a learned table, any other token adds row 0; k is drawn from [0, abacus_k] once per training batch.
// In a masked-packed row (pos_shape_t.pos) a number's digits never run on into the next problem.
#include <stdlib.h>
#include <omp.h>
#include "embeddings/pos.h"
#include "core/common.h"
#include "core/vocab.h"

typedef struct {
    int K;               // offsets are drawn from [0, K] in training
    int max;             // table rows; index + k is clamped to max-1 (digits past it share that row)
    int k;               // the offset of the last forward, for its backward
} abacus_state_t;

#define ABACUS_COL_BLOCK 16   // backward: columns per task

// the scheme's options (pos.h): config keys model.*, stored in ModelConfig.pos
static const key_def_t abacus_keys[] = {
    {"model.abacus_k", KEY_INT, 0, sizeof(int), 0, 1 << 16, "100", 0, "Abacus: training offset drawn from [0, abacus_k]"},
    {"model.abacus_max", KEY_INT, 0, sizeof(int), 1, 1 << 16, "256", 0, "Abacus: digit index + offset must stay below this"},
};

static int abacus_init(pos_scheme_t *p, const pos_config_t *cfg, char *err)
{
    int k = pos_opt(cfg->opts, "model.abacus_k"), max = pos_opt(cfg->opts, "model.abacus_max");
    if (max < 2)
        return err_set(err, "abacus: model.abacus_max = %d leaves no row for digits: accepted >= 2", max);
    abacus_state_t *st = malloc(sizeof(*st));
    if (!st) return err_set(err, "abacus: out of memory");
    *st = (abacus_state_t){k, max, 0};
    p->state = st;
    int shape[2] = {max, cfg->n_embd};
    pos_declare(p, "transformer.abacus.weight", 2, shape, 0, 0.02f);
    return 0;
}

static void abacus_free(pos_scheme_t *p) { free(p->state); p->state = NULL; }

// digits immediately before position t0 of row b: the index of a number's digits
// in a decoding chunk continues from the tokens already fed
static int abacus_run_before(const pos_shape_t *s, int b, int t0)
{
    const int *row = s->tokens_full + (size_t)b * s->tokens_stride;
    int n = 0;
    while (t0 - 1 - n >= 0 && task_tok_digit(row[t0 - 1 - n]) >= 0) n++;
    return n;
}

// table row of the token at position pos given the digits before it (*run, updated)
static int abacus_row(const abacus_state_t *st, int tok, int *run)
{
    if (task_tok_digit(tok) < 0) { *run = 0; return 0; }
    int idx = ++*run + st->k;
    return idx < st->max ? idx : st->max - 1;
}

// x (B,T,C) += table[row(b, t0+t)]; tokens_full gives the digits before the chunk
static void abacus_embed_forward(pos_scheme_t *p, const pos_shape_t *s, float *x, const int *tokens)
{
    abacus_state_t *st = p->state;
    st->k = s->training && st->K > 0 ? rng_int(s->rng, st->K + 1) : 0;   // one offset for the whole batch
    const float *table = p->w[0];
    int T = s->T, C = s->C;
    #pragma omp parallel for
    for (int b = 0; b < s->B; b++) {
        const int *row = s->tokens_full + (size_t)b * s->tokens_stride;
        int run = abacus_run_before(s, b, s->t0);
        for (int t = 0; t < T; t++) {
            if (s->pos && s->pos[(size_t)b * T + t] == 0) run = 0;   // a packed problem starts
            const float *e = table + (size_t)abacus_row(st, row[s->t0 + t], &run) * C;
            float *xr = x + ((size_t)b * T + t) * C;
            #pragma omp simd
            for (int c = 0; c < C; c++) xr[c] += e[c];
        }
    }
}

// dx (B,T,C) -> dtable (abacus_max, C) with the forward's offset. Parallel over blocks of
// columns, each summing its rows' gradients in the order (b, t): deterministic.
static void abacus_embed_backward(pos_scheme_t *p, const pos_shape_t *s, const float *dx, const int *tokens)
{
    const abacus_state_t *st = p->state;
    float *dtable = p->dw[0];
    int B = s->B, T = s->T, C = s->C, n_blocks = (C + ABACUS_COL_BLOCK - 1) / ABACUS_COL_BLOCK;
    #pragma omp parallel for
    for (int cb = 0; cb < n_blocks; cb++) {
        int c0 = cb * ABACUS_COL_BLOCK, c1 = c0 + ABACUS_COL_BLOCK < C ? c0 + ABACUS_COL_BLOCK : C;
        for (int b = 0; b < B; b++) {
            const int *row = s->tokens_full + (size_t)b * s->tokens_stride;
            int run = abacus_run_before(s, b, s->t0);
            for (int t = 0; t < T; t++) {
                if (s->pos && s->pos[(size_t)b * T + t] == 0) run = 0;
                float *d = dtable + (size_t)abacus_row(st, row[s->t0 + t], &run) * C;
                const float *g = dx + ((size_t)b * T + t) * C;
                for (int c = c0; c < c1; c++) d[c] += g[c];
            }
        }
    }
}

const pos_vtable_t pos_abacus = {
    .name = "abacus",
    .help = "learned embedding of each digit's index within its number, random offset in training "
            "(Abacus); model.abacus_k, model.abacus_max; combine, e.g. abacus+rope",
    .keys = abacus_keys,
    .n_keys = (int)(sizeof(abacus_keys) / sizeof(abacus_keys[0])),
    .init = abacus_init,
    .free = abacus_free,
    .embed_forward = abacus_embed_forward,
    .embed_backward = abacus_embed_backward,
};
