// test_train.c: `arithlab train` as a user meets it: config errors stop the
// run before it starts, Ctrl-C saves a checkpoint, and a resumed run ends with
// the same checkpoint bits as one that was never stopped.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>
#include "model/checkpoint.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*len + 1);   // NUL-terminated, so that strstr can read it
    if (fread(b, 1, *len, f) != *len) { free(b); b = NULL; }
    else b[*len] = 0;
    fclose(f);
    return b;
}

static const char *TINY = "--set model.n_layer=1 --set model.n_embd=32 --set model.n_head=2 --set train.batch_size=16 "
                          "--set task.format=reversed --set task.max_len=3 --set eval.n_during_train=16 --set train.threads=2";

// a scratch directory per test process (Criterion forks one per test), so that
// two suites running at once never share a path
static char scratch_dir[64];
static const char *scratch(const char *name)
{
    static char p[8][128];
    static int k;
    if (!scratch_dir[0]) {
        strcpy(scratch_dir, "/tmp/arithlab_train_XXXXXX");
        cr_assert_not_null(mkdtemp(scratch_dir));
    }
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", scratch_dir, name);
    return p[k];
}

static void expect_config_error(const char *args, const char *needle)
{
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof(cmd), "%s train --out %s %s", ARITHLAB_BIN, scratch("cfgerr"), args);
    int rc = run(cmd, out, sizeof(out));
    cr_expect_eq(rc, 2, "exit %d for %s: %s", rc, args, out);
    cr_expect(strstr(out, needle) != NULL, "message for '%s' lacks '%s': %s", args, needle, out);
}

Test(train_config, unknown_key_names_the_key_and_what_is_accepted)
{
    expect_config_error("--set train.stepz=3", "unknown key 'stepz' in [train]: accepted steps");
}
Test(train_config, unknown_section_is_rejected)
{
    expect_config_error("--set optimizer.lr=3", "unknown section [optimizer]");
}
Test(train_config, wrong_type_and_range_are_rejected)
{
    expect_config_error("--set train.steps=many", "train.steps = 'many' is not a number");
    expect_config_error("--set train.steps=2.5", "must be a whole number");
    expect_config_error("--set model.tied=2", "model.tied = 2 is out of range: accepted 0..1");
    expect_config_error("--set task.format=backwards", "format");
}
Test(train_config, config_file_errors_name_file_and_line)
{
    const char *bad = scratch("bad.ini");
    char want[400];
    snprintf(want, sizeof want, "%s:4: unknown key 'n_layers' in [model]", bad);
    FILE *f = fopen(bad, "w");
    fputs("[train]\nsteps = 10\n[model]\nn_layers = 2\n", f);
    fclose(f);
    expect_config_error(bad, want);
}
Test(train_config, a_context_too_short_for_the_task_is_refused)
{
    expect_config_error("--set model.block_size=8 --set task.max_len=5", "model.block_size = 8 is too small");
}

// generous timeouts: about 60 s of CPU, which a loaded 2-core machine stretched past 240 s
Test(train, resumed_run_ends_with_the_same_checkpoint_bits, .timeout = 900)
{
    char cmd[2048], out[16384], full[128], stop[128], full_ckpt[160], stop_ckpt[160], stop_metrics[160], stop_log[160];
    snprintf(full, sizeof full, "%s", scratch("full"));
    snprintf(stop, sizeof stop, "%s", scratch("stop"));
    snprintf(full_ckpt, sizeof full_ckpt, "%s/ckpt.safetensors", full);
    snprintf(stop_ckpt, sizeof stop_ckpt, "%s/ckpt.safetensors", stop);
    snprintf(stop_metrics, sizeof stop_metrics, "%s/metrics.csv", stop);
    snprintf(stop_log, sizeof stop_log, "%s/log.txt", stop);
    snprintf(cmd, sizeof(cmd), "%s train --out %s --set train.steps=2000 --set train.ckpt_every=50 %s",
             ARITHLAB_BIN, full, TINY);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);

    // the same run, interrupted with SIGINT part way, then resumed
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl(ARITHLAB_BIN, ARITHLAB_BIN, "train", "--out", stop, "--set", "train.steps=2000",
              "--set", "train.ckpt_every=50", "--set", "model.n_layer=1", "--set", "model.n_embd=32", "--set", "model.n_head=2",
              "--set", "train.batch_size=16", "--set", "task.format=reversed", "--set", "task.max_len=3",
              "--set", "eval.n_during_train=16", "--set", "train.threads=2", (char *)NULL);
        _exit(127);
    }
    // interrupt once the run is under way (at least 100 steps logged), wherever it then is
    for (int tries = 0; tries < 6000; tries++) {
        size_t n = 0;
        char *csv = slurp(stop_metrics, &n);
        int lines = 0;
        for (size_t i = 0; csv && i < n; i++) lines += csv[i] == '\n';
        free(csv);
        if (lines > 100) break;
        usleep(10 * 1000);
    }
    kill(pid, SIGINT);
    int st;
    waitpid(pid, &st, 0);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    cr_expect(code == 130 || code == 0, "interrupted run exited %d", code);
    size_t nlog = 0;
    char *log = slurp(stop_log, &nlog);
    cr_assert(log);
    cr_expect(strstr(log, "interrupted at step") != NULL, "the run was not interrupted: %s", log);
    free(log);
    snprintf(cmd, sizeof(cmd), "%s train --resume %s", ARITHLAB_BIN, stop);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);

    size_t la = 0, lb = 0;
    char *a = slurp(full_ckpt, &la), *b = slurp(stop_ckpt, &lb);
    cr_assert(a && b);
    cr_expect(la == lb && memcmp(a, b, la) == 0, "checkpoints differ (%zu vs %zu bytes)", la, lb);
    free(a); free(b);
    // the metrics of the resumed run match too (the tokens/s column aside)
    snprintf(cmd, sizeof(cmd), "cut -d, -f1-4,6 %s/metrics.csv > %s/a.csv; cut -d, -f1-4,6 %s/metrics.csv > %s/b.csv",
             full, scratch_dir, stop, scratch_dir);
    system(cmd);
    snprintf(cmd, sizeof(cmd), "cmp -s %s/a.csv %s/b.csv", scratch_dir, scratch_dir);
    cr_expect_eq(system(cmd), 0, "metrics differ");
}

