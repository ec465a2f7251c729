// eval.h: exact-match evaluation of a model on a task: batched greedy decoding
// with the key/value cache, an accuracy grid over (len a, len b), accuracy per
// answer digit and per number of carries, and train/test overlap.
#ifndef ARITHLAB_EVAL_H
#define ARITHLAB_EVAL_H

#include "model/model.h"
#include "tasks/task.h"

#define EVAL_MAX_CARRIES (TASK_MAX_DIGITS + 2)
// draws per grid problem to find one held out of training before its cell is left short
#define EVAL_GRID_DRAWS 4096

typedef struct {
    int max_len;                              // grid is max_len x max_len (1-based lengths)
    int train_max_len;                        // lengths <= this are in-distribution
    long *n, *correct;                        // (max_len, max_len), row = len a - 1
    long digit_n[TASK_MAX_ANSWER], digit_correct[TASK_MAX_ANSWER]; // by answer digit, 0 = least significant
    long carry_n[EVAL_MAX_CARRIES], carry_correct[EVAL_MAX_CARRIES];
    long in_n, in_correct, out_n, out_correct;
    long overlap;                             // evaluated problems also drawn in training
    long malformed;                           // answers that did not parse
    int short_cells;                          // grid cells with no held-out problem in EVAL_GRID_DRAWS draws
    long short_problems;                      // the problems those cells are short of per_cell
    // called by eval_grid after each cell with the problems decoded so far and the
    // grid's total (e.g. a progress bar); NULL: none. Set after eval_report_init
    void (*progress)(void *user, long done, long total);
    void *progress_user;
} EvalReport;

int eval_report_init(EvalReport *r, int max_len, int train_max_len, char *err);
void eval_report_free(EvalReport *r);

// Decode the examples' prompts greedily (grouped by prompt length, batches of
// at most m->B_max) and score exact match of the parsed answer. `got` may be
// NULL or room for n answers of TASK_MAX_ANSWER bytes. Adds to r if non-NULL.
// Returns the number correct, or -1 + err.
long eval_examples(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, int use_cache,
                   EvalReport *r, const TaskSet *train_set, char (*got)[TASK_MAX_ANSWER], char *err);

// The grid: per_cell problems of every (len a, len b) up to r->max_len, only
// problems held out of training (the test split when train_frac < 1, none of
// train_set); a cell with none in EVAL_GRID_DRAWS draws for a problem keeps
// the problems found so far and is counted in short_cells/short_problems. -1 + err.
int eval_grid(Model *m, const TaskConfig *tc, int per_cell, uint64_t seed, EvalReport *r,
              const TaskSet *train_set, char *err);

// CSV files in dir: accuracy_grid.csv, accuracy_by_digit.csv, accuracy_by_carries.csv
int eval_write_csv(const EvalReport *r, const char *dir, char *err);
// a few lines: in-distribution, out-of-distribution, overlap (overlap_known = 0
// when neither the training problems nor a train/test split were available)
void eval_print_summary(const EvalReport *r, int overlap_known, FILE *f);

#endif
