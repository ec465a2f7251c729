// sweep.c: `arithlab sweep`: run a grid of training runs (configs x varied keys
// x seeds) as parallel child processes that share the cores without
// oversubscribing them, resume where a stopped sweep left off, and tabulate
// in- and out-of-distribution accuracy over seeds (CSV, Markdown, a plot).
//
// A sweep file (INI) names a base config and what to vary:
//   [sweep]
//   config = base.ini                      ; relative to the sweep file
//   seeds  = 1, 2, 3
//   vary   = model.position: absolute, nope, rope, abacus    ; repeatable: a grid
//   set    = train.steps=4000              ; repeatable: applied to every run
//   bands  = 1-10, 11-20, 21-30            ; accuracy columns by longest operand
//   x      = task.train_size               ; plot in-distribution accuracy against a varied key
//   y      = population                    ; plot the training-distribution accuracy instead (eval.n_population)
//   probe  = attention                     ; run this probe on every finished run
//   [variant looped]                       ; optional named variants, each crossed with the grid
//   model.n_layer = 1
//   model.n_loops = 4
// A run whose directory holds another config than the sweep file gives it now
// (the file was edited) is stale: the sweep moves it aside and runs it again;
// --table refuses to tabulate it, and --keep-stale keeps and marks it instead.
#define _GNU_SOURCE   // sched_getaffinity
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
#include "cli/cli.h"
#include "cli/args.h"
#include "plot/plot.h"
#include "sweep/sweep.h"

// ---------------------------------------------------------------- the command

static int n_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

// runs/<directory>, or runs/<directory>_<file> for a sweep file not named sweep.ini
static const char *default_out(const sweep_t *sw, const char *spec, char *buf, size_t cap)
{
    const char *base = strrchr(sw->dir, '/'), *file = strrchr(spec, '/');
    file = file ? file + 1 : spec;
    struct stat st;
    int named = stat(spec, &st) == 0 && !S_ISDIR(st.st_mode) && strcmp(file, "sweep.ini");
    int stem = (int)strcspn(file, ".");
    snprintf(buf, cap, "runs/%s%s%.*s", base ? base + 1 : sw->dir, named ? "_" : "", named ? stem : 0, file);
    return buf;
}

