// ops.c: forward/backward kernels of the transformer (except attention,
// which lives in model.c beside the position hooks it calls).
// Reductions over rows run in a fixed order per column, so results do not
// depend on the number of threads.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "model/ops.h"

// ---------------------------------------------------------------- BLIS glue
// BLIS 0.9 (Debian 12) knows no CPU newer than Zen 3 and falls back to its
// generic kernels on them, about 4x slower than its AVX-512 or AVX2 ones. We
// link the static library and pick the kernel context ourselves from the CPU's
// features; ARITHLAB_BLIS_ARCH=generic|haswell|zen3|skx overrides the choice.
void bli_cntx_init_skx(cntx_t *cntx);
void bli_cntx_init_haswell(cntx_t *cntx);
void bli_cntx_init_zen3(cntx_t *cntx);

static rntm_t g_rntm_par, g_rntm_one;
static int g_rntm_ready = 0;
static cntx_t g_cntx;
static cntx_t *g_cntx_ptr = NULL;     // NULL: BLIS's own choice
static const char *g_arch = "blis-default";

static void choose_kernels(void)
{
    const char *want = getenv("ARITHLAB_BLIS_ARCH");
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!want) want = avx512 ? "skx" : avx2 ? "haswell" : "generic";
    bli_init();
    if (!strcmp(want, "skx") && avx512) { bli_cntx_init_skx(&g_cntx); g_cntx_ptr = &g_cntx; g_arch = "skx"; }
    else if (!strcmp(want, "haswell") && avx2) { bli_cntx_init_haswell(&g_cntx); g_cntx_ptr = &g_cntx; g_arch = "haswell"; }
    else if (!strcmp(want, "zen3") && avx2) { bli_cntx_init_zen3(&g_cntx); g_cntx_ptr = &g_cntx; g_arch = "zen3"; }
    else g_arch = bli_arch_string(bli_arch_query_id());
}

const char *ops_blis_kernels(void) { if (!g_rntm_ready) ops_set_threads(1); return g_arch; }

void ops_set_threads(int n_threads)
{
    if (n_threads < 1) n_threads = 1;
    if (!g_rntm_ready) choose_kernels();
    bli_rntm_init(&g_rntm_par);
    bli_rntm_set_num_threads(n_threads, &g_rntm_par);
    bli_rntm_init(&g_rntm_one);
    bli_rntm_set_num_threads(1, &g_rntm_one);
    omp_set_num_threads(n_threads);
    g_rntm_ready = 1;
}
rntm_t *ops_rntm_par(void) { if (!g_rntm_ready) ops_set_threads(1); return &g_rntm_par; }
rntm_t *ops_rntm_one(void) { if (!g_rntm_ready) ops_set_threads(1); return &g_rntm_one; }

void ops_gemm(rntm_t *rntm, int transa, int transb, int m, int n, int k, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    // row-major: a stored matrix with leading dim ld has rs = ld, cs = 1
    bli_sgemm_ex(transa ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                 transb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                 m, n, k, &alpha, (float *)A, lda, 1, (float *)B, ldb, 1,
                 &beta, C, ldc, 1, g_cntx_ptr, rntm);
}

// A GEMM for the big projections, threaded by splitting the rows of C over
// OpenMP threads, each running a single-threaded BLIS GEMM on its block. BLIS's
// own threads meet at spinning barriers, which collapse as soon as another
// process wants a core; OpenMP's barriers back off. Every element of C still sees
// the same k order, so the bits do not depend on the thread count.
// ARITHLAB_GEMM_THREADS=blis switches back to BLIS's threading (for comparison).
static int g_split = -1;

