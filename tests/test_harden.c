// test_harden.c: issue 15, "never lose a run": an existing run is never
// replaced by a refused or accidental `train --out`, and two trainings never
// write one run directory at once (the run directory lock).
#include "tests/test_util.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include "core/files.h"
#include "core/npy.h"
#include "model/checkpoint.h"

static const char *S = "--set model.n_layer=1 --set model.n_embd=16 --set model.n_head=2 --set train.steps=5 "
                       "--set eval.per_cell=1 --set eval.n_during_train=4 --set task.max_len=2 --set task.pad_width=3 "
                       "--set train.threads=1";

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(len + 1);
    *n = fread(b, 1, len, f);
    b[*n] = 0;
    fclose(f);
    return b;
}

static void expect_same_file(const char *path, const char *before, size_t n_before)
{
    size_t n = 0;
    char *now = slurp(path, &n);
    cr_assert(now, "%s is gone", path);
    cr_expect(n == n_before && memcmp(now, before, n) == 0, "%s changed (%zu bytes, was %zu)", path, n, n_before);
    free(now);
}

static void rm_run(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(harden, refused_train_out_into_an_existing_run_leaves_it_whole, .init = tmp_setup, .timeout = 120)
{
    char cmd[2048], out[16384], dir[256];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    snprintf(cmd, sizeof cmd, "%s train --out %s %s", ARITHLAB_BIN, dir, S);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    const char *names[] = {"config.ini", "log.txt", "metrics.csv", "ckpt.safetensors"};
    char *before[4], path[4][300];
    size_t n[4];
    for (int i = 0; i < 4; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
        before[i] = slurp(path[i], &n[i]);
        cr_assert(before[i] && n[i] > 0, "%s missing after training", path[i]);
    }
    // a refused config, and a valid one, both into the existing run: refused, pointing at --resume
    const char *extra[] = {"--set model.position=absolute+bogus", ""};
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "%s train --out %s %s %s", ARITHLAB_BIN, dir, S, extra[k]);
        int rc = run(cmd, out, sizeof out);
        cr_expect_eq(rc, 2, "exit %d for '%s': %s", rc, extra[k], out);
        cr_expect(strstr(out, "already holds a run") && strstr(out, "--resume") && strstr(out, "--force"),
                  "message for '%s' does not say what to do: %s", extra[k], out);
        for (int i = 0; i < 4; i++) expect_same_file(path[i], before[i], n[i]);
    }
    // the run still resumes
    snprintf(cmd, sizeof cmd, "%s train --resume %s --set train.steps=6", ARITHLAB_BIN, dir);
    cr_expect_eq(run(cmd, out, sizeof out), 0, "%s", out);
    // --force replaces it
    snprintf(cmd, sizeof cmd, "%s train --out %s --force %s", ARITHLAB_BIN, dir, S);
    cr_expect_eq(run(cmd, out, sizeof out), 0, "%s", out);
    for (int i = 0; i < 4; i++) free(before[i]);
    rm_run(dir);
    tmp_teardown();
}

