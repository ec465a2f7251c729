#define _GNU_SOURCE
// eval.c: exact-match evaluation: greedy decoding of batches of prompts that
// share a length (so every row sits at the same position and one KV-cached
// step serves the batch), answer parsing, and the report's tables.
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include "core/files.h"
#include "eval/eval.h"
#include "eval/csv.h"

int eval_report_init(EvalReport *r, int max_len, int train_max_len, char *err)
{
    memset(r, 0, sizeof(*r));
    r->max_len = max_len;
    r->train_max_len = train_max_len;
    r->n = calloc((size_t)max_len * max_len, sizeof(long));
    r->correct = calloc((size_t)max_len * max_len, sizeof(long));
    if (!r->n || !r->correct) { eval_report_free(r); return err_set(err, "eval: out of memory"); }
    return 0;
}

void eval_report_free(EvalReport *r)
{
    free(r->n);
    free(r->correct);
    r->n = r->correct = NULL;
}

static int prompt_len(const TaskExample *e) { return e->answer_start; }

static int cmp_by_prompt_len(const void *a, const void *b, void *ctx)
{
    const TaskExample *ex = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    int d = prompt_len(&ex[i]) - prompt_len(&ex[j]);
    return d ? d : i - j;
}

// the digit-by-digit comparison, aligned at the least significant digit
static void score_digits(EvalReport *r, const char *want, const char *got)
{
    int nw = (int)strlen(want), ng = (int)strlen(got);
    for (int i = 0; i < nw && i < TASK_MAX_ANSWER; i++) {
        r->digit_n[i]++;
        if (i < ng && got[ng - 1 - i] == want[nw - 1 - i]) r->digit_correct[i]++;
    }
}

// a problem training saw or could have seen: of the train split, or in the fixed training set
static int problem_trained(const TaskConfig *tc, const TaskSet *train_set, uint64_t key)
{
    return (train_set && task_set_has(train_set, key)) || (tc->train_frac < 1.0 && task_split_of(tc, key) == TASK_SPLIT_TRAIN);
}

static void score(EvalReport *r, const TaskConfig *tc, const TaskExample *e, int ok, const char *got,
                  const TaskSet *train_set)
{
    if (!r) return;
    int la = e->len_a, lb = e->len_b;
    if (la >= 1 && lb >= 1 && la <= r->max_len && lb <= r->max_len) {
        r->n[(size_t)(la - 1) * r->max_len + lb - 1]++;
        r->correct[(size_t)(la - 1) * r->max_len + lb - 1] += ok;
    }
    // number tokens: training draws every value below the range, whatever its digits
    int in_dist = tc->numbers == TASK_NUMBERS_TOKENS ||
                  (la <= r->train_max_len && lb <= r->train_max_len && la >= tc->min_len && lb >= tc->min_len);
    if (in_dist) { r->in_n++; r->in_correct += ok; }
    else { r->out_n++; r->out_correct += ok; }
    if (e->n_carries >= 0 && e->n_carries < EVAL_MAX_CARRIES) {
        r->carry_n[e->n_carries]++;
        r->carry_correct[e->n_carries] += ok;
    }
    score_digits(r, e->answer, got);
    if (problem_trained(tc, train_set, task_problem_key(e->problem))) r->overlap++;
}

