// config.c: the model.* keys (ModelConfig) declared once: type, offset, range, default.
// model_config_default, model_config_validate and the checkpoint metadata iterate MODEL_KEYS:
// these rows, with every registered position scheme's options (pos_keys) after model.position.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "model/model.h"

#define M(f) offsetof(ModelConfig, f), sizeof(((ModelConfig *)0)->f)

// the text keys with a fixed set of words (KEY_STR with choices: stored as text)
static const char *const INIT_NAMES[] = {"gpt2", "torch", NULL};
static const char *const NORM_NAMES[] = {"layernorm", "none", NULL};
static const char *const ACTIVATION_NAMES[] = {"gelu", "relu", NULL};

static const key_def_t MODEL_ROWS[] = {
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
    {"model.n_loops", KEY_INT, M(n_loops), 1, 64, "1", 0, "looped transformer: apply the n_layer blocks this many times"},
    {"model.loop_random", KEY_INT, M(loop_random), 0, 1, "0", 1,
     "looped: loss after a random number of loops, gradient through the last ones only"},
    {"model.head", KEY_STR, M(head), 0, 0, "auto", 1,
     "output head: auto (fone with the fone scheme in model.position, else lm), lm (next-token logits) or "
     "fone (the FoNE digit head)"},
    {"model.init", KEY_STR, M(init), 0, 0, "gpt2", 1,
     "gpt2 | torch: GPT-2's N(0,0.02) with scaled residual projections, or PyTorch's module defaults", INIT_NAMES},
    {"model.norm", KEY_STR, M(norm), 0, 0, "layernorm", 1,
     "layernorm | none: none drops every LayerNorm, the final one included (Nanda et al.)", NORM_NAMES},
    {"model.activation", KEY_STR, M(activation), 0, 0, "gelu", 1, "gelu | relu: the MLP nonlinearity", ACTIVATION_NAMES},
};
#define N_MODEL_ROWS (int)(sizeof(MODEL_ROWS) / sizeof(MODEL_ROWS[0]))

static key_def_t model_keys_table[N_MODEL_ROWS + POS_MAX_OPTS];
static int model_n_keys_table;

// the rows up to model.position, every registered scheme's options, then the other rows
static void model_keys_fill(void)
{
    int n_pos, n = 0;
    const key_def_t *pos = pos_keys(&n_pos);
    for (int i = 0; i < N_MODEL_ROWS; i++) {
        model_keys_table[n++] = MODEL_ROWS[i];
        if (strcmp(MODEL_ROWS[i].name, "model.position")) continue;
        for (int j = 0; j < n_pos; j++) {
            model_keys_table[n] = pos[j];
            model_keys_table[n++].offset += offsetof(ModelConfig, pos);
        }
    }
    model_n_keys_table = n;
}

// built on first use (the scheme rows come from the registry, in embeddings/), once,
// whichever thread asks first
static void model_keys_build(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, model_keys_fill);
}

const key_def_t *model_keys(void)
{
    model_keys_build();
    return model_keys_table;
}

int model_n_keys(void)
{
    model_keys_build();
    return model_n_keys_table;
}

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
