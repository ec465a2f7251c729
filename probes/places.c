// places.c: where each digit place of a, b and the answer sits in an example's
// tokens, read from the tokens themselves so that every format modifier
// (reversal, padding, index hints, spaces) is handled by one scan.
#include <string.h>
#include "probes/probe.h"

static int is_operator(int id)
{
    int c = task_tok_char(id);
    return c == '+' || c == '-' || c == '*';
}

// digits written in order at positions pos[0..n); place p is pos[p] when the
// number is written least significant first, pos[n-1-p] otherwise
static void assign_places(const int *pos, int n, int lsd_first, int *out)
{
    for (int p = 0; p < PROBE_MAX_PLACES; p++) out[p] = -1;
    for (int p = 0; p < n && p < PROBE_MAX_PLACES; p++) out[p] = pos[lsd_first ? p : n - 1 - p];
}

int probe_find_places(const TaskConfig *tc, const TaskExample *ex, probe_places *pl, char *err)
{
    if (tc->task == TASK_SORT)
        return err_set(err, "probes need a two-operand task (add, sub, mul, modadd), not sort");
    if (tc->numbers == TASK_NUMBERS_TOKENS)
        return err_set(err, "task.numbers = tokens writes each number as one token, so there are no digit places "
                       "to read (probe fourier and probe helix read number-token models)");
    if (tc->format != TASK_FMT_PLAIN && tc->format != TASK_FMT_REVERSED && tc->format != TASK_FMT_REVERSE_ALL)
        return err_set(err, "probes read digits in the plain, reversed and reverse_all formats, not %s",
                       task_format_name(tc->format));
    int pa[PROBE_MAX_PLACES], pb[PROBE_MAX_PLACES], pc[PROBE_MAX_PLACES], na = 0, nb = 0, nc = 0;
    int stage = 0;   // 0: first operand, 1: second operand, 2: answer
    for (int i = 1; i < ex->n_tokens; i++) {
        int id = ex->tokens[i];
        if (id == TASK_EOS) break;
        if (i == ex->answer_start) stage = 2;
        if (stage == 0 && is_operator(id)) { stage = 1; continue; }
        if (task_tok_digit(id) < 0) continue;   // '$', hint letters, spaces
        int *dst = stage == 0 ? pa : stage == 1 ? pb : pc, *n = stage == 0 ? &na : stage == 1 ? &nb : &nc;
        if (*n >= PROBE_MAX_PLACES) return err_set(err, "'%s': more than %d digits in one number", ex->problem, PROBE_MAX_PLACES);
        dst[(*n)++] = i;
    }
    if (!na || !nb || !nc)
        return err_set(err, "'%s': the tokens do not read as a, operator, b, '=', answer digits", ex->problem);
    pl->n_a = na; pl->n_b = nb; pl->n_ans = nc;
    int rev_ops = tc->format == TASK_FMT_REVERSE_ALL, rev_ans = tc->format != TASK_FMT_PLAIN;
    assign_places(pa, na, rev_ops, pl->pos_a);
    assign_places(pb, nb, rev_ops, pl->pos_b);
    assign_places(pc, nc, rev_ans, pl->pos_ans);
    return 0;
}

static int digit_at(const char *s, int p)
{
    int n = (int)strlen(s);
    return p < n ? s[n - 1 - p] - '0' : 0;
}

int probe_carry_into(int task, const char *a, const char *b, int p)
{
    if (task != TASK_ADD && task != TASK_SUB) return -1;
    int c = 0;
    for (int q = 0; q < p; q++) {
        int x = digit_at(a, q), y = digit_at(b, q);
        c = task == TASK_ADD ? (x + y + c >= 10) : (x - y - c < 0);
    }
    return c;
}
