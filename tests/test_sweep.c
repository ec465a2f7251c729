// test_sweep.c: `arithlab sweep` end to end through the binary, with runs tiny
// enough to finish in a fraction of a second: the grid of runs and what it
// writes, a second invocation that trains nothing, a stopped sweep that
// resumes, variants, the plot, and the sweep files and flags it refuses.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// every run: one layer of width 16, 20 steps on 1..2-digit additions, a 2-per-cell grid
static const char *TINY = "set = model.n_layer=1\nset = model.n_embd=16\nset = model.n_head=2\n"
                          "set = train.steps=20\nset = train.batch_size=16\nset = train.eval_every=0\n"
                          "set = task.max_len=2\nset = eval.per_cell=2\n";

// ---------------------------------------------------------------- helpers

// the per-test directory holds run directories: remove it whole
static void sweep_teardown(void)
{
    char cmd[128];
    if (strncmp(tmpdir, "/tmp/arithlab_test_", 19)) return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
}

// sweep.ini in the test's directory: "[sweep]\n" + TINY + body + tail
// (tail holds sections after [sweep], e.g. variants)
static void write_sweep(const char *body, const char *tail)
{
    FILE *f = fopen(tmp_path("sweep.ini"), "w");
    cr_assert_not_null(f);
    fprintf(f, "[sweep]\n%s%s%s", TINY, body, tail ? tail : "");
    fclose(f);
}

// `arithlab sweep <tmp>/sweep.ini --out <tmp>/out --jobs 1 --threads 1 <extra>`; returns the exit status
static int sweep(const char *extra, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "%s sweep %s/sweep.ini --out %s/out --jobs 1 --threads 1 %s", ARITHLAB_BIN, tmpdir, tmpdir,
             extra ? extra : "");
    return run(cmd, out, cap);
}

// a path under the sweep's output directory
static const char *out_path(const char *rel)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/out/%s", tmpdir, rel);
    return p[k];
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

// the value of section.key in a config.ini the run wrote (trimmed); "" when absent
static const char *ini_value(const char *path, const char *section, const char *key)
{
    static char val[256];
    char line[512], cur[64] = "";
    val[0] = 0;
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '[') { sscanf(line, "[%63[^]]", cur); continue; }
        char k[128], v[256];
        if (!strcmp(cur, section) && sscanf(line, " %127[^ =] = %255[^\n]", k, v) == 2 && !strcmp(k, key)) {
            snprintf(val, sizeof(val), "%s", v);
            break;
        }
    }
    fclose(f);
    return val;
}

// a CSV file as lines and fields (no quoting: sweep values hold no commas)
typedef struct { int n_rows, n_cols; char cell[16][24][64]; } csv_t;   // row 0 is the header

static void csv_read(const char *path, csv_t *c)
{
    size_t n;
    char *text = (char *)read_bytes(path, &n);
    memset(c, 0, sizeof(*c));
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cr_assert_lt(c->n_rows, 16, "%s: too many rows for the test", path);
        int k = 0;
        for (char *p = line;; k++) {
            cr_assert_lt(k, 24, "%s: too many columns for the test", path);
            size_t w = strcspn(p, ",");
            snprintf(c->cell[c->n_rows][k], 64, "%.*s", (int)w, p);
            if (!p[w]) break;
            p += w + 1;
        }
        if (c->n_rows == 0) c->n_cols = k + 1;
        cr_assert_eq(k + 1, c->n_cols, "%s: row %d has %d fields, the header %d", path, c->n_rows, k + 1, c->n_cols);
        c->n_rows++;
    }
    free(text);
}

static int csv_col(const csv_t *c, const char *name)
{
    for (int k = 0; k < c->n_cols; k++) if (!strcmp(c->cell[0][k], name)) return k;
    cr_assert_fail("no column '%s' in the header", name);
    return -1;
}

// the data row whose "run" column is name, or -1
static int csv_row(const csv_t *c, const char *name)
{
    int k = csv_col(c, "run");
    for (int r = 1; r < c->n_rows; r++) if (!strcmp(c->cell[r][k], name)) return r;
    return -1;
}

