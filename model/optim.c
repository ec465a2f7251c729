// optim.c: AdamW (decoupled weight decay, as torch.optim.AdamW), the learning
// rate schedule (linear warm-up, cosine decay) and global-norm clipping.
#include <math.h>
#include "model/optim.h"

void adamw_config_default(AdamWConfig *c)
{
    *c = (AdamWConfig){.lr = 1e-3f, .min_lr = 1e-4f, .warmup_steps = 100, .total_steps = 1000,
                       .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.1f,
                       .decay_all = 0, .grad_clip = 1.0f};
}

float adamw_lr(const AdamWConfig *c, int step)
{
    if (step < c->warmup_steps) return c->lr * (step + 1) / c->warmup_steps;
    if (step >= c->total_steps) return c->min_lr;
    double progress = (double)(step - c->warmup_steps) / (double)(c->total_steps - c->warmup_steps);
    return c->min_lr + 0.5f * (c->lr - c->min_lr) * (float)(1.0 + cos(M_PI * progress));
}

#define NORM_CHUNK 4096

float model_grad_norm(const Model *m)
{
    // fixed chunks summed in parallel, then the chunk sums in order: the result
    // does not depend on the thread count (arena padding holds zeros)
    long n_chunks = (long)((m->n_params + NORM_CHUNK - 1) / NORM_CHUNK);
    double total = 0.0;
    #pragma omp parallel for ordered schedule(static, 1)
    for (long ch = 0; ch < n_chunks; ch++) {
        size_t lo = (size_t)ch * NORM_CHUNK, hi = lo + NORM_CHUNK < m->n_params ? lo + NORM_CHUNK : m->n_params;
        double s = 0.0;
        for (size_t j = lo; j < hi; j++) s += (double)m->grads[j] * m->grads[j];
        #pragma omp ordered
        total += s;
    }
    return (float)sqrt(total);
}

float model_update(Model *m, const AdamWConfig *c, float lr, int t, float norm)
{
    // as torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when above
    float gscale = 1.0f;
    if (c->grad_clip > 0) {
        float coef = c->grad_clip / (norm + 1e-6f);
        if (coef < 1.0f) gscale = coef;
    }
    float bc1 = 1.0f - powf(c->beta1, (float)t), bc2 = 1.0f - powf(c->beta2, (float)t);
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamInfo *p = &m->tensors[i];
        float wd = (p->decay || c->decay_all) ? c->weight_decay : 0.0f;
        float *w = m->params + p->offset, *g = m->grads + p->offset;
        float *mm = m->m + p->offset, *vv = m->v + p->offset;
        long n = (long)p->numel;
        #pragma omp parallel for simd schedule(static)
        for (long j = 0; j < n; j++) {
            float grad = g[j] * gscale;
            mm[j] = c->beta1 * mm[j] + (1.0f - c->beta1) * grad;
            vv[j] = c->beta2 * vv[j] + (1.0f - c->beta2) * grad * grad;
            float mhat = mm[j] / bc1, vhat = vv[j] / bc2;
            w[j] -= lr * (wd * w[j] + mhat / (sqrtf(vhat) + c->eps));
        }
    }
    return norm;
}
