// test_crash.c: crash safety of `arithlab train` and of the parsers of outside
// input. A run killed with SIGKILL at random moments resumes to the same
// checkpoint bits as one never stopped, and the checkpoint on disk always
// loads; an unwritable run directory or a full disk gives a clear error and
// never a corrupt checkpoint. Every input the fuzzers of tests/fuzz/ crashed
// on (tests/fuzz/regressions/) and every seed replays through the fuzz
// targets' own entry points (their checks included) without a crash.

// ---------------------------------------------------------------- the fuzz targets, replayed
// Their entry points under their own names (tests/fuzz/fuzz_targets.h; CMakeLists.txt links them in).
#include "tests/fuzz/fuzz_targets.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/common.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "run/run.h"
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

// ---------------------------------------------------------------- files

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) { fclose(f); return NULL; }
    *len = (size_t)sb.st_size;
    unsigned char *b = malloc(*len ? *len : 1);
    if (b && fread(b, 1, *len, f) != *len) { free(b); b = NULL; }
    fclose(f);
    return b;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

// files in dir whose names start with prefix
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
    closedir(d);
    return n;
}

static char g_base[64];   // this test's scratch directory

// in memory when possible: the runs fsync every checkpoint, which a busy disk
// makes slow, and what SIGKILL can do to a file does not depend on the medium
static void scratch_setup(void)
{
    strcpy(g_base, access("/dev/shm", W_OK) == 0 ? "/dev/shm/arithlab_crash_XXXXXX" : "/tmp/arithlab_crash_XXXXXX");
    cr_assert_not_null(mkdtemp(g_base));
}

static void scratch_teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+w %s 2>/dev/null; rm -rf %s", g_base, g_base);
    if (system(cmd) != 0) cr_log_warn("could not remove %s", g_base);
}

static const char *in_base(const char *name)
{
    static char paths[8][512];
    static int k;
    char *p = paths[k++ % 8];
    snprintf(p, 512, "%s/%s", g_base, name);
    return p;
}

// ---------------------------------------------------------------- running the CLI

// `arithlab train` of the tiny model every test here trains; a small final
// evaluation grid (eval.per_cell), which the checkpoints do not depend on, keeps
// the runs short
static const char *const TINY[] = {
    "--set", "model.n_layer=1", "--set", "model.n_embd=32", "--set", "model.n_head=2",
    "--set", "train.batch_size=16", "--set", "task.max_len=3", "--set", "train.steps=300",
    "--set", "train.ckpt_every=20", "--set", "eval.n_during_train=16", "--set", "train.threads=2",
    "--set", "eval.per_cell=4",
};
#define N_TINY (int)(sizeof TINY / sizeof TINY[0])

typedef struct {
    const char *v[64];
    int n;
} Argv;

static void arg(Argv *a, const char *s) { if (a->n < 62) a->v[a->n++] = s; }

static Argv train_fresh(const char *dir, const char *extra_set)
{
    Argv a = { { ARITHLAB_BIN, "train", "--out", dir }, 4 };
    for (int i = 0; i < N_TINY; i++) arg(&a, TINY[i]);
    if (extra_set) { arg(&a, "--set"); arg(&a, extra_set); }
    return a;
}

static Argv train_resume(const char *dir, const char *extra_set)
{
    Argv a = { { ARITHLAB_BIN, "train", "--resume", dir }, 4 };
    if (extra_set) { arg(&a, "--set"); arg(&a, extra_set); }
    return a;
}

// start the CLI with stdout and stderr in log; fsize_limit > 0: RLIMIT_FSIZE in
// bytes, with SIGXFSZ ignored so that an oversized write fails with EFBIG
static pid_t spawn(Argv a, const char *log, long fsize_limit)
{
    a.v[a.n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        if (fsize_limit > 0) {
            signal(SIGXFSZ, SIG_IGN);   // an ignored signal stays ignored across exec
            struct rlimit rl = { (rlim_t)fsize_limit, (rlim_t)fsize_limit };
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(125);
        }
        execv(a.v[0], (char *const *)a.v);
        _exit(127);
    }
    return pid;
}

