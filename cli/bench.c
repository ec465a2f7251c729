// bench.c: `arithlab bench`: times full training steps (forward, backward,
// AdamW) of three fixed configs and reports ms/step, tokens/s, GFLOP/s and MFU
// against a BLIS SGEMM peak measured in the same process.
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "cli/args.h"
#include "model/ops.h"
#include "run/load.h"

typedef struct { const char *name; int V, T, C, L, NH, B; } bench_cfg_t;

static const bench_cfg_t CONFIGS[] = {
    {"tiny", 20, 32, 128, 2, 4, 64},
    {"small", 20, 64, 256, 4, 8, 64},
    {"base", 20, 128, 384, 6, 6, 32},
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

static int run_one(const bench_cfg_t *bc, int steps, int threads, double peak, int csv)
{
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = bc->V; cfg.block_size = bc->T; cfg.n_embd = bc->C;
    cfg.n_layer = bc->L; cfg.n_head = bc->NH; cfg.mlp_hidden = 4 * bc->C;
    char err[ERR_MAX];
    Model m;
    if (model_build(&m, &cfg, bc->B, bc->T, 1, err)) { fprintf(stderr, "arithlab bench: %s\n", err); return 1; }
    model_set_threads(&m, threads);
    m.training = 1;
    int N = bc->B * bc->T;
    int *x = malloc(sizeof(int) * N), *y = malloc(sizeof(int) * N);
    uint64_t rng = rng_seed(7);
    for (int i = 0; i < N; i++) { x[i] = rng_int(&rng, bc->V); y[i] = rng_int(&rng, bc->V); }
    AdamWConfig oc;
    adamw_config_default(&oc);
    int warmup = 3;
    double *ms = malloc(sizeof(double) * steps);
    for (int s = 0; s < warmup + steps; s++) {
        double t0 = time_s();
        model_forward(&m, x, y, bc->B, bc->T);
        model_zero_grad(&m);
        model_backward(&m);
        model_update(&m, &oc, 3e-4f, s + 1, model_grad_norm(&m));
        if (s >= warmup) ms[s - warmup] = (time_s() - t0) * 1e3;
    }
    qsort(ms, steps, sizeof(double), cmp_double);
    double med = steps % 2 ? ms[steps / 2] : 0.5 * (ms[steps / 2 - 1] + ms[steps / 2]);
    double flops = 3.0 * model_flops_forward(&m.cfg, bc->B, bc->T);
    double gflops = flops / (med * 1e-3) / 1e9, tok_s = N / (med * 1e-3);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = ru.ru_maxrss / 1024.0;
    if (csv)
        printf("%s,%.3f,%.0f,%.2f,%.4f,%.2f,%.1f\n", bc->name, med, tok_s, gflops, gflops / peak, peak, rss_mb);
    else
        printf("%-6s %10.2f %12.0f %9.1f %7.1f%% %9.1f %9.1f   (loss %.3f, %zu params)\n", bc->name, med, tok_s,
               gflops, 100.0 * gflops / peak, peak, rss_mb, m.loss, m.n_params);
    fflush(stdout);
    free(x); free(y); free(ms);
    model_free(&m);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    const char *which = "all";
    int steps = 10, threads = 0, csv = 0;
    arg_t args[] = {
        {"--config", ARG_STR, &which, "tiny, small, base or all (default all)"},
        {"--steps", ARG_INT, &steps, "timed steps after 3 warm-up steps (default 10); the median is reported"},
        {"--threads", ARG_INT, &threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        {"--csv", ARG_FLAG, &csv, "print config,ms_per_step,tokens_per_s,gflops,mfu,peak_gflops,peak_rss_mb"},
    };
    int r = args_parse("bench", "[--config tiny|small|base|all] [--steps N] [--threads N] [--csv]", args, 4, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    if (steps < 1) { fprintf(stderr, "arithlab bench: --steps must be >= 1\n"); return 2; }
    char terr[ERR_MAX];
    if (run_threads_check("--threads", threads, terr)) { fprintf(stderr, "arithlab bench: %s\n", terr); return 2; }
    threads = run_threads(threads);
    ops_set_threads(threads);
    int found = 0;
    double peak = sgemm_peak_gflops();
    if (!csv) printf("%-6s %10s %12s %9s %8s %9s %9s\n", "config", "ms/step", "tokens/s", "GFLOP/s", "MFU", "peak", "RSS MiB");
    for (int i = 0; i < N_CONFIGS; i++)
        if (!strcmp(which, "all") || !strcmp(which, CONFIGS[i].name)) {
            found = 1;
            if (run_one(&CONFIGS[i], steps, threads, peak, csv)) return 1;
        }
    if (!found) { fprintf(stderr, "arithlab bench: unknown --config '%s': accepted tiny, small, base, all\n", which); return 2; }
    return 0;
}
