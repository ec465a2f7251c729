// config.c: the run configuration as one table of documented keys. Defaults,
// INI loading, --set overrides, --help and the resolved-config file all read
// this table, so a key is declared once.
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <ini.h>
#include "run/run.h"
#include "model/checkpoint.h"
#include "core/files.h"

typedef enum { K_INT, K_FLOAT, K_U64, K_STR } run_key_type_t;

typedef struct {
    const char *section, *key;
    run_key_type_t type;
    size_t offset, size;   // size: buffer size for K_STR
    double lo, hi;         // accepted range (numbers)
    const char *def;       // default, as text
    const char *help;
} key_t_;

#define M(f) offsetof(RunConfig, model.f)
#define O(f) offsetof(RunConfig, optim.f)
#define R(f) offsetof(RunConfig, train.f)
#define E(f) offsetof(RunConfig, eval.f)

// the train.* and eval.* keys; the model.* keys are MODEL_KEYS (model/config.c), added by keys_init
static const key_t_ RUN_KEYS[] = {
    {"train", "steps", K_INT, R(steps), 0, 0, 1e9, "2000", "optimizer steps"},
    {"train", "batch_size", K_INT, R(batch_size), 0, 0, 1 << 20, "64",
     "sequences per step (0 = full batch: the whole fixed training set, task.train_size, every step)"},
    {"train", "seq_len", K_INT, R(seq_len), 0, 0, 65536, "0", "training sequence length (0 = the task's longest training sequence)"},
    {"train", "seed", K_U64, R(seed), 0, 0, 0, "1", "seed of model init and data"},
    {"train", "threads", K_INT, R(threads), 0, 0, 1024, "0", "compute threads (0 = all cores, or OMP_NUM_THREADS if lower)"},
    {"train", "log_every", K_INT, R(log_every), 0, 1, 1e9, "10", "steps between log lines"},
    {"train", "ckpt_every", K_INT, R(ckpt_every), 0, 0, 1e9, "0", "steps between checkpoints (0 = at the end only)"},
    {"train", "eval_every", K_INT, R(eval_every), 0, 0, 1e9, "250", "steps between evaluations (0 = at the end only)"},
    {"train", "lr", K_FLOAT, O(lr), 0, 0, 10, "0.001", "peak learning rate"},
    {"train", "min_lr", K_FLOAT, O(min_lr), 0, 0, 10, "0.0001", "learning rate at the end of the cosine decay"},
    {"train", "warmup_steps", K_INT, O(warmup_steps), 0, 0, 1e9, "100", "linear warm-up steps"},
    {"train", "beta1", K_FLOAT, O(beta1), 0, 0, 0.999999, "0.9", "AdamW beta1"},
    {"train", "beta2", K_FLOAT, O(beta2), 0, 0, 0.999999, "0.99", "AdamW beta2"},
    {"train", "eps", K_FLOAT, O(eps), 0, 1e-12, 1, "1e-8", "AdamW epsilon"},
    {"train", "weight_decay", K_FLOAT, O(weight_decay), 0, 0, 10, "0.1", "decoupled weight decay (matmul weights)"},
    {"train", "decay_all", K_INT, O(decay_all), 0, 0, 1, "0", "1: decay biases, LayerNorm and embeddings too"},
    {"train", "grad_clip", K_FLOAT, O(grad_clip), 0, 0, 1e9, "1.0", "global gradient-norm clip (0 = off)"},
    {"eval", "per_cell", K_INT, E(per_cell), 0, 1, 1e7, "100", "problems per (len a, len b) cell of the accuracy grid"},
    {"eval", "max_len", K_INT, E(max_len), 0, 0, TASK_MAX_DIGITS, "0", "grid covers operand lengths 1..max_len (0 = task.max_len)"},
    {"eval", "batch_size", K_INT, E(batch_size), 0, 1, 65536, "256", "problems decoded together"},
    {"eval", "n_during_train", K_INT, E(n_during_train), 0, 0, 1e7, "256", "problems per periodic evaluation while training"},
};
#define N_RUN_KEYS (int)(sizeof(RUN_KEYS) / sizeof(RUN_KEYS[0]))
#define N_KEYS_MAX 128

