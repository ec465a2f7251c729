// bench_decode.c: `arithlab bench-decode`: the speed of evaluation, greedy decoding
// of a (len a, len b) grid of problems with the KV cache, in problems/s, on a
// trained (or `arithlab init`) checkpoint; the median of several repeats, beside
// one pass without the cache. --save-problems writes the same problems (prompt and
// expected completion token ids) for tools/torch_decode_peer.py, the PyTorch
// greedy decoder with its own KV cache, so that both decode the same problems with
// the same weights and the ratio is measured on equal work.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/args.h"
#include "eval/eval.h"
#include "model/ops.h"
#include "run/load.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// one line per problem: the prompt's ids, ';', the expected completion's ids (answer and <eos>)
static int save_problems(const char *path, const TaskExample *ex, int n, char *err)
{
    FILE *f = fopen(path, "wx");
    if (!f) return err_set(err, "--save-problems %s: cannot create (%s); name a file that does not exist yet",
                           path, strerror(errno));
    fprintf(f, "# prompt token ids ; expected completion token ids (arithlab bench-decode)\n");
    for (int i = 0; i < n; i++) {
        for (int t = 0; t < ex[i].answer_start; t++) fprintf(f, t ? " %d" : "%d", ex[i].tokens[t]);
        fputs(" ;", f);
        for (int t = ex[i].answer_start; t < ex[i].n_tokens; t++) fprintf(f, " %d", ex[i].tokens[t]);
        fputc('\n', f);
    }
    if (fclose(f)) return err_set(err, "--save-problems %s: write failed: %s", path, strerror(errno));
    return 0;
}

