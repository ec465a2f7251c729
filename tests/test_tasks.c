// test_tasks.c: the vocabulary, the problem generators (checked against an
// independent big-integer reference written here), carry balancing, the loss
// mask of training batches, the task config keys, and the train/test split.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tasks/task.h"
#include "tests/test_task_util.h"

// ---------------------------------------------------------------- independent reference arithmetic

// Little-endian digit arrays (d[0] = units), deliberately unlike the library's
// most-significant-first strings, so the two cannot share a mistake.
typedef struct { int n; int d[512]; } Big;

static Big big(const char *s)
{
    Big x = { 0, {0} };
    int len = (int)strlen(s);
    for (int i = 0; i < len; i++) x.d[i] = s[len - 1 - i] - '0';
    x.n = len;
    while (x.n > 1 && x.d[x.n - 1] == 0) x.n--;
    return x;
}

static void big_str(const Big *x, char *out)
{
    for (int i = 0; i < x->n; i++) out[i] = (char)('0' + x->d[x->n - 1 - i]);
    out[x->n] = 0;
}

static int big_cmp(const Big *a, const Big *b)
{
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

static Big big_add(const Big *a, const Big *b, int *carries)
{
    Big r = { 0, {0} };
    int n = a->n > b->n ? a->n : b->n, c = 0;
    *carries = 0;
    for (int i = 0; i < n; i++) {
        int s = (i < a->n ? a->d[i] : 0) + (i < b->n ? b->d[i] : 0) + c;
        r.d[i] = s % 10;
        c = s / 10;
        *carries += c;
    }
    r.n = n;
    if (c) r.d[r.n++] = c;
    return r;
}

static Big big_sub(const Big *a, const Big *b, int *borrows)   // a >= b
{
    Big r = { 0, {0} };
    int c = 0;
    *borrows = 0;
    for (int i = 0; i < a->n; i++) {
        int s = a->d[i] - (i < b->n ? b->d[i] : 0) - c;
        c = s < 0;
        r.d[i] = s + 10 * c;
        *borrows += c;
    }
    r.n = a->n;
    while (r.n > 1 && r.d[r.n - 1] == 0) r.n--;
    return r;
}

static Big big_mul(const Big *a, const Big *b)
{
    Big r = { 0, {0} };
    for (int i = 0; i < a->n; i++) {
        int c = 0;
        for (int j = 0; j < b->n || c; j++) {
            int s = r.d[i + j] + a->d[i] * (j < b->n ? b->d[j] : 0) + c;
            r.d[i + j] = s % 10;
            c = s / 10;
        }
    }
    r.n = a->n + b->n;
    while (r.n > 1 && r.d[r.n - 1] == 0) r.n--;
    return r;
}

// ---------------------------------------------------------------- helpers


static int has_leading_zero(const char *s) { return strlen(s) > 1 && s[0] == '0'; }

static TaskExample EX;   // one example is 20 KB; keep it off the test's stack

// ---------------------------------------------------------------- vocabulary

Test(vocab, ids_match_the_documented_table)
{
    cr_assert_eq(TASK_PAD, 0);
    cr_assert_eq(task_vocab_size(), 84);
    cr_assert_eq(task_tok('0'), 4);
    cr_assert_eq(task_tok('9'), 13);
    cr_assert_eq(task_tok('+'), 14);
    cr_assert_eq(task_tok('$'), 19);
    cr_assert_eq(task_tok(' '), 23);
    cr_assert_eq(task_tok('\n'), 24);
    cr_assert_eq(task_tok('/'), 31);
    cr_assert_eq(task_tok('a'), 32);
    cr_assert_eq(task_tok('z'), 57);
    cr_assert_eq(task_tok('A'), 58);
    cr_assert_eq(task_tok('Z'), 83);
    cr_assert_str_eq(task_tok_name(TASK_NUM), "[NUM]");
    cr_assert_eq(task_tok_digit(task_tok('7')), 7);
    cr_assert_eq(task_tok_digit(task_tok('a')), -1);
}

Test(vocab, every_character_id_round_trips_and_matches_its_name)
{
    for (int id = TASK_DIGIT0; id < TASK_VOCAB_SIZE; id++) {
        int c = task_tok_char(id);
        cr_assert(c > 0, "id %d has no character", id);
        cr_assert_eq(task_tok(c), id, "character of id %d maps back to %d", id, task_tok(c));
        char one[2] = { (char)c, 0 };
        if (c != '\n') cr_assert_str_eq(task_tok_name(id), one);
    }
    for (int id = 0; id < TASK_DIGIT0; id++) cr_assert_eq(task_tok_char(id), -1);
}

Test(vocab, encode_then_decode_gives_the_text_back)
{
    const char *text = "Input:\n128+367\nTarget:\n<scratch>\n[1,2] A->5 $%()*-=./ zZ";
    int ids[128], n;
    char out[256], err[ERR_MAX];
    cr_assert_eq(task_encode(text, ids, 128, &n, err), 0, "%s", err);
    cr_assert_eq(n, (int)strlen(text));
    cr_assert_eq(task_decode(ids, n, out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, text);
}

Test(vocab, encode_rejects_an_unknown_character_naming_it)
{
    int ids[16], n;
    char err[ERR_MAX];
    cr_assert_eq(task_encode("12#3", ids, 16, &n, err), -1);
    cr_assert(strstr(err, "'#'") && strstr(err, "position 2"), "%s", err);
}

Test(vocab, decode_names_special_tokens_and_rejects_bad_ids)
{
    int ids[] = { TASK_BOS, TASK_DIGIT0 + 1, TASK_EOS, TASK_PAD };
    char out[64], err[ERR_MAX];
    cr_assert_eq(task_decode(ids, 4, out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "<bos>1<eos><pad>");
    int bad[] = { 5, 84 };
    cr_assert_eq(task_decode(bad, 2, out, sizeof out, err), -1);
    cr_assert(strstr(err, "84"), "%s", err);
}

// ---------------------------------------------------------------- addition

Test(add, answers_match_the_reference)
{
    TaskConfig c = task_config_make("task=add min_len=1 max_len=40");
    uint64_t rng = rng_seed(1);
    char err[ERR_MAX], want[512];
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        Big a = big(EX.a), b = big(EX.b);
        int carries;
        Big s = big_add(&a, &b, &carries);
        big_str(&s, want);
        cr_assert_str_eq(EX.answer, want, "%s", EX.problem);
        cr_assert_eq(EX.n_carries, carries, "%s", EX.problem);
        char problem[256];
        snprintf(problem, sizeof problem, "%s+%s", EX.a, EX.b);
        cr_assert_str_eq(EX.problem, problem);
    }
}

Test(add, draws_exact_lengths_without_leading_zeros)
{
    TaskConfig c = task_config_make("task=add max_len=8");
    uint64_t rng = rng_seed(2);
    char err[ERR_MAX];
    for (int la = 1; la <= 8; la++)
        for (int lb = 1; lb <= 8; lb++)
            for (int i = 0; i < 30; i++) {
                cr_assert_eq(task_generate_sized(&c, &rng, la, lb, -1, &EX, err), 0, "%s", err);
                cr_assert_eq((int)strlen(EX.a), la, "%s", EX.problem);
                cr_assert_eq((int)strlen(EX.b), lb, "%s", EX.problem);
                cr_assert_eq(EX.len_a, la);
                cr_assert_eq(EX.len_b, lb);
                cr_assert(!has_leading_zero(EX.a) && !has_leading_zero(EX.b), "%s", EX.problem);
            }
}

Test(add, length_pairs_are_drawn_evenly)
{
    TaskConfig c = task_config_make("task=add min_len=2 max_len=5");
    uint64_t rng = rng_seed(3);
    char err[ERR_MAX];
    int count[6][6] = {{0}};
    for (int i = 0; i < 16000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        cr_assert(EX.len_a >= 2 && EX.len_a <= 5 && EX.len_b >= 2 && EX.len_b <= 5, "%s", EX.problem);
        count[EX.len_a][EX.len_b]++;
    }
    for (int la = 2; la <= 5; la++)   // 1000 expected per pair; sd ~31
        for (int lb = 2; lb <= 5; lb++)
            cr_assert(count[la][lb] > 850 && count[la][lb] < 1150, "pair (%d,%d) drawn %d times", la, lb, count[la][lb]);
}

Test(add, one_digit_problems_are_uniform_and_include_zero)
{
    // 100 problems a+b with a, b in 0..9: the carry sampler must weight them equally
    TaskConfig c = task_config_make("task=add max_len=1");
    uint64_t rng = rng_seed(4);
    char err[ERR_MAX];
    int count[10][10] = {{0}};
    for (int i = 0; i < 100000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        count[EX.a[0] - '0'][EX.b[0] - '0']++;
    }
    for (int a = 0; a < 10; a++)
        for (int b = 0; b < 10; b++)   // 1000 expected; sd ~31
            cr_assert(count[a][b] > 850 && count[a][b] < 1150, "%d+%d drawn %d times", a, b, count[a][b]);
}

Test(add, asked_for_k_carries_gives_exactly_k)
{
    TaskConfig c = task_config_make("task=add max_len=9");
    uint64_t rng = rng_seed(5);
    char err[ERR_MAX];
    int shapes[][2] = { {1, 1}, {3, 3}, {5, 2}, {2, 7}, {9, 9} };
    for (int s = 0; s < 5; s++) {
        int la = shapes[s][0], lb = shapes[s][1], L = la > lb ? la : lb;
        for (int k = 0; k <= L; k++)
            for (int i = 0; i < 40; i++) {
                cr_assert_eq(task_generate_sized(&c, &rng, la, lb, k, &EX, err), 0, "(%d,%d) k=%d: %s", la, lb, k, err);
                Big a = big(EX.a), b = big(EX.b);
                int carries;
                big_add(&a, &b, &carries);
                cr_assert_eq(carries, k, "%s has %d carries, asked %d", EX.problem, carries, k);
                cr_assert_eq(EX.n_carries, k);
                cr_assert_eq((int)strlen(EX.a), la);
                cr_assert_eq((int)strlen(EX.b), lb);
            }
    }
}

Test(add, impossible_carry_count_is_rejected)
{
    TaskConfig c = task_config_make("task=add");
    uint64_t rng = rng_seed(6);
    char err[ERR_MAX];
    cr_assert_eq(task_generate_sized(&c, &rng, 2, 2, 3, &EX, err), -1);
    cr_assert(strstr(err, "exactly 3 carries"), "%s", err);
    cr_assert_eq(task_generate_sized(&c, &rng, 2, 2, -5, &EX, err), -1);
}

Test(add, balance_carries_draws_each_count_equally)
{
    TaskConfig bal = task_config_make("task=add min_len=6 max_len=6 balance_carries=1");
    TaskConfig nat = task_config_make("task=add min_len=6 max_len=6");
    uint64_t rng = rng_seed(7);
    char err[ERR_MAX];
    int n_bal[8] = {0}, n_nat[8] = {0};
    for (int i = 0; i < 7000; i++) {
        cr_assert_eq(task_generate(&bal, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        Big a = big(EX.a), b = big(EX.b);
        int carries;
        big_add(&a, &b, &carries);   // counted independently of the generator
        n_bal[carries]++;
        cr_assert_eq(task_generate(&nat, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        n_nat[EX.n_carries]++;
    }
    for (int k = 0; k <= 6; k++)   // 1000 expected each; sd ~29
        cr_assert(n_bal[k] > 850 && n_bal[k] < 1150, "%d carries drawn %d times of 7000", k, n_bal[k]);
    cr_assert(n_nat[6] < 300, "without balancing 6 carries should be rare, got %d", n_nat[6]);
}

// ---------------------------------------------------------------- subtraction

Test(sub, answers_match_the_reference_and_are_never_negative)
{
    TaskConfig c = task_config_make("task=sub max_len=30");
    uint64_t rng = rng_seed(8);
    char err[ERR_MAX], want[512];
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        Big a = big(EX.a), b = big(EX.b);
        cr_assert(big_cmp(&a, &b) >= 0, "%s has a < b", EX.problem);
        cr_assert(EX.len_a >= EX.len_b);
        int borrows;
        Big d = big_sub(&a, &b, &borrows);
        big_str(&d, want);
        cr_assert_str_eq(EX.answer, want, "%s", EX.problem);
        cr_assert_eq(EX.n_carries, borrows, "%s", EX.problem);
        cr_assert(!has_leading_zero(EX.a) && !has_leading_zero(EX.b), "%s", EX.problem);
    }
}

Test(sub, length_pairs_with_len_a_at_least_len_b_are_drawn_evenly)
{
    TaskConfig c = task_config_make("task=sub min_len=1 max_len=3");
    uint64_t rng = rng_seed(9);
    char err[ERR_MAX];
    int count[4][4] = {{0}};
    for (int i = 0; i < 6000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        count[EX.len_a][EX.len_b]++;
    }
    for (int la = 1; la <= 3; la++)
        for (int lb = 1; lb <= 3; lb++) {
            if (lb > la) cr_assert_eq(count[la][lb], 0);
            else cr_assert(count[la][lb] > 850 && count[la][lb] < 1150, "(%d,%d): %d", la, lb, count[la][lb]);
        }
}

Test(sub, asked_for_k_borrows_gives_exactly_k)
{
    TaskConfig c = task_config_make("task=sub max_len=8");
    uint64_t rng = rng_seed(10);
    char err[ERR_MAX];
    int shapes[][2] = { {2, 2}, {4, 1}, {6, 6}, {8, 3} };
    for (int s = 0; s < 4; s++) {
        int la = shapes[s][0], lb = shapes[s][1];
        for (int k = 0; k < la; k++)   // the top column of a >= b never borrows
            for (int i = 0; i < 40; i++) {
                cr_assert_eq(task_generate_sized(&c, &rng, la, lb, k, &EX, err), 0, "(%d,%d) k=%d: %s", la, lb, k, err);
                Big a = big(EX.a), b = big(EX.b);
                int borrows;
                big_sub(&a, &b, &borrows);
                cr_assert_eq(borrows, k, "%s has %d borrows, asked %d", EX.problem, borrows, k);
                cr_assert(big_cmp(&a, &b) >= 0, "%s", EX.problem);
            }
    }
}

Test(sub, one_digit_problems_are_uniform_over_a_at_least_b)
{
    TaskConfig c = task_config_make("task=sub max_len=1");
    uint64_t rng = rng_seed(11);
    char err[ERR_MAX];
    int count[10][10] = {{0}};
    for (int i = 0; i < 55000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        count[EX.a[0] - '0'][EX.b[0] - '0']++;
    }
    for (int a = 0; a < 10; a++)
        for (int b = 0; b < 10; b++) {
            if (b > a) cr_assert_eq(count[a][b], 0);
            else cr_assert(count[a][b] > 850 && count[a][b] < 1150, "%d-%d drawn %d times", a, b, count[a][b]);
        }
}

Test(sub, shorter_first_operand_is_rejected)
{
    TaskConfig c = task_config_make("task=sub");
    uint64_t rng = rng_seed(12);
    char err[ERR_MAX];
    cr_assert_eq(task_generate_sized(&c, &rng, 2, 3, -1, &EX, err), -1);
    cr_assert(strstr(err, "len_a=2"), "%s", err);
}

// ---------------------------------------------------------------- multiplication, sort, modadd

Test(mul, answers_match_the_reference)
{
    TaskConfig c = task_config_make("task=mul max_len=12");
    uint64_t rng = rng_seed(13);
    char err[ERR_MAX], want[512];
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        Big a = big(EX.a), b = big(EX.b), p = big_mul(&a, &b);
        big_str(&p, want);
        cr_assert_str_eq(EX.answer, want, "%s", EX.problem);
        cr_assert_eq(EX.n_carries, -1);
    }
    for (int i = 0; i < 50; i++) {   // long operands
        cr_assert_eq(task_generate_sized(&c, &rng, 100, 97, -1, &EX, err), 0, "%s", err);
        Big a = big(EX.a), b = big(EX.b), p = big_mul(&a, &b);
        big_str(&p, want);
        cr_assert_str_eq(EX.answer, want);
    }
}

Test(sort, answer_lists_every_key_in_order_of_value)
{
    TaskConfig c = task_config_make("task=sort min_len=1 max_len=4 sort_min_count=2 sort_count=9");
    uint64_t rng = rng_seed(14);
    char err[ERR_MAX];
    int ties = 0;
    for (int i = 0; i < 3000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        // parse "A:12,B:7" here, independently
        char keys[26], nums[26][8];
        int n = 0, widest = 0;
        for (const char *p = EX.problem; *p;) {
            keys[n] = p[0];
            p += 2;
            int k = 0;
            while (*p >= '0' && *p <= '9') nums[n][k++] = *p++;
            nums[n][k] = 0;
            cr_assert(!has_leading_zero(nums[n]), "%s", EX.problem);
            if (k > widest) widest = k;
            if (n > 0) cr_assert_eq(keys[n], 'A' + (keys[n - 1] - 'A' + 1) % 26, "keys are a run of letters: %s", EX.problem);
            n++;
            if (*p == ',') p++;
        }
        cr_assert(n >= 2 && n <= 9 && EX.len_b == n, "%s", EX.problem);
        cr_assert_eq(EX.len_a, widest);
        // the answer: every key once, values non-decreasing, equal values in list order
        cr_assert_eq((int)strlen(EX.answer), 2 * n - 1, "%s = %s", EX.problem, EX.answer);
        int prev = -1, used[26] = {0};
        for (int j = 0; j < n; j++) {
            const char *q = strchr(keys, EX.answer[2 * j]);
            cr_assert(q && q < keys + n, "%s = %s", EX.problem, EX.answer);
            int idx = (int)(q - keys);
            cr_assert(!used[idx]);
            used[idx] = 1;
            if (prev >= 0) {
                Big x = big(nums[prev]), y = big(nums[idx]);
                int cmp = big_cmp(&x, &y);
                cr_assert(cmp < 0 || (cmp == 0 && prev < idx), "%s = %s", EX.problem, EX.answer);
                ties += cmp == 0;
            }
            prev = idx;
        }
    }
    cr_assert(ties > 0, "short numbers should sometimes tie");
}

Test(modadd, answer_is_the_sum_modulo_p)
{
    int moduli[] = { 97, 113, 7 };
    for (int m = 0; m < 3; m++) {
        char kv[64], err[ERR_MAX];
        snprintf(kv, sizeof kv, "task=modadd modulus=%d", moduli[m]);
        TaskConfig c = task_config_make(kv);
        uint64_t rng = rng_seed(15);
        for (int i = 0; i < 2000; i++) {
            cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
            int a = atoi(EX.a), b = atoi(EX.b);
            cr_assert(a >= 0 && a < moduli[m] && b >= 0 && b < moduli[m], "%s", EX.problem);
            cr_assert_eq(atoi(EX.answer), (a + b) % moduli[m], "%s = %s", EX.problem, EX.answer);
            cr_assert(!has_leading_zero(EX.a) && !has_leading_zero(EX.b));
        }
    }
}

// ---------------------------------------------------------------- reproducibility

Test(generate, same_seed_gives_the_same_batch_and_another_seed_does_not)
{
    TaskConfig c = task_config_make("task=add max_len=6 format=reversed space_prob=0.3 index_hints=1 hint_random_start=1");
    enum { B = 16, T = 64 };
    static int in1[B * T], tg1[B * T], in2[B * T], tg2[B * T], in3[B * T], tg3[B * T];
    char err[ERR_MAX];
    uint64_t r1 = rng_seed(42), r2 = rng_seed(42), r3 = rng_seed(43);
    cr_assert_eq(task_fill_batch(&c, &r1, TASK_SPLIT_ANY, B, T, in1, tg1, NULL, err), 0, "%s", err);
    cr_assert_eq(task_fill_batch(&c, &r2, TASK_SPLIT_ANY, B, T, in2, tg2, NULL, err), 0, "%s", err);
    cr_assert_eq(task_fill_batch(&c, &r3, TASK_SPLIT_ANY, B, T, in3, tg3, NULL, err), 0, "%s", err);
    cr_assert_eq(memcmp(in1, in2, sizeof in1), 0);
    cr_assert_eq(memcmp(tg1, tg2, sizeof tg1), 0);
    cr_assert_eq(r1, r2, "the rng state must advance identically");
    cr_assert_neq(memcmp(in1, in3, sizeof in1), 0);
}

// ---------------------------------------------------------------- batches and the loss mask

Test(batch, targets_cover_exactly_the_answer_and_eos)
{
    const char *configs[] = {
        "task=add max_len=5", "task=add max_len=3 format=reversed", "task=add max_len=3 format=scratch_detailed",
        "task=mul max_len=3 format=scratch_mul", "task=sort max_len=3", "task=sub max_len=4 format=reverse_all pad_width=5",
    };
    enum { B = 8, T = 700 };
    static int in[B * T], tg[B * T];
    static TaskExample exs[B];
    char err[ERR_MAX];
    for (int k = 0; k < 6; k++) {
        TaskConfig c = task_config_make(configs[k]);
        uint64_t rng = rng_seed(16);
        cr_assert_eq(task_fill_batch(&c, &rng, TASK_SPLIT_ANY, B, T, in, tg, exs, err), 0, "%s", err);
        for (int b = 0; b < B; b++) {
            const TaskExample *ex = &exs[b];
            const int *x = in + b * T, *y = tg + b * T;
            int n = ex->n_tokens, trained = 0;
            cr_assert_eq(ex->tokens[0], TASK_BOS);
            cr_assert_eq(ex->tokens[n - 1], TASK_EOS);
            for (int t = 0; t < T; t++) {
                cr_assert_eq(x[t], t < n ? ex->tokens[t] : TASK_PAD, "%s: input %d", configs[k], t);
                int masked = t + 1 < ex->answer_start || t + 1 >= n;
                if (masked) cr_assert_eq(y[t], -1, "%s: target %d of %s should be masked", configs[k], t, ex->problem);
                else cr_assert_eq(y[t], ex->tokens[t + 1], "%s: target %d", configs[k], t);
                trained += !masked;
            }
            cr_assert_eq(trained, n - ex->answer_start, "every answer token and <eos> is trained on");
            cr_assert_eq(y[n - 2], TASK_EOS, "the model learns to stop");
            cr_assert_eq(y[ex->answer_start - 2], -1, "the prompt is not trained on");
        }
    }
}

Test(batch, the_first_trained_target_follows_the_equals_sign)
{
    TaskConfig c = task_config_make("task=add max_len=3");
    char err[ERR_MAX];
    cr_assert_eq(task_example_from_problem(&c, "128+367", &EX, err), 0, "%s", err);
    enum { T = 16 };
    int in[T], tg[T];
    cr_assert_eq(task_batch_from_examples(&EX, 1, T, in, tg, err), 0, "%s", err);
    // <bos> 1 2 8 + 3 6 7 = 4 9 5 <eos>: position 8 holds '=' and predicts '4'
    cr_assert_eq(in[8], task_tok('='));
    for (int t = 0; t < 8; t++) cr_assert_eq(tg[t], -1);
    cr_assert_eq(tg[8], task_tok('4'));
    cr_assert_eq(tg[11], TASK_EOS);
    for (int t = 12; t < T; t++) {
        cr_assert_eq(tg[t], -1);
        cr_assert_eq(in[t], t == 12 ? TASK_EOS : TASK_PAD);
    }
}

Test(batch, rejects_a_sequence_longer_than_the_block)
{
    TaskConfig c = task_config_make("task=add max_len=3");
    char err[ERR_MAX];
    cr_assert_eq(task_example_from_problem(&c, "128+367", &EX, err), 0, "%s", err);   // 13 tokens
    int in[12], tg[12];
    cr_assert_eq(task_batch_from_examples(&EX, 1, 12, in, tg, err), 0, "13 tokens fit T=12: %s", err);
    cr_assert_eq(task_batch_from_examples(&EX, 1, 11, in, tg, err), -1);
    cr_assert(strstr(err, "block_size") && strstr(err, "13 tokens"), "%s", err);
}

// ---------------------------------------------------------------- config keys

Test(config, defaults_come_from_the_key_table)
{
    TaskConfig c;
    char err[ERR_MAX];
    task_config_default(&c);
    cr_assert_eq(c.task, TASK_ADD);
    cr_assert_eq(c.format, TASK_FMT_PLAIN);
    cr_assert_eq(c.max_len, 3);
    cr_assert_eq(c.modulus, 97);
    cr_assert_eq(c.train_frac, 1.0);
    cr_assert_eq(task_config_validate(&c, err), 0, "%s", err);
    cr_assert(TASK_N_KEYS >= 14);
    for (int i = 0; i < TASK_N_KEYS; i++) {
        const key_def_t *k = &TASK_KEYS[i];
        cr_assert(k->help && strlen(k->help) > 10, "key %s needs help", k->name);
        cr_assert_eq(task_config_set(&c, k->name + strlen("task."), k->def, err), 0, "default of %s: %s", k->name, err);
    }
}

Test(config, unknown_key_is_rejected_listing_the_known_ones)
{
    TaskConfig c;
    char err[ERR_MAX];
    task_config_default(&c);
    cr_assert_eq(task_config_set(&c, "max_length", "3", err), -1);
    cr_assert(strstr(err, "'max_length'") && strstr(err, "max_len") && strstr(err, "balance_carries"), "%s", err);
}

Test(config, bad_values_are_rejected_naming_the_key_and_what_it_accepts)
{
    struct { const char *key, *value, *says; } cases[] = {
        { "max_len", "abc", "integer in 1..100" },
        { "max_len", "101", "task.max_len = 101 is out of range: accepted 1..100" },
        { "max_len", "3x", "'3x'" },
        { "format", "reverse", "plain|reversed|reverse_all|scratch_simple|scratch_detailed|scratch_mul" },
        { "task", "div", "add|sub|mul|sort|modadd" },
        { "index_hints", "maybe", "0|1|true|false" },
        { "space_prob", "1.5", "accepted 0..1" },
        { "modulus", "1", "task.modulus = 1 is out of range" },
    };
    TaskConfig c;
    char err[ERR_MAX];
    task_config_default(&c);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(task_config_set(&c, cases[i].key, cases[i].value, err), -1, "%s=%s", cases[i].key, cases[i].value);
        cr_assert(strstr(err, cases[i].key), "%s", err);
        cr_assert(strstr(err, cases[i].says), "'%s' should say %s", err, cases[i].says);
    }
    cr_assert_eq(task_config_set(&c, "index_hints", " yes ", err), 0, "%s", err);
    cr_assert_eq(c.index_hints, 1);
    cr_assert_eq(task_config_set(&c, "format", "scratch_detailed", err), 0, "%s", err);
    cr_assert_eq(c.format, TASK_FMT_SCRATCH_DETAILED);
}

Test(config, written_keys_read_back_to_the_same_config)
{
    TaskConfig a = task_config_make("task=modadd modulus=113 format=reverse_all pad_width=3 space_prob=0.125 "
                        "index_hints=1 hint_random_start=1 train_frac=0.3 split_seed=7");
    char *text = NULL, err[ERR_MAX];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    task_config_write(&a, f);
    fclose(f);
    TaskConfig b;
    task_config_default(&b);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char key[64], value[64];
        cr_assert_eq(sscanf(line, "%63s = %63s", key, value), 2, "line '%s'", line);
        cr_assert_eq(task_config_set(&b, key, value, err), 0, "%s", err);
    }
    free(text);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
}

Test(config, validate_rejects_keys_that_do_not_fit_together)
{
    struct { const char *kv, *says; } cases[] = {
        { "task=sub format=scratch_simple", "not defined for task=sub" },
        { "task=sort format=reversed", "plain|reverse_all" },
        { "task=add format=scratch_detailed pad_width=4", "takes no pad_width" },
        { "task=add max_len=5 pad_width=5", "'pad_width'" },
        { "task=mul max_len=14 index_hints=1", "26 place letters" },
        { "task=mul balance_carries=1", "'balance_carries'" },
        { "task=add min_len=4 max_len=3", "min_len=4" },
        { "task=add train_frac=0", "'train_frac'" },
        { "task=add hint_random_start=1", "index_hints=1" },
        { "task=sort sort_min_count=6 sort_count=5", "sort_min_count=6" },
        { "task=add format=scratch_detailed max_len=40", "more than 4096 tokens" },
    };
    char err[ERR_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TaskConfig c;
        task_config_default(&c);
        char buf[256];
        snprintf(buf, sizeof buf, "%s", cases[i].kv);
        for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
            char *eq = strchr(tok, '=');
            *eq = 0;
            cr_assert_eq(task_config_set(&c, tok, eq + 1, err), 0, "%s", err);
        }
        cr_assert_eq(task_config_validate(&c, err), -1, "%s should not validate", cases[i].kv);
        cr_assert(strstr(err, cases[i].says), "%s: '%s' should say %s", cases[i].kv, err, cases[i].says);
    }
}

Test(config, max_tokens_bounds_every_example_and_is_reached)
{
    const char *configs[] = {
        "task=add max_len=7 space_prob=0.5", "task=sub max_len=6 format=reversed index_hints=1",
        "task=mul max_len=5 pad_width=12 format=reverse_all", "task=sort max_len=4 sort_count=7 space_prob=0.2",
        "task=modadd modulus=97 index_hints=1", "task=add max_len=4 format=scratch_detailed",
        "task=add max_len=6 format=scratch_simple", "task=mul max_len=4 format=scratch_mul",
    };
    char err[ERR_MAX];
    for (int k = 0; k < 8; k++) {
        TaskConfig c = task_config_make(configs[k]);
        int bound = task_max_tokens(&c), longest = 0;
        uint64_t rng = rng_seed(17);
        for (int i = 0; i < 500; i++) {
            cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
            cr_assert(EX.n_tokens <= bound, "%s: %s has %d tokens > %d", configs[k], EX.problem, EX.n_tokens, bound);
            if (EX.n_tokens > longest) longest = EX.n_tokens;
        }
        cr_assert(longest > bound / 2, "%s: bound %d is loose (longest %d)", configs[k], bound, longest);
    }
    // the worst case itself: all nines at max_len, every prompt gap spaced
    TaskConfig c = task_config_make("task=add max_len=4 space_prob=1 format=reversed index_hints=1");
    uint64_t rng = rng_seed(18);
    cr_assert_eq(task_generate_sized(&c, &rng, 4, 4, 4, &EX, err), 0, "%s", err);
    cr_assert_eq(EX.n_tokens, task_max_tokens(&c), "%s", EX.problem);
}

// ---------------------------------------------------------------- train/test separation

Test(split, problem_key_is_fnv1a_64)
{
    cr_assert_eq(task_problem_key(""), 0xcbf29ce484222325ULL);
    cr_assert_eq(task_problem_key("a"), 0xaf63dc4c8601ec8cULL);
    cr_assert_eq(task_problem_key("foobar"), 0x85944171f73967e8ULL);
    cr_assert_neq(task_problem_key("12+34"), task_problem_key("34+12"));
}

Test(split, train_and_test_problems_never_meet)
{
    TaskConfig c = task_config_make("task=modadd modulus=97 train_frac=0.3 split_seed=5");
    char err[ERR_MAX], problem[32];
    int in_train = 0;
    for (int a = 0; a < 97; a++)
        for (int b = 0; b < 97; b++) {
            snprintf(problem, sizeof problem, "%d+%d", a, b);
            in_train += task_split_of(&c, task_problem_key(problem)) == TASK_SPLIT_TRAIN;
        }
    cr_assert(in_train > 0.28 * 9409 && in_train < 0.32 * 9409, "%d of 9409 in train", in_train);

    TaskSet train;
    cr_assert_eq(task_set_init(&train, 100, err), 0, "%s", err);
    uint64_t rng = rng_seed(19);
    for (int i = 0; i < 10000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_TRAIN, &EX, err), 0, "%s", err);
        cr_assert(task_set_add(&train, task_problem_key(EX.problem), err) >= 0, "%s", err);
    }
    cr_assert(train.n > 0.9 * in_train, "10000 draws should see most of the %d train problems (saw %zu)", in_train, train.n);
    cr_assert(train.n <= (size_t)in_train);
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_TEST, &EX, err), 0, "%s", err);
        cr_assert(!task_set_has(&train, task_problem_key(EX.problem)), "test problem %s was trained on", EX.problem);
    }
    task_set_free(&train);
}

