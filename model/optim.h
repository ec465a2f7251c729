// optim.h: AdamW with decoupled weight decay, warm-up + cosine schedule,
// global gradient-norm clipping. Matches torch.optim.AdamW step for step.
#ifndef ARITHLAB_OPTIM_H
#define ARITHLAB_OPTIM_H

#include "model/model.h"

typedef struct {
    float lr;            // peak learning rate
    float min_lr;        // floor of the cosine decay
    int warmup_steps;
    int total_steps;     // cosine reaches min_lr here
    float beta1, beta2, eps;
    float weight_decay;
    int decay_all;       // 1: decay biases, LayerNorm and embeddings too
    float grad_clip;     // 0: off
} AdamWConfig;

void adamw_config_default(AdamWConfig *c);
// learning rate at step (0-based)
float adamw_lr(const AdamWConfig *c, int step);
// global L2 norm of the gradient arena
float model_grad_norm(const Model *m);
// clip to the global norm (if configured; norm = model_grad_norm(m), computed by the
// caller, who checks it is finite) and take one step with learning rate lr; t is the
// 1-based step count. Returns norm.
float model_update(Model *m, const AdamWConfig *c, float lr, int t, float norm);

#endif
