// test_eval_population.c: evaluation beyond the grid (eval/population.h): the
// training-distribution draws (same sampler as training, held out, own seed),
// reading a problems file (a+b, a+b=, a+b=c, Lee et al.'s $a+b=c$ with c
// reversed; answers that disagree with the truth), and the names, summary
// lines and CSV rows that say which population a number is on.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eval/population.h"
#include "tests/test_util.h"
#include "tests/test_task_util.h"


static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

// ---------------------------------------------------------------- the training distribution

Test(population, draws_the_way_training_draws_and_holds_out_the_train_split)
{
    // sampling=values with max_len=2: 81% of problems are 2+2 digits (the grid would give each cell
    // the same count); train_frac=0.5: every drawn problem is in the test split. 4000 draws: sd 0.006
    TaskConfig tc = task_config_make("task=add min_len=1 max_len=2 sampling=values train_frac=0.5");
    int n = 4000, at22 = 0;
    TaskExample *ex = malloc(sizeof(TaskExample) * (size_t)n), *again = malloc(sizeof(TaskExample) * 8);
    char err[ERR_MAX];
    cr_assert_eq(eval_population_draw(&tc, n, 1, NULL, ex, err), 0, "%s", err);
    for (int i = 0; i < n; i++) {
        at22 += ex[i].len_a == 2 && ex[i].len_b == 2;
        cr_assert_eq(task_split_of(&tc, task_problem_key(ex[i].problem)), TASK_SPLIT_TEST, "%s", ex[i].problem);
    }
    cr_assert(at22 > 0.77 * n && at22 < 0.85 * n, "(2,2): %d of %d", at22, n);
    // reproducible from the seed, and a different seed draws other problems
    cr_assert_eq(eval_population_draw(&tc, 8, 1, NULL, again, err), 0, "%s", err);
    for (int i = 0; i < 8; i++) cr_assert_str_eq(again[i].problem, ex[i].problem);
    cr_assert_eq(eval_population_draw(&tc, 8, 2, NULL, again, err), 0, "%s", err);
    int same = 0;
    for (int i = 0; i < 8; i++) same += !strcmp(again[i].problem, ex[i].problem);
    cr_assert(same < 8, "seed 2 drew seed 1's problems");
    free(ex);
    free(again);
}

Test(population, avoids_a_fixed_training_set)
{
    // a pool of 3000 of the 10000 2-digit problems: without avoidance about 30% of draws would hit it;
    // 16 redraws leave 0.3^17 per problem
    TaskConfig tc = task_config_make("task=add min_len=1 max_len=2 sampling=values train_size=3000");
    TaskPool pool;
    char err[ERR_MAX];
    cr_assert_eq(task_pool_build(&tc, &pool, err), 0, "%s", err);
    int n = 2000, hits = 0, hits_free = 0;
    TaskExample *ex = malloc(sizeof(TaskExample) * (size_t)n);
    cr_assert_eq(eval_population_draw(&tc, n, 3, &pool.keys, ex, err), 0, "%s", err);
    for (int i = 0; i < n; i++) hits += task_set_has(&pool.keys, task_problem_key(ex[i].problem));
    cr_assert_eq(eval_population_draw(&tc, n, 3, NULL, ex, err), 0, "%s", err);
    for (int i = 0; i < n; i++) hits_free += task_set_has(&pool.keys, task_problem_key(ex[i].problem));
    cr_assert_eq(hits, 0, "%d drawn problems are in the training set", hits);
    cr_assert(hits_free > n / 5, "the check above needs draws that would hit the pool: %d", hits_free);
    free(ex);
    task_pool_free(&pool);
}

