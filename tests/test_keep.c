// test_keep.c: checkpoint history: train.keep_every = N keeps the weights every
// N steps as ckpt_step<step>.safetensors besides the latest, run_kept_checkpoints
// lists exactly those files in step order, and `probe fourier --run DIR
// --over-steps` reports at each kept step the spectrum `probe fourier` itself
// reports on that checkpoint; and the refusals.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <math.h>
#include <sys/stat.h>
#include "model/checkpoint.h"
#include "run/train.h"

TestSuite(keep, .init = scratch_enter, .fini = scratch_leave);

#define TINY "--set model.n_layer=1 --set model.n_embd=16 --set model.n_head=2 --set train.eval_every=0 " \
             "--set eval.per_cell=1 --set task.max_len=3 --set train.threads=1"

static void train_kept(const char *dir, int steps, int keep_every)
{
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --out %s --set train.steps=%d --set train.keep_every=%d " TINY,
             ARITHLAB_BIN, dir, steps, keep_every);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
}

static int exists(const char *path) { struct stat st; return stat(path, &st) == 0; }

Test(keep, keep_every_keeps_the_weights_every_N_steps_besides_the_latest)
{
    train_kept("run", 6, 2);
    cr_assert(exists("run/ckpt.safetensors"));
    cr_assert(exists("run/ckpt_step000002.safetensors") && exists("run/ckpt_step000004.safetensors") &&
              exists("run/ckpt_step000006.safetensors"));
    cr_assert(!exists("run/ckpt_step000003.safetensors") && !exists("run/ckpt_step000001.safetensors"));
    char err[ERR_MAX];
    static TrainState st;
    cr_assert_eq(ckpt_read_state("run/ckpt_step000004.safetensors", &st, err), 0, "%s", err);
    cr_assert_eq(st.step, 4);
    // the last kept checkpoint holds the latest weights, without the AdamW moments
    Model a, b;
    cr_assert_eq(ckpt_build_model(&a, &st, 1, "run/ckpt_step000006.safetensors", 1, 8, err), 0, "%s", err);
    cr_assert_eq(st.has_optimizer, 0, "a kept checkpoint carries the AdamW moments");
    cr_assert_eq(st.step, 6);
    cr_assert_eq(ckpt_build_model(&b, &st, 1, "run/ckpt.safetensors", 1, 8, err), 0, "%s", err);
    cr_assert_eq(st.has_optimizer, 1);
    cr_assert_eq(a.n_params, b.n_params);
    cr_assert_eq(memcmp(a.params, b.params, sizeof(float) * a.n_params), 0, "kept step 6 differs from the final weights");
    // and an earlier one differs from them (it is not a copy of the latest)
    Model c;
    cr_assert_eq(ckpt_build_model(&c, &st, 0, "run/ckpt_step000002.safetensors", 1, 8, err), 0, "%s", err);
    cr_assert_neq(memcmp(c.params, b.params, sizeof(float) * c.n_params), 0);
    model_free(&a); model_free(&b); model_free(&c);
}

Test(keep, kept_checkpoints_are_listed_in_step_order_and_lookalikes_ignored)
{
    cr_assert_eq(mkdir("d", 0755), 0);
    const char *files[] = {"d/ckpt_step000010.safetensors", "d/ckpt_step000002.safetensors", "d/ckpt_step1000000.safetensors",
                           "d/ckpt_step0000003.safetensors", "d/ckpt_step+00005.safetensors", "d/ckpt_step000004.safetensors.tmp.1",
                           "d/ckpt.safetensors", "d/ckpt_step000007.safetensor"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) write_bytes(files[i], "x", 1);
    char **paths, err[ERR_MAX];
    long *steps;
    int n;
    cr_assert_eq(run_kept_checkpoints("d", &paths, &steps, &n, err), 0, "%s", err);
    cr_assert_eq(n, 3);
    cr_assert_eq(steps[0], 2);
    cr_assert_eq(steps[1], 10);
    cr_assert_eq(steps[2], 1000000);
    cr_assert_str_eq(paths[1], "d/ckpt_step000010.safetensors");
    run_kept_free(paths, steps, n);
    cr_assert_eq(run_kept_checkpoints("no_such_dir", &paths, &steps, &n, err), -1);
    cr_assert(strstr(err, "no_such_dir"), "%s", err);
}