// numbers = fone: no decoding. One forward over a batch of prompts (<bos> [NUM] op [NUM] =,
// all of one length) with their values, and the answer's digits decoded by the model's digit
// head (model.head = fone) at the last position, the one whose target is the answer's [NUM]
static long eval_fone(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, EvalReport *r,
                      const TaskSet *train_set, char (*got)[TASK_MAX_ANSWER], char *err)
{
    if (m->head->decodes != MODEL_HEAD_DIGITS)
        return err_set(err, "eval: task.numbers = fone needs a model whose head reads digits (model.head = fone, with the "
                       "fone scheme in model.position), not model.head = %s (%s) with model.position = %s",
                       m->cfg.head, m->head->name, m->cfg.position);
    int Bmax = m->B_max, P = m->head->decode_width(m), L = n ? prompt_len(&ex[0]) : 1;
    if (L > m->T_max) return err_set(err, "eval: prompt of %d tokens does not fit the model's context %d", L, m->T_max);
    int *tok = malloc(sizeof(int) * (size_t)Bmax * L), *digits = malloc(sizeof(int) * (size_t)Bmax * P);
    double *vals = malloc(sizeof(double) * (size_t)Bmax * L);
    long n_correct = 0;
    int saved_training = m->training;
    m->training = 0;
    if (!tok || !digits || !vals) n_correct = err_set(err, "eval: out of memory");
    for (int start = 0; start < n && n_correct >= 0; start += Bmax) {
        int B = n - start < Bmax ? n - start : Bmax;
        for (int b = 0; b < B && n_correct >= 0; b++) {
            const TaskExample *e = &ex[start + b];
            if (prompt_len(e) != L) { n_correct = err_set(err, "eval: FoNE prompts of %d and %d tokens", L, prompt_len(e)); break; }
            memcpy(tok + (size_t)b * L, e->tokens, sizeof(int) * L);
            for (int t = 0; t < L; t++) vals[(size_t)b * L + t] = 0.0;
            for (int i = 0; i < e->n_values; i++)
                if (e->value_pos[i] < L) vals[(size_t)b * L + e->value_pos[i]] = e->value[i];
        }
        if (n_correct < 0) break;
        model_forward_batch(m, &(Batch){tok, NULL, vals, NULL, B, L});
        m->head->decode(m, L - 1, digits);
        for (int b = 0; b < B; b++) {
            const TaskExample *e = &ex[start + b];
            char ans[TASK_MAX_ANSWER];
            if (task_fone_answer(digits + (size_t)b * P, P, ans, sizeof(ans), NULL)) ans[0] = 0;   // cannot happen: digits are 0..9
            int ok = !strcmp(ans, e->answer);
            n_correct += ok;
            score(r, tc, e, ok, ans, train_set);
            if (got) snprintf(got[start + b], TASK_MAX_ANSWER, "%s", ans);
        }
    }
    m->training = saved_training;
    free(tok); free(digits); free(vals);
    return n_correct;
}

long eval_examples(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, int use_cache,
                   EvalReport *r, const TaskSet *train_set, char (*got)[TASK_MAX_ANSWER], char *err)
{
    if (tc->numbers == TASK_NUMBERS_FONE) return eval_fone(m, tc, ex, n, r, train_set, got, err);
    int S = m->T_max + 1, Bmax = m->B_max;
    int *order = malloc(sizeof(int) * (n ? n : 1));
    int *seq = malloc(sizeof(int) * (size_t)Bmax * S), *n_gen = malloc(sizeof(int) * Bmax);
    if (!order || !seq || !n_gen) { free(order); free(seq); free(n_gen); return err_set(err, "eval: out of memory"); }
    for (int i = 0; i < n; i++) order[i] = i;
    qsort_r(order, n, sizeof(int), cmp_by_prompt_len, (void *)ex);
    long n_correct = 0;
    for (int start = 0; start < n;) {
        int P = prompt_len(&ex[order[start]]), B = 0, max_new = 0;
        while (start + B < n && B < Bmax && prompt_len(&ex[order[start + B]]) == P) {
            const TaskExample *e = &ex[order[start + B]];
            int need = e->n_tokens - e->answer_start + 1;   // a cap only: one more than the true answer
            max_new = need > max_new ? need : max_new;
            B++;
        }
        if (P + 1 > S) { free(order); free(seq); free(n_gen); return err_set(err, "eval: prompt of %d tokens does not fit the model's context %d (model.block_size)", P, S); }
        for (int b = 0; b < B; b++) {
            memset(seq + (size_t)b * S, 0, sizeof(int) * S);
            memcpy(seq + (size_t)b * S, ex[order[start + b]].tokens, sizeof(int) * P);
        }
        if (model_generate_greedy(m, seq, S, B, P, max_new, TASK_EOS, n_gen, use_cache, err)) {
            free(order); free(seq); free(n_gen);
            return -1;
        }
        for (int b = 0; b < B; b++) {
            const TaskExample *e = &ex[order[start + b]];
            char ans[TASK_MAX_ANSWER], perr[ERR_MAX];
            int ok = 0;
            if (task_parse_answer(tc, seq + (size_t)b * S + P, n_gen[b], ans, sizeof(ans), perr)) {
                ans[0] = 0;
                if (r) r->malformed++;
            } else {
                ok = !strcmp(ans, e->answer);
            }
            n_correct += ok;
            score(r, tc, e, ok, ans, train_set);
            if (got) snprintf(got[order[start + b]], TASK_MAX_ANSWER, "%s", ans);
        }
        start += B;
    }
    free(order); free(seq); free(n_gen);
    return n_correct;
}

