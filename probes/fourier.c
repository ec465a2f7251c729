// fourier.c: Fourier analysis of how a model represents digits, after Zhou et
// al. 2024 ("Pre-trained LLMs use Fourier features to compute addition"): the
// spectrum of the digit embeddings over the digit axis, and the spectrum of the
// digit logits that each layer and component writes (logit lens), with an
// ablation that removes a band of frequencies from one component.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "probes/probe.h"
#include "model/ops.h"

#define N_DIGITS 10
#define N_DIGIT_FREQ (N_DIGITS / 2 + 1)

// ---------------------------------------------------------------- basis

int probe_fourier_row_freq(int N, int row)
{
    if (row == 0) return 0;
    if (N % 2 == 0 && row == N - 1) return N / 2;
    return (row + 1) / 2;
}

void probe_fourier_row_name(int N, int row, char *buf, size_t cap)
{
    int k = probe_fourier_row_freq(N, row);
    if (k == 0) snprintf(buf, cap, "const");
    else if (N % 2 == 0 && k == N / 2) snprintf(buf, cap, "cos %d", k);
    else snprintf(buf, cap, "%s %d", row % 2 ? "cos" : "sin", k);
}

// basis row r at n, in double: a float basis leaks the float rounding of a large
// constant into every other row (issue 12's "key-frequency floor")
static double basis_at(int N, int r, int n)
{
    int k = probe_fourier_row_freq(N, r);
    int nyquist = N % 2 == 0 && k == N / 2;
    double scale = (k == 0 || nyquist) ? sqrt(1.0 / N) : sqrt(2.0 / N);
    double ang = 2.0 * M_PI * (double)k * n / N;
    return scale * (k == 0 ? 1.0 : nyquist ? (n % 2 ? -1.0 : 1.0) : (r % 2 ? cos(ang) : sin(ang)));
}

// basis (N, N), rows orthonormal
void probe_fourier_basis(int N, float *basis)
{
    for (int r = 0; r < N; r++)
        for (int n = 0; n < N; n++) basis[(size_t)r * N + n] = (float)basis_at(N, r, n);
}

// x (N, C) -> coef (N, C) = basis @ x, in double. Row 0 is the channel mean times
// sqrt(N); the other rows project the channel centred on that mean (the same in
// exact arithmetic, as those rows sum to zero), so the constant cannot leak into them.
int probe_fourier_project(const float *x, int N, int C, float *coef)
{
    double *basis = malloc(sizeof(double) * N * N), *xc = malloc(sizeof(double) * N);
    if (!basis || !xc) { free(basis); free(xc); return -1; }
    for (int r = 0; r < N; r++)
        for (int n = 0; n < N; n++) basis[(size_t)r * N + n] = basis_at(N, r, n);
    for (int c = 0; c < C; c++) {
        double mean = 0.0;
        for (int n = 0; n < N; n++) mean += x[(size_t)n * C + c];
        mean /= N;
        for (int n = 0; n < N; n++) xc[n] = (double)x[(size_t)n * C + c] - mean;
        coef[c] = (float)(mean * sqrt((double)N));
        for (int r = 1; r < N; r++) {
            double s = 0.0;
            for (int n = 0; n < N; n++) s += basis[(size_t)r * N + n] * xc[n];
            coef[(size_t)r * C + c] = (float)s;
        }
    }
    free(basis); free(xc);
    return 0;
}

// coef (N, C) -> norm_k (N/2 + 1)
void probe_fourier_spectrum(const float *coef, int N, int C, float *norm_k)
{
    int nf = probe_fourier_n_freq(N);
    for (int k = 0; k < nf; k++) norm_k[k] = 0.0f;
    for (int r = 0; r < N; r++) {   // each row belongs to one k: sum its energy, then add it there
        double e = 0.0;
        for (int c = 0; c < C; c++) e += (double)coef[(size_t)r * C + c] * coef[(size_t)r * C + c];
        norm_k[probe_fourier_row_freq(N, r)] += (float)e;
    }
    for (int k = 0; k < nf; k++) norm_k[k] = sqrtf(norm_k[k]);
}

// basis functions of frequency k: 1 for the constant and the Nyquist cosine, else 2
static int freq_dims(int N, int k) { return k == 0 || (N % 2 == 0 && k == N / 2) ? 1 : 2; }

