// patch.c: activation patching over pairs of problems and head ablation
// (probes/patch.h), on the interventions of model/patch.h.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "probes/patch.h"
#include "probes/probe.h"
#include "model/inspect.h"
#include "eval/eval.h"

// ---------------------------------------------------------------- sums over pairs

int probe_patch_sums_init(probe_patch_sums *s, const Model *m, char *err)
{
    memset(s, 0, sizeof(*s));
    s->n_passes = model_n_passes(m);
    s->n_heads = m->cfg.n_head;
    s->T_cap = m->T_max;
    int rows[] = {s->n_passes + 1, s->n_passes, s->n_passes}, cols[] = {s->T_cap, s->T_cap, s->n_heads};
    for (int g = 0; g < PROBE_PATCH_N_GRIDS; g++) {
        size_t n = (size_t)rows[g] * cols[g];
        s->rows[g] = rows[g];
        s->cols[g] = cols[g];
        s->ld[g] = calloc(n, sizeof(double));
        s->ld_clean[g] = calloc(n, sizeof(double));
        s->ld_corrupt[g] = calloc(n, sizeof(double));
        s->n[g] = calloc(n, sizeof(long));
        s->exact[g] = calloc(n, sizeof(long));
        if (!s->ld[g] || !s->ld_clean[g] || !s->ld_corrupt[g] || !s->n[g] || !s->exact[g]) {
            probe_patch_sums_free(s);
            return err_set(err, "out of memory for the patching grids");
        }
    }
    return 0;
}

void probe_patch_sums_free(probe_patch_sums *s)
{
    for (int g = 0; g < PROBE_PATCH_N_GRIDS; g++) {
        free(s->ld[g]); free(s->ld_clean[g]); free(s->ld_corrupt[g]); free(s->n[g]); free(s->exact[g]);
    }
    memset(s, 0, sizeof(*s));
}

double probe_patch_restored(const probe_patch_sums *s, probe_patch_grid g, int row, int col)
{
    size_t i = (size_t)row * s->cols[g] + col;
    long n = s->n[g][i];
    double gap = s->ld_clean[g][i] - s->ld_corrupt[g][i];
    if (!n || fabs(gap) < 1e-6 * n) return NAN;
    return (s->ld[g][i] - s->ld_corrupt[g][i]) / gap;
}

double probe_patch_exact(const probe_patch_sums *s, probe_patch_grid g, int row, int col)
{
    size_t i = (size_t)row * s->cols[g] + col;
    return s->n[g][i] ? (double)s->exact[g][i] / s->n[g][i] : NAN;
}

// ---------------------------------------------------------------- one pair

// site i of a pair of T positions -> its grid, row and column, and the patch
// that copies the clean values rec_* into it
static void site_patch(const Model *m, int i, int T, int row, const float *rec_resid, const float *rec_mlp,
                       const float *rec_head, int *grid, int *gr, int *gc, model_patch_t *p)
{
    int P = model_n_passes(m), C = m->cfg.n_embd, hs = model_site_width(m, MODEL_SITE_HEAD);
    size_t TC = (size_t)T * C;
    if (i < (P + 1) * T) {
        *grid = PROBE_PATCH_RESID; *gr = i / T; *gc = i % T;
        *p = (model_patch_t){MODEL_SITE_RESID, *gr - 1, 0, *gc, row, rec_resid + *gr * TC, T, C, 0};
        return;
    }
    i -= (P + 1) * T;
    if (i < P * T) {
        *grid = PROBE_PATCH_MLP; *gr = i / T; *gc = i % T;
        *p = (model_patch_t){MODEL_SITE_MLP, *gr, 0, *gc, row, rec_mlp + *gr * TC, T, C, 0};
        return;
    }
    i -= P * T;
    *grid = PROBE_PATCH_HEAD; *gr = i / m->cfg.n_head; *gc = i % m->cfg.n_head;
    *p = (model_patch_t){MODEL_SITE_HEAD, *gr, *gc, -1, row, rec_head + *gr * TC + (size_t)*gc * hs, T, C, 0};
}

static double logit_diff(const Model *m, int row, int T, int a, int b)
{
    const float *l = m->logits + ((size_t)row * T + T - 1) * m->cfg.vocab_size;
    return (double)l[a] - l[b];
}

