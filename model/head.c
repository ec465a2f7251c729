// head.c: the output-head registry (head.h) and how model.head is resolved.
#include <string.h>
#include "model/head.h"
#include "model/model.h"

const model_head_t *const MODEL_HEADS[] = { &model_head_lm, &model_head_fone, NULL };

const model_head_t *model_head_find(const char *name)
{
    for (int i = 0; MODEL_HEADS[i]; i++)
        if (!strcmp(MODEL_HEADS[i]->name, name)) return MODEL_HEADS[i];
    return NULL;
}

const char *model_head_names(void)
{
    static char buf[256];
    if (!buf[0]) {
        snprintf(buf, sizeof(buf), "auto");
        for (int i = 0; MODEL_HEADS[i]; i++)
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ", %s", MODEL_HEADS[i]->name);
    }
    return buf;
}

int model_position_has(const char *spec, const pos_vtable_t *vt)
{
    char buf[sizeof(((ModelConfig *)0)->position)];
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save))
        if (pos_find(tok) == vt) return 1;
    return 0;
}

const pos_vtable_t *model_value_scheme(const ModelConfig *cfg)
{
    for (int i = 0; MODEL_HEADS[i]; i++)
        if (MODEL_HEADS[i]->input_scheme && model_position_has(cfg->position, MODEL_HEADS[i]->input_scheme))
            return MODEL_HEADS[i]->input_scheme;
    return NULL;
}

const model_head_t *model_head_resolve(const ModelConfig *cfg, char *err)
{
    const model_head_t *h = NULL;
    if (!strcmp(cfg->head, "auto")) {
        h = &model_head_lm;
        for (int i = 0; MODEL_HEADS[i]; i++)
            if (MODEL_HEADS[i]->input_scheme && model_position_has(cfg->position, MODEL_HEADS[i]->input_scheme)) {
                h = MODEL_HEADS[i];
                break;
            }
    } else if (!(h = model_head_find(cfg->head))) {
        err_set(err, "model.head = '%s' is not a head: accepted %s", cfg->head, model_head_names());
        return NULL;
    }
    if (h->input_scheme && !model_position_has(cfg->position, h->input_scheme)) {
        err_set(err, "model.head = %s reads back the values that the %s scheme embeds, but model.position = %s "
                "has no %s: add it (e.g. model.position = %s+rope) or set model.head = auto",
                h->name, h->input_scheme->name, cfg->position, h->input_scheme->name, h->input_scheme->name);
        return NULL;
    }
    if (h->check && h->check(cfg, err)) return NULL;
    return h;
}
