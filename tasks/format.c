// format.c: how a problem is written as tokens in each format, and how a
// generated answer is read back into ordinary notation. The Lee et al.
// scratchpads follow the authors' released training data character for character.
#include <stdlib.h>
#include <string.h>
#include "tasks/task_internal.h"

// ---------------------------------------------------------------- which formats fit which tasks

#define BIT(k) (1u << (k))
#define ARITH (BIT(TASK_ADD) | BIT(TASK_SUB) | BIT(TASK_MUL) | BIT(TASK_MODADD))

static const struct { unsigned tasks; int scratch; } FORMATS[TASK_N_FORMATS] = {
    [TASK_FMT_PLAIN]            = { ARITH | BIT(TASK_SORT), 0 },
    [TASK_FMT_REVERSED]         = { ARITH, 0 },   // the answer is keys for sort: nothing to reverse
    [TASK_FMT_REVERSE_ALL]      = { ARITH | BIT(TASK_SORT), 0 },
    [TASK_FMT_SCRATCH_SIMPLE]   = { BIT(TASK_ADD), 1 },
    [TASK_FMT_SCRATCH_DETAILED] = { BIT(TASK_ADD), 1 },
    [TASK_FMT_SCRATCH_MUL]      = { BIT(TASK_MUL), 1 },
};

int task__format_allows(int format, int kind)
{
    return format >= 0 && format < TASK_N_FORMATS && kind >= 0 && kind < TASK_N_KINDS &&
           (FORMATS[format].tasks & BIT(kind));
}

int task__format_is_scratch(int format) { return format >= 0 && format < TASK_N_FORMATS && FORMATS[format].scratch; }

// ---------------------------------------------------------------- token writing

typedef struct { int *ids; int n, cap, overflow; } TokBuf;

static void put(TokBuf *b, int id)
{
    if (b->n < b->cap) b->ids[b->n++] = id;
    else b->overflow = 1;
}
static void put_char(TokBuf *b, char c) { put(b, task_tok(c)); }   // c is always in the vocabulary
static void put_str(TokBuf *b, const char *s) { for (; *s; s++) put_char(b, *s); }
static void put_int(TokBuf *b, int v)
{
    char s[16];
    snprintf(s, sizeof s, "%d", v);
    put_str(b, s);
}

// digit of s at place p (0 = units), 0 beyond its length
static int place(const char *s, int p)
{
    int n = (int)strlen(s);
    return p < n ? s[n - 1 - p] - '0' : 0;
}

typedef struct { int pad_width, hints, hint_start; } NumStyle;

// one number: zero-padded to pad_width, least significant digit first when
// reverse, each digit after the letter of its place (a = units) when hints
static void put_number(TokBuf *b, const char *digits, int reverse, const NumStyle *st)
{
    char s[TASK_MAX_ANSWER + 1];
    int n = (int)strlen(digits), w = st->pad_width > n ? st->pad_width : n;
    memset(s, '0', (size_t)(w - n));
    memcpy(s + w - n, digits, (size_t)n);
    for (int k = 0; k < w; k++) {
        int i = reverse ? w - 1 - k : k;   // index into s; its place is w-1-i
        if (st->hints) put(b, TASK_LOWER0 + (st->hint_start + w - 1 - i) % 26);
        put(b, TASK_DIGIT0 + (s[i] - '0'));
    }
}

// a space before each token of ids[from..n) but the first, each with probability p
static void sprinkle_spaces(TokBuf *b, int from, double p, uint64_t *rng)
{
    int tmp[TASK_MAX_TOKENS], m = b->n - from;
    memcpy(tmp, b->ids + from, (size_t)m * sizeof(int));
    b->n = from;
    for (int k = 0; k < m; k++) {
        if (k > 0 && rng_f32(rng) < p) put_char(b, ' ');
        put(b, tmp[k]);
    }
}

// ---------------------------------------------------------------- plain, reversed, reverse_all

