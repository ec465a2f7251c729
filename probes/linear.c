// linear.c: linear probes. Multinomial logistic regression with L2 on
// standardized features, fitted by accelerated full-batch gradient descent
// (FISTA with gradient restart, step 1/Lipschitz). No library on the machine
// does this in C, and it is a hundred lines; the products go through BLIS.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "probes/probe.h"
#include "model/ops.h"

// Xs (n, d+1) standardized rows with a trailing 1 for the bias
static void standardize(const probe_linear *pl, const float *X, int n, float *Xs)
{
    int d = pl->d;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) Xs[(size_t)i * (d + 1) + j] = (X[(size_t)i * d + j] - pl->mean[j]) / pl->std[j];
        Xs[(size_t)i * (d + 1) + d] = 1.0f;
    }
}

// largest eigenvalue of Xs^T Xs / n by power iteration (an upper estimate is all the step needs)
static double lambda_max(const float *Xs, int n, int D)
{
    double *v = malloc(sizeof(double) * D), *w = malloc(sizeof(double) * D), lam = 1.0;
    if (!v || !w) { free(v); free(w); return D; }   // the trace bound: safe, slow
    for (int j = 0; j < D; j++) v[j] = 1.0 / sqrt(D);
    for (int it = 0; it < 50; it++) {
        memset(w, 0, sizeof(double) * D);
        for (int i = 0; i < n; i++) {
            const float *x = Xs + (size_t)i * D;
            double s = 0.0;
            for (int j = 0; j < D; j++) s += x[j] * v[j];
            for (int j = 0; j < D; j++) w[j] += s * x[j];
        }
        double norm = 0.0;
        for (int j = 0; j < D; j++) norm += w[j] * w[j];
        norm = sqrt(norm);
        if (norm == 0) break;
        lam = norm / n;
        for (int j = 0; j < D; j++) v[j] = w[j] / norm;
    }
    free(v); free(w);
    return lam * 1.05;   // the iteration approaches from below
}

// P (n, K) <- softmax(Xs W^T) - onehot(y), divided by n: the gradient w.r.t. the logits
static void logits_grad(const float *Xs, const int *y, int n, int D, int K, const float *W, float *P)
{
    ops_gemm(ops_rntm_par(), 0, 1, n, K, D, 1.0f, Xs, D, W, D, 0.0f, P, K);
    for (int i = 0; i < n; i++) {
        float *p = P + (size_t)i * K, mx = p[0], sum = 0.0f;
        for (int k = 1; k < K; k++) mx = p[k] > mx ? p[k] : mx;
        for (int k = 0; k < K; k++) { p[k] = expf(p[k] - mx); sum += p[k]; }
        for (int k = 0; k < K; k++) p[k] = (p[k] / sum - (k == y[i])) / n;
    }
}

