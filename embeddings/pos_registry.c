// pos_registry.c: the table of position schemes and the "a+b" spec parser.
// A new scheme adds one line to `registry` below; its options (key rows in its own
// file) get their slots of pos_opts_t here, so the model's keys reach them.
#include <pthread.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include "embeddings/pos.h"
#include "core/common.h"

extern const pos_vtable_t pos_absolute;
extern const pos_vtable_t pos_nope;
extern const pos_vtable_t pos_sinusoidal;
extern const pos_vtable_t pos_rope;
extern const pos_vtable_t pos_alibi;
extern const pos_vtable_t pos_t5;
extern const pos_vtable_t pos_shaw;
extern const pos_vtable_t pos_fire;
extern const pos_vtable_t pos_abacus;
extern const pos_vtable_t pos_fone;

static const pos_vtable_t *registry[] = {
    &pos_absolute,
    &pos_nope,
    &pos_sinusoidal,
    &pos_rope,
    &pos_alibi,
    &pos_t5,
    &pos_shaw,
    &pos_fire,
    &pos_abacus,
    &pos_fone,
};
#define N_REGISTRY (int)(sizeof(registry) / sizeof(registry[0]))

const pos_vtable_t *const *pos_schemes(int *n)
{
    *n = N_REGISTRY;
    return registry;
}

// ---------------------------------------------------------------- options
static key_def_t opt_keys[POS_MAX_OPTS];
static int n_opt_keys;

// a registry bug, not a user's input: no caller could recover, and every test finds it
static void pos_keys_bug(const char *what, const char *name)
{
    fprintf(stderr, "embeddings/pos_registry.c: %s: %s\n", name, what);
    abort();
}

// the option table: every registered scheme's rows, each given a slot of pos_opts_t
static void pos_keys_fill(void)
{
    int m = 0;
    for (int i = 0; i < N_REGISTRY; i++)
        for (int j = 0; j < registry[i]->n_keys; j++) {
            const key_def_t *k = &registry[i]->keys[j];
            if (m >= POS_MAX_OPTS) pos_keys_bug("more scheme options than POS_MAX_OPTS (embeddings/pos.h)", k->name);
            if (k->size != sizeof(int) || (k->type != KEY_INT && k->type != KEY_BOOL && k->type != KEY_ENUM))
                pos_keys_bug("a scheme option must be a KEY_INT, KEY_BOOL or KEY_ENUM of sizeof(int)", k->name);
            for (int o = 0; o < m; o++)
                if (!strcmp(opt_keys[o].name, k->name))
                    pos_keys_bug("declared by two schemes: one owns it, the others read it", k->name);
            opt_keys[m] = *k;
            opt_keys[m].offset = offsetof(pos_opts_t, v) + (size_t)m * sizeof(int);
            m++;
        }
    n_opt_keys = m;
}

const key_def_t *pos_keys(int *n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;   // built once, whichever thread asks first
    pthread_once(&once, pos_keys_fill);
    *n = n_opt_keys;
    return opt_keys;
}

void pos_opts_default(pos_opts_t *o)
{
    int n;
    const key_def_t *k = pos_keys(&n);
    memset(o, 0, sizeof(*o));
    key_set_defaults(o, k, n);
}

int *pos_opt_ptr(pos_opts_t *o, const char *name)
{
    int n;
    const key_def_t *keys = pos_keys(&n), *k = key_find(keys, n, name);
    return k ? (int *)((char *)o + k->offset) : NULL;
}

int pos_opt(const pos_opts_t *o, const char *name)
{
    int n;
    const key_def_t *keys = pos_keys(&n), *k = key_find(keys, n, name);
    if (!k) pos_keys_bug("no registered scheme declares this option", name);
    return *(const int *)((const char *)o + k->offset);
}

// ---------------------------------------------------------------- schemes
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

int pos_declare(pos_scheme_t *p, const char *name, int ndim, const int *shape, int decay, float init_std)
{
    if (p->n_params >= POS_MAX_PARAMS) return -1;
    pos_param_decl_t *d = &p->decl[p->n_params++];
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->ndim = ndim;
    for (int i = 0; i < ndim; i++) d->shape[i] = shape[i];
    d->decay = decay;
    d->init_std = init_std;
    return 0;
}

// undo the schemes set up so far (a later one failed)
static void pos_free_all(pos_scheme_t *out, int *n_out)
{
    for (int i = 0; i < *n_out; i++)
        if (out[i].vt->free) out[i].vt->free(&out[i]);
    *n_out = 0;
}

int pos_parse(const char *spec, const pos_config_t *cfg, pos_scheme_t *out, int *n_out, char *err)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", spec);
    *n_out = 0;
    for (char *save = NULL, *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
        const pos_vtable_t *vt = pos_find(tok);
        int dup = 0;
        for (int i = 0; i < *n_out; i++) dup |= out[i].vt == vt;
        if (!vt) err_set(err, "model.position: unknown scheme '%s' in '%s'; accepted: %s (combine with '+')",
                         tok, spec, pos_names());
        else if (dup) err_set(err, "model.position: scheme '%s' appears twice in '%s'; accepted: %s (each at most once, "
                              "combined with '+')", tok, spec, pos_names());
        else if (*n_out >= POS_MAX) err_set(err, "model.position: at most %d schemes in '%s'", POS_MAX, spec);
        if (!vt || dup || *n_out >= POS_MAX) { pos_free_all(out, n_out); return -1; }
        pos_scheme_t *p = &out[(*n_out)++];
        memset(p, 0, sizeof(*p));
        p->vt = vt;
        p->block_size = cfg->block_size;
        if (vt->init && vt->init(p, cfg, err)) { pos_free_all(out, n_out); return -1; }
    }
    return 0;
}

void pos_add_rows(const pos_shape_t *s, float *x, const float *table)
{
    int T = s->T, C = s->C;
    #pragma omp parallel for
    for (int bt = 0; bt < s->B * T; bt++) {
        float *row = x + (size_t)bt * C;
        const float *e = table + (size_t)pos_at(s, bt / T, bt % T) * C;
        #pragma omp simd
        for (int c = 0; c < C; c++) row[c] += e[c];
    }
}
