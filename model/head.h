// head.h: the output-head plug-in interface and its registry. A head turns the final
// LayerNorm's output lnf (B,T,C) into the model's outputs, owns the loss on them and its
// backward, and decodes a position. model.head picks one by name; "auto" picks the head
// whose input scheme is in model.position (FoNE's digit head with the fone embedding),
// else the LM head. Adding a head is one new file (model/head_<name>.c), one line in
// model/head.c's registry, a finite-difference fixture in tests/test_head.c and a case in
// tools/torch_reference.py (tests/test_head.c fails without them).
#ifndef ARITHLAB_HEAD_H
#define ARITHLAB_HEAD_H

#include "core/batch.h"
#include "embeddings/pos.h"

struct Model;
struct ModelConfig;

// what decode gives for a position: one token id, or the digits of a number (FoNE)
typedef enum { MODEL_HEAD_TOKENS, MODEL_HEAD_DIGITS } model_head_decode_t;

typedef struct {
    const char *name;               // registry name: "lm", "fone"
    const char *help;               // one line for --help
    // the position scheme whose per-token values this head reads back (FoNE), or NULL.
    // model.head = auto picks this head when the scheme is in model.position.
    const pos_vtable_t *input_scheme;
    model_head_decode_t decodes;
    // refuse a configuration this head cannot serve; -1 + err naming the key
    int (*check)(const struct ModelConfig *cfg, char *err);
    // declare the head's parameter tensors (their checkpoint names and init) through model__declare;
    // returns the first one's index, or -1 if none
    int (*declare)(struct Model *m);
    // lnf (B,T,C) -> the outputs the head keeps (the LM head: m->logits (B,T,V))
    void (*forward)(struct Model *m);
    // the loss of the last forward against b's targets: fills m->losses (B,T) and
    // m->n_loss_tokens; returns the mean over counted positions
    float (*loss_forward)(struct Model *m, const Batch *b);
    // dlnf (B,T,C) = d loss / d lnf, fully written; the head's parameter gradients +=
    void (*loss_backward)(struct Model *m, const Batch *b, float *dlnf);
    // the shape of one position's outputs: dims[0..n) with n returned (at most 2)
    int (*output_dims)(const struct Model *m, int *dims);
    // out (B,T,prod dims): the outputs of the last forward without targets
    void (*outputs)(const struct Model *m, float *out);
    // the decoded value at position t of each row b: out[b * n + k], n = decode_width(m)
    void (*decode)(const struct Model *m, int t, int *out);
    int (*decode_width)(const struct Model *m);
} model_head_t;

extern const model_head_t model_head_lm;     // model/head_lm.c
extern const model_head_t model_head_fone;   // model/head_fone.c

// the registry, in order; NULL-terminated
extern const model_head_t *const MODEL_HEADS[];
// look a head up by name; NULL if unknown
const model_head_t *model_head_find(const char *name);
// "auto, lm, fone": the accepted values of model.head
const char *model_head_names(void);
// the head a configuration gets (model.head, "auto" resolved against model.position);
// NULL + err naming the key on an unknown name or an inconsistent combination
const model_head_t *model_head_resolve(const struct ModelConfig *cfg, char *err);
// the scheme of model.position that embeds per-token values some head reads back (fone), or NULL
const pos_vtable_t *model_value_scheme(const struct ModelConfig *cfg);
// does the position spec name the scheme vt ("fone+rope" names pos_fone)?
int model_position_has(const char *spec, const pos_vtable_t *vt);

#endif