int probe_linear_fit(const float *X, const int *y, int n, int d, int K, const probe_linear_opts *o,
                     probe_linear *pl, char *err)
{
    memset(pl, 0, sizeof(*pl));
    int n_iter = o && o->n_iter > 0 ? o->n_iter : 500;
    float l2 = o && o->l2 > 0 ? o->l2 : 1e-4f;
    if (n < 1 || d < 1 || K < 2) return err_set(err, "linear probe: need n >= 1 rows, d >= 1 features, K >= 2 classes");
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K) return err_set(err, "linear probe: label %d of row %d is outside [0, %d)", y[i], i, K);
    int D = d + 1;
    pl->d = d; pl->K = K;
    pl->mean = calloc(d, sizeof(float));
    pl->std = calloc(d, sizeof(float));
    pl->W = calloc((size_t)K * D, sizeof(float));
    float *Xs = malloc(sizeof(float) * n * D), *P = malloc(sizeof(float) * n * K);
    float *G = malloc(sizeof(float) * K * D), *V = malloc(sizeof(float) * K * D), *Wp = malloc(sizeof(float) * K * D);
    if (!pl->mean || !pl->std || !pl->W || !Xs || !P || !G || !V || !Wp) {
        free(Xs); free(P); free(G); free(V); free(Wp);
        probe_linear_free(pl);
        return err_set(err, "linear probe: out of memory (%d x %d)", n, d);
    }
    for (int j = 0; j < d; j++) {
        double s = 0.0, ss = 0.0;
        for (int i = 0; i < n; i++) { double v = X[(size_t)i * d + j]; s += v; ss += v * v; }
        double mu = s / n, var = ss / n - mu * mu;
        pl->mean[j] = (float)mu;
        pl->std[j] = var > 1e-12 ? (float)sqrt(var) : 1.0f;   // constant features stay 0
    }
    standardize(pl, X, n, Xs);
    // the softmax cross-entropy's Hessian is at most 1/2 Xs^T Xs / n per class block
    float step = (float)(1.0 / (0.5 * lambda_max(Xs, n, D) + l2));

    float *W = pl->W, tk = 1.0f;
    memcpy(V, W, sizeof(float) * K * D);
    memcpy(Wp, W, sizeof(float) * K * D);
    for (int it = 0; it < n_iter; it++) {
        logits_grad(Xs, y, n, D, K, V, P);
        ops_gemm(ops_rntm_par(), 1, 0, K, D, n, 1.0f, P, K, Xs, D, 0.0f, G, D);   // G = P^T Xs
        double gn = 0.0, dir = 0.0;
        for (int k = 0; k < K; k++)
            for (int j = 0; j < D; j++) {
                size_t i = (size_t)k * D + j;
                if (j < d) G[i] += l2 * V[i];
                gn += (double)G[i] * G[i];
                Wp[i] = W[i];
                W[i] = V[i] - step * G[i];
                dir += (double)G[i] * (W[i] - Wp[i]);
            }
        if (gn < 1e-14) break;
        // momentum, restarted when the step goes uphill (O'Donoghue & Candes 2015)
        if (dir > 0) tk = 1.0f;
        float tn = 0.5f * (1.0f + sqrtf(1.0f + 4.0f * tk * tk)), beta = (tk - 1.0f) / tn;
        for (size_t i = 0; i < (size_t)K * D; i++) V[i] = W[i] + beta * (W[i] - Wp[i]);
        tk = tn;
    }
    free(Xs); free(P); free(G); free(V); free(Wp);
    return 0;
}

float probe_linear_accuracy(const probe_linear *pl, const float *X, const int *y, int n)
{
    int d = pl->d, K = pl->K, D = d + 1;
    long good = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        double best_v = -INFINITY;
        for (int k = 0; k < K; k++) {
            const float *w = pl->W + (size_t)k * D;
            double s = w[d];
            for (int j = 0; j < d; j++) s += w[j] * (X[(size_t)i * d + j] - pl->mean[j]) / pl->std[j];
            if (s > best_v) { best_v = s; best = k; }
        }
        good += best == y[i];
    }
    return n ? (float)good / n : NAN;
}

void probe_linear_free(probe_linear *pl)
{
    free(pl->mean); free(pl->std); free(pl->W);
    pl->mean = pl->std = pl->W = NULL;
}

int probe_linear_split(const float *X, const int *y, int n, int n_train, int d, int K,
                       const probe_linear_opts *o, float *train_acc, float *test_acc, char *err)
{
    if (n_train < 1 || n_train >= n)
        return err_set(err, "linear probe: %d training rows of %d leave no held-out rows", n_train, n);
    probe_linear pl;
    if (probe_linear_fit(X, y, n_train, d, K, o, &pl, err)) return -1;
    *train_acc = probe_linear_accuracy(&pl, X, y, n_train);
    *test_acc = probe_linear_accuracy(&pl, X + (size_t)n_train * d, y + n_train, n - n_train);
    probe_linear_free(&pl);
    return 0;
}