// the state `sweep --list` printed for a run ("done", "to run", ...), or "" when the run is not listed
static const char *list_state(const char *listing, const char *name)
{
    static char state[64];
    size_t len = strlen(name);
    state[0] = 0;
    for (const char *line = listing; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        if (!strncmp(line, name, len) && line[len] == ' ') {
            const char *p = line + len;
            while (*p == ' ') p++;
            snprintf(state, sizeof(state), "%.*s", (int)strcspn(p, "\n"), p);
            break;
        }
    return state;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

// ---------------------------------------------------------------- a sweep and what it writes

Test(sweep, runs_every_value_and_seed_and_tabulates_them, .init = tmp_setup, .fini = sweep_teardown, .timeout = 120)
{
    char out[16384];
    write_sweep("seeds = 1, 2\nvary = model.n_embd: 8, 16\nset = eval.max_len=3\nbands = 1-2, 3-3\n", NULL);
    int rc = sweep(NULL, out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "4 runs (0 done)") && strstr(out, "[4/4]"), "%s", out);

    // one row per run, in grid order, each done, with its accuracy counts
    csv_t c;
    csv_read(out_path("summary.csv"), &c);
    const char *header[] = {"run", "group", "seed", "model.n_embd", "done", "stale", "wall_s", "in_n", "in_accuracy",
                            "out_n", "out_accuracy", "len_1_2_accuracy", "len_3_3_accuracy", "population_n",
                            "population_accuracy"};
    cr_assert_eq(c.n_cols, 15, "%d columns", c.n_cols);
    for (int k = 0; k < 15; k++) cr_expect_str_eq(c.cell[0][k], header[k]);
    cr_assert_eq(c.n_rows, 5, "%d lines in summary.csv", c.n_rows);
    const char *names[] = {"8_seed1", "8_seed2", "16_seed1", "16_seed2"}, *values[] = {"8", "8", "16", "16"};
    const char *seeds[] = {"1", "2", "1", "2"};
    for (int i = 0; i < 4; i++) {
        cr_expect_str_eq(c.cell[i + 1][0], names[i]);
        cr_expect_str_eq(c.cell[i + 1][1], values[i]);
        cr_expect_str_eq(c.cell[i + 1][2], seeds[i]);
        cr_expect_str_eq(c.cell[i + 1][3], values[i]);
        cr_expect_str_eq(c.cell[i + 1][4], "1", "%s not done", names[i]);
        // lengths 1..2 are in distribution (4 cells x 2 problems), the 5 cells with a 3-digit operand are not
        cr_expect_str_eq(c.cell[i + 1][5], "0", "%s stale", names[i]);
        cr_expect_str_eq(c.cell[i + 1][7], "8", "%s in_n", names[i]);
        cr_expect_str_eq(c.cell[i + 1][9], "10", "%s out_n", names[i]);
        double acc = atof(c.cell[i + 1][8]);
        cr_expect(acc >= 0.0 && acc <= 1.0, "%s in_accuracy %s", names[i], c.cell[i + 1][8]);
    }

    // one row per group, both seeds done
    size_t n;
    char *md = (char *)read_bytes(out_path("table.md"), &n);
    cr_expect(strstr(md, "\n| 8 | 2/2 |") != NULL, "%s", md);
    cr_expect(strstr(md, "\n| 16 | 2/2 |") != NULL, "%s", md);
    cr_expect(strstr(md, "lengths 3–3 %") && strstr(md, "out-of-distribution %"), "%s", md);
    // eval.n_population is on by default (500 problems drawn as training draws them)
    cr_expect(strstr(md, "| training distribution % |") != NULL, "%s", md);
    cr_expect(strncmp(md, "| run |", 7) == 0, "%s", md);
    cr_expect_eq(count(md, "\n| "), 2, "2 group rows expected: %s", md);   // after the header; the separator starts "|---"
    free(md);

    // each run trained with its own value and seed, and the [sweep] set lines
    for (int i = 0; i < 4; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "%s/config.ini", names[i]);
        const char *cfg = out_path(rel);
        cr_expect_str_eq(ini_value(cfg, "model", "n_embd"), values[i], "%s", cfg);
        cr_expect_str_eq(ini_value(cfg, "train", "seed"), seeds[i], "%s", cfg);
        cr_expect_str_eq(ini_value(cfg, "train", "steps"), "20", "%s", cfg);
        cr_expect_str_eq(ini_value(cfg, "eval", "max_len"), "3", "%s", cfg);
        snprintf(rel, sizeof(rel), "%s/sweep_done", names[i]);
        cr_expect(exists(out_path(rel)), "%s has no sweep_done", names[i]);
    }
}

