// pack.c: packed training rows, windows and masked (pack.h).
#include <string.h>
#include "tasks/pack.h"

const char *const TASK_PACKING_NAMES[] = {"none", "windows", "masked", NULL};
_Static_assert(sizeof(TASK_PACKING_NAMES) / sizeof(TASK_PACKING_NAMES[0]) == TASK_N_PACKINGS + 1,
               "one name per TaskPacking");

int task_packing_from_name(const char *name)
{
    for (int i = 0; i < TASK_N_PACKINGS; i++)
        if (!strcmp(TASK_PACKING_NAMES[i], name)) return i;
    return -1;
}

// the value of token k of ex where it is a [NUM] token, else 0 (task_batch_values' rule)
static double token_value(const TaskExample *ex, int k)
{
    for (int i = 0; i < ex->n_values; i++)
        if (ex->value_pos[i] == k) return ex->value[i];
    return 0.0;
}

static int next_problem(const TaskPackSource *src, TaskExample *ex, int T, char *err)
{
    if (src->next(src->ctx, ex, err)) return -1;
    if (ex->n_tokens > T + 1)
        return err_set(err, "problem '%.60s' is %d tokens long but T=%d holds %d; raise block_size to %d",
                       ex->problem, ex->n_tokens, T, T + 1, ex->n_tokens - 1);
    return 0;
}

static void clear(TaskPacked *o)
{
    size_t n = (size_t)o->B * o->T;
    for (size_t i = 0; i < n; i++) { o->inputs[i] = TASK_PAD; o->targets[i] = -1; }
    if (o->values) memset(o->values, 0, sizeof(double) * n);
    if (o->target_values) memset(o->target_values, 0, sizeof(double) * n);
    o->n_problems = 0;
}

// ---------------------------------------------------------------- windows
// row b is tokens w = 0..T of the concatenated sequences from a drawn token of the first
// problem on: input w for w < T, target w-1 for w >= 1
static int pack_windows(const TaskPackSource *src, uint64_t *rng, int all, TaskPacked *o, TaskExample *ex, char *err)
{
    int T = o->T;
    for (int b = 0; b < o->B; b++) {
        size_t row = (size_t)b * T;
        for (int w = 0, first = 1; w <= T; first = 0) {
            if (next_problem(src, ex, T, err)) return -1;
            if (src->placed && src->placed(src->ctx, ex, err)) return -1;
            o->n_problems++;
            for (int k = first ? rng_int(rng, ex->n_tokens) : 0; k < ex->n_tokens && w <= T; k++, w++) {
                int tok = ex->tokens[k];
                double v = o->values ? token_value(ex, k) : 0.0;
                if (w < T) {
                    o->inputs[row + w] = tok;
                    if (o->pos) o->pos[row + w] = w;
                    if (o->values) o->values[row + w] = v;
                }
                if (w >= 1) {
                    o->targets[row + w - 1] = all || k >= ex->answer_start ? tok : -1;
                    if (o->target_values) o->target_values[row + w - 1] = v;
                }
            }
        }
    }
    return 0;
}

// ---------------------------------------------------------------- masked
// first-fit: each problem into the first row with room for its n-1 slots
static int pack_masked(const TaskPackSource *src, int all, TaskPacked *o, TaskExample *ex, int *row_len, char *err)
{
    int B = o->B, T = o->T;
    memset(row_len, 0, sizeof(int) * B);
    for (;;) {
        if (next_problem(src, ex, T, err)) return -1;
        int need = ex->n_tokens - 1, b = 0;
        while (b < B && row_len[b] + need > T) b++;
        if (b == B) break;   // fits in no row: the batch is full
        if (src->placed && src->placed(src->ctx, ex, err)) return -1;
        size_t at = (size_t)b * T + row_len[b];
        for (int k = 0; k < need; k++) {
            o->inputs[at + k] = ex->tokens[k];
            o->targets[at + k] = all || k + 1 >= ex->answer_start ? ex->tokens[k + 1] : -1;
            o->pos[at + k] = k;
            if (o->values) o->values[at + k] = token_value(ex, k);
            if (o->target_values) o->target_values[at + k] = token_value(ex, k + 1);
        }
        row_len[b] += need;
        o->n_problems++;
    }
    // padding: positions go on from the row's last problem (a row is never empty: an
    // empty row has room for any problem that fits T)
    for (int b = 0; b < B; b++)
        for (int t = row_len[b]; t < T; t++) {
            size_t i = (size_t)b * T + t;
            o->pos[i] = t ? o->pos[i - 1] + 1 : 0;
        }
    return 0;
}

int task_pack_batch(int packing, const TaskPackSource *src, uint64_t *rng, int loss_on_all, TaskPacked *o, char *err)
{
    if (!o->ex || (packing == TASK_PACK_MASKED && (!o->pos || !o->row_len)))
        return err_set(err, "task_pack_batch: missing scratch (ex, row_len) or pos");
    clear(o);
    if (packing == TASK_PACK_WINDOWS) return pack_windows(src, rng, loss_on_all, o, o->ex, err);
    if (packing == TASK_PACK_MASKED) return pack_masked(src, loss_on_all, o, o->ex, o->row_len, err);
    return err_set(err, "task_pack_batch: packing %d is not windows or masked", packing);
}
