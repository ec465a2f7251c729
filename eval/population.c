#define _GNU_SOURCE
// population.c: exact match on the training distribution (problems drawn as
// training draws them, held out) and on a file of problems (population.h).
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "eval/population.h"

static int population_init(EvalPopulation *p, const char *kind, const char *source, int max_len, int train_max_len,
                           char *err)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->kind, sizeof(p->kind), "%s", kind);
    snprintf(p->source, sizeof(p->source), "%s", source);
    return eval_report_init(&p->r, max_len, train_max_len, err);
}

void eval_population_free(EvalPopulation *p) { eval_report_free(&p->r); }

// evaluation prompts are written without random spaces, hints lettered from 'a' (as the grid)
static TaskConfig eval_task(const TaskConfig *tc)
{
    TaskConfig t = *tc;
    t.space_prob = 0.0;
    t.hint_random_start = 0;
    return t;
}

// ---------------------------------------------------------------- the training distribution

TaskConfig eval_population_task(const TaskConfig *tc, int values)
{
    TaskConfig t = *tc;
    if (values) t.sampling = TASK_SAMPLE_VALUES, t.balance_carries = 0;
    return t;
}

int eval_population_draw(const TaskConfig *tc_in, int n, uint64_t seed, const TaskSet *train_set, TaskExample *ex,
                         char *err)
{
    TaskConfig tc = eval_task(tc_in);
    // a seed of its own: neither the grid's problems nor the periodic evaluation's
    uint64_t rng = rng_seed(seed ^ 0xD157u);
    int split = tc.train_frac < 1.0 ? TASK_SPLIT_TEST : TASK_SPLIT_ANY;
    for (int i = 0; i < n; i++) {
        int tries = 0;
        do {
            if (task_generate(&tc, &rng, split, &ex[i], err)) return -1;
        } while (++tries < 16 && tc.train_size && train_set && task_set_has(train_set, task_problem_key(ex[i].problem)));
    }
    return 0;
}

int eval_population_train(Model *m, const TaskConfig *tc_in, int n, uint64_t seed, const TaskSet *train_set,
                          EvalPopulation *p, char *err)
{
    TaskConfig tc = eval_task(tc_in);
    if (n < 1) return err_set(err, "eval: the training-distribution evaluation needs at least 1 problem, not %d", n);
    if (population_init(p, "training", "", tc.max_len, tc.max_len, err)) return -1;
    TaskExample *ex = malloc(sizeof(TaskExample) * (size_t)n);
    if (!ex) { eval_population_free(p); return err_set(err, "eval: out of memory for %d examples", n); }
    if (eval_population_draw(&tc, n, seed, train_set, ex, err)) { free(ex); eval_population_free(p); return -1; }
    long ok = eval_examples(m, &tc, ex, n, 1, &p->r, train_set, NULL, err);
    free(ex);
    if (ok < 0) { eval_population_free(p); return -1; }
    p->n = n;
    p->correct = ok;
    snprintf(p->name, sizeof(p->name), "training distribution, %d problems", n);
    return 0;
}

int eval_population_values(Model *m, const TaskConfig *tc, int n, uint64_t seed, const TaskSet *train_set,
                           EvalPopulation *p, char *err)
{
    TaskConfig drawn = eval_population_task(tc, 1);
    if (eval_population_train(m, &drawn, n, seed, train_set, p, err)) return -1;
    snprintf(p->kind, sizeof p->kind, "values");
    snprintf(p->name, sizeof p->name, "operands uniform over the training range (carries not balanced), %d problems", n);
    return 0;
}

// ---------------------------------------------------------------- a file of problems

// the line without its line break and surrounding blanks, in place
static char *strip(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t k = strlen(s);
    while (k && isspace((unsigned char)s[k - 1])) s[--k] = 0;
    return s;
}

// c from the text after '=': "594$" is reversed notation (Lee et al.), leading zeros dropped;
// -1 + err if it is not an answer this task gives (digits; sort: keys and commas)
static int read_answer(const TaskConfig *tc, char *c, const char *where, char *err)
{
    size_t k = strlen(c);
    int reversed = k && c[k - 1] == '$';
    if (reversed) c[--k] = 0;
    if (k >= TASK_MAX_ANSWER) return err_set(err, "%s: the answer has %zu characters, more than %d", where, k, TASK_MAX_ANSWER - 1);
    const char *ok = tc->task == TASK_SORT ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ," : "0123456789";
    if (!k || strspn(c, ok) != k)
        return err_set(err, "%s: the answer '%.40s' is not %s; accepted lines: a+b, a+b= or a+b=c (and $a+b=c$ with c "
                       "reversed)", where, c, tc->task == TASK_SORT ? "a list of keys (B,C,A)" : "a number");
    if (reversed && tc->task == TASK_SORT) return err_set(err, "%s: a sort answer cannot be reversed ('$')", where);
    if (reversed)
        for (size_t i = 0; i < k / 2; i++) { char t = c[i]; c[i] = c[k - 1 - i]; c[k - 1 - i] = t; }
    if (tc->task != TASK_SORT) {
        size_t z = 0;
        while (z + 1 < k && c[z] == '0') z++;
        memmove(c, c + z, k - z + 1);
    }
    return 0;
}

