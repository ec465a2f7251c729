// test_results.c: results that say exactly what was run (issue 17): `arithlab --version`,
// config.ini's floats as the user wrote them, metrics.csv at full precision, and
// `eval --set` refusing the keys evaluation does not read.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/keys.h"
#include "model/optim.h"
#include "run/report.h"
#include "run/run.h"

TestSuite(results, .init = scratch_enter, .fini = scratch_leave);

// a 5-step run of a tiny model in ./run, learning rate 0.001 (20 warm-up steps, so
// every row's lr is a fraction of it that %.6g would round: 0.00020000001)
static void train_tiny(void)
{
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --out run --set train.steps=5 --set model.n_layer=1 --set model.n_embd=16 "
             "--set model.n_head=2 --set train.eval_every=0 --set eval.per_cell=2 --set task.max_len=3 "
             "--set train.lr=0.001 --set train.warmup_steps=20 --set train.threads=2", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
}

// ---------------------------------------------------------------- --version

Test(results, version_prints_the_cmake_project_version_and_exits_0)
{
    // the version is declared once, in CMakeLists.txt's project(... VERSION x.y.z ...)
    size_t n;
    char path[4096], want[64] = "";
    snprintf(path, sizeof path, "%s/CMakeLists.txt", ARITHLAB_SRC);
    char *cm = (char *)read_bytes(path, &n), *p = strstr(cm, "project(arithlab VERSION ");
    cr_assert(p, "CMakeLists.txt declares no project VERSION");
    sscanf(p + strlen("project(arithlab VERSION "), "%63[0-9.]", want);
    free(cm);
    cr_assert(*want, "no version number after project(arithlab VERSION");
    const char *forms[] = {"--version", "version"};
    for (int i = 0; i < 2; i++) {
        char cmd[4200], out[1024], expect[128];
        snprintf(cmd, sizeof cmd, "%s %s", ARITHLAB_BIN, forms[i]);
        int rc = run(cmd, out, sizeof out);
        cr_expect_eq(rc, 0, "arithlab %s: exit %d: %s", forms[i], rc, out);
        snprintf(expect, sizeof expect, "arithlab %s (commit ", want);
        cr_expect(!strncmp(out, expect, strlen(expect)), "arithlab %s printed '%s', expected it to start '%s'",
                  forms[i], out, expect);
        cr_expect(strstr(out, ")\n") != NULL, "arithlab %s: the commit is not closed: '%s'", forms[i], out);
    }
}

// ---------------------------------------------------------------- config.ini floats

Test(results, config_ini_writes_floats_as_the_user_wrote_them)
{
    RunConfig rc;
    char err[ERR_MAX];
    run_config_default(&rc);
    const char *sets[] = {"train.lr=0.001", "train.min_lr=3e-05", "train.weight_decay=0.01", "task.space_prob=0.3"};
    for (int i = 0; i < 4; i++) cr_assert_eq(run_config_apply_set(&rc, sets[i], err), 0, "%s", err);
    char *text = run_config_to_string(&rc);
    cr_assert_not_null(text);
    const char *lines[] = {"\nlr = 0.001\n", "\nmin_lr = 3e-05\n", "\nweight_decay = 0.01\n", "\nspace_prob = 0.3\n",
                           "\nbeta2 = 0.99\n", "\neps = 1e-08\n"};
    for (int i = 0; i < 6; i++) cr_expect(strstr(text, lines[i]) != NULL, "config text lacks '%s':\n%s", lines[i] + 1, text);
    // and the text reads back to the same values
    RunConfig back;
    run_config_default(&back);
    cr_assert_eq(run_config_load_string(&back, text, "text", err), 0, "%s", err);
    cr_expect(back.optim.lr == rc.optim.lr && back.optim.min_lr == rc.optim.min_lr &&
              back.optim.weight_decay == rc.optim.weight_decay && back.task.space_prob == rc.task.space_prob);
    free(text);
}

Test(results, float_text_is_the_shortest_that_reads_back_to_the_same_value)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int checked = 0;
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint32_t bits = (uint32_t)s;
        float v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) continue;
        char buf[64], shorter[400];
        key_format_float(buf, sizeof buf, v);
        cr_assert((float)strtod(buf, NULL) == v, "%.9g written as '%s', which reads back as %.9g", v, buf,
                  (float)strtod(buf, NULL));
        // one digit fewer does not read back (so the text is the shortest)
        int digits = 0;
        for (const char *c = buf; *c && *c != 'e'; c++) digits += *c >= '0' && *c <= '9';
        for (const char *c = buf; *c == '-' || *c == '0' || *c == '.'; c++) digits -= *c == '0';   // leading zeros
        if (digits > 1) {
            snprintf(shorter, sizeof shorter, "%.*g", digits - 1, (double)v);
            cr_assert((float)strtod(shorter, NULL) != v, "%.9g: '%s' is shorter than '%s' and reads back", v, shorter, buf);
        }
        checked++;
    }
    cr_expect_gt(checked, 19000);
    char buf[64];
    key_format_float(buf, sizeof buf, 0.001f);
    cr_expect_str_eq(buf, "0.001");
    key_format_double(buf, sizeof buf, 0.1);
    cr_expect_str_eq(buf, "0.1");
    key_format_double(buf, sizeof buf, 1.0 / 3.0);
    cr_expect(strtod(buf, NULL) == 1.0 / 3.0, "1/3 written as %s", buf);
}

