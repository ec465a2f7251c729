// cache.c: the activation cache (probes/cache.h): a plan of hook points and its
// memory, then teacher-forced forwards in batches, each hook copied out of the
// model through model/inspect.h into one array per hook, written as .npy with
// an index.json beside them.
#define _GNU_SOURCE   // fnmatch
#include <cJSON.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/files.h"
#include "core/npy.h"
#include "core/vocab.h"
#include "model/inspect.h"
#include "probes/cache.h"

// ---------------------------------------------------------------- the hooks

// name template ("%d" the pass) of each kind, in the order a pass computes them
static const char *const HOOK_NAMES[PROBE_HOOK_N_KINDS] = {
    "hook_embed", "hook_pos_embed", "blocks.%d.hook_resid_pre", "blocks.%d.attn.hook_pattern",
    "blocks.%d.attn.hook_z", "blocks.%d.hook_attn_out", "blocks.%d.mlp.hook_post",
    "blocks.%d.hook_resid_post", "ln_final.hook_normalized",
};

static int n_passes_of(const ModelConfig *cfg) { return cfg->n_layer * (cfg->n_loops > 1 ? cfg->n_loops : 1); }

// shape and axis names of one hook for n problems of T positions
static void hook_shape(probe_cache_hook *h, const ModelConfig *cfg, int n, int T)
{
    int C = cfg->n_embd, NH = cfg->n_head, H = cfg->mlp_hidden ? cfg->mlp_hidden : 4 * C;
    int64_t s1 = T, s2 = C, s3 = 0;
    const char *a1 = "pos", *a2 = "d_model", *a3 = NULL;
    if (h->kind == PROBE_HOOK_PATTERN) { s1 = NH; a1 = "head_index"; s2 = T; a2 = "query_pos"; s3 = T; a3 = "key_pos"; }
    else if (h->kind == PROBE_HOOK_Z) { s2 = NH; a2 = "head_index"; s3 = C / NH; a3 = "d_head"; }
    else if (h->kind == PROBE_HOOK_MLP_POST) { s2 = H; a2 = "d_mlp"; }
    h->ndim = a3 ? 4 : 3;
    h->shape[0] = n; h->shape[1] = s1; h->shape[2] = s2; h->shape[3] = a3 ? s3 : 0;
    h->axes[0] = "batch"; h->axes[1] = a1; h->axes[2] = a2; h->axes[3] = a3;
    h->row_floats = (size_t)s1 * s2 * (a3 ? s3 : 1);
}

// does name match one of the comma-separated patterns? marks the patterns that matched
static int selected(const char *select, const char *name, unsigned char *hit)
{
    if (!select || !*select) return 1;
    int any = 0, i = 0;
    for (const char *p = select; *p; i++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char pat[128];
        snprintf(pat, sizeof pat, "%.*s", (int)(len < sizeof pat ? len : sizeof pat - 1), p);
        if (*pat && fnmatch(pat, name, 0) == 0) { any = 1; if (i < 256) hit[i] = 1; }
        p = e ? e + 1 : p + len;
    }
    return any;
}

int probe_cache_positions(const TaskExample *ex, int n)
{
    int T = 0;
    for (int i = 0; i < n; i++) if (ex[i].n_tokens - 1 > T) T = ex[i].n_tokens - 1;
    return T;
}

