// config.c: the task keys of a run's INI file, as one table (name, type,
// default, help, where it is stored, what it accepts); setting a key from its
// text, checking the keys against each other, and writing them back out.
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "tasks/task_internal.h"

static const char *const KIND_NAMES[] = { "add", "sub", "mul", "sort", "modadd", NULL };
static const char *const FORMAT_NAMES[] = {
    "plain", "reversed", "reverse_all", "scratch_simple", "scratch_detailed", "scratch_mul", NULL,
};
static const char *const NUMBERS_NAMES[] = { "digits", "fone", NULL };
static const char *const SAMPLING_NAMES[] = { "lengths", "values", "magnitude", NULL };

#define T(f) offsetof(TaskConfig, f), sizeof(((TaskConfig *)0)->f)

const key_def_t TASK_KEYS[] = {
    {"task.task", KEY_ENUM, T(task), 0, 0, "add", 0,
     "what to learn: add, sub (a >= b), mul, sort (keys by value), modadd (a+b mod modulus)", KIND_NAMES},
    {"task.min_len", KEY_INT, T(min_len), 1, TASK_MAX_DIGITS, "1", 0,
     "shortest operand drawn, in digits (sort: the longest number's)"},
    {"task.max_len", KEY_INT, T(max_len), 1, TASK_MAX_DIGITS, "3", 0,
     "longest operand drawn, in digits (see sampling)"},
    {"task.sampling", KEY_ENUM, T(sampling), 0, 0, "lengths", 1,
     "add/sub/mul: lengths (each (len_a, len_b) pair equally often), values (operands uniform below "
     "10^max_len, >= 10^(min_len-1) if min_len > 1) or magnitude (a length d, then values < 10^d: Lee)",
     SAMPLING_NAMES},
    {"task.format", KEY_ENUM, T(format), 0, 0, "plain", 0,
     "plain, reversed ($a+b=rev$), reverse_all, scratch_simple, scratch_detailed (add), scratch_mul (mul)", FORMAT_NAMES},
    {"task.pad_width", KEY_INT, T(pad_width), 0, 2 * TASK_MAX_DIGITS, "0", 0,
     "zero-pad every number to this many digits (0: off)"},
    {"task.space_prob", KEY_FLOAT, T(space_prob), 0, 1, "0", 0, "probability of a space before each prompt token"},
    {"task.index_hints", KEY_BOOL, T(index_hints), 0, 1, "0", 0, "write a place letter (a = units) before every digit"},
    {"task.hint_random_start", KEY_BOOL, T(hint_random_start), 0, 1, "0", 0,
     "letter the places from a random letter per problem (z wraps to a)"},
    {"task.balance_carries", KEY_BOOL, T(balance_carries), 0, 1, "0", 0,
     "add/sub: draw the number of carries (borrows) uniformly first"},
    {"task.modulus", KEY_INT, T(modulus), 2, 100000, "97", 0, "modadd: the modulus p"},
    {"task.sort_min_count", KEY_INT, T(sort_min_count), 1, TASK_MAX_KEYS, "2", 0, "sort: fewest keyed numbers in a list"},
    {"task.sort_count", KEY_INT, T(sort_count), 1, TASK_MAX_KEYS, "5", 0, "sort: most keyed numbers in a list"},
    {"task.train_frac", KEY_FLOAT, T(train_frac), 0, 1, "1", 0,
     "fraction of all problems in the train split; the rest form the test split"},
    {"task.split_seed", KEY_INT, T(split_seed), 0, 2147483647, "0", 0, "which problems fall in the train split"},
    {"task.train_size", KEY_INT, T(train_size), 0, 10000000, "0", 0,
     "> 0: train on a fixed set of this many distinct problems (drawn with split_seed); evaluation avoids them"},
    {"task.numbers", KEY_ENUM, T(numbers), 0, 0, "digits", 0,
     "digits (a token per digit) or fone (one [NUM] token per number with its value; add, sub, mul, modadd; "
     "format=plain; numbers of up to 15 digits)", NUMBERS_NAMES},
};
const int TASK_N_KEYS = (int)(sizeof TASK_KEYS / sizeof TASK_KEYS[0]);

const char *task_kind_name(int kind) { return kind >= 0 && kind < TASK_N_KINDS ? KIND_NAMES[kind] : "?"; }
const char *task_format_name(int format) { return format >= 0 && format < TASK_N_FORMATS ? FORMAT_NAMES[format] : "?"; }

