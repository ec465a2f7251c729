// test_cli.c: the engine-facing subcommands as other tools call them:
// init, logits (checked against the in-process forward), bench, --help.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "model/checkpoint.h"
#include "core/npy.h"
#include "core/vocab.h"

TestSuite(cli, .init = scratch_enter, .fini = scratch_leave);
TestSuite(eval, .init = scratch_enter, .fini = scratch_leave);
TestSuite(solve, .init = scratch_enter, .fini = scratch_leave);

Test(cli, logits_match_the_in_process_forward)
{
    char cmd[2048], out[8192], err[ERR_MAX];
    snprintf(cmd, sizeof(cmd), "%s init --out cli.safetensors --seed 3 --set model.vocab_size=13 "
             "--set model.block_size=10 --set model.n_embd=24 --set model.n_head=3 --set model.n_layer=2", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
    int32_t tok[2 * 7];
    for (int i = 0; i < 14; i++) tok[i] = (i * 5 + 1) % 13;
    int64_t shape[2] = {2, 7};
    cr_assert_eq(npy_write_i32("cli_tok.npy", tok, 2, shape, err), 0, "%s", err);
    snprintf(cmd, sizeof(cmd), "%s logits --checkpoint cli.safetensors --tokens cli_tok.npy "
             "--out cli_logits.npy", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
    NpyArray a;
    cr_assert_eq(npy_read("cli_logits.npy", &a, err), 0, "%s", err);
    cr_assert_eq(a.ndim, 3);
    cr_assert(a.shape[0] == 2 && a.shape[1] == 7 && a.shape[2] == 13);
    Model m;
    cr_assert_eq(ckpt_build_model(&m, NULL, 0, "cli.safetensors", 2, 7, err), 0, "%s", err);
    int t[14];
    for (int i = 0; i < 14; i++) t[i] = tok[i];
    model_forward(&m, t, NULL, 2, 7);
    cr_expect(memcmp(a.data, m.logits, sizeof(float) * 2 * 7 * 13) == 0, "logits differ from the in-process forward");
    model_free(&m);
    npy_free(&a);
}

Test(cli, logits_rejects_ids_outside_the_vocabulary)
{
    char cmd[2048], out[8192], err[ERR_MAX];
    snprintf(cmd, sizeof(cmd), "%s init --out cli2.safetensors --set model.vocab_size=5 --set model.block_size=8",
             ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
    int32_t tok[4] = {1, 2, 9, 0};
    int64_t shape[2] = {1, 4};
    cr_assert_eq(npy_write_i32("cli_bad.npy", tok, 2, shape, err), 0);
    snprintf(cmd, sizeof(cmd), "%s logits --checkpoint cli2.safetensors --tokens cli_bad.npy "
             "--out cli_x.npy", ARITHLAB_BIN);
    cr_expect_eq(run(cmd, out, sizeof(out)), 1, "%s", out);
    cr_expect(strstr(out, "id 9") && strstr(out, "[0, 5)"), "%s", out);
}

Test(cli, bench_prints_one_csv_line_per_config)
{
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof(cmd), "%s bench --config tiny --steps 1 --threads 2 --csv", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
    int commas = 0;
    for (char *p = out; *p; p++) commas += *p == ',';
    cr_expect(strncmp(out, "tiny,", 5) == 0 && commas == 7, "%s", out);
    double ms = atof(out + 5);
    cr_expect(ms > 0, "%s", out);
}

// abacus trains on real, padded problems: its useful (non-padding) tokens/s is below
// tokens/s, and the batches it saves for tools/torch_peer.py are those problems
Test(cli, bench_abacus_counts_useful_tokens_and_saves_its_batches)
{
    char cmd[1024], out[8192], err[ERR_MAX];
    (void)system("rm -rf /tmp/arithlab_cli_batches");
    snprintf(cmd, sizeof(cmd), "%s bench --config abacus --steps 1 --threads 2 --csv --save-batches /tmp/arithlab_cli_batches",
             ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
    cr_assert(strncmp(out, "abacus,", 7) == 0, "%s", out);
    double f[7];
    cr_assert_eq(sscanf(out + 7, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]), 7, "%s", out);
    double tok_s = f[1], useful_s = f[6];
    NpyArray x, y;
    cr_assert_eq(npy_read("/tmp/arithlab_cli_batches/abacus_inputs.npy", &x, err), 0, "%s", err);
    cr_assert_eq(npy_read("/tmp/arithlab_cli_batches/abacus_targets.npy", &y, err), 0, "%s", err);
    // 1..10-digit reverse-all addition: <bos> 10 digits + 10 digits = 11 digits <eos> is 35 tokens, T = 34
    cr_assert(x.ndim == 3 && x.shape[1] == 128 && x.shape[2] == 34 && y.shape[0] == x.shape[0], "shape %lld %lld %lld",
              (long long)x.shape[0], (long long)x.shape[1], (long long)x.shape[2]);
    long n = (long)(x.shape[0] * x.shape[1] * x.shape[2]), pad = 0, trained = 0;
    const int32_t *xi = x.data, *yi = y.data;
    for (long i = 0; i < n; i++) { pad += xi[i] == TASK_PAD; trained += yi[i] >= 0; }
    for (long r = 0; r < n / 34; r++) cr_expect_eq(xi[r * 34], TASK_BOS, "row %ld does not start with <bos>", r);
    cr_expect(pad > 0 && pad < n && trained > 0, "pad %ld trained %ld of %ld", pad, trained, n);
    double want = tok_s * (double)(n - pad) / n;
    cr_expect(useful_s > 0.99 * want && useful_s < 1.01 * want, "useful %.0f, tokens %.0f, non-pad share %.3f: %s",
              useful_s, tok_s, (double)(n - pad) / n, out);
    npy_free(&x);
    npy_free(&y);
    // random-token configs have no batches to save: refused, naming the flag
    snprintf(cmd, sizeof(cmd), "%s bench --config tiny --steps 1 --save-batches /tmp/arithlab_cli_batches", ARITHLAB_BIN);
    cr_expect_eq(run(cmd, out, sizeof(out)), 2, "%s", out);
    cr_expect(strstr(out, "--save-batches") && strstr(out, "abacus"), "%s", out);
}

Test(cli, every_subcommand_has_help_and_unknown_ones_fail)
{
    const char *cmds[] = {"train", "eval", "solve", "init", "logits", "replay", "bench", "bench-decode", "cache"};
    char cmd[1024], out[16384];
    for (int i = 0; i < 9; i++) {
        snprintf(cmd, sizeof(cmd), "%s %s --help", ARITHLAB_BIN, cmds[i]);
        cr_expect_eq(run(cmd, out, sizeof(out)), 0, "%s --help: %s", cmds[i], out);
        cr_expect(strstr(out, "usage: arithlab") != NULL, "%s --help: %s", cmds[i], out);
    }
    // bench-decode: the checkpoint is required, counts are at least 1
    snprintf(cmd, sizeof(cmd), "%s bench-decode --max-len 3", ARITHLAB_BIN);
    cr_expect_eq(run(cmd, out, sizeof(out)), 2, "%s", out);
    cr_expect(strstr(out, "--checkpoint FILE is required") != NULL, "%s", out);
    snprintf(cmd, sizeof(cmd), "%s bench-decode --checkpoint x --per-cell 0", ARITHLAB_BIN);
    cr_expect_eq(run(cmd, out, sizeof(out)), 2, "%s", out);
    cr_expect(strstr(out, "--per-cell") != NULL, "%s", out);
    snprintf(cmd, sizeof(cmd), "%s frobnicate", ARITHLAB_BIN);
    cr_expect_eq(run(cmd, out, sizeof(out)), 2);
    cr_expect(strstr(out, "unknown command 'frobnicate'") != NULL, "%s", out);
    snprintf(cmd, sizeof(cmd), "%s train --bogus", ARITHLAB_BIN);
    cr_expect_eq(run(cmd, out, sizeof(out)), 2);
    cr_expect(strstr(out, "unknown argument '--bogus'") != NULL, "%s", out);
}

// a briefly trained run to ask questions of (its answers need not be right), one per test
// process: Criterion runs the tests in parallel, and a shared directory was removed under one
// test by another's rm -rf
static char solve_dir[64];

static const char *solve_ckpt(void)
{
    static char ckpt[128];
    if (!*solve_dir) {
        char cmd[2048], out[16384];
        snprintf(solve_dir, sizeof(solve_dir), "cli_run_%d", (int)getpid());
        snprintf(cmd, sizeof(cmd), "rm -rf %s && %s train --out %s --set train.steps=5 "
                 "--set model.n_layer=1 --set model.n_embd=16 --set model.n_head=2 --set train.eval_every=0 "
                 "--set eval.per_cell=2 --set task.max_len=3 --set task.pad_width=0", solve_dir, ARITHLAB_BIN, solve_dir);
        cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
        snprintf(ckpt, sizeof(ckpt), "%s/ckpt.safetensors", solve_dir);
    }
    return ckpt;
}

static void solve_cleanup(void)
{
    char cmd[128], out[256];
    if (!*solve_dir) return;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", solve_dir);
    run(cmd, out, sizeof(out));
}

static void expect_solve_error(const char *problem, int code, const char *needle)
{
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof(cmd), "%s solve --checkpoint %s '%s'", ARITHLAB_BIN, solve_ckpt(), problem);
    int rc = run(cmd, out, sizeof(out));
    cr_expect_eq(rc, code, "'%s' exited %d: %s", problem, rc, out);
    cr_expect(strstr(out, needle) != NULL, "'%s': message lacks '%s': %s", problem, needle, out);
}

Test(solve, answers_a_well_formed_problem_in_ordinary_notation, .timeout = 120, .fini = solve_cleanup)
{
    expect_solve_error("128+367", 0, "128+367 = ");
}

Test(solve, rejects_malformed_problems_with_clear_messages, .timeout = 120, .fini = solve_cleanup)
{
    expect_solve_error("12a+3", 2, "'a' at position 2 is not a digit");
    expect_solve_error("12*3", 2, "uses '*', but this run's task add uses '+'");
    expect_solve_error("12345678901234567890+1", 2, "more than the model's context");
    expect_solve_error("", 2, "problem is empty");
    expect_solve_error("1+", 2, "the second operand is missing");
    expect_solve_error("01+2", 2, "leading zero");
}

Test(solve, rejects_a_checkpoint_without_a_run_config, .timeout = 60)
{
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof(cmd), "%s init --out cli3.safetensors && %s solve --checkpoint cli3.safetensors 1+2",
             ARITHLAB_BIN, ARITHLAB_BIN);
    cr_expect_eq(run(cmd, out, sizeof(out)), 2, "%s", out);
    cr_expect(strstr(out, "no run configuration") != NULL, "%s", out);
}

// a briefly trained run in dir of 1..3-digit addition zero-padded to 4 digits, the widest
// answer it has (999+999 = 1998); dir is the test's own, as Criterion runs tests in parallel
static void padded_run(const char *dir)
{
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && %s train --out %s --set train.steps=5 --set model.n_layer=1 "
             "--set model.n_embd=16 --set model.n_head=2 --set train.eval_every=0 --set eval.per_cell=2 "
             "--set task.max_len=3 --set task.pad_width=4", dir, ARITHLAB_BIN, dir);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
}

