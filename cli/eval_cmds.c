// eval_cmds.c: `arithlab eval` (accuracy grid of a trained model, on the
// training distribution and on a file of problems, and the
// speed of cached against uncached decoding). `arithlab solve` is in solve.c.
#include <stdlib.h>
#include <string.h>
#include "cli/args.h"
#include "run/report.h"
#include "model/checkpoint.h"
#include "run/load.h"

// threads: compute threads, 0 = the default (run_default_threads)
static int build_eval_model(const char *cmd, const char *ckpt, Model *m, int B, int threads)
{
    char err[ERR_MAX];
    if (run_load_model(m, ckpt, B, 0, threads, err)) {
        fprintf(stderr, "arithlab %s: %s\n", cmd, err);
        return 1;
    }
    return 0;
}

#define EVAL_SPEED_N_MAX 1000000

// problems/s of the same problems with and without the cache; answers must agree
static int speed(Model *m, const RunConfig *rc, int n)
{
    char err[ERR_MAX];
    TaskConfig tc = rc->task;
    tc.space_prob = 0.0;
    TaskExample *ex = malloc(sizeof(TaskExample) * n);
    char (*a)[TASK_MAX_ANSWER] = malloc((size_t)n * TASK_MAX_ANSWER), (*b)[TASK_MAX_ANSWER] = malloc((size_t)n * TASK_MAX_ANSWER);
    uint64_t rng = rng_seed(77);
    int L = rc->eval.max_len ? rc->eval.max_len : tc.max_len;
    for (int i = 0; i < n; i++) {   // every length up to the grid's, in turn
        int la = 1 + i % L, lb = 1 + (i / L) % L;
        if (task_generate_sized(&tc, &rng, la, lb, -1, &ex[i], err) && task_generate(&tc, &rng, TASK_SPLIT_ANY, &ex[i], err)) {
            fprintf(stderr, "arithlab eval: %s\n", err);
            return 1;
        }
    }
    double t0 = time_s();
    long ca = eval_examples(m, &tc, ex, n, 1, NULL, NULL, a, err);
    double t1 = time_s();
    long cb = ca < 0 ? -1 : eval_examples(m, &tc, ex, n, 0, NULL, NULL, b, err);
    double t2 = time_s();
    if (ca < 0 || cb < 0) { fprintf(stderr, "arithlab eval: %s\n", err); return 1; }
    int same = 1;
    for (int i = 0; i < n; i++) same &= !strcmp(a[i], b[i]);
    printf("decoding %d problems (lengths 1..%d, batch %d): with KV cache %.1f problems/s, "
           "full recomputation %.1f problems/s, speed-up %.2fx; answers identical: %s\n",
           n, L, m->B_max, n / (t1 - t0), n / (t2 - t1), (t2 - t1) / (t1 - t0), same ? "yes" : "NO");
    free(ex); free(a); free(b);
    return same ? 0 : 1;
}