// exit code, or 128 + signal
static int wait_exit(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_cli(Argv a, const char *log, long fsize_limit, char *out, size_t cap)
{
    int code = wait_exit(spawn(a, log, fsize_limit));
    size_t n = 0;
    unsigned char *text = slurp(log, &n);
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), text ? (char *)text : "");
    free(text);
    return code;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

// the checkpoint loads completely (every byte checked); its step, or -1 + a failed assertion
static long checkpoint_step(const char *path)
{
    char err[ERR_MAX];
    ModelConfig cfg;
    cr_assert_eq(ckpt_read_config(path, &cfg, err), 0, "checkpoint does not load: %s", err);
    static TrainState st;
    Model m;
    cr_assert_eq(ckpt_build_model(&m, &st, 1, path, 1, 1, err), 0, "checkpoint does not load: %s", err);
    model_free(&m);
    return (long)st.step;
}

// ---------------------------------------------------------------- SIGKILL at random moments

TestSuite(crash, .init = scratch_setup, .fini = scratch_teardown);

Test(crash, training_killed_at_random_moments_resumes_to_the_same_bits, .timeout = 600)
{
    const char *ref = in_base("ref"), *run = in_base("run"), *log = in_base("log.txt");
    char ckpt[600], out[16384];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", run);

    int code = run_cli(train_fresh(ref, NULL), log, 0, out, sizeof out);
    cr_assert_eq(code, 0, "uninterrupted run exited %d:\n%s", code, out);
    const char *done = strstr(out, "done: 300 steps in ");
    double train_s = 0;
    cr_assert(done && sscanf(done, "done: 300 steps in %lfs", &train_s) == 1, "no training time in:\n%s", out);

    // kill moments from a fixed seed: a random point of the training steps still
    // to run (timed by the uninterrupted run), so that most kills land mid-training
    uint64_t rng = rng_seed(20240611);
    long last_step = -1;
    int fresh = 1;
    pid_t pid = -1;
    for (int kill_no = 0;; kill_no++) {
        if (!fresh && !exists(ckpt)) {
            // killed before the first checkpoint: resume must refuse cleanly; start over
            code = run_cli(train_resume(run, NULL), log, 0, out, sizeof out);
            cr_assert(code == 1 || code == 2, "resume without a checkpoint exited %d:\n%s", code, out);
            cr_assert(strstr(out, "--resume") && strstr(out, run), "resume without a checkpoint says:\n%s", out);
            cr_log_info("resume after kill %d refused (no checkpoint yet): started afresh", kill_no);
            fresh = 1;
        }
        pid = spawn(fresh ? train_fresh(run, NULL) : train_resume(run, NULL), log, 0);
        fresh = 0;
        if (kill_no == 3) break;   // the last segment runs to the end
        double left = (300.0 - (last_step > 0 ? last_step : 0)) / 300.0;
        double at = 0.05 + (0.05 + 0.9 * rng_f32(&rng)) * train_s * left;
        sleep_s(at);
        kill(pid, SIGKILL);
        code = wait_exit(pid);
        cr_assert(code == 128 + SIGKILL || code == 0, "run exited %d before the kill", code);
        long step = exists(ckpt) ? checkpoint_step(ckpt) : -1;   // never a torn or half-written file
        cr_log_info("kill %d at %.2fs: %s; checkpoint at step %ld", kill_no + 1, at,
                    code == 0 ? "the run had already finished" : "killed", step);
        cr_assert_geq(step, last_step, "checkpoint went back from step %ld to %ld", last_step, step);
        last_step = step;
    }
    code = wait_exit(pid);
    size_t n = 0;
    unsigned char *text = slurp(log, &n);
    cr_assert_eq(code, 0, "final segment exited %d:\n%.*s", code, (int)n, text ? (char *)text : "");
    free(text);

    size_t la = 0, lb = 0;
    char ref_ckpt[600];
    snprintf(ref_ckpt, sizeof ref_ckpt, "%s/ckpt.safetensors", ref);
    unsigned char *a = slurp(ref_ckpt, &la), *b = slurp(ckpt, &lb);
    cr_assert(a && b, "a final checkpoint is missing");
    cr_expect(la == lb && memcmp(a, b, la) == 0, "checkpoint after 3 kills differs from the uninterrupted one "
              "(%zu vs %zu bytes)", lb, la);
    cr_expect_eq(checkpoint_step(ckpt), 300);
    free(a);
    free(b);
}

