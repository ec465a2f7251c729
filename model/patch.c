// patch.c: interventions the forward consults (model/patch.h): reading a site's
// activations after a forward, and overwriting them during one.
#include <string.h>
#include "model/patch.h"
#include "model/inspect.h"

static const char *const SITE_NAMES[] = {"resid", "head", "mlp"};
_Static_assert(sizeof(SITE_NAMES) / sizeof(SITE_NAMES[0]) == MODEL_N_SITES, "one name per site");

const char *model_site_name(model_site_t site)
{
    return site >= 0 && site < MODEL_N_SITES ? SITE_NAMES[site] : "?";
}

int model_site_width(const Model *m, model_site_t site)
{
    return site == MODEL_SITE_HEAD ? m->cfg.n_embd / m->cfg.n_head : m->cfg.n_embd;
}

int model_intervention_check(const Model *m, const model_intervention_t *iv, char *err)
{
    int P = model_n_passes(m);
    for (int i = 0; i < iv->n; i++) {
        const model_patch_t *p = &iv->patches[i];
        if (p->site < 0 || p->site >= MODEL_N_SITES) return err_set(err, "patch %d: site %d is not a site (0..%d)", i, (int)p->site, MODEL_N_SITES - 1);
        int lo = p->site == MODEL_SITE_RESID ? -1 : 0;
        if (p->pass < lo || p->pass >= P)
            return err_set(err, "patch %d: pass %d of site %s is outside %d..%d", i, p->pass, model_site_name(p->site), lo, P - 1);
        if (p->site == MODEL_SITE_HEAD && (p->head < 0 || p->head >= m->cfg.n_head))
            return err_set(err, "patch %d: head %d is outside 0..%d", i, p->head, m->cfg.n_head - 1);
        if (p->pos < -1 || p->pos >= m->cfg.block_size)
            return err_set(err, "patch %d: position %d is outside -1..%d", i, p->pos, m->cfg.block_size - 1);
        if (p->row < -1 || p->row >= m->B_max)
            return err_set(err, "patch %d: row %d is outside -1..%d", i, p->row, m->B_max - 1);
        if (p->src && p->src_T < 1) return err_set(err, "patch %d: src_T must be >= 1 with values", i);
    }
    return 0;
}

// the site's buffer in the last forward and, for MLP, the residual it adds to
static int site_buffers(const Model *m, model_site_t site, int pass, const float **buf, const float **base)
{
    *base = NULL;
    if (site == MODEL_SITE_RESID) return (*buf = model_pass_residual(m, pass)) ? 0 : -1;
    if (pass < 0 || pass >= model_passes_run(m)) return -1;
    const LayerActs *a = &m->la[pass];
    if (site == MODEL_SITE_HEAD) { *buf = a->atty; return 0; }
    *buf = m->cfg.post_ln ? a->sum2 : a->res3;
    *base = a->res2;
    return 0;
}

int model_patch_read(const Model *m, model_site_t site, int pass, int head, float *out, char *err)
{
    const float *buf, *base;
    if (site < 0 || site >= MODEL_N_SITES || site_buffers(m, site, pass, &buf, &base))
        return err_set(err, "site %s of pass %d was not run by the last forward", model_site_name(site), pass);
    int C = m->cfg.n_embd, N = m->B * m->T;
    if (site == MODEL_SITE_HEAD && head >= m->cfg.n_head) return err_set(err, "head %d is outside 0..%d", head, m->cfg.n_head - 1);
    if (site == MODEL_SITE_HEAD && head >= 0) {
        int hs = model_site_width(m, site);
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * hs, buf + (size_t)n * C + (size_t)head * hs, sizeof(float) * hs);
        return 0;
    }
    if (!base) { memcpy(out, buf, sizeof(float) * (size_t)N * C); return 0; }
    for (size_t i = 0; i < (size_t)N * C; i++) out[i] = buf[i] - base[i];
    return 0;
}

void model__patch_apply(const Model *m, model_site_t site, int pass, float *buf, const float *base,
                        int B, int T, int t0)
{
    const model_intervention_t *iv = m->intervene;
    int C = m->cfg.n_embd;
    for (int i = 0; i < iv->n; i++) {
        const model_patch_t *p = &iv->patches[i];
        if (p->site != site || p->pass != pass) continue;
        if (p->row >= B || (p->pos >= 0 && (p->pos < t0 || p->pos >= t0 + T))) continue;
        int width = model_site_width(m, site);
        size_t col = site == MODEL_SITE_HEAD ? (size_t)p->head * width : 0;
        size_t pos_stride = p->src_pos_stride ? p->src_pos_stride : (size_t)width;
        int b_lo = p->row < 0 ? 0 : p->row, b_hi = p->row < 0 ? B : p->row + 1;
        int t_lo = p->pos < 0 ? 0 : p->pos - t0, t_hi = p->pos < 0 ? T : p->pos - t0 + 1;
        for (int b = b_lo; b < b_hi; b++)
            for (int t = t_lo; t < t_hi; t++) {
                int abs_t = t0 + t;
                if (p->src && abs_t >= p->src_T) continue;
                size_t at = ((size_t)b * T + t) * C + col;
                const float *v = p->src ? p->src + (size_t)b * p->src_row_stride + (size_t)abs_t * pos_stride : NULL;
                for (int k = 0; k < width; k++)
                    buf[at + k] = (base ? base[at + k] : 0.0f) + (v ? v[k] : 0.0f);
            }
    }
}
