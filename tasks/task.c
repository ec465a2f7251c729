// task.c: problems in ordinary notation ("128+367", "A:12,B:7"): parsing and
// checking them, their true answers, the example a format makes of them, and
// training batches with their loss mask.
#include <stdlib.h>
#include <string.h>
#include "tasks/task_internal.h"

static const char OPS[TASK_N_KINDS] = {
    [TASK_ADD] = '+', [TASK_SUB] = '-', [TASK_MUL] = '*', [TASK_SORT] = 0, [TASK_MODADD] = '+',
};

char task__op_char(int kind) { return kind >= 0 && kind < TASK_N_KINDS ? OPS[kind] : 0; }

// what parse_problem accepts, for --help and for messages about refused problems
static const char *const NOTATIONS[] = {
    [TASK_ADD] = "a+b, e.g. 128+367",
    [TASK_SUB] = "a-b with a >= b, e.g. 367-128",
    [TASK_MUL] = "a*b, e.g. 12*34",
    [TASK_SORT] = "distinct keys A-Z, each with a number, e.g. Q:5230,R:4,S:9 (answer: the keys by value, R,S,Q)",
    [TASK_MODADD] = "a+b with a, b below task.modulus, e.g. 60+50",
};
_Static_assert(sizeof(NOTATIONS) / sizeof(NOTATIONS[0]) == TASK_N_KINDS, "a notation for every task kind");

const char *task_notation(int kind) { return kind >= 0 && kind < TASK_N_KINDS ? NOTATIONS[kind] : "?"; }

// ---------------------------------------------------------------- parsing problems

// a run of digits at s[*i] into out; `what` names it in errors ("first operand")
static int take_number(const char *s, int *i, char *out, const char *what, char *err)
{
    int start = *i;
    while (s[*i] >= '0' && s[*i] <= '9') (*i)++;
    int n = *i - start;
    if (n == 0) {
        if (!s[*i]) return err_set(err, "problem '%.60s': the %s is missing", s, what);
        return err_set(err, "problem '%.60s': '%c' at position %d is not a digit", s, s[*i], *i);
    }
    if (n > TASK_MAX_DIGITS)
        return err_set(err, "problem '%.60s...': the %s has %d digits; at most %d are supported",
                       s, what, n, TASK_MAX_DIGITS);
    if (n > 1 && s[start] == '0')
        return err_set(err, "problem '%.60s': the %s '%.*s' has a leading zero", s, what, n > 20 ? 20 : n, s + start);
    memcpy(out, s + start, (size_t)n);
    out[n] = 0;
    return 0;
}

// "<digits><op><digits>" with the task's operator, then the task's own limits
static int parse_binary(const TaskConfig *cfg, const char *s, TaskProblem *p, char *err)
{
    char op = OPS[cfg->task];
    int i = 0;
    if (take_number(s, &i, p->a, "first operand", err)) return -1;
    if (s[i] != op) {
        if (!s[i])
            return err_set(err, "problem '%.60s' has no '%c': task %s takes two operands", s, op,
                           task_kind_name(cfg->task));
        if (strchr("+-*/%", s[i]))
            return err_set(err, "problem '%.60s' uses '%c', but this run's task %s uses '%c'", s, s[i],
                           task_kind_name(cfg->task), op);
        return err_set(err, "problem '%.60s': '%c' at position %d is not a digit", s, s[i], i);
    }
    i++;
    if (take_number(s, &i, p->b, "second operand", err)) return -1;
    if (s[i]) return err_set(err, "problem '%.60s': '%c' at position %d after the second operand", s, s[i], i);

    if (cfg->task == TASK_SUB && task__dec_cmp(p->a, p->b) < 0)
        return err_set(err, "problem '%.60s': subtraction here is trained on a >= b only (answers are never negative)", s);
    if (cfg->task == TASK_MODADD) {
        char mod[16];
        snprintf(mod, sizeof mod, "%d", cfg->modulus);
        if (task__dec_cmp(p->a, mod) >= 0 || task__dec_cmp(p->b, mod) >= 0)
            return err_set(err, "problem '%.60s': operands of modadd must be below modulus=%d", s, cfg->modulus);
    }
    if (cfg->task == TASK_ADD && cfg->numbers == TASK_NUMBERS_TOKENS) {
        char lim[16];
        snprintf(lim, sizeof lim, "%d", cfg->token_range);
        if (task__dec_cmp(p->a, lim) >= 0 || task__dec_cmp(p->b, lim) >= 0)
            return err_set(err, "problem '%.60s': with numbers=tokens the operands are the number tokens 0..%d "
                           "(task.token_range=%d)", s, cfg->token_range - 1, cfg->token_range);
    }
    return 0;
}

