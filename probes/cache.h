// cache.h: the activation cache: problems run through a model (teacher-forced,
// the whole text but its last token, as the probes do) and every hook point
// written as one float32 .npy, named as TransformerLens names them, plus
// index.json (hook -> file, shape, dtype, axis names; the tokens with their
// strings) and tokens.npy. tools/arithlab_cache.py reads the directory back.
//
// Hook points (d_model = C, d_head = C / NH, d_mlp = model.mlp_hidden):
//   hook_embed                   (batch, pos, d_model)   token embeddings
//   hook_pos_embed               (batch, pos, d_model)   what the position schemes add to them
//   blocks.{p}.hook_resid_pre    (batch, pos, d_model)   input to pass p
//   blocks.{p}.attn.hook_pattern (batch, head_index, query_pos, key_pos)
//   blocks.{p}.attn.hook_z       (batch, pos, head_index, d_head)
//   blocks.{p}.hook_attn_out     (batch, pos, d_model)   z @ W_O^T + b_O
//   blocks.{p}.mlp.hook_post     (batch, pos, d_mlp)     after the GELU/ReLU
//   blocks.{p}.hook_resid_post   (batch, pos, d_model)   the residual after pass p
//   ln_final.hook_normalized     (batch, pos, d_model)   the final norm's output (gain and bias applied)
// p counts passes (model/inspect.h): a plain model's pass p is block p, as in
// TransformerLens; a looped model (model.n_loops > 1) gets n_layer * n_loops
// blocks.{p}, as if unrolled, and the index says for each which block's weights
// it ran (block = p % n_layer), in which loop, and whether the embeddings were
// injected before it (then hook_resid_pre includes them).
// Everything is read through model/inspect.h.
#ifndef ARITHLAB_PROBE_CACHE_H
#define ARITHLAB_PROBE_CACHE_H

#include <stdint.h>
#include "model/model.h"
#include "tasks/task.h"

typedef enum {
    PROBE_HOOK_EMBED, PROBE_HOOK_POS_EMBED, PROBE_HOOK_RESID_PRE, PROBE_HOOK_PATTERN, PROBE_HOOK_Z,
    PROBE_HOOK_ATTN_OUT, PROBE_HOOK_MLP_POST, PROBE_HOOK_RESID_POST, PROBE_HOOK_LN_FINAL, PROBE_HOOK_N_KINDS
} probe_hook_kind;

#define PROBE_CACHE_MAX_HOOKS 1024
typedef struct {
    char name[64];        // "blocks.0.attn.hook_pattern"
    probe_hook_kind kind;
    int pass;             // -1 for the embeddings and ln_final
    int ndim;
    int64_t shape[4];     // the first axis is the problems
    const char *axes[4];  // TransformerLens's axis names
    size_t row_floats;    // floats per problem
} probe_cache_hook;

typedef struct {
    probe_cache_hook hooks[PROBE_CACHE_MAX_HOOKS];
    int n_hooks;
    int n, T;             // problems, positions (the longest problem's tokens but its last)
    double hook_bytes;    // the arrays held in memory until written
    double model_bytes;   // the model's parameters and activations for batches of B
    int B;                // problems per forward
} probe_cache_plan;

// The hooks of model m matching select (NULL or "": all; else comma-separated
// names or fnmatch patterns, e.g. "blocks.*.attn.hook_pattern,ln_final.*") for n
// problems of T positions, and the memory the cache needs. -1 + err naming a
// pattern that matches no hook (with the names it could match).
int probe_cache_plan_make(const ModelConfig *cfg, int n, int T, int B, const char *select, probe_cache_plan *plan, char *err);
// the positions a cache of these examples runs: the longest example's tokens but its last
int probe_cache_positions(const TaskExample *ex, int n);

// Run ex[0..n) through m (built for at least plan->B sequences of plan->T tokens)
// and write the plan's hooks, index.json and tokens.npy into dir (which must exist).
// checkpoint: recorded in the index (may be NULL). -1 + err.
int probe_cache_write(Model *m, const probe_cache_plan *plan, const TaskExample *ex, int n, const char *dir,
                      const char *checkpoint, char *err);

#endif