Test(split, a_test_split_needs_train_frac_below_one)
{
    TaskConfig c = task_config_make("task=add");
    uint64_t rng = rng_seed(20);
    char err[ERR_MAX];
    cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_TEST, &EX, err), -1);
    cr_assert(strstr(err, "train_frac=1"), "%s", err);
}

Test(set, holds_what_was_added_and_grows)
{
    TaskSet s;
    char err[ERR_MAX];
    cr_assert_eq(task_set_init(&s, 4, err), 0, "%s", err);
    for (uint64_t k = 0; k < 20000; k++) cr_assert_eq(task_set_add(&s, k * 7919, err), 1, "%s", err);
    cr_assert_eq(task_set_add(&s, 7919 * 5, err), 0, "a second add is not new");
    cr_assert_eq(s.n, 20000);
    for (uint64_t k = 0; k < 20000; k++) {
        cr_assert(task_set_has(&s, k * 7919));
        cr_assert(!task_set_has(&s, k * 7919 + 1));
    }
    cr_assert(task_set_has(&s, 0), "key 0 is a key like any other");
    task_set_free(&s);
}

Test(set, counts_overlap_between_training_and_evaluation)
{
    // one-digit addition has 100 problems: 2000 training draws see them all
    TaskConfig c = task_config_make("task=add max_len=1");
    TaskSet s;
    char err[ERR_MAX];
    uint64_t rng = rng_seed(21);
    cr_assert_eq(task_set_init(&s, 128, err), 0, "%s", err);
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        task_set_add(&s, task_problem_key(EX.problem), err);
    }
    cr_assert_eq(s.n, 100);
    cr_assert(task_set_has(&s, task_problem_key("0+9")));
    cr_assert(!task_set_has(&s, task_problem_key("10+9")));
    task_set_free(&s);
}
