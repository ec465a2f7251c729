// view_cmd.c: `arithlab view --run DIR`: one self-contained HTML page of a run
// (view/view.h) to open in a browser.
#include <string.h>
#include <sys/stat.h>
#include "cli/args.h"
#include "run/load.h"
#include "view/view.h"

// 1 if path exists and is not a page this command wrote (its title line)
static int foreign_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[512] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return !strstr(buf, "page.html: the page `arithlab view` writes");
}

int cmd_view(int argc, char **argv)
{
    const char *run_dir = NULL, *out = NULL, *problem = NULL;
    int seed = 1, threads = 0;
    arg_t args[] = {
        {"--run", ARG_STR, &run_dir, "run directory written by arithlab train (and the probe, patch and ablate commands)"},
        {"--out", ARG_STR, &out, "the HTML file to write (default DIR/view.html)"},
        {"--problem", ARG_STR, &problem, "the problem whose attention is drawn, e.g. \"128+367\" (default: one drawn from the task)"},
        {"--seed", ARG_INT, &seed, "seed of the drawn problem (default 1)"},
        {"--threads", ARG_INT, &threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
    };
    int r = args_parse("view", "--run DIR [--out FILE] [--problem \"128+367\"]", args, (int)(sizeof(args) / sizeof(args[0])), argc, argv, NULL);
    if (r == 1)
        printf("\nWrites one HTML file with everything inlined (no network needed to view it): the loss and accuracy\n"
               "curves (metrics.csv), the accuracy grid (eval/accuracy_grid.csv), every head's attention pattern for one\n"
               "problem (from ckpt.safetensors), the Fourier spectra (probe_fourier/), and the patching and ablation\n"
               "heatmaps (patch/, ablate/) where the run has them. Hover a cell for its value.\n");
    if (r) return r < 0 ? 2 : 0;
    char err[ERR_MAX], path[4096];
    if (!run_dir) { fprintf(stderr, "arithlab view: --run DIR is required (a run directory written by arithlab train)\n"); return 2; }
    if (run_threads_check("--threads", threads, err)) { fprintf(stderr, "arithlab view: %s\n", err); return 2; }
    if (!out) { snprintf(path, sizeof path, "%.4000s/view.html", run_dir); out = path; }
    struct stat st;
    if (!stat(out, &st) && (!S_ISREG(st.st_mode) || foreign_file(out))) {
        fprintf(stderr, "arithlab view: --out %s exists and is not a page written by arithlab view; not overwriting it\n", out);
        return 2;
    }
    view_opts o = {problem, seed, threads};
    int refused = 0;
    if (view_write(run_dir, out, &o, stdout, &refused, err)) {
        fprintf(stderr, "arithlab view: %s\n", err);
        return refused ? 2 : 1;
    }
    printf("wrote %s\n", out);
    return 0;
}
