// test_solve.c: `arithlab solve` on many problems (--file FILE, "-", or standard
// input when no problem is given): answers in input order, one line each and the
// same as one problem at a time; spaces around operators; each problem echoed
// once; bad lines named by number with what the task accepts, the others still
// answered, exit 2; --help lists the notation of every task.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

TestSuite(solve, .init = scratch_enter, .fini = scratch_leave);

// a briefly trained 1..3-digit addition run whose answers vary from problem to problem
static void train_run(void)
{
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof(cmd), "%s train --out run --set train.steps=400 --set model.n_layer=1 --set model.n_embd=32 "
             "--set model.n_head=2 --set train.eval_every=0 --set eval.per_cell=2 --set eval.n_population=0 "
             "--set task.max_len=3 --set task.pad_width=0", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

// stdout only (args and redirections after the checkpoint); the exit status
static int solve_out(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "(%s solve --checkpoint run/ckpt.safetensors %s 2>/dev/null)", ARITHLAB_BIN, args);
    return run(cmd, out, cap);
}

static int solve_err(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "(%s solve --checkpoint run/ckpt.safetensors %s 2>&1 >/dev/null)", ARITHLAB_BIN, args);
    return run(cmd, out, cap);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

// line i (0-based) of text into line; 0 if there is none
static int nth_line(const char *text, int i, char *line, size_t cap)
{
    const char *p = text;
    for (; i > 0 && p; i--) { p = strchr(p, '\n'); if (p) p++; }
    if (!p || !*p) return 0;
    size_t n = strcspn(p, "\n");
    snprintf(line, cap, "%.*s", (int)n, p);
    return 1;
}

Test(solve, answers_many_problems_in_input_order_as_one_at_a_time, .timeout = 180)
{
    train_run();
    // prompt lengths all differ (so batching cannot change a row's numbers) and are
    // out of order (the decoder groups by length; the output must not)
    const char *problems[] = {"123+456", "1+2", "12+34", "5+67", "123+4", "12+3"};
    int n = 6;
    write_text("q.txt", "123+456\n1+2\n\n# a comment\n12+34\n5+67\n123+4\n12+3\n");
    char batch[8192], via_dash[8192], via_stdin[8192], one[1024], line[1024];
    cr_assert_eq(solve_out("--file q.txt", batch, sizeof batch), 0, "%s", batch);
    cr_assert_eq(count(batch, "\n"), n, "one line per problem, none for the blank and comment lines: %s", batch);
    for (int i = 0; i < n; i++) {
        char args[64];
        snprintf(args, sizeof args, "'%s'", problems[i]);
        int rc = solve_out(args, one, sizeof one);
        cr_assert(rc == 0 || rc == 3, "%s exited %d", problems[i], rc);
        cr_assert(nth_line(batch, i, line, sizeof line), "no line %d: %s", i, batch);
        char want[64];
        snprintf(want, sizeof want, "%s = ", problems[i]);
        cr_expect(!strncmp(line, want, strlen(want)), "line %d is '%s', not %s's", i + 1, line, problems[i]);
        if (rc == 0) {
            one[strcspn(one, "\n")] = 0;
            cr_expect_str_eq(line, one, "line %d differs from solving %s alone", i + 1, problems[i]);
        }
    }
    cr_assert_eq(solve_out("- < q.txt", via_dash, sizeof via_dash), 0, "%s", via_dash);
    cr_expect_str_eq(via_dash, batch, "'-' reads standard input");
    cr_assert_eq(solve_out("< q.txt", via_stdin, sizeof via_stdin), 0, "%s", via_stdin);
    cr_expect_str_eq(via_stdin, batch, "no problem and standard input not a terminal: read it");
    cr_expect_eq(solve_out("--file - < q.txt", via_dash, sizeof via_dash), 0);
    cr_expect_str_eq(via_dash, batch, "--file - reads standard input");
}

Test(solve, accepts_spaces_around_operators_and_echoes_the_problem_once, .timeout = 180)
{
    train_run();
    char spaced[1024], plain[1024], err[4096];
    int rc = solve_out("' 128 + 367 '", spaced, sizeof spaced);
    cr_assert(rc == 0 || rc == 3, "exit %d: %s", rc, spaced);
    cr_assert_eq(solve_out("128+367", plain, sizeof plain), rc);
    cr_expect_str_eq(spaced, plain, "'128 + 367' is 128+367");
    if (rc == 0) cr_expect_eq(count(plain, "128+367"), 1, "%s", plain);
    // a refused problem is named once in its message (it used to read "'12a+3': problem '12a+3': ...")
    cr_assert_eq(solve_err("'12a+3'", err, sizeof err), 2, "%s", err);
    cr_expect_eq(count(err, "12a+3"), 1, "%s", err);
    cr_expect(strstr(err, "'a' at position 2 is not a digit") && strstr(err, "task add takes a+b"), "%s", err);
    // spaces inside a number are not dropped: 12 8 is not 128
    cr_assert_eq(solve_err("'12 8+1'", err, sizeof err), 2, "%s", err);
    cr_expect(strstr(err, "' ' at position 2 is not a digit"), "%s", err);
}

Test(solve, names_bad_lines_answers_the_others_and_exits_2, .timeout = 180)
{
    train_run();
    write_text("bad.txt", "1+2\n12a+3\n\n12 + 34\n12*3\n");
    char out[8192], err[8192], line[1024], one[1024];
    cr_assert_eq(solve_out("--file bad.txt", out, sizeof out), 2, "%s", out);
    cr_assert_eq(count(out, "\n"), 4, "%s", out);
    cr_assert(nth_line(out, 1, line, sizeof line));
    cr_expect_str_eq(line, "12a+3 = ?   (refused: see the message for line 2)");
    cr_assert(nth_line(out, 3, line, sizeof line));
    cr_expect_str_eq(line, "12*3 = ?   (refused: see the message for line 5)");
    int rc = solve_out("12+34", one, sizeof one);
    cr_assert(nth_line(out, 2, line, sizeof line));
    if (rc == 0) { one[strcspn(one, "\n")] = 0; cr_expect_str_eq(line, one, "the good lines are still answered"); }
    cr_assert_eq(solve_err("--file bad.txt", err, sizeof err), 2);
    cr_expect(strstr(err, "bad.txt line 2: problem '12a+3': 'a' at position 2 is not a digit; task add takes a+b, e.g. 128+367"),
              "%s", err);
    cr_expect(strstr(err, "bad.txt line 5: problem '12*3' uses '*'"), "%s", err);
    cr_expect(strstr(err, "2 of 4 lines refused"), "%s", err);

    write_text("empty.txt", "\n# nothing\n");
    cr_expect_eq(solve_err("--file empty.txt", err, sizeof err), 2);
    cr_expect(strstr(err, "empty.txt holds no problem"), "%s", err);
    cr_expect_eq(solve_err("--file missing.txt", err, sizeof err), 2);
    cr_expect(strstr(err, "--file missing.txt: cannot read"), "%s", err);
    cr_expect_eq(solve_err("--file bad.txt 1+2", err, sizeof err), 2);
    cr_expect(strstr(err, "not both"), "%s", err);
}

Test(solve, help_names_the_notation_of_every_task)
{
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s solve --help", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    const char *want[] = {"--file", "standard input", "a+b, e.g. 128+367", "a-b with a >= b", "a*b",
                          "Q:5230,R:4,S:9", "modadd   a+b with a, b below task.modulus", "128 + 367", "LINE = ?"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(out, want[i]), "--help lacks '%s':\n%s", want[i], out);
}