// the greedy continuations of nb rows of seq (S = T + n_rest each) from T: 1 where
// row r reproduces want
static int continue_rows(Model *m, int *seq, int nb, int T, const int *want, int n_rest, int *n_gen, int *match, char *err)
{
    int S = T + n_rest;
    if (model_generate_greedy(m, seq, S, nb, T, n_rest, -1, n_gen, 1, err)) return -1;
    for (int r = 0; r < nb; r++) match[r] = !memcmp(seq + (size_t)r * S + T, want, sizeof(int) * n_rest);
    return 0;
}

int probe_patch_pair(Model *m, const int *clean, const int *corrupt, int T, int tok_clean, int tok_corrupt,
                     const int *want, int n_rest, probe_patch_sums *s, double *ld_out, char *err)
{
    int P = model_n_passes(m), C = m->cfg.n_embd, V = m->cfg.vocab_size, NH = m->cfg.n_head, B = m->B_max;
    if (T < 1 || n_rest < 1 || T + n_rest - 1 > m->T_max)
        return err_set(err, "the pair needs %d positions and %d more to continue: the model takes %d", T, n_rest, m->T_max);
    if (tok_clean < 0 || tok_clean >= V || tok_corrupt < 0 || tok_corrupt >= V || tok_clean == tok_corrupt || want[0] != tok_clean)
        return err_set(err, "the answer tokens measured (%d, %d) must differ and be in 0..%d", tok_clean, tok_corrupt, V - 1);
    if (s->n_passes != P || s->n_heads != NH || T > s->T_cap) return err_set(err, "the sums were made for another model");
    size_t TC = (size_t)T * C;
    int S = T + n_rest, n_sites = (P + 1) * T + P * T + P * NH;
    float *rec = malloc(sizeof(float) * TC * (3 * (size_t)P + 1));
    model_patch_t *patches = malloc(sizeof(model_patch_t) * B);
    int *inputs = malloc(sizeof(int) * (size_t)B * T), *seq = malloc(sizeof(int) * (size_t)B * S);
    int *n_gen = malloc(sizeof(int) * B), *match = malloc(sizeof(int) * B), *grid = malloc(sizeof(int) * 3 * B);
    int r = 0;
    const model_intervention_t *saved = m->intervene;
    if (!rec || !patches || !inputs || !seq || !n_gen || !match || !grid) { r = err_set(err, "out of memory"); goto done; }
    float *rec_resid = rec, *rec_mlp = rec + (size_t)(P + 1) * TC, *rec_head = rec_mlp + (size_t)P * TC;
    m->intervene = NULL;

    // the two runs unpatched: logit differences, clean values, exact matches
    model_forward(m, clean, NULL, 1, T);
    double ld_clean = logit_diff(m, 0, T, tok_clean, tok_corrupt);
    for (int p = -1; p < P && !r; p++) r = model_patch_read(m, MODEL_SITE_RESID, p, -1, rec_resid + (p + 1) * TC, err);
    for (int p = 0; p < P && !r; p++) r = model_patch_read(m, MODEL_SITE_MLP, p, -1, rec_mlp + p * TC, err);
    for (int p = 0; p < P && !r; p++) r = model_patch_read(m, MODEL_SITE_HEAD, p, -1, rec_head + p * TC, err);
    if (r) goto done;
    model_forward(m, corrupt, NULL, 1, T);
    double ld_corrupt = logit_diff(m, 0, T, tok_clean, tok_corrupt);
    memcpy(seq, clean, sizeof(int) * T);
    if ((r = continue_rows(m, seq, 1, T, want, n_rest, n_gen, match, err))) goto done;
    s->clean_exact += match[0];
    memcpy(seq, corrupt, sizeof(int) * T);
    if ((r = continue_rows(m, seq, 1, T, want, n_rest, n_gen, match, err))) goto done;
    s->corrupt_exact += match[0];
    s->n_pairs++;
    s->sum_ld_clean += ld_clean;
    s->sum_ld_corrupt += ld_corrupt;
    if (T > s->T_max_seen) s->T_max_seen = T;
    if (ld_out) { ld_out[0] = ld_clean; ld_out[1] = ld_corrupt; }

    // every site, one per batch row
    for (int s0 = 0; s0 < n_sites && !r; s0 += B) {
        int nb = n_sites - s0 < B ? n_sites - s0 : B;
        for (int k = 0; k < nb; k++) {
            site_patch(m, s0 + k, T, k, rec_resid, rec_mlp, rec_head, &grid[3 * k], &grid[3 * k + 1], &grid[3 * k + 2], &patches[k]);
            memcpy(inputs + (size_t)k * T, corrupt, sizeof(int) * T);
            memcpy(seq + (size_t)k * S, corrupt, sizeof(int) * T);
        }
        model_intervention_t iv = {patches, nb};
        m->intervene = &iv;
        model_forward(m, inputs, NULL, nb, T);
        for (int k = 0; k < nb; k++) {
            int g = grid[3 * k];
            size_t i = (size_t)grid[3 * k + 1] * s->cols[g] + grid[3 * k + 2];
            s->ld[g][i] += logit_diff(m, k, T, tok_clean, tok_corrupt);
            s->ld_clean[g][i] += ld_clean;
            s->ld_corrupt[g][i] += ld_corrupt;
            s->n[g][i]++;
        }
        r = continue_rows(m, seq, nb, T, want, n_rest, n_gen, match, err);
        m->intervene = NULL;
        for (int k = 0; k < nb && !r; k++) {
            int g = grid[3 * k];
            s->exact[g][(size_t)grid[3 * k + 1] * s->cols[g] + grid[3 * k + 2]] += match[k];
        }
    }
done:
    m->intervene = saved;
    free(rec); free(patches); free(inputs); free(seq); free(n_gen); free(match); free(grid);
    return r;
}