Test(sweep, a_second_invocation_trains_nothing_and_lists_every_run_done, .init = tmp_setup, .fini = sweep_teardown,
     .timeout = 120)
{
    char out[16384];
    write_sweep("seeds = 1, 2\nvary = train.lr: 0.001, 0.003\n", NULL);
    const char *names[] = {"0.001_seed1", "0.001_seed2", "0.003_seed1", "0.003_seed2"};
    cr_assert_eq(sweep("--list", out, sizeof(out)), 0, "%s", out);
    for (int i = 0; i < 4; i++) cr_expect_str_eq(list_state(out, names[i]), "to run", "%s: %s", names[i], out);
    cr_expect(!exists(out_path("0.001_seed1")), "--list started a run");

    int rc = sweep(NULL, out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    char *logs[4];
    struct stat ck[4];
    for (int i = 0; i < 4; i++) {
        char rel[64];
        size_t n;
        snprintf(rel, sizeof(rel), "%s/log.txt", names[i]);
        logs[i] = (char *)read_bytes(out_path(rel), &n);
        snprintf(rel, sizeof(rel), "%s/ckpt.safetensors", names[i]);
        cr_assert_eq(stat(out_path(rel), &ck[i]), 0, "%s", rel);
    }

    rc = sweep(NULL, out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(out, " done (") == NULL && strstr(out, "runs (") == NULL, "the second invocation ran something: %s", out);
    cr_expect(strstr(out, "| 0.001 | 2/2 |") && strstr(out, "| 0.003 | 2/2 |"), "the table is not printed: %s", out);
    for (int i = 0; i < 4; i++) {
        char rel[64];
        size_t n;
        snprintf(rel, sizeof(rel), "%s/log.txt", names[i]);
        char *again = (char *)read_bytes(out_path(rel), &n);
        cr_expect_str_eq(again, logs[i], "%s was retrained", names[i]);
        free(again);
        free(logs[i]);
        struct stat st;
        snprintf(rel, sizeof(rel), "%s/ckpt.safetensors", names[i]);
        cr_assert_eq(stat(out_path(rel), &st), 0);
        cr_expect(st.st_mtim.tv_sec == ck[i].st_mtim.tv_sec && st.st_mtim.tv_nsec == ck[i].st_mtim.tv_nsec,
                  "%s: the checkpoint was rewritten", names[i]);
    }
    csv_t c;
    csv_read(out_path("summary.csv"), &c);
    cr_assert_eq(c.n_rows, 5);
    for (int r = 1; r < 5; r++) cr_expect_str_eq(c.cell[r][csv_col(&c, "done")], "1", "%s", c.cell[r][0]);

    cr_assert_eq(sweep("--list", out, sizeof(out)), 0, "%s", out);
    for (int i = 0; i < 4; i++) cr_expect_str_eq(list_state(out, names[i]), "done", "%s: %s", names[i], out);
    cr_expect_eq(count(out, " done\n"), 4, "%s", out);
}

// ---------------------------------------------------------------- stopping and resuming

Test(sweep, a_stopped_sweep_resumes_its_runs_where_they_stopped, .init = tmp_setup, .fini = sweep_teardown, .timeout = 180)
{
    char out[16384];
    // the 20-step run finishes; the 1000-step one is stopped at or after its first checkpoint
    write_sweep("seeds = 1\nvary = train.steps: 20, 1000\nset = train.ckpt_every=25\n", NULL);
    const char *log_path = tmp_path("sweep_stdout.txt"), *spec = tmp_path("sweep.ini");
    char outdir[512];
    snprintf(outdir, sizeof(outdir), "%s/out", tmpdir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGINT);   // a test killed on timeout stops its sweep too
        if (!freopen(log_path, "w", stdout) || dup2(fileno(stdout), 2) < 0) _exit(126);
        execl(ARITHLAB_BIN, ARITHLAB_BIN, "sweep", spec, "--out", outdir, "--jobs", "1", "--threads", "1", (char *)NULL);
        _exit(127);
    }
    const char *ckpt = out_path("1000_seed1/ckpt.safetensors");
    int st, ended = 0;
    time_t deadline = time(NULL) + 60;
    while (!exists(ckpt) && !ended && time(NULL) < deadline) {
        ended = waitpid(pid, &st, WNOHANG) == pid;
        usleep(2000);
    }
    int sent = ended ? -1 : kill(pid, SIGINT);
    if (!ended) cr_assert_eq(waitpid(pid, &st, 0), pid);
    size_t n;
    char *first = (char *)read_bytes(log_path, &n);
    cr_assert(exists(ckpt), "the long run never wrote a checkpoint: %s", first);
    cr_assert_eq(sent, 0, "the sweep ended before it could be stopped: %s", first);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 130, "the stopped sweep exited %d: %s",
              WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st), first);
    cr_expect(strstr(first, "sweep stopped: 1 of 2 runs done") != NULL, "%s", first);
    cr_expect(strstr(first, "stopped with exit") == NULL, "a stopped run was reported as failed: %s", first);
    free(first);
    char *log = (char *)read_bytes(out_path("1000_seed1/log.txt"), &n);
    cr_expect(strstr(log, "interrupted at step") != NULL, "the run was not stopped by the sweep: %s", log);
    free(log);
    cr_expect(!exists(out_path("1000_seed1/sweep_done")));
    csv_t c;
    csv_read(out_path("summary.csv"), &c);
    int r20 = csv_row(&c, "20_seed1"), r1000 = csv_row(&c, "1000_seed1"), done = csv_col(&c, "done");
    cr_assert(r20 > 0 && r1000 > 0);
    cr_expect_str_eq(c.cell[r20][done], "1");
    cr_expect_str_eq(c.cell[r1000][done], "0");
    char *md = (char *)read_bytes(out_path("table.md"), &n);
    cr_expect(strstr(md, "| 20 | 1/1 |") && strstr(md, "| 1000 | 0/1 | – |"), "%s", md);
    free(md);

    cr_assert_eq(sweep("--list", out, sizeof(out)), 0, "%s", out);
    cr_expect_str_eq(list_state(out, "1000_seed1"), "stopped (will resume)", "%s", out);
    cr_expect_str_eq(list_state(out, "20_seed1"), "done", "%s", out);
    char *log20 = (char *)read_bytes(out_path("20_seed1/log.txt"), &n);

    int rc = sweep(NULL, out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "2 runs (1 done)") && strstr(out, "[2/2] 1000_seed1 done"), "%s", out);
    log = (char *)read_bytes(out_path("1000_seed1/log.txt"), &n);
    cr_expect(strstr(log, "resuming ") != NULL, "the run started over instead of resuming: %s", log);
    cr_expect(strstr(log, "step   1000/1000") != NULL && strstr(log, "done: ") != NULL, "%s", log);
    free(log);
    char *again = (char *)read_bytes(out_path("20_seed1/log.txt"), &n);
    cr_expect_str_eq(again, log20, "the finished run was retrained");
    free(again);
    free(log20);
    // a resumed run's metrics.csv holds each step once
    char *metrics = (char *)read_bytes(out_path("1000_seed1/metrics.csv"), &n);
    cr_expect_eq(count(metrics, "\n"), 1001, "metrics.csv has %d lines", count(metrics, "\n"));
    free(metrics);
    csv_read(out_path("summary.csv"), &c);
    r1000 = csv_row(&c, "1000_seed1");
    cr_assert(r1000 > 0);
    cr_expect_str_eq(c.cell[r1000][done], "1");
    cr_expect(strstr(out, "| 1000 | 1/1 |") != NULL, "%s", out);
}

