// test_grad.h: the finite-difference check the gradient tests share: central
// differences of a loss at a sample of a parameter tensor's entries, against
// the analytic gradient the backward wrote.
#ifndef ARITHLAB_TEST_GRAD_H
#define ARITHLAB_TEST_GRAD_H

#include <math.h>
#include "model/model.h"

// the loss as a function of m->params (each caller fixes the batch and any random draws)
typedef double (*test_loss_fn)(Model *m, void *ctx);

typedef struct {
    double rel;      // sqrt(sum (fd - g)^2 / sum (fd^2 + g^2)) over the entries checked
    double den;      // sum (fd^2 + g^2): near 0 when neither side sees a gradient
    int n_checked;   // every entry of a tensor of fewer than 24, else 24 drawn with rng
} test_fd_t;

static inline test_fd_t test_fd_tensor(Model *m, const ParamInfo *p, const float *g, float h, uint64_t *rng,
                                       test_loss_fn loss_at, void *ctx)
{
    test_fd_t r = {0.0, 0.0, p->numel < 24 ? (int)p->numel : 24};
    double num = 0.0;
    for (int s = 0; s < r.n_checked; s++) {
        size_t j = p->offset + (p->numel < 24 ? (size_t)s : (size_t)rng_int(rng, (int)p->numel));
        float keep = m->params[j];
        m->params[j] = keep + h; double lp = loss_at(m, ctx);
        m->params[j] = keep - h; double lm = loss_at(m, ctx);
        m->params[j] = keep;
        double fd = (lp - lm) / (2.0 * h);
        num += (fd - g[j]) * (fd - g[j]);
        r.den += fd * fd + (double)g[j] * g[j];
    }
    r.rel = r.den > 0.0 ? sqrt(num / r.den) : 0.0;
    return r;
}

#endif
