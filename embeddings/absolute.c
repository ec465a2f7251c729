// absolute.c: learned absolute positions (GPT-2's wpe): x[b,t] += wpe[t].
#include <string.h>
#include <omp.h>
#include "embeddings/pos.h"
#include "core/common.h"

static int absolute_init(pos_scheme_t *p, const pos_config_t *cfg, char *err)
{
    int shape[2] = {cfg->block_size, cfg->n_embd};
    pos_declare(p, "transformer.wpe.weight", 2, shape, 0, 0.02f);
    return 0;
}

// x (B,T,C) += wpe (T,C)
static void absolute_embed_forward(pos_scheme_t *p, const pos_shape_t *s, float *x, const int *tokens)
{
    pos_add_rows(s, x, p->w[0]);
}

#define ABSOLUTE_COL_BLOCK 16   // packed backward: columns per task

// dwpe (T,C) += sum over b of dx (B,T,C); parallel over t, so each row sums in order of b.
// Masked-packed rows (s->pos): row pos[b,t] gets dx[b,t]; parallel over blocks of columns,
// each summing in the order (b, t), so the sums do not depend on the thread count either.
static void absolute_embed_backward(pos_scheme_t *p, const pos_shape_t *s, const float *dx, const int *tokens)
{
    float *dwpe = p->dw[0];
    int B = s->B, T = s->T, C = s->C;
    if (s->pos) {
        int n_blocks = (C + ABSOLUTE_COL_BLOCK - 1) / ABSOLUTE_COL_BLOCK;
        #pragma omp parallel for
        for (int cb = 0; cb < n_blocks; cb++) {
            int c0 = cb * ABSOLUTE_COL_BLOCK, c1 = c0 + ABSOLUTE_COL_BLOCK < C ? c0 + ABSOLUTE_COL_BLOCK : C;
            for (int bt = 0; bt < B * T; bt++) {
                const float *g = dx + (size_t)bt * C;
                float *d = dwpe + (size_t)s->pos[bt] * C;
                for (int c = c0; c < c1; c++) d[c] += g[c];
            }
        }
        return;
    }
    #pragma omp parallel for
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const float *g = dx + ((size_t)b * T + t) * C;
            float *d = dwpe + (size_t)t * C;
            #pragma omp simd
            for (int c = 0; c < C; c++) d[c] += g[c];
        }
}

const pos_vtable_t pos_absolute = {
    .name = "absolute",
    .help = "learned absolute position embeddings (GPT-2 wpe), one per position up to block_size",
    .init = absolute_init,
    .embed_forward = absolute_embed_forward,
    .embed_backward = absolute_embed_backward,
};
