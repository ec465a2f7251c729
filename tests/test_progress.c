// test_progress.c: the progress bar fits the terminal it is drawn on (its width,
// less the last column), keeps its size as the count grows, and is drawn only on
// a terminal: evaluation's on standard error, training's on standard output, each
// checked through the binary under a pseudo-terminal of a known width.
#define _GNU_SOURCE   // forkpty
#include <criterion/criterion.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/progress.h"
#include "tests/test_util.h"

// ---------------------------------------------------------------- the line

Test(progress, the_line_fits_every_width_and_the_bar_keeps_its_size)
{
    char buf[1024];
    const char *texts[] = {NULL, "", "problems of the accuracy grid", "loss 1.2345 100036 tok/s eta 12345s"};
    for (int cols = 1; cols <= 300; cols++)
        for (int t = 0; t < 4; t++) {
            int len0 = progress_format(buf, sizeof buf, cols, 0, 2500, texts[t]);
            cr_assert_eq(len0, (int)strlen(buf));
            cr_assert_leq(len0, cols > 1 ? cols - 1 : 1, "%d columns: '%s' (%d)", cols, buf, len0);
            char *bar0 = strchr(buf, '[') ? strdup(buf) : NULL;
            int len1 = progress_format(buf, sizeof buf, cols, 2500, 2500, texts[t]);
            cr_assert_leq(len1, cols > 1 ? cols - 1 : 1, "%d columns: '%s'", cols, buf);
            cr_expect_eq(len0, len1, "%d columns: the line changed length from 0/2500 to 2500/2500", cols);
            if (bar0) {
                cr_expect_eq(strcspn(bar0, "]"), strcspn(buf, "]"), "%d columns: the bar changed size", cols);
                cr_expect(strchr(bar0, '#') == NULL, "an empty bar has a filled cell: %s", bar0);
                cr_expect(strchr(buf, '.') == NULL || strchr(buf, '.') > strchr(buf, ']'), "a full bar has an empty cell: %s", buf);
                free(bar0);
            }
        }
}

Test(progress, the_bar_fills_in_proportion_and_goes_before_the_count)
{
    char buf[256];
    progress_format(buf, sizeof buf, 80, 1, 4, NULL);   // a quarter of a 40-cell bar
    cr_expect_str_eq(buf, "[##########..............................] 1/4");
    // 30 columns: the text is cut, not the count; no room for a 10-cell bar beside a long text
    progress_format(buf, sizeof buf, 30, 7, 12, "a long description of what is counted");
    cr_expect(strncmp(buf, " 7/12 a long", 12) == 0, "%s", buf);
    cr_expect_eq(strlen(buf), 29);
    progress_format(buf, sizeof buf, 1000, 12, 12, NULL);   // never wider than 40 cells
    cr_expect_eq(strcspn(buf, "]"), 41, "%s", buf);
}

// ---------------------------------------------------------------- through the binary

// cmd run by sh under a pseudo-terminal of cols columns (stdin, stdout, stderr all on
// it); everything it wrote into out; its exit status
static int run_pty(const char *cmd, int cols, char *out, size_t cap)
{
    int fd;
    struct winsize ws = {.ws_row = 40, .ws_col = (unsigned short)cols};
    pid_t pid = forkpty(&fd, NULL, NULL, &ws);
    cr_assert_geq(pid, 0, "forkpty");
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, out + n, cap - 1 - n);
        if (k <= 0) break;   // EIO once the child has gone
        n += (size_t)k;
        if (n == cap - 1) break;
    }
    out[n] = 0;
    close(fd);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// every piece of out between carriage returns or newlines that holds needle fits in
// cols - 1 characters once the erase-line escape is taken off; how many there are
static int bar_lines_fit(const char *out, const char *needle, int cols)
{
    int n = 0;
    const char *p = out;
    while (*p) {
        size_t len = strcspn(p, "\r\n");
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1), p);
        if (strstr(line, needle)) {
            const char *vis = strncmp(line, "\033[K", 3) ? line : line + 3;
            cr_expect_leq((int)strlen(vis), cols - 1, "%d columns: '%s'", cols, vis);
            n++;
        }
        p += len;
        if (*p) p++;
    }
    return n;
}

#define TINY "--set train.threads=1 --set model.n_layer=1 --set model.n_embd=16 --set model.n_head=2"

Test(progress, eval_and_training_draw_a_bar_that_fits_only_on_a_terminal, .init = tmp_setup, .fini = tmp_teardown,
     .timeout = 120)
{
    static char out[1 << 20];
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s train --out %s/r " TINY " --set train.steps=200 --set eval.per_cell=2", ARITHLAB_BIN, tmpdir);
    cr_assert_eq(run_pty(cmd, 52, out, sizeof out), 0, "%s", out);
    cr_expect_gt(bar_lines_fit(out, "tok/s eta", 52), 0, "no training bar on a terminal: %s", out);

    snprintf(cmd, sizeof cmd, "%s eval --run %s/r --threads 1 --set eval.per_cell=10", ARITHLAB_BIN, tmpdir);
    cr_assert_eq(run_pty(cmd, 47, out, sizeof out), 0, "%s", out);
    cr_expect_gt(bar_lines_fit(out, "problems of the", 47), 1, "no evaluation bar on a terminal: %s", out);
    cr_expect(strstr(out, "250/250") != NULL, "the bar never reached the grid's 25 cells x 10: %s", out);
    cr_expect(strstr(out, "in-distribution") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s eval --run %s/r --threads 1 --set eval.per_cell=10", ARITHLAB_BIN, tmpdir);
    cr_assert_eq(run_pty(cmd, 200, out, sizeof out), 0, "%s", out);
    bar_lines_fit(out, "problems of the", 200);

    // standard error a pipe (stdout the terminal): no bar
    snprintf(cmd, sizeof cmd, "%s eval --run %s/r --threads 1 --set eval.per_cell=10 2>%s/err.txt", ARITHLAB_BIN, tmpdir, tmpdir);
    cr_assert_eq(run_pty(cmd, 80, out, sizeof out), 0, "%s", out);
    size_t n;
    char *err = (char *)read_bytes(tmp_path("err.txt"), &n);
    cr_expect(strstr(err, "problems of the") == NULL && strstr(out, "problems of the") == NULL,
              "a bar without a terminal on standard error: %s", err);
    free(err);
    // training into a file: lines, no bar
    snprintf(cmd, sizeof cmd, "%s train --out %s/r2 " TINY " --set train.steps=20 --set eval.per_cell=2 >%s/train.txt 2>&1",
             ARITHLAB_BIN, tmpdir, tmpdir);
    cr_assert_eq(run_pty(cmd, 80, out, sizeof out), 0, "%s", out);
    char *tl = (char *)read_bytes(tmp_path("train.txt"), &n);
    cr_expect(strchr(tl, '\r') == NULL && strstr(tl, "problems of the") == NULL, "%s", tl);
    free(tl);
}