void ops_gemm_big(int transa, int transb, int m, int n, int k, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (g_split < 0) { const char *e = getenv("ARITHLAB_GEMM_THREADS"); g_split = !(e && !strcmp(e, "blis")); }
    int nt = omp_get_max_threads();
    if (!g_split || nt == 1 || m < 64) {
        ops_gemm(g_split ? ops_rntm_one() : ops_rntm_par(), transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int per = ((m + nt - 1) / nt + 31) & ~31;   // whole micro-tiles per thread
    #pragma omp parallel num_threads(nt)
    {
        int i0 = omp_get_thread_num() * per, i1 = i0 + per < m ? i0 + per : m;
        if (i0 < i1) {
            const float *a = transa ? A + i0 : A + (size_t)i0 * lda;
            ops_gemm(ops_rntm_one(), transa, transb, i1 - i0, n, k, alpha, a, lda, B, ldb, beta, C + (size_t)i0 * ldc, ldc);
        }
    }
}

// dst (C) += column sums of src (N,C). Each thread owns a block of columns and
// walks the rows in order, so the sum order is fixed whatever the thread count.
static void colsum_accumulate(float *dst, const float *src, int N, int C)
{
    #pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int per = ((C + nt - 1) / nt + 15) & ~15;
        int c0 = id * per, c1 = c0 + per < C ? c0 + per : C;
        for (int n = 0; n < N && c0 < c1; n++) {
            const float *row = src + (size_t)n * C;
            #pragma omp simd
            for (int c = c0; c < c1; c++) dst[c] += row[c];
        }
    }
}

// ---------------------------------------------------------------- encoder
// inp is (B,T) token ids, wte is (V,C), out is (B,T,C)
void encoder_forward(float *out, const int *inp, const float *wte, int B, int T, int C)
{
    #pragma omp parallel for
    for (int i = 0; i < B * T; i++)
        memcpy(out + (size_t)i * C, wte + (size_t)inp[i] * C, sizeof(float) * C);
}

// dout is (B,T,C); dwte (V,C) += scattered rows. Serial over tokens (fixed order);
// the work is B*T*C adds, small next to any GEMM.
void encoder_backward(float *dwte, const float *dout, const int *inp, int B, int T, int C, int V)
{
    for (int i = 0; i < B * T; i++) {
        float *d = dwte + (size_t)inp[i] * C;
        const float *g = dout + (size_t)i * C;
        #pragma omp simd
        for (int c = 0; c < C; c++) d[c] += g[c];
    }
}

// ---------------------------------------------------------------- layernorm
// inp, out are (N,C); mean, rstd are (N); eps = 1e-5 as in PyTorch
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, int N, int C)
{
    #pragma omp parallel for
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float m = 0.0f;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        float v = 0.0f;
        for (int c = 0; c < C; c++) { float d = x[c] - m; v += d * d; }
        v /= C;
        float s = 1.0f / sqrtf(v + 1e-5f);
        #pragma omp simd
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * weight[c] + bias[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

// dout, inp are (N,C); dinp (N,C) is written (or added to, if accumulate)
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, int N, int C, int accumulate)
{
    #pragma omp parallel for
    for (int n = 0; n < N; n++) {
        const float *g = dout + (size_t)n * C, *x = inp + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * s, dnorm = weight[c] * g[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * norm;
        }
        dnorm_mean /= C;
        dnorm_norm_mean /= C;
        if (accumulate) {
            #pragma omp simd
            for (int c = 0; c < C; c++) {
                float norm = (x[c] - m) * s;
                dx[c] += (weight[c] * g[c] - dnorm_mean - norm * dnorm_norm_mean) * s;
            }
        } else {
            #pragma omp simd
            for (int c = 0; c < C; c++) {
                float norm = (x[c] - m) * s;
                dx[c] = (weight[c] * g[c] - dnorm_mean - norm * dnorm_norm_mean) * s;
            }
        }
    }
    colsum_accumulate(dbias, dout, N, C);
    // dweight[c] += sum_n dout[n,c] * norm[n,c], by column blocks as in colsum_accumulate
    #pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int per = ((C + nt - 1) / nt + 15) & ~15;
        int c0 = id * per, c1 = c0 + per < C ? c0 + per : C;
        for (int n = 0; n < N && c0 < c1; n++) {
            const float *g = dout + (size_t)n * C, *x = inp + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            #pragma omp simd
            for (int c = c0; c < c1; c++) dweight[c] += g[c] * ((x[c] - m) * s);
        }
    }
}

// ---------------------------------------------------------------- matmul
// inp is (N,C), weight is (OC,C) as in torch.nn.Linear, out is (N,OC)
void matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int N, int C, int OC)
{
    float beta = 0.0f;
    if (bias) {
        #pragma omp parallel for
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, sizeof(float) * OC);
        beta = 1.0f;
    }
    ops_gemm_big(0, 1, N, OC, C, 1.0f, inp, C, weight, C, beta, out, OC);
}

