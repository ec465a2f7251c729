// config.c: the model.* keys (ModelConfig) declared once: type, offset, range, default.
// model_config_default, model_config_validate and the checkpoint metadata iterate MODEL_KEYS.
#include <stdlib.h>
#include <string.h>
#include "model/model.h"
#include "model/fone.h"

#define M(f) offsetof(ModelConfig, f), sizeof(((ModelConfig *)0)->f)

// the text keys with a fixed set of words (KEY_STR with choices: stored as text)
static const char *const INIT_NAMES[] = {"gpt2", "torch", NULL};
static const char *const NORM_NAMES[] = {"layernorm", "none", NULL};
static const char *const ACTIVATION_NAMES[] = {"gelu", "relu", NULL};

const key_def_t MODEL_KEYS[] = {
    {"model.vocab_size", KEY_INT, M(vocab_size), 2, 1 << 20, "32", 0, "vocabulary size"},
    {"model.block_size", KEY_INT, M(block_size), 1, 1 << 16, "64", 0, "maximum sequence length"},
    {"model.n_layer", KEY_INT, M(n_layer), 1, 256, "2", 0, "transformer blocks"},
    {"model.n_head", KEY_INT, M(n_head), 1, 256, "4", 0, "attention heads (must divide n_embd)"},
    {"model.n_embd", KEY_INT, M(n_embd), 1, 1 << 14, "128", 0, "residual stream width d"},
    // 0 is resolved to 4*n_embd before the range is checked
    {"model.mlp_hidden", KEY_INT, M(mlp_hidden), 0, 1 << 16, "0", 0, "MLP hidden width (0 = 4*n_embd)"},
    {"model.tied", KEY_INT, M(tied), 0, 1, "0", 0, "1: the LM head shares the token embedding"},
    {"model.post_ln", KEY_INT, M(post_ln), 0, 1, "0", 0, "1: post-LayerNorm blocks instead of pre-LN"},
    {"model.position", KEY_STR, M(position), 1, 0, "absolute", 0, "position scheme(s), '+'-combined"},
    {"model.rope_base", KEY_INT, M(rope_base), 1, 1 << 30, "10000", 0, "RoPE frequency base"},
    {"model.abacus_k", KEY_INT, M(abacus_k), 0, 1 << 16, "100", 0, "Abacus: training offset drawn from [0, abacus_k]"},
    {"model.abacus_max", KEY_INT, M(abacus_max), 1, 1 << 16, "256", 0, "Abacus: digit index + offset must stay below this"},
    {"model.rel_max", KEY_INT, M(rel_max), 1, 1 << 16, "32", 0, "Shaw/T5/FIRE: largest relative distance told apart"},
    {"model.t5_buckets", KEY_INT, M(t5_buckets), 1, 1 << 12, "32", 0, "T5: log-spaced relative-distance buckets"},
    {"model.n_loops", KEY_INT, M(n_loops), 1, 64, "1", 0, "looped transformer: apply the n_layer blocks this many times"},
    {"model.loop_random", KEY_INT, M(loop_random), 0, 1, "0", 1,
     "looped: loss after a random number of loops, gradient through the last ones only"},
    {"model.fone_places", KEY_INT, M(fone_places), 0, MODEL_FONE_MAX_PLACES, "0", 1,
     "FoNE: digit places of the [NUM] embedding and digit head (0 = the task's widest number)"},
    {"model.fone_linear", KEY_INT, M(fone_linear), 0, 1, "0", 1,
     "FoNE: 1 = the Fourier features enter through a learned linear map instead of channels 0..2P-1"},
    {"model.head", KEY_STR, M(head), 0, 0, "auto", 1,
     "output head: auto (fone with the fone scheme in model.position, else lm), lm (next-token logits) or "
     "fone (the FoNE digit head)"},
    {"model.init", KEY_STR, M(init), 0, 0, "gpt2", 1,
     "gpt2 | torch: GPT-2's N(0,0.02) with scaled residual projections, or PyTorch's module defaults", INIT_NAMES},
    {"model.norm", KEY_STR, M(norm), 0, 0, "layernorm", 1,
     "layernorm | none: none drops every LayerNorm, the final one included (Nanda et al.)", NORM_NAMES},
    {"model.activation", KEY_STR, M(activation), 0, 0, "gelu", 1, "gelu | relu: the MLP nonlinearity", ACTIVATION_NAMES},
};
const int MODEL_N_KEYS = (int)(sizeof(MODEL_KEYS) / sizeof(MODEL_KEYS[0]));

void model_config_default(ModelConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    key_set_defaults(cfg, MODEL_KEYS, MODEL_N_KEYS);
}

int model_config_validate(ModelConfig *cfg, char *err)
{
    if (cfg->mlp_hidden == 0) cfg->mlp_hidden = 4 * cfg->n_embd;
    // "+" or "++" names no scheme at all: refused here, before a run is trained that nothing can load
    char spec[sizeof cfg->position];
    snprintf(spec, sizeof spec, "%.*s", (int)sizeof spec - 1, cfg->position);
    char *save = NULL;
    if (!strtok_r(spec, "+", &save))
        return err_set(err, "model.position = '%s' names no position scheme: accepted one of %s, or several "
                       "joined with '+' (e.g. abacus+rope)", spec, pos_names());
    for (int i = 0; i < MODEL_N_KEYS; i++)
        if (key_check(cfg, &MODEL_KEYS[i], err)) return -1;
    if (cfg->n_embd % cfg->n_head)
        return err_set(err, "model.n_embd = %d must be divisible by model.n_head = %d", cfg->n_embd, cfg->n_head);
    if (!strcmp(cfg->norm, "none") && cfg->post_ln)
        return err_set(err, "model.norm = none leaves no LayerNorm to place after the sublayers: "
                       "model.post_ln must be 0 with it");
    return 0;
}
