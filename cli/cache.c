// cache.c: `arithlab cache`: run problems through a trained model and write its
// activations at TransformerLens's hook points as .npy files with an index
// (probes/cache.h); tools/arithlab_cache.py reads the directory into numpy.
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/args.h"
#include "run/load.h"
#include "probes/cache.h"
#include "probes/probe.h"

#define CACHE_DEFAULT_MAX_MIB 4096

static int cache_usage(const char *msg) { fprintf(stderr, "arithlab cache: %s\n", msg); return 2; }

// 1 if dir exists and holds anything
static int dir_has_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int any = 0;
    while (!any && (e = readdir(d))) any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return any;
}

// the problems of FILE, one per line in the task's ordinary notation: 0, or 2 after a message
static int read_problems(const char *file, const TaskConfig *tc, int block_size, TaskExample **out, int *n_out)
{
    FILE *f = fopen(file, "r");
    if (!f) { fprintf(stderr, "arithlab cache: --problems %s: %s\n", file, strerror(errno)); return 2; }
    char *line = NULL, err[ERR_MAX];
    size_t cap = 0;
    int n = 0, room = 0, line_no = 0, r = 0;
    TaskExample *ex = NULL;
    while (!r && getline(&line, &cap, f) >= 0) {
        line_no++;
        char *s = line, *e = line + strlen(line);
        while (isspace((unsigned char)*s)) s++;
        while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
        if (!*s || *s == '#') continue;
        if (n == room) {
            room = room ? 2 * room : 64;
            TaskExample *grown = realloc(ex, sizeof(TaskExample) * (size_t)room);
            if (!grown) { fprintf(stderr, "arithlab cache: out of memory for %d problems\n", room); r = 1; break; }
            ex = grown;
        }
        if (task_example_from_problem(tc, s, &ex[n], err)) {
            fprintf(stderr, "arithlab cache: --problems %s line %d: %s; task %s takes %s\n", file, line_no, err,
                    task_kind_name(tc->task), task_notation(tc->task));
            r = 2;
        } else if (ex[n].n_tokens - 1 > block_size) {
            fprintf(stderr, "arithlab cache: --problems %s line %d: '%.60s' needs %d positions, more than the model's "
                            "context of %d (model.block_size)\n", file, line_no, s, ex[n].n_tokens - 1, block_size);
            r = 2;
        } else n++;
    }
    free(line);
    fclose(f);
    if (!r && !n) { fprintf(stderr, "arithlab cache: --problems %s holds no problem (one per line, e.g. %s)\n", file, task_notation(tc->task)); r = 2; }
    if (r) { free(ex); return r; }
    *out = ex;
    *n_out = n;
    return 0;
}