// dout is (N,OC); dinp (N,C) = dout @ W (+= if accumulate); dweight (OC,C) += dout^T @ inp
void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int N, int C, int OC, int accumulate)
{
    if (dinp)
        ops_gemm_big(0, 0, N, C, OC, 1.0f, dout, OC, weight, C, accumulate ? 1.0f : 0.0f, dinp, C);
    ops_gemm_big(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    if (dbias) colsum_accumulate(dbias, dout, N, OC);
}

// ---------------------------------------------------------------- gelu
// tanh approximation, as nn.GELU(approximate='tanh'); tanh written through exp
// so the loop vectorizes
#define GELU_S 0.7978845608028654f  // sqrt(2/pi)

static inline float tanh_fast(float a)
{
    float e = ops_expf(-2.0f * fabsf(a));
    float t = (1.0f - e) / (1.0f + e);
    return a < 0.0f ? -t : t;
}

// chunks of the flat array per thread, each a plain simd loop (a combined
// `parallel for simd` over size_t left these loops scalar with GCC 12)
#define GELU_CHUNK 4096

void gelu_forward(float *out, const float *inp, size_t N)
{
    long n_chunks = (long)((N + GELU_CHUNK - 1) / GELU_CHUNK);
    #pragma omp parallel for schedule(static)
    for (long ch = 0; ch < n_chunks; ch++) {
        const float *x = inp + ch * GELU_CHUNK;
        float *o = out + ch * GELU_CHUNK;
        int n = (size_t)(ch + 1) * GELU_CHUNK <= N ? GELU_CHUNK : (int)(N - (size_t)ch * GELU_CHUNK);
        #pragma omp simd
        for (int i = 0; i < n; i++) {
            float t = tanh_fast(GELU_S * (x[i] + 0.044715f * x[i] * x[i] * x[i]));
            o[i] = 0.5f * x[i] * (1.0f + t);
        }
    }
}

void gelu_backward(float *dinp, const float *inp, const float *dout, size_t N)
{
    long n_chunks = (long)((N + GELU_CHUNK - 1) / GELU_CHUNK);
    #pragma omp parallel for schedule(static)
    for (long ch = 0; ch < n_chunks; ch++) {
        const float *x = inp + ch * GELU_CHUNK, *g = dout + ch * GELU_CHUNK;
        float *d = dinp + ch * GELU_CHUNK;
        int n = (size_t)(ch + 1) * GELU_CHUNK <= N ? GELU_CHUNK : (int)(N - (size_t)ch * GELU_CHUNK);
        #pragma omp simd
        for (int i = 0; i < n; i++) {
            float xi = x[i];
            float t = tanh_fast(GELU_S * (xi + 0.044715f * xi * xi * xi));
            float sech2 = 1.0f - t * t;
            float local = 0.5f * (1.0f + t) + 0.5f * xi * sech2 * GELU_S * (1.0f + 3.0f * 0.044715f * xi * xi);
            d[i] = local * g[i];
        }
    }
}

// ---------------------------------------------------------------- residual
// ReLU MLP (Nanda et al.'s grokking model); inp (N) -> out (N)
void relu_forward(float *out, const float *inp, size_t N)
{
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

// dout (N) -> dinp (N), written (dinp may be dout)
void relu_backward(float *dinp, const float *inp, const float *dout, size_t N)
{
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) dinp[i] = inp[i] > 0.0f ? dout[i] : 0.0f;
}

void residual_forward(float *out, const float *a, const float *b, size_t N)
{
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) out[i] = a[i] + b[i];
}

// da, db (N) += dout (N)
void residual_backward(float *da, float *db, const float *dout, size_t N)
{
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) { da[i] += dout[i]; db[i] += dout[i]; }
}

// ---------------------------------------------------------------- loss
// logits (N,V) become probabilities; losses (N)
float crossentropy_forward(float *logits, float *losses, const int *targets,
                           int N, int V, int *n_counted)
{
    #pragma omp parallel for
    for (int n = 0; n < N; n++) {
        float *p = logits + (size_t)n * V;
        float mx = p[0];
        for (int v = 1; v < V; v++) mx = p[v] > mx ? p[v] : mx;
        int t = targets ? targets[n] : -1;
        float target_logit = t >= 0 ? p[t] : 0.0f;
        float sum = 0.0f;
        #pragma omp simd reduction(+:sum)
        for (int v = 0; v < V; v++) { p[v] = ops_expf(p[v] - mx); sum += p[v]; }
        float inv = 1.0f / sum;
        for (int v = 0; v < V; v++) p[v] *= inv;
        // log-softmax from the logits: finite even where the probability underflows
        losses[n] = t >= 0 ? logf(sum) - (target_logit - mx) : 0.0f;
    }
    if (!targets) { *n_counted = 0; return 0.0f; }
    double total = 0.0;       // serial, fixed order
    int count = 0;
    for (int n = 0; n < N; n++)
        if (targets[n] >= 0) { total += losses[n]; count++; }
    *n_counted = count;
    return count ? (float)(total / count) : 0.0f;
}

void crossentropy_backward(float *dlogits, const float *probs, const int *targets,
                           int N, int V, int n_counted)
{
    float scale = n_counted ? 1.0f / n_counted : 0.0f;
    #pragma omp parallel for
    for (int n = 0; n < N; n++) {
        float *d = dlogits + (size_t)n * V;
        const float *p = probs + (size_t)n * V;
        int t = targets[n];
        if (t < 0) { memset(d, 0, sizeof(float) * V); continue; }
        for (int v = 0; v < V; v++) d[v] = p[v] * scale;
        d[t] -= scale;
    }
}