int probe_cache_plan_make(const ModelConfig *cfg, int n, int T, int B, const char *select, probe_cache_plan *plan, char *err)
{
    memset(plan, 0, sizeof *plan);
    plan->n = n; plan->T = T; plan->B = B;
    int P = n_passes_of(cfg);
    if (2 + 6 * P + 1 > PROBE_CACHE_MAX_HOOKS)
        return err_set(err, "the model has %d passes: more hook points than the cache holds (%d)", P, PROBE_CACHE_MAX_HOOKS);
    unsigned char hit[256] = {0};
    int n_pat = 1;
    for (const char *s = select ? select : ""; *s; s++) n_pat += *s == ',';
    if (select && *select && n_pat > 256) return err_set(err, "--hooks: more than 256 patterns");
    // in the order the model computes them: the embeddings, pass by pass, the final norm
    for (int slot = 0; slot < 2 + 6 * P + 1; slot++) {
        int k = slot < 2 ? slot : slot == 2 + 6 * P ? PROBE_HOOK_LN_FINAL : PROBE_HOOK_RESID_PRE + (slot - 2) % 6;
        int p = slot < 2 || k == PROBE_HOOK_LN_FINAL ? -1 : (slot - 2) / 6;
        probe_cache_hook h = { .kind = (probe_hook_kind)k, .pass = p };
        snprintf(h.name, sizeof h.name, HOOK_NAMES[k], p);
        if (!selected(select, h.name, hit)) continue;
        hook_shape(&h, cfg, n, T);
        plan->hooks[plan->n_hooks++] = h;
        plan->hook_bytes += 4.0 * n * (double)h.row_floats;
    }
    if (select && *select) {
        const char *p = select;
        for (int i = 0; *p || i == 0; i++) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (!hit[i])
                return err_set(err, "--hooks: '%.*s' matches no hook point of this model; accepted: names or patterns "
                               "(fnmatch) among hook_embed, hook_pos_embed, blocks.{0..%d}.hook_resid_pre, "
                               "blocks.{p}.attn.hook_pattern, blocks.{p}.attn.hook_z, blocks.{p}.hook_attn_out, "
                               "blocks.{p}.mlp.hook_post, blocks.{p}.hook_resid_post, ln_final.hook_normalized, "
                               "comma-separated (e.g. 'blocks.*.attn.hook_pattern,ln_final.*')", (int)(len > 100 ? 100 : len), p, P - 1);
            if (!e) break;
            p = e + 1;
        }
    }
    double pb = 0, ab = 0;
    ModelConfig c = *cfg;
    if (model_memory_bytes(&c, B, T, &pb, &ab, err)) return -1;
    plan->model_bytes = pb + ab;
    return 0;
}

// ---------------------------------------------------------------- running and copying

// pointer to the hook's (nb, ...) rows of the last forward, computed into tmp where the model has no array for it
static const float *hook_source(const Model *m, const probe_cache_hook *h, float *tmp, float *mean, float *rstd, char *err)
{
    int P = model_n_passes(m);
    switch (h->kind) {
    case PROBE_HOOK_EMBED: return model_embed_parts(m, tmp, NULL, err) ? NULL : tmp;
    case PROBE_HOOK_POS_EMBED: return model_embed_parts(m, NULL, tmp, err) ? NULL : tmp;
    case PROBE_HOOK_RESID_PRE: return model_pass_input(m, h->pass);
    case PROBE_HOOK_PATTERN: return model_pass_attention(m, h->pass);
    case PROBE_HOOK_Z: return model_pass_z(m, h->pass);
    case PROBE_HOOK_ATTN_OUT: return model_pass_attn_out(m, h->pass, tmp, err) ? NULL : tmp;
    case PROBE_HOOK_MLP_POST: return model_pass_mlp_post(m, h->pass);
    case PROBE_HOOK_RESID_POST: return model_pass_residual(m, h->pass);
    case PROBE_HOOK_LN_FINAL:
        model_final_norm(m, tmp, mean, rstd, model_pass_residual(m, P - 1), m->B * m->T);
        return tmp;
    default: break;
    }
    err_set(err, "hook %s: unknown kind", h->name);
    return NULL;
}

// the name a token is written as in the index: its character, or the special token's name
static const char *tok_string(int id, char buf[2])
{
    int c = task_tok_char(id);
    if (c < 0) return task_tok_name(id);
    buf[0] = (char)c; buf[1] = 0;
    return buf;
}

