// test_loader.c: tasks/loader.h gives the same batches as drawing them directly
// (task_fill_batch / task_pool_fill_batch on the data RNG: checkpoints depend on
// it), the same batches for the same seed, and a loader restarted from its saved
// state continues exactly where an uninterrupted one would be.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/loader.h"

enum { B = 4, STEPS = 6 };

static void config(TaskConfig *tc, int train_size, int fone)
{
    task_config_default(tc);
    tc->max_len = 3;
    tc->train_size = train_size;
    if (fone) tc->numbers = TASK_NUMBERS_FONE;
    char err[ERR_MAX] = "";
    cr_assert_eq(task_config_validate(tc, err), 0, "%s", err);
}

static int seq_len(const TaskConfig *tc) { return task_max_tokens(tc) - 1; }

// the batch as bytes: inputs, targets and (FoNE) values
static void same_batch(const TaskLoader *a, const TaskLoader *b, int step)
{
    size_t n = (size_t)a->B * a->T;
    cr_assert_eq(memcmp(a->inputs, b->inputs, n * sizeof(int)), 0, "inputs differ at batch %d", step);
    cr_assert_eq(memcmp(a->targets, b->targets, n * sizeof(int)), 0, "targets differ at batch %d", step);
    if (a->values) {
        cr_assert_eq(memcmp(a->values, b->values, n * sizeof(double)), 0, "values differ at batch %d", step);
        cr_assert_eq(memcmp(a->target_values, b->target_values, n * sizeof(double)), 0, "target values differ at batch %d", step);
    }
}

static void check_resume(int train_size, int fone)
{
    TaskConfig tc;
    config(&tc, train_size, fone);
    int T = seq_len(&tc);
    char err[ERR_MAX] = "";
    static TaskLoader whole, first, rest;
    uint64_t seed = rng_seed(42);
    cr_assert_eq(task_loader_init(&whole, &tc, B, T, seed, STEPS * B, err), 0, "%s", err);
    cr_assert_eq(task_loader_init(&first, &tc, B, T, seed, STEPS * B, err), 0, "%s", err);
    for (int s = 0; s < 2; s++) {
        cr_assert_eq(task_loader_next(&whole, err), 0, "%s", err);
        cr_assert_eq(task_loader_next(&first, err), 0, "%s", err);
        same_batch(&whole, &first, s);
    }
    cr_assert_eq(task_loader_init(&rest, &tc, B, T, task_loader_state(&first), STEPS * B, err), 0, "%s", err);
    task_loader_free(&first);
    for (int s = 2; s < STEPS; s++) {
        cr_assert_eq(task_loader_next(&whole, err), 0, "%s", err);
        cr_assert_eq(task_loader_next(&rest, err), 0, "%s", err);
        same_batch(&whole, &rest, s);
    }
    task_loader_free(&whole);
    task_loader_free(&rest);
}

Test(loader, batches_are_the_draws_of_task_fill_batch_on_the_data_rng)
{
    TaskConfig tc;
    config(&tc, 0, 0);
    int T = seq_len(&tc);
    char err[ERR_MAX] = "";
    static TaskLoader l;
    uint64_t rng = rng_seed(7);
    cr_assert_eq(task_loader_init(&l, &tc, B, T, rng, STEPS * B, err), 0, "%s", err);
    int *x = malloc(sizeof(int) * B * T), *y = malloc(sizeof(int) * B * T);
    for (int s = 0; s < STEPS; s++) {
        cr_assert_eq(task_fill_batch(&tc, &rng, TASK_SPLIT_TRAIN, B, T, x, y, NULL, err), 0, "%s", err);
        cr_assert_eq(task_loader_next(&l, err), 0, "%s", err);
        cr_assert_eq(memcmp(x, l.inputs, sizeof(int) * B * T), 0, "inputs differ at batch %d", s);
        cr_assert_eq(memcmp(y, l.targets, sizeof(int) * B * T), 0, "targets differ at batch %d", s);
        cr_assert_eq(task_loader_state(&l), rng, "the data RNG moved differently at batch %d", s);
    }
    cr_assert(task_loader_seen(&l)->n > 0, "the generated problems are recorded");
    free(x); free(y);
    task_loader_free(&l);
}

Test(loader, resume_from_state_continues_the_generator_exactly) { check_resume(0, 0); }
Test(loader, resume_from_state_continues_a_fixed_training_set_exactly) { check_resume(50, 0); }
Test(loader, resume_from_state_continues_fone_values_exactly) { check_resume(0, 1); }

Test(loader, fixed_set_reports_its_own_keys_as_seen)
{
    TaskConfig tc;
    config(&tc, 50, 0);
    char err[ERR_MAX] = "";
    static TaskLoader l;
    cr_assert_eq(task_loader_init(&l, &tc, B, seq_len(&tc), rng_seed(1), 10, err), 0, "%s", err);
    cr_assert_not_null(l.pool);
    cr_assert_eq(task_loader_seen(&l), &l.pool->keys);
    task_loader_free(&l);
}
