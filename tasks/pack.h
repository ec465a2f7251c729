// pack.h: packed training rows (train.packing): several problems in one row of T tokens
// instead of one problem padded to T. Two ways, as the papers trained:
//   windows  (nanoGPT, as Lee et al. 2023 trained): the problems' full sequences
//            (<bos> ... <eos> each) concatenated, and a row is T+1 consecutive tokens of
//            that text (inputs the first T, targets the last T). Attention crosses problem
//            boundaries and positions are the row's. A row starts at a uniformly drawn token
//            of its first problem (as a random window over the concatenated text starts
//            anywhere in a problem), whole problems follow, and the last is cut at the
//            row's end: no padding. Rows are independent (nothing carries over to the next
//            row or batch), so the data RNG alone is still the loader's whole state.
//   masked   whole problems only, each attending only to itself: problem p of n tokens
//            takes n-1 consecutive slots (inputs tokens[0..n-2], targets tokens[1..n-1]),
//            pos (B,T) restarts at 0 at its <bos> (core/batch.h Batch.pos), and the model
//            masks attention to keys outside the problem. Problems go first-fit into the
//            B rows, in the order drawn, until one fits in no row (that one is dropped);
//            the rest of each row is padding (targets -1), its positions continuing the
//            row's last problem, so a row holding one problem is the unpacked row.
// Targets (both): train.loss_on = all counts every target (windows: also the <bos> that
// follows an <eos>); answer counts a target only where that token lies at or after its
// problem's answer_start (the unpacked convention; targets < 0 are not counted).
#ifndef ARITHLAB_TASKS_PACK_H
#define ARITHLAB_TASKS_PACK_H

#include "tasks/task.h"

typedef enum { TASK_PACK_NONE, TASK_PACK_WINDOWS, TASK_PACK_MASKED, TASK_N_PACKINGS } TaskPacking;

// "none", "windows", "masked": the words of train.packing, in TaskPacking order, NULL-terminated
extern const char *const TASK_PACKING_NAMES[];
// the TaskPacking of a word, or -1
int task_packing_from_name(const char *name);

// where packed rows get their problems: next fills *ex with the next problem (0, or -1 + err);
// placed (may be NULL) is told of every problem that went into the batch
typedef struct {
    int (*next)(void *ctx, TaskExample *ex, char *err);
    int (*placed)(void *ctx, const TaskExample *ex, char *err);
    void *ctx;
} TaskPackSource;

// the arrays of one packed batch, each (B,T); pos (masked: required; windows: written as
// the row's positions 0..T-1 if given), values and target_values may be NULL (no FoNE
// numbers). ex (one example) and row_len (B ints, masked) are the caller's scratch, so a
// training step allocates nothing. n_problems counts the problems placed (windows: every
// problem with a token in a row, the cut ones too).
typedef struct {
    int B, T;
    int *inputs, *targets, *pos;
    double *values, *target_values;
    TaskExample *ex;
    int *row_len;
    int n_problems;
} TaskPacked;

// fill the batch by `packing` (windows or masked) from src, with loss on every token
// (loss_on_all) or on the answers; rng draws the windows' start offsets. 0, or -1 + err
// (a problem longer than T+1 tokens, or the source's error).
int task_pack_batch(int packing, const TaskPackSource *src, uint64_t *rng, int loss_on_all, TaskPacked *out, char *err);

#endif
