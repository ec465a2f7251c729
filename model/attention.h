// attention.h: causal multi-head attention with the position schemes' bias hooks
// (embeddings/pos.h). Training: keys and values are the qkv itself; decoding: a cache.
#ifndef ARITHLAB_ATTENTION_H
#define ARITHLAB_ATTENTION_H

#include <stddef.h>
#include "embeddings/pos.h"

// q is in qkv (B,T,3C); keys and values of batch row b start at kb + b*kv_bstride,
// vb + b*kv_bstride with row stride kv_rstride; att is (B,NH,T,T_kv); out is (B,T,C).
// pos (n_pos of them, may be 0) add their bias_forward to the scaled logits. With s->pos
// (masked-packed rows, training) query t of row b sees only keys t - s->pos[b,t] .. t.
void attention_forward(pos_scheme_t *pos, int n_pos, const pos_shape_t *s, int layer, float *out, float *att,
                       const float *qkv, const float *kb, const float *vb,
                       size_t kv_bstride, int kv_rstride);
// training (t0 = 0, keys in qkv): dout (B,T,C) -> dqkv (B,T,3C), fully written; dpre
// (B,NH,T,T) is scratch that ends holding the gradient w.r.t. the logits, for bias hooks
void attention_backward(pos_scheme_t *pos, int n_pos, const pos_shape_t *s, int layer, float *dqkv, float *dpre,
                        const float *dout, const float *qkv, const float *att);

#endif