Test(harden, training_into_a_locked_run_directory_is_refused_naming_the_holder, .init = tmp_setup, .timeout = 120)
{
    char cmd[2048], out[16384], dir[256], lock[300], pid[32];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    // this process holds the lock, as a running training would
    snprintf(lock, sizeof lock, "%s/lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    cr_assert_eq(write(fd, pid, len), len);
    pid[len - 1] = 0;

    snprintf(cmd, sizeof cmd, "%s train --out %s %s", ARITHLAB_BIN, dir, S);
    int rc = run(cmd, out, sizeof out);
    cr_expect_eq(rc, 1, "exit %d: %s", rc, out);
    char want[96];
    snprintf(want, sizeof want, "in use by process %s", pid);
    cr_expect(strstr(out, want) && strstr(out, dir), "message lacks '%s' or the directory: %s", want, out);
    char p[300];
    snprintf(p, sizeof p, "%s/config.ini", dir);
    cr_expect(access(p, F_OK) != 0, "the refused run wrote %s", p);
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    cr_expect(access(p, F_OK) != 0, "the refused run wrote %s", p);

    // once the holder is gone (the kernel drops the lock of a dead process too), training proceeds
    close(fd);
    cr_expect_eq(run(cmd, out, sizeof out), 0, "%s", out);
    rm_run(dir);
    tmp_teardown();
}

Test(harden, two_trainings_at_once_into_one_directory_one_is_refused, .init = tmp_setup, .timeout = 180)
{
    char cmd[2048], out[16384], dir[256];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    snprintf(cmd, sizeof cmd, "(%s train --out %s %s --set train.steps=400 > %s/a.txt 2>&1; echo $? > %s/a.rc) & "
                              "sleep 0.5; %s train --out %s %s --set train.steps=400 2>&1; r=$?; wait; exit $r",
             ARITHLAB_BIN, dir, S, tmpdir, tmpdir, ARITHLAB_BIN, dir, S);
    int rc = run(cmd, out, sizeof out);
    size_t n = 0;
    char *a_rc = slurp(tmp_path("a.rc"), &n), *a_out = slurp(tmp_path("a.txt"), &n);
    cr_assert(a_rc && a_out);
    int rc_a = atoi(a_rc);
    // exactly one of them ran; the other was refused (lock held, or the run already there)
    cr_expect((rc_a == 0) != (rc == 0), "both or neither ran: first %d (%s), second %d (%s)", rc_a, a_out, rc, out);
    const char *refused = rc_a == 0 ? out : a_out;
    cr_expect(strstr(refused, "in use by process") || strstr(refused, "already holds a run"), "%s", refused);
    free(a_rc);
    free(a_out);
    rm_run(dir);
    tmp_teardown();
}

// run CMD under a 30 s timeout: a FIFO used to hang the open forever
static void expect_refused(const char *cmd, const char *needle)
{
    char full[2400], out[16384];
    snprintf(full, sizeof full, "timeout 30 %s", cmd);
    int rc = run(full, out, sizeof out);
    cr_expect(rc != 124, "hung (killed by timeout): %s", cmd);
    cr_expect(rc == 1 || rc == 2, "exit %d for %s: %s", rc, cmd, out);
    cr_expect(strstr(out, needle) != NULL, "message for %s lacks '%s': %s", cmd, needle, out);
}

Test(harden, a_fifo_or_directory_given_as_an_input_is_refused_not_read, .init = tmp_setup, .timeout = 240)
{
    char cmd[2048], out[16384], dir[256], fifo[300], p[600];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    snprintf(cmd, sizeof cmd, "%s train --out %s %s", ARITHLAB_BIN, dir, S);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);

    // a FIFO as the config file, the checkpoint of eval and solve, and a .npy of logits
    snprintf(cmd, sizeof cmd, "%s train %s --out %s/x", ARITHLAB_BIN, fifo, tmpdir);
    expect_refused(cmd, "is a FIFO: accepted only a regular config (.ini) file");
    snprintf(cmd, sizeof cmd, "%s eval --checkpoint %s", ARITHLAB_BIN, fifo);
    expect_refused(cmd, "is a FIFO: accepted only a regular checkpoint");
    snprintf(cmd, sizeof cmd, "%s solve --checkpoint %s 1+2", ARITHLAB_BIN, fifo);
    expect_refused(cmd, "is a FIFO: accepted only a regular checkpoint");
    snprintf(cmd, sizeof cmd, "%s logits --checkpoint %s/ckpt.safetensors --tokens %s --out %s/l.npy", ARITHLAB_BIN, dir, fifo, tmpdir);
    expect_refused(cmd, "is a FIFO: accepted only a regular .npy file");
    // a directory as the config file: refused, not read as an empty config
    snprintf(cmd, sizeof cmd, "%s train %s --out %s/x", ARITHLAB_BIN, dir, tmpdir);
    expect_refused(cmd, "is a directory: accepted only a regular config (.ini) file");
    // the checkpoint of --resume replaced by a FIFO
    snprintf(p, sizeof p, "%s/ckpt.safetensors", dir);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(mkfifo(p, 0644), 0);
    snprintf(cmd, sizeof cmd, "%s train --resume %s --set train.steps=6", ARITHLAB_BIN, dir);
    expect_refused(cmd, "is a FIFO: accepted only a regular checkpoint");
    rm_run(dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s/x", tmpdir);
    system(cmd);
    tmp_teardown();
}

// ---------------------------------------------------------------- --resume against the checkpoint (item 3)

static void train_run(const char *dir, const char *extra)
{
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --out %s %s %s", ARITHLAB_BIN, dir, S, extra);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
}

Test(harden, resume_refuses_a_checkpoint_that_differs_from_the_run_naming_the_key, .init = tmp_setup, .timeout = 120)
{
    char cmd[2048], out[16384], dir[256], wide[256], p[300], q[300];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    snprintf(wide, sizeof wide, "%s/w", tmpdir);
    train_run(dir, "");
    train_run(wide, "--set model.n_embd=32");
    // a d=32 checkpoint copied into the d=16 run
    snprintf(p, sizeof p, "%s/ckpt.safetensors", dir);
    snprintf(q, sizeof q, "%s/ckpt.safetensors", wide);
    size_t n_own = 0, n_wide = 0;
    char *own = slurp(p, &n_own), *w = slurp(q, &n_wide);
    cr_assert(own && w);
    write_bytes(p, w, n_wide);
    snprintf(cmd, sizeof cmd, "%s train --resume %s --set train.steps=8", ARITHLAB_BIN, dir);
    int rc = run(cmd, out, sizeof out);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "model.n_embd = 16") && strstr(out, "model.n_embd = 32"), "message does not name the key: %s", out);
    expect_same_file(p, w, n_wide);
    write_bytes(p, own, n_own);

    // config.ini edited behind the checkpoint's back: a task key, an optimizer key
    snprintf(p, sizeof p, "%s/config.ini", dir);
    size_t n_ini = 0;
    char *ini = slurp(p, &n_ini);
    const char *edits[][3] = {{"balance_carries = 0", "balance_carries = 1", "task.balance_carries"},
                              {"\nlr = 0.001", "\nlr = 0.002", "train.lr"}};
    for (int k = 0; k < 2; k++) {
        char *at = strstr(ini, edits[k][0]);
        cr_assert(at, "config.ini lacks '%s'", edits[k][0]);
        char *edited = malloc(n_ini + 64);
        snprintf(edited, n_ini + 64, "%.*s%s%s", (int)(at - ini), ini, edits[k][1], at + strlen(edits[k][0]));
        write_bytes(p, edited, strlen(edited));
        rc = run(cmd, out, sizeof out);
        cr_expect_eq(rc, 2, "exit %d with %s edited: %s", rc, edits[k][2], out);
        cr_expect(strstr(out, edits[k][2]) && strstr(out, "only these keys may change"), "message does not name %s: %s", edits[k][2], out);
        expect_same_file(p, edited, strlen(edited));
        free(edited);
    }
    write_bytes(p, ini, n_ini);
    // the run as it was resumes
    cr_expect_eq(run(cmd, out, sizeof out), 0, "%s", out);
    free(own); free(w); free(ini);
    rm_run(dir);
    rm_run(wide);
    tmp_teardown();
}