int cmd_eval(int argc, char **argv)
{
    const char *ckpt = NULL, *run_dir = NULL, *out = NULL, *problems = NULL;
    int do_speed = 0, n_speed = 512, threads = 0;
    set_list_t sets = {0};
    arg_t args[] = {
        {"--run", ARG_STR, &run_dir, "run directory (uses DIR/ckpt.safetensors, writes DIR/eval)"},
        {"--checkpoint", ARG_STR, &ckpt, "checkpoint written by arithlab train"},
        {"--out", ARG_STR, &out, "directory for the CSVs and the accuracy grid PNG"},
        {"--set", ARG_SET, &sets, "eval.per_cell, eval.max_len, eval.batch_size or eval.n_population, e.g. "
                                  "eval.max_len=10 (repeatable); other keys are the checkpoint's and refused"},
        {"--problems", ARG_STR, &problems, "also score the problems of FILE: one a+b (or a+b=c, scored against c) per line"},
        {"--speed", ARG_FLAG, &do_speed, "also time decoding with the KV cache against full recomputation"},
        {"--speed-n", ARG_INT, &n_speed, "problems for --speed (default 512; 1..1000000)"},
        {"--threads", ARG_INT, &threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        ARGS_FORMAT,
    };
    int r = args_parse("eval", "--run DIR | --checkpoint FILE [--out DIR] [--set eval.KEY=VALUE ...] [--problems FILE] "
                       "[--speed] [--threads N] [--format LIST]",
                       args, (int)(sizeof(args) / sizeof(args[0])), argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    char terr[ERR_MAX];
    if (run_threads_check("--threads", threads, terr)) { fprintf(stderr, "arithlab eval: %s\n", terr); return 2; }
    if (n_speed < 1 || n_speed > EVAL_SPEED_N_MAX) {   // -1 asked malloc for an impossible size
        fprintf(stderr, "arithlab eval: --speed-n %d: accepted 1..%d problems\n", n_speed, EVAL_SPEED_N_MAX);
        return 2;
    }
    char path[4096], outbuf[4096], err[ERR_MAX];
    if (run_dir && !ckpt) { snprintf(path, sizeof(path), "%s/ckpt.safetensors", run_dir); ckpt = path; }
    if (!ckpt) { fprintf(stderr, "arithlab eval: --run DIR or --checkpoint FILE is required\n"); return 2; }
    if (!out) { snprintf(outbuf, sizeof(outbuf), "%s/eval", run_dir ? run_dir : "."); out = outbuf; }
    RunConfig rc;
    if (run_config_from_checkpoint(&rc, ckpt, err)) { fprintf(stderr, "arithlab eval: %s\n", err); return 2; }
    for (int i = 0; i < sets.n; i++)   // only the keys evaluation reads (run_config_apply_eval_set)
        if (run_config_apply_eval_set(&rc, sets.items[i], err)) {
            fprintf(stderr, "arithlab eval: --set %s: %s\n", sets.items[i], err);
            return 2;
        }
    if (problems) {   // a bad file is refused before any decoding
        TaskExample *pex;
        int pn, pline;
        long pdis;
        if (eval_read_problems(&rc.task, problems, &pex, &pn, &pdis, &pline, NULL, 0, err)) {
            fprintf(stderr, "arithlab eval: %s\n", err);
            return 2;
        }
        free(pex);
    }
    Model m;
    if (build_eval_model("eval", ckpt, &m, rc.eval.batch_size, threads)) return 1;
    // the grid's longest problems must fit the context the model was trained with
    TaskConfig longest = rc.task;
    longest.max_len = rc.eval.max_len > longest.max_len ? rc.eval.max_len : longest.max_len;
    if (task_max_tokens(&longest) - 1 > m.cfg.block_size) {
        fprintf(stderr, "arithlab eval: eval.max_len = %d needs sequences of %d tokens, but the model's block_size is %d\n",
                rc.eval.max_len, task_max_tokens(&longest) - 1, m.cfg.block_size);
        model_free(&m);
        return 2;
    }
    printf("evaluating %s: %s %s, grid (len a, len b) 1..%d, %d problems per cell", ckpt,
           task_kind_name(rc.task.task), task_format_name(rc.task.format),
           rc.eval.max_len ? rc.eval.max_len : rc.task.max_len, rc.eval.per_cell);
    if (rc.eval.n_population > 0) printf("; training distribution, %d problems", rc.eval.n_population);
    if (problems) printf("; file %s", problems);
    printf(", %d thread%s\n", m.n_threads, m.n_threads == 1 ? "" : "s");
    // a fixed training set (task.train_size) is drawn again from its split_seed, as training drew it,
    // so that the grid and the population hold its problems out here too
    TaskPool pool;
    int have_pool = 0;
    if (rc.task.train_size > 0) {
        if (task_pool_build(&rc.task, &pool, err)) {
            fprintf(stderr, "arithlab eval: the training set (task.train_size = %d): %s\n", rc.task.train_size, err);
            model_free(&m);
            return 1;
        }
        have_pool = 1;
    }
    r = report_eval_populations(&m, &rc, have_pool ? &pool.keys : NULL, problems, out, stdout, err);
    if (have_pool) task_pool_free(&pool);
    if (r) fprintf(stderr, "arithlab eval: %s\n", err);
    else printf("wrote %s/accuracy_grid.csv, accuracy_by_digit.csv, accuracy_by_carries.csv, accuracy_grid.png%s\n", out,
                rc.eval.n_population > 0 || problems ? ", accuracy_population.csv" : "");
    if (!r && do_speed) r = speed(&m, &rc, n_speed);
    model_free(&m);
    return r ? 1 : 0;
}