// plant x in one weight of the checkpoint, keeping its training state and run config
static void plant_weight(const char *ck, float x)
{
    char err[512];
    static TrainState st;
    Model m;
    cr_assert_eq(ckpt_build_model(&m, &st, 1, ck, 1, 1, err), 0, "%s", err);
    ParamInfo *p = model_find_tensor(&m, "transformer.h.0.mlp.c_fc.weight");
    cr_assert(p);
    m.params[p->offset + 5] = x;
    cr_assert_eq(ckpt_save(&m, &st, 1, ck, err), 0, "%s", err);
    model_free(&m);
}

Test(train, a_nan_stops_training_naming_step_and_tensor_and_keeps_the_checkpoint, .timeout = 600)
{
    char cmd[2048], out[16384];
    char nan_dir[128], ck[160];
    snprintf(nan_dir, sizeof nan_dir, "%s", scratch("nan"));
    snprintf(ck, sizeof ck, "%s/ckpt.safetensors", nan_dir);
    snprintf(cmd, sizeof(cmd), "%s train --out %s --set train.steps=40 --set train.eval_every=0 %s",
             ARITHLAB_BIN, nan_dir, TINY);
    cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
    size_t la = 0, lb = 0, n_good = 0;
    char *good = slurp(ck, &n_good);
    // a NaN weight in the checkpoint: --resume refuses it at load, naming the tensor (issue 15 item 10)
    plant_weight(ck, NAN);
    char *before = slurp(ck, &la);
    snprintf(cmd, sizeof(cmd), "%s train --resume %s --set train.steps=80", ARITHLAB_BIN, nan_dir);
    int rc = run(cmd, out, sizeof(out));
    cr_expect_eq(rc, 1, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "tensor 'transformer.h.0.mlp.c_fc.weight' holds NaN at element 5") != NULL, "%s", out);
    char *after = slurp(ck, &lb);
    cr_expect(la == lb && memcmp(before, after, la) == 0, "the checkpoint was changed");
    free(before); free(after);
    write_bytes(ck, good, n_good);   // the trained checkpoint back
    free(good);
    // a finite but huge weight: the first forward overflows; training stops naming the step, and
    // says which checkpoint (of which step) is kept
    plant_weight(ck, 3e38f);
    before = slurp(ck, &la);
    rc = run(cmd, out, sizeof(out));
    cr_expect_eq(rc, 1, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "at step 41") != NULL, "%s", out);
    cr_expect(strstr(out, "step 40) is kept") != NULL, "%s", out);
    after = slurp(ck, &lb);
    cr_expect(la == lb && memcmp(before, after, la) == 0, "the last good checkpoint was changed");
    free(before); free(after);
}

Test(train_config, a_model_too_big_for_memory_is_refused_with_the_estimate)
{
    expect_config_error("--set train.batch_size=200000 --set model.n_embd=1024 --set model.n_head=8",
                        "of memory is available");
    expect_config_error("--set train.batch_size=200000 --set model.n_embd=1024 --set model.n_head=8",
                        "lower train.batch_size");
}