// ---------------------------------------------------------------- stale runs

Test(sweep, an_edited_sweep_file_makes_its_runs_stale_refused_kept_or_rerun, .init = tmp_setup, .fini = sweep_teardown,
     .timeout = 120)
{
    char out[16384];
    size_t n;
    write_sweep("seeds = 1\nvary = train.lr: 0.001, 0.003\n", NULL);
    int rc = sweep(NULL, out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert(exists(out_path("0.001_seed1/" "sweep_config_hash")), "no hash stored with the run");
    char *log_old = (char *)read_bytes(out_path("0.003_seed1/log.txt"), &n);

    // one more step for every run: both are stale now
    write_sweep("seeds = 1\nvary = train.lr: 0.001, 0.003\nset = train.steps=21\n", NULL);
    cr_assert_eq(sweep("--list", out, sizeof(out)), 0, "%s", out);
    cr_expect_str_eq(list_state(out, "0.001_seed1"), "done, stale (config changed; will re-run)", "%s", out);
    cr_expect_str_eq(list_state(out, "0.003_seed1"), "done, stale (config changed; will re-run)", "%s", out);
    cr_expect(strstr(out, "2 stale runs") != NULL, "%s", out);

    // tabulating alone refuses, naming them; nothing is rewritten
    struct stat before, after;
    cr_assert_eq(stat(out_path("summary.csv"), &before), 0);
    rc = sweep("--table", out, sizeof(out));
    cr_expect_eq(rc, 2, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "2 runs in") && strstr(out, "  0.001_seed1\n") && strstr(out, "--keep-stale"), "%s", out);
    cr_assert_eq(stat(out_path("summary.csv"), &after), 0);
    cr_expect(before.st_mtim.tv_nsec == after.st_mtim.tv_nsec && before.st_mtim.tv_sec == after.st_mtim.tv_sec,
              "a refused --table rewrote summary.csv");

    // --keep-stale tabulates them, marked
    rc = sweep("--table --keep-stale", out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "| 0.001 | 1/1 (1 stale) |") && strstr(out, "Stale runs"), "%s", out);
    csv_t c;
    csv_read(out_path("summary.csv"), &c);
    cr_expect_str_eq(c.cell[csv_row(&c, "0.003_seed1")][csv_col(&c, "stale")], "1");

    // the sweep itself moves them aside and runs them again with the new config
    rc = sweep(NULL, out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "2 runs trained with another config") && strstr(out, "[2/2] "), "%s", out);
    cr_expect_str_eq(ini_value(out_path("0.003_seed1/config.ini"), "train", "steps"), "21");
    char *log_kept = (char *)read_bytes(out_path("0.003_seed1.stale-1/log.txt"), &n);
    cr_expect_str_eq(log_kept, log_old, "the stale run was not kept beside the new one");
    free(log_kept);
    free(log_old);
    csv_read(out_path("summary.csv"), &c);
    for (int r = 1; r < c.n_rows; r++) {
        cr_expect_str_eq(c.cell[r][csv_col(&c, "stale")], "0", "%s", c.cell[r][0]);
        cr_expect_str_eq(c.cell[r][csv_col(&c, "done")], "1", "%s", c.cell[r][0]);
    }
    cr_assert_eq(sweep("--list", out, sizeof(out)), 0, "%s", out);
    cr_expect_eq(count(out, " done\n"), 2, "%s", out);
}