// ---------------------------------------------------------------- pairs of problems

int probe_patch_pair_from_examples(const TaskExample *clean, const TaskExample *corrupt, probe_patch_pair_t *p, char *err)
{
    if (clean->answer_start != corrupt->answer_start)
        return err_set(err, "the clean problem '%s' has a prompt of %d tokens and the corrupted '%s' one of %d: "
                       "patching needs prompts of the same length (change digits, not lengths)",
                       clean->problem, clean->answer_start, corrupt->problem, corrupt->answer_start);
    int n = clean->n_tokens < corrupt->n_tokens ? clean->n_tokens : corrupt->n_tokens, k = clean->answer_start;
    while (k < n && clean->tokens[k] == corrupt->tokens[k]) k++;
    if (k >= n) return err_set(err, "'%s' and '%s' have the same answer (%s): there is no answer token to measure",
                               clean->problem, corrupt->problem, clean->answer);
    p->clean = *clean;
    p->corrupt = *corrupt;
    p->T = k;
    p->tok_clean = clean->tokens[k];
    p->tok_corrupt = corrupt->tokens[k];
    p->n_rest = clean->n_tokens - k;
    return 0;
}

static const char *const PAIR_KIND_NAMES[] = {"digit", "carry"};
_Static_assert(sizeof(PAIR_KIND_NAMES) / sizeof(PAIR_KIND_NAMES[0]) == PROBE_N_PAIR_KINDS, "one name per pair kind");

const char *probe_pair_kind_name(int kind) { return kind >= 0 && kind < PROBE_N_PAIR_KINDS ? PAIR_KIND_NAMES[kind] : "?"; }

int probe_pair_kind_parse(const char *s)
{
    for (int k = 0; k < PROBE_N_PAIR_KINDS; k++)
        if (!strcmp(s, PAIR_KIND_NAMES[k])) return k;
    return -1;
}

// the text of a problem whose operand a (at the start of the problem) has digit
// `place` (0 = units) replaced by d
static void with_digit(const TaskExample *e, int place, char d, char *out, size_t cap)
{
    snprintf(out, cap, "%s", e->problem);
    out[e->len_a - 1 - place] = d;
}