// plain        128+367=495        (pad, hints and spaces combine with all three)
// reversed     $128+367=594$      Lee et al.: answer least significant digit first, '$' delimited
// reverse_all  821+763=594        Abacus: operands and answer least significant digit first
// sort         A:12,B:7,C:9=B,C,A (reverse_all reverses the numbers, never the keys)
static void render_plain(const TaskConfig *cfg, const TaskProblem *p, const char *answer,
                         uint64_t *rng, TokBuf *b, int *answer_start)
{
    int rev_ops = cfg->format == TASK_FMT_REVERSE_ALL;
    int rev_ans = cfg->format != TASK_FMT_PLAIN;
    int dollar = cfg->format == TASK_FMT_REVERSED;
    NumStyle st = { cfg->pad_width, cfg->index_hints, 0 };
    if (cfg->index_hints && cfg->hint_random_start && rng) st.hint_start = rng_int(rng, 26);

    put(b, TASK_BOS);
    if (dollar) put_char(b, '$');
    int from = b->n;
    if (p->kind == TASK_SORT) {
        for (int i = 0; i < p->n_keys; i++) {
            if (i) put_char(b, ',');
            put_char(b, p->keys[i]);
            put_char(b, ':');
            put_number(b, p->nums[i], rev_ops, &st);
        }
    } else {
        put_number(b, p->a, rev_ops, &st);
        put_char(b, task__op_char(p->kind));
        put_number(b, p->b, rev_ops, &st);
    }
    put_char(b, '=');
    if (cfg->space_prob > 0 && rng) sprinkle_spaces(b, from, cfg->space_prob, rng);

    *answer_start = b->n;
    if (p->kind == TASK_SORT) put_str(b, answer);
    else put_number(b, answer, rev_ans, &st);
    if (dollar) put_char(b, '$');
    put(b, TASK_EOS);
}

// ---------------------------------------------------------------- Lee et al. scratchpads

// Both follow N. Lee, K. Sreenivasan, J. D. Lee, K. Lee, D. Papailiopoulos,
// "Teaching Arithmetic to Small Transformers", ICLR 2024 (arXiv 2307.03381),
// Figure 4, checked against the authors' training files in
// github.com/lee-ny/teaching_arithmetic: data/ar_simple/add_examples_algorithmic*.txt
// (simplified) and data/algo_reasoning/add_examples_algorithmic*.txt (detailed).
static void put_scratch_prompt(TokBuf *b, const TaskProblem *p)
{
    put(b, TASK_BOS);
    put_str(b, "Input:\n");
    put_str(b, p->a);
    put_char(b, task__op_char(p->kind));
    put_str(b, p->b);
    put_str(b, "\nTarget:\n");
}

// Simplified: one line per column, least significant first: the digit written
// (A) and the carry out (C); the last line ends with '.', then the answer:
//   Input:\n128+367\nTarget:\nA->5 , C->1\nA->9 , C->0\nA->4 , C->0.\n495
static void render_scratch_simple(const TaskProblem *p, const char *answer, TokBuf *b, int *answer_start)
{
    put_scratch_prompt(b, p);
    *answer_start = b->n;
    int la = (int)strlen(p->a), lb = (int)strlen(p->b), L = la > lb ? la : lb, c = 0;
    for (int i = 0; i < L; i++) {
        int s = place(p->a, i) + place(p->b, i) + c;
        c = s >= 10;
        put_str(b, "A->");
        put_int(b, s % 10);
        put_str(b, " , C->");
        put_int(b, c);
        put_str(b, i + 1 < L ? "\n" : ".\n");
    }
    put_str(b, answer);
    put(b, TASK_EOS);
}

// "[d,d,d]" of the first n characters of s
static void put_list(TokBuf *b, const char *s, int n)
{
    put_char(b, '[');
    for (int i = 0; i < n; i++) {
        if (i) put_char(b, ',');
        put_char(b, s[i]);
    }
    put_char(b, ']');
}