Test(harden, resume_refuses_set_of_a_key_the_checkpoint_fixes, .init = tmp_setup, .timeout = 120)
{
    char cmd[2048], out[16384], dir[256], p[300];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    train_run(dir, "");
    snprintf(p, sizeof p, "%s/config.ini", dir);
    size_t n_ini = 0;
    char *ini = slurp(p, &n_ini);
    const char *fixed[] = {"model.n_embd=64", "task.max_len=3", "train.lr=0.01", "train.batch_size=4", "train.seed=5"};
    for (int k = 0; k < 5; k++) {
        snprintf(cmd, sizeof cmd, "%s train --resume %s --set train.steps=8 --set %s", ARITHLAB_BIN, dir, fixed[k]);
        int rc = run(cmd, out, sizeof out);
        char key[64];
        snprintf(key, sizeof key, "%.*s cannot change", (int)strcspn(fixed[k], "="), fixed[k]);
        cr_expect_eq(rc, 2, "exit %d for --set %s: %s", rc, fixed[k], out);
        cr_expect(strstr(out, key) && strstr(out, "train.steps, "), "message for --set %s lacks '%s' and the accepted keys: %s",
                  fixed[k], key, out);
        expect_same_file(p, ini, n_ini);
    }
    // the keys that may change do
    snprintf(cmd, sizeof cmd, "%s train --resume %s --set train.steps=8 --set train.log_every=2 --set eval.per_cell=2 "
                              "--set eval.n_during_train=3", ARITHLAB_BIN, dir);
    cr_expect_eq(run(cmd, out, sizeof out), 0, "%s", out);
    free(ini);
    rm_run(dir);
    tmp_teardown();
}

