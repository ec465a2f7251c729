// patch.h: interventions in the forward pass, for activation patching and
// ablation (TransformerLens's hooks, on this engine). An intervention is a list
// of patches the caller owns; model_forward, model_forward_cached and
// model_generate_greedy consult it while m->intervene points at it, and do
// nothing more than one NULL test when it is NULL (the training path: nothing
// is allocated or changed). Each patch overwrites one site of one pass, at one
// absolute position or all of them, in one batch row or all of them, with zeros
// or with values the caller recorded (a clean run's, a mean over problems):
//
//   float clean[T * C];                      // after the clean forward (B = 1):
//   model_patch_read(m, MODEL_SITE_RESID, 0, -1, clean);
//   model_patch_t p = { .site = MODEL_SITE_RESID, .pass = 0, .pos = 3, .row = -1,
//                       .src = clean, .src_T = T };
//   model_intervention_t iv = { &p, 1 };
//   m->intervene = &iv;  model_forward(m, corrupt, NULL, 1, T);  m->intervene = NULL;
//
// The sites (a pass p as model/inspect.h counts passes; width = C unless noted):
//   MODEL_SITE_RESID  the residual stream after pass p (model_pass_residual);
//                     pass -1: the embeddings, the input of pass 0 (and of the
//                     injections of a looped model)
//   MODEL_SITE_HEAD   head h's output before the output projection (c_proj):
//                     columns h*hs..(h+1)*hs-1 of the heads concatenated, width hs = C/NH
//   MODEL_SITE_MLP    what the MLP adds to the residual (pre-LN: res3 - res2; post-LN:
//                     before the second LayerNorm, sum2 - res2); patching it sets
//                     the sum to the attention residual plus the patched value
// The patched values flow on to every later site, the logits and (cached forwards)
// the keys and values kept for later positions. The backward is not defined for a
// patched forward.
#ifndef ARITHLAB_MODEL_PATCH_H
#define ARITHLAB_MODEL_PATCH_H

#include "model/model.h"

typedef enum { MODEL_SITE_RESID, MODEL_SITE_HEAD, MODEL_SITE_MLP, MODEL_N_SITES } model_site_t;

typedef struct model_patch_t {
    model_site_t site;
    int pass;            // RESID: -1..n_passes-1; HEAD, MLP: 0..n_passes-1
    int head;            // HEAD: 0..NH-1; else ignored
    int pos;             // absolute position patched, or -1: every position
    int row;             // batch row patched, or -1: every row
    // the new values: NULL for zeros; else position t of batch row b reads
    // src + b * src_row_stride + t * src_pos_stride (width floats), for t < src_T
    // only (later positions are left alone). src_pos_stride 0 means the site's
    // width; src_row_stride 0 gives every row the same values (a mean).
    const float *src;
    int src_T;
    size_t src_pos_stride, src_row_stride;
} model_patch_t;

typedef struct model_intervention_t {
    const model_patch_t *patches;
    int n;
} model_intervention_t;

// the width of a site's vector at one position: C, or hs = C/NH for a head
int model_site_width(const Model *m, model_site_t site);
const char *model_site_name(model_site_t site);   // "resid", "head", "mlp"
// 0 if every patch names a site, pass, head, position and row the model has
// (positions < block_size, rows < B_max); else -1 + err naming the patch and field
int model_intervention_check(const Model *m, const model_intervention_t *iv, char *err);
// out (B, T, C) = the site's values in the last model_forward (not a cached one),
// for every head when site is HEAD and head < 0 (the heads concatenated), else
// (B, T, width). -1 + err if the pass was not run or the head is out of range.
int model_patch_read(const Model *m, model_site_t site, int pass, int head, float *out, char *err);

// ---- used by model/model.c only: apply the patches of (site, pass) to buf, the
// chunk of (B, T, C) at absolute positions t0..t0+T-1; base (MLP: the attention
// residual the sum adds to) or NULL
void model__patch_apply(const Model *m, model_site_t site, int pass, float *buf, const float *base,
                        int B, int T, int t0);

#endif