// where the run config means something more than the model: 0 = resolved from the task
// (run_config_resolve) before the model is built
static const struct { const char *name, *def; double lo; const char *help; } RUN_MODEL_AUTO[] = {
    {"model.vocab_size", "0", 0, "vocabulary size (0 = the task vocabulary's)"},
    {"model.block_size", "0", 0, "maximum sequence length (0 = what the task and evaluation need)"},
};

static key_t_ KEYS[N_KEYS_MAX];
static int N_KEYS;

// every key of the run config: MODEL_KEYS as fields of RunConfig.model, then RUN_KEYS
static void keys_init(void)
{
    if (N_KEYS) return;
    _Static_assert(N_RUN_KEYS < N_KEYS_MAX, "N_KEYS_MAX too small");
    int n = 0;
    for (int i = 0; i < MODEL_N_KEYS && n < N_KEYS_MAX - N_RUN_KEYS; i++) {
        const key_def_t *k = &MODEL_KEYS[i];
        static const run_key_type_t type_of[] = {[KEY_INT] = K_INT, [KEY_FLOAT] = K_FLOAT, [KEY_U64] = K_U64, [KEY_STR] = K_STR};
        key_t_ r = {"model", k->name + strlen("model."), type_of[k->type], offsetof(RunConfig, model) + k->offset,
                    k->type == KEY_STR ? k->size : 0, k->lo, k->hi, k->def, k->help};
        for (size_t j = 0; j < sizeof(RUN_MODEL_AUTO) / sizeof(RUN_MODEL_AUTO[0]); j++)
            if (!strcmp(RUN_MODEL_AUTO[j].name, k->name)) {
                r.def = RUN_MODEL_AUTO[j].def;
                r.lo = RUN_MODEL_AUTO[j].lo;
                r.help = RUN_MODEL_AUTO[j].help;
            }
        KEYS[n++] = r;
    }
    for (int i = 0; i < N_RUN_KEYS; i++) KEYS[n++] = RUN_KEYS[i];
    N_KEYS = n;
}

static void write_ini(const RunConfig *rc, FILE *f, int with_help);

static const key_t_ *find_key(const char *section, const char *key)
{
    keys_init();
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].key, key)) return &KEYS[i];
    return NULL;
}

static int section_known(const char *section)
{
    keys_init();
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].section, section)) return 1;
    return 0;
}

static void list_keys(const char *section, char *buf, size_t n)
{
    keys_init();
    buf[0] = 0;
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].section, section)) {
            if (buf[0]) strncat(buf, ", ", n - strlen(buf) - 1);
            strncat(buf, KEYS[i].key, n - strlen(buf) - 1);
        }
}

static int set_value(RunConfig *rc, const key_t_ *k, const char *value, char *err)
{
    char *end;
    void *dst = (char *)rc + k->offset;
    errno = 0;
    switch (k->type) {
    case K_INT: case K_FLOAT: {
        double v = strtod(value, &end);
        if (end == value || *end || errno)
            return err_set(err, "%s.%s = '%s' is not a number", k->section, k->key, value);
        // the range first: it refuses NaN and infinities, and makes the cast below defined
        if (!(v >= k->lo && v <= k->hi))
            return err_set(err, "%s.%s = %s is out of range: accepted %g..%g", k->section, k->key, value, k->lo, k->hi);
        if (k->type == K_INT && v != (double)(long)v)
            return err_set(err, "%s.%s = '%s' must be a whole number", k->section, k->key, value);
        if (k->type == K_INT) *(int *)dst = (int)v; else *(float *)dst = (float)v;
        return 0;
    }
    case K_U64: {
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || errno || value[0] == '-')
            return err_set(err, "%s.%s = '%s' is not a non-negative integer", k->section, k->key, value);
        *(uint64_t *)dst = v;
        return 0;
    }
    case K_STR:
        if (strlen(value) >= k->size)
            return err_set(err, "%s.%s = '%s' is too long (at most %zu characters)", k->section, k->key, value, k->size - 1);
        // config.ini and checkpoints carry the value back through an INI parser, which
        // would cut it at a ';' comment or a line break and trim surrounding spaces
        if (strpbrk(value, ";\n\r") || isspace((unsigned char)value[0]) ||
            (value[0] && isspace((unsigned char)value[strlen(value) - 1])))
            return err_set(err, "%s.%s = '%s': ';', line breaks and leading or trailing spaces are not accepted",
                           k->section, k->key, value);
        snprintf((char *)dst, k->size, "%s", value);
        return 0;
    }
    return -1;
}

