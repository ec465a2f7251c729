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

#define R(f) offsetof(TrainOpts, f), sizeof(((TrainOpts *)0)->f)
#define O(f) offsetof(AdamWConfig, f), sizeof(((AdamWConfig *)0)->f)
#define E(f) offsetof(EvalOpts, f), sizeof(((EvalOpts *)0)->f)

static const char *const LOSS_ON_NAMES[] = {"answer", "all", NULL};
static const char *const POPULATION_NAMES[] = {"training", "values", NULL};

// the train.* keys of TrainOpts
const key_def_t RUN_TRAIN_KEYS[] = {
    {"train.steps", KEY_INT, R(steps), 0, 1e9, "2000", 0, "optimizer steps"},
    {"train.batch_size", KEY_INT, R(batch_size), 0, 1 << 20, "64", 0,
     "sequences per step (0 = full batch: the whole fixed training set, task.train_size, every step)"},
    {"train.seq_len", KEY_INT, R(seq_len), 0, 65536, "0", 0, "training sequence length (0 = the task's longest training sequence)"},
    {"train.seed", KEY_U64, R(seed), 0, 0, "1", 0, "seed of model init and data"},
    {"train.threads", KEY_INT, R(threads), 0, 1024, "0", 0, "compute threads (0 = all cores, or OMP_NUM_THREADS if lower)"},
    {"train.log_every", KEY_INT, R(log_every), 1, 1e9, "10", 0, "steps between log lines"},
    {"train.ckpt_every", KEY_INT, R(ckpt_every), 0, 1e9, "0", 0, "steps between checkpoints (0 = at the end only)"},
    {"train.eval_every", KEY_INT, R(eval_every), 0, 1e9, "250", 0, "steps between evaluations (0 = at the end only)"},
    {"train.loss_on", KEY_STR, R(loss_on), 1, 0, "answer", 1,
     "answer (the loss on the answer tokens only) or all (on every token after <bos>, the prompt too, as nanoGPT)",
     LOSS_ON_NAMES},
};
const int RUN_N_TRAIN_KEYS = (int)(sizeof(RUN_TRAIN_KEYS) / sizeof(RUN_TRAIN_KEYS[0]));

// the AdamW keys (AdamWConfig), in section [train]; total_steps is train.steps (run_config_resolve)
const key_def_t RUN_OPTIM_KEYS[] = {
    {"train.lr", KEY_FLOAT, O(lr), 0, 10, "0.001", 0, "peak learning rate"},
    {"train.min_lr", KEY_FLOAT, O(min_lr), 0, 10, "0.0001", 0, "learning rate at the end of the cosine decay"},
    {"train.warmup_steps", KEY_INT, O(warmup_steps), 0, 1e9, "100", 0, "linear warm-up steps"},
    {"train.beta1", KEY_FLOAT, O(beta1), 0, 0.999999, "0.9", 0, "AdamW beta1"},
    {"train.beta2", KEY_FLOAT, O(beta2), 0, 0.999999, "0.99", 0, "AdamW beta2"},
    {"train.eps", KEY_FLOAT, O(eps), 1e-12, 1, "1e-8", 0, "AdamW epsilon"},
    {"train.weight_decay", KEY_FLOAT, O(weight_decay), 0, 10, "0.1", 0, "decoupled weight decay (matmul weights)"},
    {"train.decay_all", KEY_INT, O(decay_all), 0, 1, "0", 0, "1: decay biases, LayerNorm and embeddings too"},
    {"train.grad_clip", KEY_FLOAT, O(grad_clip), 0, 1e9, "1.0", 0, "global gradient-norm clip (0 = off)"},
};
const int RUN_N_OPTIM_KEYS = (int)(sizeof(RUN_OPTIM_KEYS) / sizeof(RUN_OPTIM_KEYS[0]));

