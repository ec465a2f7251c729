// numtok.c: the numbers of probes over number tokens (task.numbers = tokens), on plain
// arrays so tests can plant known signals: the number-token rows of a model's embedding
// and unembedding, the 2-D Fourier energy of neuron activations over all pairs (a, b)
// (Nanda et al. 2023), and the helix fit of Kantamneni & Tegmark 2025 ("Language models
// use trigonometry to do addition"): X ~ [x, cos 2 pi x / T, sin 2 pi x / T, ...].
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "probes/probe.h"

// ---------------------------------------------------------------- rows of the number tokens

int probe_numtok_rows(const Model *m, int unembed, int n, float *rows, char *err)
{
    int C = m->cfg.n_embd;
    if (n < 2 || TASK_NUMTOK0 + n > m->cfg.vocab_size)
        return err_set(err, "the model's vocabulary (%d) does not hold %d number tokens after the %d characters",
                       m->cfg.vocab_size, n, TASK_NUMTOK0);
    const float *w = unembed ? m->lm_head : m->wte;
    memcpy(rows, w + (size_t)TASK_NUMTOK0 * C, sizeof(float) * (size_t)n * C);
    return 0;
}

// ---------------------------------------------------------------- 2-D DFT of neuron activations

int probe_dft2_energy(const float *act, int p, int H, double *energy, char *err)
{
    int nf = p / 2 + 1;
    size_t pp = (size_t)p * p;
    double *cs = malloc(sizeof(double) * pp), *sn = malloc(sizeof(double) * pp);
    double *x = malloc(sizeof(double) * pp), *re = malloc(sizeof(double) * pp), *im = malloc(sizeof(double) * pp);
    if (!cs || !sn || !x || !re || !im) {
        free(cs); free(sn); free(x); free(re); free(im);
        return err_set(err, "out of memory for the 2-D DFT over %d x %d pairs", p, p);
    }
    for (int k = 0; k < p; k++)
        for (int a = 0; a < p; a++) {
            double ang = 2.0 * M_PI * (double)((long)k * a % p) / p;
            cs[(size_t)k * p + a] = cos(ang);
            sn[(size_t)k * p + a] = sin(ang);
        }
    memset(energy, 0, sizeof(double) * (size_t)nf * nf);
    for (int h = 0; h < H; h++) {
        double mean = 0.0;
        for (size_t i = 0; i < pp; i++) mean += act[i * H + h];
        mean /= (double)pp;
        for (size_t i = 0; i < pp; i++) x[i] = act[i * H + h] - mean;
        // along b: Y[a][kb] = sum_b x[a][b] e^{-i 2 pi kb b / p}
        for (int a = 0; a < p; a++)
            for (int kb = 0; kb < p; kb++) {
                double r = 0.0, s = 0.0;
                const double *row = x + (size_t)a * p, *c = cs + (size_t)kb * p, *si = sn + (size_t)kb * p;
                for (int b = 0; b < p; b++) { r += row[b] * c[b]; s -= row[b] * si[b]; }
                re[(size_t)a * p + kb] = r;
                im[(size_t)a * p + kb] = s;
            }
        // along a: X[ka][kb] = sum_a Y[a][kb] e^{-i 2 pi ka a / p}; fold (+-ka, +-kb) onto (|ka|, |kb|)
        for (int ka = 0; ka < p; ka++)
            for (int kb = 0; kb < p; kb++) {
                double r = 0.0, s = 0.0;
                for (int a = 0; a < p; a++) {
                    double c = cs[(size_t)ka * p + a], si = sn[(size_t)ka * p + a];
                    double yr = re[(size_t)a * p + kb], yi = im[(size_t)a * p + kb];
                    r += yr * c + yi * si;
                    s += yi * c - yr * si;
                }
                int fa = ka <= p / 2 ? ka : p - ka, fb = kb <= p / 2 ? kb : p - kb;
                energy[(size_t)fa * nf + fb] += (r * r + s * s) / (double)pp;
            }
    }
    free(cs); free(sn); free(x); free(re); free(im);
    return 0;
}

// ---------------------------------------------------------------- helix fit

// the design columns: x (when with_linear), then cos and sin of 2 pi x / T per period,
// each centred over the N rows; F (N, D); D returned
static int helix_design(const double *x, int N, const double *periods, int n_periods, int with_linear, double *F)
{
    int D = (with_linear ? 1 : 0) + 2 * n_periods;
    for (int n = 0; n < N; n++) {
        int d = 0;
        if (with_linear) F[(size_t)n * D + d++] = x[n];
        for (int j = 0; j < n_periods; j++) {
            double ang = 2.0 * M_PI * x[n] / periods[j];
            F[(size_t)n * D + d++] = cos(ang);
            F[(size_t)n * D + d++] = sin(ang);
        }
    }
    for (int d = 0; d < D; d++) {
        double mean = 0.0;
        for (int n = 0; n < N; n++) mean += F[(size_t)n * D + d];
        mean /= N;
        for (int n = 0; n < N; n++) F[(size_t)n * D + d] -= mean;
    }
    return D;
}