int probe_fourier_key_freqs(const float *norm_k, int N, float ratio, float *share, int *keys)
{
    int nf = probe_fourier_n_freq(N), n_keys = 0;
    double total = 0.0, all = (double)norm_k[0] * norm_k[0];
    for (int k = 1; k < nf; k++) total += (double)norm_k[k] * norm_k[k];
    all += total;
    // below the floor the non-constant part is rounding, not a function of n: no shares, no keys
    int flat = !(total > 0) || total < PROBE_FOURIER_ENERGY_FLOOR * all;
    if (share) share[0] = 0.0f;
    for (int k = 1; k < nf; k++) {
        double s = flat ? 0.0 : (double)norm_k[k] * norm_k[k] / total;
        if (share) share[k] = (float)s;
        // a flat spectrum gives frequency k the share dims_k / (N - 1)
        if (!flat && s >= ratio * freq_dims(N, k) / (double)(N - 1)) keys[n_keys++] = k;
    }
    return n_keys;
}

// ---------------------------------------------------------------- logit lens

// coefficients (10) of the digit logits u (10) -> magnitude per frequency (6)
static void digit_spectrum(const float *coef, double *mag)
{
    mag[0] = fabs(coef[0]);
    for (int k = 1; k < N_DIGITS / 2; k++) mag[k] = hypot(coef[2 * k - 1], coef[2 * k]);
    mag[N_DIGITS / 2] = fabs(coef[N_DIGITS - 1]);
}

// coef (10) = basis (10, 10) @ u (10)
static void project_digits(const float *basis, const float *u, float *coef)
{
    for (int row = 0; row < N_DIGITS; row++) {
        float c = 0.0f;
        for (int d = 0; d < N_DIGITS; d++) c += basis[row * N_DIGITS + d] * u[d];
        coef[row] = c;
    }
}

// out = z minus the part of a signal (given by its coefficients) in the low band
// k = 1..low_max (band 0) or the high band k > low_max (band 1)
static void remove_band(const float *basis, const float *coef, const float *z, int low_max, int band, float *out)
{
    memcpy(out, z, sizeof(float) * N_DIGITS);
    for (int row = 1; row < N_DIGITS; row++) {
        int k = probe_fourier_row_freq(N_DIGITS, row);
        if ((k <= low_max) != (band == 0)) continue;
        for (int d = 0; d < N_DIGITS; d++) out[d] -= coef[row] * basis[row * N_DIGITS + d];
    }
}

static int argmax10(const float *u)
{
    int best = 0;
    for (int d = 1; d < N_DIGITS; d++) if (u[d] > u[best]) best = d;
    return best;
}

static int lens_components(const Model *m, probe_lens *lens, char *err)
{
    int L = m->cfg.n_layer, NP = model_n_passes(m), pre_ln = !m->cfg.post_ln, n = 0;
    if (NP > PROBE_MAX_PASSES)
        return err_set(err, "the logit lens reads at most %d passes; the model runs %d (model.n_layer = %d x model.n_loops = %d)",
                       PROBE_MAX_PASSES, NP, L, m->cfg.n_loops);
    static const char *const KIND_NAMES[] = {"embed", "inject", "attn", "mlp", "resid"};
    for (int p = -1; p < NP; p++) {
        int kinds[4], nk = 0;
        if (p < 0) kinds[nk++] = PROBE_COMP_EMBED;
        else {
            if (pre_ln && model_pass_injected(m, p)) kinds[nk++] = PROBE_COMP_INJECT;
            if (pre_ln) { kinds[nk++] = PROBE_COMP_ATTN; kinds[nk++] = PROBE_COMP_MLP; }
            kinds[nk++] = PROBE_COMP_RESID;
        }
        char pn[32];
        probe_pass_name(p, L, NP, pn, sizeof pn);
        for (int k = 0; k < nk; k++, n++) {
            lens->kind[n] = kinds[k];
            lens->pass[n] = p;
            if (p < 0) snprintf(lens->name[n], sizeof lens->name[n], "%s", KIND_NAMES[kinds[k]]);
            else snprintf(lens->name[n], sizeof lens->name[n], "%s %s", pn, KIND_NAMES[kinds[k]]);
        }
    }
    lens->n_comp = n;
    return 0;
}

static int is_dla(int kind) { return kind == PROBE_COMP_INJECT || kind == PROBE_COMP_ATTN || kind == PROBE_COMP_MLP; }

// one answer digit in the current batch: row (b*T + t) of the activations
typedef struct { int row, target, example; } lens_pos;