Test(population, values_draws_uniform_operands_without_carry_balance_whatever_training_draws)
{
    // training: sampling=magnitude with balanced carries (1+1-digit problems about 1%, 3 carries
    // a quarter); eval.population = values: a, b uniform in [0, 1000), so (1,1) 0.01%, (3,3) 81%,
    // and 3 carries as often as uniform pairs have them (6.6%, counted below). n = 10000: sd
    // 0.004 at 0.81, 0.0025 at 0.066
    TaskConfig train = task_config_make("task=add min_len=1 max_len=3 sampling=magnitude balance_carries=1");
    TaskConfig tc = eval_population_task(&train, 1), same = eval_population_task(&train, 0);
    cr_assert_eq(same.sampling, train.sampling);
    cr_assert_eq(same.balance_carries, 1);
    int n = 10000, at11 = 0, at33 = 0, three = 0, three_uniform = 0;
    TaskExample *ex = malloc(sizeof(TaskExample) * (size_t)n);
    char err[ERR_MAX];
    cr_assert_eq(eval_population_draw(&tc, n, 5, NULL, ex, err), 0, "%s", err);
    for (int i = 0; i < n; i++) {
        at11 += ex[i].len_a == 1 && ex[i].len_b == 1;
        at33 += ex[i].len_a == 3 && ex[i].len_b == 3;
        int a = atoi(ex[i].a), b = atoi(ex[i].b);
        three += a % 10 + b % 10 >= 10 && (a / 10 % 10 + b / 10 % 10 + 1) >= 10 && (a / 100 + b / 100 + 1) >= 10;
    }
    // the share of the 10^6 pairs with three carries, counted
    for (int a = 0; a < 1000; a++)
        for (int b = 0; b < 1000; b++)
            three_uniform += a % 10 + b % 10 >= 10 && (a / 10 % 10 + b / 10 % 10 + 1) >= 10 && (a / 100 + b / 100 + 1) >= 10;
    cr_assert(at11 < 10, "(1,1): %d of %d", at11, n);
    cr_assert(fabs(at33 / (double)n - 0.81) < 0.02, "(3,3): %d of %d", at33, n);
    cr_assert(fabs(three / (double)n - three_uniform / 1e6) < 0.012, "3 carries: %d of %d (uniform pairs: %d in 10^6)",
              three, n, three_uniform);
    free(ex);
}

// ---------------------------------------------------------------- problems files

Test(problems_file, reads_prompts_answers_and_reversed_dollar_lines, .init = tmp_setup, .fini = tmp_teardown)
{
    TaskConfig tc = task_config_make("task=add max_len=3 format=reversed");
    char path[256];
    snprintf(path, sizeof path, "%s", tmp_path("problems.txt"));
    write_text(path, "# Lee et al. style\n527+751=\n  128+367  \r\n\n12+5=17\n$999+1=0001$\n$40+2=\n7+8=016\n");
    TaskExample *ex;
    int n, first_line;
    long disagree;
    char first[256], err[ERR_MAX];
    cr_assert_eq(eval_read_problems(&tc, path, &ex, &n, &disagree, &first_line, first, sizeof first, err), 0, "%s", err);
    cr_assert_eq(n, 6);
    const char *problems[] = { "527+751", "128+367", "12+5", "999+1", "40+2", "7+8" };
    const char *answers[] = { "1278", "495", "17", "1000", "42", "16" };
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(ex[i].problem, problems[i]);
        cr_assert_str_eq(ex[i].answer, answers[i], "line for %s", problems[i]);
    }
    cr_assert_eq(disagree, 1, "only 7+8=016 (read as 16) is wrong: %ld", disagree);
    cr_assert_eq(first_line, 8);
    cr_assert(strstr(first, "7+8=16") && strstr(first, "true answer is 15"), "%s", first);
    free(ex);
}