// ---------------------------------------------------------------- --threads bounds (item 6)

Test(harden, threads_out_of_range_is_refused_by_every_command, .init = tmp_setup, .timeout = 240)
{
    char cmd[2048], out[16384], dir[256], ck[300];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    train_run(dir, "");
    snprintf(ck, sizeof ck, "%s/ckpt.safetensors", dir);
    const char *bad[] = {"100000", "99999999999", "-1"};
    for (int b = 0; b < 3; b++) {
        const char *cmds[] = {"eval --checkpoint %s --out %s/e --threads %s", "solve --checkpoint %s --threads %s 1+2",
                              "logits --checkpoint %s --tokens %s/none.npy --out %s/l.npy --threads %s",
                              "replay --checkpoint %s --tokens %s/none.npy --targets %s/none.npy --out %s/rp --threads %s",
                              "probe attention --checkpoint %s --out %s/pa --threads %s", "bench --steps 1 --threads %s"};
        for (int c = 0; c < 6; c++) {
            char line[1200];
            switch (c) {
            case 0: snprintf(line, sizeof line, cmds[c], ck, tmpdir, bad[b]); break;
            case 1: snprintf(line, sizeof line, cmds[c], ck, bad[b]); break;
            case 2: snprintf(line, sizeof line, cmds[c], ck, tmpdir, tmpdir, bad[b]); break;
            case 3: snprintf(line, sizeof line, cmds[c], ck, tmpdir, tmpdir, tmpdir, bad[b]); break;
            case 4: snprintf(line, sizeof line, cmds[c], ck, tmpdir, bad[b]); break;
            default: snprintf(line, sizeof line, cmds[c], bad[b]); break;
            }
            snprintf(cmd, sizeof cmd, "timeout 60 %s %s", ARITHLAB_BIN, line);
            int rc = run(cmd, out, sizeof out);
            cr_expect_eq(rc, 2, "exit %d for %s: %s", rc, line, out);
            cr_expect(strstr(out, "--threads") && (strstr(out, "accepted") || strstr(out, "out of range")),
                      "message for %s does not name --threads and the range: %s", line, out);
        }
        // train: the key
        snprintf(cmd, sizeof cmd, "%s train --out %s/t %s --set train.threads=%s", ARITHLAB_BIN, tmpdir, S, bad[b]);
        int rc = run(cmd, out, sizeof out);
        cr_expect_eq(rc, 2, "train exit %d for train.threads=%s: %s", rc, bad[b], out);
        cr_expect(strstr(out, "train.threads"), "train message does not name train.threads: %s", out);
    }
    snprintf(cmd, sizeof cmd, "%s/t", tmpdir);
    cr_expect(access(cmd, F_OK) != 0, "a refused train created its directory");
    rm_run(dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s/e %s/pa %s/rp", tmpdir, tmpdir, tmpdir);
    system(cmd);
    tmp_teardown();
}

// ---------------------------------------------------------------- checked, atomic result files (item 4)

// in a child limited to `limit` bytes per file (RLIMIT_FSIZE, SIGXFSZ ignored: writes fail with
// EFBIG as on a full disk), write n bytes of 'x' to path through the helper; the child's exit
// status is the helper's result (0 ok, 1 refused with a message naming the file and the error)
static int write_limited(const char *path, size_t n, rlim_t limit, char *msg, size_t cap)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {limit, limit};
        if (setrlimit(RLIMIT_FSIZE, &rl)) _exit(3);
        char err[512] = "";
        char *buf = malloc(n);
        memset(buf, 'x', n);
        FILE *f = files_atomic_open(path, err);
        int r = f ? 0 : -1;
        if (f) {
            for (size_t i = 0; i < n; i += 100) fprintf(f, "%.*s", (int)(n - i < 100 ? n - i : 100), buf + i);
            r = files_atomic_commit(f, path, err);
        }
        if (write(fds[1], err, strlen(err)) < 0) _exit(4);
        _exit(r ? 1 : 0);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], msg, cap - 1);
    msg[got > 0 ? got : 0] = 0;
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int n_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

