// head_fone.c: the FoNE digit head (Zhou et al. 2025, "FoNE: Precise Single-Token Number
// Embeddings via Fourier Features"). A number is one [NUM] token carrying its value x;
// embeddings/fone.c adds the Fourier features to its embedding. The answer is read back at
// the position whose target is [NUM]: for place i, the final LayerNorm's channels
// (2(i-1), 2i-1) dotted with the ten points (cos 2 pi j/10, sin 2 pi j/10) give the logits
// of digit j. The loss is the cross-entropy of these digits, the mean over places and over
// [NUM] targets (the batch's target_values); other targets are not counted. The head has no
// parameters: it reads lnf directly, and its backward writes the gradient there. Logits are
// recomputed in the backward (P*10 per answer), not stored.
// An untied model still declares lm_head.weight (unused: zero gradient, decayed by AdamW),
// so checkpoints from before model.head load and the same seed gives the same bytes.
#include <math.h>
#include <string.h>
#include "model/fone.h"
#include "model/head.h"
#include "model/model.h"
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

static int fone_places(const Model *m) { return pos_opt(&m->cfg.pos, "model.fone_places"); }

// the digit logits are computed where they are read (outputs, decode, loss)
static void fone_forward(Model *m) { (void)m; }

static float fone_loss_forward(Model *m, const Batch *b)
{
    int P = fone_places(m), C = m->cfg.n_embd, N = b->B * b->T, n = 0;
    const double *tv = b->target_values;
    float cs[10], sn[10], l[10 * MODEL_FONE_MAX_PLACES];
    int d[MODEL_FONE_MAX_PLACES];
    digit_points(cs, sn);
    double sum = 0.0;
    for (int i = 0; i < N; i++) {
        m->losses[i] = 0.0f;
        if (b->targets[i] != TASK_NUM) continue;   // the targets the loss counts: the [NUM] ones
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
static void fone_loss_backward(Model *m, const Batch *b, float *dlnf)
{
    int P = fone_places(m), C = m->cfg.n_embd, N = b->B * b->T, n = m->n_loss_tokens;
    const double *tv = b->target_values;
    float cs[10], sn[10], l[10 * MODEL_FONE_MAX_PLACES];
    int d[MODEL_FONE_MAX_PLACES];
    digit_points(cs, sn);
    memset(dlnf, 0, sizeof(float) * (size_t)N * C);
    if (!n) return;
    float scale = 1.0f / ((float)P * n);
    for (int i = 0; i < N; i++) {
        if (b->targets[i] != TASK_NUM) continue;
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

static int fone_output_dims(const Model *m, int *dims) { dims[0] = fone_places(m); dims[1] = 10; return 2; }

// out (B,T,P,10): the digit logits of every position
static void fone_outputs(const Model *m, float *out)
{
    int P = fone_places(m), C = m->cfg.n_embd, N = m->B * m->T;
    float cs[10], sn[10];
    digit_points(cs, sn);
    for (int i = 0; i < N; i++) place_logits(m->lnf + (size_t)i * C, P, cs, sn, out + (size_t)i * P * 10);
}

// out (B,P), least significant place first: the most likely digit of every place at position t
static void fone_decode(const Model *m, int t, int *out)
{
    int P = fone_places(m), C = m->cfg.n_embd;
    float cs[10], sn[10], l[10 * MODEL_FONE_MAX_PLACES];
    digit_points(cs, sn);
    for (int b = 0; b < m->B; b++) {
        place_logits(m->lnf + ((size_t)b * m->T + t) * C, P, cs, sn, l);
        for (int p = 0; p < P; p++) {
            int best = 0;
            for (int j = 1; j < 10; j++) if (l[p * 10 + j] > l[p * 10 + best]) best = j;
            out[b * P + p] = best;
        }
    }
}

static int fone_decode_width(const Model *m) { return fone_places(m); }

const model_head_t model_head_fone = {
    .name = "fone",
    .help = "the FoNE digit head: the answer's digits read from lnf's channels 0..2P-1 at the [NUM] target "
            "(needs the fone scheme in model.position and task.numbers = fone)",
    .input_scheme = &pos_fone,
    .decodes = MODEL_HEAD_DIGITS,
    .check = NULL,
    .declare = model__head_lm_declare,   // the unused lm_head.weight: see the top of this file
    .forward = fone_forward,
    .loss_forward = fone_loss_forward,
    .loss_backward = fone_loss_backward,
    .output_dims = fone_output_dims,
    .outputs = fone_outputs,
    .decode = fone_decode,
    .decode_width = fone_decode_width,
};