// the share column of the rows of a CSV whose first field is `step` (-1: any; embed_spectrum.csv has no step)
static int read_shares(const char *path, long step, int share_col, double *share)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[512];
    int n = 0;
    cr_assert_not_null(fgets(line, sizeof line, f));   // header
    while (fgets(line, sizeof line, f)) {
        char *fields[8], *save = NULL;
        int nf = 0;
        for (char *t = strtok_r(line, ",", &save); t && nf < 8; t = strtok_r(NULL, ",", &save)) fields[nf++] = t;
        if (step >= 0 && atol(fields[0]) != step) continue;
        share[n++] = atof(fields[share_col]);
    }
    fclose(f);
    return n;
}

Test(keep, over_steps_reports_at_each_kept_step_the_spectrum_probe_fourier_reports_there)
{
    char cmd[2048], out[16384];
    train_kept("run", 4, 2);
    snprintf(cmd, sizeof cmd, "%s probe fourier --run run --over-steps --threads 1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(exists("run/probe_fourier/fourier_steps.png") && exists("run/probe_fourier/fourier_steps.npy"), "%s", out);
    cr_assert(strstr(out, "step       2:") && strstr(out, "step       4:"), "%s", out);
    for (long step = 2; step <= 4; step += 2) {
        snprintf(cmd, sizeof cmd, "%s probe fourier --checkpoint run/ckpt_step%06ld.safetensors --out p%ld --n 8 --threads 1",
                 ARITHLAB_BIN, step, step);
        cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
        double over[8], one[8];
        // fourier_steps.csv: step,k,period,share,key; embed_spectrum.csv: k,period,norm,share,key
        char path[64];
        snprintf(path, sizeof path, "p%ld/embed_spectrum.csv", step);
        cr_assert_eq(read_shares("run/probe_fourier/fourier_steps.csv", step, 3, over), 6);
        cr_assert_eq(read_shares(path, -1, 3, one), 6);
        double total = 0;
        for (int k = 0; k < 6; k++) {
            cr_assert(fabs(over[k] - one[k]) < 1e-5, "step %ld k=%d: over-steps share %g, probe fourier %g", step, k, over[k], one[k]);
            total += over[k];
        }
        cr_assert(fabs(total - 1.0) < 1e-4, "step %ld: the shares sum to %g", step, total);
    }
}

Test(keep, over_steps_on_number_tokens_reads_the_residue_embeddings_beside_the_accuracy)
{
    // modadd p = 13 with one token per residue: the spectrum has k = 0..6 (period 13/k) and at
    // each kept step equals what probe fourier writes for that checkpoint's number tokens
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --out nt --set train.steps=4 --set train.keep_every=2 --set task.task=modadd "
             "--set task.modulus=13 --set task.numbers=tokens --set task.format=plain --set task.pad_width=0 "
             "--set model.n_layer=1 --set model.n_embd=16 --set model.n_head=2 --set train.eval_every=2 "
             "--set eval.per_cell=1 --set eval.n_during_train=8 --set train.threads=1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s probe fourier --run nt --over-steps --threads 1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "number-token embeddings over 2 kept checkpoints") != NULL, "%s", out);
    cr_assert(exists("nt/probe_fourier/fourier_steps.png"), "%s", out);
    for (long step = 2; step <= 4; step += 2) {
        snprintf(cmd, sizeof cmd, "%s probe fourier --checkpoint nt/ckpt_step%06ld.safetensors --out q%ld --threads 1",
                 ARITHLAB_BIN, step, step);
        cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
        double over[16], one[16];
        char path[64];
        snprintf(path, sizeof path, "q%ld/numtok_embed_spectrum.csv", step);
        cr_assert_eq(read_shares("nt/probe_fourier/fourier_steps.csv", step, 3, over), 7);
        cr_assert_eq(read_shares(path, -1, 3, one), 7);
        for (int k = 0; k < 7; k++)
            cr_assert(fabs(over[k] - one[k]) < 1e-5, "step %ld k=%d: over-steps share %g, probe fourier %g", step, k,
                      over[k], one[k]);
    }
}

Test(keep, refusals_name_the_flag_or_key)
{
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --out r0 --set train.keep_every=-2 " TINY, ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "train.keep_every"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s train --out r1 --set train.steps=2 " TINY, ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s probe fourier --run r1 --over-steps", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "no kept checkpoint") && strstr(out, "train.keep_every"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s probe fourier --checkpoint r1/ckpt.safetensors --over-steps --out x", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "--run DIR"), "%s", out);
    // keep_every may change when a run is resumed, as ckpt_every may
    cr_assert(run_resume_key_allowed("train.keep_every"));
}