Test(crash, resume_without_a_checkpoint_fails_with_a_message)
{
    char out[8192];
    // nothing at all, then a config.ini but no checkpoint (killed in between)
    const char *dir = in_base("empty");
    cr_assert_eq(mkdir(dir, 0755), 0);
    int code = run_cli(train_resume(dir, NULL), in_base("log1.txt"), 0, out, sizeof out);
    cr_expect(code == 1 || code == 2, "exit %d:\n%s", code, out);
    cr_expect(strstr(out, "--resume") && strstr(out, dir), "message does not name --resume and the directory:\n%s", out);
    cr_expect(!strstr(out, "step "), "training started:\n%s", out);

    FILE *f = fopen(in_base("empty/config.ini"), "w");
    cr_assert(f);
    fputs("[model]\nn_layer = 1\nn_embd = 32\nn_head = 2\n[train]\nbatch_size = 16\n[task]\nmax_len = 3\n", f);
    fclose(f);
    code = run_cli(train_resume(dir, NULL), in_base("log2.txt"), 0, out, sizeof out);
    cr_expect_eq(code, 1, "exit %d:\n%s", code, out);
    cr_expect(strstr(out, "ckpt.safetensors") && strstr(out, "cannot open"), "message:\n%s", out);
    cr_expect(!strstr(out, "step "), "training started:\n%s", out);
}

// ---------------------------------------------------------------- nowhere to write

// the CLI refuses the run directory before any training step
static void expect_refused_before_training(Argv a, long fsize_limit, const char *needle)
{
    char out[8192];
    double t0 = time_s();
    int code = run_cli(a, in_base("log.txt"), fsize_limit, out, sizeof out);
    cr_expect(code == 1 || code == 2, "exit %d (not a clean failure):\n%s", code, out);
    cr_expect(strstr(out, needle) != NULL, "message lacks '%s':\n%s", needle, out);
    cr_expect(!strstr(out, "step "), "training started:\n%s", out);
    cr_expect_lt(time_s() - t0, 10.0, "took %.1fs to fail", time_s() - t0);
}

Test(crash, unwritable_run_directory_is_refused_before_training, .timeout = 60)
{
    // a path under a regular file: mkdir fails (ENOTDIR), as root too
    const char *file = in_base("a_file");
    FILE *f = fopen(file, "w");
    cr_assert(f);
    fclose(f);
    char under[600];
    snprintf(under, sizeof under, "%s/run", file);
    expect_refused_before_training(train_fresh(under, NULL), 0, "cannot create");

    // a directory with room for less than config.ini (RLIMIT_FSIZE stands for a
    // full disk or quota, and binds root too; it leaves room for the message,
    // which goes to a file here)
    const char *dir = in_base("full");
    expect_refused_before_training(train_fresh(dir, NULL), 1024, "config.ini");
    cr_expect(!exists(in_base("full/ckpt.safetensors")));

    // a read-only directory; root writes through mode bits, so only as a user
    if (geteuid() != 0) {
        const char *ro = in_base("readonly");
        cr_assert_eq(mkdir(ro, 0555), 0);
        expect_refused_before_training(train_fresh(ro, NULL), 0, "config.ini");
    }
}

