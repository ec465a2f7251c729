// model.h: a GPT-style decoder with a hand-written backward pass.
// All parameters, gradients and AdamW moments live in one arena each; the
// activations in another, sized once for (B_max, T_max). Nothing is
// allocated inside a training step. Tensor names follow nanoGPT's model.py.
#ifndef ARITHLAB_MODEL_H
#define ARITHLAB_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "core/common.h"
#include "core/batch.h"
#include "embeddings/pos.h"
#include "core/keys.h"
#include "model/head.h"

typedef struct ModelConfig {
    int vocab_size;      // V
    int block_size;      // maximum T
    int n_layer;         // L
    int n_head;          // NH
    int n_embd;          // C
    int mlp_hidden;      // H (0 at parse time means 4*C)
    int tied;            // 1: lm_head shares wte
    int post_ln;         // 1: post-LayerNorm blocks (x = LN(x + f(x)))
    char position[64];   // position scheme spec, e.g. "absolute" or "abacus+rope"
    // options of the position schemes, declared by each scheme in its own file
    // (embeddings/*.c); read one with pos_opt(&cfg.pos, "model.rope_base")
    pos_opts_t pos;
    // looped transformer: the n_layer blocks are applied n_loops times
    int n_loops;
    // 1: each training batch runs n of the n_loops loops without gradient, then k with it
    // (n uniform in 0..n_loops-1, k in 1..n_loops-n) and takes the loss there: the Abacus
    // paper's progressive loss with truncated back-propagation. Evaluation runs all loops.
    int loop_random;
    char head[16];       // output head (model/head.h): auto, lm or fone
    // architecture options of the faithful setups (issue 12); the defaults are GPT-2's
    char init[16];       // "gpt2": N(0,0.02), scaled residual projections; "torch": PyTorch module defaults
    char norm[16];       // "layernorm", or "none": no LayerNorm anywhere (Nanda et al.)
    char activation[16]; // MLP nonlinearity: "gelu" (tanh approximation) or "relu"
} ModelConfig;

// every model.* key: model/config.c's rows, and after model.position each registered
// position scheme's options (pos_keys, embeddings/pos_registry.c) at their offset in
// ModelConfig.pos, so adding a scheme with options changes no model file
const key_def_t *model_keys(void);
int model_n_keys(void);
#define MODEL_KEYS (model_keys())
#define MODEL_N_KEYS (model_n_keys())

void model_config_default(ModelConfig *cfg);
// checks ranges; fills mlp_hidden=4C when 0; -1 + err naming the field
int model_config_validate(ModelConfig *cfg, char *err);
// what the position schemes see of cfg (embeddings/pos.h): dimensions and scheme options
// (a pointer to cfg->pos: cfg must outlive the pos_parse that reads it)
pos_config_t model_pos_config(const ModelConfig *cfg);

#define MODEL_MAX_TENSORS 1024

typedef struct {
    char name[96];
    int ndim, shape[4];
    size_t numel, offset;    // offset in floats into the parameter arena
    int decay;               // 1: AdamW weight decay applies (matmul weights)
    float init_std;          // N(0,std) at init; 0 -> zeros; -1 -> ones (LN gains)
} ParamInfo;

typedef struct {
    float *ln1w, *ln1b;          // (C)
    float *qkvw, *qkvb;          // (3C, C), (3C)
    float *attprojw, *attprojb;  // (C, C), (C)
    float *ln2w, *ln2b;          // (C)
    float *fcw, *fcb;            // (H, C), (H)
    float *fcprojw, *fcprojb;    // (C, H), (C)
} LayerParams;

typedef struct {
    float *ln1, *ln1_mean, *ln1_rstd;   // (B,T,C), (B,T), (B,T)
    float *qkv;                         // (B,T,3C) after the position hooks
    float *att;                         // (B,NH,T,T) softmax, zero above the diagonal
    float *atty;                        // (B,T,C) heads concatenated
    float *res2;                        // (B,T,C) after attention residual
    float *ln2, *ln2_mean, *ln2_rstd;
    float *fch, *fch_gelu;              // (B,T,H)
    float *res3;                        // (B,T,C) block output
    // post-LN only: the normalized outputs are the residuals; these hold the pre-LN sums
    float *sum1, *sum2;                 // (B,T,C)
    // looped models: at the first pass of every loop but the first, the block input
    // is the previous output plus the embedded input (input injection)
    float *inj;                         // (B,T,C) or NULL
} LayerActs;

