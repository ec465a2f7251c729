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

int task_loader_next(TaskLoader *l, char *err)
{
    int B = l->B, T = l->T;
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
    task_set_free(&l->seen);
    if (l->pool) task_pool_free(l->pool);
    memset(l, 0, sizeof(*l));
}
