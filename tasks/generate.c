// generate.c: drawing problems. sampling=lengths draws operand lengths evenly
// over every allowed (len_a, len_b) pair, sampling=values draws operand values
// uniformly, sampling=magnitude a magnitude and then values below it; for add and sub a small dynamic program over the columns draws a
// problem with a chosen number of carries (borrows).
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tasks/task_internal.h"

#define CARRIES_ANY (-1)        // every problem of the lengths equally likely
#define CARRIES_BALANCED (-2)   // the number of carries uniform over those possible
#define MAX_SPLIT_DRAWS 100000

// uniform in [0,1) with 53 random bits (rng_f32 has 24: too coarse for tiny weights)
static double rng_unit(uint64_t *rng)
{
    double hi = (double)(rng_u32(rng) >> 5), lo = (double)(rng_u32(rng) >> 6);
    return (hi * 67108864.0 + lo) / 9007199254740992.0;
}

// index i with probability w[i] / sum(w); some w must be positive
static int pick_weighted(uint64_t *rng, const double *w, int n)
{
    double total = 0;
    for (int i = 0; i < n; i++) total += w[i];
    double u = rng_unit(rng) * total;
    int last = -1;
    for (int i = 0; i < n; i++) {
        if (w[i] <= 0) continue;
        if (u < w[i]) return i;
        u -= w[i];
        last = i;
    }
    return last;   // only reached through rounding
}

// the digits allowed at place i of a number of exactly len digits
static void digit_range(int len, int i, int *lo, int *hi)
{
    if (i >= len) { *lo = *hi = 0; return; }   // past its end: a 0 that is not written
    *lo = (i == len - 1 && len > 1) ? 1 : 0;    // no leading zero, but "0" itself is a number
    *hi = 9;
}

static void draw_number(uint64_t *rng, int len, char *out)
{
    for (int i = 0; i < len; i++) {
        int lo, hi;
        digit_range(len, len - 1 - i, &lo, &hi);
        out[i] = (char)('0' + lo + rng_int(rng, hi - lo + 1));
    }
    out[len] = 0;
}

// ---------------------------------------------------------------- problems with a given number of carries

// A column's digits matter only through their sum x+y (add) or difference
// x-y (sub), a "bin" 0..18. hist[i][bin] counts the digit pairs of column i
// (0 = units) in each bin; count(i, c, r) counts the ways to fill columns
// i..L-1, entering column i with carry c, so that exactly r of them carry
// (borrow) out. Drawing each column's bin in proportion to hist * count of
// the rest gives a problem uniform among all of these lengths and carries.
// Counts reach 100^100, hence doubles.
typedef struct {
    int L, sub;
    double (*hist)[19];
    double *count;   // (L+1) x 2 x (L+1)
} CarryTable;

static double *cnt(const CarryTable *t, int i, int c, int r) { return &t->count[(i * 2 + c) * (t->L + 1) + r]; }

static int carry_out(int sub, int bin, int c) { return sub ? bin - 9 - c < 0 : bin + c >= 10; }

static int carry_table_build(CarryTable *t, int la, int lb, int sub, char *err)
{
    int L = la > lb ? la : lb;
    t->L = L;
    t->sub = sub;
    t->hist = calloc((size_t)L, sizeof *t->hist);
    t->count = calloc((size_t)(L + 1) * 2 * (L + 1), sizeof *t->count);
    if (!t->hist || !t->count) {
        free(t->hist);
        free(t->count);
        return err_set(err, "out of memory drawing a %d-digit problem", L);
    }
    for (int i = 0; i < L; i++) {
        int alo, ahi, blo, bhi;
        digit_range(la, i, &alo, &ahi);
        digit_range(lb, i, &blo, &bhi);
        for (int x = alo; x <= ahi; x++)
            for (int y = blo; y <= bhi; y++) t->hist[i][sub ? x - y + 9 : x + y] += 1;
    }
    // past the last column: a subtraction may not borrow out of it (a >= b)
    for (int c = 0; c < 2; c++) *cnt(t, L, c, 0) = (sub && c) ? 0 : 1;
    for (int i = L - 1; i >= 0; i--)
        for (int c = 0; c < 2; c++)
            for (int r = 0; r <= L; r++) {
                double ways = 0;
                for (int bin = 0; bin < 19; bin++) {
                    int co = carry_out(sub, bin, c);
                    if (t->hist[i][bin] > 0 && r - co >= 0) ways += t->hist[i][bin] * *cnt(t, i + 1, co, r - co);
                }
                *cnt(t, i, c, r) = ways;
            }
    return 0;
}

static void carry_table_free(CarryTable *t)
{
    free(t->hist);
    free(t->count);
}