Test(sweep, a_changed_base_config_is_stale_but_other_threads_or_a_missing_hash_are_not, .init = tmp_setup,
     .fini = sweep_teardown, .timeout = 120)
{
    char out[16384], cmd[2048];
    FILE *f = fopen(tmp_path("base.ini"), "w");
    cr_assert_not_null(f);
    fputs("[train]\nwarmup_steps = 3\n", f);
    fclose(f);
    write_sweep("config = base.ini\nseeds = 1, 2\n", NULL);
    int rc = sweep(NULL, out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    // a run of an older sweep has no hash: its config.ini stands for it
    cr_assert_eq(unlink(out_path("run_seed2/sweep_config_hash")), 0);
    snprintf(cmd, sizeof(cmd), "%s sweep %s/sweep.ini --out %s/out --jobs 1 --threads 2 --list", ARITHLAB_BIN, tmpdir, tmpdir);
    if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
        cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
        cr_expect_str_eq(list_state(out, "run_seed1"), "done", "another --threads made a run stale: %s", out);
        cr_expect_str_eq(list_state(out, "run_seed2"), "done", "%s", out);
    }
    f = fopen(tmp_path("base.ini"), "w");
    cr_assert_not_null(f);
    fputs("[train]\nwarmup_steps = 4\n", f);
    fclose(f);
    cr_assert_eq(sweep("--list --keep-stale", out, sizeof(out)), 0, "%s", out);
    cr_expect_str_eq(list_state(out, "run_seed1"), "done, stale (config changed; kept: --keep-stale)", "%s", out);
    cr_expect_str_eq(list_state(out, "run_seed2"), "done, stale (config changed; kept: --keep-stale)", "%s", out);
    // kept: not re-run
    rc = sweep("--keep-stale", out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(out, " done (") == NULL && strstr(out, "| run | 2/2 (2 stale) |"), "%s", out);
    cr_expect_str_eq(ini_value(out_path("run_seed1/config.ini"), "train", "warmup_steps"), "3");
}