Test(eval, refuses_a_max_len_whose_answers_do_not_fit_pad_width, .timeout = 120)
{
    const char *dir = "cli_eval_pad";
    char cmd[2048], out[16384];
    padded_run(dir);
    // 4-digit operands have 5-digit sums: no cell with one could be filled
    snprintf(cmd, sizeof(cmd), "rm -rf %s/eval && %s eval --run %s --set eval.max_len=4 --set eval.per_cell=2",
             dir, ARITHLAB_BIN, dir);
    int rc = run(cmd, out, sizeof(out));
    cr_expect_neq(rc, 0, "eval.max_len=4 with pad_width=4 must be refused: %s", out);
    cr_expect(strstr(out, "eval.max_len = 4") && strstr(out, "pad_width") && strstr(out, "eval.max_len = 1..3"),
              "the message names eval.max_len, pad_width and what is accepted: %s", out);
    snprintf(cmd, sizeof(cmd), "test -e %s/eval/accuracy_grid.csv", dir);
    cr_expect_neq(run(cmd, out, sizeof(out)), 0, "no grid is written for a refused evaluation");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    run(cmd, out, sizeof(out));
}

Test(eval, eval_and_solve_run_on_the_threads_asked_for, .timeout = 120)
{
    const char *dir = "cli_eval_threads";
    char cmd[2048], out[16384];
    padded_run(dir);
    snprintf(cmd, sizeof(cmd), "%s eval --run %s --set eval.per_cell=2 --threads 1", ARITHLAB_BIN, dir);
    cr_expect_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
    cr_expect(strstr(out, ", 1 thread\n") != NULL, "the model evaluates on 1 thread: %s", out);
    // the model has had 5 steps: its answer may not parse (exit 3), but --threads must be taken
    snprintf(cmd, sizeof(cmd), "%s solve --checkpoint %s/ckpt.safetensors --threads 1 '12+34'", ARITHLAB_BIN, dir);
    int rc = run(cmd, out, sizeof(out));
    cr_expect(rc == 0 || rc == 3, "solve --threads 1 exited %d: %s", rc, out);
    snprintf(cmd, sizeof(cmd), "%s solve --checkpoint %s/ckpt.safetensors --threads -1 '12+34'", ARITHLAB_BIN, dir);
    cr_expect_eq(run(cmd, out, sizeof(out)), 2, "a negative thread count is refused: %s", out);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    run(cmd, out, sizeof(out));
}