int eval_read_problems(const TaskConfig *tc_in, const char *path, TaskExample **ex_out, int *n_out, long *disagree,
                       int *first_line, char *first, size_t first_cap, char *err)
{
    TaskConfig tc = eval_task(tc_in);
    *ex_out = NULL;
    *n_out = 0;
    *disagree = 0;
    *first_line = 0;
    if (first_cap) first[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return err_set(err, "--problems %s: cannot read: %s", path, strerror(errno));
    TaskExample *ex = NULL;
    int n = 0, cap = 0, line_no = 0, rc = 0;
    char *line = NULL, where[600];
    size_t line_cap = 0;
    while (getline(&line, &line_cap, f) >= 0) {
        line_no++;
        snprintf(where, sizeof(where), "%s:%d", path, line_no);
        char *s = strip(line);
        if (!*s || *s == '#') continue;
        if (*s == '$') s++;
        char *eq = strchr(s, '='), *c = NULL;
        if (eq) {
            *eq = 0;
            c = strip(eq + 1);
            if (!*c) c = NULL;                           // "a+b=": a prompt with no answer
            else if (!strcmp(c, "$")) c = NULL;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            TaskExample *grown = realloc(ex, sizeof(TaskExample) * (size_t)cap);
            if (!grown) { rc = err_set(err, "%s: out of memory for %d problems", path, cap); break; }
            ex = grown;
        }
        char perr[ERR_MAX];
        if (task_example_from_problem(&tc, s, &ex[n], perr)) {
            rc = err_set(err, "%s: %s (accepted lines: a+b, a+b= or a+b=c in ordinary notation, for task=%s)", where, perr,
                         task_kind_name(tc.task));
            break;
        }
        if (c) {
            if (read_answer(&tc, c, where, err)) { rc = -1; break; }
            if (strcmp(c, ex[n].answer)) {
                if (!*disagree) {
                    *first_line = line_no;
                    if (first_cap) snprintf(first, first_cap, "%s=%s, the true answer is %s", ex[n].problem, c, ex[n].answer);
                }
                (*disagree)++;
                snprintf(ex[n].answer, sizeof(ex[n].answer), "%s", c);
            }
        }
        n++;
    }
    free(line);
    fclose(f);
    if (!rc && !n) rc = err_set(err, "--problems %s: no problems in the file (expected one a+b or a+b=c per line)", path);
    if (rc) { free(ex); return -1; }
    *ex_out = ex;
    *n_out = n;
    return 0;
}

int eval_population_file(Model *m, const TaskConfig *tc_in, const char *path, const TaskSet *train_set,
                         EvalPopulation *p, char *err)
{
    TaskConfig tc = eval_task(tc_in);
    TaskExample *ex;
    int n;
    long disagree;
    int first_line;
    char first[sizeof(p->first_disagree)];
    if (eval_read_problems(&tc, path, &ex, &n, &disagree, &first_line, first, sizeof(first), err)) return -1;
    int widest = tc.max_len;
    for (int i = 0; i < n; i++) {
        if (ex[i].n_tokens - 1 > m->T_max) {
            err_set(err, "--problems %s: '%.60s' needs %d tokens with its answer, more than the model's context of %d "
                    "(model.block_size)", path, ex[i].problem, ex[i].n_tokens - 1, m->T_max);
            free(ex);
            return -1;
        }
        if (ex[i].len_a > widest) widest = ex[i].len_a;
        if (ex[i].len_b > widest) widest = ex[i].len_b;
    }
    if (population_init(p, "file", path, widest, tc.max_len, err)) { free(ex); return -1; }
    long ok = eval_examples(m, &tc, ex, n, 1, &p->r, train_set, NULL, err);
    free(ex);
    if (ok < 0) { eval_population_free(p); return -1; }
    p->n = n;
    p->correct = ok;
    p->disagree = disagree;
    p->first_disagree_line = first_line;
    snprintf(p->first_disagree, sizeof(p->first_disagree), "%s", first);
    snprintf(p->name, sizeof(p->name), "file %.500s, %d problems", path, n);
    return 0;
}

// ---------------------------------------------------------------- reporting

void eval_population_print(const EvalPopulation *p, int overlap_known, FILE *f)
{
    fprintf(f, "%s: %.2f%% exact match (%ld of %ld", p->name, p->n ? 100.0 * p->correct / p->n : 0.0, p->correct, p->n);
    if (p->r.malformed) fprintf(f, "; %ld answers did not parse", p->r.malformed);
    if (overlap_known) fprintf(f, "; %ld also among the training problems", p->r.overlap);
    fprintf(f, ")\n");
    if (p->disagree)
        fprintf(f, "  %ld line%s of %s %s an answer that is not the true one, scored against the file's answer "
                "(first: line %d, %s)\n", p->disagree, p->disagree == 1 ? "" : "s", p->source,
                p->disagree == 1 ? "gives" : "give", p->first_disagree_line,
                p->first_disagree);
}

// a CSV field: quoted when it holds a comma, a quote or a line break
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) { fputs(s, f); return; }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int eval_population_csv(const EvalPopulation *p, int n_pop, const char *dir, char *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/accuracy_population.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return err_set(err, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "population,source,n,correct,accuracy,malformed,overlap,answers_disagreeing\n");
    for (int i = 0; i < n_pop; i++) {
        fprintf(f, "%s,", p[i].kind);
        csv_field(f, p[i].source);
        fprintf(f, ",%ld,%ld,%.4f,%ld,%ld,%ld\n", p[i].n, p[i].correct, p[i].n ? (double)p[i].correct / p[i].n : 0.0,
                p[i].r.malformed, p[i].r.overlap, p[i].disagree);
    }
    if (fclose(f)) return err_set(err, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}