// Detailed: the operands as digit lists, then per column the digits left, the
// answer so far (A), the carry in (C), the column sum, the digit written and
// the carry out; the answer digits are spaced:
//   <scratch>
//   [1,2,8] has 3 digits.
//   [3,6,7] has 3 digits.
//   [1,2,8] + [3,6,7] , A=[] , C=0 , 8+7+0=15 , A->5 , C->1
//   [1,2] + [3,6] , A=[5] , C=1 , 2+6+1=9 , A->9 , C->0
//   [1] + [3] , A=[9,5] , C=0 , 1+3+0=4 , A->4 , C->0
//   [] + [] , A=[4,9,5] C=0 , END
//   </scratch>
//   4 9 5
// As in the data: "has 1 digits.", no comma before C on the END line, and a
// final carry shows only in the answer line (826+574: "A=[4,0,0] C=1 , END" then "1 4 0 0").
static void render_scratch_detailed(const TaskProblem *p, const char *answer, TokBuf *b, int *answer_start)
{
    put_scratch_prompt(b, p);
    *answer_start = b->n;
    int la = (int)strlen(p->a), lb = (int)strlen(p->b), L = la > lb ? la : lb, c = 0;
    char acc[TASK_MAX_DIGITS + 2];   // digits written so far, most recent first
    int n_acc = 0;

    put_str(b, "<scratch>\n");
    put_list(b, p->a, la); put_str(b, " has "); put_int(b, la); put_str(b, " digits.\n");
    put_list(b, p->b, lb); put_str(b, " has "); put_int(b, lb); put_str(b, " digits.\n");
    for (int i = 0; i < L; i++) {
        int x = place(p->a, i), y = place(p->b, i), s = x + y + c;
        put_list(b, p->a, la - i > 0 ? la - i : 0);
        put_str(b, " + ");
        put_list(b, p->b, lb - i > 0 ? lb - i : 0);
        put_str(b, " , A=");
        put_list(b, acc, n_acc);
        put_str(b, " , C="); put_int(b, c);
        put_str(b, " , "); put_int(b, x); put_char(b, '+'); put_int(b, y); put_char(b, '+'); put_int(b, c);
        put_char(b, '='); put_int(b, s);
        put_str(b, " , A->"); put_int(b, s % 10);
        c = s >= 10;
        put_str(b, " , C->"); put_int(b, c);
        put_char(b, '\n');
        memmove(acc + 1, acc, (size_t)n_acc);
        acc[0] = (char)('0' + s % 10);
        n_acc++;
    }
    put_str(b, "[] + [] , A=");
    put_list(b, acc, n_acc);
    put_str(b, " C="); put_int(b, c);
    put_str(b, " , END\n</scratch>\n");
    for (const char *d = answer; *d; d++) {
        if (d != answer) put_char(b, ' ');
        put_char(b, *d);
    }
    put(b, TASK_EOS);
}

// ---------------------------------------------------------------- multiplication scratchpad

// Ours, in the same spirit (Lee et al. give none we could check): one partial
// product per digit of b from the least significant, its place written as
// zeros, then running sums, then the answer:
//   Input:\n128*367\nTarget:\n<scratch>\n128*7=896\n128*60=7680\n128*300=38400\n
//   896+7680=8576\n8576+38400=46976\n</scratch>\n46976
// A zero digit is written "128*0=0" whatever its place.
static void render_scratch_mul(const TaskProblem *p, const char *answer, TokBuf *b, int *answer_start)
{
    put_scratch_prompt(b, p);
    *answer_start = b->n;
    int lb = (int)strlen(p->b);
    char part[TASK_MAX_DIGITS][TASK_MAX_ANSWER];
    put_str(b, "<scratch>\n");
    for (int j = 0; j < lb; j++) {
        char m[TASK_MAX_DIGITS + 2];
        int d = place(p->b, j);
        m[0] = (char)('0' + d);
        int len = 1;
        if (d) for (int z = 0; z < j; z++) m[len++] = '0';
        m[len] = 0;
        task__dec_mul(p->a, m, part[j]);
        put_str(b, p->a); put_char(b, '*'); put_str(b, m); put_char(b, '='); put_str(b, part[j]);
        put_char(b, '\n');
    }
    char sum[TASK_MAX_ANSWER], next[TASK_MAX_ANSWER];
    strcpy(sum, part[0]);
    for (int j = 1; j < lb; j++) {
        task__dec_add(sum, part[j], next);
        put_str(b, sum); put_char(b, '+'); put_str(b, part[j]); put_char(b, '='); put_str(b, next);
        put_char(b, '\n');
        strcpy(sum, next);
    }
    put_str(b, "</scratch>\n");
    put_str(b, answer);
    put(b, TASK_EOS);
}

// ---------------------------------------------------------------- number tokens

// numbers = tokens: every operand one token <v> (id TASK_NUMTOK0 + v), the answer too
// (modadd; add with sum_as=token) or in digits (add with sum_as=digits):
//   modadd 60+50 (p=97)  <bos> <60> + <50> = <13> <eos>
//   add 128+367          <bos> <128> + <367> = <495> <eos>   (sum_as=digits: ... = 4 9 5 <eos>)
// The operands were checked below the range (parse_binary) or drawn there.
static void render_tokens(const TaskConfig *cfg, const TaskProblem *p, const char *answer, TokBuf *b, int *answer_start)
{
    put(b, TASK_BOS);
    put(b, TASK_NUMTOK0 + atoi(p->a));
    put_char(b, task__op_char(p->kind));
    put(b, TASK_NUMTOK0 + atoi(p->b));
    put_char(b, '=');
    *answer_start = b->n;
    if (cfg->task == TASK_ADD && cfg->sum_as == TASK_SUM_AS_DIGITS) put_str(b, answer);
    else put(b, TASK_NUMTOK0 + atoi(answer));
    put(b, TASK_EOS);
}

