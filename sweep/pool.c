// pool.c: the runs of a sweep as child processes, a fixed number at a time.
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <ini.h>
#include "plot/plot.h"
#include "sweep/sweep.h"

// the same as cli_mkdir_p (cli/args.c), which this layer cannot include
static int mkdir_p(const char *path, char *err)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST) return err_set(err, "%s: cannot create: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0755) && errno != EEXIST) return err_set(err, "%s: cannot create: %s", buf, strerror(errno));
    return 0;
}

// ---------------------------------------------------------------- running

static volatile sig_atomic_t g_stop;
static void on_stop(int sig) { (void)sig; g_stop = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// fork + exec this program with argv; stdout and stderr to log_path
static pid_t spawn(char *const argv[], const char *log_path, int threads)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
    char t[16];
    snprintf(t, sizeof(t), "%d", threads);
    setenv("OMP_NUM_THREADS", t, 1);
    setenv("BLIS_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "arithlab sweep: cannot run /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
}

double sweep_read_wall(const char *dir)
{
    char path[4096];
    sweep_path_join(path, sizeof(path), dir, "sweep_wall_s.txt");
    FILE *f = fopen(path, "r");
    double total = 0.0, x;
    if (!f) return 0.0;
    while (fscanf(f, "%lf", &x) == 1) total += x;
    fclose(f);
    return total;
}

static void add_wall(const char *dir, double s)
{
    char path[4096];
    sweep_path_join(path, sizeof(path), dir, "sweep_wall_s.txt");
    FILE *f = fopen(path, "a");
    if (f) { fprintf(f, "%.1f\n", s); fclose(f); }
}

typedef struct { pid_t pid; int run; int stage; double t0; } slot_t;   // stage 0 train, 1.. probes

static int launch(const sweep_t *sw, const sweep_run_t *r, const char *out, int stage, int threads, pid_t *pid, char *err)
{
    char dir[4096], log[4200], tbuf[32];
    sweep_path_join(dir, sizeof(dir), out, r->name);
    if (mkdir_p(dir, err)) return -1;
    sweep_path_join(log, sizeof(log), dir, "stdout.txt");
    static char sets[SWEEP_MAX_SETS * 2 + 8][160];
    char ckpt[4200], pdir[4200];
    char *argv[2 * (SWEEP_MAX_SETS * 2 + 8) + 16];
    int a = 0;
    argv[a++] = "arithlab";
    if (stage == 0) {
        sweep_path_join(ckpt, sizeof(ckpt), dir, "ckpt.safetensors");
        argv[a++] = "train";
        if (sweep_file_exists(ckpt)) {   // a stopped run: continue it bit-exactly
            argv[a++] = "--resume";
            argv[a++] = dir;
        } else {
            // the hash of the config it is started with, for a later sweep to compare
            char hpath[4200];
            sweep_path_join(hpath, sizeof(hpath), dir, SWEEP_HASH_FILE);
            FILE *hf = fopen(hpath, "w");
            int bad = !hf;
            if (hf) bad = fprintf(hf, "%s\n", r->hash) < 0, bad |= fclose(hf) != 0;
            if (bad) return err_set(err, "%s: cannot write: %s", hpath, strerror(errno));
            if (sw->config[0]) argv[a++] = (char *)sw->config;
            argv[a++] = "--out";
            argv[a++] = dir;
            int n = sweep_run_sets(sw, r, sets, SWEEP_MAX_SETS * 2 + 7);
            for (int i = 0; i < n; i++) { argv[a++] = "--set"; argv[a++] = sets[i]; }
            snprintf(tbuf, sizeof(tbuf), "train.threads=%d", threads);
            argv[a++] = "--set";
            argv[a++] = tbuf;
        }
    } else {
        sweep_path_join(ckpt, sizeof(ckpt), dir, "ckpt.safetensors");
        snprintf(pdir, sizeof(pdir), "%s/probe_%s", dir, sw->probes[stage - 1]);
        argv[a++] = "probe";
        argv[a++] = (char *)sw->probes[stage - 1];
        argv[a++] = "--checkpoint";
        argv[a++] = ckpt;
        argv[a++] = "--out";
        argv[a++] = pdir;
    }
    char fmt[32];   // the figures of every run in the formats the sweep was asked for
    plot_formats_str(plot_formats(), fmt, sizeof fmt);
    argv[a++] = "--format";
    argv[a++] = fmt;
    argv[a] = NULL;
    *pid = spawn(argv, log, threads);
    if (*pid < 0) return err_set(err, "fork: %s", strerror(errno));
    return 0;
}


// every run not done yet (and not stale: one kept with --keep-stale is not resumed,
// which would finish the old config), `jobs` processes at a time, each run's probes after its
// training; SIGINT/SIGTERM stop it (runs save a checkpoint). Counts finished runs
// in *n_done; returns 0, 1 (a run failed) or 130 (stopped).
int sweep_run_pool(const sweep_t *sw_, sweep_run_t *runs, int n_runs, const char *out, int jobs, int threads, int *n_done_io)
{
    const sweep_t *swp = sw_;
    char err[ERR_MAX], path[4096];
    int status = 0, n_done = *n_done_io;
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    slot_t *slots = calloc(jobs, sizeof(slot_t));
    int next = 0, running = 0, failed = 0, forwarded = 0;
    double t_start = now_s();
    for (;;) {
        while (!g_stop && running < jobs) {
            while (next < n_runs && (runs[next].done || runs[next].stale)) next++;
            if (next >= n_runs) break;
            int s = 0;
            while (slots[s].pid) s++;
            if (launch(swp, &runs[next], out, 0, threads, &slots[s].pid, err)) {
                fprintf(stderr, "arithlab sweep: %s: %s\n", runs[next].name, err);
                status = 1;
                next++;
                continue;
            }
            slots[s].run = next++;
            slots[s].stage = 0;
            slots[s].t0 = now_s();
            running++;
        }
        if (!running) break;
        if (g_stop && !forwarded) {
            // SIGINT/SIGTERM (Ctrl-C reaches the children by itself; `timeout` or
            // kill reach only this process): each run saves a checkpoint and exits
            for (int s = 0; s < jobs; s++) if (slots[s].pid) kill(slots[s].pid, SIGINT);
            forwarded = 1;
        }
        int ws;
        pid_t pid = wait(&ws);
        if (pid < 0) { if (errno == EINTR) continue; break; }
        int s = 0;
        while (s < jobs && slots[s].pid != pid) s++;
        if (s == jobs) continue;
        sweep_run_t *rr = &runs[slots[s].run];
        char dir[4096];
        sweep_path_join(dir, sizeof(dir), out, rr->name);
        int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        if (slots[s].stage == 0) add_wall(dir, now_s() - slots[s].t0);
        if (code != 0) {
            slots[s].pid = 0;
            running--;
            if (!g_stop) {
                fprintf(stderr, "arithlab sweep: %s stopped with exit %d; see %s/stdout.txt\n", rr->name, code, dir);
                failed++;
            }
            continue;
        }
        if (slots[s].stage < swp->n_probes && !g_stop) {   // the next probe of this run
            slots[s].stage++;
            if (launch(swp, rr, out, slots[s].stage, threads, &slots[s].pid, err) == 0) continue;
            fprintf(stderr, "arithlab sweep: %s: %s\n", rr->name, err);
            failed++;
        } else if (slots[s].stage == swp->n_probes) {
            sweep_path_join(path, sizeof(path), dir, "sweep_done");
            FILE *f = fopen(path, "w");
            if (f) fclose(f);
            rr->done = 1;
            n_done++;
            printf("[%d/%d] %s done (%.0fs since the sweep started)\n", n_done, n_runs, rr->name, now_s() - t_start);
            fflush(stdout);
        }
        slots[s].pid = 0;
        running--;
    }
    free(slots);
    if (g_stop) {
        printf("sweep stopped: %d of %d runs done; the same command resumes it\n", n_done, n_runs);
        status = 130;
    } else if (failed) {
        status = 1;
    }
    *n_done_io = n_done;
    return status;
}
