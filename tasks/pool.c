// pool.c: a fixed training set of train_size distinct problems (Lee et al.
// 2023 train on 1k..10k samples of 3-digit addition; grokking runs on a
// fixed fraction of all pairs), drawn once and sampled from at every step.
#include <stdlib.h>
#include <string.h>
#include "tasks/task.h"

int task_pool_build(const TaskConfig *cfg, TaskPool *pool, char *err)
{
    memset(pool, 0, sizeof(*pool));
    int n = cfg->train_size;
    if (n <= 0) return err_set(err, "task_pool_build: train_size is %d; a pool needs at least one problem", n);
    if (task_set_init(&pool->keys, (size_t)n, err)) return -1;
    size_t cap = (size_t)n * 16, used = 0;
    pool->text = malloc(cap);
    pool->offset = malloc(sizeof(size_t) * (size_t)n);
    TaskExample *ex = malloc(sizeof(TaskExample));
    if (!pool->text || !pool->offset || !ex) { free(ex); task_pool_free(pool); return err_set(err, "task_pool_build: out of memory"); }
    // the set depends on split_seed only, so that seeds vary the model, not the data
    uint64_t rng = rng_seed(0x9001u + (uint64_t)cfg->split_seed);
    TaskConfig tc = *cfg;
    long misses = 0, miss_limit = 50L * n + 10000;
    while (pool->n < n) {
        if (task_generate(&tc, &rng, TASK_SPLIT_TRAIN, ex, err)) { free(ex); task_pool_free(pool); return -1; }
        int added = task_set_add(&pool->keys, task_problem_key(ex->problem), err);
        if (added < 0) { free(ex); task_pool_free(pool); return -1; }
        if (!added) {
            if (++misses > miss_limit) {
                int got = pool->n;
                free(ex);
                task_pool_free(pool);
                return err_set(err, "task key 'train_size': found only %d distinct problems in %ld draws, fewer than "
                               "train_size = %d; lower train_size or widen the task (max_len)", got, misses + got, n);
            }
            continue;
        }
        size_t len = strlen(ex->problem) + 1;
        if (used + len > cap) {
            while (used + len > cap) cap *= 2;
            char *t = realloc(pool->text, cap);
            if (!t) { free(ex); task_pool_free(pool); return err_set(err, "task_pool_build: out of memory"); }
            pool->text = t;
        }
        memcpy(pool->text + used, ex->problem, len);
        pool->offset[pool->n++] = used;
        used += len;
    }
    free(ex);
    return 0;
}

int task_pool_fill_batch(const TaskConfig *cfg, const TaskPool *pool, uint64_t *rng, int B, int T,
                         int *inputs, int *targets, TaskExample *examples, char *err)
{
    for (int b = 0; b < B; b++) {
        const char *problem = pool->text + pool->offset[rng_int(rng, pool->n)];
        if (task_example_from_problem(cfg, problem, &examples[b], err)) return -1;
    }
    return task_batch_from_examples(examples, B, T, inputs, targets, err);
}

void task_pool_free(TaskPool *pool)
{
    free(pool->text);
    free(pool->offset);
    task_set_free(&pool->keys);
    memset(pool, 0, sizeof(*pool));
}
