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
#include "tests/test_util.h"

// the option slots of ModelConfig.pos past the registered schemes' options hold no key
// by design (embeddings/pos.h); every other byte of ModelConfig must
static size_t pos_unused_at(size_t *size)
{
    int n;
    pos_keys(&n);
    *size = (size_t)(POS_MAX_OPTS - n) * sizeof(int);
    return offsetof(ModelConfig, pos) + (size_t)n * sizeof(int);
}

Test(model_keys, cover_every_field_of_ModelConfig_once)
{
    unsigned char seen[sizeof(ModelConfig)] = {0};
    size_t unused, at = pos_unused_at(&unused), covered = unused;
    memset(seen + at, 1, unused);
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
        if (k->type == KEY_STR && k->choices)   // a text key of fixed words: the first that is not the default
            snprintf(value, sizeof value, "%s", strcmp(k->choices[0], k->def) ? k->choices[0] : k->choices[1]);
        else if (k->type == KEY_STR) snprintf(value, sizeof value, "rope");
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
    *pos_opt_ptr(&cfg.pos, "model.rope_base") = 777; *pos_opt_ptr(&cfg.pos, "model.abacus_k") = 3;
    *pos_opt_ptr(&cfg.pos, "model.abacus_max") = 9; *pos_opt_ptr(&cfg.pos, "model.rel_max") = 5;
    *pos_opt_ptr(&cfg.pos, "model.t5_buckets") = 4;
    cfg.n_loops = 2; cfg.loop_random = 1; *pos_opt_ptr(&cfg.pos, "model.fone_places") = 3;
    *pos_opt_ptr(&cfg.pos, "model.fone_linear") = 1;
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

// ---------------------------------------------------------------- every section's table (issue 11)
// Each config struct is covered by its table: laid out in offset order with C's
// natural alignment, the keys' fields (and the named non-key fields) must give every
// key's offset and the struct's size exactly, so a field added without a key fails here.
typedef struct { size_t offset, size, align; const char *name; } field_t;

static int by_offset(const void *a, const void *b)
{
    const field_t *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void expect_table_covers(const char *what, const key_def_t *keys, int n, size_t struct_size,
                                const field_t *extra, int n_extra)
{
    field_t f[256];
    int m = 0;
    cr_assert(n + n_extra <= 256);
    for (int i = 0; i < n; i++) {
        const key_def_t *k = &keys[i];
        cr_expect(k->help && k->help[0], "%s has no help", k->name);
        cr_expect(k->def != NULL, "%s has no default", k->name);
        cr_expect(k->type != KEY_ENUM || (k->choices && k->choices[0]), "%s is an enum without choices", k->name);
        size_t want = k->type == KEY_STR ? k->size : k->type == KEY_U64 ? 8 : k->type == KEY_FLOAT ? k->size : sizeof(int);
        cr_expect_eq(k->size, want, "%s: a field of %zu bytes for its type", k->name, k->size);
        cr_expect(k->type != KEY_FLOAT || k->size == sizeof(float) || k->size == sizeof(double), "%s", k->name);
        for (int j = 0; j < i; j++) cr_expect(strcmp(k->name, keys[j].name), "%s is declared twice", k->name);
        f[m++] = (field_t){k->offset, k->size, k->type == KEY_STR ? 1 : k->size, k->name};
    }
    for (int i = 0; i < n_extra; i++) f[m++] = extra[i];
    qsort(f, (size_t)m, sizeof f[0], by_offset);
    size_t at = 0, max_align = 1;
    for (int i = 0; i < m; i++) {
        at = (at + f[i].align - 1) / f[i].align * f[i].align;
        cr_expect_eq(f[i].offset, at, "%s: %s is at byte %zu, but the keys before it end at %zu: a field there has "
                     "no key", what, f[i].name, f[i].offset, at);
        at = f[i].offset + f[i].size;
        if (f[i].align > max_align) max_align = f[i].align;
    }
    at = (at + max_align - 1) / max_align * max_align;
    cr_expect_eq(at, struct_size, "%s: the keys end at byte %zu of %zu: a field at its end has no key", what, at, struct_size);
}

Test(run_keys, every_table_covers_every_field_of_its_struct)
{
    size_t unused, at = pos_unused_at(&unused);
    field_t slots = {at, unused, sizeof(int), "the unused slots of ModelConfig.pos"};
    expect_table_covers("ModelConfig", MODEL_KEYS, MODEL_N_KEYS, sizeof(ModelConfig), &slots, 1);
    expect_table_covers("TrainOpts", RUN_TRAIN_KEYS, RUN_N_TRAIN_KEYS, sizeof(TrainOpts), NULL, 0);
    expect_table_covers("EvalOpts", RUN_EVAL_KEYS, RUN_N_EVAL_KEYS, sizeof(EvalOpts), NULL, 0);
    expect_table_covers("TaskConfig", TASK_KEYS, TASK_N_KEYS, sizeof(TaskConfig), NULL, 0);
    // total_steps is no key: run_config_resolve sets it to train.steps
    field_t total = {offsetof(AdamWConfig, total_steps), sizeof(int), sizeof(int), "total_steps"};
    expect_table_covers("AdamWConfig", RUN_OPTIM_KEYS, RUN_N_OPTIM_KEYS, sizeof(AdamWConfig), &total, 1);
}

// the run's sections are exactly these tables, each pointing into its struct of RunConfig
Test(run_keys, run_sections_are_the_module_tables)
{
    int n;
    const run_section_t *s = run_config_sections(&n);
    int total = 0;
    for (int i = 0; i < n; i++) {
        total += s[i].n;
        for (int j = 0; j < s[i].n; j++) {
            size_t len = strlen(s[i].name);
            cr_expect(!strncmp(s[i].keys[j].name, s[i].name, len) && s[i].keys[j].name[len] == '.',
                      "%s is listed in section [%s]", s[i].keys[j].name, s[i].name);
        }
    }
    cr_expect_eq(total, MODEL_N_KEYS + RUN_N_TRAIN_KEYS + RUN_N_OPTIM_KEYS + RUN_N_EVAL_KEYS + TASK_N_KEYS);
}

// every key of every section is listed by --help (run_config_print_keys)
Test(run_keys, every_key_is_in_help)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    run_config_print_keys(f);
    fclose(f);
    int n;
    const run_section_t *s = run_config_sections(&n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s[i].n; j++) {
            char want[200];
            snprintf(want, sizeof want, "  %-22s %-10s %s\n", s[i].keys[j].name, s[i].keys[j].def, s[i].keys[j].help);
            cr_expect(strstr(text, want) != NULL, "--help lacks '%s'", want);
        }
    free(text);
}

// a value for k that is not its default and that the run accepts
static void other_value(const key_def_t *k, char *buf, size_t n)
{
    if (!strcmp(k->name, "model.position")) snprintf(buf, n, "rope");
    else if (k->type == KEY_ENUM || (k->type == KEY_STR && k->choices)) snprintf(buf, n, "%s", strcmp(k->choices[0], k->def) ? k->choices[0] : k->choices[1]);
    else if (k->type == KEY_BOOL) snprintf(buf, n, "%s", strcmp(k->def, "1") ? "1" : "0");
    else if (k->type == KEY_U64) snprintf(buf, n, "18446744073709551615");
    else if (k->type == KEY_FLOAT) snprintf(buf, n, "%.9g", k->lo + (k->hi - k->lo) * 0.375);
    else snprintf(buf, n, "%d", (int)k->lo + (k->hi > k->lo) * (atoi(k->def) == (int)k->lo + 1 ? 2 : 1));
}

// every key of every section is written to config.ini (with its help) and read back unchanged
Test(run_keys, every_key_round_trips_through_config_ini_and_its_lines_fit_the_ini_reader)
{
    RunConfig rc, back;
    run_config_default(&rc);
    char err[ERR_MAX] = "", value[64], ini[] = "/tmp/arithlab_test_keys_XXXXXX";
    int n;
    const run_section_t *s = run_config_sections(&n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s[i].n; j++) {
            other_value(&s[i].keys[j], value, sizeof value);
            cr_assert_eq(run_config_set(&rc, s[i].keys[j].name, value, err), 0, "%s = %s: %s", s[i].keys[j].name, value, err);
        }
    int fd = mkstemp(ini);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(run_config_write_ini(&rc, ini, err), 0, "%s", err);
    FILE *f = fopen(ini, "r");
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        cr_expect(strlen(line) - 1 <= KEY_INI_MAX_LINE, "config.ini:%d is %zu bytes", lineno, strlen(line) - 1);
    }
    fclose(f);
    run_config_default(&back);
    cr_assert_eq(run_config_load_ini(&back, ini, err), 0, "%s", err);
    unlink(ini);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s[i].n; j++) {
            const key_def_t *k = &s[i].keys[j];
            cr_expect(memcmp((char *)&rc + s[i].offset + k->offset, (char *)&back + s[i].offset + k->offset, k->size) == 0,
                      "%s did not survive config.ini", k->name);
            char a[128], b[128];
            key_format((char *)&rc + s[i].offset, k, a, sizeof a);
            key_format((char *)&back + s[i].offset, k, b, sizeof b);
            cr_expect_str_eq(a, b, "%s", k->name);
            char def[128];
            RunConfig d;
            run_config_default(&d);
            key_format((char *)&d + s[i].offset, k, def, sizeof def);
            cr_expect(strcmp(a, def), "%s: the test did not move it off its default (%s)", k->name, def);
        }
}