// ---------------------------------------------------------------- metrics.csv

Test(results, metrics_csv_holds_each_float_exactly_and_the_curves_still_read_it, .timeout = 120)
{
    train_tiny();
    RunConfig rc;
    char err[ERR_MAX];
    run_config_default(&rc);
    cr_assert_eq(run_config_load_ini(&rc, "run/config.ini", err), 0, "%s", err);
    size_t n;
    char *csv = (char *)read_bytes("run/metrics.csv", &n);
    char *line = strtok(csv, "\n");
    cr_assert(line && !strncmp(line, "step,loss,lr,grad_norm,", 23), "header: %s", line ? line : "(none)");
    int rows = 0, long_gnorm = 0;
    while ((line = strtok(NULL, "\n"))) {
        long step;
        char loss[64], lr[64], gnorm[64], again[64];
        cr_assert_eq(sscanf(line, "%ld,%63[^,],%63[^,],%63[^,],", &step, loss, lr, gnorm), 4, "row: %s", line);
        // the learning rate is the schedule's float, exactly (row `step` was trained with step - 1)
        float want = adamw_lr(&rc.optim, (int)step - 1);
        cr_expect((float)strtod(lr, NULL) == want, "step %ld: lr '%s' is not %.9g", step, lr, want);
        // loss and gradient norm: the shortest text of a float (rounded text would differ from it)
        const char *fields[] = {loss, gnorm};
        for (int f = 0; f < 2; f++) {
            key_format_float(again, sizeof again, (float)strtod(fields[f], NULL));
            cr_expect_str_eq(again, fields[f], "step %ld: '%s' is not a float's round-trip text", step, fields[f]);
        }
        const char *dot = strchr(gnorm, '.');
        long_gnorm += dot && strlen(dot + 1) > 4;   // %.4f kept 4 decimals
        rows++;
    }
    free(csv);
    cr_expect_eq(rows, 5);
    cr_expect_gt(long_gnorm, 0, "no gradient norm has more than 4 decimals");
    cr_expect_eq(report_curves("run", err), 0, "loss.png from metrics.csv: %s", err);
    cr_expect_eq(access("run/loss.png", F_OK), 0, "report_curves wrote no loss.png");
}

// ---------------------------------------------------------------- eval --set

Test(results, eval_set_refuses_keys_evaluation_does_not_read, .timeout = 120)
{
    train_tiny();
    struct { const char *set, *says; int rc; } cases[] = {
        {"model.n_layer=3", "model.n_layer", 2},
        {"train.lr=5", "train.lr", 2},
        {"task.task=sub", "task.task = add", 2},      // the checkpoint's task, named
        {"task.format=plain", "task.format", 2},
        {"train.threads=1", "--threads", 2},
        {"eval.n_during_train=4", "eval.n_during_train", 2},
        {"task.task=add", NULL, 0},                   // the checkpoint's own value changes nothing
        {"eval.per_cell=1", NULL, 0},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        char cmd[4200], out[16384];
        snprintf(cmd, sizeof cmd, "%s eval --run run --out ev%d --threads 2 --set eval.per_cell=1 --set %s",
                 ARITHLAB_BIN, i, cases[i].set);
        int rc = run(cmd, out, sizeof out);
        cr_expect_eq(rc, cases[i].rc, "--set %s: exit %d, expected %d: %s", cases[i].set, rc, cases[i].rc, out);
        if (cases[i].says) {
            cr_expect(strstr(out, cases[i].says) != NULL, "--set %s: the message lacks '%s': %s", cases[i].set,
                      cases[i].says, out);
            cr_expect(strstr(out, "eval.per_cell, eval.max_len") != NULL, "--set %s: no list of accepted keys: %s",
                      cases[i].set, out);
            snprintf(cmd, sizeof cmd, "ev%d/accuracy_grid.csv", i);
            cr_expect_neq(access(cmd, F_OK), 0, "--set %s was refused but the evaluation ran", cases[i].set);
        }
    }
}

Test(results, eval_set_leaves_the_config_unchanged_when_it_refuses)
{
    RunConfig rc;
    char err[ERR_MAX];
    run_config_default(&rc);
    char *before = run_config_to_string(&rc);
    cr_expect_neq(run_config_apply_eval_set(&rc, "task.max_len=7", err), 0);
    cr_expect(strstr(err, "task.max_len") && strstr(err, "eval.max_len"), "%s", err);
    cr_expect_neq(run_config_apply_eval_set(&rc, "model.n_embd=64", err), 0);
    cr_expect_neq(run_config_apply_eval_set(&rc, "eval.per_cell=abc", err), 0);
    char *after = run_config_to_string(&rc);
    cr_expect_str_eq(after, before, "a refused --set changed the config");
    free(before), free(after);
    cr_expect_eq(run_config_apply_eval_set(&rc, "eval.max_len=7", err), 0, "%s", err);
    cr_expect_eq(rc.eval.max_len, 7);
}
