// test_view.c: `arithlab view`: what the page holds and what the command refuses.
// The page in a real browser is tests/view_browser.py (CTest: view_browser).
#include <sys/stat.h>
#include "tests/test_util.h"

TestSuite(view, .init = scratch_enter, .fini = scratch_leave);

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(view, page_inlines_the_files_and_fetches_nothing)
{
    cr_assert_eq(system("mkdir -p run/eval"), 0);
    put("run/metrics.csv", "step,loss,lr,grad_norm,tokens_per_s,eval_accuracy,train_accuracy\n1,2.5,0.001,1,100,,\n2,2.0,0.001,1,100,0.5,\n");
    put("run/eval/accuracy_grid.csv", "len_a,len_b,n,correct,accuracy,in_distribution\n1,1,4,3,0.7500,1\n");
    put("run/config.ini", "# a </script> in a file must not end the page's data\n");
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "%s view --run run", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    char *page = slurp("run/view.html");
    cr_assert(strstr(page, "0.7500"), "the grid's CSV is inlined");
    cr_assert(strstr(page, "1,2.5,0.001"), "metrics.csv is inlined");
    cr_assert(strstr(page, "a <\\/script> in a file"), "'</' is escaped inside the data");
    cr_assert_null(strstr(page, "http://"), "the page names no network resource");
    cr_assert_null(strstr(page, "https://"), "the page names no network resource");
    cr_assert_null(strstr(page, "@DATA@"), "the data mark is replaced");
    free(page);
    // its own page is rewritten
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
}

Test(view, metrics_are_thinned_to_the_page_limit)
{
    cr_assert_eq(system("mkdir -p run"), 0);
    FILE *f = fopen("run/metrics.csv", "w");
    fprintf(f, "step,loss,lr,grad_norm,tokens_per_s,eval_accuracy,train_accuracy\n");
    for (int i = 1; i <= 10000; i++) fprintf(f, "%d,%g,0.001,1,100,,\n", i, 1.0 / i);
    fclose(f);
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "%s view --run run --out page.html", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    char *page = slurp("page.html");
    cr_assert(strstr(page, "\"metrics_thinned\":3"), "every third row kept");
    cr_assert(strstr(page, "\\n9997,"), "row 9997 kept");
    cr_assert_null(strstr(page, "\\n9998,"), "row 9998 left out");
    cr_assert(strstr(page, "\\n10000,"), "the last row kept");
    free(page);
}

Test(view, refuses_bad_input_naming_the_flag)
{
    cr_assert_eq(system("mkdir -p empty run && echo x > run/metrics.csv && echo mine > mine.html"), 0);
    struct { const char *args, *word; } cases[] = {
        {"view", "--run DIR is required"},
        {"view --run nowhere", "--run nowhere: not a directory"},
        {"view --run empty", "holds none of"},
        {"view --run run --out mine.html", "--out mine.html exists and is not a page written by arithlab view"},
        {"view --run run --threads -1", "--threads"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[1024], out[8192];
        snprintf(cmd, sizeof cmd, "%s %s", ARITHLAB_BIN, cases[i].args);
        cr_assert_eq(run(cmd, out, sizeof out), 2, "%s: %s", cases[i].args, out);
        cr_assert(strstr(out, cases[i].word), "%s: '%s' should say '%s'", cases[i].args, out, cases[i].word);
    }
    char *mine = slurp("mine.html");
    cr_assert_str_eq(mine, "mine\n", "a file that is not a page is left alone");
    free(mine);
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s view --help", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "--run") && strstr(out, "--problem"), "%s", out);
}

Test(view, attention_of_the_problem_asked_for)
{
    char cmd[1024], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --out run --set train.steps=5 --set model.n_layer=1 --set model.n_embd=16 "
             "--set model.n_head=2 --set train.eval_every=0 --set eval.per_cell=1 --set eval.n_population=0 "
             "--set task.max_len=2 --set task.pad_width=0 --set train.threads=1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s view --run run --problem '12+34' --threads 1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    char *page = slurp("run/view.html");
    cr_assert(strstr(page, "\"problem\":\"12+34\""), "the attention is of 12+34");
    cr_assert(strstr(page, "\"n_heads\":2"), "both heads");
    free(page);
    snprintf(cmd, sizeof cmd, "%s view --run run --problem '12+x' --threads 1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "--problem '12+x'"), "%s", out);
}
