// loader.c: batches for training from a fixed set or the generator (loader.h).
#include <stdlib.h>
#include <string.h>
#include "tasks/loader.h"

int task_loader_init(TaskLoader *l, const TaskConfig *tc, int B, int T, uint64_t data_rng,
                     size_t expected_problems, char *err)
{
    memset(l, 0, sizeof(*l));
    l->task = *tc;
    l->B = B;
    l->T = T;
    l->rng = data_rng;
    size_t n = (size_t)B * T;
    l->inputs = malloc(sizeof(int) * n);
    l->targets = malloc(sizeof(int) * n);
    l->examples = malloc(sizeof(TaskExample) * B);
    if (tc->numbers == TASK_NUMBERS_FONE) {
        l->values = malloc(sizeof(double) * n);
        l->target_values = malloc(sizeof(double) * n);
    }
    // a fixed training set is its own record of what was trained on: one slot is enough then
    size_t expect = tc->train_size > 0 ? 1 : expected_problems;
    if (expect < 1) expect = 1;
    if (expect > (1u << 24)) expect = 1u << 24;
    if (!l->inputs || !l->targets || !l->examples || (tc->numbers == TASK_NUMBERS_FONE && (!l->values || !l->target_values)) ||
        task_set_init(&l->seen, expect, err)) {
        task_loader_free(l);
        return err_set(err, "out of memory for the batch buffers");
    }
    // drawn from split_seed alone, so a resumed run rebuilds the same set
    if (tc->train_size > 0) {
        if (task_pool_build(&l->task, &l->pool_store, err)) { task_loader_free(l); return -1; }
        l->pool = &l->pool_store;
    }
    l->batch = (Batch){l->inputs, l->targets, l->values, l->target_values, B, T};
    return 0;
}

int task_loader_set_packing(TaskLoader *l, int packing, int loss_on_all, char *err)
{
    l->packing = packing;
    l->loss_on_all = loss_on_all;
    if (packing != TASK_PACK_MASKED) return 0;
    l->pos = malloc(sizeof(int) * (size_t)l->B * l->T);
    l->row_len = malloc(sizeof(int) * (size_t)l->B);
    if (!l->pos || !l->row_len) return err_set(err, "out of memory for the packed batch buffers");
    l->batch.pos = l->pos;
    return 0;
}

// the packer's source (pack.h): the next problem from the fixed set or the generator
static int loader_next_problem(void *ctx, TaskExample *ex, char *err)
{
    TaskLoader *l = ctx;
    if (l->pool) return task_example_from_problem(&l->task, l->pool->text + l->pool->offset[rng_int(&l->rng, l->pool->n)], ex, err);
    return task_generate(&l->task, &l->rng, TASK_SPLIT_TRAIN, ex, err);
}

static int loader_placed(void *ctx, const TaskExample *ex, char *err)
{
    TaskLoader *l = ctx;
    return !l->pool && task_set_add(&l->seen, task_problem_key(ex->problem), err) < 0 ? -1 : 0;
}

int task_loader_next(TaskLoader *l, char *err)
{
    int B = l->B, T = l->T;
    if (l->packing != TASK_PACK_NONE) {
        TaskPackSource src = {loader_next_problem, loader_placed, l};
        TaskPacked out = {B, T, l->inputs, l->targets, l->pos, l->values, l->target_values, l->examples, l->row_len, 0};
        if (task_pack_batch(l->packing, &src, &l->rng, l->loss_on_all, &out, err)) return -1;
        l->n_problems = out.n_problems;
        return 0;
    }
    l->n_problems = B;
    if (l->pool ? task_pool_fill_batch(&l->task, l->pool, &l->rng, B, T, l->inputs, l->targets, l->examples, err)
                : task_fill_batch(&l->task, &l->rng, TASK_SPLIT_TRAIN, B, T, l->inputs, l->targets, l->examples, err))
        return -1;
    for (int b = 0; b < B && !l->pool; b++)
        if (task_set_add(&l->seen, task_problem_key(l->examples[b].problem), err) < 0) return -1;
    if (l->values) task_batch_values(l->examples, B, T, l->values, l->target_values);
    return 0;
}

uint64_t task_loader_state(const TaskLoader *l) { return l->rng; }

const TaskSet *task_loader_seen(const TaskLoader *l) { return l->pool ? &l->pool->keys : &l->seen; }

void task_loader_free(TaskLoader *l)
{
    free(l->inputs); free(l->targets); free(l->values); free(l->target_values); free(l->examples);
    free(l->pos); free(l->row_len);
    task_set_free(&l->seen);
    if (l->pool) task_pool_free(l->pool);
    memset(l, 0, sizeof(*l));
}
