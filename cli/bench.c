// bench.c: `arithlab bench`: times full training steps (forward, backward,
// AdamW) of fixed configs and reports ms/step, tokens/s, useful (non-padding)
// tokens/s, GFLOP/s and MFU against a BLIS SGEMM peak measured in the same process.
//
// tiny, small and base train on random tokens, every position useful. abacus is
// the lab's real workload: the schemes recipe's task (reverse-all addition of
// 1..10-digit numbers, carries balanced) on a 4-layer d=128 model with Abacus
// positions, batch 128, its batches drawn by the training loader before timing
// and padded, as `arithlab train` pads them, to the task's longest sequence.
// --save-batches writes those batches as .npy so that tools/torch_peer.py
// trains on the same tokens. --packing masked (or windows) packs abacus's rows as
// train.packing does (tasks/pack.h), --seq-len sets their length: the speed of
// more useful tokens per row.
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "cli/args.h"
#include "core/npy.h"
#include "model/ops.h"
#include "run/load.h"
#include "tasks/loader.h"

// a config trains on random tokens (task == NULL) or on the batches of a run
// config's task (the INI text in task: its [model], [train] batch_size, [task])
typedef struct { const char *name; int V, T, C, L, NH, B; const char *task; } bench_cfg_t;

#define BENCH_TASK_BATCHES 8   // distinct task batches, cycled through the steps

static const char ABACUS_RUN[] =
    "[model]\nn_layer = 4\nn_head = 4\nn_embd = 128\nposition = abacus\nabacus_k = 20\n"
    "[train]\nbatch_size = 128\nseed = 1\n"
    "[task]\ntask = add\nmin_len = 1\nmax_len = 10\nformat = reverse_all\npad_width = 0\nbalance_carries = 1\n"
    "[eval]\nmax_len = 30\n";