void run_config_default(RunConfig *rc)
{
    keys_init();
    memset(rc, 0, sizeof(*rc));
    model_config_default(&rc->model);
    adamw_config_default(&rc->optim);
    for (int i = 0; i < N_KEYS; i++) set_value(rc, &KEYS[i], KEYS[i].def, NULL);
    // the task defaults are the quickstart's: reversed addition of 1..5 digits,
    // zero-padded so that every digit keeps its position (see README)
    task_config_default(&rc->task);
    rc->task.format = TASK_FMT_REVERSED;
    rc->task.max_len = 5;
    rc->task.pad_width = 6;
}

static int set_in_section(RunConfig *rc, const char *section, const char *key, const char *value, char *err)
{
    if (!strcmp(section, "task")) {
        char inner[ERR_MAX];
        if (task_config_set(&rc->task, key, value, inner)) return err_set(err, "[task] %s", inner);
        return 0;
    }
    if (!section_known(section))
        return err_set(err, "unknown section [%s]: accepted [model], [task], [train], [eval]", section);
    const key_t_ *k = find_key(section, key);
    if (!k) {
        char keys[1024];
        list_keys(section, keys, sizeof(keys));
        return err_set(err, "unknown key '%s' in [%s]: accepted %s", key, section, keys);
    }
    return set_value(rc, k, value, err);
}

int run_config_set(RunConfig *rc, const char *dotted, const char *value, char *err)
{
    const char *dot = strchr(dotted, '.');
    if (!dot || dot == dotted || !dot[1])
        return err_set(err, "'%s' is not of the form section.key (e.g. train.steps)", dotted);
    char section[64];
    snprintf(section, sizeof(section), "%.*s", (int)(dot - dotted), dotted);
    return set_in_section(rc, section, dot + 1, value, err);
}

int run_config_apply_set(RunConfig *rc, const char *arg, char *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq) return err_set(err, "--set '%s': expected section.key=value", arg);
    char key[128];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
    return run_config_set(rc, key, eq + 1, err);
}

typedef struct { RunConfig *rc; char *err; int failed; } ini_ctx_t;

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx_t *ctx = user;
    if (ctx->failed) return 1;   // ini_parse goes on past an error but reports the first one's line
    if (set_in_section(ctx->rc, section, name, value, ctx->err)) { ctx->failed = 1; return 0; }
    return 1;
}

int run_config_load_ini(RunConfig *rc, const char *path, char *err)
{
    char inner[ERR_MAX] = "";
    ini_ctx_t ctx = {rc, inner, 0};
    FILE *f = files_open_regular(path, "config (.ini)", err);
    if (!f) return -1;
    int r = ini_parse_file(f, on_ini_line, &ctx);
    fclose(f);
    if (r == -1) return err_set(err, "%s: cannot open config file", path);
    if (r == -2) return err_set(err, "%s: out of memory while parsing", path);
    if (ctx.failed) return err_set(err, "%s:%d: %s", path, r, inner);
    if (r > 0) return err_set(err, "%s:%d: not a 'key = value' line or a [section] header", path, r);
    return 0;
}

char *run_config_to_string(const RunConfig *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    write_ini(rc, f, 0);
    fclose(f);
    return buf;
}

int run_config_load_string(RunConfig *rc, const char *text, const char *origin, char *err)
{
    char inner[ERR_MAX] = "";
    ini_ctx_t ctx = {rc, inner, 0};
    int r = ini_parse_string(text, on_ini_line, &ctx);
    if (ctx.failed) return err_set(err, "%s:%d: %s", origin, r, inner);
    if (r) return err_set(err, "%s:%d: not a 'key = value' line or a [section] header", origin, r);
    return 0;
}

static void format_value(const RunConfig *rc, const key_t_ *k, char *buf, size_t n)
{
    const void *src = (const char *)rc + k->offset;
    switch (k->type) {
    case K_INT: snprintf(buf, n, "%d", *(const int *)src); break;
    case K_FLOAT: snprintf(buf, n, "%.9g", *(const float *)src); break;
    case K_U64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)src); break;
    case K_STR: snprintf(buf, n, "%s", (const char *)src); break;
    }
}

