// test_sampling.c: how training problems are drawn (task.sampling = lengths |
// values | magnitude, with and without carry balancing) and which tokens carry the loss
// (train.loss_on = all through task_batch_loss_on_all). The statistical tests
// use fixed seeds, so they are deterministic; each tolerance is several standard
// deviations wide and far narrower than the gap to the other sampling mode.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tasks/task.h"
#include "run/run.h"
#include "tests/test_task_util.h"


static TaskExample EX;   // 20 KB: off the stack

// carries of a+b (borrows of a-b) counted here, independently of the generator
static int count_carries(const char *a, const char *b, int sub)
{
    int la = (int)strlen(a), lb = (int)strlen(b), c = 0, n = 0;
    for (int i = 0; i < (la > lb ? la : lb); i++) {
        int x = i < la ? a[la - 1 - i] - '0' : 0, y = i < lb ? b[lb - 1 - i] - '0' : 0;
        if (sub) { c = x - y - c < 0; }
        else { c = x + y + c >= 10; }
        n += c;
    }
    return n;
}

// ---------------------------------------------------------------- sampling = values

Test(sampling, values_puts_81_percent_of_two_digit_problems_at_2_2)
{
    // a, b uniform in [0, 100): P(both have 2 digits) = 0.9^2 = 0.81, P(1,1) = 0.01,
    // P(1,2) = P(2,1) = 0.09. n = 20000 gives sd 0.0028 at 0.81; the tolerance 0.02 is
    // 7 sd, and sampling=lengths (0.25 per cell) misses it by 0.56
    TaskConfig c = task_config_make("task=add min_len=1 max_len=2 sampling=values");
    uint64_t rng = rng_seed(12);
    char err[ERR_MAX];
    int n = 20000, cell[2][2] = {{0}}, value_n[100] = {0};
    for (int i = 0; i < n; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        cell[EX.len_a - 1][EX.len_b - 1]++;
        value_n[atoi(EX.a)]++;
    }
    cr_assert(fabs(cell[1][1] / (double)n - 0.81) < 0.02, "(2,2): %d of %d", cell[1][1], n);
    cr_assert(fabs(cell[0][1] / (double)n - 0.09) < 0.01, "(1,2): %d of %d", cell[0][1], n);
    cr_assert(fabs(cell[1][0] / (double)n - 0.09) < 0.01, "(2,1): %d of %d", cell[1][0], n);
    cr_assert(fabs(cell[0][0] / (double)n - 0.01) < 0.004, "(1,1): %d of %d", cell[0][0], n);
    // every value of a 0..99 equally likely: 200 expected, sd 14; 80 is 5.7 sd
    for (int v = 0; v < 100; v++) cr_assert(abs(value_n[v] - 200) < 80, "a = %d drawn %d times", v, value_n[v]);

    TaskConfig len = task_config_make("task=add min_len=1 max_len=2");
    int at22 = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(task_generate(&len, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        at22 += EX.len_a == 2 && EX.len_b == 2;
    }
    cr_assert(fabs(at22 / (double)n - 0.25) < 0.02, "sampling=lengths draws (2,2) a quarter of the time: %d", at22);
}

Test(sampling, values_starts_at_ten_to_the_min_len_minus_one)
{
    // min_len=2 max_len=3: operands uniform in [10, 1000), so 3 digits with probability 900/990
    TaskConfig c = task_config_make("task=mul min_len=2 max_len=3 sampling=values");
    uint64_t rng = rng_seed(13);
    char err[ERR_MAX];
    int n = 10000, three = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        int a = atoi(EX.a), b = atoi(EX.b);
        cr_assert(a >= 10 && a < 1000 && b >= 10 && b < 1000, "%s", EX.problem);
        three += EX.len_a == 3;
    }
    // sd 0.003; tolerance 0.02 (lengths would give 0.5)
    cr_assert(fabs(three / (double)n - 900.0 / 990.0) < 0.02, "3-digit a: %d of %d", three, n);
}

Test(sampling, values_subtraction_is_uniform_over_pairs_with_a_at_least_b)
{
    // pairs a >= b in [0, 100)^2: 5050, of which 90*91/2 = 4095 are (2,2) and 900 are (2,1)
    TaskConfig c = task_config_make("task=sub min_len=1 max_len=2 sampling=values");
    uint64_t rng = rng_seed(14);
    char err[ERR_MAX];
    int n = 20000, at22 = 0, at21 = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        cr_assert(atoi(EX.a) >= atoi(EX.b), "%s", EX.problem);
        at22 += EX.len_a == 2 && EX.len_b == 2;
        at21 += EX.len_a == 2 && EX.len_b == 1;
    }
    cr_assert(fabs(at22 / (double)n - 4095.0 / 5050) < 0.02, "(2,2): %d of %d", at22, n);
    cr_assert(fabs(at21 / (double)n - 900.0 / 5050) < 0.02, "(2,1): %d of %d", at21, n);
}

