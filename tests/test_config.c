// test_config.c: the model.* keys are declared once (MODEL_KEYS, model/config.c) and every
// place that reads a config sees all of them: the struct, defaults, validation, config.ini.
// A field added to ModelConfig without a MODEL_KEYS entry fails model_keys_cover_every_field.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/model.h"
#include "run/run.h"
#include "model/checkpoint.h"
#include <unistd.h>

Test(model_keys, cover_every_field_of_ModelConfig_once)
{
    unsigned char seen[sizeof(ModelConfig)] = {0};
    size_t covered = 0;
    for (int i = 0; i < MODEL_N_KEYS; i++) {
        const key_def_t *k = &MODEL_KEYS[i];
        cr_assert(k->offset + k->size <= sizeof(ModelConfig), "%s lies outside ModelConfig", k->name);
        for (size_t b = k->offset; b < k->offset + k->size; b++) {
            cr_assert(!seen[b], "%s overlaps another key", k->name);
            seen[b] = 1;
        }
        covered += k->size;
        cr_expect(strncmp(k->name, "model.", 6) == 0, "%s is not in section model", k->name);
        cr_expect(k->help && k->help[0], "%s has no help", k->name);
    }
    cr_expect_eq(covered, sizeof(ModelConfig), "MODEL_KEYS cover %zu of the %zu bytes of ModelConfig: a field has no key",
                 covered, sizeof(ModelConfig));
}

Test(model_keys, defaults_pass_validation)
{
    ModelConfig cfg;
    char err[ERR_MAX] = "";
    model_config_default(&cfg);
    cr_expect_eq(model_config_validate(&cfg, err), 0, "%s", err);
}

Test(model_keys, out_of_range_values_are_refused_naming_the_key_and_the_range)
{
    for (int i = 0; i < MODEL_N_KEYS; i++) {
        const key_def_t *k = &MODEL_KEYS[i];
        if (k->type != KEY_INT) continue;
        ModelConfig cfg;
        model_config_default(&cfg);
        cfg.n_head = 1;   // so that no n_embd is refused for divisibility instead
        *(int *)((char *)&cfg + k->offset) = (int)k->hi + 1;
        char err[ERR_MAX] = "", want[160];
        cr_expect_eq(model_config_validate(&cfg, err), -1, "%s = %d accepted", k->name, (int)k->hi + 1);
        snprintf(want, sizeof want, "%s = %d is out of range: accepted %d..%d", k->name, (int)k->hi + 1,
                 (int)k->lo, (int)k->hi);
        cr_expect(strstr(err, want) != NULL, "want '%s', got '%s'", want, err);
    }
}

// every model key is a run-config key, is written to config.ini and is read back from it
Test(model_keys, every_key_round_trips_through_config_ini)
{
    RunConfig rc, back;
    run_config_default(&rc);
    char err[ERR_MAX] = "";
    for (int i = 0; i < MODEL_N_KEYS; i++) {
        const key_def_t *k = &MODEL_KEYS[i];
        char value[32];
        if (k->type == KEY_STR) snprintf(value, sizeof value, "rope");
        else snprintf(value, sizeof value, "%d", (int)k->lo + (k->hi > k->lo));   // not the default
        cr_assert_eq(run_config_set(&rc, k->name, value, err), 0, "%s = %s: %s", k->name, value, err);
    }
    char *text = run_config_to_string(&rc);
    cr_assert_not_null(text);
    run_config_default(&back);
    cr_assert_eq(run_config_load_string(&back, text, "config.ini", err), 0, "%s", err);
    free(text);
    for (int i = 0; i < MODEL_N_KEYS; i++) {
        const key_def_t *k = &MODEL_KEYS[i];
        cr_expect(memcmp((char *)&rc.model + k->offset, (char *)&back.model + k->offset, k->size) == 0,
                  "%s did not survive config.ini", k->name);
    }
}

// every model key is written to the checkpoint's metadata and read back unchanged
Test(model_keys, every_key_round_trips_through_checkpoint_metadata)
{
    ModelConfig cfg, back;
    model_config_default(&cfg);
    cfg.vocab_size = 16; cfg.block_size = 8; cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = 8;
    cfg.mlp_hidden = 12; cfg.tied = 1; cfg.post_ln = 1;
    snprintf(cfg.position, sizeof cfg.position, "rope");
    cfg.rope_base = 777; cfg.abacus_k = 3; cfg.abacus_max = 9; cfg.rel_max = 5; cfg.t5_buckets = 4;
    cfg.n_loops = 2; cfg.loop_random = 1; cfg.fone_places = 3; cfg.fone_linear = 1;
    Model m;
    char err[ERR_MAX] = "", path[] = "/tmp/arithlab_test_config_XXXXXX";
    cr_assert_eq(model_build(&m, &cfg, 1, 8, 1, err), 0, "%s", err);
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(ckpt_save(&m, NULL, 0, path, err), 0, "%s", err);
    cr_assert_eq(ckpt_read_config(path, &back, err), 0, "%s", err);
    unlink(path);
    for (int i = 0; i < MODEL_N_KEYS; i++) {
        const key_def_t *k = &MODEL_KEYS[i];
        const char *a = (const char *)&m.cfg + k->offset, *b = (const char *)&back + k->offset;
        if (k->type == KEY_STR) cr_expect_str_eq(b, a, "%s did not survive the checkpoint metadata", k->name);
        else cr_expect(memcmp(a, b, k->size) == 0, "%s did not survive the checkpoint metadata", k->name);
    }
    model_free(&m);
}