int cmd_cache(int argc, char **argv)
{
    const char *ckpt = NULL, *run = NULL, *problems = NULL, *out = NULL, *hooks = NULL;
    int n = 0, seed = 1, threads = 0, max_mib = CACHE_DEFAULT_MAX_MIB, batch = 64, list = 0;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &ckpt, "checkpoint written by arithlab train"},
        {"--run", ARG_STR, &run, "run directory (uses DIR/ckpt.safetensors)"},
        {"--problems", ARG_STR, &problems, "problems one per line in the task's notation (e.g. 128+367); '#' lines skipped"},
        {"--n", ARG_INT, &n, "or: N problems drawn from the run's task (distinct while there are that many)"},
        {"--seed", ARG_INT, &seed, "seed of the --n problems (default 1)"},
        {"--out", ARG_STR, &out, "directory to write (must not exist or be empty): HOOK.npy, tokens.npy, index.json"},
        {"--hooks", ARG_STR, &hooks, "hook points to write, comma-separated names or patterns (default all), "
         "e.g. 'blocks.*.attn.hook_pattern,ln_final.hook_normalized'"},
        {"--max-mib", ARG_INT, &max_mib, "refuse up front when the estimated memory exceeds this many MiB (default 4096; "
         "also the memory available)"},
        {"--batch-size", ARG_INT, &batch, "problems per forward (default 64)"},
        {"--list", ARG_FLAG, &list, "print the hook points, their shapes and the memory estimate; write nothing"},
        {"--threads", ARG_INT, &threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
    };
    int r = args_parse("cache", "--checkpoint FILE (--problems FILE | --n N) --out DIR [--hooks LIST] [--max-mib M]",
                       args, (int)(sizeof args / sizeof args[0]), argc, argv, NULL);
    if (r == 1)
        printf("\nHook points, as TransformerLens names them (p: the pass; a plain model's pass p is block p, a looped\n"
               "model's n_layer x n_loops passes are blocks.0 .. as if unrolled, and index.json gives each one's block\n"
               "and loop): hook_embed, hook_pos_embed, blocks.{p}.hook_resid_pre, blocks.{p}.attn.hook_pattern,\n"
               "blocks.{p}.attn.hook_z, blocks.{p}.hook_attn_out, blocks.{p}.mlp.hook_post, blocks.{p}.hook_resid_post,\n"
               "ln_final.hook_normalized. Each problem runs teacher-forced, its whole text but the last token, padded\n"
               "with <pad> to the longest. Read it back: /usr/bin/python3 tools/arithlab_cache.py DIR\n");
    if (r) return r < 0 ? 2 : 0;
    char err[ERR_MAX], path[4096];
    if (run_threads_check("--threads", threads, err)) return cache_usage(err);
    if (run && !ckpt) { snprintf(path, sizeof path, "%s/ckpt.safetensors", run); ckpt = path; }
    if (!ckpt) return cache_usage("--checkpoint FILE (or --run DIR) is required");
    if (!out && !list) return cache_usage("--out DIR is required (a directory that does not exist yet, or is empty)");
    if (!problems == !n) return cache_usage("give either --problems FILE or --n N (N >= 1), not both");
    if (n < 0) return cache_usage("--n must be >= 1");
    if (batch < 1 || batch > 4096) return cache_usage("--batch-size must be in 1..4096");
    if (max_mib < 1) return cache_usage("--max-mib must be >= 1 (MiB)");
    if (out && dir_has_files(out)) {
        fprintf(stderr, "arithlab cache: --out %s already holds files; give a new or empty directory (nothing is overwritten)\n", out);
        return 2;
    }
    RunConfig rc;
    if (run_config_from_checkpoint(&rc, ckpt, err)) return cache_usage(err);
    TaskConfig tc = rc.task;
    tc.space_prob = 0.0;
    tc.hint_random_start = 0;
    TaskExample *ex = NULL;
    if (problems) { if ((r = read_problems(problems, &tc, rc.model.block_size, &ex, &n))) return r; }
    else if (probe_make_examples(&tc, n, seed, &ex, err)) return cache_usage(err);

    int T = probe_cache_positions(ex, n), B = batch < n ? batch : n;
    probe_cache_plan *plan = malloc(sizeof *plan);
    if (!plan) { free(ex); return cache_usage("out of memory"); }
    if (T > rc.model.block_size) {
        fprintf(stderr, "arithlab cache: the problems need %d positions, more than the model's context of %d\n", T, rc.model.block_size);
        free(ex); free(plan);
        return 2;
    }
    if (probe_cache_plan_make(&rc.model, n, T, B, hooks, plan, err)) { free(ex); free(plan); return cache_usage(err); }
    double mib = 1048576.0, need = (plan->hook_bytes + plan->model_bytes) / mib, avail = model_available_bytes() / mib;
    double limit = avail > 0 && avail < max_mib ? avail : max_mib;
    if (list || need > limit) {
        FILE *f = list ? stdout : stderr;
        if (list)
            for (int i = 0; i < plan->n_hooks; i++) {
                const probe_cache_hook *h = &plan->hooks[i];
                fprintf(f, "%-34s (", h->name);
                for (int d = 0; d < h->ndim; d++) fprintf(f, "%s%s=%lld", d ? ", " : "", h->axes[d], (long long)h->shape[d]);
                fprintf(f, ")\n");
            }
        fprintf(f, "%sthe cache needs an estimated %.1f MiB (%d hook points: %.1f MiB for %d problems x %d positions; "
                   "the model: %.1f MiB); the limit is %.0f MiB (%s)\n", list ? "" : "arithlab cache: ",
                need, plan->n_hooks, plan->hook_bytes / mib, n, T, plan->model_bytes / mib, limit,
                limit < max_mib ? "the memory available" : "--max-mib");
        if (!list) fprintf(stderr, "arithlab cache: refused before running: lower --n, or select fewer hook points with --hooks\n");
        free(ex); free(plan);
        return list ? 0 : 2;
    }
    if (cli_mkdir_p(out, err)) { free(ex); free(plan); return cache_usage(err); }
    Model m;
    if (run_load_model(&m, ckpt, B, T, threads, err)) { free(ex); free(plan); fprintf(stderr, "arithlab cache: %s\n", err); return 1; }
    r = probe_cache_write(&m, plan, ex, n, out, ckpt, err);
    if (r) fprintf(stderr, "arithlab cache: %s\n", err);
    else printf("wrote %d hook points for %d problems x %d positions (%.1f MiB) to %s/ (index.json, tokens.npy)\n",
                plan->n_hooks, n, T, plan->hook_bytes / mib, out);
    model_free(&m);
    free(ex); free(plan);
    return r ? 1 : 0;
}