Test(harden, a_result_write_that_fails_is_reported_and_leaves_the_old_file, .init = tmp_setup, .fini = tmp_teardown)
{
    char msg[1024];
    const char *path = tmp_path("result.csv");
    // an old result, then a write that the file-size limit cuts short (as a full disk would)
    cr_assert_eq(write_limited(path, 10, RLIM_INFINITY, msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(write_limited(path, 100000, 4096, msg, sizeof msg), 1, "a failed write was reported as written");
    cr_expect(strstr(msg, path) && strstr(msg, "write failed") && strstr(msg, strerror(EFBIG)),
              "message does not name the file and the error: %s", msg);
    size_t n = 0;
    unsigned char *now = read_bytes(path, &n);
    cr_expect(n == 10 && memcmp(now, "xxxxxxxxxx", 10) == 0, "the old file was replaced (%zu bytes)", n);
    free(now);
    cr_expect_eq(n_tmp_files(tmpdir), 0, "the temporary file was left behind");
    // a write that fits goes through, whole
    cr_assert_eq(write_limited(path, 3000, 4096, msg, sizeof msg), 0, "%s", msg);
    now = read_bytes(path, &n);
    cr_expect_eq(n, 3000);
    free(now);
}

Test(harden, eval_on_a_full_disk_exits_non_zero_naming_the_file_and_keeps_old_results, .init = tmp_setup, .timeout = 120)
{
    char cmd[2048], out[16384], dir[256], e[300], p[400];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    snprintf(e, sizeof e, "%s/e", tmpdir);
    train_run(dir, "");
    snprintf(cmd, sizeof cmd, "%s eval --checkpoint %s/ckpt.safetensors --out %s --threads 1", ARITHLAB_BIN, dir, e);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    const char *names[] = {"accuracy_grid.csv", "accuracy_by_digit.csv", "summary.txt", "accuracy_grid.png"};
    char *before[4];
    size_t n[4];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", e, names[i]);
        before[i] = slurp(p, &n[i]);
        cr_assert(before[i] && n[i] > 0, "%s", p);
    }
    // no byte may be written (ulimit -f 0; SIGXFSZ ignored, so write() fails with EFBIG as on a full disk)
    char full[2400];
    snprintf(full, sizeof full, "ulimit -f 0; trap '' XFSZ; %s", cmd);
    int rc = run(full, out, sizeof out);
    cr_expect_eq(rc, 1, "exit %d on a full disk: %s", rc, out);
    cr_expect(strstr(out, "accuracy_grid.csv: write failed") && strstr(out, strerror(EFBIG)),
              "message does not name the file and the error: %s", out);
    cr_expect(!strstr(out, "wrote "), "a failed eval still says it wrote its files: %s", out);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", e, names[i]);
        expect_same_file(p, before[i], n[i]);
    }
    cr_expect_eq(n_tmp_files(e), 0, "temporary files were left behind");
    // room for the tables but not the picture (a few KB per file): the PNG is the one named
    snprintf(full, sizeof full, "ulimit -f 8; trap '' XFSZ; %s", cmd);
    rc = run(full, out, sizeof out);
    cr_expect_eq(rc, 1, "exit %d with no room for the PNG: %s", rc, out);
    cr_expect(strstr(out, "accuracy_grid.png") && strstr(out, strerror(EFBIG)), "the PNG failure is not named: %s", out);
    for (int i = 0; i < 4; i++) free(before[i]);
    snprintf(cmd, sizeof cmd, "rm -rf %s", e);
    system(cmd);
    rm_run(dir);
    tmp_teardown();
}

