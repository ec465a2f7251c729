// inspect.c: the last forward's passes as tools see them (model/inspect.h).
// Reads only the LayerActs fields the forward leaves behind, so it does not
// depend on how attention or the blocks compute them.
#include <string.h>
#include "model/inspect.h"
#include "model/ops.h"

int model_n_passes(const Model *m) { return m->cfg.n_layer * (m->cfg.n_loops > 1 ? m->cfg.n_loops : 1); }

int model_passes_run(const Model *m) { return m->pass_hi; }

// a pass the last forward ran: its activations are there to read
static int is_pass(const Model *m, int pass) { return pass >= 0 && pass < m->pass_hi; }

int model_pass_block(const Model *m, int pass)
{
    return pass >= 0 && pass < model_n_passes(m) ? pass % m->cfg.n_layer : -1;
}

// the forward injects where the pass has a buffer for it (model.c allocates one per loop start)
int model_pass_injected(const Model *m, int pass)
{
    return pass >= 0 && pass < model_n_passes(m) && m->la[pass].inj != NULL;
}

const float *model_pass_attention(const Model *m, int pass) { return is_pass(m, pass) ? m->la[pass].att : NULL; }

const float *model_pass_residual(const Model *m, int pass)
{
    if (pass == -1) return m->encoded;
    return is_pass(m, pass) ? m->la[pass].res3 : NULL;
}

const float *model_pass_mlp_hidden(const Model *m, int pass) { return is_pass(m, pass) ? m->la[pass].fch_gelu : NULL; }

const float *model_pass_injection(const Model *m, int pass)
{
    return is_pass(m, pass) && model_pass_injected(m, pass) ? m->encoded : NULL;
}

const float *model_pass_input(const Model *m, int pass)
{
    if (!is_pass(m, pass)) return NULL;
    return m->la[pass].inj ? m->la[pass].inj : model_pass_residual(m, pass - 1);
}

const float *model_pass_z(const Model *m, int pass) { return is_pass(m, pass) ? m->la[pass].atty : NULL; }

const float *model_pass_mlp_post(const Model *m, int pass) { return is_pass(m, pass) ? m->la[pass].fch_gelu : NULL; }

int model_pass_attn_out(const Model *m, int pass, float *attn, char *err)
{
    if (!is_pass(m, pass))
        return err_set(err, "pass %d: the last forward ran passes 0..%d", pass, m->pass_hi - 1);
    // recomputed from z rather than as (residual after attention) - (input), which
    // would lose the sublayer's low bits to a large residual
    const LayerParams *p = &m->lp[pass % m->cfg.n_layer];
    int C = m->cfg.n_embd;
    matmul_forward(attn, m->la[pass].atty, p->attprojw, p->attprojb, m->B * m->T, C, C);
    return 0;
}

int model_embed_parts(const Model *m, float *tok, float *pos, char *err)
{
    if (m->pass_hi <= 0) return err_set(err, "no forward has run yet");
    int C = m->cfg.n_embd;
    size_t N = (size_t)m->B * m->T;
    for (size_t n = 0; n < N; n++) {
        const float *w = m->wte + (size_t)m->inputs[n] * C, *e = m->encoded + n * C;
        for (int c = 0; c < C; c++) {
            if (tok) tok[n * C + c] = w[c];
            if (pos) pos[n * C + c] = e[c] - w[c];
        }
    }
    return 0;
}

// out (N, C) = gain * rstd * (v - mean(v)) per row: a LayerNorm at fixed per-row scales, no bias
static void scale_like_ln(float *out, const float *v, const float *gain, const float *rstd, size_t N, int C)
{
    for (size_t n = 0; n < N; n++) {
        const float *x = v + n * C;
        float *o = out + n * C, mu = 0.0f;
        for (int c = 0; c < C; c++) mu += x[c];
        mu /= C;
        for (int c = 0; c < C; c++) o[c] = (x[c] - mu) * rstd[n] * gain[c];
    }
}

int model_pass_contributions(const Model *m, int pass, float *attn, float *mlp, char *err)
{
    if (!is_pass(m, pass))
        return err_set(err, "pass %d: the last forward ran passes 0..%d", pass, m->pass_hi - 1);
    const LayerActs *a = &m->la[pass];
    const LayerParams *p = &m->lp[pass % m->cfg.n_layer];
    int C = m->cfg.n_embd;
    size_t N = (size_t)m->B * m->T, NC = N * C;
    // the block's input: the previous residual, plus the embeddings when injected
    const float *x = a->inj ? a->inj : model_pass_residual(m, pass - 1);
    if (!m->cfg.post_ln) {
        // res2 = x + attn, res3 = res2 + mlp
        if (attn) for (size_t i = 0; i < NC; i++) attn[i] = a->res2[i] - x[i];
        if (mlp) for (size_t i = 0; i < NC; i++) mlp[i] = a->res3[i] - a->res2[i];
        return 0;
    }
    // res2 = LN1(sum1), sum1 = x + attn; res3 = LN2(sum2), sum2 = res2 + mlp
    if (attn) {
        for (size_t i = 0; i < NC; i++) attn[i] = a->sum1[i] - x[i];
        scale_like_ln(attn, attn, p->ln1w, a->ln1_rstd, N, C);
        scale_like_ln(attn, attn, p->ln2w, a->ln2_rstd, N, C);
    }
    if (mlp) {
        for (size_t i = 0; i < NC; i++) mlp[i] = a->sum2[i] - a->res2[i];
        scale_like_ln(mlp, mlp, p->ln2w, a->ln2_rstd, N, C);
    }
    return 0;
}