// "A:12,B:7,C:9": distinct keys A-Z, each with a number
static int parse_sort(const char *s, TaskProblem *p, char *err)
{
    unsigned seen = 0;
    int i = 0;
    p->n_keys = 0;
    for (;;) {
        char k = s[i];
        if (k < 'A' || k > 'Z') {
            if (!k) return err_set(err, "problem '%.60s' ends where a key A-Z should be", s);
            return err_set(err, "problem '%.60s': expected a key A-Z at position %d, got '%c'", s, i, k);
        }
        if (p->n_keys == TASK_MAX_KEYS)
            return err_set(err, "problem '%.60s...' has more than %d keyed numbers", s, TASK_MAX_KEYS);
        if (seen & (1u << (k - 'A'))) return err_set(err, "problem '%.60s': key '%c' appears twice", s, k);
        seen |= 1u << (k - 'A');
        if (s[i + 1] != ':') return err_set(err, "problem '%.60s': expected ':' after key '%c'", s, k);
        i += 2;
        char what[32];
        snprintf(what, sizeof what, "number of key '%c'", k);
        if (take_number(s, &i, p->nums[p->n_keys], what, err)) return -1;
        p->keys[p->n_keys++] = k;
        if (!s[i]) return 0;
        if (s[i] != ',') return err_set(err, "problem '%.60s': expected ',' at position %d, got '%c'", s, i, s[i]);
        i++;
    }
}

static int parse_problem(const TaskConfig *cfg, const char *s, TaskProblem *p, char *err)
{
    if (cfg->task < 0 || cfg->task >= TASK_N_KINDS) return err_set(err, "task config has no valid task (%d)", cfg->task);
    if (!*s) return err_set(err, "problem is empty");
    if (strlen(s) >= TASK_MAX_PROBLEM)
        return err_set(err, "problem '%.60s...' is longer than %d characters", s, TASK_MAX_PROBLEM - 1);
    p->kind = cfg->task;
    return cfg->task == TASK_SORT ? parse_sort(s, p, err) : parse_binary(cfg, s, p, err);
}

// ---------------------------------------------------------------- answers