int task__render(const TaskConfig *cfg, const TaskProblem *p, const char *answer,
                 uint64_t *rng, TaskExample *ex, char *err)
{
    ex->n_values = 0;
    if (cfg->numbers == TASK_NUMBERS_FONE) return task__render_fone(p, answer, ex, err);
    TokBuf b = { ex->tokens, 0, TASK_MAX_TOKENS, 0 };
    int start = 0;
    switch (cfg->numbers == TASK_NUMBERS_TOKENS ? -1 : cfg->format) {
    case -1:                        render_tokens(cfg, p, answer, &b, &start); break;
    case TASK_FMT_SCRATCH_SIMPLE:   render_scratch_simple(p, answer, &b, &start); break;
    case TASK_FMT_SCRATCH_DETAILED: render_scratch_detailed(p, answer, &b, &start); break;
    case TASK_FMT_SCRATCH_MUL:      render_scratch_mul(p, answer, &b, &start); break;
    default:                        render_plain(cfg, p, answer, rng, &b, &start); break;
    }
    if (b.overflow)
        return err_set(err, "problem '%.60s' needs more than %d tokens in format %s; use shorter operands",
                       ex->problem, TASK_MAX_TOKENS, task_format_name(cfg->format));
    ex->n_tokens = b.n;
    ex->answer_start = start;
    return 0;
}

// ---------------------------------------------------------------- prompts

int task_prompt(const TaskConfig *cfg, const char *problem, int *ids, int cap, int *n_out, char *err)
{
    TaskExample ex;
    if (task_example_from_problem(cfg, problem, &ex, err)) return -1;
    if (ex.answer_start > cap)
        return err_set(err, "prompt of '%.60s' has %d tokens, more than the %d given", problem,
                       ex.answer_start, cap);
    memcpy(ids, ex.tokens, (size_t)ex.answer_start * sizeof(int));
    *n_out = ex.answer_start;
    return 0;
}

// ---------------------------------------------------------------- reading answers back

// the characters of the tokens before the first <eos>; their count, or -1 + err
static int answer_text(const int *ids, int n, char *text, int cap, char *err)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] == TASK_EOS) {
            text[k] = 0;
            return k;
        }
        int c = task_tok_char(ids[i]);
        if (c < 0) return err_set(err, "answer has %s at position %d, before any <eos>", task_tok_name(ids[i]), i);
        if (k + 1 >= cap) return err_set(err, "answer is longer than %d characters", cap - 1);
        text[k++] = (char)c;
    }
    return err_set(err, "no <eos> in the %d generated tokens", n);
}

static void remove_spaces(char *s)
{
    char *w = s;
    for (; *s; s++) if (*s != ' ') *w++ = *s;
    *w = 0;
}

static int is_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++) if (*s < '0' || *s > '9') return 0;
    return 1;
}

static int copy_out(const char *s, char *out, size_t cap, char *err)
{
    if (strlen(s) + 1 > cap) return err_set(err, "answer of %zu characters does not fit %zu bytes", strlen(s), cap);
    strcpy(out, s);
    return 0;
}

// a number answer of the plain family: strip '$', check and strip hint letters,
// undo reversal and padding
static int parse_number(const TaskConfig *cfg, char *t, char *out, size_t cap, char *err)
{
    int rev = cfg->format != TASK_FMT_PLAIN;
    size_t n = strlen(t);
    if (cfg->format == TASK_FMT_REVERSED) {
        if (n == 0 || t[n - 1] != '$') return err_set(err, "answer '%.40s' does not end with '$'", t);
        t[--n] = 0;
    }
    char digits[TASK_MAX_TOKENS + 1];
    int nd = 0, first_letter = -1, letter = -1;
    for (size_t i = 0; i < n; i++) {
        if (cfg->index_hints) {
            if (t[i] < 'a' || t[i] > 'z')
                return err_set(err, "answer '%.40s': expected a place letter at position %zu, got '%c'", t, i, t[i]);
            int l = t[i] - 'a', want = (letter + (rev ? 1 : 25)) % 26;
            if (letter >= 0 && l != want)
                return err_set(err, "answer '%.40s': place letter '%c' after '%c' (expected '%c')", t, t[i],
                               'a' + letter, 'a' + want);
            if (first_letter < 0) first_letter = l;
            letter = l;
            if (++i >= n) return err_set(err, "answer '%.40s' ends with a place letter", t);
        }
        if (t[i] < '0' || t[i] > '9')
            return err_set(err, "answer '%.40s': '%c' at position %zu is not a digit", t, t[i], i);
        digits[nd++] = t[i];
    }
    if (nd == 0) return err_set(err, "answer has no digits");
    if (cfg->index_hints && !cfg->hint_random_start) {
        int units = rev ? first_letter : letter;
        if (units != 0) return err_set(err, "answer '%.40s': the units digit is lettered '%c', not 'a'", t, 'a' + units);
    }
    if (rev)
        for (int i = 0; i < nd / 2; i++) {
            char x = digits[i]; digits[i] = digits[nd - 1 - i]; digits[nd - 1 - i] = x;
        }
    digits[nd] = 0;
    char *d = digits;
    if (cfg->pad_width > 0) {
        if (nd != cfg->pad_width)
            return err_set(err, "answer has %d digits, but pad_width=%d", nd, cfg->pad_width);
        while (d[0] == '0' && d[1]) d++;
    }
    return copy_out(d, out, cap, err);
}

