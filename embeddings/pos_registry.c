// pos_registry.c: the table of position schemes and the "a+b" spec parser.
// A new scheme adds one line to `registry` below.
#include <string.h>
#include <stdio.h>
#include "pos.h"
#include "../model/common.h"
#include "../model/model.h"

extern const pos_vtable_t pos_absolute;

static const pos_vtable_t *registry[] = {
    &pos_absolute,
};
#define N_REGISTRY (int)(sizeof(registry) / sizeof(registry[0]))

const pos_vtable_t *pos_find(const char *name)
{
    for (int i = 0; i < N_REGISTRY; i++)
        if (!strcmp(registry[i]->name, name)) return registry[i];
    return NULL;
}

const char *pos_names(void)
{
    static char buf[512];
    buf[0] = 0;
    for (int i = 0; i < N_REGISTRY; i++) {
        if (i) strncat(buf, ", ", sizeof(buf) - strlen(buf) - 1);
        strncat(buf, registry[i]->name, sizeof(buf) - strlen(buf) - 1);
    }
    return buf;
}

void pos_declare(pos_scheme_t *p, const char *name, int ndim, const int *shape, int decay, float init_std)
{
    if (p->n_params >= POS_MAX_PARAMS) return;
    pos_param_decl_t *d = &p->decl[p->n_params++];
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->ndim = ndim;
    for (int i = 0; i < ndim; i++) d->shape[i] = shape[i];
    d->decay = decay;
    d->init_std = init_std;
}

int pos_parse(const char *spec, const struct ModelConfig *cfg, pos_scheme_t *out, int *n_out, char *err)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", spec);
    *n_out = 0;
    for (char *save = NULL, *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
        const pos_vtable_t *vt = pos_find(tok);
        if (!vt) return err_set(err, "model.position: unknown scheme '%s' in '%s'; accepted: %s (combine with '+')",
                                tok, spec, pos_names());
        for (int i = 0; i < *n_out; i++)
            if (out[i].vt == vt) return err_set(err, "model.position: scheme '%s' appears twice in '%s'", tok, spec);
        if (*n_out >= POS_MAX) return err_set(err, "model.position: at most %d schemes in '%s'", POS_MAX, spec);
        pos_scheme_t *p = &out[(*n_out)++];
        memset(p, 0, sizeof(*p));
        p->vt = vt;
        p->block_size = cfg->block_size;
        if (vt->init && vt->init(p, cfg, err)) return -1;
    }
    return 0;
}