// ---------------------------------------------------------------- disk full during a checkpoint

Test(crash, full_disk_during_a_checkpoint_keeps_the_last_good_one, .timeout = 120)
{
    const char *dir = in_base("run");
    char ckpt[600], out[16384];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
    // the last good checkpoint: a run of 40 steps (checkpoints at 20 and 40)
    int code = run_cli(train_fresh(dir, "train.steps=40"), in_base("log1.txt"), 0, out, sizeof out);
    cr_assert_eq(code, 0, "first run exited %d:\n%s", code, out);
    size_t n_good = 0;
    unsigned char *good = slurp(ckpt, &n_good);
    cr_assert(good && n_good > 1000);

    // continue to 300 steps on a disk where a file may grow to half a checkpoint:
    // the other files fit, the next checkpoint (step 60) does not
    code = run_cli(train_resume(dir, "train.steps=300"), in_base("log2.txt"), (long)(n_good / 2), out, sizeof out);
    cr_expect_eq(code, 1, "exit %d (1 expected: a clean failure, not a signal):\n%s", code, out);
    cr_expect(strstr(out, "ckpt.safetensors") && strstr(out, strerror(EFBIG)),
              "message does not name the checkpoint and the error:\n%s", out);
    cr_expect(strstr(out, "resuming") != NULL, "did not resume:\n%s", out);

    size_t n_now = 0;
    unsigned char *now = slurp(ckpt, &n_now);
    cr_assert(now, "the last good checkpoint is gone");
    cr_expect(n_now == n_good && memcmp(now, good, n_good) == 0, "the last good checkpoint changed");
    cr_expect_eq(checkpoint_step(ckpt), 40);
    cr_expect_eq(count_prefixed(dir, "ckpt.safetensors.tmp"), 0, "a temp file was left behind");
    free(good);
    free(now);
}

// resuming rewrites config.ini first; a disk that fills then must leave the old
// one whole, or the next --resume would quietly take defaults for the lost keys
Test(crash, full_disk_while_resuming_keeps_config_ini_whole, .timeout = 120)
{
    const char *dir = in_base("run");
    char ini[600], ckpt[600], out[16384];
    snprintf(ini, sizeof ini, "%s/config.ini", dir);
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
    int code = run_cli(train_fresh(dir, "train.steps=20"), in_base("log1.txt"), 0, out, sizeof out);
    cr_assert_eq(code, 0, "first run exited %d:\n%s", code, out);
    size_t n_ini = 0;
    unsigned char *before = slurp(ini, &n_ini);
    cr_assert(before && n_ini > 1024, "config.ini of %zu bytes: the limit below would not bite", n_ini);

    code = run_cli(train_resume(dir, "train.steps=40"), in_base("log2.txt"), 1024, out, sizeof out);
    cr_expect_eq(code, 1, "exit %d:\n%s", code, out);
    cr_expect(strstr(out, "config.ini") != NULL, "message does not name config.ini:\n%s", out);
    size_t n_now = 0;
    unsigned char *now = slurp(ini, &n_now);
    cr_expect(now && n_now == n_ini && memcmp(now, before, n_ini) == 0,
              "config.ini was left at %zu of its %zu bytes", n_now, n_ini);
    cr_expect_eq(count_prefixed(dir, "config.ini.tmp"), 0, "a temp file was left behind");
    free(before);
    free(now);

    // and the run still resumes as it was configured
    code = run_cli(train_resume(dir, "train.steps=40"), in_base("log3.txt"), 0, out, sizeof out);
    cr_expect_eq(code, 0, "resume after the failed one exited %d:\n%s", code, out);
    cr_expect_eq(checkpoint_step(ckpt), 40);
}

// ---------------------------------------------------------------- fuzz regressions and seeds

// the input being replayed, named on stderr if it brings the process down
static char g_replaying[1400];

