// sinusoidal.c: fixed sine/cosine positions added to the embeddings (Vaswani et al.
// 2017, "Attention Is All You Need", section 3.5): pe[t,2i] = sin(t / 10000^(2i/C)),
// pe[t,2i+1] = cos(t / 10000^(2i/C)). No parameters; one table of block_size rows.
#include <math.h>
#include <stdlib.h>
#include <omp.h>
#include "embeddings/pos.h"
#include "core/common.h"

static int sinusoidal_init(pos_scheme_t *p, const pos_config_t *cfg, char *err)
{
    int T = cfg->block_size, C = cfg->n_embd;
    float *pe = malloc(sizeof(float) * (size_t)T * C);   // (block_size, C)
    if (!pe) return err_set(err, "sinusoidal: out of memory for a %d x %d table", T, C);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            double angle = t * pow(10000.0, -(double)(c & ~1) / C);   // columns 2i and 2i+1 share a frequency
            pe[(size_t)t * C + c] = (float)((c & 1) ? cos(angle) : sin(angle));
        }
    p->state = pe;
    return 0;
}

static void sinusoidal_free(pos_scheme_t *p) { free(p->state); p->state = NULL; }

// x (B,T,C) += pe (t0..t0+T-1, C); no backward: nothing to learn, and dx passes through the sum
static void sinusoidal_embed_forward(pos_scheme_t *p, const pos_shape_t *s, float *x, const int *tokens)
{
    pos_add_rows(s, x, p->state);
}

const pos_vtable_t pos_sinusoidal = {
    .name = "sinusoidal",
    .help = "fixed sin/cos position embeddings (Vaswani et al.), no parameters",
    .init = sinusoidal_init,
    .free = sinusoidal_free,
    .embed_forward = sinusoidal_embed_forward,
};