// X (np, C) <- the component's vectors at the answer positions; attn and mlp
// (B*T, C) hold the pass's contributions, computed at its attn component
static int gather(const Model *m, const probe_lens *lens, int ci, const lens_pos *ps, int np,
                  float *attn, float *mlp, float *X, char *err)
{
    int C = m->cfg.n_embd, p = lens->pass[ci];
    const float *src = NULL;
    switch (lens->kind[ci]) {
    case PROBE_COMP_EMBED: src = model_pass_residual(m, -1); break;
    case PROBE_COMP_INJECT: src = model_pass_injection(m, p); break;
    case PROBE_COMP_RESID: src = model_pass_residual(m, p); break;
    case PROBE_COMP_ATTN:
        if (model_pass_contributions(m, p, attn, mlp, err)) return -1;
        src = attn;
        break;
    case PROBE_COMP_MLP: src = mlp; break;
    }
    if (!src) return err_set(err, "%s: the model's last forward has no such pass", lens->name[ci]);
    for (int i = 0; i < np; i++) memcpy(X + (size_t)i * C, src + (size_t)ps[i].row * C, sizeof(float) * C);
    return 0;
}

// X (np, C) -> U (np, 10) digit logits: the model's final norm then the digit rows
// of the unembedding (lens), or the final LayerNorm's scale at that position
// applied to the centred vector without the bias (direct logit attribution).
// Without a norm (model.norm = none) both are the unembedding of X itself.
static void digit_logits(const Model *m, int dla, const lens_pos *ps, int np, float *X, float *Y,
                         float *mean, float *rstd, float *U)
{
    int C = m->cfg.n_embd;
    if (!dla || !model_has_norm(m)) {
        model_final_norm(m, Y, mean, rstd, X, np);
    } else {
        for (int i = 0; i < np; i++) {
            const float *x = X + (size_t)i * C;
            float *y = Y + (size_t)i * C, mu = 0.0f, s = m->lnf_rstd[ps[i].row];
            for (int c = 0; c < C; c++) mu += x[c];
            mu /= C;
            for (int c = 0; c < C; c++) y[c] = (x[c] - mu) * s * m->lnfw[c];
        }
    }
    matmul_forward(U, Y, m->lm_head + (size_t)TASK_DIGIT0 * C, NULL, np, C, N_DIGITS);
}

static int lens_alloc(probe_lens *lens, int low_max)
{
    int nc = lens->n_comp;
    lens->n_freq = N_DIGIT_FREQ;
    lens->low_max = low_max;
    lens->mag = calloc((size_t)nc * N_DIGIT_FREQ, sizeof(double));
    lens->n_correct = calloc((size_t)nc, sizeof(long));
    lens->abl_digits = calloc((size_t)nc * 2, sizeof(long));
    lens->abl_seqs = calloc((size_t)nc * 2, sizeof(long));
    return lens->mag && lens->n_correct && lens->abl_digits && lens->abl_seqs ? 0 : -1;
}

void probe_lens_free(probe_lens *lens)
{
    free(lens->mag); free(lens->n_correct); free(lens->abl_digits); free(lens->abl_seqs);
    lens->mag = NULL; lens->n_correct = lens->abl_digits = lens->abl_seqs = NULL;
}

