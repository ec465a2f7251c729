// pos.h: the position-scheme plug-in interface and its registry.
// A scheme may (a) add to the input embeddings, (b) rotate queries and keys,
// (c) add a bias to the attention logits; each hook has its backward. A model
// holds up to POS_MAX schemes ("abacus+rope") and calls every non-NULL hook in
// order. Adding a scheme is one new file here and one line in pos_registry.c;
// a scheme with options declares them (key_def_t rows, core/keys.h) in that file.
#ifndef ARITHLAB_POS_H
#define ARITHLAB_POS_H

#include <stddef.h>
#include <stdint.h>
#include "core/keys.h"

#define POS_MAX 4            // schemes in one combination
#define POS_MAX_PARAMS 8     // parameter tensors one scheme may own
#define POS_MAX_OPTS 32      // options of all registered schemes together

// the values of every registered scheme's options, one int each (KEY_INT, KEY_BOOL or
// KEY_ENUM rows), in registry order. The model embeds it in its configuration
// (ModelConfig.pos) and the config keys point into it (pos_keys), so a value is stored
// once and both the model and the schemes read it; slots past pos_keys' count stay 0.
typedef struct { int v[POS_MAX_OPTS]; } pos_opts_t;

typedef struct pos_scheme pos_scheme_t;

// what a scheme's init sees of the model configuration: the dimensions and the
// scheme options. The model fills it (model_pos_config in model/model.h), so
// embeddings/ depends on core/ only.
typedef struct {
    int block_size, n_layer, n_head, n_embd;   // T max, L, NH, C
    const pos_opts_t *opts;                    // read with pos_opt(cfg->opts, "model.rope_base")
} pos_config_t;

// what a hook sees of the model; filled by the model before each call.
// A forward may process a chunk of T positions starting at absolute position
// t0 (key/value-cached decoding): row t of the chunk is position t0 + t, and
// attention logits are (T, T_kv) with T_kv = t0 + T keys. In training t0 = 0.
typedef struct {
    int B, T, C, NH, HS;     // batch, chunk length, channels, heads, head size
    int t0, T_kv;            // absolute position of the chunk's first row; keys visible
    const int *tokens_full;  // (B, tokens_stride): every token of each row, positions 0..t0+T-1
    int tokens_stride;
    int training;            // 1 in a training forward, 0 at evaluation
    uint64_t *rng;           // the model's RNG (for per-batch random draws)
    const double *values;    // (B, tokens_stride): the value of each [NUM] token of tokens_full (FoNE); NULL if none
    // (B,T) masked-packed rows in training (core/batch.h Batch.pos): the position of row t
    // within its problem, which the scheme uses instead of t0 + t; the attention masks keys
    // before t - pos[t]. NULL: row t is at position t0 + t. Relative schemes need nothing:
    // within one problem key distances are t - j either way. Read it with pos_at.
    const int *pos;
} pos_shape_t;

// the position of row t of batch row b: pos[b,t] in a packed row, else t0 + t
static inline int pos_at(const pos_shape_t *s, int b, int t)
{
    return s->pos ? s->pos[(size_t)b * s->T + t] : s->t0 + t;
}

// a parameter tensor declared by a scheme (owned by the model's arenas)
typedef struct {
    char name[96];           // safetensors name, e.g. "transformer.wpe.weight"
    int ndim, shape[4];
    int decay;               // 1: AdamW weight decay applies
    float init_std;          // N(0, init_std) at build; 0 means zeros
} pos_param_decl_t;