// A z = B for a symmetric positive semi-definite A (D, D) and B (D, M), both overwritten,
// by Gauss-Jordan on the diagonal: a row that is (numerically) a combination of the
// others, such as sin(pi x) = 0 on integers, gets z = 0
static void psd_solve(double *A, double *B, int D, int M, double *z)
{
    int *alive = calloc((size_t)D, sizeof(int));
    double scale = 0.0;
    for (int i = 0; i < D; i++) scale = A[(size_t)i * D + i] > scale ? A[(size_t)i * D + i] : scale;
    for (int i = 0; i < D; i++) {
        double piv = A[(size_t)i * D + i];
        if (!(piv > 1e-10 * scale)) continue;
        alive[i] = 1;
        for (int r = 0; r < D; r++) {
            if (r == i) continue;
            double f = A[(size_t)r * D + i] / piv;
            if (f == 0.0) continue;
            for (int j = 0; j < D; j++) A[(size_t)r * D + j] -= f * A[(size_t)i * D + j];
            for (int c = 0; c < M; c++) B[(size_t)r * M + c] -= f * B[(size_t)i * M + c];
        }
    }
    for (int i = 0; i < D; i++)
        for (int c = 0; c < M; c++) z[(size_t)i * M + c] = alive[i] ? B[(size_t)i * M + c] / A[(size_t)i * D + i] : 0.0;
    free(alive);
}

// least squares beta (D, C) of Xc (N, C) on F (N, D) through the normal equations
static void helix_solve(const double *F, const double *Xc, int N, int D, int C, double *beta)
{
    double *A = calloc((size_t)D * D, sizeof(double)), *B = calloc((size_t)D * C, sizeof(double));
    for (int i = 0; i < D; i++) {
        for (int j = 0; j < D; j++) {
            double s = 0.0;
            for (int n = 0; n < N; n++) s += F[(size_t)n * D + i] * F[(size_t)n * D + j];
            A[(size_t)i * D + j] = s;
        }
        for (int c = 0; c < C; c++) {
            double s = 0.0;
            for (int n = 0; n < N; n++) s += F[(size_t)n * D + i] * Xc[(size_t)n * C + c];
            B[(size_t)i * C + c] = s;
        }
    }
    psd_solve(A, B, D, C, beta);
    free(A); free(B);
}

// X (N, C) centred per channel into Xc; returns the total sum of squares
static double centre(const float *X, int N, int C, double *Xc)
{
    double ss = 0.0;
    for (int c = 0; c < C; c++) {
        double mean = 0.0;
        for (int n = 0; n < N; n++) mean += X[(size_t)n * C + c];
        mean /= N;
        for (int n = 0; n < N; n++) {
            double v = X[(size_t)n * C + c] - mean;
            Xc[(size_t)n * C + c] = v;
            ss += v * v;
        }
    }
    return ss;
}

int probe_helix_fit(const float *X, const double *x, int N, int C, const double *periods, int n_periods,
                    int with_linear, double *r2, float *planes, char *err)
{
    if (N < 2 || n_periods < 0 || n_periods > PROBE_HELIX_MAX_PERIODS || (!with_linear && !n_periods))
        return err_set(err, "helix fit: need N >= 2 rows and 1..%d periods (or the linear term)", PROBE_HELIX_MAX_PERIODS);
    for (int j = 0; j < n_periods; j++)
        if (!(periods[j] > 0)) return err_set(err, "helix fit: period %g is not positive", periods[j]);
    int D = (with_linear ? 1 : 0) + 2 * n_periods;
    double *F = malloc(sizeof(double) * (size_t)N * D), *Xc = malloc(sizeof(double) * (size_t)N * C);
    double *beta = malloc(sizeof(double) * (size_t)D * C);
    if (!F || !Xc || !beta) { free(F); free(Xc); free(beta); return err_set(err, "out of memory for the helix fit"); }
    helix_design(x, N, periods, n_periods, with_linear, F);
    double ss = centre(X, N, C, Xc), res = 0.0;
    helix_solve(F, Xc, N, D, C, beta);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double fit = 0.0;
            for (int d = 0; d < D; d++) fit += F[(size_t)n * D + d] * beta[(size_t)d * C + c];
            double e = Xc[(size_t)n * C + c] - fit;
            res += e * e;
        }
    *r2 = ss > 0 ? 1.0 - res / ss : 0.0;
    // each period's plane: the rows read back through the fitted map's pseudo-inverse,
    // z_n = (beta beta^T)^+ beta x_n (Kantamneni & Tegmark project onto the helix this way),
    // so that the other periods' and the linear term's directions do not leak into a plane
    if (planes && n_periods) {
        double *G = malloc(sizeof(double) * (size_t)D * D), *R = malloc(sizeof(double) * (size_t)D * N);
        double *z = malloc(sizeof(double) * (size_t)D * N);
        if (!G || !R || !z) { free(G); free(R); free(z); free(F); free(Xc); free(beta); return err_set(err, "out of memory"); }
        for (int i = 0; i < D; i++) {
            for (int j = 0; j < D; j++) {
                double g = 0.0;
                for (int c = 0; c < C; c++) g += beta[(size_t)i * C + c] * beta[(size_t)j * C + c];
                G[(size_t)i * D + j] = g;
            }
            for (int n = 0; n < N; n++) {
                double q = 0.0;
                for (int c = 0; c < C; c++) q += beta[(size_t)i * C + c] * Xc[(size_t)n * C + c];
                R[(size_t)i * N + n] = q;
            }
        }
        psd_solve(G, R, D, N, z);
        int off = with_linear ? 1 : 0;
        for (int j = 0; j < n_periods; j++)
            for (int n = 0; n < N; n++) {
                planes[((size_t)j * N + n) * 2] = (float)z[(size_t)(off + 2 * j) * N + n];
                planes[((size_t)j * N + n) * 2 + 1] = (float)z[(size_t)(off + 2 * j + 1) * N + n];
            }
        free(G); free(R); free(z);
    }
    free(F); free(Xc); free(beta);
    return 0;
}