// keys in the order of their numbers' values; equal values keep list order
static void solve_sort(const TaskProblem *p, char *answer)
{
    int order[TASK_MAX_KEYS];
    for (int i = 0; i < p->n_keys; i++) {   // insertion sort: stable, and lists are short
        int j = i;
        while (j > 0 && task__dec_cmp(p->nums[order[j - 1]], p->nums[i]) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    int k = 0;
    for (int i = 0; i < p->n_keys; i++) {
        if (i) answer[k++] = ',';
        answer[k++] = p->keys[order[i]];
    }
    answer[k] = 0;
}

static void solve(const TaskConfig *cfg, const TaskProblem *p, char *answer)
{
    switch (p->kind) {
    case TASK_ADD: task__dec_add(p->a, p->b, answer); break;
    case TASK_SUB: task__dec_sub(p->a, p->b, answer); break;
    case TASK_MUL: task__dec_mul(p->a, p->b, answer); break;
    case TASK_SORT: solve_sort(p, answer); break;
    case TASK_MODADD:   // operands are below modulus <= 100000
        snprintf(answer, TASK_MAX_ANSWER, "%ld", (atol(p->a) + atol(p->b)) % cfg->modulus);
        break;
    }
}

int task_answer(const TaskConfig *cfg, const char *problem, char *out, size_t cap, char *err)
{
    TaskProblem p;
    char answer[TASK_MAX_ANSWER];
    if (parse_problem(cfg, problem, &p, err)) return -1;
    solve(cfg, &p, answer);
    if (strlen(answer) + 1 > cap) return err_set(err, "answer of '%.60s' does not fit %zu bytes", problem, cap);
    strcpy(out, answer);
    return 0;
}

// ---------------------------------------------------------------- examples

static void write_problem(const TaskProblem *p, char *out)
{
    if (p->kind != TASK_SORT) {
        snprintf(out, TASK_MAX_PROBLEM, "%s%c%s", p->a, OPS[p->kind], p->b);
        return;
    }
    int k = 0;
    for (int i = 0; i < p->n_keys; i++)
        k += snprintf(out + k, (size_t)(TASK_MAX_PROBLEM - k), "%s%c:%s", i ? "," : "", p->keys[i], p->nums[i]);
}

// pad_width and the 26 place letters bound how many digits a number may have
static int check_widths(const TaskConfig *cfg, const TaskProblem *p, const char *answer, const char *problem, char *err)
{
    if (task__format_is_scratch(cfg->format)) return 0;
    int widest = 0;
    if (p->kind == TASK_SORT) {
        for (int i = 0; i < p->n_keys; i++)
            if ((int)strlen(p->nums[i]) > widest) widest = (int)strlen(p->nums[i]);
    } else {
        const char *nums[3] = { p->a, p->b, answer };
        for (int i = 0; i < 3; i++)
            if ((int)strlen(nums[i]) > widest) widest = (int)strlen(nums[i]);
    }
    if (cfg->pad_width > 0 && widest > cfg->pad_width)
        return err_set(err, "problem '%.60s': a number of %d digits does not fit pad_width=%d", problem, widest,
                       cfg->pad_width);
    int places = cfg->pad_width > 0 ? cfg->pad_width : widest;
    if (cfg->index_hints && places > 26)
        return err_set(err, "problem '%.60s': numbers of %d digits need more than the 26 place letters of index_hints",
                       problem, places);
    return 0;
}

// every field of the example from a parsed problem; rng drives spaces and hint letters
static int build(const TaskConfig *cfg, const TaskProblem *p, uint64_t *rng, TaskExample *ex, char *err)
{
    write_problem(p, ex->problem);
    solve(cfg, p, ex->answer);
    if (p->kind == TASK_SORT) {
        ex->a[0] = ex->b[0] = 0;
        ex->len_a = 0;
        for (int i = 0; i < p->n_keys; i++)
            if ((int)strlen(p->nums[i]) > ex->len_a) ex->len_a = (int)strlen(p->nums[i]);
        ex->len_b = p->n_keys;
    } else {
        strcpy(ex->a, p->a);
        strcpy(ex->b, p->b);
        ex->len_a = (int)strlen(p->a);
        ex->len_b = (int)strlen(p->b);
    }
    ex->n_carries = (p->kind == TASK_ADD || p->kind == TASK_SUB) ? task__dec_carries(p->a, p->b, OPS[p->kind]) : -1;
    if (check_widths(cfg, p, ex->answer, ex->problem, err)) return -1;
    return task__render(cfg, p, ex->answer, rng, ex, err);
}

int task_example_from_problem(const TaskConfig *cfg, const char *problem, TaskExample *ex, char *err)
{
    TaskProblem p;
    if (parse_problem(cfg, problem, &p, err)) return -1;
    return build(cfg, &p, NULL, ex, err);
}

// the generators (generate.c) hand their problems over here
int task__build_example(const TaskConfig *cfg, const TaskProblem *p, uint64_t *rng, TaskExample *ex, char *err)
{
    return build(cfg, p, rng, ex, err);
}

// ---------------------------------------------------------------- batches

// one row: inputs seq[0..T-1] padded with <pad>; target t is seq[t+1] when that
// token is at or after answer_start and not past <eos>, else -1
static int fill_row(const TaskExample *ex, int T, int *in, int *tgt, char *err)
{
    int n = ex->n_tokens;
    if (n > T + 1)
        return err_set(err, "problem '%.60s' is %d tokens long but T=%d holds %d; raise block_size to %d",
                       ex->problem, n, T, T + 1, n - 1);
    for (int t = 0; t < T; t++) {
        int next = t + 1;
        in[t] = t < n ? ex->tokens[t] : TASK_PAD;
        tgt[t] = (next >= ex->answer_start && next < n) ? ex->tokens[next] : -1;
    }
    return 0;
}

int task_batch_from_examples(const TaskExample *examples, int B, int T, int *inputs, int *targets, char *err)
{
    for (int b = 0; b < B; b++)
        if (fill_row(&examples[b], T, inputs + (size_t)b * T, targets + (size_t)b * T, err)) return -1;
    return 0;
}

int task_fill_batch(const TaskConfig *cfg, uint64_t *rng, int split, int B, int T,
                    int *inputs, int *targets, TaskExample *examples, char *err)
{
    TaskExample local;
    for (int b = 0; b < B; b++) {
        TaskExample *ex = examples ? &examples[b] : &local;
        if (task_generate(cfg, rng, split, ex, err)) return -1;
        if (fill_row(ex, T, inputs + (size_t)b * T, targets + (size_t)b * T, err)) return -1;
    }
    return 0;
}

void task_batch_loss_on_all(const TaskExample *examples, int B, int T, int *targets)
{
    for (int b = 0; b < B; b++) {
        int n = examples[b].n_tokens;
        for (int t = 0; t < T && t + 1 < n; t++) targets[(size_t)b * T + t] = examples[b].tokens[t + 1];
    }
}