int cmd_bench_decode(int argc, char **argv)
{
    const char *ckpt = NULL, *save = NULL;
    int max_len = 30, per_cell = 4, threads = 0, repeat = 3, batch = 256, csv = 0;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &ckpt, "the model to decode with (a trained run's ckpt.safetensors, or arithlab init's)"},
        {"--max-len", ARG_INT, &max_len, "the grid covers operand lengths 1..N (default 30)"},
        {"--per-cell", ARG_INT, &per_cell, "problems per (len a, len b) cell (default 4)"},
        {"--batch-size", ARG_INT, &batch, "problems decoded together (default 256, as eval.batch_size)"},
        {"--repeat", ARG_INT, &repeat, "timed passes with the KV cache (default 3); the median is reported"},
        {"--threads", ARG_INT, &threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        {"--save-problems", ARG_STR, &save, "write the problems (prompt ids ; completion ids, a line each) to this new "
                                            "file, for tools/torch_decode_peer.py"},
        {"--csv", ARG_FLAG, &csv, "print problems,threads,cached_problems_per_s,uncached_problems_per_s,exact_match"},
    };
    const char *synopsis = "--checkpoint FILE [--max-len N] [--per-cell K] [--batch-size B] [--repeat R] [--threads N] "
                           "[--save-problems FILE] [--csv]";
    int r = args_parse("bench-decode", synopsis, args, 8, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    char err[ERR_MAX];
    if (!ckpt) { fprintf(stderr, "arithlab bench-decode: --checkpoint FILE is required\n"); return 2; }
    if (per_cell < 1 || repeat < 1 || batch < 1) {
        fprintf(stderr, "arithlab bench-decode: --per-cell, --repeat and --batch-size must be at least 1\n");
        return 2;
    }
    if (run_threads_check("--threads", threads, err)) { fprintf(stderr, "arithlab bench-decode: %s\n", err); return 2; }
    RunConfig rc;
    if (run_config_from_checkpoint(&rc, ckpt, err)) { fprintf(stderr, "arithlab bench-decode: %s\n", err); return 2; }
    TaskConfig tc = rc.task;
    if (tc.task == TASK_SORT || tc.task == TASK_MODADD || tc.numbers != TASK_NUMBERS_DIGITS) {
        fprintf(stderr, "arithlab bench-decode: the grid is of operand lengths, so the checkpoint's task must be "
                        "add, sub or mul written in digits (this one is %s%s)\n", task_kind_name(tc.task),
                tc.numbers != TASK_NUMBERS_DIGITS ? " with number tokens" : "");
        return 2;
    }
    if (max_len < 1 || max_len > TASK_MAX_DIGITS) {
        fprintf(stderr, "arithlab bench-decode: --max-len %d: accepted 1..%d\n", max_len, TASK_MAX_DIGITS);
        return 2;
    }
    tc.max_len = max_len > tc.max_len ? max_len : tc.max_len;
    if (task_config_validate(&tc, err)) {
        fprintf(stderr, "arithlab bench-decode: --max-len %d does not fit the checkpoint's task: %s\n", max_len, err);
        return 2;
    }
    int need = task_max_tokens(&tc) - 1;
    if (need > rc.model.block_size) {
        fprintf(stderr, "arithlab bench-decode: --max-len %d needs sequences of %d tokens; the model's context "
                        "(model.block_size) is %d: lower --max-len or train with eval.max_len = %d\n",
                max_len, need, rc.model.block_size, max_len);
        return 2;
    }
    // the problems: per_cell of every (len a, len b), drawn as eval's grid draws them (any carries)
    int n = max_len * max_len * per_cell;
    TaskExample *ex = malloc(sizeof(TaskExample) * (size_t)n);
    if (!ex) { fprintf(stderr, "arithlab bench-decode: out of memory for %d problems\n", n); return 1; }
    uint64_t rng = rng_seed(0xDEC0DEu);
    int k = 0;
    for (int la = 1; la <= max_len; la++)
        for (int lb = 1; lb <= max_len; lb++)
            for (int i = 0; i < per_cell; i++)
                if (task_generate_sized(&tc, &rng, la, lb, -1, &ex[k++], err)) {
                    fprintf(stderr, "arithlab bench-decode: (%d, %d): %s\n", la, lb, err);
                    free(ex);
                    return 2;
                }
    if (save && save_problems(save, ex, n, err)) { fprintf(stderr, "arithlab bench-decode: %s\n", err); free(ex); return 2; }
    Model m;
    threads = run_threads(threads);
    if (run_load_model(&m, ckpt, batch, 0, threads, err)) { fprintf(stderr, "arithlab bench-decode: %s\n", err); free(ex); return 2; }
    // one pass without the cache (every step re-runs the whole prefix), then the timed cached passes
    double t0 = time_s();
    long ok_plain = eval_examples(&m, &tc, ex, n, 0, NULL, NULL, NULL, err);
    double plain_s = time_s() - t0;
    double times[64];
    if (repeat > 64) repeat = 64;
    long ok = ok_plain;
    for (int i = 0; i < repeat && ok >= 0; i++) {
        t0 = time_s();
        ok = eval_examples(&m, &tc, ex, n, 1, NULL, NULL, NULL, err);
        times[i] = time_s() - t0;
    }
    model_free(&m);
    free(ex);
    if (ok_plain < 0 || ok < 0) { fprintf(stderr, "arithlab bench-decode: %s\n", err); return 1; }
    qsort(times, repeat, sizeof times[0], cmp_double);
    double med = times[repeat / 2];
    if (csv) {
        printf("%d,%d,%.1f,%.1f,%.6f\n", n, threads, n / med, n / plain_s, (double)ok / n);
    } else {
        printf("decoded %d problems (%dx%d-digit grid, %d per cell) on %d thread(s), batches of %d\n", n, max_len,
               max_len, per_cell, threads, batch);
        printf("  with the KV cache: %.1f problems/s (median of %d: ", n / med, repeat);
        for (int i = 0; i < repeat; i++) printf(i ? ", %.2f" : "%.2f", times[i]);
        printf(" s)\n  without it:       %.1f problems/s (%.2f s, one pass)\n", n / plain_s, plain_s);
        printf("  exact match %.2f%% (%ld of %d; %ld without the cache)\n", 100.0 * ok / n, ok, n, ok_plain);
    }
    return 0;
}