// sort answers: keys separated by commas, "B,C,A"
static int parse_keys(char *t, char *out, size_t cap, char *err)
{
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i++) {
        int want_key = i % 2 == 0;
        if (want_key ? (t[i] < 'A' || t[i] > 'Z') : t[i] != ',')
            return err_set(err, "answer '%.40s': expected %s at position %zu", t, want_key ? "a key A-Z" : "','", i);
    }
    if (n == 0 || n % 2 == 0) return err_set(err, "answer '%.40s' is not a list of keys like B,C,A", t);
    return copy_out(t, out, cap, err);
}

// scratchpads: the answer is the last line; the line before closes the scratchpad
static int parse_scratch(const TaskConfig *cfg, char *t, char *out, size_t cap, char *err)
{
    char *nl = strrchr(t, '\n');
    if (!nl) return err_set(err, "scratchpad answer has no final answer line");
    *nl = 0;
    char *final = nl + 1, *prev = strrchr(t, '\n');
    prev = prev ? prev + 1 : t;
    if (cfg->format == TASK_FMT_SCRATCH_SIMPLE) {
        size_t k = strlen(prev);
        if (k == 0 || prev[k - 1] != '.')
            return err_set(err, "scratchpad line before the answer, '%.40s', does not end with '.'", prev);
    } else if (strcmp(prev, "</scratch>") != 0) {
        return err_set(err, "scratchpad line before the answer is '%.40s', not '</scratch>'", prev);
    }
    remove_spaces(final);   // the detailed scratchpad spaces its answer digits
    if (!is_digits(final)) return err_set(err, "final answer line '%.40s' is not a number", final);
    return copy_out(final, out, cap, err);
}

// numbers = tokens with the answer a token: exactly one number token of the run's range, then <eos>
static int parse_number_token(const TaskConfig *cfg, const int *ids, int n, char *out, size_t cap, char *err)
{
    int n_numbers = task_number_tokens(cfg);
    if (n < 1) return err_set(err, "no answer token was generated");
    int v = task_tok_number(ids[0]);
    if (v < 0 || v >= n_numbers)
        return err_set(err, "answer starts with %s, not a number token <0>..<%d>", task_tok_name(ids[0]), n_numbers - 1);
    if (n < 2 || ids[1] != TASK_EOS)
        return err_set(err, "answer %s is followed by %s, not <eos>", task_tok_name(ids[0]), n < 2 ? "nothing" : task_tok_name(ids[1]));
    char s[16];
    snprintf(s, sizeof s, "%d", v);
    return copy_out(s, out, cap, err);
}

int task_parse_answer(const TaskConfig *cfg, const int *ids, int n, char *out, size_t cap, char *err)
{
    char t[TASK_MAX_TOKENS + 1];
    if (cfg->numbers == TASK_NUMBERS_FONE)
        return err_set(err, "numbers=fone: the answer is a [NUM] token whose digits the model's FoNE head "
                       "reads (task_fone_answer), not text to parse");
    if (cfg->numbers == TASK_NUMBERS_TOKENS && !(cfg->task == TASK_ADD && cfg->sum_as == TASK_SUM_AS_DIGITS))
        return parse_number_token(cfg, ids, n, out, cap, err);
    if (answer_text(ids, n, t, (int)sizeof t, err) < 0) return -1;
    if (task__format_is_scratch(cfg->format)) return parse_scratch(cfg, t, out, cap, err);
    remove_spaces(t);
    if (cfg->task == TASK_SORT) return parse_keys(t, out, cap, err);
    return parse_number(cfg, t, out, cap, err);
}