// ---------------------------------------------------------------- checkpoints checked at load (items 8, 10, 14)

// load DIR's checkpoint, let edit() change it, save it back (with or without the moments)
static void edit_checkpoint(const char *ck, void (*edit)(Model *, TrainState *), int with_optimizer)
{
    char err[512];
    static TrainState st;
    Model m;
    cr_assert_eq(ckpt_build_model(&m, &st, 1, ck, 1, 1, err), 0, "%s", err);
    edit(&m, &st);
    cr_assert_eq(ckpt_save(&m, &st, with_optimizer, ck, err), 0, "%s", err);
    model_free(&m);
}

static void put_nan(Model *m, TrainState *st)
{
    (void)st;
    ParamInfo *p = model_find_tensor(m, "transformer.h.0.attn.c_attn.weight");
    cr_assert(p);
    m->params[p->offset + 3] = NAN;
}
static void put_inf(Model *m, TrainState *st)
{
    (void)st;
    m->wte[7] = INFINITY;
}
static void huge_step(Model *m, TrainState *st) { (void)m; st->step = INT64_MAX; }
static void no_change(Model *m, TrainState *st) { (void)m; (void)st; }

Test(harden, non_finite_weights_are_refused_by_every_command_naming_the_tensor, .init = tmp_setup, .timeout = 180)
{
    char cmd[2048], out[16384], dir[256], ck[300];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    train_run(dir, "");
    snprintf(ck, sizeof ck, "%s/ckpt.safetensors", dir);
    // a (1,3) token file for logits
    int32_t toks[3] = {1, 2, 3};
    int64_t shape[2] = {1, 3};
    char tok_path[300], err[512];
    snprintf(tok_path, sizeof tok_path, "%s/t.npy", tmpdir);
    cr_assert_eq(npy_write_i32(tok_path, toks, 2, shape, err), 0, "%s", err);
    snprintf(cmd, sizeof cmd, "%s logits --checkpoint %s --tokens %s --out %s/l.npy --threads 1", ARITHLAB_BIN, ck, tok_path, tmpdir);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "logits on the good checkpoint: %s", out);

    void (*edits[2])(Model *, TrainState *) = {put_nan, put_inf};
    const char *needles[2] = {"tensor 'transformer.h.0.attn.c_attn.weight' holds NaN at element 3",
                              "tensor 'transformer.wte.weight' holds +Inf at element 7"};
    for (int k = 0; k < 2; k++) {
        edit_checkpoint(ck, no_change, 1);   // (a fresh copy of a finite one is what edit_checkpoint loads)
        edit_checkpoint(ck, edits[k], 1);
        const char *cmds[] = {"eval --checkpoint %s --out %s/e --threads 1", "solve --checkpoint %s --threads 1 1+2",
                              "logits --checkpoint %s --tokens %s/t.npy --out %s/l2.npy --threads 1",
                              "probe attention --checkpoint %s --out %s/pa --threads 1",
                              "probe fourier --checkpoint %s --out %s/pf --threads 1"};
        for (int c = 0; c < 5; c++) {
            char line[1200];
            snprintf(line, sizeof line, cmds[c], ck, tmpdir, tmpdir);
            snprintf(cmd, sizeof cmd, "timeout 60 %s %s", ARITHLAB_BIN, line);
            int rc = run(cmd, out, sizeof out);
            cr_expect(rc == 1 || rc == 2, "exit %d for %s: %s", rc, line, out);
            cr_expect(strstr(out, needles[k]) != NULL, "message for %s lacks \"%s\": %s", line, needles[k], out);
        }
        snprintf(cmd, sizeof cmd, "%s/l2.npy", tmpdir);
        cr_expect(access(cmd, F_OK) != 0, "logits wrote an output from non-finite weights");
        // and --resume
        snprintf(cmd, sizeof cmd, "%s train --resume %s --set train.steps=8", ARITHLAB_BIN, dir);
        int rc = run(cmd, out, sizeof out);
        cr_expect_eq(rc, 1, "exit %d for --resume: %s", rc, out);
        cr_expect(strstr(out, needles[k]) != NULL, "--resume message lacks \"%s\": %s", needles[k], out);
        // back to the trained (finite) weights for the next case
        rm_run(dir);
        train_run(dir, "");
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s/e %s/pa %s/pf", tmpdir, tmpdir, tmpdir);
    system(cmd);
    rm_run(dir);
    tmp_teardown();
}

