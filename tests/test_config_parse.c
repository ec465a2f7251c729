// test_config_parse.c: the run config's parser refuses what it cannot read as
// meant (issue 15, items 5, 11 and 14): an empty model.position, over-long INI
// lines, negative seeds, hex and space-padded numbers; and it warns when an INI
// file sets a key twice. Each test here failed on the parser before the fix.
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "run/run.h"

// an INI file holding text; its path in path (PATH_MAX)
static void write_ini_file(char *path, const char *text)
{
    snprintf(path, 64, "/tmp/arithlab_test_parse_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

// ---------------------------------------------------------------- item 5: model.position

Test(config_parse, an_empty_model_position_is_refused_by_set)
{
    RunConfig rc;
    run_config_default(&rc);
    char err[ERR_MAX] = "";
    cr_expect_eq(run_config_set(&rc, "model.position", "", err), -1, "model.position = '' accepted");
    cr_expect(strstr(err, "model.position") && strstr(err, "empty"), "%s", err);
    cr_expect_str_eq(rc.model.position, "absolute", "the refused value was stored");
}

Test(config_parse, a_model_position_of_no_scheme_is_refused_before_training)
{
    RunConfig rc;
    run_config_default(&rc);
    char err[ERR_MAX] = "";
    cr_assert_eq(run_config_set(&rc, "model.position", "+", err), 0, "%s", err);
    cr_expect_eq(run_config_resolve(&rc, err), -1, "model.position = '+' resolved");
    cr_expect(strstr(err, "model.position") && strstr(err, "rope"), "the message should list the schemes: %s", err);
}

Test(config_parse, train_with_an_empty_model_position_exits_non_zero_and_writes_no_run, .timeout = 60)
{
    char dir[] = "/tmp/arithlab_test_parse_run_XXXXXX", out[128], ckpt[160], cmd[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/run", dir);
    snprintf(cmd, sizeof cmd, "%s train --set model.position= --set train.steps=1 --set model.n_embd=16 "
             "--set model.n_layer=1 --out %s >/dev/null 2>&1", ARITHLAB_BIN, out);
    int status = system(cmd);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 0, "train with model.position= exited 0");
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    struct stat st;
    cr_expect_neq(stat(ckpt, &st), 0, "a checkpoint was written: %s", ckpt);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

// ---------------------------------------------------------------- item 11: long INI lines

Test(config_parse, the_tail_of_a_long_comment_is_not_read_as_a_setting)
{
    char text[1024], path[64], err[ERR_MAX] = "";
    char pad[301];
    memset(pad, 'x', 300);
    pad[300] = 0;
    snprintf(text, sizeof text, "[train]\n; %s log_every = 7\nsteps = 5\n", pad);
    write_ini_file(path, text);
    RunConfig rc;
    run_config_default(&rc);
    int r = run_config_load_ini(&rc, path, err);
    unlink(path);
    cr_expect_eq(r, 0, "%s", err);
    cr_expect_eq(rc.train.log_every, 10, "the comment's tail set train.log_every = %d", rc.train.log_every);
    cr_expect_eq(rc.train.steps, 5);
}

Test(config_parse, an_over_long_setting_line_is_refused_naming_its_line)
{
    char text[1024], path[64], err[ERR_MAX] = "";
    char pad[251];
    memset(pad, ' ', 250);
    pad[250] = 0;
    snprintf(text, sizeof text, "[train]\nsteps = 5\nlog_every = 3%s; why\n", pad);
    write_ini_file(path, text);
    RunConfig rc;
    run_config_default(&rc);
    int r = run_config_load_ini(&rc, path, err);
    char want[128];
    snprintf(want, sizeof want, "%s:3:", path);
    unlink(path);
    cr_expect_eq(r, -1, "a %zu-byte line was accepted", strlen(pad) + 20);
    cr_expect(strstr(err, want) && strstr(err, "bytes"), "want '%s' and the accepted length in: %s", want, err);
}

// ---------------------------------------------------------------- item 14: numbers

Test(config_parse, negative_and_space_padded_seeds_are_refused)
{
    const char *bad[] = {"-1", " -1", " 1", "+1", "1 ", "0x10", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        RunConfig rc;
        run_config_default(&rc);
        char err[ERR_MAX] = "";
        cr_expect_eq(run_config_set(&rc, "train.seed", bad[i], err), -1, "train.seed = '%s' became %llu", bad[i],
                     (unsigned long long)rc.train.seed);
        cr_expect(strstr(err, "train.seed") && strstr(err, "decimal digits"), "%s", err);
        cr_expect_eq(rc.train.seed, 1, "the refused value was stored");
    }
}

Test(config_parse, hex_and_space_padded_numbers_are_refused_saying_what_is_accepted)
{
    static const char *const bad[][2] = {
        {"train.steps", "0x10"}, {"train.steps", " 5"}, {"train.steps", "5 "}, {"train.lr", "0x1p-3"},
        {"train.lr", " 0.5"}, {"model.n_layer", "0x2"}, {"eval.per_cell", "\t7"}, {"train.steps", "1e"},
        {"train.steps", "."}, {"task.max_len", "0x3"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        RunConfig rc;
        run_config_default(&rc);
        char err[ERR_MAX] = "";
        cr_expect_eq(run_config_set(&rc, bad[i][0], bad[i][1], err), -1, "%s = '%s' accepted", bad[i][0], bad[i][1]);
        cr_expect(strstr(err, bad[i][0]) && strstr(err, "decimal"), "%s = '%s': %s", bad[i][0], bad[i][1], err);
    }
    // what a person writes is still read
    static const char *const good[][2] = {
        {"train.steps", "16"}, {"train.lr", "1e-3"}, {"train.lr", ".5"}, {"train.steps", "1e3"}, {"train.eps", "1E-8"},
        {"train.grad_clip", "+2.5"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        RunConfig rc;
        run_config_default(&rc);
        char err[ERR_MAX] = "";
        cr_expect_eq(run_config_set(&rc, good[i][0], good[i][1], err), 0, "%s = '%s': %s", good[i][0], good[i][1], err);
    }
}

// ---------------------------------------------------------------- item 14: keys set twice

Test(config_parse, a_key_set_twice_warns_naming_it_and_both_lines, .init = cr_redirect_stderr)
{
    char path[64], err[ERR_MAX] = "";
    write_ini_file(path, "[train]\nlog_every = 3\nsteps = 4\n\n[eval]\nper_cell = 5\n[train]\nlog_every = 7\n");
    RunConfig rc;
    run_config_default(&rc);
    int r = run_config_load_ini(&rc, path, err);
    fflush(stderr);
    unlink(path);
    cr_expect_eq(r, 0, "%s", err);
    cr_expect_eq(rc.train.log_every, 7, "the last value is kept");
    FILE *f = cr_get_redirected_stderr();
    char out[2048] = "";
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    char want[128];
    snprintf(want, sizeof want, "%s:8: train.log_every is set again (first at line 2)", path);
    cr_expect(strstr(out, want) != NULL, "want '%s' in stderr: '%s'", want, out);
}

Test(config_parse, keys_of_the_same_name_in_different_sections_are_no_duplicates, .init = cr_redirect_stderr)
{
    char path[64], err[ERR_MAX] = "";
    write_ini_file(path, "[train]\nbatch_size = 8\n[eval]\nbatch_size = 9\n");
    RunConfig rc;
    run_config_default(&rc);
    cr_expect_eq(run_config_load_ini(&rc, path, err), 0, "%s", err);
    unlink(path);
    fflush(stderr);
    cr_expect_stderr_eq_str("");
    cr_expect_eq(rc.train.batch_size, 8);
    cr_expect_eq(rc.eval.batch_size, 9);
}

// cutting the text into lines here must keep what the INI library did: a UTF-8 byte
// order mark, CRLF line ends, inline comments, ':' as the separator
Test(config_parse, bom_crlf_inline_comments_and_colons_still_read)
{
    char path[64], err[ERR_MAX] = "";
    write_ini_file(path, "\xEF\xBB\xBF[train]\r\nsteps = 12 ; a comment\r\n# another\r\nlog_every: 4\r\n\r\n[task]\r\n"
                         "format = plain\r\n");
    RunConfig rc;
    run_config_default(&rc);
    int r = run_config_load_ini(&rc, path, err);
    unlink(path);
    cr_expect_eq(r, 0, "%s", err);
    cr_expect_eq(rc.train.steps, 12);
    cr_expect_eq(rc.train.log_every, 4);
    cr_expect_eq(rc.task.format, TASK_FMT_PLAIN);
}

Test(config_parse, errors_name_the_line_of_a_bad_value)
{
    char path[64], err[ERR_MAX] = "", want[128];
    write_ini_file(path, "; top\n\n[train]\nsteps = 3\n\n; more\nlr = fast\n");
    RunConfig rc;
    run_config_default(&rc);
    cr_expect_eq(run_config_load_ini(&rc, path, err), -1);
    snprintf(want, sizeof want, "%s:7: train.lr = 'fast' is not a number", path);
    unlink(path);
    cr_expect(strstr(err, want) != NULL, "want '%s' in '%s'", want, err);
}