int cmd_sweep(int argc, char **argv)
{
    const char *spec = NULL, *out = NULL, *seeds = NULL;
    int jobs = 0, threads = 1, dry = 0, table_only = 0, keep_stale = 0;
    arg_t args[] = {
        {"--out", ARG_STR, &out, "output directory (default runs/<sweep directory name>)"},
        {"--jobs", ARG_INT, &jobs, "runs at once (default: cores / --threads)"},
        {"--threads", ARG_INT, &threads, "compute threads per run (default 1)"},
        {"--list", ARG_FLAG, &dry, "list the runs and their state, run nothing"},
        {"--table", ARG_FLAG, &table_only, "only tabulate the finished runs"},
        {"--seeds", ARG_STR, &seeds, "override the sweep file's seeds, e.g. 2,3"},
        {"--keep-stale", ARG_FLAG, &keep_stale, "keep runs whose config differs from the sweep file's now: not re-run, tabulated marked stale"},
        ARGS_FORMAT,
    };
    int r = args_parse("sweep", "SWEEP.ini|DIR [--out DIR] [--jobs N] [--threads K] [--seeds LIST] [--list] [--table] [--keep-stale] [--format LIST]",
                       args, 8, argc, argv, &spec);
    if (r) return r < 0 ? 2 : 0;
    if (!spec) { fprintf(stderr, "arithlab sweep: give a sweep file or a directory holding sweep.ini (e.g. experiments/schemes)\n"); return 2; }
    char err[ERR_MAX];
    static sweep_t sw;
    if (sweep_load(&sw, spec, err)) { fprintf(stderr, "arithlab sweep: %s\n", err); return 2; }
    if (seeds && sweep_parse_key(&sw, "seeds", seeds, err)) { fprintf(stderr, "arithlab sweep: --seeds: %s\n", err); return 2; }
    int cores = n_cores();
    if (threads < 1 || threads > cores) { fprintf(stderr, "arithlab sweep: --threads %d: accepted 1..%d (the cores this process may use)\n", threads, cores); return 2; }
    if (jobs == 0) jobs = cores / threads;
    if (jobs < 1 || jobs * threads > cores) {
        fprintf(stderr, "arithlab sweep: --jobs %d x --threads %d would start more compute threads than the %d cores\n", jobs, threads, cores);
        return 2;
    }
    char outbuf[4096];
    if (out && strlen(out) > 2000) { fprintf(stderr, "arithlab sweep: --out: a path of at most 2000 characters\n"); return 2; }
    if (!out) out = default_out(&sw, spec, outbuf, sizeof(outbuf));
    static sweep_run_t runs[SWEEP_MAX_RUNS];
    int n_runs = sweep_expand(&sw, runs, err);
    if (n_runs < 0) { fprintf(stderr, "arithlab sweep: %s\n", err); return 2; }
    char path[4096];
    int n_done = 0, n_stale = 0;
    for (int i = 0; i < n_runs; i++) {
        if (sweep_run_state(&sw, &runs[i], out, err)) { fprintf(stderr, "arithlab sweep: run %s\n(nothing was started)\n", err); return 2; }
        n_stale += runs[i].stale;
    }
    for (int i = 0; i < n_runs; i++)
        if ((!runs[i].done || runs[i].stale) && sweep_check_run(&sw, &runs[i], err)) {
            fprintf(stderr, "arithlab sweep: run %s\n(nothing was started)\n", err);
            return 2;
        }
    if (dry) {
        for (int i = 0; i < n_runs; i++) {
            char dir[4096];
            sweep_path_join(dir, sizeof(dir), out, runs[i].name);
            sweep_path_join(path, sizeof(path), dir, "ckpt.safetensors");
            const char *state = runs[i].done ? "done" : sweep_file_exists(path) ? "stopped (will resume)" : "to run";
            if (runs[i].stale)
                state = keep_stale ? (runs[i].done ? "done, stale (config changed; kept: --keep-stale)" : "stopped, stale (config changed; kept: --keep-stale)")
                                   : (runs[i].done ? "done, stale (config changed; will re-run)" : "stopped, stale (config changed; will re-run)");
            printf("%-60s %s\n", runs[i].name, state);
        }
        if (n_stale) printf("%d stale run%s: trained with another config than %s gives now\n", n_stale, n_stale == 1 ? "" : "s", spec);
        return 0;
    }
    if (n_stale && table_only && !keep_stale) {
        fprintf(stderr, "arithlab sweep: %d run%s in %s were trained with another config than %s gives now:\n",
                n_stale, n_stale == 1 ? "" : "s", out, spec);
        for (int i = 0; i < n_runs; i++) if (runs[i].stale) fprintf(stderr, "  %s\n", runs[i].name);
        fprintf(stderr, "run the sweep without --table to re-run them, or add --keep-stale to tabulate them marked stale\n");
        return 2;
    }
    if (n_stale && !table_only && !keep_stale) {
        printf("%d run%s trained with another config than %s gives now: moved aside and run again\n", n_stale, n_stale == 1 ? "" : "s", spec);
        for (int i = 0; i < n_runs; i++) {
            if (!runs[i].stale) continue;
            char moved[4200];
            if (sweep_set_aside(out, &runs[i], moved, sizeof(moved), err)) { fprintf(stderr, "arithlab sweep: %s\n", err); return 1; }
            printf("  %s -> %s\n", runs[i].name, moved);
            runs[i].stale = 0;
            runs[i].done = 0;
        }
        fflush(stdout);
    }
    for (int i = 0; i < n_runs; i++) n_done += runs[i].done;
    if (cli_mkdir_p(out, err)) { fprintf(stderr, "arithlab sweep: %s\n", err); return 1; }
    int status = 0;
    if (!table_only && n_done < n_runs) {
        printf("sweep %s: %d runs (%d done), %d at a time with %d thread%s each, into %s\n",
               spec, n_runs, n_done, jobs, threads, threads > 1 ? "s" : "", out);
        fflush(stdout);
        status = sweep_run_pool(&sw, runs, n_runs, out, jobs, threads, &n_done);
    }
    if (sweep_write_results(&sw, runs, n_runs, out, err)) { fprintf(stderr, "arithlab sweep: %s\n", err); return 1; }
    sweep_path_join(path, sizeof(path), out, "table.md");
    FILE *f = fopen(path, "r");
    if (f) {
        char line[2048];
        while (fgets(line, sizeof(line), f)) fputs(line, stdout);
        fclose(f);
    }
    printf("wrote %s/summary.csv, %s/table.md%s\n", out, out, sw.x[0] ? " and the accuracy plot" : "");
    return status;
}