typedef struct Model {
    ModelConfig cfg;
    int n_tensors;
    ParamInfo tensors[MODEL_MAX_TENSORS];
    size_t n_params;                    // total floats in the parameter arena
    float *params, *grads, *m, *v;      // arenas; m,v are AdamW moments
    float *wte, *dwte;                  // (V,C)
    float *lnfw, *lnfb, *dlnfw, *dlnfb; // (C)
    float *lm_head, *dlm_head;          // (V,C); = wte when tied
    LayerParams *lp, *dlp;              // per layer

    int n_pos;
    pos_scheme_t pos[POS_MAX];

    // activations, for up to (B_max, T_max)
    int B_max, T_max;
    size_t n_acts;
    float *acts;
    float *encoded;                     // (B,T,C) embeddings + positions
    LayerActs *la;                      // one per pass: n_layer * n_loops; tools read them through model/inspect.h
    float *lnf, *lnf_mean, *lnf_rstd;   // (B,T,C), (B,T), (B,T)
    float *logits;                      // (B,T,V) logits, then probs after a loss forward
    float *losses;                      // (B,T) per-token loss (0 where masked)
    // backward scratch, reused by every layer
    size_t n_scratch;
    float *scratch;
    float *dres, *dbuf_c, *dbuf_c2, *dqkv, *dfch, *dpreatt, *dlnf;
    float *denc;                        // looped models: gradient at the embeddings via injections

    float *kcache, *vcache;             // (L, B_max, T_max, C) each; allocated at the first cached forward
    int *inputs, *targets;              // copies of the last forward's batch (B_max*T_max)
    int *positions;                     // and of its Batch.pos (masked-packed rows), B_max*T_max
    const model_head_t *head;           // the output head (model.head resolved; model/head.h)
    // the last forward's batch for the backward: tokens and targets point at the copies
    // above, values and target_values at the caller's arrays (NULL if none)
    Batch batch;
    int B, T;                           // shape of the last forward
    float loss;                         // mean over counted tokens; -1 if no targets
    int n_loss_tokens;
    int training;                       // pos hooks see it (abacus offsets, ...)
    int pass_lo, pass_hi;               // passes of the last forward: [0, pass_hi) run, gradient through [pass_lo, pass_hi)
    uint64_t rng;                       // model RNG: init and per-batch random draws
    int n_threads;                      // BLIS threads for the big GEMMs
    // patches the forward applies (model/patch.h); NULL (the default): none
    const struct model_intervention_t *intervene;
} Model;

// Build with random init from seed: model.init = gpt2 draws N(0,0.02) with residual
// projections scaled by 1/sqrt(2L); torch draws PyTorch's nn.Embedding / nn.Linear /
// nn.LayerNorm defaults (see model_init_rule). -1 + err on a bad config or no memory.
int model_build(Model *m, const ModelConfig *cfg, int B_max, int T_max, uint64_t seed, char *err);
void model_free(Model *m);
// what model_build(cfg, B_max, T_max) would allocate, without allocating it:
// parameters with gradients and AdamW moments, and activations with scratch
// (bytes). 0, or -1 + err on a bad config. For up-front memory checks.
int model_memory_bytes(const ModelConfig *cfg, int B_max, int T_max, double *param_bytes, double *act_bytes, char *err);
// memory this process may still take (MemAvailable, or the cgroup limit if lower); < 0 if unknown
double model_available_bytes(void);
// The forward of a batch (core/batch.h): tokens (B,T); targets (B,T) or NULL, a target < 0
// not counted in the loss; the values of [NUM] tokens and targets, or NULL; positions within
// each problem (masked-packed rows: attention stays within a problem, positions restart), or NULL. With targets,
// m->loss is the head's loss (the LM head: the mean cross-entropy, m->logits then hold
// probabilities; the FoNE head: the digit loss on [NUM] targets, model/head_fone.c).
// b's value arrays must stay valid until model_backward.
void model_forward_batch(Model *m, const Batch *b);
// model_forward_batch of a batch without values
void model_forward(Model *m, const int *tokens, const int *targets, int B, int T);
// Evaluation with a key/value cache: logits (B,T,V) of positions t0..t0+T-1 of
// tokens_full (B rows, row stride `stride`), reusing the cached keys and values
// of positions < t0 (from earlier calls, t0 = 0 first) and caching this chunk's.
// -1 if the cache cannot be allocated. For evaluation only: with m->training set, a
// scheme such as Abacus would draw a new random offset for every chunk.
int model_forward_cached(Model *m, const int *tokens_full, int stride, int B, int t0, int T);
// Greedy decoding of B prompts of one length P: seq is (B,S) with the prompts in
// columns [0,P); generated tokens go to columns P.. until every row has produced
// `stop` or max_new tokens or S is reached. n_gen[b]: tokens generated by row b up
// to and including its stop. use_cache = 0 recomputes the whole prefix each step.
// S may be T_max + 1: the last token is generated, never fed.
int model_generate_greedy(Model *m, int *seq, int S, int B, int P, int max_new, int stop,
                          int *n_gen, int use_cache, char *err);
void model_zero_grad(Model *m);
// needs a forward with targets; accumulates (+=) into the gradient arena
void model_backward(Model *m);
// how model.init draws tensor i: MODEL_INIT_NORMAL N(0, scale), MODEL_INIT_UNIFORM
// U(-scale, scale), MODEL_INIT_ONES or MODEL_INIT_ZEROS (tests check the draws against it)
enum { MODEL_INIT_ZEROS, MODEL_INIT_ONES, MODEL_INIT_NORMAL, MODEL_INIT_UNIFORM };
int model_init_rule(const Model *m, int i, float *scale);
// find a tensor by name; NULL if none
ParamInfo *model_find_tensor(Model *m, const char *name);
// forward FLOPs for one (B,T) batch, counting the GEMMs as computed (attention over full T x T)
double model_flops_forward(const ModelConfig *cfg, int B, int T);
// after a non-finite loss or gradient norm: name the first parameter, activation
// (in forward order) or gradient holding a NaN or infinity; 0 if none does
int model_find_nonfinite(const Model *m, char *where, size_t cap);
// BLIS threads for big GEMMs and OpenMP threads for the rest
void model_set_threads(Model *m, int n_threads);

// ---- used by the heads (model/head_*.c) only
// declare a parameter tensor in the arenas; its index, or -1 when MODEL_MAX_TENSORS are taken
int model__declare(Model *m, const char *name, int ndim, const int *shape, int decay, float init_std);
// the LM head's lm_head.weight (V,C) unless tied; the index or -1 (model/head_lm.c)
int model__head_lm_declare(Model *m);

#endif
