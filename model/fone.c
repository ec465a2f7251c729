// fone.c: the FoNE digit head and its loss (see fone.h). The loss reads the final
// LayerNorm's output directly; its backward writes the gradient there, so the LM head and
// its GEMMs are skipped. Logits are recomputed in the backward (P*10 per answer), not stored.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/fone.h"
#include "core/vocab.h"

#define FONE_TWO_PI 6.283185307179586

// the ten digit points (cos 2 pi j/10, sin 2 pi j/10)
static void digit_points(float *cs, float *sn)
{
    for (int j = 0; j < 10; j++) {
        cs[j] = (float)cos(FONE_TWO_PI * j / 10.0);
        sn[j] = (float)sin(FONE_TWO_PI * j / 10.0);
    }
}

// digits of a non-negative integer value (at most 15 digits: exact in double and in int64)
static void value_digits(double v, int P, int *d)
{
    long long x = v > 0 ? llround(v) : 0;
    for (int p = 0; p < P; p++) { d[p] = (int)(x % 10); x /= 10; }
}

// h (2P) the hidden state's first channels -> logits (P,10)
static void place_logits(const float *h, int P, const float *cs, const float *sn, float *logits)
{
    for (int p = 0; p < P; p++)
        for (int j = 0; j < 10; j++) logits[p * 10 + j] = h[2 * p] * cs[j] + h[2 * p + 1] * sn[j];
}

// logits (10) -> probabilities in place; returns log-sum-exp
static double softmax10(float *l)
{
    float mx = l[0];
    for (int j = 1; j < 10; j++) mx = l[j] > mx ? l[j] : mx;
    double z = 0.0;
    for (int j = 0; j < 10; j++) z += exp((double)l[j] - mx);
    double lse = mx + log(z);
    for (int j = 0; j < 10; j++) l[j] = (float)exp((double)l[j] - lse);
    return lse;
}

// ---------------------------------------------------------------- build / values

int model__fone_build(Model *m, char *err)
{
    m->fone_places = 0;
    for (int i = 0; i < m->n_pos; i++)
        if (!strcmp(m->pos[i].vt->name, "fone")) m->fone_places = m->cfg.fone_places;
    if (!m->fone_places) return 0;
    size_t n = (size_t)m->B_max * m->T_max;
    m->values = calloc(n, sizeof(double));
    m->target_values = calloc(n, sizeof(double));
    if (!m->values || !m->target_values) return err_set(err, "out of memory for the FoNE values");
    return 0;
}

void model__fone_free(Model *m)
{
    free(m->values);
    free(m->target_values);
    m->values = m->target_values = NULL;
}

int model_set_values(Model *m, const double *values, const double *target_values, int B, int T, char *err)
{
    if (!m->fone_places) return 0;
    if (B < 1 || T < 1 || (size_t)B * T > (size_t)m->B_max * m->T_max || T > m->T_max || B > m->B_max)
        return err_set(err, "FoNE values of shape (%d, %d) do not fit the model's (%d, %d)", B, T, m->B_max, m->T_max);
    size_t n = (size_t)B * T;
    if (values) memcpy(m->values, values, sizeof(double) * n);
    else memset(m->values, 0, sizeof(double) * n);
    if (target_values) memcpy(m->target_values, target_values, sizeof(double) * n);
    else memset(m->target_values, 0, sizeof(double) * n);
    m->values_B = B;
    m->values_T = T;
    return 0;
}

const double *model__fone_values(const Model *m, int B, int T)
{
    return m->fone_places && m->values_B == B && m->values_T == T ? m->values : NULL;
}

// ---------------------------------------------------------------- head

void model_fone_logits(const Model *m, float *out)
{
    int P = m->fone_places, C = m->cfg.n_embd, N = m->B * m->T;
    float cs[10], sn[10];
    digit_points(cs, sn);
    for (int i = 0; i < N; i++) place_logits(m->lnf + (size_t)i * C, P, cs, sn, out + (size_t)i * P * 10);
}

void model_fone_digits(const Model *m, int t, int *digits)
{
    int P = m->fone_places, C = m->cfg.n_embd;
    float cs[10], sn[10], l[10 * MODEL_FONE_MAX_PLACES];
    digit_points(cs, sn);
    for (int b = 0; b < m->B; b++) {
        place_logits(m->lnf + ((size_t)b * m->T + t) * C, P, cs, sn, l);
        for (int p = 0; p < P; p++) {
            int best = 0;
            for (int j = 1; j < 10; j++) if (l[p * 10 + j] > l[p * 10 + best]) best = j;
            digits[b * P + p] = best;
        }
    }
}

// ---------------------------------------------------------------- loss

// the targets the loss counts: the [NUM] ones
static int counted(const Model *m, int i) { return m->targets[i] == TASK_NUM; }

float model__fone_loss_forward(Model *m)
{
    int P = m->fone_places, C = m->cfg.n_embd, N = m->B * m->T, n = 0;
    const double *tv = model__fone_values(m, m->B, m->T) ? m->target_values : NULL;
    float cs[10], sn[10], l[10 * MODEL_FONE_MAX_PLACES];
    int d[MODEL_FONE_MAX_PLACES];
    digit_points(cs, sn);
    double sum = 0.0;
    for (int i = 0; i < N; i++) {
        m->losses[i] = 0.0f;
        if (!counted(m, i)) continue;
        value_digits(tv ? tv[i] : 0.0, P, d);
        place_logits(m->lnf + (size_t)i * C, P, cs, sn, l);
        double li = 0.0;
        for (int p = 0; p < P; p++) {
            float *lp = l + p * 10, keep = lp[d[p]];
            li += softmax10(lp) - keep;
        }
        m->losses[i] = (float)(li / P);
        sum += li / P;
        n++;
    }
    m->n_loss_tokens = n;
    return n ? (float)(sum / n) : 0.0f;
}

// d loss / d logit_j = (prob_j - [j = digit]) / (P n); the logit is h_cos cos_j + h_sin sin_j
void model__fone_loss_backward(Model *m, float *dlnf)
{
    int P = m->fone_places, C = m->cfg.n_embd, N = m->B * m->T, n = m->n_loss_tokens;
    const double *tv = model__fone_values(m, m->B, m->T) ? m->target_values : NULL;
    float cs[10], sn[10], l[10 * MODEL_FONE_MAX_PLACES];
    int d[MODEL_FONE_MAX_PLACES];
    digit_points(cs, sn);
    memset(dlnf, 0, sizeof(float) * (size_t)N * C);
    if (!n) return;
    float scale = 1.0f / ((float)P * n);
    for (int i = 0; i < N; i++) {
        if (!counted(m, i)) continue;
        value_digits(tv ? tv[i] : 0.0, P, d);
        place_logits(m->lnf + (size_t)i * C, P, cs, sn, l);
        float *g = dlnf + (size_t)i * C;
        for (int p = 0; p < P; p++) {
            float *lp = l + p * 10, gc = 0.0f, gs = 0.0f;
            softmax10(lp);
            for (int j = 0; j < 10; j++) {
                float dl = (lp[j] - (j == d[p])) * scale;
                gc += dl * cs[j];
                gs += dl * sn[j];
            }
            g[2 * p] = gc;
            g[2 * p + 1] = gs;
        }
    }
}