// the eval.* keys of EvalOpts
const key_def_t RUN_EVAL_KEYS[] = {
    {"eval.per_cell", KEY_INT, E(per_cell), 1, 1e7, "100", 0, "problems per (len a, len b) cell of the accuracy grid"},
    {"eval.max_len", KEY_INT, E(max_len), 0, TASK_MAX_DIGITS, "0", 0, "grid covers operand lengths 1..max_len (0 = task.max_len)"},
    {"eval.batch_size", KEY_INT, E(batch_size), 1, 65536, "256", 0, "problems decoded together"},
    {"eval.n_during_train", KEY_INT, E(n_during_train), 0, 1e7, "256", 0, "problems per periodic evaluation while training"},
    {"eval.n_population", KEY_INT, E(n_population), 0, 1e7, "500", 1,
     "problems drawn as training draws them (held out, own seed) for the training-distribution accuracy (0 = off)"},
    {"eval.population", KEY_ENUM, E(population), 0, 0, "training", 1,
     "how the n_population problems are drawn: training (as training draws them) or values (add/sub/mul: each "
     "operand uniform over the training range, carries not balanced: the papers' test sets)", POPULATION_NAMES},
};
const int RUN_N_EVAL_KEYS = (int)(sizeof(RUN_EVAL_KEYS) / sizeof(RUN_EVAL_KEYS[0]));

// where a run means something other than the module's own default: 0 = resolved from
// the task (run_config_resolve) before the model is built, and the quickstart's task
// (reversed addition of 1..5 digits, zero-padded so that every digit keeps its place; see README)
static const struct { const char *name, *def; int lo_is_zero; const char *help; } RUN_DEFAULTS[] = {
    {"model.vocab_size", "0", 1, "vocabulary size (0 = the task vocabulary's)"},
    {"model.block_size", "0", 1, "maximum sequence length (0 = what the task and evaluation need)"},
    {"task.format", "reversed", 0, NULL},
    {"task.max_len", "5", 0, NULL},
    {"task.pad_width", "6", 0, NULL},
};

#define N_SECTION_KEYS_MAX 128
static key_def_t run_model_keys[N_SECTION_KEYS_MAX], run_task_keys[N_SECTION_KEYS_MAX];
static run_section_t SECTIONS[5];
static int N_SECTIONS;

// a module's table as the run sees it: RUN_DEFAULTS applied
static void copy_with_run_defaults(key_def_t *dst, const key_def_t *src, int n)
{
    for (int i = 0; i < n && i < N_SECTION_KEYS_MAX; i++) {
        dst[i] = src[i];
        for (size_t j = 0; j < sizeof(RUN_DEFAULTS) / sizeof(RUN_DEFAULTS[0]); j++)
            if (!strcmp(RUN_DEFAULTS[j].name, src[i].name)) {
                dst[i].def = RUN_DEFAULTS[j].def;
                if (RUN_DEFAULTS[j].lo_is_zero) dst[i].lo = 0;
                if (RUN_DEFAULTS[j].help) dst[i].help = RUN_DEFAULTS[j].help;
            }
    }
}

static void sections_init(void)
{
    if (N_SECTIONS) return;
    copy_with_run_defaults(run_model_keys, MODEL_KEYS, MODEL_N_KEYS);
    copy_with_run_defaults(run_task_keys, TASK_KEYS, TASK_N_KEYS);
    int n_model = MODEL_N_KEYS < N_SECTION_KEYS_MAX ? MODEL_N_KEYS : N_SECTION_KEYS_MAX;
    int n_task = TASK_N_KEYS < N_SECTION_KEYS_MAX ? TASK_N_KEYS : N_SECTION_KEYS_MAX;
    // the order of config.ini (and so of the checkpoint's arithlab.config)
    SECTIONS[0] = (run_section_t){"model", run_model_keys, n_model, offsetof(RunConfig, model)};
    SECTIONS[1] = (run_section_t){"train", RUN_TRAIN_KEYS, RUN_N_TRAIN_KEYS, offsetof(RunConfig, train)};
    SECTIONS[2] = (run_section_t){"train", RUN_OPTIM_KEYS, RUN_N_OPTIM_KEYS, offsetof(RunConfig, optim)};
    SECTIONS[3] = (run_section_t){"eval", RUN_EVAL_KEYS, RUN_N_EVAL_KEYS, offsetof(RunConfig, eval)};
    SECTIONS[4] = (run_section_t){"task", run_task_keys, n_task, offsetof(RunConfig, task)};
    N_SECTIONS = 5;
}