int probe_logit_lens(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, int low_max,
                     probe_lens *lens, char *err)
{
    memset(lens, 0, sizeof(*lens));
    if (low_max < 1 || low_max >= N_DIGITS / 2)
        return err_set(err, "low band k = 1..%d: the cut must lie in 1..%d", low_max, N_DIGITS / 2 - 1);
    if (m->cfg.vocab_size < TASK_DIGIT0 + N_DIGITS)
        return err_set(err, "the model's vocabulary (%d) has no digit tokens", m->cfg.vocab_size);
    if (lens_components(m, lens, err)) return -1;
    int B = m->B_max, Tm = m->T_max, C = m->cfg.n_embd, V = m->cfg.vocab_size, nc = lens->n_comp;
    size_t cap = (size_t)B * Tm;
    lens_pos *ps = malloc(sizeof(lens_pos) * cap);
    float *X = malloc(sizeof(float) * cap * C), *Y = malloc(sizeof(float) * cap * C);
    float *attn = malloc(sizeof(float) * cap * C), *mlp = malloc(sizeof(float) * cap * C);
    float *mean = malloc(sizeof(float) * cap), *rstd = malloc(sizeof(float) * cap);
    float *U = malloc(sizeof(float) * cap * N_DIGITS), *Z = malloc(sizeof(float) * cap * N_DIGITS);
    unsigned char *ok = malloc((size_t)B * (nc * 2 + 3));   // per example: every digit right so far
    float basis[N_DIGITS * N_DIGITS];
    probe_fourier_basis(N_DIGITS, basis);
    int r = lens_alloc(lens, low_max);
    if (r || !ps || !X || !Y || !attn || !mlp || !mean || !rstd || !U || !Z || !ok)
        r = err_set(err, "out of memory for the logit lens");
    probe_batches it = {0};
    if (!r) r = probe_batches_init(&it, m, ex, n, err);
    while (!r && (r = probe_batches_next(&it, err)) > 0) {
        r = 0;
        int nb = it.nb, T = it.T, np = 0;
        const TaskExample *bex = ex + it.first;
        for (int b = 0; b < nb && !r; b++) {
            probe_places pl;
            if ((r = probe_find_places(tc, &bex[b], &pl, err))) break;
            for (int p = 0; p < pl.n_ans; p++) {
                int t = pl.pos_ans[p] - 1;
                ps[np] = (lens_pos){ b * T + t, task_tok_digit(bex[b].tokens[pl.pos_ans[p]]), b };
                for (int d = 0; d < N_DIGITS; d++) Z[(size_t)np * N_DIGITS + d] = m->logits[(size_t)(b * T + t) * V + TASK_DIGIT0 + d];
                np++;
            }
        }
        if (r) break;
        memset(ok, 1, (size_t)nb * (nc * 2 + 3));
        unsigned char *base_ok = ok + (size_t)nb * nc * 2, *final_ok = base_ok + nb;   // (nb), (nb, 2)
        for (int i = 0; i < np; i++) {
            const float *z = Z + (size_t)i * N_DIGITS;
            int good = argmax10(z) == ps[i].target;
            lens->base_digits += good;
            if (!good) base_ok[ps[i].example] = 0;
            float coef[N_DIGITS];
            project_digits(basis, z, coef);
            for (int band = 0; band < 2; band++) {
                float zb[N_DIGITS];
                remove_band(basis, coef, z, low_max, band, zb);
                good = argmax10(zb) == ps[i].target;
                lens->final_digits[band] += good;
                if (!good) final_ok[ps[i].example * 2 + band] = 0;
            }
        }
        for (int ci = 0; ci < nc && !r; ci++) {
            int dla = is_dla(lens->kind[ci]), ablate = lens->kind[ci] == PROBE_COMP_ATTN || lens->kind[ci] == PROBE_COMP_MLP;
            if ((r = gather(m, lens, ci, ps, np, attn, mlp, X, err))) break;
            digit_logits(m, dla, ps, np, X, Y, mean, rstd, U);
            for (int i = 0; i < np; i++) {
                const float *u = U + (size_t)i * N_DIGITS;
                float coef[N_DIGITS];
                double mag[N_DIGIT_FREQ];
                project_digits(basis, u, coef);
                digit_spectrum(coef, mag);
                for (int k = 0; k < N_DIGIT_FREQ; k++) lens->mag[(size_t)ci * N_DIGIT_FREQ + k] += mag[k];
                lens->n_correct[ci] += argmax10(u) == ps[i].target;
                if (!ablate) continue;
                // final digit logits without the component's low (band 0) or high (band 1) frequencies
                for (int band = 0; band < 2; band++) {
                    float z[N_DIGITS];
                    remove_band(basis, coef, Z + (size_t)i * N_DIGITS, low_max, band, z);
                    int good = argmax10(z) == ps[i].target;
                    lens->abl_digits[(size_t)ci * 2 + band] += good;
                    if (!good) ok[((size_t)ps[i].example * nc + ci) * 2 + band] = 0;
                }
            }
        }
        for (int b = 0; b < nb; b++) {
            lens->base_seqs += base_ok[b];
            for (int band = 0; band < 2; band++) lens->final_seqs[band] += final_ok[b * 2 + band];
            for (int ci = 0; ci < nc; ci++)
                for (int band = 0; band < 2; band++) lens->abl_seqs[(size_t)ci * 2 + band] += ok[((size_t)b * nc + ci) * 2 + band];
        }
        lens->n_positions += np;
        lens->n_seqs += nb;
    }
    if (!r && lens->n_positions)
        for (size_t i = 0; i < (size_t)nc * N_DIGIT_FREQ; i++) lens->mag[i] /= lens->n_positions;
    probe_batches_free(&it);
    free(ps); free(X); free(Y); free(attn); free(mlp); free(mean); free(rstd); free(U); free(Z); free(ok);
    if (r) probe_lens_free(lens);
    return r;
}