// a (la digits) and b (lb digits) whose add/sub has exactly k carries, or
// k = CARRIES_ANY / CARRIES_BALANCED; -1 + err if no such problem exists
static int draw_with_carries(uint64_t *rng, int la, int lb, int sub, int k, char *a, char *b, char *err)
{
    CarryTable t;
    if (carry_table_build(&t, la, lb, sub, err)) return -1;
    int L = t.L;
    double w0[TASK_MAX_DIGITS + 1];
    int possible[TASK_MAX_DIGITS + 1], n_possible = 0;
    for (int r = 0; r <= L; r++) {
        w0[r] = *cnt(&t, 0, 0, r);
        if (w0[r] > 0) possible[n_possible++] = r;
    }
    if (k == CARRIES_BALANCED) k = possible[rng_int(rng, n_possible)];
    else if (k == CARRIES_ANY) k = pick_weighted(rng, w0, L + 1);
    else if (k > L || w0[k] <= 0) {
        carry_table_free(&t);
        return err_set(err, "no %d-digit %c %d-digit problem has exactly %d %s", la, sub ? '-' : '+', lb, k,
                       sub ? "borrows" : "carries");
    }

    int c = 0, r = k;
    for (int i = 0; i < L; i++) {
        double w[19];
        for (int bin = 0; bin < 19; bin++) {
            int co = carry_out(sub, bin, c);
            w[bin] = r - co >= 0 ? t.hist[i][bin] * *cnt(&t, i + 1, co, r - co) : 0;
        }
        int bin = pick_weighted(rng, w, 19);
        // a digit pair of this bin, uniformly among those allowed
        int alo, ahi, blo, bhi, xs[10], n = 0;
        digit_range(la, i, &alo, &ahi);
        digit_range(lb, i, &blo, &bhi);
        for (int x = alo; x <= ahi; x++) {
            int y = sub ? x - (bin - 9) : bin - x;
            if (y >= blo && y <= bhi) xs[n++] = x;
        }
        int x = xs[rng_int(rng, n)], y = sub ? x - (bin - 9) : bin - x;
        if (i < la) a[la - 1 - i] = (char)('0' + x);
        if (i < lb) b[lb - 1 - i] = (char)('0' + y);
        int co = carry_out(sub, bin, c);
        r -= co;
        c = co;
    }
    a[la] = b[lb] = 0;
    carry_table_free(&t);
    return 0;
}

// ---------------------------------------------------------------- one problem of given shape

// modadd: a number of exactly len digits below the modulus
static int draw_below(uint64_t *rng, int len, int modulus, char *out, char *err)
{
    long lo = 1, hi;
    if (len > 9) return err_set(err, "no %d-digit number is below modulus=%d", len, modulus);
    for (int i = 1; i < len; i++) lo *= 10;
    if (len == 1) lo = 0;
    hi = lo == 0 ? 9 : lo * 10 - 1;
    if (hi > modulus - 1) hi = modulus - 1;
    if (lo > hi) return err_set(err, "no %d-digit number is below modulus=%d", len, modulus);
    snprintf(out, TASK_MAX_DIGITS + 1, "%ld", lo + (long)rng_int(rng, (int)(hi - lo + 1)));
    return 0;
}

static int generate_sized(const TaskConfig *cfg, uint64_t *rng, int la, int lb, int carries,
                          TaskExample *ex, char *err)
{
    TaskProblem p;
    p.kind = cfg->task;
    int max_b = cfg->task == TASK_SORT ? TASK_MAX_KEYS : TASK_MAX_DIGITS;
    if (la < 1 || la > TASK_MAX_DIGITS || lb < 1 || lb > max_b)
        return err_set(err, "lengths (%d, %d) are outside [1, %d] x [1, %d]", la, lb, TASK_MAX_DIGITS, max_b);
    if (carries != CARRIES_ANY && cfg->task != TASK_ADD && cfg->task != TASK_SUB)
        return err_set(err, "a number of carries can only be asked of add and sub, not %s", task_kind_name(cfg->task));
    if (cfg->task == TASK_SUB && la < lb)
        return err_set(err, "sub draws a >= b, so len_a=%d cannot be shorter than len_b=%d", la, lb);

    switch (cfg->task) {
    case TASK_ADD:
    case TASK_SUB:
        if (draw_with_carries(rng, la, lb, cfg->task == TASK_SUB, carries, p.a, p.b, err)) return -1;
        break;
    case TASK_MUL:
        draw_number(rng, la, p.a);
        draw_number(rng, lb, p.b);
        break;
    case TASK_MODADD:
        if (draw_below(rng, la, cfg->modulus, p.a, err) || draw_below(rng, lb, cfg->modulus, p.b, err)) return -1;
        break;
    case TASK_SORT: {
        // as the Abacus paper's generator (github.com/mcleish7/arithmetic, create_data_split.py,
        // uniform_distribution_sort_basic): lb numbers of 1..la digits under keys that are a run
        // of letters from a random start; here one number has exactly la digits, so len_a is exact
        int start = rng_int(rng, 26), longest = rng_int(rng, lb);
        p.n_keys = lb;
        for (int j = 0; j < lb; j++) {
            p.keys[j] = (char)('A' + (start + j) % 26);
            draw_number(rng, j == longest ? la : 1 + rng_int(rng, la), p.nums[j]);
        }
        break;
    }
    default:
        return err_set(err, "task config has no valid task (%d)", cfg->task);
    }
    return task__build_example(cfg, &p, rng, ex, err);
}