// ---------------------------------------------------------------- variants, base config, the plot

Test(sweep, variants_cross_the_grid_and_x_draws_the_plot, .init = tmp_setup, .fini = sweep_teardown, .timeout = 120)
{
    char out[16384], cmd[2048];
    // a base config beside the sweep file, named relative to it; the sweep given as its directory
    FILE *f = fopen(tmp_path("base.ini"), "w");
    cr_assert_not_null(f);
    fputs("[train]\nwarmup_steps = 3\n", f);
    fclose(f);
    write_sweep("config = base.ini\nseeds = 1\nvary = train.batch_size: 8, 16\nx = train.batch_size\n",
                "[variant wide]\nmodel.n_embd = 16\n[variant narrow]\nmodel.n_embd = 8\nmodel.n_head = 1\n");
    snprintf(cmd, sizeof(cmd), "%s sweep %s --out %s/out --jobs 1 --threads 1", ARITHLAB_BIN, tmpdir, tmpdir);
    int rc = run(cmd, out, sizeof(out));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "and the accuracy plot") != NULL, "%s", out);

    csv_t c;
    csv_read(out_path("summary.csv"), &c);
    const char *header[] = {"run", "group", "seed", "variant", "train.batch_size", "done"};
    for (int k = 0; k < 6; k++) cr_expect_str_eq(c.cell[0][k], header[k]);
    const char *names[] = {"wide_8_seed1", "wide_16_seed1", "narrow_8_seed1", "narrow_16_seed1"};
    const char *variant[] = {"wide", "wide", "narrow", "narrow"}, *batch[] = {"8", "16", "8", "16"};
    const char *embd[] = {"16", "16", "8", "8"}, *head[] = {"2", "2", "1", "1"};
    cr_assert_eq(c.n_rows, 5, "%d lines", c.n_rows);
    for (int i = 0; i < 4; i++) {
        cr_expect_str_eq(c.cell[i + 1][0], names[i]);
        cr_expect_str_eq(c.cell[i + 1][3], variant[i]);
        cr_expect_str_eq(c.cell[i + 1][4], batch[i]);
        cr_expect_str_eq(c.cell[i + 1][5], "1", "%s not done", names[i]);
        char rel[64];
        snprintf(rel, sizeof(rel), "%s/config.ini", names[i]);
        const char *cfg = out_path(rel);
        cr_expect_str_eq(ini_value(cfg, "model", "n_embd"), embd[i], "%s", cfg);
        cr_expect_str_eq(ini_value(cfg, "model", "n_head"), head[i], "%s", cfg);
        cr_expect_str_eq(ini_value(cfg, "train", "batch_size"), batch[i], "%s", cfg);
        cr_expect_str_eq(ini_value(cfg, "train", "warmup_steps"), "3", "%s: the base config was not applied", cfg);
    }
    size_t n;
    char *md = (char *)read_bytes(out_path("table.md"), &n);
    cr_expect(strstr(md, "| wide_8 | 1/1 |") && strstr(md, "| narrow_16 | 1/1 |"), "%s", md);
    free(md);
    unsigned char *png = read_bytes(out_path("accuracy_vs_batch_size.png"), &n);
    cr_expect(n > 1000 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0, "not a PNG (%zu bytes)", n);
    free(png);
}

