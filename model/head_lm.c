// head_lm.c: the language-model head: logits (B,T,V) = lnf (B,T,C) @ lm_head^T, the mean
// cross-entropy over counted next-token targets, greedy decoding by argmax. lm_head is
// its own tensor "lm_head.weight" (V,C), or wte when model.tied.
#include <string.h>
#include "model/head.h"
#include "model/model.h"
#include "model/ops.h"

int model__head_lm_declare(Model *m)
{
    const ModelConfig *c = &m->cfg;
    int shape[2] = {c->vocab_size, c->n_embd};
    return c->tied ? -1 : model__declare(m, "lm_head.weight", 2, shape, 1, 0.02f);
}

// lnf (B,T,C) -> logits (B,T,V)
static void lm_forward(Model *m)
{
    int N = m->B * m->T;
    matmul_forward(m->logits, m->lnf, m->lm_head, NULL, N, m->cfg.n_embd, m->cfg.vocab_size);
}

// the logits become probabilities in place
static float lm_loss_forward(Model *m, const Batch *b)
{
    return crossentropy_forward(m->logits, m->losses, b->targets, b->B * b->T, m->cfg.vocab_size, &m->n_loss_tokens);
}

// dlogits overwrite the probabilities; dlnf (B,T,C) and dlm_head (V,C) from them
static void lm_loss_backward(Model *m, const Batch *b, float *dlnf)
{
    int N = b->B * b->T, C = m->cfg.n_embd, V = m->cfg.vocab_size;
    float *dlogits = m->logits;
    crossentropy_backward(dlogits, m->logits, b->targets, N, V, m->n_loss_tokens);
    matmul_backward(dlnf, m->dlm_head, NULL, dlogits, m->lnf, m->lm_head, N, C, V, 0);
}

static int lm_output_dims(const Model *m, int *dims) { dims[0] = m->cfg.vocab_size; return 1; }

static void lm_outputs(const Model *m, float *out)
{
    memcpy(out, m->logits, sizeof(float) * (size_t)m->B * m->T * m->cfg.vocab_size);
}

// out[b]: the most likely next token at position t of row b
static void lm_decode(const Model *m, int t, int *out)
{
    int V = m->cfg.vocab_size;
    for (int b = 0; b < m->B; b++) {
        const float *l = m->logits + ((size_t)b * m->T + t) * V;
        int best = 0;
        for (int j = 1; j < V; j++) if (l[j] > l[best]) best = j;
        out[b] = best;
    }
}

static int lm_decode_width(const Model *m) { (void)m; return 1; }

const model_head_t model_head_lm = {
    .name = "lm",
    .help = "the language-model head: next-token logits over the vocabulary (lm_head.weight, or wte when tied)",
    .input_scheme = NULL,
    .decodes = MODEL_HEAD_TOKENS,
    .check = NULL,
    .declare = model__head_lm_declare,
    .forward = lm_forward,
    .loss_forward = lm_loss_forward,
    .loss_backward = lm_loss_backward,
    .output_dims = lm_output_dims,
    .outputs = lm_outputs,
    .decode = lm_decode,
    .decode_width = lm_decode_width,
};
