// test_load.c: run/load.h, the one checkpoint -> model helper every command uses,
// and the one thread default (every core, or OMP_NUM_THREADS when lower).
#define _POSIX_C_SOURCE 200809L   // mkdtemp, setenv
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/checkpoint.h"
#include "run/load.h"

static void small_config(ModelConfig *cfg)
{
    model_config_default(cfg);
    cfg->vocab_size = 12;
    cfg->block_size = 16;
    cfg->n_layer = 1;
    cfg->n_head = 2;
    cfg->n_embd = 16;
    snprintf(cfg->position, sizeof cfg->position, "absolute");
}

TestSuite(load, .init = tmp_setup, .fini = tmp_teardown);

Test(load, threads_default_is_omp_num_threads_when_lower_than_the_cores)
{
    // ctest runs the tests with OMP_NUM_THREADS=2
    int procs = omp_get_num_procs();
    int want = getenv("OMP_NUM_THREADS") && omp_get_max_threads() < procs ? omp_get_max_threads() : procs;
    cr_assert_eq(run_default_threads(), want);
    cr_assert_eq(run_threads(0), want);
    cr_assert_eq(run_threads(-3), want);
    cr_assert_eq(run_threads(3), 3, "a positive request is used as given");
}

Test(load, model_from_checkpoint_has_the_saved_parameters_and_block_size)
{
    ModelConfig cfg;
    small_config(&cfg);
    static Model a, b;
    char err[ERR_MAX] = "", path[256];
    cr_assert_eq(model_build(&a, &cfg, 2, 16, 7, err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/m.safetensors", tmpdir);
    cr_assert_eq(ckpt_save(&a, NULL, 0, path, err), 0, "%s", err);

    cr_assert_eq(run_load_model(&b, path, 3, 0, 1, err), 0, "%s", err);
    cr_assert_eq(b.n_params, a.n_params);
    cr_assert_eq(b.cfg.block_size, 16);
    cr_assert_eq(b.n_threads, 1);
    cr_assert_eq(memcmp(a.params, b.params, a.n_params * sizeof(float)), 0, "parameters differ after loading");
    model_free(&b);
    model_free(&a);
}

Test(load, missing_checkpoint_fails_with_a_message_naming_the_file)
{
    static Model m;
    char err[ERR_MAX] = "", path[256];
    snprintf(path, sizeof path, "%s/nope.safetensors", tmpdir);
    cr_assert_eq(run_load_model(&m, path, 1, 0, 0, err), -1);
    cr_assert(strstr(err, "nope.safetensors") != NULL, "err: %s", err);
}
