// inspect.h: read-only views of the last model_forward, pass by pass, for the
// probes and any other tool that looks inside a model. A pass is one block
// application: a plain model runs pass p = block p; a looped model
// (model.n_loops > 1) runs its n_layer blocks n_loops times, n_layer * n_loops
// passes, and pass p uses block p % n_layer. Tools read passes through these
// functions and never index the model's activation arrays, so a looped model
// (or a new one) cannot hand them the wrong layer.
//
// Valid after model_forward (not model_forward_cached, whose attention rows
// cover a chunk only); the shapes are those of that forward, (B, T) = (m->B, m->T).
//
// Input injection: at the first pass of every loop but the first, the block's
// input is the previous pass's residual plus the embeddings (the Abacus paper's
// looped transformer). That pass is "injected"; the injection is a term of its
// own, never part of the pass's attention or MLP contribution.
#ifndef ARITHLAB_MODEL_INSPECT_H
#define ARITHLAB_MODEL_INSPECT_H

#include "model/model.h"

// passes of a whole forward: n_layer * n_loops
int model_n_passes(const Model *m);
// passes the last forward ran, the ones the functions below accept: model_n_passes,
// fewer only after a training forward with model.loop_random; 0 before any forward
int model_passes_run(const Model *m);
// the block (0..n_layer-1) whose weights pass p (0..model_n_passes-1) runs; -1 if p is not a pass
int model_pass_block(const Model *m, int pass);
// 1 if the embeddings are added to the residual stream before pass p (0..model_n_passes-1)
int model_pass_injected(const Model *m, int pass);
// The rest read the activations of a pass the last forward ran (0..model_passes_run-1).
// the softmax attention of pass p, (B, NH, T, T), zero above the diagonal; NULL if p is not a pass
const float *model_pass_attention(const Model *m, int pass);
// the residual stream after pass p, (B, T, C); pass -1: the embeddings (token
// embeddings plus additive positions), the input to pass 0; NULL outside -1..n_passes-1.
// The final LayerNorm and the unembedding read the residual after the last pass.
const float *model_pass_residual(const Model *m, int pass);
// the MLP's hidden activations of pass p after its nonlinearity (GELU or ReLU), (B, T, H);
// NULL if p is not a pass
const float *model_pass_mlp_hidden(const Model *m, int pass);
// what the injection adds before pass p, (B, T, C): the embeddings when the pass
// is injected, else NULL
const float *model_pass_injection(const Model *m, int pass);

// the input to pass p's block, (B, T, C): the residual after pass p-1 (the
// embeddings for pass 0), plus the embeddings when the pass is injected; NULL if p is not a pass
const float *model_pass_input(const Model *m, int pass);
// the heads' outputs of pass p before the output projection, (B, T, NH, HS) with
// HS = C / NH (z in TransformerLens's names: the pattern times the values); NULL if p is not a pass
const float *model_pass_z(const Model *m, int pass);
// the MLP's hidden activation after its nonlinearity (GELU or ReLU) in pass p,
// (B, T, H) with H = model.mlp_hidden; NULL if p is not a pass
const float *model_pass_mlp_post(const Model *m, int pass);
// the attention sublayer's output of pass p as it enters the residual sum, attn
// (B, T, C) = z @ W_O^T + b_O (the output projection with its bias), before any
// LayerNorm after it (post-LN too; unlike model_pass_contributions). -1 + err if p is not a pass.
int model_pass_attn_out(const Model *m, int pass, float *attn, char *err);
// the embeddings of the last forward split in two, each (B, T, C): tok the token
// embeddings (rows of wte), pos what the position schemes add to them (absolute,
// sinusoidal, Abacus, FoNE; zero for schemes that act inside attention), so that
// tok + pos = model_pass_residual(m, -1). Either may be NULL. -1 + err before any forward.
int model_embed_parts(const Model *m, float *tok, float *pos, char *err);

// What pass p's attention and MLP sublayers add to the residual stream, each (B, T, C)
// (either may be NULL). -1 + err if p is not a pass.
//   Pre-LN: the residual is a plain sum, and exactly
//       residual(p) = residual(p-1) + injection(p) + attn + mlp
//   (injection(p) is 0 for a pass that is not injected).
//   Post-LN: the pass's output is LN2(h + mlp(h)) with h = LN1(x + attn(x)) and
//   x = residual(p-1) + injection(p); it is not a sum. Here a contribution is the
//   sublayer's output as it arrives at the pass's output through the LayerNorms
//   after it, at their actual per-position scales: S(v) = gain * rstd * (v - mean(v)),
//   no bias, the direct-attribution convention the logit lens uses for the final
//   LayerNorm. attn = S2(S1(attn(x))), mlp = S2(mlp(h)), and exactly
//       residual(p) = S2(S1(x)) + S2(b1) + b2 + attn + mlp
//   (b1, b2 the norms' biases): the rest of the output is the input carried
//   through both norms.
int model_pass_contributions(const Model *m, int pass, float *attn, float *mlp, char *err);

// The final norm, between the last residual and the head, as the forward applies it
// (model/model.c): 1 if the model has LayerNorms, 0 for model.norm = none (every norm
// the identity). model_final_norm: out (N, C) = the final norm of inp (N, C) (the
// final LayerNorm, mean and rstd (N) its statistics; without a norm a copy, mean and
// rstd untouched), for lenses that read another residual through it.
int model_has_norm(const Model *m);
void model_final_norm(const Model *m, float *out, float *mean, float *rstd, const float *inp, int N);

#endif