// ---------------------------------------------------------------- setting keys

int task_config_set(TaskConfig *cfg, const char *key, const char *value, char *err)
{
    char name[96];
    snprintf(name, sizeof name, "task.%s", key);
    const key_def_t *k = key_find(TASK_KEYS, TASK_N_KEYS, name);
    if (!k) {
        char names[512] = "";
        for (int i = 0; i < TASK_N_KEYS; i++) {
            if (i) strncat(names, ", ", sizeof names - strlen(names) - 1);
            strncat(names, TASK_KEYS[i].name + strlen("task."), sizeof names - strlen(names) - 1);
        }
        return err_set(err, "unknown task key '%s'; the task keys are: %s", key, names);
    }
    // the INI library hands values over trimmed; callers with other text get the same
    char v[128];
    while (isspace((unsigned char)*value)) value++;
    size_t n = strlen(value);
    while (n && isspace((unsigned char)value[n - 1])) n--;
    snprintf(v, sizeof v, "%.*s", (int)n, value);
    return key_set(cfg, k, v, err);
}

void task_config_default(TaskConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    key_set_defaults(cfg, TASK_KEYS, TASK_N_KEYS);
}

void task_config_write(const TaskConfig *cfg, FILE *f)
{
    for (int i = 0; i < TASK_N_KEYS; i++) {
        char val[128];
        key_format(cfg, &TASK_KEYS[i], val, sizeof val);
        fprintf(f, "%s = %s\n", TASK_KEYS[i].name + strlen("task."), val);
    }
}

// ---------------------------------------------------------------- checks across keys

static int digits_of(long v)
{
    int d = 1;
    while (v >= 10) { v /= 10; d++; }
    return d;
}

// the most digits an operand (sort: a number) and an answer of this config can have
static void widest(const TaskConfig *c, int *w_op, int *w_ans)
{
    int L = c->max_len;
    switch (c->task) {
    case TASK_ADD: *w_op = L; *w_ans = L + 1; break;
    case TASK_SUB: *w_op = L; *w_ans = L; break;
    case TASK_MUL: *w_op = L; *w_ans = 2 * L; break;
    case TASK_MODADD: *w_op = *w_ans = digits_of(c->modulus - 1); break;
    default: *w_op = L; *w_ans = 0; break;   // sort answers are keys
    }
}

int task_widest_number(const TaskConfig *c)
{
    int w_op, w_ans;
    widest(c, &w_op, &w_ans);
    return w_op > w_ans ? w_op : w_ans;
}

int task_max_tokens(const TaskConfig *c)
{
    if (c->numbers == TASK_NUMBERS_FONE) return 7;   // <bos> [NUM] op [NUM] = [NUM] <eos>
    if (task__format_is_scratch(c->format)) {
        // all nines maximizes every line of every scratchpad (two-digit column sums, longest products)
        char problem[2 * TASK_MAX_DIGITS + 2];
        memset(problem, '9', (size_t)c->max_len);
        problem[c->max_len] = task__op_char(c->task);
        memset(problem + c->max_len + 1, '9', (size_t)c->max_len);
        problem[2 * c->max_len + 1] = 0;
        TaskExample *ex = malloc(sizeof *ex);
        int n = ex && !task_example_from_problem(c, problem, ex, NULL) ? ex->n_tokens : TASK_MAX_TOKENS + 1;
        free(ex);
        return n;
    }
    int w_op, w_ans, per_digit = c->index_hints ? 2 : 1;
    widest(c, &w_op, &w_ans);
    if (c->pad_width > 0) w_op = w_ans = c->pad_width;
    int prompt, answer;   // tokens from the first operand through '=', and after it
    if (c->task == TASK_SORT) {
        int n = c->sort_count;
        prompt = n * (2 + w_op * per_digit) + (n - 1) + 1;
        answer = 2 * n - 1;
    } else {
        prompt = 2 * w_op * per_digit + 2;
        answer = w_ans * per_digit;
    }
    int spaces = c->space_prob > 0 ? prompt - 1 : 0;
    int dollars = c->format == TASK_FMT_REVERSED ? 2 : 0;
    return 1 + prompt + spaces + answer + dollars + 1;
}