static void on_fatal_signal(int sig)
{
    static const char head[] = "\ncrashed while replaying ";
    if (write(STDERR_FILENO, head, sizeof head - 1) < 0 ||
        write(STDERR_FILENO, g_replaying, strlen(g_replaying)) < 0 || write(STDERR_FILENO, "\n", 1) < 0) {}
    signal(sig, SIG_DFL);
    raise(sig);
}

// every file of tests/fuzz/<kind>/<target>/ through one entry point
static int replay_dir(const char *kind, const char *target, int (*one)(const uint8_t *, size_t))
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", ARITHLAB_SRC, kind, target);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(g_replaying, sizeof g_replaying, "%s/%s", dir, e->d_name);
        size_t len = 0;
        unsigned char *data = slurp(g_replaying, &len);
        cr_assert(data, "cannot read %s", g_replaying);
        one(data, len);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

static void replay(const char *target, int (*init)(int *, char ***), int (*one)(const uint8_t *, size_t))
{
    // under ASan (tools/sanitize.sh) a finding ends in abort(); its own SIGSEGV handler stays
    signal(SIGABRT, on_fatal_signal);
#ifndef __SANITIZE_ADDRESS__
    int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], on_fatal_signal);
#endif
    init(NULL, NULL);
    int n = replay_dir("regressions", target, one);
    int seeds = replay_dir("corpus", target, one);
    cr_expect_gt(seeds, 0, "no seeds in tests/fuzz/corpus/%s", target);
    cr_log_info("%s: %d regressions, %d seeds replayed", target, n, seeds);
}

Test(fuzz_regressions, safetensors_inputs_load_or_fail_cleanly)
{
    replay("safetensors", fuzz_safetensors_init, fuzz_safetensors_one);
}
Test(fuzz_regressions, npy_inputs_read_or_fail_cleanly) { replay("npy", fuzz_npy_init, fuzz_npy_one); }
Test(fuzz_regressions, ini_inputs_load_or_fail_cleanly) { replay("ini", fuzz_ini_init, fuzz_ini_one); }
Test(fuzz_regressions, problems_parse_or_fail_cleanly) { replay("problem", fuzz_problem_init, fuzz_problem_one); }

// found by fuzz_ini: numbers outside what a long holds, and NaN, were cast
// before the range check (undefined behaviour); NaN floats passed it. Non-finite
// words are no decimal numbers at all now (core/keys.c), huge ones are out of range.
Test(fuzz_regressions, non_finite_and_huge_config_numbers_are_refused)
{
    static const char *const bad[][3] = {
        { "model.block_size", "1e111", "out of range" }, { "train.steps", "nan", "is not a number" },
        { "train.steps", "-inf", "is not a number" }, { "train.lr", "nan", "is not a number" },
        { "train.lr", "inf", "is not a number" }, { "eval.per_cell", "1e19", "out of range" },
        { "train.lr", "1e999", "out of range" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        RunConfig rc;
        run_config_default(&rc);
        char err[ERR_MAX] = "";
        cr_expect_eq(run_config_set(&rc, bad[i][0], bad[i][1], err), -1, "%s = %s accepted", bad[i][0], bad[i][1]);
        cr_expect(strstr(err, bad[i][2]) != NULL, "%s = %s: %s", bad[i][0], bad[i][1], err);
    }
}

// the fuzz targets are linked in, not included: no test or fuzz target includes a .c file
Test(fuzz_regressions, no_test_includes_a_c_file)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "grep -lE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"][^>\"]*\\.c[>\"]' "
             "%s/tests/*.c %s/tests/fuzz/*.c 2>/dev/null", ARITHLAB_SRC, ARITHLAB_SRC);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char found[4096] = "";
    size_t n = fread(found, 1, sizeof found - 1, p);
    found[n] = 0;
    pclose(p);
    cr_expect_str_eq(found, "", "these files include a .c file:\n%s", found);
}