// ---------------------------------------------------------------- refusals

// the sweep file "[sweep]\n" + TINY + body (+ tail) is refused with exit 2, a message holding
// each needle, and no output directory
Test(sweep, y_population_tabulates_and_plots_the_drawn_population_under_its_name, .init = tmp_setup, .fini = sweep_teardown,
     .timeout = 120)
{
    write_sweep("seeds = 1, 2\nset = eval.n_population=40\nset = eval.population=values\nvary = train.lr: 0.001, 0.01\n"
                "x = train.lr\ny = population\n", NULL);
    char out[8192];
    cr_assert_eq(sweep(NULL, out, sizeof out), 0, "%s", out);
    csv_t c;
    csv_read(out_path("summary.csv"), &c);
    int cn = csv_col(&c, "population_n"), ca = csv_col(&c, "population_accuracy");
    cr_assert(cn >= 0 && ca >= 0, "summary.csv has no population columns");
    for (int r = 1; r < c.n_rows; r++) {
        cr_expect_str_eq(c.cell[r][cn], "40", "row %d: population_n", r);
        // the value is each run's own eval/accuracy_population.csv training row
        char p[600], line[256];
        snprintf(p, sizeof p, "%s", out_path(c.cell[r][0]));
        strncat(p, "/eval/accuracy_population.csv", sizeof p - strlen(p) - 1);
        FILE *f = fopen(p, "r");
        cr_assert_not_null(f, "%s", p);
        long n = -1, ok = -1;
        while (fgets(line, sizeof line, f)) if (sscanf(line, "values,,%ld,%ld", &n, &ok) == 2) break;
        fclose(f);
        char want[32];
        snprintf(want, sizeof want, "%.4f", (double)ok / n);
        cr_expect_str_eq(c.cell[r][ca], want, "row %d: population_accuracy", r);
    }
    size_t md_n;
    char *md = (char *)read_bytes(out_path("table.md"), &md_n);
    // named for how its problems were drawn: uniform operands, not the training distribution
    cr_expect(strstr(md, "| uniform operands % |") != NULL && !strstr(md, "| training distribution % |"), "table.md: %s", md);
    free(md);
    cr_expect(exists(out_path("accuracy_vs_lr.png")));
}

static void expect_refused(const char *body, const char *tail, const char *extra, const char *needle, const char *needle2)
{
    char out[8192];
    write_sweep(body, tail);
    int rc = sweep(extra, out, sizeof(out));
    cr_expect_eq(rc, 2, "exit %d for '%s%s' %s: %s", rc, body, tail ? tail : "", extra ? extra : "", out);
    cr_expect(strstr(out, needle) != NULL, "message lacks '%s': %s", needle, out);
    if (needle2) cr_expect(strstr(out, needle2) != NULL, "message lacks '%s': %s", needle2, out);
    cr_expect(!exists(out_path("")), "a refused sweep created its output directory");
}