static cJSON *int_array64(const int64_t *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

static cJSON *str_array(const char *const *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

// index.json: what every file holds; NULL on no memory
static char *index_json(const Model *m, const probe_cache_plan *plan, const TaskExample *ex, const int32_t *tokens,
                        const char *checkpoint)
{
    int n = plan->n, T = plan->T, L = m->cfg.n_layer;
    cJSON *root = cJSON_CreateObject(), *model = cJSON_CreateObject(), *hooks = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "arithlab activation cache");
    cJSON_AddNumberToObject(root, "version", 1);
    if (checkpoint) cJSON_AddStringToObject(root, "checkpoint", checkpoint);
    cJSON_AddNumberToObject(root, "n_problems", n);
    cJSON_AddNumberToObject(root, "n_pos", T);
    cJSON_AddItemToObject(root, "model", model);
    cJSON_AddNumberToObject(model, "n_layer", L);
    cJSON_AddNumberToObject(model, "n_loops", m->cfg.n_loops > 1 ? m->cfg.n_loops : 1);
    cJSON_AddNumberToObject(model, "n_passes", model_n_passes(m));
    cJSON_AddNumberToObject(model, "n_heads", m->cfg.n_head);
    cJSON_AddNumberToObject(model, "d_model", m->cfg.n_embd);
    cJSON_AddNumberToObject(model, "d_head", m->cfg.n_embd / m->cfg.n_head);
    cJSON_AddNumberToObject(model, "d_mlp", m->cfg.mlp_hidden);
    cJSON_AddNumberToObject(model, "d_vocab", m->cfg.vocab_size);
    cJSON_AddStringToObject(model, "position", m->cfg.position);
    cJSON_AddBoolToObject(model, "post_ln", m->cfg.post_ln);
    cJSON_AddStringToObject(model, "blocks", "blocks.{p} is pass p: block p % n_layer in loop p / n_layer (model/inspect.h)");
    cJSON_AddItemToObject(root, "hooks", hooks);
    for (int i = 0; i < plan->n_hooks; i++) {
        const probe_cache_hook *h = &plan->hooks[i];
        cJSON *e = cJSON_CreateObject();
        char file[80];
        snprintf(file, sizeof file, "%s.npy", h->name);
        cJSON_AddItemToObject(hooks, h->name, e);
        cJSON_AddStringToObject(e, "file", file);
        cJSON_AddItemToObject(e, "shape", int_array64(h->shape, h->ndim));
        cJSON_AddStringToObject(e, "dtype", "float32");
        cJSON_AddItemToObject(e, "axes", str_array(h->axes, h->ndim));
        if (h->pass >= 0) {
            cJSON_AddNumberToObject(e, "pass", h->pass);
            cJSON_AddNumberToObject(e, "block", model_pass_block(m, h->pass));
            cJSON_AddNumberToObject(e, "loop", h->pass / L);
            cJSON_AddBoolToObject(e, "injected", model_pass_injected(m, h->pass));
        }
    }
    cJSON *tok = cJSON_CreateObject();
    int64_t tshape[2] = {n, T};
    const char *taxes[2] = {"batch", "pos"};
    cJSON_AddItemToObject(root, "tokens", tok);
    cJSON_AddStringToObject(tok, "file", "tokens.npy");
    cJSON_AddItemToObject(tok, "shape", int_array64(tshape, 2));
    cJSON_AddStringToObject(tok, "dtype", "int32");
    cJSON_AddItemToObject(tok, "axes", str_array(taxes, 2));
    cJSON *problems = cJSON_CreateArray(), *answers = cJSON_CreateArray(), *lens = cJSON_CreateArray();
    cJSON *starts = cJSON_CreateArray(), *strings = cJSON_CreateArray(), *vocab = cJSON_CreateArray();
    cJSON_AddItemToObject(root, "problems", problems);
    cJSON_AddItemToObject(root, "answers", answers);
    cJSON_AddItemToObject(root, "n_tokens", lens);
    cJSON_AddItemToObject(root, "answer_start", starts);
    cJSON_AddItemToObject(root, "token_strings", strings);
    cJSON_AddItemToObject(root, "vocab", vocab);
    char buf[2];
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(problems, cJSON_CreateString(ex[i].problem));
        cJSON_AddItemToArray(answers, cJSON_CreateString(ex[i].answer));
        cJSON_AddItemToArray(lens, cJSON_CreateNumber(ex[i].n_tokens - 1));
        cJSON_AddItemToArray(starts, cJSON_CreateNumber(ex[i].answer_start));
        cJSON *row = cJSON_CreateArray();
        for (int t = 0; t < T; t++) cJSON_AddItemToArray(row, cJSON_CreateString(tok_string(tokens[(size_t)i * T + t], buf)));
        cJSON_AddItemToArray(strings, row);
    }
    for (int v = 0; v < m->cfg.vocab_size; v++)
        cJSON_AddItemToArray(vocab, cJSON_CreateString(v < TASK_VOCAB_SIZE ? tok_string(v, buf) : ""));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

int probe_cache_write(Model *m, const probe_cache_plan *plan, const TaskExample *ex, int n, const char *dir,
                      const char *checkpoint, char *err)
{
    int T = plan->T, B = plan->B, C = m->cfg.n_embd, r = 0;
    if (n != plan->n || B > m->B_max || T > m->T_max || B < 1)
        return err_set(err, "cache plan (%d problems, B=%d, T=%d) does not fit the model (B_max=%d, T_max=%d) or %d problems",
                       plan->n, B, T, m->B_max, m->T_max, n);
    int need_values = 0;
    for (int i = 0; i < n; i++) need_values |= ex[i].n_values > 0;
    float **arr = calloc((size_t)plan->n_hooks + 1, sizeof(float *));
    size_t BT = (size_t)B * T;
    int H = m->cfg.mlp_hidden;
    float *tmp = malloc(sizeof(float) * BT * (C > H ? C : H)), *mean = malloc(sizeof(float) * BT), *rstd = malloc(sizeof(float) * BT);
    int *inputs = malloc(sizeof(int) * BT), *targets = malloc(sizeof(int) * BT);
    int32_t *tokens = malloc(sizeof(int32_t) * (size_t)n * T);
    double *values = need_values ? malloc(sizeof(double) * BT) : NULL, *tvalues = need_values ? malloc(sizeof(double) * BT) : NULL;
    int ok = arr && tmp && mean && rstd && inputs && targets && tokens && (!need_values || (values && tvalues));
    for (int i = 0; ok && i < plan->n_hooks; i++) ok = (arr[i] = malloc(sizeof(float) * (size_t)n * plan->hooks[i].row_floats)) != NULL;
    if (!ok) { r = err_set(err, "out of memory for the cache (%.0f MiB of hooks)", plan->hook_bytes / 1048576.0); goto done; }

    for (int first = 0; first < n && !r; first += B) {
        int nb = n - first < B ? n - first : B;
        if (task_batch_from_examples(ex + first, nb, T, inputs, targets, err)) { r = -1; break; }
        if (need_values) task_batch_values(ex + first, nb, T, values, tvalues);
        model_forward_batch(m, &(Batch){inputs, NULL, values, NULL, nb, T});
        if (model_passes_run(m) != model_n_passes(m)) {
            r = err_set(err, "the forward ran %d of the model's %d passes: the cache needs the model in evaluation mode",
                        model_passes_run(m), model_n_passes(m));
            break;
        }
        for (size_t i = 0; i < (size_t)nb * T; i++) tokens[(size_t)first * T + i] = inputs[i];
        for (int i = 0; i < plan->n_hooks && !r; i++) {
            const probe_cache_hook *h = &plan->hooks[i];
            const float *src = hook_source(m, h, tmp, mean, rstd, err);
            if (!src) { r = -1; break; }
            memcpy(arr[i] + (size_t)first * h->row_floats, src, sizeof(float) * (size_t)nb * h->row_floats);
        }
    }
    char path[4096];
    for (int i = 0; i < plan->n_hooks && !r; i++) {
        snprintf(path, sizeof path, "%s/%s.npy", dir, plan->hooks[i].name);
        r = npy_write_f32(path, arr[i], plan->hooks[i].ndim, plan->hooks[i].shape, err);
    }
    int64_t tshape[2] = {n, T};
    snprintf(path, sizeof path, "%s/tokens.npy", dir);
    if (!r) r = npy_write_i32(path, tokens, 2, tshape, err);
    if (!r) {
        char *text = index_json(m, plan, ex, tokens, checkpoint);
        snprintf(path, sizeof path, "%s/index.json", dir);
        r = text ? files_write_atomic(path, text, strlen(text), err) : err_set(err, "out of memory for index.json");
        free(text);
    }
done:
    for (int i = 0; arr && i < plan->n_hooks; i++) free(arr[i]);
    free(arr); free(tmp); free(mean); free(rstd); free(inputs); free(targets); free(tokens); free(values); free(tvalues);
    return r;
}