int task_generate_sized(const TaskConfig *cfg, uint64_t *rng, int len_a, int len_b, int n_carries,
                        TaskExample *ex, char *err)
{
    if (n_carries < CARRIES_ANY) return err_set(err, "n_carries must be -1 (any) or a count, not %d", n_carries);
    return generate_sized(cfg, rng, len_a, len_b, n_carries, ex, err);
}

// ---------------------------------------------------------------- the run's distribution

// (len_a, len_b) evenly over every allowed pair
static void draw_lengths(const TaskConfig *cfg, uint64_t *rng, int *la, int *lb)
{
    int lo = cfg->min_len, span = cfg->max_len - cfg->min_len + 1;
    if (cfg->task == TASK_SORT) {
        *la = lo + rng_int(rng, span);
        *lb = cfg->sort_min_count + rng_int(rng, cfg->sort_count - cfg->sort_min_count + 1);
    } else if (cfg->task == TASK_SUB) {   // only len_a >= len_b: count the pairs, pick one
        int k = rng_int(rng, span * (span + 1) / 2);
        for (*la = lo; k > *la - lo; (*la)++) k -= *la - lo + 1;
        *lb = lo + k;
    } else {
        *la = lo + rng_int(rng, span);
        *lb = lo + rng_int(rng, span);
    }
}

// ---------------------------------------------------------------- sampling = values

// Each operand uniform in [10^(min_len-1), 10^max_len) ([0, 10^max_len) when
// min_len is 1): a length pair is then drawn in proportion to how many problems
// it holds, and the problem uniformly among those (generate_sized with any
// carries). With balance_carries the number of carries k is drawn uniformly
// over the counts some problem in range has, then the length pair in proportion
// to its problems with exactly k carries, so the problem is uniform among all
// problems in range with k carries.

// numbers of exactly len digits in the range: "0".."9" for one digit (min_len is
// at least 1, so the range starts at 0 exactly when it starts at length 1)
static double numbers_of_length(int len) { return len == 1 ? 10.0 : 9.0 * pow(10.0, len - 1); }

// problems with operands of exactly (la, lb) digits: every pair, or for sub the pairs with a >= b
static double problems_of_lengths(int sub, int la, int lb)
{
    double na = numbers_of_length(la), nb = numbers_of_length(lb);
    if (!sub) return na * nb;
    return la > lb ? na * nb : la == lb ? na * (na + 1) / 2 : 0.0;
}

// balance_carries: for every length pair of the range, the problems with k carries,
// w[((la - lo) * span + lb - lo) * (max_len + 1) + k]. Built once per (task,
// min_len, max_len) and kept: a pair's table costs O(max_len^2), so all of them
// O(max_len^4), too much for every draw. Generation is single-threaded (no
// caller draws problems from parallel threads), so one static entry serves.
static struct { int task, lo, hi; double *w; } carry_weights;

static const double *values_carry_weights(const TaskConfig *cfg, char *err)
{
    int lo = cfg->min_len, hi = cfg->max_len, span = hi - lo + 1, K = hi + 1;
    if (carry_weights.w && carry_weights.task == cfg->task && carry_weights.lo == lo && carry_weights.hi == hi)
        return carry_weights.w;
    double *w = calloc((size_t)span * span * K, sizeof *w);
    if (!w) return err_set(err, "out of memory for the carry counts of %d-digit problems", hi), NULL;
    for (int la = lo; la <= hi; la++)
        for (int lb = lo; lb <= hi; lb++) {
            if (cfg->task == TASK_SUB && la < lb) continue;
            CarryTable t;
            if (carry_table_build(&t, la, lb, cfg->task == TASK_SUB, err)) { free(w); return NULL; }
            for (int k = 0; k <= t.L; k++) w[((size_t)(la - lo) * span + lb - lo) * K + k] = *cnt(&t, 0, 0, k);
            carry_table_free(&t);
        }
    free(carry_weights.w);
    carry_weights.task = cfg->task;
    carry_weights.lo = lo;
    carry_weights.hi = hi;
    carry_weights.w = w;
    return w;
}