const run_section_t *run_config_sections(int *n)
{
    sections_init();
    *n = N_SECTIONS;
    return SECTIONS;
}

static void write_ini(const RunConfig *rc, FILE *f, int with_help);

// the key "section.key" and the struct (within rc) it is stored in
static const key_def_t *find_key(const char *section, const char *key, const run_section_t **in)
{
    sections_init();
    char name[160];
    snprintf(name, sizeof(name), "%s.%s", section, key);
    for (int s = 0; s < N_SECTIONS; s++) {
        const key_def_t *k = key_find(SECTIONS[s].keys, SECTIONS[s].n, name);
        if (k) { *in = &SECTIONS[s]; return k; }
    }
    return NULL;
}

static int section_known(const char *section)
{
    sections_init();
    for (int s = 0; s < N_SECTIONS; s++)
        if (!strcmp(SECTIONS[s].name, section)) return 1;
    return 0;
}

static void list_keys(const char *section, char *buf, size_t n)
{
    sections_init();
    buf[0] = 0;
    for (int s = 0; s < N_SECTIONS; s++)
        if (!strcmp(SECTIONS[s].name, section))
            for (int i = 0; i < SECTIONS[s].n; i++) {
                if (buf[0]) strncat(buf, ", ", n - strlen(buf) - 1);
                strncat(buf, strchr(SECTIONS[s].keys[i].name, '.') + 1, n - strlen(buf) - 1);
            }
}

void run_config_default(RunConfig *rc)
{
    sections_init();
    memset(rc, 0, sizeof(*rc));
    adamw_config_default(&rc->optim);   // total_steps, which is no key
    for (int s = 0; s < N_SECTIONS; s++) key_set_defaults((char *)rc + SECTIONS[s].offset, SECTIONS[s].keys, SECTIONS[s].n);
}

static int set_in_section(RunConfig *rc, const char *section, const char *key, const char *value, char *err)
{
    if (!section_known(section))
        return err_set(err, "unknown section [%s]: accepted [model], [task], [train], [eval]", section);
    const run_section_t *in;
    const key_def_t *k = find_key(section, key, &in);
    if (!k) {
        char keys[1024];
        list_keys(section, keys, sizeof(keys));
        return err_set(err, "unknown key '%s' in [%s]: accepted %s", key, section, keys);
    }
    return key_set((char *)rc + in->offset, k, value, err);
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

// the eval.* keys that `arithlab eval` reads (eval.n_during_train is training's own)
static const char *const EVAL_CMD_KEYS[] = {"eval.per_cell", "eval.max_len", "eval.batch_size", "eval.n_population",
                                            "eval.population"};
#define N_EVAL_CMD_KEYS (int)(sizeof EVAL_CMD_KEYS / sizeof EVAL_CMD_KEYS[0])

int run_config_apply_eval_set(RunConfig *rc, const char *arg, char *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq) return err_set(err, "--set '%s': expected section.key=value", arg);
    char key[128], accepted[256] = "", before[256], after[256];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
    for (int i = 0; i < N_EVAL_CMD_KEYS; i++) {
        if (!strcmp(key, EVAL_CMD_KEYS[i])) return run_config_set(rc, key, eq + 1, err);
        snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted), "%s%s", i ? ", " : "",
                 EVAL_CMD_KEYS[i]);
    }
    RunConfig changed = *rc;   // a bad value or an unknown key: run_config_set's own message
    if (run_config_set(&changed, key, eq + 1, err)) return -1;
    sections_init();
    const run_section_t *sec = NULL;
    const key_def_t *k = NULL;
    for (int s = 0; s < N_SECTIONS && !k; s++)
        if ((k = key_find(SECTIONS[s].keys, SECTIONS[s].n, key))) sec = &SECTIONS[s];
    if (!k) return err_set(err, "%s: unknown key; eval accepts %s", key, accepted);
    if (!strcmp(sec->name, "task")) {
        // the model was trained on the checkpoint's task, and its held-out split and
        // training distribution follow from it: only the same value is accepted
        key_format((const char *)rc + sec->offset, k, before, sizeof(before));
        key_format((const char *)&changed + sec->offset, k, after, sizeof(after));
        if (!strcmp(before, after)) { *rc = changed; return 0; }
        return err_set(err, "%s = %s: the checkpoint's model was trained with %s = %s, and evaluation keeps the "
                       "checkpoint's task keys; eval accepts %s (eval.max_len for a larger grid)",
                       key, eq + 1, key, before, accepted);
    }
    return err_set(err, "%s: not used by evaluation (%s); eval accepts %s", key,
                   !strcmp(key, "train.threads") ? "use --threads"
                   : !strcmp(key, "eval.n_during_train") ? "it sizes the evaluations during training"
                   : !strcmp(sec->name, "model") ? "the model is the checkpoint's"
                   : "it is a training setting", accepted);
}