// the task as the grid draws it: operands of up to max_len digits (sort: numbers of up to
// max_len digits in lists of up to max_len)
static TaskConfig grid_task(const TaskConfig *tc, int max_len)
{
    TaskConfig t = *tc;
    if (max_len > t.max_len) t.max_len = max_len;
    if (t.task == TASK_SORT && max_len > t.sort_count) t.sort_count = max_len;
    return t;
}

// 0 when every problem of every cell up to max_len can be written (pad_width, the 26 hint
// letters, FoNE's 15 digits, the token budget, sort's 26 keys), else -1 and why
static int grid_fits(const TaskConfig *tc, int max_len, char *why)
{
    if (tc->task == TASK_SORT && max_len > TASK_MAX_KEYS)
        return err_set(why, "the grid's columns are list lengths, and a sort list holds at most %d keyed numbers "
                       "(keys A..Z)", TASK_MAX_KEYS);
    TaskConfig t = grid_task(tc, max_len);
    return task_config_validate(&t, why);
}

// cells the task has no problem for by definition, left empty: sub draws a >= b only, and
// modadd's operands are below the modulus. With numbers = tokens each operand is one token,
// and the grid's (len a, len b) are the decimal lengths of the operands' values
static int cell_exists(const TaskConfig *tc, int la, int lb)
{
    if (tc->task == TASK_SUB) return la >= lb;
    if (tc->task == TASK_MODADD || tc->numbers == TASK_NUMBERS_TOKENS) {
        int digits = 1;
        for (int v = (tc->task == TASK_MODADD ? tc->modulus : tc->token_range) - 1; v >= 10; v /= 10) digits++;
        return la <= digits && lb <= digits;
    }
    return 1;
}

int eval_grid(Model *m, const TaskConfig *tc_in, int per_cell, uint64_t seed, EvalReport *r,
              const TaskSet *train_set, char *err)
{
    TaskConfig tc = *tc_in;
    tc.space_prob = 0.0;     // evaluation prompts are written without random spaces
    tc.hint_random_start = 0;
    // before decoding anything: a cell the task cannot fill would quietly hold fewer than per_cell
    char why[ERR_MAX];
    if (grid_fits(&tc, r->max_len, why)) {
        int ok = r->max_len - 1;
        while (ok >= 1 && grid_fits(&tc, ok, NULL)) ok--;
        if (ok < 1) return err_set(err, "eval: the task cannot be evaluated at any length: %s", why);
        return err_set(err, "eval: eval.max_len = %d asks for problems this task cannot write: %s; "
                       "accepted: eval.max_len = 1..%d", r->max_len, why, ok);
    }
    TaskExample *ex = malloc(sizeof(TaskExample) * (size_t)per_cell);
    if (!ex) return err_set(err, "eval: out of memory for %d examples", per_cell);
    uint64_t rng = rng_seed(seed ^ 0xE7A1u);
    long total = 0, done = 0;
    for (int la = 1; la <= r->max_len; la++)
        for (int lb = 1; lb <= r->max_len; lb++) total += cell_exists(&tc, la, lb) ? per_cell : 0;
    if (r->progress) r->progress(r->progress_user, 0, total);
    for (int la = 1; la <= r->max_len; la++)
        for (int lb = 1; lb <= r->max_len; lb++) {
            if (!cell_exists(&tc, la, lb)) continue;
            char gerr[ERR_MAX];
            int n = 0;
            for (; n < per_cell; n++) {
                // only problems held out of training: of the test split (train_frac < 1) and
                // outside a fixed training set (train_size). A cell with none of them in
                // EVAL_GRID_DRAWS draws is left short; the summary counts what was left out
                int tries = 0, trained;
                do {
                    if (task_generate_sized(&tc, &rng, la, lb, -1, &ex[n], gerr)) {
                        free(ex);
                        return err_set(err, "eval: cell (len a %d, len b %d): %s", la, lb, gerr);
                    }
                    trained = problem_trained(&tc, train_set, task_problem_key(ex[n].problem));
                } while (trained && ++tries < EVAL_GRID_DRAWS);
                if (trained) break;
            }
            if (n < per_cell) { r->short_cells++; r->short_problems += per_cell - n; }
            if (n && eval_examples(m, &tc, ex, n, 1, r, train_set, NULL, err) < 0) { free(ex); return -1; }
            done += per_cell;
            if (r->progress) r->progress(r->progress_user, done, total);
        }
    free(ex);
    return 0;
}

