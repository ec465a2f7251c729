// load.c: checkpoint -> model and the default thread count, shared by every command.
#include <stdlib.h>
#include <omp.h>
#include "run/load.h"
#include "model/checkpoint.h"

int run_default_threads(void)
{
    int n = omp_get_num_procs();
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && *env) {
        int max = omp_get_max_threads();   // OMP_NUM_THREADS as the runtime parsed it
        if (max > 0 && max < n) n = max;
    }
    return n < 1 ? 1 : n;
}

int run_threads(int requested)
{
    return requested > 0 ? requested : run_default_threads();
}

int run_threads_max(void)
{
    int n = omp_get_num_procs();
    return RUN_THREADS_PER_CORE * (n < 1 ? 1 : n);
}

int run_threads_check(const char *name, int requested, char *err)
{
    int max = run_threads_max();
    if (requested >= 0 && requested <= max) return 0;
    return err_set(err, "%s %d: accepted 0 (every core, or OMP_NUM_THREADS if lower) or 1..%d (%d x the %d cores)",
                   name, requested, max, RUN_THREADS_PER_CORE, max / RUN_THREADS_PER_CORE);
}

int run_load_model(Model *m, const char *ckpt_path, int B_max, int T_max, int threads, char *err)
{
    if (run_threads_check("--threads", threads, err)) return -1;
    if (T_max <= 0) {
        ModelConfig cfg;
        if (ckpt_read_config(ckpt_path, &cfg, err)) return -1;
        T_max = cfg.block_size;
    }
    if (ckpt_build_model(m, NULL, 0, ckpt_path, B_max, T_max, err)) return -1;
    model_set_threads(m, run_threads(threads));
    return 0;
}