Test(harden, a_checkpoint_step_out_of_range_is_refused_at_load, .init = tmp_setup, .timeout = 120)
{
    char cmd[2048], out[16384], dir[256], ck[300];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    train_run(dir, "");
    snprintf(ck, sizeof ck, "%s/ckpt.safetensors", dir);
    edit_checkpoint(ck, huge_step, 1);   // train.step = INT64_MAX: step * batch_size overflowed
    snprintf(cmd, sizeof cmd, "%s train --resume %s --set train.steps=8", ARITHLAB_BIN, dir);
    int rc = run(cmd, out, sizeof out);
    cr_expect(rc == 1 || rc == 2, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "train.step") && strstr(out, "0..1000000000"), "message does not name train.step and its range: %s", out);
    rm_run(dir);
    tmp_teardown();
}

Test(harden, eval_speed_n_out_of_range_is_refused, .init = tmp_setup, .timeout = 120)
{
    char cmd[2048], out[16384], dir[256];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    train_run(dir, "");
    const char *bad[] = {"-1", "0", "2000000000"};
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd, "%s eval --checkpoint %s/ckpt.safetensors --out %s/e --speed --speed-n %s --threads 1",
                 ARITHLAB_BIN, dir, tmpdir, bad[k]);
        int rc = run(cmd, out, sizeof out);
        cr_expect_eq(rc, 2, "exit %d for --speed-n %s: %s", rc, bad[k], out);
        cr_expect(strstr(out, "--speed-n") && strstr(out, "accepted 1..1000000"), "%s", out);
    }
    rm_run(dir);
    tmp_teardown();
}

Test(harden, resume_of_a_checkpoint_without_optimizer_moments_is_refused, .init = tmp_setup, .timeout = 120)
{
    char cmd[2048], out[16384], dir[256], ck[300];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    train_run(dir, "");
    snprintf(ck, sizeof ck, "%s/ckpt.safetensors", dir);
    edit_checkpoint(ck, no_change, 0);   // the same weights and state, the moments dropped
    size_t n = 0;
    char *before = slurp(ck, &n);
    snprintf(cmd, sizeof cmd, "%s train --resume %s --set train.steps=8", ARITHLAB_BIN, dir);
    int rc = run(cmd, out, sizeof out);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "no optimizer moments") && strstr(out, ck), "%s", out);
    expect_same_file(ck, before, n);
    free(before);
    rm_run(dir);
    tmp_teardown();
}