// ---------------------------------------------------------------- INI text

// The INI library reads a line into a fixed buffer and parses the rest of a longer
// line as a line of its own (a long comment ending in "log_every = 7" would set it),
// and it does not say which line a value came from. So the text is cut into lines
// here: comments and blank lines are skipped whatever their length, a [section]
// header is read here, and each remaining line, at most KEY_INI_MAX_LINE bytes, goes
// through the library alone, so its line number is known.

typedef struct { const char *name, *value; int got; } one_line_t;

static int on_one_line(void *user, const char *section, const char *name, const char *value)
{
    one_line_t *l = user;
    l->got++;
    l->name = name ? strdup(name) : NULL;
    l->value = value ? strdup(value) : NULL;
    return 1;
}

typedef struct { char name[160]; int line; } seen_key_t;

int run_config_load_text(RunConfig *rc, const char *text, size_t len, const char *origin, FILE *warn, char *err)
{
    if (memchr(text, 0, len))
        return err_set(err, "%s: holds a NUL byte: not a text file (an INI file of 'key = value' lines is accepted)", origin);
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) { text += 3; len -= 3; }   // a UTF-8 byte order mark
    char section[128] = "";
    seen_key_t *seen = NULL;
    int n_seen = 0, cap_seen = 0, r = 0, lineno = 0;
    for (size_t pos = 0; pos < len && !r;) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + 1;
        lineno++;
        size_t a = 0, b = n;
        while (a < n && isspace((unsigned char)line[a])) a++;
        while (b > a && isspace((unsigned char)line[b - 1])) b--;
        if (a == b || line[a] == ';' || line[a] == '#') continue;
        if (line[a] == '[') {
            const char *close = memchr(line + a, ']', b - a);
            if (!close || (size_t)(close - line - a - 1) >= sizeof(section)) {
                r = err_set(err, "%s:%d: not a [section] header: a name of at most %zu characters in [ ] is accepted",
                            origin, lineno, sizeof(section) - 1);
                break;
            }
            snprintf(section, sizeof(section), "%.*s", (int)(close - line - a - 1), line + a + 1);
            continue;
        }
        if (n > KEY_INI_MAX_LINE) {
            r = err_set(err, "%s:%d: the line is %zu bytes long: 'key = value' lines of at most %d bytes are accepted "
                        "(comment lines may be longer)", origin, lineno, n, KEY_INI_MAX_LINE);
            break;
        }
        char buf[KEY_INI_MAX_LINE + 2];
        snprintf(buf, sizeof(buf), "%.*s\n", (int)n, line);
        one_line_t one = {0};
        int bad = ini_parse_string(buf, on_one_line, &one);
        if (bad || one.got != 1 || !one.name || !one.value) {
            r = err_set(err, "%s:%d: not a 'key = value' line or a [section] header", origin, lineno);
        } else {
            char inner[ERR_MAX] = "", name[160];
            snprintf(name, sizeof(name), "%s.%s", section, one.name);
            if (set_in_section(rc, section, one.name, one.value, inner)) r = err_set(err, "%s:%d: %s", origin, lineno, inner);
            for (int i = 0; i < n_seen && !r; i++)
                if (!strcmp(seen[i].name, name)) {
                    if (warn) fprintf(warn, "warning: %s:%d: %s is set again (first at line %d): the value at line %d, "
                                      "'%s', is kept\n", origin, lineno, name, seen[i].line, lineno, one.value);
                    seen[i].line = lineno;
                    name[0] = 0;
                }
            if (!r && name[0]) {
                if (n_seen == cap_seen) {
                    seen_key_t *grown = realloc(seen, sizeof(*seen) * (size_t)(cap_seen = cap_seen ? 2 * cap_seen : 64));
                    if (!grown) r = err_set(err, "%s: out of memory while parsing", origin);
                    else seen = grown;
                }
                if (!r) {
                    snprintf(seen[n_seen].name, sizeof(seen[n_seen].name), "%s", name);
                    seen[n_seen++].line = lineno;
                }
            }
        }
        free((char *)one.name);
        free((char *)one.value);
    }
    free(seen);
    return r ? -1 : 0;
}

