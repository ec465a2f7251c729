// run.h: the configuration of a training run: the INI sections [model] [train]
// [task] [eval], every key documented, unknown keys refused. Defaults, INI loading,
// --set overrides, --help, config.ini and the checkpoint's copy all read one table.
#ifndef ARITHLAB_RUN_H
#define ARITHLAB_RUN_H

#include "model/model.h"
#include "model/optim.h"
#include "tasks/task.h"

typedef struct {
    int steps;            // optimizer steps
    int batch_size;       // sequences per step
    int seq_len;          // T used for training (<= model.block_size; 0 = block_size)
    uint64_t seed;        // model init and data
    int threads;          // compute threads (BLIS + OpenMP); 0 = all cores
    int log_every;        // steps between log lines
    int ckpt_every;       // steps between checkpoints (0 = only at the end)
    int eval_every;       // steps between evaluations (0 = only at the end)
    char loss_on[8];      // "answer" or "all": which tokens carry the loss (run_config_resolve checks)
} TrainOpts;

typedef struct {
    int per_cell;         // problems per (len a, len b) cell of the accuracy grid
    int max_len;          // grid covers lengths 1..max_len (0 = task.max_len)
    int batch_size;       // problems decoded together
    int n_during_train;   // problems in each periodic evaluation during training
    int n_population;     // problems drawn as training draws them, evaluated with the grid (0 = off)
    int population;       // RunPopulation: how those problems are drawn
} EvalOpts;

// eval.population: the n_population problems drawn as training draws them, or with
// each operand uniform over the training range and carries left unbalanced (the test
// sets of Lee et al. and FoNE, whose training sets are drawn otherwise)
typedef enum { RUN_POPULATION_TRAINING, RUN_POPULATION_VALUES } RunPopulation;

typedef struct {
    ModelConfig model;
    AdamWConfig optim;
    TrainOpts train;
    TaskConfig task;
    EvalOpts eval;
} RunConfig;

// the keys of the run, a section at a time: MODEL_KEYS (model/config.c), RUN_TRAIN_KEYS and
// RUN_OPTIM_KEYS ([train]), RUN_EVAL_KEYS, TASK_KEYS (tasks/config.c); a few defaults are the
// run's own (model.vocab_size = 0, the quickstart's task). Every reader and writer of a run
// config iterates these, in this order (config.ini's).
typedef struct {
    const char *name;          // INI section
    const key_def_t *keys;     // full names, "train.lr"
    int n;
    size_t offset;             // of the struct the keys' offsets point into, within RunConfig
} run_section_t;
const run_section_t *run_config_sections(int *n);
extern const key_def_t RUN_TRAIN_KEYS[], RUN_OPTIM_KEYS[], RUN_EVAL_KEYS[];
extern const int RUN_N_TRAIN_KEYS, RUN_N_OPTIM_KEYS, RUN_N_EVAL_KEYS;

void run_config_default(RunConfig *rc);
// set "section.key" to a string value; -1 + err naming the key and what is accepted
int run_config_set(RunConfig *rc, const char *dotted_key, const char *value, char *err);
// INI file: every section.key through run_config_set; -1 + err with file:line
int run_config_load_ini(RunConfig *rc, const char *path, char *err);
// write the resolved config as INI (every key, with its help as a comment)
int run_config_write_ini(const RunConfig *rc, const char *path, char *err);
// the same INI text in a malloc'd string (stored in checkpoints), and back
char *run_config_to_string(const RunConfig *rc);
int run_config_load_string(RunConfig *rc, const char *text, const char *origin, char *err);
// the INI parser under both: len bytes of text named origin in messages. Lines of
// 'key = value' are at most KEY_INI_MAX_LINE bytes (longer comments are skipped whole);
// a key set twice keeps the later value with a warning on warn (NULL: none) naming both lines
int run_config_load_text(RunConfig *rc, const char *text, size_t len, const char *origin, FILE *warn, char *err);
// the run config stored in a checkpoint's metadata ("arithlab.config"); -1 + err
int run_config_from_checkpoint(RunConfig *rc, const char *ckpt_path, char *err);
// print every key with default and help (for --help)
void run_config_print_keys(FILE *f);

// fill automatic values (vocab_size, block_size, seq_len from the task) and check
// that the sections agree; -1 + err naming the key
int run_config_resolve(RunConfig *rc, char *err);
// part of it: task.numbers = fone and the fone position scheme go together; fills
// model.fone_places (0) from the widest number of `longest` (the task at eval.max_len)
int run_config_resolve_fone(RunConfig *rc, const TaskConfig *longest, char *err);

// apply "--set section.key=value" arguments; returns 0 or -1 + err
int run_config_apply_set(RunConfig *rc, const char *arg, char *err);
// the same for `arithlab eval`: only the eval.* keys evaluation reads (per_cell, max_len,
// batch_size, n_population); a task.* key only at the checkpoint's value; anything else
// is refused (-1 + err naming the key and listing what is accepted), rc unchanged
int run_config_apply_eval_set(RunConfig *rc, const char *arg, char *err);

#endif