Test(harden, stale_temporary_files_of_dead_writers_are_removed_at_start, .init = tmp_setup, .timeout = 120)
{
    char cmd[2048], out[16384], dir[256], dead[400], alive[400];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    train_run(dir, "");
    pid_t child = fork();   // a pid that has surely exited
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    snprintf(dead, sizeof dead, "%s/ckpt.safetensors.tmp.%ld", dir, (long)child);
    snprintf(alive, sizeof alive, "%s/ckpt.safetensors.tmp.%ld", dir, (long)getpid());
    write_bytes(dead, "half a checkpoint", 17);
    write_bytes(alive, "being written", 13);
    snprintf(cmd, sizeof cmd, "%s train --resume %s --set train.steps=6", ARITHLAB_BIN, dir);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(access(dead, F_OK) != 0, "the dead writer's %s is still there", dead);
    cr_expect(access(alive, F_OK) == 0, "a live process's temporary file was removed");
    cr_expect(strstr(out, "removed 1 stale temporary file") != NULL, "%s", out);
    unlink(alive);
    rm_run(dir);
    tmp_teardown();
}

Test(harden, solve_cuts_a_huge_input_in_its_message, .init = tmp_setup, .timeout = 120)
{
    char dir[256], cmd[2048], out[16384];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    train_run(dir, "");
    // a 100 002-byte problem, built by the shell (the command line itself stays short)
    snprintf(cmd, sizeof cmd, "P=$(head -c 100000 /dev/zero | tr '\\0' 1)+2; %s solve --checkpoint %s/ckpt.safetensors --threads 1 \"$P\"",
             ARITHLAB_BIN, dir);
    int rc = run(cmd, out, sizeof out);
    cr_expect_eq(rc, 2, "exit %d", rc);
    cr_expect(strlen(out) < 2000, "the message echoes the input (%zu bytes)", strlen(out));
    cr_expect(strstr(out, "(100002 bytes in all)") != NULL, "%.500s", out);
    rm_run(dir);
    tmp_teardown();
}

// ---------------------------------------------------------------- up-front memory estimate (items 9, 13)

Test(harden, memory_refusal_counts_evaluation_buffers_and_names_the_key, .init = tmp_setup, .timeout = 60)
{
    char cmd[2048], out[16384], dir[256];
    snprintf(dir, sizeof dir, "%s/r", tmpdir);
    // (sizeof(TaskExample) is over 16 KB: 10^7 problems are over 150 GB)
    const char *cases[][2] = {{"--set eval.n_during_train=10000000", "lower eval.n_during_train"},
                              {"--set eval.batch_size=65536 --set model.block_size=4000", "lower eval.batch_size"},
                              {"--set train.batch_size=200000 --set model.n_embd=1024 --set model.n_head=8", "lower train.batch_size"}};
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd, "%s train --out %s %s %s", ARITHLAB_BIN, dir, S, cases[k][0]);
        int rc = run(cmd, out, sizeof out);
        cr_expect_eq(rc, 2, "exit %d for %s: %s", rc, cases[k][0], out);
        cr_expect(strstr(out, cases[k][1]) != NULL, "message for %s lacks '%s': %s", cases[k][0], cases[k][1], out);
        cr_expect(!strstr(out, "(0 MiB") && !strstr(out, "needs 0 MiB"), "the message prints 0 MiB: %s", out);
        cr_expect(access(dir, F_OK) != 0, "the refused run created %s", dir);
    }
    tmp_teardown();
}