// TINY is 8 lines after [sweep]: the body's first line is line 10 of the file
Test(sweep_refuses, an_unknown_sweep_key_naming_line_and_accepted_keys, .init = tmp_setup, .fini = sweep_teardown)
{
    expect_refused("seedz = 1, 2\n", NULL, NULL, "sweep.ini:10: [sweep] has no key 'seedz'",
                   "accepted: config, seeds, vary, set, bands, x, y, probe");
}
// (the line named is the section's first key: ini_parse calls back on key lines only)
Test(sweep_refuses, an_unknown_section, .init = tmp_setup, .fini = sweep_teardown)
{
    expect_refused("seeds = 1\n", "[varaint wide]\nmodel.n_embd = 8\n", NULL,
                   "sweep.ini:12: unknown section [varaint wide]", "accepted: [sweep], [variant NAME]");
}
Test(sweep_refuses, a_vary_key_that_is_not_a_config_key, .init = tmp_setup, .fini = sweep_teardown)
{
    expect_refused("vary = model.nonsense: 1, 2\n", NULL, NULL, "sweep.ini:10: unknown key 'nonsense' in [model]",
                   "accepted vocab_size");
    expect_refused("vary = n_layer: 1, 2\n", NULL, NULL, "'n_layer' is not of the form section.key", NULL);
    expect_refused("vary = model.n_layer 1, 2\n", NULL, NULL, "expected 'section.key: value1, value2, ...'", NULL);
}
Test(sweep_refuses, a_bad_value_for_a_real_key, .init = tmp_setup, .fini = sweep_teardown)
{
    expect_refused("vary = model.n_layer: 1, many\n", NULL, NULL, "sweep.ini:10: model.n_layer = 'many' is not a number", NULL);
    expect_refused("set = train.steps=2.5\n", NULL, NULL, "train.steps = '2.5' must be a whole number", NULL);
    expect_refused("seeds = 1\n", "[variant x]\nmodel.tied = 2\n", NULL, "sweep.ini:12: model.tied = 2 is out of range", NULL);
    expect_refused("seeds = 1, two\n", NULL, NULL, "seeds: 'two' is not a non-negative integer", NULL);
    expect_refused("bands = 3-1\n", NULL, NULL, "bands: '3-1' is not a range", NULL);
    expect_refused("probe = fourrier\n", NULL, NULL, "probe = 'fourrier': accepted: fourier, attention, linear", NULL);
}
Test(sweep_refuses, an_x_that_is_not_varied, .init = tmp_setup, .fini = sweep_teardown)
{
    expect_refused("vary = model.n_embd: 8, 16\nx = train.lr\n", NULL, NULL, "x = train.lr is not one of the varied keys", NULL);
}
Test(sweep_refuses, more_threads_or_jobs_than_cores, .init = tmp_setup, .fini = sweep_teardown)
{
    // sweep() passes --jobs 1 --threads 1 first; the later flag wins
    expect_refused("seeds = 1\n", NULL, "--threads 4096", "--threads 4096: accepted 1..", "the cores this process may use");
    expect_refused("seeds = 1\n", NULL, "--jobs 4096", "--jobs 4096 x --threads 1 would start more compute threads", NULL);
}
Test(sweep_refuses, reports_the_first_of_two_errors_at_its_own_line, .init = tmp_setup, .fini = sweep_teardown)
{
    // line 10 is an unknown key, line 11 an unknown section: the message must be line 10's
    expect_refused("seedz = 1\n", "[bogus]\nx = 1\n", NULL, "sweep.ini:10: [sweep] has no key 'seedz'", NULL);
}

Test(sweep_refuses, a_y_that_is_neither_grid_nor_population, .init = tmp_setup, .fini = sweep_teardown)
{
    expect_refused("y = loss\n", NULL, NULL, "y = 'loss'", "population");
}