// one DIGIT pair, or 0 when this draw does not make one (the caller draws again)
static int draw_digit_pair(const TaskConfig *tc, uint64_t *rng, int digits, probe_patch_pair_t *p, char *err)
{
    TaskExample *c = &p->clean, corrupt;
    if (task_generate_sized(tc, rng, digits, digits, -1, c, err)) return -1;
    if (strncmp(c->problem, c->a, (size_t)c->len_a)) return err_set(err, "the %s task's problems do not start with an operand", task_kind_name(tc->task));
    int place = rng_int(rng, digits);
    char old = c->a[c->len_a - 1 - place], d;
    do d = (char)('0' + rng_int(rng, 10)); while (d == old || (d == '0' && place == digits - 1 && digits > 1));
    char text[TASK_MAX_PROBLEM], e2[ERR_MAX];
    with_digit(c, place, d, text, sizeof text);
    if (task_example_from_problem(tc, text, &corrupt, e2)) return 0;   // e.g. a < b for sub, a >= p for modadd
    TaskExample clean = *c;
    return probe_patch_pair_from_examples(&clean, &corrupt, p, e2) ? 0 : 1;
}

// one CARRY pair (add): a_i + b_i = 9 above the units, a_0 + b_0 >= 10; the twin has b_0 = 9 - a_0
static int draw_carry_pair(const TaskConfig *tc, uint64_t *rng, int digits, probe_patch_pair_t *p, char *err)
{
    char a[TASK_MAX_DIGITS + 1], b[TASK_MAX_DIGITS + 1], b2[TASK_MAX_DIGITS + 1];
    for (int i = 0; i < digits; i++) {   // index 0 is the leading digit
        int place = digits - 1 - i, ad;
        if (place == 0) {
            ad = 1 + rng_int(rng, 9);
            int bd = 10 - ad + rng_int(rng, ad);   // 10-ad .. 9
            a[i] = (char)('0' + ad); b[i] = (char)('0' + bd); b2[i] = (char)('0' + 9 - ad);
        } else {
            ad = i == 0 ? 1 + rng_int(rng, 8) : rng_int(rng, 10);   // a leading digit 1..8 keeps b's nonzero
            a[i] = (char)('0' + ad); b[i] = b2[i] = (char)('0' + 9 - ad);
        }
    }
    a[digits] = b[digits] = b2[digits] = 0;
    char t1[2 * TASK_MAX_DIGITS + 4], t2[2 * TASK_MAX_DIGITS + 4];
    snprintf(t1, sizeof t1, "%s+%s", a, b);
    snprintf(t2, sizeof t2, "%s+%s", a, b2);
    TaskExample c1, c2;
    if (task_example_from_problem(tc, t1, &c1, err) || task_example_from_problem(tc, t2, &c2, err)) return -1;
    char e2[ERR_MAX];
    return probe_patch_pair_from_examples(&c1, &c2, p, e2) ? 0 : 1;
}

int probe_patch_make_pairs(const TaskConfig *tc, probe_pair_kind kind, int digits, int n, int seed,
                           probe_patch_pair_t **out, char *err)
{
    *out = NULL;
    if (tc->numbers == TASK_NUMBERS_FONE) return err_set(err, "patching needs digit tokens: this run has task.numbers = fone");
    if (tc->task == TASK_SORT) return err_set(err, "generated pairs need a task with two operands (add, sub, mul, modadd), not sort");
    if (kind == PROBE_PAIRS_CARRY && tc->task != TASK_ADD)
        return err_set(err, "carry pairs need task add (this run's task is %s); digit pairs work for every two-operand task", task_kind_name(tc->task));
    if (digits < 1 || digits > TASK_MAX_DIGITS || (kind == PROBE_PAIRS_CARRY && digits < 2))
        return err_set(err, "digits %d: need 1..%d (%s pairs: at least %d)", digits, TASK_MAX_DIGITS, probe_pair_kind_name(kind), kind == PROBE_PAIRS_CARRY ? 2 : 1);
    probe_patch_pair_t *pairs = malloc(sizeof(*pairs) * (size_t)n);
    if (!pairs) return err_set(err, "out of memory for %d pairs", n);
    uint64_t rng = rng_seed((uint64_t)seed + 7919);
    int k = 0;
    for (long tries = 0; k < n && tries < 100L * n + 1000; tries++) {
        int r = kind == PROBE_PAIRS_DIGIT ? draw_digit_pair(tc, &rng, digits, &pairs[k], err)
                                          : draw_carry_pair(tc, &rng, digits, &pairs[k], err);
        if (r < 0) { free(pairs); return -1; }
        k += r;
    }
    if (k < n) { free(pairs); return err_set(err, "could draw only %d of %d %s pairs of %d-digit operands", k, n, probe_pair_kind_name(kind), digits); }
    *out = pairs;
    return 0;
}