int run_config_load_ini(RunConfig *rc, const char *path, char *err)
{
    FILE *f = files_open_regular(path, "config (.ini)", err);
    if (!f) return -1;
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            char *grown = realloc(text, cap = cap ? 2 * cap : 4096);
            if (!grown) { free(text); fclose(f); return err_set(err, "%s: out of memory while reading", path); }
            text = grown;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) { free(text); return err_set(err, "%s: read failed", path); }
    int r = run_config_load_text(rc, text, len, path, stderr, err);
    free(text);
    return r;
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
    return run_config_load_text(rc, text, strlen(text), origin, stderr, err);
}

static void write_ini(const RunConfig *rc, FILE *f, int with_help)
{
    sections_init();
    const char *section = "";
    for (int s = 0; s < N_SECTIONS; s++) {
        const run_section_t *sec = &SECTIONS[s];
        if (strcmp(section, sec->name)) fprintf(f, "%s[%s]\n", s ? "\n" : "", section = sec->name);
        for (int i = 0; i < sec->n; i++) {
            const key_def_t *k = &sec->keys[i];
            char val[128];
            key_format((const char *)rc + sec->offset, k, val, sizeof(val));
            if (with_help) fprintf(f, "; %s\n", k->help);
            fprintf(f, "%s = %s\n", strchr(k->name, '.') + 1, val);
        }
    }
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
    sections_init();
    for (int s = 0; s < N_SECTIONS; s++)
        for (int i = 0; i < SECTIONS[s].n; i++) {
            const key_def_t *k = &SECTIONS[s].keys[i];
            fprintf(f, "  %-22s %-10s %s\n", k->name, k->def, k->help);
        }
}

int run_config_resolve_fone(RunConfig *rc, const TaskConfig *longest, char *err)
{
    const model_head_t *head = model_head_resolve(&rc->model, err);
    if (!head) return -1;
    int fone_task = rc->task.numbers == TASK_NUMBERS_FONE, fone_model = model_value_scheme(&rc->model) != NULL;
    if (fone_task && !fone_model)
        return err_set(err, "task.numbers = fone needs the fone position scheme, which embeds the [NUM] tokens and "
                       "reads the answer's digits: set model.position = fone (or fone+rope, fone+abacus, ...), not '%s'",
                       rc->model.position);
    if (fone_model && !fone_task)
        return err_set(err, "model.position = %s has the fone scheme, which needs [NUM] tokens: set task.numbers = fone",
                       rc->model.position);
    if (fone_task && head->decodes != MODEL_HEAD_DIGITS)
        return err_set(err, "model.head = %s predicts tokens, but with task.numbers = fone the answer is one [NUM] token "
                       "whose digits the fone head reads: set model.head = fone or auto", rc->model.head);
    if (!fone_model) return 0;
    int need = task_widest_number(longest);
    int *places = pos_opt_ptr(&rc->model.pos, "model.fone_places");   // declared by embeddings/fone.c
    if (*places == 0) *places = need;
    if (*places < need)
        return err_set(err, "model.fone_places = %d cannot hold the task's %d-digit numbers (task.max_len = %d, "
                       "eval.max_len = %d): accepted %d..%d, or 0 for %d", *places, need,
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