Test(sampling, values_with_balanced_carries_draws_each_count_equally)
{
    // a, b in [0, 1000): 0..3 carries, 2000 each expected of 8000 (sd 39; tolerance 200).
    // Unbalanced, the counts are 16.6%, 35.9%, 33.9%, 13.6% (enumerated over all 10^6 pairs):
    // 1331 and 1089 expected for 0 and 3 carries, 2871 for 1 (sd about 35-43)
    TaskConfig bal = task_config_make("task=add min_len=1 max_len=3 sampling=values balance_carries=1");
    TaskConfig nat = task_config_make("task=add min_len=1 max_len=3 sampling=values");
    uint64_t rng = rng_seed(15);
    char err[ERR_MAX];
    int n = 8000, n_bal[5] = {0}, n_nat[5] = {0}, at33 = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(task_generate(&bal, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        int k = count_carries(EX.a, EX.b, 0);
        cr_assert_eq(k, EX.n_carries);
        n_bal[k]++;
        at33 += EX.len_a == 3 && EX.len_b == 3;
        cr_assert_eq(task_generate(&nat, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        n_nat[count_carries(EX.a, EX.b, 0)]++;
    }
    for (int k = 0; k <= 3; k++) cr_assert(abs(n_bal[k] - 2000) < 200, "%d carries: %d of %d", k, n_bal[k], n);
    cr_assert(n_nat[0] < 1600 && n_nat[3] < 1400 && n_nat[1] > 2500, "unbalanced: %d %d %d %d", n_nat[0], n_nat[1],
              n_nat[2], n_nat[3]);
    // still drawn by value: most problems are 3+3 digits (lengths mode would give 1/9)
    cr_assert(at33 > n / 2, "(3,3) problems: %d of %d", at33, n);
}

Test(sampling, values_with_balanced_borrows_for_subtraction)
{
    TaskConfig c = task_config_make("task=sub min_len=2 max_len=3 sampling=values balance_carries=1");
    uint64_t rng = rng_seed(16);
    char err[ERR_MAX];
    int n = 6000, n_k[5] = {0};
    for (int i = 0; i < n; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        cr_assert(atoi(EX.a) >= atoi(EX.b) && atoi(EX.b) >= 10, "%s", EX.problem);
        n_k[count_carries(EX.a, EX.b, 1)]++;
    }
    // a >= b never borrows out of the last column: 0..2 borrows, 2000 each (sd 37)
    for (int k = 0; k <= 2; k++) cr_assert(abs(n_k[k] - 2000) < 200, "%d borrows: %d of %d", k, n_k[k], n);
    cr_assert_eq(n_k[3], 0);
}

// ---------------------------------------------------------------- sampling = magnitude

Test(sampling, magnitude_draws_lee_et_al_s_mix_of_one_two_and_three_digit_problems)
{
    // max_len 3: magnitude 1, 2, 3 with 10, 90, 900 parts in 1000; then a, b uniform below
    // 10^d. So P(longest operand has 1 digit) = 0.01 + 0.09 * 0.01 + 0.9 * 0.0001 = 0.01099,
    // P(2,2) = 0.09 * 0.81 + 0.9 * 0.0081 = 0.08019, P(3,3) = 0.9 * 0.81 = 0.729: as in Lee et
    // al.'s add_examples_4000.txt (105, 320 and 2875 of 4000). values gives 0.0001, 0.0081
    // and 0.81 instead. n = 40000: sd 0.0005 at 0.011, 0.0014 at 0.080, 0.0022 at 0.729.
    TaskConfig c = task_config_make("task=add min_len=1 max_len=3 sampling=magnitude");
    uint64_t rng = rng_seed(21);
    char err[ERR_MAX];
    int n = 40000, one = 0, at22 = 0, at33 = 0, a_big = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        one += EX.len_a == 1 && EX.len_b == 1;
        at22 += EX.len_a == 2 && EX.len_b == 2;
        at33 += EX.len_a == 3 && EX.len_b == 3;
        a_big += atoi(EX.a) >= 500;
    }
    cr_assert(fabs(one / (double)n - 0.01099) < 0.003, "(1,1): %d of %d", one, n);
    cr_assert(fabs(at22 / (double)n - 0.08019) < 0.008, "(2,2): %d of %d", at22, n);
    cr_assert(fabs(at33 / (double)n - 0.729) < 0.012, "(3,3): %d of %d", at33, n);
    // a >= 500 only at magnitude 3, half of it: 0.45
    cr_assert(fabs(a_big / (double)n - 0.45) < 0.012, "a >= 500: %d of %d", a_big, n);
}

Test(sampling, magnitude_with_balanced_carries_draws_each_count_equally)
{
    // 0..3 carries a quarter each
    TaskConfig c = task_config_make("task=add min_len=1 max_len=3 sampling=magnitude balance_carries=1");
    uint64_t rng = rng_seed(22);
    char err[ERR_MAX];
    int n = 20000, by_k[4] = {0}, one = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        int k = count_carries(EX.a, EX.b, 0);
        cr_assert(k >= 0 && k <= 3, "%s", EX.problem);
        by_k[k]++;
        one += EX.len_a == 1 && EX.len_b == 1;
    }
    for (int k = 0; k < 4; k++) cr_assert(fabs(by_k[k] / (double)n - 0.25) < 0.02, "%d carries: %d of %d", k, by_k[k], n);
    // 1+1-digit problems come from magnitude 1 (0 or 1 carry) far more often than values would
    // draw them (values with balanced carries: below 0.1%)
    cr_assert(one / (double)n > 0.004, "(1,1): %d of %d", one, n);
}

Test(sampling, magnitude_is_refused_for_modadd_naming_the_key)
{
    TaskConfig c;
    char err[ERR_MAX];
    task_config_default(&c);
    cr_assert_eq(task_config_set(&c, "task", "modadd", err), 0, "%s", err);
    cr_assert_eq(task_config_set(&c, "sampling", "magnitude", err), 0, "%s", err);
    cr_assert_eq(task_config_validate(&c, err), -1);
    cr_expect(strstr(err, "task.sampling = magnitude") && strstr(err, "add|sub|mul"), "%s", err);
}

Test(sampling, lengths_is_the_default_and_draws_the_same_problems)
{
    TaskConfig def = task_config_make("task=add min_len=1 max_len=4 balance_carries=1");
    TaskConfig len = task_config_make("task=add min_len=1 max_len=4 balance_carries=1 sampling=lengths");
    cr_assert_eq(def.sampling, TASK_SAMPLE_LENGTHS);
    uint64_t r1 = rng_seed(3), r2 = rng_seed(3);
    char err[ERR_MAX], first[TASK_MAX_PROBLEM];
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(task_generate(&def, &r1, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        strcpy(first, EX.problem);
        cr_assert_eq(task_generate(&len, &r2, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        cr_assert_str_eq(first, EX.problem);
    }
}

Test(sampling, values_is_refused_for_sort_and_modadd_naming_the_key)
{
    const char *tasks[] = { "sort", "modadd" };
    for (int i = 0; i < 2; i++) {
        TaskConfig c;
        char err[ERR_MAX];
        task_config_default(&c);
        cr_assert_eq(task_config_set(&c, "task", tasks[i], err), 0, "%s", err);
        cr_assert_eq(task_config_set(&c, "sampling", "values", err), 0, "%s", err);
        cr_assert_eq(task_config_validate(&c, err), -1);
        cr_assert(strstr(err, "task.sampling") && strstr(err, "add|sub|mul"), "%s", err);
    }
    TaskConfig c;
    char err[ERR_MAX];
    task_config_default(&c);
    cr_assert_eq(task_config_set(&c, "sampling", "value", err), -1);
    cr_assert(strstr(err, "task.sampling") && strstr(err, "lengths|values|magnitude"), "%s", err);
}

// ---------------------------------------------------------------- train.loss_on = all

Test(loss_on, all_trains_every_token_after_bos_and_nothing_past_eos)
{
    TaskConfig c = task_config_make("task=add min_len=1 max_len=3 format=reversed");
    uint64_t rng = rng_seed(5);
    enum { B = 6, T = 20 };
    static TaskExample ex[B];
    int x[B * T], y[B * T], y_all[B * T];
    char err[ERR_MAX];
    cr_assert_eq(task_fill_batch(&c, &rng, TASK_SPLIT_TRAIN, B, T, x, y, ex, err), 0, "%s", err);
    memcpy(y_all, y, sizeof y);
    task_batch_loss_on_all(ex, B, T, y_all);
    for (int b = 0; b < B; b++) {
        int n = ex[b].n_tokens, trained = 0;
        for (int t = 0; t < T; t++) {
            int want = t + 1 < n ? ex[b].tokens[t + 1] : -1;
            cr_assert_eq(y_all[b * T + t], want, "row %d position %d", b, t);
            trained += y_all[b * T + t] >= 0;
            // the answer's targets are those of loss_on = answer
            if (t + 1 >= ex[b].answer_start) cr_assert_eq(y_all[b * T + t], y[b * T + t]);
        }
        cr_assert_eq(trained, n - 1, "every token but <bos> is a target");
        cr_assert(y[b * T] == -1 && y_all[b * T] == ex[b].tokens[1], "the first operand digit is trained on only with all");
    }
}

Test(loss_on, refuses_other_words_naming_the_key)
{
    RunConfig rc;
    char err[ERR_MAX];
    run_config_default(&rc);
    cr_assert_str_eq(rc.train.loss_on, "answer");
    cr_assert_eq(run_config_set(&rc, "train.loss_on", "prompt", err), -1, "prompt accepted");
    cr_assert(strstr(err, "train.loss_on") && strstr(err, "answer|all"), "%s", err);
    run_config_default(&rc);
    cr_assert_eq(run_config_set(&rc, "train.loss_on", "all", err), 0, "%s", err);
    cr_assert_eq(run_config_resolve(&rc, err), 0, "%s", err);
}
