// ops.h: the transformer's kernels, each a <op>_forward / <op>_backward pair.
// Matrix products go through BLIS; everything else is OpenMP over rows.
// Backward kernels accumulate (+=) into parameter gradients.
#ifndef ARITHLAB_OPS_H
#define ARITHLAB_OPS_H

#include <blis.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

// exp(x) that vectorizes inside `omp simd` loops (glibc's expf does so only
// under -ffast-math, which would also break NaN checks): Cody-Waite reduction
// and the Cephes polynomial, about 1 ulp; inputs clamped to [-87.3, 88].
static inline float ops_expf(float x)
{
    x = x < -87.3f ? -87.3f : x;   // comparisons, not fminf/fmaxf: those stay calls and block vectorization
    x = x > 88.0f ? 88.0f : x;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // a NaN input stays NaN through p; n is made finite only for the integer conversion
    int32_t bits = ((int32_t)(n == n ? n : 0.0f) + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}

// BLIS run-time contexts: `par` for big GEMMs from serial code, `one` for
// single-threaded GEMMs inside an OpenMP region (never nest BLIS threads).
void ops_set_threads(int n_threads);
rntm_t *ops_rntm_par(void);
rntm_t *ops_rntm_one(void);
// which BLIS kernels the GEMMs use ("skx", "haswell", "zen3", or BLIS's own pick)
const char *ops_blis_kernels(void);

// C (m,n) = alpha * op(A) op(B) + beta * C, row-major with leading dims
void ops_gemm(rntm_t *rntm, int transa, int transb, int m, int n, int k, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

// the same for the big projections, threaded over row blocks of C (see ops.c)
void ops_gemm_big(int transa, int transb, int m, int n, int k, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

void encoder_forward(float *out, const int *inp, const float *wte, int B, int T, int C);
void encoder_backward(float *dwte, const float *dout, const int *inp, int B, int T, int C, int V);

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, int N, int C);
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, int N, int C, int accumulate);

void matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int N, int C, int OC);
void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int N, int C, int OC, int accumulate);

// GELU's tanh form, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): PyTorch's
// nn.GELU(approximate=OPS_GELU_APPROXIMATE); checkpoints record it (model/checkpoint.c)
#define OPS_GELU_APPROXIMATE "tanh"
void gelu_forward(float *out, const float *inp, size_t N);
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t N);

// out, inp are (N); dinp (N) is written and may be dout. The gradient at 0 is taken as 0.
void relu_forward(float *out, const float *inp, size_t N);
void relu_backward(float *dinp, const float *inp, const float *dout, size_t N);

void residual_forward(float *out, const float *a, const float *b, size_t N);
void residual_backward(float *da, float *db, const float *dout, size_t N);

// softmax + cross-entropy over V with targets < 0 ignored; probs overwrite logits.
// losses (B*T) per token; returns the mean over counted tokens (0 if none) and their count.
float crossentropy_forward(float *logits_to_probs, float *losses, const int *targets,
                           int N, int V, int *n_counted);
// dlogits (N,V) = (probs - onehot) / n_counted, 0 where not counted
void crossentropy_backward(float *dlogits, const float *probs, const int *targets,
                           int N, int V, int n_counted);

#endif