Test(problems_file, refuses_bad_lines_naming_file_and_line, .init = tmp_setup, .fini = tmp_teardown)
{
    TaskConfig tc = task_config_make("task=add max_len=3");
    char path[256];
    snprintf(path, sizeof path, "%s", tmp_path("bad.txt"));
    struct { const char *text, *want; } cases[] = {
        { "1+2\n3*4\n", ":2:" },
        { "1+2=3\n1+2=x\n", "is not a number" },
        { "\n# nothing\n", "no problems" },
        { "01+2\n", "leading zero" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(path, cases[i].text);
        TaskExample *ex;
        int n, fl;
        long dis;
        char err[ERR_MAX];
        cr_assert_eq(eval_read_problems(&tc, path, &ex, &n, &dis, &fl, NULL, 0, err), -1, "case %zu", i);
        cr_assert(strstr(err, path) && strstr(err, cases[i].want), "case %zu: %s", i, err);
    }
    TaskExample *ex;
    int n, fl;
    long dis;
    char err[ERR_MAX];
    cr_assert_eq(eval_read_problems(&tc, tmp_path("missing.txt"), &ex, &n, &dis, &fl, NULL, 0, err), -1);
    cr_assert(strstr(err, "--problems") && strstr(err, "cannot read"), "%s", err);
}

// ---------------------------------------------------------------- scoring and reporting

static void random_model(Model *m, const TaskConfig *tc)
{
    char err[ERR_MAX];
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = task_vocab_size();
    cfg.block_size = task_max_tokens(tc) - 1;
    cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = 32;
    cr_assert_eq(model_config_validate(&cfg, err), 0, "%s", err);
    cr_assert_eq(model_build(m, &cfg, 16, cfg.block_size, 5, err), 0, "%s", err);
}

Test(problems_file, scores_against_the_files_answers_and_names_every_population, .init = tmp_setup, .fini = tmp_teardown)
{
    TaskConfig tc = task_config_make("task=add max_len=2 format=reversed");
    Model m;
    random_model(&m, &tc);
    char path[256], want_s[512];
    snprintf(path, sizeof path, "%s", tmp_path("scored.txt"));
    write_text(path, "12+34=46\n5+5=11\n99+1\n");
    EvalPopulation pop[2];
    char err[ERR_MAX];
    cr_assert_eq(eval_population_file(&m, &tc, path, NULL, &pop[1], err), 0, "%s", err);
    cr_assert_eq(pop[1].n, 3);
    cr_assert_eq(pop[1].disagree, 1);
    snprintf(want_s, sizeof want_s, "file %s, 3 problems", path);
    cr_assert_str_eq(pop[1].name, want_s);

    // the score is exact match against each line's answer (5+5 against 11), decoded the same way here
    TaskExample *ex;
    int n, fl;
    long dis;
    cr_assert_eq(eval_read_problems(&tc, path, &ex, &n, &dis, &fl, NULL, 0, err), 0, "%s", err);
    char got[3][TASK_MAX_ANSWER];
    cr_assert_geq(eval_examples(&m, &tc, ex, n, 1, NULL, NULL, got, err), 0, "%s", err);
    long want = 0;
    for (int i = 0; i < n; i++) want += !strcmp(got[i], ex[i].answer);
    cr_assert_eq(pop[1].correct, want);
    free(ex);

    cr_assert_eq(eval_population_train(&m, &tc, 40, 1, NULL, &pop[0], err), 0, "%s", err);
    cr_assert_eq(pop[0].n, 40);
    cr_assert_str_eq(pop[0].name, "training distribution, 40 problems");

    char sum[256];
    snprintf(sum, sizeof sum, "%s", tmp_path("summary.txt"));
    FILE *f = fopen(sum, "w");
    eval_population_print(&pop[0], 0, f);
    eval_population_print(&pop[1], 0, f);
    fclose(f);
    char *text = slurp(sum);
    cr_assert(strstr(text, "training distribution, 40 problems: "), "%s", text);
    snprintf(want_s, sizeof want_s, "file %s, 3 problems: ", path);
    cr_assert(strstr(text, want_s), "%s", text);
    snprintf(want_s, sizeof want_s, "1 line of %s gives", path);
    cr_assert(strstr(text, want_s) && strstr(text, "line 2, 5+5=11, the true answer is 10"), "%s", text);

    cr_assert_eq(eval_population_csv(pop, 2, tmpdir, err), 0, "%s", err);
    text = slurp(tmp_path("accuracy_population.csv"));
    char row[512];
    snprintf(row, sizeof row, "file,%s,3,%ld,%.4f,%ld,%ld,1\n", path, pop[1].correct,
             pop[1].correct / 3.0, pop[1].r.malformed, pop[1].r.overlap);
    cr_assert(!strncmp(text, "population,source,n,correct,accuracy,malformed,overlap,answers_disagreeing\ntraining,,40,", 88),
              "%s", text);
    cr_assert(strstr(text, row), "want %s in\n%s", row, text);
    eval_population_free(&pop[0]);
    eval_population_free(&pop[1]);
    model_free(&m);
}

// ---------------------------------------------------------------- the CLI and the run directory

Test(cli, train_and_eval_name_the_population_of_every_number, .init = tmp_setup, .fini = tmp_teardown, .timeout = 300)
{
    char cmd[4096], out[16384], run_dir[256], probs[256], bad[256], ev[256];
    snprintf(run_dir, sizeof run_dir, "%s", tmp_path("run"));
    snprintf(probs, sizeof probs, "%s", tmp_path("probs.txt"));
    snprintf(bad, sizeof bad, "%s", tmp_path("bad.txt"));
    snprintf(ev, sizeof ev, "%s", tmp_path("ev"));
    write_text(probs, "12+34=46\n5+5=11\n");
    write_text(bad, "1+2\n3-1\n");
    snprintf(cmd, sizeof cmd, "%s train --out %s --set train.steps=2 --set model.n_layer=1 --set model.n_embd=32 "
             "--set model.n_head=2 --set train.batch_size=8 --set task.max_len=2 --set task.sampling=values "
             "--set eval.per_cell=2 --set eval.n_population=30 --set eval.n_during_train=4 --set train.threads=2",
             ARITHLAB_BIN, run_dir);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    char path[512];
    snprintf(path, sizeof path, "%s/eval/summary.txt", run_dir);
    char *text = slurp(path);
    cr_assert(strstr(text, "grid (len a, len b) 1..2, 2 per cell:\n"), "%s", text);
    cr_assert(strstr(text, "training distribution, 30 problems: "), "%s", text);
    snprintf(path, sizeof path, "%s/eval/accuracy_population.csv", run_dir);
    cr_assert(strstr(slurp(path), "\ntraining,,30,"), "%s", slurp(path));

    // eval.population = values: named as what it is, in the summary and the CSV's population column
    snprintf(cmd, sizeof cmd, "%s eval --run %s --out %s/evv --set eval.n_population=12 --set eval.population=values "
             "--threads 2", ARITHLAB_BIN, run_dir, tmpdir);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "operands uniform over the training range (carries not balanced), 12 problems: "), "%s", out);
    snprintf(path, sizeof path, "%s/evv/accuracy_population.csv", tmpdir);
    cr_assert(strstr(slurp(path), "\nvalues,,12,"), "%s", slurp(path));
    snprintf(cmd, sizeof cmd, "%s eval --run %s --out %s/evw --set eval.population=uniform", ARITHLAB_BIN, run_dir, tmpdir);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "eval.population") && strstr(out, "training") && strstr(out, "values"), "%s", out);

    snprintf(cmd, sizeof cmd, "%s eval --run %s --out %s --problems %s --set eval.n_population=10 --threads 2",
             ARITHLAB_BIN, run_dir, ev, probs);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    char want[512];
    snprintf(want, sizeof want, "file %s, 2 problems: ", probs);
    cr_assert(strstr(out, want) && strstr(out, "training distribution, 10 problems: ") && strstr(out, "grid (len a, len b) 1..2"),
              "%s", out);
    snprintf(path, sizeof path, "%s/summary.txt", ev);
    cr_assert(strstr(slurp(path), want), "%s", slurp(path));

    // a bad file: refused before decoding, naming the line, and no output directory
    snprintf(cmd, sizeof cmd, "%s eval --run %s --out %s/ev2 --problems %s", ARITHLAB_BIN, run_dir, tmpdir, bad);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);
    snprintf(want, sizeof want, "%s:2:", bad);
    cr_assert(strstr(out, want) && strstr(out, "accepted lines"), "%s", out);
    snprintf(path, sizeof path, "%s/ev2", tmpdir);
    cr_assert_neq(access(path, F_OK), 0, "%s was created", path);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s %s/evv", run_dir, ev, tmpdir);   // tmp_teardown removes plain files only
    run(cmd, out, sizeof out);
}