// sampling = magnitude (Lee et al.'s add_examples_N.txt): first the problem's
// magnitude d, the length of the longest operand allowed, with the share that
// d-digit numbers have in [10^(min_len-1), 10^max_len) (1%, 9%, 90% for 1..3
// digits), then both operands uniform below 10^d as above. With balance_carries
// the count k comes first, then d among the magnitudes where k carries occur.
static int pick_magnitude(const TaskConfig *cfg, uint64_t *rng, const double *w, int carries)
{
    int lo = cfg->min_len, hi = cfg->max_len, span = hi - lo + 1, K = hi + 1;
    double pd[TASK_MAX_DIGITS + 1];
    for (int d = lo; d <= hi; d++) {
        pd[d - lo] = numbers_of_length(d);
        if (w) {
            double with_k = 0;
            for (int la = lo; la <= d; la++)
                for (int lb = lo; lb <= d; lb++) with_k += w[((size_t)(la - lo) * span + lb - lo) * K + carries];
            if (with_k == 0) pd[d - lo] = 0;
        }
    }
    return lo + pick_weighted(rng, pd, span);
}

static int generate_values(const TaskConfig *cfg, uint64_t *rng, TaskExample *ex, char *err)
{
    int lo = cfg->min_len, span = cfg->max_len - lo + 1, K = cfg->max_len + 1, sub = cfg->task == TASK_SUB;
    double *pair_w = malloc(sizeof(double) * (size_t)span * span);
    if (!pair_w) return err_set(err, "out of memory drawing a problem");
    int carries = CARRIES_ANY;
    const double *w = NULL;
    if (cfg->balance_carries) {
        w = values_carry_weights(cfg, err);
        if (!w) { free(pair_w); return -1; }
        int possible[TASK_MAX_DIGITS + 2], n_possible = 0;
        for (int k = 0; k < K; k++) {
            double total = 0;
            for (int p = 0; p < span * span; p++) total += w[(size_t)p * K + k];
            if (total > 0) possible[n_possible++] = k;
        }
        carries = possible[rng_int(rng, n_possible)];
    }
    // the longest operand length this draw allows: max_len, or the drawn magnitude
    int top = cfg->sampling == TASK_SAMPLE_MAGNITUDE ? pick_magnitude(cfg, rng, w, carries) : cfg->max_len;
    for (int p = 0; p < span * span; p++) {
        int la = lo + p / span, lb = lo + p % span;
        pair_w[p] = la > top || lb > top ? 0.0 : w ? w[(size_t)p * K + carries] : problems_of_lengths(sub, la, lb);
    }
    int p = pick_weighted(rng, pair_w, span * span);
    free(pair_w);
    return generate_sized(cfg, rng, lo + p / span, lo + p % span, carries, ex, err);
}

static int generate_once(const TaskConfig *cfg, uint64_t *rng, TaskExample *ex, char *err)
{
    if (cfg->task == TASK_MODADD) {   // grokking draws pairs uniformly from [0, p)^2, not by length
        TaskProblem p;
        p.kind = TASK_MODADD;
        snprintf(p.a, sizeof p.a, "%d", rng_int(rng, cfg->modulus));
        snprintf(p.b, sizeof p.b, "%d", rng_int(rng, cfg->modulus));
        return task__build_example(cfg, &p, rng, ex, err);
    }
    if (cfg->sampling != TASK_SAMPLE_LENGTHS) return generate_values(cfg, rng, ex, err);
    int la, lb;
    draw_lengths(cfg, rng, &la, &lb);
    int carries = cfg->balance_carries ? CARRIES_BALANCED : CARRIES_ANY;
    return generate_sized(cfg, rng, la, lb, carries, ex, err);
}

int task_generate(const TaskConfig *cfg, uint64_t *rng, int split, TaskExample *ex, char *err)
{
    if (split == TASK_SPLIT_TEST && cfg->train_frac >= 1.0)
        return err_set(err, "train_frac=1 puts every problem in the train split; there is no test split");
    for (int draw = 0; draw < MAX_SPLIT_DRAWS; draw++) {
        if (generate_once(cfg, rng, ex, err)) return -1;
        if (split == TASK_SPLIT_ANY || task_split_of(cfg, task_problem_key(ex->problem)) == split) return 0;
    }
    return err_set(err, "no %s problem in %d draws (train_frac=%g)", split == TASK_SPLIT_TRAIN ? "train" : "test",
                   MAX_SPLIT_DRAWS, cfg->train_frac);
}