static const bench_cfg_t CONFIGS[] = {
    {"tiny", 20, 32, 128, 2, 4, 64, NULL},
    {"small", 20, 64, 256, 4, 8, 64, NULL},
    {"base", 20, 128, 384, 6, 6, 32, NULL},
    {"abacus", 0, 0, 0, 0, 0, 0, ABACUS_RUN},   // every size from the run config
};
#define N_CONFIGS (int)(sizeof(CONFIGS) / sizeof(CONFIGS[0]))

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// best of several large square SGEMMs through the same BLIS path as the model's
// big projections (row blocks over the OpenMP threads); the best, because any
// interruption only lowers a run
static double sgemm_peak_gflops(void)
{
    int n = 2048;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (long i = 0; i < (long)n * n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; }
    double best = 0.0;
    for (int rep = 0; rep < 8; rep++) {
        double t0 = time_s();
        ops_gemm_big(0, 1, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = time_s() - t0, g = 2.0 * n * n * (double)n / dt / 1e9;
        if (rep && g > best) best = g;   // the first call pays for packing buffers
    }
    free(a); free(b); free(c);
    return best;
}

// the data of one config: n_batches (B,T) input/target batches (and positions, masked packing)
typedef struct { ModelConfig cfg; int B, T, n_batches; int *x, *y, *pos; long useful; } bench_data_t;

static void bench_data_free(bench_data_t *d) { free(d->x); free(d->y); free(d->pos); d->x = d->y = d->pos = NULL; }

// how a task config's rows are made (--packing, --seq-len)
typedef struct { int packing, seq_len; } bench_rows_t;

// random tokens (every position useful), or the task's first batches from the training loader
static int bench_data_build(const bench_cfg_t *bc, const bench_rows_t *rows, bench_data_t *d, char *err)
{
    memset(d, 0, sizeof(*d));
    if (!bc->task) {
        model_config_default(&d->cfg);
        d->cfg.vocab_size = bc->V; d->cfg.block_size = bc->T; d->cfg.n_embd = bc->C;
        d->cfg.n_layer = bc->L; d->cfg.n_head = bc->NH; d->cfg.mlp_hidden = 4 * bc->C;
        d->B = bc->B; d->T = bc->T; d->n_batches = 1;
        size_t N = (size_t)d->B * d->T;
        d->x = malloc(sizeof(int) * N); d->y = malloc(sizeof(int) * N);
        if (!d->x || !d->y) { bench_data_free(d); return err_set(err, "out of memory"); }
        uint64_t rng = rng_seed(7);
        for (size_t i = 0; i < N; i++) { d->x[i] = rng_int(&rng, bc->V); d->y[i] = rng_int(&rng, bc->V); }
        d->useful = (long)N;
        return 0;
    }
    static RunConfig rc;   // large (TaskConfig); one at a time
    char inner[ERR_MAX];
    run_config_default(&rc);
    if (run_config_load_string(&rc, bc->task, bc->name, inner)) return err_set(err, "config %s: %s", bc->name, inner);
    if (rows->seq_len) {   // rows longer than the model's context widen it (model.block_size)
        static RunConfig resolved;
        resolved = rc;
        if (run_config_resolve(&resolved, inner)) return err_set(err, "config %s: %s", bc->name, inner);
        char v[32];
        snprintf(v, sizeof v, "%d", rows->seq_len);
        if (run_config_set(&rc, "train.seq_len", v, inner) ||
            (rows->seq_len > resolved.model.block_size && run_config_set(&rc, "model.block_size", v, inner)))
            return err_set(err, "--seq-len: %s", inner);
    }
    snprintf(rc.train.packing, sizeof rc.train.packing, "%s", TASK_PACKING_NAMES[rows->packing]);
    if (run_config_resolve(&rc, inner)) return err_set(err, "config %s: %s", bc->name, inner);
    d->cfg = rc.model;
    d->B = rc.train.batch_size; d->T = rc.train.seq_len; d->n_batches = BENCH_TASK_BATCHES;
    size_t N = (size_t)d->B * d->T;
    d->x = malloc(sizeof(int) * N * d->n_batches); d->y = malloc(sizeof(int) * N * d->n_batches);
    if (rows->packing == TASK_PACK_MASKED) d->pos = malloc(sizeof(int) * N * d->n_batches);
    if (!d->x || !d->y || (rows->packing == TASK_PACK_MASKED && !d->pos)) { bench_data_free(d); return err_set(err, "out of memory"); }
    TaskLoader l;
    if (task_loader_init(&l, &rc.task, d->B, d->T, rng_seed(rc.train.seed * 0x9E37u + 17),
                         (size_t)d->B * d->n_batches * 4, inner) ||
        task_loader_set_packing(&l, rows->packing, 0, inner)) {
        bench_data_free(d);
        return err_set(err, "config %s: %s", bc->name, inner);
    }
    for (int i = 0; i < d->n_batches; i++) {
        if (task_loader_next(&l, inner)) { task_loader_free(&l); bench_data_free(d); return err_set(err, "config %s: %s", bc->name, inner); }
        memcpy(d->x + N * i, l.inputs, sizeof(int) * N);
        memcpy(d->y + N * i, l.targets, sizeof(int) * N);
        if (d->pos) memcpy(d->pos + N * i, l.pos, sizeof(int) * N);
    }
    task_loader_free(&l);
    for (size_t i = 0; i < N * d->n_batches; i++) d->useful += d->x[i] != TASK_PAD;
    return 0;
}

// dir/<name>_inputs.npy and dir/<name>_targets.npy, each (n_batches, B, T) int32
static int bench_data_save(const bench_data_t *d, const char *name, const char *dir, char *err)
{
    char path[4096], inner[ERR_MAX];
    int64_t shape[3] = {d->n_batches, d->B, d->T};
    size_t n = (size_t)d->n_batches * d->B * d->T;
    int32_t *buf = malloc(sizeof(int32_t) * n);
    if (!buf) return err_set(err, "out of memory");
    for (int which = 0; which < 2; which++) {
        const int *src = which ? d->y : d->x;
        for (size_t i = 0; i < n; i++) buf[i] = src[i];
        snprintf(path, sizeof(path), "%s/%s_%s.npy", dir, name, which ? "targets" : "inputs");
        if (npy_write_i32(path, buf, 3, shape, inner)) { free(buf); return err_set(err, "--save-batches: %s", inner); }
    }
    free(buf);
    return 0;
}

static int run_one(const bench_cfg_t *bc, const bench_rows_t *rows, int steps, int threads, double peak, int csv, const char *save_dir)
{
    char err[ERR_MAX];
    bench_data_t d;
    if (bench_data_build(bc, rows, &d, err)) { fprintf(stderr, "arithlab bench: %s\n", err); return 1; }
    if (save_dir && bc->task && bench_data_save(&d, bc->name, save_dir, err)) {
        fprintf(stderr, "arithlab bench: %s\n", err);
        bench_data_free(&d);
        return 1;
    }
    Model m;
    if (model_build(&m, &d.cfg, d.B, d.T, 1, err)) { fprintf(stderr, "arithlab bench: %s\n", err); bench_data_free(&d); return 1; }
    model_set_threads(&m, threads);
    m.training = 1;
    size_t N = (size_t)d.B * d.T;
    AdamWConfig oc;
    adamw_config_default(&oc);
    int warmup = 3;
    double *ms = malloc(sizeof(double) * steps);
    for (int s = 0; s < warmup + steps; s++) {
        size_t at = N * (s % d.n_batches);
        double t0 = time_s();
        model_forward_batch(&m, &(Batch){d.x + at, d.y + at, NULL, NULL, d.B, d.T, d.pos ? d.pos + at : NULL});
        model_zero_grad(&m);
        model_backward(&m);
        model_update(&m, &oc, 3e-4f, s + 1, model_grad_norm(&m));
        if (s >= warmup) ms[s - warmup] = (time_s() - t0) * 1e3;
    }
    qsort(ms, steps, sizeof(double), cmp_double);
    double med = steps % 2 ? ms[steps / 2] : 0.5 * (ms[steps / 2 - 1] + ms[steps / 2]);
    double flops = 3.0 * model_flops_forward(&m.cfg, d.B, d.T);
    double gflops = flops / (med * 1e-3) / 1e9, tok_s = N / (med * 1e-3);
    double useful_s = (double)d.useful / d.n_batches / (med * 1e-3);   // non-padding inputs of an average batch
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = ru.ru_maxrss / 1024.0;
    if (csv)
        printf("%s,%.3f,%.0f,%.2f,%.4f,%.2f,%.1f,%.0f\n", bc->name, med, tok_s, gflops, gflops / peak, peak, rss_mb, useful_s);
    else
        printf("%-6s %10.2f %12.0f %12.0f %9.1f %7.1f%% %9.1f %9.1f   (B%d T%d%s%s, loss %.3f, %zu params)\n", bc->name, med,
               tok_s, useful_s, gflops, 100.0 * gflops / peak, peak, rss_mb, d.B, d.T,
               bc->task && rows->packing ? ", packing " : "", bc->task && rows->packing ? TASK_PACKING_NAMES[rows->packing] : "",
               m.loss, m.n_params);
    fflush(stdout);
    free(ms);
    bench_data_free(&d);
    model_free(&m);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    const char *which = "all", *save_dir = NULL, *packing_name = "none";
    int steps = 10, threads = 0, csv = 0, seq_len = 0;
    arg_t args[] = {
        {"--config", ARG_STR, &which, "tiny, small, base, abacus or all (default all); abacus = the schemes recipe's "
                                      "task (reverse-all 1..10-digit addition), 4 layers, d=128, 4 heads, Abacus positions, batch 128"},
        {"--steps", ARG_INT, &steps, "timed steps after 3 warm-up steps (default 10); the median is reported"},
        {"--threads", ARG_INT, &threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        {"--csv", ARG_FLAG, &csv, "print config,ms_per_step,tokens_per_s,gflops,mfu,peak_gflops,peak_rss_mb,useful_tokens_per_s"},
        {"--save-batches", ARG_STR, &save_dir, "write the task configs' batches (abacus) to DIR/<config>_inputs.npy and "
                                               "_targets.npy, (batches,B,T) int32, for tools/torch_peer.py --batches"},
        {"--packing", ARG_STR, &packing_name, "the task configs' rows (abacus), as train.packing: none (default: one problem "
                                              "per row, padded), masked (whole problems per row, each attending only to itself) "
                                              "or windows (cut from the concatenated problems)"},
        {"--seq-len", ARG_INT, &seq_len, "the task configs' row length in tokens (train.seq_len and model.block_size; "
                                         "default: the task's longest sequence)"},
    };
    int r = args_parse("bench", "[--config tiny|small|base|abacus|all] [--steps N] [--threads N] [--csv] [--save-batches DIR] "
                                "[--packing none|masked|windows] [--seq-len N]",
                       args, 7, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    bench_rows_t rows = {task_packing_from_name(packing_name), seq_len};
    if (rows.packing < 0) { fprintf(stderr, "arithlab bench: unknown --packing '%s': accepted none, masked, windows\n", packing_name); return 2; }
    if (seq_len < 0) { fprintf(stderr, "arithlab bench: --seq-len must be >= 1 (or 0: the task's longest sequence)\n"); return 2; }
    if (save_dir && rows.packing == TASK_PACK_MASKED) {
        fprintf(stderr, "arithlab bench: --save-batches with --packing masked: tools/torch_peer.py has no per-problem "
                        "attention mask; save unpacked or windows batches\n");
        return 2;
    }
    if (steps < 1) { fprintf(stderr, "arithlab bench: --steps must be >= 1\n"); return 2; }
    char terr[ERR_MAX];
    if (run_threads_check("--threads", threads, terr)) { fprintf(stderr, "arithlab bench: %s\n", terr); return 2; }
    int found = 0, has_task = 0;
    for (int i = 0; i < N_CONFIGS; i++)
        if (!strcmp(which, "all") || !strcmp(which, CONFIGS[i].name)) { found = 1; has_task |= CONFIGS[i].task != NULL; }
    if (!found) { fprintf(stderr, "arithlab bench: unknown --config '%s': accepted tiny, small, base, abacus, all\n", which); return 2; }
    if (save_dir && !has_task) {
        fprintf(stderr, "arithlab bench: --save-batches: config %s trains on random tokens; only abacus (or all) has task batches to save\n", which);
        return 2;
    }
    if (save_dir) {
        char err[ERR_MAX];
        if (cli_mkdir_p(save_dir, err)) { fprintf(stderr, "arithlab bench: --save-batches: %s\n", err); return 1; }
    }
    threads = run_threads(threads);
    ops_set_threads(threads);
    double peak = sgemm_peak_gflops();
    if (!csv) printf("%-6s %10s %12s %12s %9s %8s %9s %9s\n", "config", "ms/step", "tokens/s", "useful tok/s", "GFLOP/s", "MFU", "peak", "RSS MiB");
    for (int i = 0; i < N_CONFIGS; i++)
        if (!strcmp(which, "all") || !strcmp(which, CONFIGS[i].name))
            if (run_one(&CONFIGS[i], &rows, steps, threads, peak, csv, save_dir)) return 1;
    return 0;
}
