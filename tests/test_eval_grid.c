// test_eval_grid.c: the accuracy grid holds problems out of training strictly:
// with task.train_frac < 1 it contains no problem of the train split, and with a
// fixed training set none of that set; a cell that has no held-out problem is
// left short, and the summary says how many problems and cells and why.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eval/eval.h"
#include "tests/test_util.h"
#include "tests/test_task_util.h"

static void random_model(Model *m, const TaskConfig *tc, int max_len)
{
    char err[ERR_MAX];
    ModelConfig cfg;
    model_config_default(&cfg);
    TaskConfig wide = *tc;
    wide.max_len = max_len;
    cfg.vocab_size = task_vocab_size();
    cfg.block_size = task_max_tokens(&wide) - 1;
    cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = 16;
    cr_assert_eq(model_config_validate(&cfg, err), 0, "%s", err);
    cr_assert_eq(model_build(m, &cfg, 64, cfg.block_size, 5, err), 0, "%s", err);
}

static long grid_total(const EvalReport *r)
{
    long n = 0;
    for (int i = 0; i < r->max_len * r->max_len; i++) n += r->n[i];
    return n;
}

Test(grid, train_frac_holds_every_training_problem_out)
{
    // the case: 5x5 cells of 100 at train_frac=0.8 held 74 train-split problems
    TaskConfig tc = task_config_make("task=add max_len=5 train_frac=0.8");
    Model m;
    random_model(&m, &tc, 5);
    EvalReport r;
    char err[ERR_MAX];
    cr_assert_eq(eval_report_init(&r, 5, 5, err), 0, "%s", err);
    cr_assert_eq(eval_grid(&m, &tc, 100, 1, &r, NULL, err), 0, "%s", err);
    cr_assert_eq(grid_total(&r), 2500, "every cell has test-split problems, so each holds 100");
    cr_assert_eq(r.overlap, 0, "%ld train-split problems in the grid", r.overlap);
    cr_assert_eq(r.short_cells, 0);
    cr_assert_eq(r.short_problems, 0);
    eval_report_free(&r);
    model_free(&m);
}

Test(grid, a_cell_without_held_out_problems_is_left_short_and_counted, .init = tmp_setup, .fini = tmp_teardown)
{
    // a fixed training set with every 1+1-digit problem: cell (1,1) has nothing held out
    TaskConfig tc = task_config_make("task=add max_len=2");
    Model m;
    random_model(&m, &tc, 2);
    TaskSet seen;
    char err[ERR_MAX];
    cr_assert_eq(task_set_init(&seen, 128, err), 0, "%s", err);
    uint64_t rng = rng_seed(9);
    TaskExample ex;
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(task_generate_sized(&tc, &rng, 1, 1, -1, &ex, err), 0, "%s", err);
        cr_assert_geq(task_set_add(&seen, task_problem_key(ex.problem), err), 0, "%s", err);
    }
    cr_assert_eq(seen.n, 100, "all 100 problems of one digit each");
    EvalReport r;
    cr_assert_eq(eval_report_init(&r, 2, 2, err), 0, "%s", err);
    cr_assert_eq(eval_grid(&m, &tc, 10, 1, &r, &seen, err), 0, "%s", err);
    cr_assert_eq(r.n[0], 0, "cell (1,1) holds %ld training problems", r.n[0]);
    cr_assert_eq(r.n[1] + r.n[2] + r.n[3], 30);
    cr_assert_eq(r.overlap, 0);
    cr_assert_eq(r.short_cells, 1);
    cr_assert_eq(r.short_problems, 10);
    FILE *f = fopen(tmp_path("summary.txt"), "w");
    eval_print_summary(&r, 1, f);
    fclose(f);
    f = fopen(tmp_path("summary.txt"), "r");
    char text[2048];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    cr_assert(strstr(text, "left out of the grid: 10 problems in 1 cell that gave no problem held out of training"),
              "%s", text);
    cr_assert(strstr(text, "also among the training problems: 0 of 30"), "%s", text);
    eval_report_free(&r);
    task_set_free(&seen);
    model_free(&m);
}