// the defaults of every table are accepted by the table itself
Test(run_keys, every_default_is_accepted_and_within_range)
{
    RunConfig rc;
    run_config_default(&rc);
    int n;
    const run_section_t *s = run_config_sections(&n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s[i].n; j++) {
            char err[ERR_MAX] = "";
            cr_expect_eq(key_check((char *)&rc + s[i].offset, &s[i].keys[j], err), 0, "%s", err);
        }
}

// ---------------------------------------------------------------- checkpoints written before a key was added
static void save_small_model(ModelConfig *cfg, const char *path)
{
    Model m;
    char err[ERR_MAX] = "";
    cr_assert_eq(model_build(&m, cfg, 1, 8, 1, err), 0, "%s", err);
    cr_assert_eq(ckpt_save(&m, NULL, 0, path, err), 0, "%s", err);
    model_free(&m);
}

Test(model_keys, a_checkpoint_without_an_added_key_loads_with_its_default)
{
    int tried = 0;
    for (int i = 0; i < MODEL_N_KEYS; i++) {
        const key_def_t *k = &MODEL_KEYS[i];
        if (!k->added || k->type != KEY_INT) continue;
        ModelConfig cfg, back;
        model_config_default(&cfg);
        cfg.vocab_size = 16; cfg.block_size = 8; cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = 8;
        *(int *)((char *)&cfg + k->offset) = atoi(k->def) == (int)k->hi ? (int)k->lo : atoi(k->def) + 1;
        char err[ERR_MAX] = "", path[] = "/tmp/arithlab_test_added_XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        close(fd);
        save_small_model(&cfg, path);
        cr_assert_eq(ckpt_blank_meta_key(path, k->name), 0, "%s not found in the checkpoint's metadata", k->name);
        cr_assert_eq(ckpt_read_config(path, &back, err), 0, "%s missing: %s", k->name, err);
        unlink(path);
        cr_expect_eq(*(int *)((char *)&back + k->offset), atoi(k->def), "%s missing did not read as its default %s",
                     k->name, k->def);
        tried++;
    }
    cr_expect_gt(tried, 0, "no added key to try");
}

