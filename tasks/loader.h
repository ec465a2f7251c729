// loader.h: the training data loader, in the spirit of llm.c's dataloader.h:
// init / next batch / state for resume / free. It hides where problems come
// from (a fixed training set, task.train_size, or the generator's train split)
// and the FoNE per-token values, so a training loop only asks for the next batch.
// Batches are the same draws, in the same order, as task_fill_batch /
// task_pool_fill_batch on the data RNG.
#ifndef ARITHLAB_TASKS_LOADER_H
#define ARITHLAB_TASKS_LOADER_H

#include "core/batch.h"
#include "tasks/task.h"
#include "tasks/pack.h"

typedef struct {
    TaskConfig task;
    int B, T;                 // sequences per batch, tokens per sequence
    uint64_t rng;             // data RNG: the whole state a resumed run needs
    TaskPool pool_store;
    TaskPool *pool;           // the fixed training set, or NULL (generator)
    // the current batch, each (B,T)
    int *inputs, *targets;
    double *values, *target_values;   // FoNE: the value of each [NUM] token; NULL otherwise
    TaskExample *examples;            // (B) the problems of the batch
    Batch batch;                      // the arrays above as the model's forward takes them
    TaskSet seen;             // every generated problem handed out (not kept with a fixed set)
    // train.packing (tasks/pack.h): TASK_PACK_NONE, one problem per row; else packed rows
    int packing, loss_on_all;
    int *pos;                 // (B,T) masked packing: positions within each problem (batch.pos)
    int *row_len;             // (B) masked packing: scratch
    int n_problems;           // problems in the current batch
} TaskLoader;

// data_rng: a fresh run's rng_seed(...) or the state saved by a checkpoint;
// expected_problems sizes the record of seen problems. 0, or -1 + err.
int task_loader_init(TaskLoader *l, const TaskConfig *tc, int B, int T, uint64_t data_rng,
                     size_t expected_problems, char *err);
// pack the rows (train.packing, tasks/pack.h): call after init, before the first next.
// Packed batches apply the loss mask themselves: loss_on_all is train.loss_on = all (an
// unpacked batch's caller applies it with task_batch_loss_on_all). l->examples then holds
// no batch. 0, or -1 + err (no memory).
int task_loader_set_packing(TaskLoader *l, int packing, int loss_on_all, char *err);
// fill inputs/targets (and values) with the next B problems (packed: the next B packed
// rows), l->batch points at them; 0, or -1 + err
int task_loader_next(TaskLoader *l, char *err);
// the state to save for resume (pass it to task_loader_init to continue)
uint64_t task_loader_state(const TaskLoader *l);
// the problem keys trained on: the fixed set's, or those handed out so far
const TaskSet *task_loader_seen(const TaskLoader *l);
void task_loader_free(TaskLoader *l);

#endif