typedef struct {
    const char *name;        // registry name: "absolute", "rope", ...
    const char *help;        // one line for --help
    // the scheme's options, full key names ("model.rope_base"), int-sized types; the
    // offset field is unused (pos_keys assigns each row its slot of pos_opts_t)
    const key_def_t *keys;
    int n_keys;
    // declare parameters (may be none) and allocate private state; -1 + err on bad config
    int (*init)(pos_scheme_t *p, const pos_config_t *cfg, char *err);
    void (*free)(pos_scheme_t *p);

    // (a) x (B,T,C) += position embedding; tokens (B,T) of the chunk
    void (*embed_forward)(pos_scheme_t *p, const pos_shape_t *s, float *x, const int *tokens);
    // dx (B,T,C) is the gradient at the embedding sum; accumulate into p->dw
    void (*embed_backward)(pos_scheme_t *p, const pos_shape_t *s, const float *dx, const int *tokens);

    // (b) qkv (B,T,3C) after the QKV projection: rotate q and k in place (positions t0+t)
    void (*qk_forward)(pos_scheme_t *p, const pos_shape_t *s, int layer, float *qkv);
    // dqkv (B,T,3C) w.r.t. the rotated q,k: replace by the gradient w.r.t. the unrotated ones
    void (*qk_backward)(pos_scheme_t *p, const pos_shape_t *s, int layer, float *dqkv);

    // (c) preatt (T, T_kv) of batch b, head h, row-major: the engine has already
    // multiplied q.k by 1/sqrt(HS); the hook adds its bias (query t0+i, key j).
    // q points at (b, t=0, head h) of qkv with row stride 3C. Called inside an
    // OpenMP loop over (b,h): must only read parameters. Entries j > t0+i are
    // masked afterwards whatever the hook writes there.
    void (*bias_forward)(pos_scheme_t *p, const pos_shape_t *s, int layer, int b, int h,
                         const float *q, float *preatt);
    // dpreatt (B,NH,T,T): gradient w.r.t. the biased logits (training: t0 = 0); once per layer,
    // serially (the hook may use its own OpenMP). May add to dqkv's q part.
    void (*bias_backward)(pos_scheme_t *p, const pos_shape_t *s, int layer,
                          const float *qkv, const float *dpreatt, float *dqkv);
} pos_vtable_t;

struct pos_scheme {
    const pos_vtable_t *vt;
    int n_params;
    pos_param_decl_t decl[POS_MAX_PARAMS];
    float *w[POS_MAX_PARAMS];   // set by the model after its arenas exist
    float *dw[POS_MAX_PARAMS];
    int block_size;             // max sequence length
    void *state;                // scheme-private (tables, options)
};

// the FoNE [NUM] embedding (fone.c), whose values the fone output head (model/head_fone.c) reads back
extern const pos_vtable_t pos_fone;

// the registered schemes, in registry order: n of them
const pos_vtable_t *const *pos_schemes(int *n);
// look a scheme up by name; NULL if unknown
const pos_vtable_t *pos_find(const char *name);
// comma-separated list of registered names, for error messages and --help
const char *pos_names(void);
// parse "abacus+rope" into up to POS_MAX schemes, call their init; -1 + err on failure
int pos_parse(const char *spec, const pos_config_t *cfg, pos_scheme_t *out, int *n_out, char *err);
// every registered scheme's option rows, in registry order, offsets into pos_opts_t.
// Aborts on a registry bug (two schemes declaring one name, a row not int-sized, more
// than POS_MAX_OPTS), which any test that reads a key finds
const key_def_t *pos_keys(int *n);
// every option at its default
void pos_opts_default(pos_opts_t *o);
// the slot of option name ("model.rel_max") in o; NULL if no registered scheme declares it
int *pos_opt_ptr(pos_opts_t *o, const char *name);
// the value of option name; aborts if no registered scheme declares it (a scheme's own typo)
int pos_opt(const pos_opts_t *o, const char *name);
// helper for init hooks: declare a parameter tensor; -1 when the scheme already has
// POS_MAX_PARAMS (give a tensor a leading layer dimension instead of one per layer)
int pos_declare(pos_scheme_t *p, const char *name, int ndim, const int *shape, int decay, float init_std);
// helper for embed hooks: x (B,T,C) += table row pos_at(s, b, t) (t0 + t unpacked) at every
// row (a (block_size, C) table of absolute positions, learned or fixed)
void pos_add_rows(const pos_shape_t *s, float *x, const float *table);

#endif