int task_config_validate(const TaskConfig *c, char *err)
{
    if (c->task < 0 || c->task >= TASK_N_KINDS) return err_set(err, "task key 'task' is not set to a known task");
    if (c->format < 0 || c->format >= TASK_N_FORMATS) return err_set(err, "task key 'format' is not set to a known format");
    if (c->min_len > c->max_len)
        return err_set(err, "task keys: min_len=%d is larger than max_len=%d", c->min_len, c->max_len);
    if (c->numbers == TASK_NUMBERS_FONE) {
        if (c->task == TASK_SORT)
            return err_set(err, "task key 'numbers': fone is defined for task=add|sub|mul|modadd, not sort");
        if (c->format != TASK_FMT_PLAIN || c->pad_width || c->index_hints || c->space_prob > 0)
            return err_set(err, "task key 'numbers': fone writes each number as one [NUM] token, so it takes "
                           "format=plain with no pad_width, index_hints or space_prob (got format=%s%s%s%s)",
                           FORMAT_NAMES[c->format], c->pad_width ? ", pad_width" : "",
                           c->index_hints ? ", index_hints" : "", c->space_prob > 0 ? ", space_prob" : "");
        int w = task_widest_number(c);
        if (w > TASK_FONE_MAX_DIGITS)
            return err_set(err, "task key 'numbers': fone values must be exact in double precision: numbers of "
                           "up to %d digits are accepted, but task=%s with max_len=%d writes %d-digit numbers",
                           TASK_FONE_MAX_DIGITS, KIND_NAMES[c->task], c->max_len, w);
    }
    if (!task__format_allows(c->format, c->task)) {
        char ok[256] = "";
        for (int f = 0; f < TASK_N_FORMATS; f++)
            if (task__format_allows(f, c->task)) {
                if (*ok) strncat(ok, "|", sizeof ok - strlen(ok) - 1);
                strncat(ok, FORMAT_NAMES[f], sizeof ok - strlen(ok) - 1);
            }
        return err_set(err, "task key 'format': %s is not defined for task=%s, which accepts %s",
                       FORMAT_NAMES[c->format], KIND_NAMES[c->task], ok);
    }
    if (task__format_is_scratch(c->format) && (c->pad_width || c->index_hints || c->space_prob > 0))
        return err_set(err, "task key 'format': %s takes no pad_width, index_hints or space_prob "
                       "(they apply to plain, reversed and reverse_all)", FORMAT_NAMES[c->format]);
    if (c->hint_random_start && !c->index_hints)
        return err_set(err, "task key 'hint_random_start': needs index_hints=1");
    if (c->train_size && (c->space_prob > 0 || c->hint_random_start))
        return err_set(err, "task key 'train_size': a fixed training set is written one way, so it takes "
                       "no space_prob or hint_random_start");
    if (c->balance_carries && c->task != TASK_ADD && c->task != TASK_SUB)
        return err_set(err, "task key 'balance_carries': applies to task=add and task=sub, not %s", KIND_NAMES[c->task]);
    if (c->sampling != TASK_SAMPLE_LENGTHS && (c->task == TASK_SORT || c->task == TASK_MODADD))
        return err_set(err, "task.sampling = %s applies to task=add|sub|mul; %s", SAMPLING_NAMES[c->sampling],
                       c->task == TASK_SORT
                       ? "sort draws lists by length (sampling=lengths)"
                       : "modadd always draws a, b uniformly from [0, modulus) (sampling=lengths)");
    if (c->task == TASK_SORT && c->sort_min_count > c->sort_count)
        return err_set(err, "task keys: sort_min_count=%d is larger than sort_count=%d", c->sort_min_count, c->sort_count);
    if (!(c->train_frac > 0))
        return err_set(err, "task key 'train_frac': 0 leaves no training problems; use a value in (0, 1]");

    int w_op, w_ans;
    widest(c, &w_op, &w_ans);
    int w = w_op > w_ans ? w_op : w_ans;
    if (c->pad_width > 0 && c->pad_width < w)
        return err_set(err, "task key 'pad_width': %d is narrower than the widest number task=%s writes (%d digits)",
                       c->pad_width, KIND_NAMES[c->task], w);
    int places = c->pad_width > 0 ? c->pad_width : w;
    if (c->index_hints && places > 26)
        return err_set(err, "task key 'index_hints': numbers of up to %d digits need more than the 26 place letters",
                       places);
    int n = task_max_tokens(c);
    if (n > TASK_MAX_TOKENS)
        return err_set(err, "task keys: format=%s with max_len=%d makes sequences of more than %d tokens; lower max_len",
                       FORMAT_NAMES[c->format], c->max_len, TASK_MAX_TOKENS);
    return 0;
}