static void write_ini(const RunConfig *rc, FILE *f, int with_help)
{
    keys_init();
    const char *section = "";
    for (int i = 0; i < N_KEYS; i++) {
        char val[128];
        if (strcmp(section, KEYS[i].section)) fprintf(f, "%s[%s]\n", i ? "\n" : "", section = KEYS[i].section);
        format_value(rc, &KEYS[i], val, sizeof(val));
        if (with_help) fprintf(f, "; %s\n", KEYS[i].help);
        fprintf(f, "%s = %s\n", KEYS[i].key, val);
    }
    fprintf(f, "\n[task]\n");
    task_config_write(&rc->task, f);
}

int run_config_write_ini(const RunConfig *rc, const char *path, char *err)
{
    // a temp file renamed into place: a run killed while writing leaves the old
    // config.ini whole (--resume reads it), never the first half of the new one
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return err_set(err, "%s: cannot write: %s", path, strerror(errno));
    write_ini(rc, f, 1);
    int failed = ferror(f), e = errno;
    if (fclose(f) && !failed) { failed = 1; e = errno; }
    if (failed) {
        remove(tmp);
        return err_set(err, "%s: write failed: %s", path, strerror(e));
    }
    if (rename(tmp, path)) {
        e = errno;
        remove(tmp);
        return err_set(err, "%s: cannot rename %s into place: %s", path, tmp, strerror(e));
    }
    return 0;
}

void run_config_print_keys(FILE *f)
{
    keys_init();
    for (int i = 0; i < N_KEYS; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s.%s", KEYS[i].section, KEYS[i].key);
        fprintf(f, "  %-22s %-10s %s\n", name, KEYS[i].def, KEYS[i].help);
    }
    // the task's defaults as arithlab train uses them (the quickstart's), read back from its writer
    RunConfig rc;
    run_config_default(&rc);
    char *text = NULL, *save = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) return;
    task_config_write(&rc.task, mem);
    fclose(mem);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char key[64], val[64];
        if (sscanf(line, "%63s = %63s", key, val) != 2) continue;
        int n;
        const TaskConfigKey *tk = task_config_keys(&n);
        for (int i = 0; i < n; i++)
            if (!strcmp(tk[i].name, key)) {
                char name[80];
                snprintf(name, sizeof(name), "task.%s", key);
                fprintf(f, "  %-22s %-10s %s\n", name, val, tk[i].help);
            }
    }
    free(text);
}

// does the position spec name the scheme fone ("fone", "fone+rope", ...)?
static int position_has_fone(const char *spec)
{
    char buf[sizeof(((ModelConfig *)0)->position)];
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save))
        if (!strcmp(tok, "fone")) return 1;
    return 0;
}

int run_config_resolve_fone(RunConfig *rc, const TaskConfig *longest, char *err)
{
    int fone_task = rc->task.numbers == TASK_NUMBERS_FONE, fone_model = position_has_fone(rc->model.position);
    if (fone_task && !fone_model)
        return err_set(err, "task.numbers = fone needs the fone position scheme, which embeds the [NUM] tokens and "
                       "reads the answer's digits: set model.position = fone (or fone+rope, fone+abacus, ...), not '%s'",
                       rc->model.position);
    if (fone_model && !fone_task)
        return err_set(err, "model.position = %s has the fone scheme, which needs [NUM] tokens: set task.numbers = fone",
                       rc->model.position);
    if (!fone_model) return 0;
    int need = task_widest_number(longest);
    if (rc->model.fone_places == 0) rc->model.fone_places = need;
    if (rc->model.fone_places < need)
        return err_set(err, "model.fone_places = %d cannot hold the task's %d-digit numbers (task.max_len = %d, "
                       "eval.max_len = %d): accepted %d..%d, or 0 for %d", rc->model.fone_places, need,
                       rc->task.max_len, rc->eval.max_len, need, VOCAB_FONE_MAX_PLACES, need);
    return 0;
}

int run_config_from_checkpoint(RunConfig *rc, const char *ckpt_path, char *err)
{
    TrainState *st = malloc(sizeof(TrainState));
    if (!st) return err_set(err, "out of memory");
    int r = ckpt_read_state(ckpt_path, st, err);
    const char *text = r ? NULL : ckpt_meta_get(st, "arithlab.config");
    if (!r && !text) r = err_set(err, "%s: no run configuration in its metadata (key arithlab.config): "
                                 "was it written by arithlab train?", ckpt_path);
    run_config_default(rc);
    if (!r) r = run_config_load_string(rc, text, ckpt_path, err);
    free(st);
    return r;
}