// the three tables, each written atomically (core/files.h): a failed write
// leaves no half file and returns -1 + err naming it
static FILE *open_in(const char *dir, const char *name, char *path, size_t cap, char *err)
{
    snprintf(path, cap, "%s/%s", dir, name);
    return files_atomic_open(path, err);
}

int eval_write_csv(const EvalReport *r, const char *dir, char *err)
{
    char path[4096];
    FILE *f = open_in(dir, "accuracy_grid.csv", path, sizeof path, err);
    if (!f) return -1;
    eval_grid_csv_write(f, r);
    if (files_atomic_commit(f, path, err)) return -1;
    if (!(f = open_in(dir, "accuracy_by_digit.csv", path, sizeof path, err))) return -1;
    fprintf(f, "digit_from_right,n,correct,accuracy\n");
    for (int i = 0; i < TASK_MAX_ANSWER; i++)
        if (r->digit_n[i]) fprintf(f, "%d,%ld,%ld,%.4f\n", i, r->digit_n[i], r->digit_correct[i], (double)r->digit_correct[i] / r->digit_n[i]);
    if (files_atomic_commit(f, path, err)) return -1;
    if (!(f = open_in(dir, "accuracy_by_carries.csv", path, sizeof path, err))) return -1;
    fprintf(f, "carries,n,correct,accuracy\n");
    for (int i = 0; i < EVAL_MAX_CARRIES; i++)
        if (r->carry_n[i]) fprintf(f, "%d,%ld,%ld,%.4f\n", i, r->carry_n[i], r->carry_correct[i], (double)r->carry_correct[i] / r->carry_n[i]);
    return files_atomic_commit(f, path, err);
}

void eval_print_summary(const EvalReport *r, int overlap_known, FILE *f)
{
    if (r->in_n) fprintf(f, "in-distribution (lengths <= %d): %.2f%% of %ld\n", r->train_max_len, 100.0 * r->in_correct / r->in_n, r->in_n);
    if (r->out_n) fprintf(f, "out-of-distribution (longer): %.2f%% of %ld\n", 100.0 * r->out_correct / r->out_n, r->out_n);
    if (overlap_known)
        fprintf(f, "evaluated problems also among the training problems: %ld of %ld\n", r->overlap, r->in_n + r->out_n);
    else
        fprintf(f, "overlap with the training problems: unknown here (no record of them and no train/test split; "
                   "set task.train_frac < 1 to hold problems out)\n");
    if (r->short_cells)
        fprintf(f, "left out of the grid: %ld problem%s in %d cell%s that gave no problem held out of training "
                   "(test split, not in the training set) in %d draws\n", r->short_problems, r->short_problems == 1 ? "" : "s",
                r->short_cells, r->short_cells == 1 ? "" : "s", EVAL_GRID_DRAWS);
    fprintf(f, "answers that did not parse: %ld\n", r->malformed);
}
