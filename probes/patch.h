// patch.h: activation patching and head ablation on a trained model, over the
// interventions of model/patch.h (TransformerLens's get_act_patch_* and
// ablation hooks, on this engine).
//
// Patching a pair: the clean and the corrupted sequence have the same length T
// (the prompt, and the answer tokens both share before the answer token
// measured). The corrupted run gets, one site at a time, the clean run's
// values: the residual stream after each pass (pass -1: the embeddings) at each
// position, each MLP's output at each position, and each head's output at every
// position. Each run is scored at position T-1 by the logit difference
//     LD = logit(clean answer token) - logit(corrupted answer token)
// and by exact match: its greedy continuation from T reproduces the clean
// sequence's tokens T..T+n_rest-1 (the measured answer token and the rest of the
// answer). Over many pairs the sums are kept per cell; a cell's restored share
// is (LD_patched - LD_corrupt) / (LD_clean - LD_corrupt) of its sums
// (TransformerLens's normalized logit difference: 0 = corrupted, 1 = clean),
// so pairs with a small gap cannot blow it up.
//
// Ablation: each head of each pass in turn replaced by zeros or by its mean
// output at each position over reference problems, and the model's exact-match
// accuracy on the problems measured (eval_examples, greedy, with the cache).
#ifndef ARITHLAB_PROBE_PATCH_H
#define ARITHLAB_PROBE_PATCH_H

#include <stdio.h>
#include "model/model.h"
#include "model/patch.h"
#include "tasks/task.h"

// the cell grids: resid (n_passes+1, T_cap) (row 0 the embeddings), mlp
// (n_passes, T_cap), head (n_passes, n_heads)
typedef enum { PROBE_PATCH_RESID, PROBE_PATCH_MLP, PROBE_PATCH_HEAD, PROBE_PATCH_N_GRIDS } probe_patch_grid;

typedef struct {
    int n_passes, n_heads, T_cap;
    int rows[PROBE_PATCH_N_GRIDS], cols[PROBE_PATCH_N_GRIDS];
    // per cell, summed over the pairs that have it: LD patched, LD clean, LD corrupted,
    // pairs, exact matches of the patched run
    double *ld[PROBE_PATCH_N_GRIDS], *ld_clean[PROBE_PATCH_N_GRIDS], *ld_corrupt[PROBE_PATCH_N_GRIDS];
    long *n[PROBE_PATCH_N_GRIDS], *exact[PROBE_PATCH_N_GRIDS];
    long n_pairs, clean_exact, corrupt_exact;   // unpatched runs' exact matches
    double sum_ld_clean, sum_ld_corrupt;
    int T_max_seen;                             // longest T of the pairs
} probe_patch_sums;

int probe_patch_sums_init(probe_patch_sums *s, const Model *m, char *err);
void probe_patch_sums_free(probe_patch_sums *s);
// the restored share of one cell (see above), NaN without pairs or when
// |LD_clean - LD_corrupt| summed is below 1e-6 per pair
double probe_patch_restored(const probe_patch_sums *s, probe_patch_grid g, int row, int col);
double probe_patch_exact(const probe_patch_sums *s, probe_patch_grid g, int row, int col);   // NaN without pairs

// One pair into s: clean and corrupt (T tokens each, fed), the answer tokens
// tok_clean != tok_corrupt compared at position T-1, and want (n_rest >= 1
// tokens, want[0] = tok_clean) the clean continuation for exact match. Runs in
// batches of m->B_max rows, one site per row; needs T + n_rest - 1 <= m->T_max.
// 0, or -1 + err. ld_out (may be NULL): {LD clean, LD corrupted} of this pair.
int probe_patch_pair(Model *m, const int *clean, const int *corrupt, int T, int tok_clean, int tok_corrupt,
                     const int *want, int n_rest, probe_patch_sums *s, double *ld_out, char *err);

// A pair of problems for the task in ordinary notation: T, the tokens fed and the
// answer tokens measured, from their examples (same length, same prompt length;
// the measured token is the first answer token where they differ). -1 + err
// naming what does not match (a message for the user: lengths, or no difference).
typedef struct {
    TaskExample clean, corrupt;
    int T, tok_clean, tok_corrupt, n_rest;   // fed: tokens[0..T-1]; want: clean.tokens[T..T+n_rest-1]
} probe_patch_pair_t;
int probe_patch_pair_from_examples(const TaskExample *clean, const TaskExample *corrupt, probe_patch_pair_t *p, char *err);

// generated pairs: DIGIT, one operand digit changed (add, sub, mul, modadd); CARRY
// (add): a problem whose carry runs from the units through every place (e.g.
// 275+725) and its twin with the units digit of b lowered so no carry starts
typedef enum { PROBE_PAIRS_DIGIT, PROBE_PAIRS_CARRY, PROBE_N_PAIR_KINDS } probe_pair_kind;
const char *probe_pair_kind_name(int kind);     // "digit", "carry"
int probe_pair_kind_parse(const char *s);       // -1 if none
// n pairs of operands with `digits` digits each (1..TASK_MAX_DIGITS; CARRY needs
// >= 2), drawn from seed; *out malloc'd. -1 + err (the task cannot make such pairs).
int probe_patch_make_pairs(const TaskConfig *tc, probe_pair_kind kind, int digits, int n, int seed,
                           probe_patch_pair_t **out, char *err);

// Ablation: accuracy (n_passes, n_heads) of the model on ex[0..n) with each head of
// each pass ablated, and the unablated accuracy; mean = 1 replaces a head by its
// mean output per position over ref[0..n_ref) (teacher-forced), else by zeros.
int probe_ablate_heads(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, int mean,
                       const TaskExample *ref, int n_ref, double *base_acc, double *acc, FILE *log, char *err);

// the files: patch_{resid,mlp,heads}.csv with every cell's sums and shares,
// patch_{resid,mlp,heads}.npy (restored share), patch_{resid,mlp,heads}_exact.npy,
// and heatmaps patch_{resid,mlp,heads}.png on a diverging map centred at 0 (the
// corrupted run). labels: T_max_seen position labels (e.g. "3 +"), or NULL.
int probe_patch_write(const Model *m, const probe_patch_sums *s, const char *const *labels, const char *title,
                      const char *dir, char *err);
// ablate.csv (pass, block, head, accuracy, drop), ablate.npy (n_passes, n_heads)
// accuracy, ablate.png centred at the unablated accuracy
int probe_ablate_write(const Model *m, double base_acc, const double *acc, const char *mode, const char *dir, char *err);

#endif