// ---------------------------------------------------------------- ablation

// mean (n_passes, T_max, C) of the heads' outputs per position over ref, teacher-forced
static int head_means(Model *m, const TaskExample *ref, int n_ref, float *mean, char *err)
{
    int P = model_n_passes(m), C = m->cfg.n_embd, Tm = m->T_max;
    double *sum = calloc((size_t)P * Tm * C, sizeof(double));
    long *cnt = calloc((size_t)Tm, sizeof(long));
    float *buf = malloc(sizeof(float) * (size_t)m->B_max * Tm * C);
    probe_batches it = {0};
    int r = (!sum || !cnt || !buf) ? err_set(err, "out of memory for the mean activations") : 0;
    if (!r) r = probe_batches_init(&it, m, ref, n_ref, err);
    while (!r && (r = probe_batches_next(&it, err)) > 0) {
        r = 0;
        for (int b = 0; b < it.nb; b++)
            for (int t = 0; t < ref[it.first + b].n_tokens - 1; t++) cnt[t]++;
        for (int p = 0; p < P && !r; p++) {
            if ((r = model_patch_read(m, MODEL_SITE_HEAD, p, -1, buf, err))) break;
            for (int b = 0; b < it.nb; b++)
                for (int t = 0; t < ref[it.first + b].n_tokens - 1; t++) {
                    const float *x = buf + ((size_t)b * it.T + t) * C;
                    double *y = sum + ((size_t)p * Tm + t) * C;
                    for (int c = 0; c < C; c++) y[c] += x[c];
                }
        }
    }
    if (r > 0) r = 0;
    probe_batches_free(&it);
    for (int p = 0; !r && p < P; p++)
        for (int t = 0; t < Tm; t++)
            for (int c = 0; c < C; c++) {
                size_t i = ((size_t)p * Tm + t) * C + c;
                mean[i] = cnt[t] ? (float)(sum[i] / cnt[t]) : 0.0f;
            }
    free(sum); free(cnt); free(buf);
    return r;
}

int probe_ablate_heads(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, int mean,
                       const TaskExample *ref, int n_ref, double *base_acc, double *acc, FILE *log, char *err)
{
    int P = model_n_passes(m), NH = m->cfg.n_head, C = m->cfg.n_embd, hs = model_site_width(m, MODEL_SITE_HEAD);
    float *means = NULL;
    if (mean) {
        if (!(means = malloc(sizeof(float) * (size_t)P * m->T_max * C))) return err_set(err, "out of memory");
        if (head_means(m, ref, n_ref, means, err)) { free(means); return -1; }
    }
    const model_intervention_t *saved = m->intervene;
    m->intervene = NULL;
    long ok = eval_examples(m, tc, ex, n, 1, NULL, NULL, NULL, err);
    int r = ok < 0 ? -1 : 0;
    if (!r) *base_acc = (double)ok / n;
    if (!r && log) fprintf(log, "unablated: %ld of %d correct (%.4f)\n", ok, n, *base_acc);
    for (int p = 0; p < P && !r; p++)
        for (int h = 0; h < NH && !r; h++) {
            model_patch_t pt = {MODEL_SITE_HEAD, p, h, -1, -1, NULL, 0, 0, 0};
            if (mean) pt = (model_patch_t){MODEL_SITE_HEAD, p, h, -1, -1, means + (size_t)p * m->T_max * C + (size_t)h * hs,
                                           m->T_max, (size_t)C, 0};
            model_intervention_t iv = {&pt, 1};
            m->intervene = &iv;
            ok = eval_examples(m, tc, ex, n, 1, NULL, NULL, NULL, err);
            m->intervene = NULL;
            if (ok < 0) { r = -1; break; }
            acc[p * NH + h] = (double)ok / n;
            if (log) fprintf(log, "pass %d head %d ablated: %ld of %d correct (%.4f, drop %+.4f)\n",
                             p, h, ok, n, acc[p * NH + h], *base_acc - acc[p * NH + h]);
        }
    m->intervene = saved;
    free(means);
    return r;
}
