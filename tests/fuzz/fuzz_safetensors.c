// fuzz_safetensors.c: the checkpoint loader (model/checkpoint.c) on arbitrary
// bytes. Every input goes through ckpt_read_config, ckpt_read_state and
// ckpt_load into a fixed tiny model (so headers of any config reach the
// tensor-matching code); when the file's own config is small, a model of that
// shape is built and loaded too, and a successful load must save and load
// back bit for bit. Seeds: tests/fuzz/corpus/safetensors/.
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_targets.h"
#include "model/checkpoint.h"
#include "model/model.h"

static Model g_tiny;             // the seed checkpoints' shape: V=8, T=4, L=1, NH=2, C=8
static TrainState g_st, g_st2;   // 130 KB each: not on the stack

int fuzz_safetensors_init(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_single_thread();
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = 8;
    cfg.block_size = 4;
    cfg.n_layer = 1;
    cfg.n_head = 2;
    cfg.n_embd = 8;
    char err[ERR_MAX];
    if (model_build(&g_tiny, &cfg, 1, 1, 1, err) != 0) { fprintf(stderr, "fuzz_safetensors: %s\n", err); abort(); }
    return 0;
}

// models this small build in microseconds; larger ones are only parsed
static int small_enough(const ModelConfig *c)
{
    return c->vocab_size <= 256 && c->block_size <= 32 && c->n_layer <= 2 && c->n_loops <= 2 &&
           c->n_embd <= 32 && c->mlp_hidden <= 128 && pos_opt(&c->pos, "model.abacus_max") <= 512 &&
           pos_opt(&c->pos, "model.rel_max") <= 512 && pos_opt(&c->pos, "model.t5_buckets") <= 256;
}

static int same_params(const Model *a, const Model *b)
{
    for (int i = 0; i < a->n_tensors; i++) {
        const ParamInfo *t = &a->tensors[i];
        if (memcmp(a->params + t->offset, b->params + t->offset, t->numel * sizeof(float)) != 0) return 0;
    }
    return 1;
}

// what loaded must save, and load back to the same bits and train state
static void st_check_round_trip(const Model *m, const TrainState *st)
{
    char err[ERR_MAX] = "";
    const char *path = fuzz_scratch_path("rt.safetensors");
    FUZZ_CHECK(ckpt_save(m, st, 1, path, err) == 0, "a loaded checkpoint does not save: %s", err);
    Model m2;
    FUZZ_CHECK(model_build(&m2, &m->cfg, 1, 1, 7, err) == 0, "rebuild: %s", err);
    FUZZ_CHECK(ckpt_load(&m2, &g_st2, 1, path, err) == 0, "a saved checkpoint does not load: %s", err);
    FUZZ_CHECK(same_params(m, &m2), "parameters changed in a save/load round trip");
    FUZZ_CHECK(m2.rng == m->rng, "model rng changed in a round trip");
    FUZZ_CHECK(g_st2.step == st->step && g_st2.rng == st->rng && g_st2.data_rng == st->data_rng &&
               g_st2.data_pos == st->data_pos && g_st2.n_meta == st->n_meta,
               "train state changed in a round trip");
    for (int i = 0; i < st->n_meta; i++)
        FUZZ_CHECK(strcmp(ckpt_meta_get(&g_st2, st->meta_key[i]) ? ckpt_meta_get(&g_st2, st->meta_key[i]) : "\x01",
                          st->meta_val[i]) == 0, "metadata '%s' changed in a round trip", st->meta_key[i]);
    model_free(&m2);
    unlink(path);
}

int fuzz_safetensors_one(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    char err[ERR_MAX] = "";
    ModelConfig cfg;

    int rc_cfg = ckpt_read_config(path, &cfg, err);
    fuzz_check_err(rc_cfg, err, "ckpt_read_config");
    err[0] = 0;
    fuzz_check_err(ckpt_read_state(path, &g_st, err), err, "ckpt_read_state");
    err[0] = 0;
    fuzz_check_err(ckpt_load(&g_tiny, &g_st, 1, path, err), err, "ckpt_load (tiny model)");
    err[0] = 0;
    fuzz_check_err(ckpt_load(&g_tiny, NULL, 0, path, err), err, "ckpt_load (tiny model, no optimizer)");

    if (rc_cfg == 0 && small_enough(&cfg)) {
        Model m;
        err[0] = 0;
        if (model_build(&m, &cfg, 1, 1, 0, err) == 0) {
            err[0] = 0;
            int rc = ckpt_load(&m, &g_st, 1, path, err);
            fuzz_check_err(rc, err, "ckpt_load (the file's own config)");
            if (rc == 0) st_check_round_trip(&m, &g_st);
            model_free(&m);
        }
    }
    return 0;
}

FUZZ_LIBFUZZER_ENTRY(fuzz_safetensors_init, fuzz_safetensors_one)
