// attention.c: causal multi-head attention, forward and backward, calling the position
// schemes' bias hooks on the logits. Out of model.c so that tests/test_gradcheck.c can
// check it as one op.
#include <math.h>
#include "model/attention.h"
#include "model/ops.h"

// ---------------------------------------------------------------- attention
// q is in qkv (B,T,3C); keys and values of batch row b start at kb + b*kv_bstride,
// vb + b*kv_bstride with row stride kv_rstride (the qkv itself in training, the
// cache when decoding); att is (B,NH,T,T_kv); out is (B,T,C). Query row t sits
// at position t0+t and sees keys 0..t0+t; in a masked-packed row (s->pos, t0 = 0) it
// sees only its own problem's keys t - pos[b,t] .. t.
void attention_forward(pos_scheme_t *pos, int n_pos, const pos_shape_t *s, int layer, float *out, float *att,
                       const float *qkv, const float *kb, const float *vb,
                       size_t kv_bstride, int kv_rstride)
{
    int B = s->B, T = s->T, C = s->C, NH = s->NH, HS = s->HS, TK = s->T_kv, t0 = s->t0;
    float scale = 1.0f / sqrtf((float)HS);
    rntm_t *one = ops_rntm_one();
    #pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * 3 * C + h * HS;
            const float *k = kb + b * kv_bstride + h * HS, *v = vb + b * kv_bstride + h * HS;
            float *pre = att + ((size_t)b * NH + h) * T * TK;
            ops_gemm(one, 0, 1, T, TK, HS, scale, q, 3 * C, k, kv_rstride, 0.0f, pre, TK);
            for (int i = 0; i < n_pos; i++)
                if (pos[i].vt->bias_forward) pos[i].vt->bias_forward(&pos[i], s, layer, b, h, q, pre);
            for (int t = 0; t < T; t++) {   // causal softmax of row t over keys first..t0+t
                int last = t0 + t, first = last - pos_at(s, b, t);
                float *row = pre + (size_t)t * TK, mx = row[first], sum = 0.0f;
                for (int j = 0; j < first; j++) row[j] = 0.0f;
                for (int j = first + 1; j <= last; j++) mx = row[j] > mx ? row[j] : mx;
                #pragma omp simd reduction(+:sum)
                for (int j = first; j <= last; j++) { row[j] = ops_expf(row[j] - mx); sum += row[j]; }
                float inv = 1.0f / sum;
                for (int j = first; j <= last; j++) row[j] *= inv;
                for (int j = last + 1; j < TK; j++) row[j] = 0.0f;
            }
            ops_gemm(one, 0, 0, T, HS, TK, 1.0f, pre, TK, v, kv_rstride, 0.0f,
                     out + (size_t)b * T * C + h * HS, C);
        }
}

// dout (B,T,C) -> dqkv (B,T,3C), fully written; dpre (B,NH,T,T) is scratch that
// ends holding the gradient w.r.t. the (biased, scaled) logits, for bias hooks
void attention_backward(pos_scheme_t *pos, int n_pos, const pos_shape_t *s, int layer, float *dqkv, float *dpre,
                        const float *dout, const float *qkv, const float *att)
{
    int B = s->B, T = s->T, C = s->C, NH = s->NH, HS = s->HS;
    float scale = 1.0f / sqrtf((float)HS);
    rntm_t *one = ops_rntm_one();
    #pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t qo = (size_t)b * T * 3 * C + h * HS;
            const float *q = qkv + qo, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + qo, *dk = dq + C, *dv = dq + 2 * C;
            const float *a = att + ((size_t)b * NH + h) * T * T;
            float *da = dpre + ((size_t)b * NH + h) * T * T;
            const float *dy = dout + (size_t)b * T * C + h * HS;
            ops_gemm(one, 0, 1, T, T, HS, 1.0f, dy, C, v, 3 * C, 0.0f, da, T);   // datt = dy v^T
            ops_gemm(one, 1, 0, T, HS, T, 1.0f, a, T, dy, C, 0.0f, dv, 3 * C);   // dv = att^T dy
            for (int t = 0; t < T; t++) {   // softmax backward, causal rows over keys first..t
                const float *ar = a + (size_t)t * T;
                float *dr = da + (size_t)t * T, dot = 0.0f;
                int first = t - pos_at(s, b, t);
                for (int j = 0; j < first; j++) dr[j] = 0.0f;
                for (int j = first; j <= t; j++) dot += ar[j] * dr[j];
                for (int j = first; j <= t; j++) dr[j] = ar[j] * (dr[j] - dot);
                for (int j = t + 1; j < T; j++) dr[j] = 0.0f;
            }
            ops_gemm(one, 0, 0, T, HS, T, scale, da, T, k, 3 * C, 0.0f, dq, 3 * C);  // dq = s dpre k
            ops_gemm(one, 1, 0, T, HS, T, scale, da, T, q, 3 * C, 0.0f, dk, 3 * C);  // dk = s dpre^T q
        }
    for (int i = 0; i < n_pos; i++)
        if (pos[i].vt->bias_backward) pos[i].vt->bias_backward(&pos[i], s, layer, qkv, dpre, dqkv);
}