Test(model_keys, a_checkpoint_without_an_original_key_is_refused_naming_it)
{
    ModelConfig cfg, back;
    model_config_default(&cfg);
    cfg.vocab_size = 16; cfg.block_size = 8; cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = 8;
    char err[ERR_MAX] = "", path[] = "/tmp/arithlab_test_orig_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    save_small_model(&cfg, path);
    cr_assert_eq(ckpt_blank_meta_key(path, "model.n_layer"), 0);
    cr_expect_eq(ckpt_read_config(path, &back, err), -1, "a checkpoint without model.n_layer was read");
    unlink(path);
    cr_expect(strstr(err, "model.n_layer") != NULL, "%s", err);
}

// ---------------------------------------------------------------- position scheme options (issue 11)
// Each scheme declares its options in its own file (pos_vtable_t.keys). Walking the
// registry, every declared option must be a model.* key at its slot of ModelConfig.pos,
// listed by --help, and carried by config.ini and the checkpoint's metadata, so a scheme
// added with options is checked here without a line of this test changing.
static char *help_text(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    run_config_print_keys(f);
    fclose(f);
    return text;
}

Test(scheme_options, every_registered_option_is_a_key_in_help_config_ini_and_checkpoint)
{
    int n_schemes, tried = 0;
    const pos_vtable_t *const *schemes = pos_schemes(&n_schemes);
    char *help = help_text();
    for (int s = 0; s < n_schemes; s++)
        for (int j = 0; j < schemes[s]->n_keys; j++) {
            const key_def_t *opt = &schemes[s]->keys[j];
            const char *name = opt->name;
            tried++;
            // a model key, stored in the one place the scheme reads
            const key_def_t *k = key_find(MODEL_KEYS, MODEL_N_KEYS, name);
            cr_assert_not_null(k, "%s (scheme %s) is no model.* key", name, schemes[s]->name);
            cr_expect(k->type == opt->type && !strcmp(k->def, opt->def) && k->lo == opt->lo && k->hi == opt->hi &&
                      k->added == opt->added && !strcmp(k->help, opt->help), "%s: the model key differs from the "
                      "scheme's declaration", name);
            ModelConfig probe;
            model_config_default(&probe);
            int *slot = pos_opt_ptr(&probe.pos, name);
            cr_assert_not_null(slot, "%s has no slot in pos_opts_t", name);
            cr_expect_eq((size_t)((char *)slot - (char *)&probe), k->offset, "%s: the key does not point at the slot "
                         "the scheme reads", name);
            cr_expect_eq(*slot, atoi(opt->def), "%s: the default is not the scheme's", name);

            // --help
            char want[128];
            snprintf(want, sizeof want, "  %-22s ", name);
            cr_expect(strstr(help, want) != NULL, "--help lacks %s", name);

            // config.ini: a value off the default is written and read back into the scheme's slot
            char value[64], err[ERR_MAX] = "";
            other_value(opt, value, sizeof value);
            RunConfig rc, back;
            run_config_default(&rc);
            cr_assert_eq(run_config_set(&rc, name, value, err), 0, "%s = %s: %s", name, value, err);
            cr_expect_neq(pos_opt(&rc.model.pos, name), atoi(opt->def), "%s: the test did not move it off its default",
                          name);
            char *text = run_config_to_string(&rc);
            cr_assert_not_null(text);
            snprintf(want, sizeof want, "\n%s = %s\n", name + 6, value);
            cr_expect(strstr(text, want) != NULL, "config.ini lacks '%s'", want + 1);
            run_config_default(&back);
            cr_assert_eq(run_config_load_string(&back, text, "config.ini", err), 0, "%s", err);
            free(text);
            cr_expect_eq(pos_opt(&back.model.pos, name), pos_opt(&rc.model.pos, name), "%s did not survive config.ini",
                         name);

            // the checkpoint's metadata, in a model that does not use the scheme (the option is kept all the same)
            ModelConfig cfg, read;
            model_config_default(&cfg);
            cfg.vocab_size = 16; cfg.block_size = 8; cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = 8;
            *pos_opt_ptr(&cfg.pos, name) = pos_opt(&rc.model.pos, name);
            char path[] = "/tmp/arithlab_test_scheme_opt_XXXXXX";
            int fd = mkstemp(path);
            cr_assert(fd >= 0);
            close(fd);
            save_small_model(&cfg, path);
            cr_assert_eq(ckpt_read_config(path, &read, err), 0, "%s", err);
            unlink(path);
            cr_expect_eq(pos_opt(&read.pos, name), pos_opt(&cfg.pos, name), "%s did not survive the checkpoint", name);
        }
    free(help);
    cr_expect_gt(tried, 0, "no registered scheme declares an option");
}

// the options that configs and checkpoints written before the schemes owned them name
Test(scheme_options, the_old_model_keys_are_still_declared_by_their_schemes)
{
    const struct { const char *key, *scheme; } owned[] = {
        {"model.rope_base", "rope"}, {"model.abacus_k", "abacus"}, {"model.abacus_max", "abacus"},
        {"model.rel_max", "shaw"}, {"model.t5_buckets", "t5"}, {"model.fone_places", "fone"},
        {"model.fone_linear", "fone"},
    };
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        const pos_vtable_t *vt = pos_find(owned[i].scheme);
        cr_assert_not_null(vt, "%s", owned[i].scheme);
        cr_expect_not_null(key_find(vt->keys, vt->n_keys, owned[i].key), "%s does not declare %s", owned[i].scheme,
                           owned[i].key);
    }
}
