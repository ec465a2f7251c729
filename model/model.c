// model.c: build, forward and backward of the decoder. Ops are in ops.c;
// attention is in attention.c.
// Layout and names follow nanoGPT, so checkpoints load into PyTorch as they are.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "model/model.h"
#include "model/inspect.h"
#include "model/attention.h"
#include "model/ops.h"
#include "model/patch.h"

// ---------------------------------------------------------------- config
// defaults and validation iterate MODEL_KEYS (model/config.c)

// ---------------------------------------------------------------- parameters
#define ALIGN_FLOATS 16   // 64-byte alignment of every tensor in the arenas

int model__declare(Model *m, const char *name, int ndim, const int *shape, int decay, float init_std)
{
    if (m->n_tensors >= MODEL_MAX_TENSORS) return -1;
    ParamInfo *p = &m->tensors[m->n_tensors];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) { p->shape[i] = shape[i]; p->numel *= (size_t)shape[i]; }
    p->offset = m->n_params;
    p->decay = decay;
    p->init_std = init_std;
    m->n_params += (p->numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    return m->n_tensors++;
}

static int declare1(Model *m, const char *name, int d0, int decay, float std)
{ int s[1] = {d0}; return model__declare(m, name, 1, s, decay, std); }
static int declare2(Model *m, const char *name, int d0, int d1, int decay, float std)
{ int s[2] = {d0, d1}; return model__declare(m, name, 2, s, decay, std); }

ParamInfo *model_find_tensor(Model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

// the per-layer tensors, in nanoGPT's order; index k of layer l is at first + 12*l + k
enum { P_LN1W, P_LN1B, P_QKVW, P_QKVB, P_PROJW, P_PROJB, P_LN2W, P_LN2B,
       P_FCW, P_FCB, P_FCPROJW, P_FCPROJB, P_PER_LAYER };

static void declare_all(Model *m, int *first_layer, int *lnf, int *head)
{
    const ModelConfig *c = &m->cfg;
    int C = c->n_embd, H = c->mlp_hidden;
    float std = 0.02f, proj_std = 0.02f / sqrtf(2.0f * c->n_layer);
    declare2(m, "transformer.wte.weight", c->vocab_size, C, 0, std);
    for (int s = 0; s < m->n_pos; s++) {
        pos_scheme_t *p = &m->pos[s];
        for (int i = 0; i < p->n_params; i++) {
            pos_param_decl_t *d = &p->decl[i];
            model__declare(m, d->name, d->ndim, d->shape, d->decay, d->init_std);
        }
    }
    *first_layer = m->n_tensors;
    char nm[96];
    for (int l = 0; l < c->n_layer; l++) {
#define NAME(s) (snprintf(nm, sizeof(nm), "transformer.h.%d.%s", l, s), nm)
        declare1(m, NAME("ln_1.weight"), C, 0, -1.0f);
        declare1(m, NAME("ln_1.bias"), C, 0, 0.0f);
        declare2(m, NAME("attn.c_attn.weight"), 3 * C, C, 1, std);
        declare1(m, NAME("attn.c_attn.bias"), 3 * C, 0, 0.0f);
        declare2(m, NAME("attn.c_proj.weight"), C, C, 1, proj_std);
        declare1(m, NAME("attn.c_proj.bias"), C, 0, 0.0f);
        declare1(m, NAME("ln_2.weight"), C, 0, -1.0f);
        declare1(m, NAME("ln_2.bias"), C, 0, 0.0f);
        declare2(m, NAME("mlp.c_fc.weight"), H, C, 1, std);
        declare1(m, NAME("mlp.c_fc.bias"), H, 0, 0.0f);
        declare2(m, NAME("mlp.c_proj.weight"), C, H, 1, proj_std);
        declare1(m, NAME("mlp.c_proj.bias"), C, 0, 0.0f);
#undef NAME
    }
    *lnf = declare1(m, "transformer.ln_f.weight", C, 0, -1.0f);
    declare1(m, "transformer.ln_f.bias", C, 0, 0.0f);
    *head = m->head->declare(m);   // the head's tensors come last
}

// point the named slices at a base arena (params or grads)
static void resolve(Model *m, float *base, int first_layer, int lnf, int head,
                    float **wte, float **lnfw, float **lnfb, float **lm_head, LayerParams *lp)
{
    *wte = base + m->tensors[0].offset;
    for (int l = 0; l < m->cfg.n_layer; l++) {
        float *t[P_PER_LAYER];
        for (int k = 0; k < P_PER_LAYER; k++)
            t[k] = base + m->tensors[first_layer + l * P_PER_LAYER + k].offset;
        lp[l] = (LayerParams){t[P_LN1W], t[P_LN1B], t[P_QKVW], t[P_QKVB], t[P_PROJW], t[P_PROJB],
                              t[P_LN2W], t[P_LN2B], t[P_FCW], t[P_FCB], t[P_FCPROJW], t[P_FCPROJB]};
    }
    *lnfw = base + m->tensors[lnf].offset;
    *lnfb = base + m->tensors[lnf + 1].offset;
    *lm_head = head < 0 ? *wte : base + m->tensors[head].offset;
}

float rng_normal(uint64_t *s)
{
    float u1 = rng_f32(s), u2 = rng_f32(s);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

// ---------------------------------------------------------------- initialization
static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

// model.init = torch: what PyTorch's modules draw for a nanoGPT-style model. nn.Embedding
// (token, learned position, Abacus, Shaw and T5 tables) N(0,1); nn.Linear weight and bias
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)), no scaled residual
// projections; nn.LayerNorm 1 and 0. FIRE's MLP is nn.Linear(1, Hd), nn.Linear(Hd, NH).
// -1 for a tensor PyTorch has no module default for: it keeps its declared draw.
static int torch_rule(const Model *m, int i, float *scale)
{
    const ParamInfo *p = &m->tensors[i];
    const char *n = p->name;
    if (p->init_std < 0) return MODEL_INIT_ONES;   // LayerNorm gains
    if (!strcmp(n, "transformer.wte.weight") || !strcmp(n, "transformer.wpe.weight") ||
        !strcmp(n, "transformer.abacus.weight") || !strcmp(n, "transformer.pos.shaw.rel_k") ||
        !strcmp(n, "transformer.pos.t5.bias")) { *scale = 1.0f; return MODEL_INIT_NORMAL; }
    int linear_w = ends_with(n, "c_attn.weight") || ends_with(n, "c_proj.weight") || ends_with(n, "c_fc.weight") ||
                   !strcmp(n, "lm_head.weight") || !strcmp(n, "transformer.fone.weight");
    if (linear_w) { *scale = 1.0f / sqrtf((float)p->shape[1]); return MODEL_INIT_UNIFORM; }
    // a Linear's bias is declared right after its weight and shares its fan_in
    if ((ends_with(n, "c_attn.bias") || ends_with(n, "c_proj.bias") || ends_with(n, "c_fc.bias")) && i > 0) {
        *scale = 1.0f / sqrtf((float)m->tensors[i - 1].shape[1]);
        return MODEL_INIT_UNIFORM;
    }
    if (ends_with(n, "ln_1.bias") || ends_with(n, "ln_2.bias") || !strcmp(n, "transformer.ln_f.bias"))
        return MODEL_INIT_ZEROS;
    if (!strcmp(n, "transformer.pos.fire.w1") || !strcmp(n, "transformer.pos.fire.b1")) { *scale = 1.0f; return MODEL_INIT_UNIFORM; }
    if (!strcmp(n, "transformer.pos.fire.w2")) { *scale = 1.0f / sqrtf((float)p->shape[2]); return MODEL_INIT_UNIFORM; }
    return -1;
}

int model_init_rule(const Model *m, int i, float *scale)
{
    const ParamInfo *p = &m->tensors[i];
    *scale = 0.0f;
    if (!strcmp(m->cfg.init, "torch")) {
        int r = torch_rule(m, i, scale);
        if (r >= 0) return r;
    }
    if (p->init_std > 0) { *scale = p->init_std; return MODEL_INIT_NORMAL; }
    return p->init_std < 0 ? MODEL_INIT_ONES : MODEL_INIT_ZEROS;
}

// ---------------------------------------------------------------- norm and activation choices
// model.norm = none: each LayerNorm is the identity (its output a copy of its input; its
// tensors stay in the arena, untouched, so the layout and tensor names do not change)
static int has_norm(const Model *m) { return strcmp(m->cfg.norm, "none") != 0; }
int model_has_norm(const Model *m) { return has_norm(m); }

// out, inp are (N,C); mean, rstd (N)
static void norm_forward(const Model *m, float *out, float *mean, float *rstd, const float *inp,
                         const float *weight, const float *bias, int N, int C)
{
    if (has_norm(m)) layernorm_forward(out, mean, rstd, inp, weight, bias, N, C);
    else memcpy(out, inp, sizeof(float) * (size_t)N * C);
}

// dinp (N,C) = dout, or += dout when accumulating; dweight, dbias untouched without a norm
static void norm_backward(const Model *m, float *dinp, float *dweight, float *dbias, const float *dout,
                          const float *inp, const float *weight, const float *mean, const float *rstd,
                          int N, int C, int accumulate)
{
    if (has_norm(m)) layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, accumulate);
    else if (accumulate) residual_forward(dinp, dinp, dout, (size_t)N * C);
    else memcpy(dinp, dout, sizeof(float) * (size_t)N * C);
}

void model_final_norm(const Model *m, float *out, float *mean, float *rstd, const float *inp, int N)
{
    norm_forward(m, out, mean, rstd, inp, m->lnfw, m->lnfb, N, m->cfg.n_embd);
}

static int is_relu(const Model *m) { return !strcmp(m->cfg.activation, "relu"); }

// out, inp are (N)
static void act_forward(const Model *m, float *out, const float *inp, size_t N)
{
    if (is_relu(m)) relu_forward(out, inp, N); else gelu_forward(out, inp, N);
}

// dinp (N) is written; it may be dout
static void act_backward(const Model *m, float *dinp, const float *inp, const float *dout, size_t N)
{
    if (is_relu(m)) relu_backward(dinp, inp, dout, N); else gelu_backward(dinp, inp, dout, N);
}

// ---------------------------------------------------------------- activations
// a looped model applies its n_layer blocks n_loops times: n_passes block applications
static int n_passes(const ModelConfig *c) { return c->n_layer * (c->n_loops > 1 ? c->n_loops : 1); }

static size_t layout_acts(Model *m, float *base)
{
    // with base == NULL only counts; the same walk assigns pointers otherwise
    const ModelConfig *c = &m->cfg;
    size_t B = m->B_max, T = m->T_max, C = c->n_embd, H = c->mlp_hidden, NH = c->n_head, V = c->vocab_size;
    size_t BT = B * T, off = 0;
#define TAKE(ptr, n) do { if (base) (ptr) = base + off; off += ((n) + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; } while (0)
    float *dummy;
    TAKE(m->encoded, BT * C);
    for (int p = 0; p < n_passes(c); p++) {
        LayerActs *a = base ? &m->la[p] : &(LayerActs){0};
        if (p > 0 && p % c->n_layer == 0) TAKE(a->inj, BT * C);   // input injection of a loop
        if (!c->post_ln) { TAKE(a->ln1, BT * C); TAKE(a->ln2, BT * C); }
        else { TAKE(a->sum1, BT * C); TAKE(a->sum2, BT * C); }
        TAKE(a->ln1_mean, BT); TAKE(a->ln1_rstd, BT);
        TAKE(a->qkv, BT * 3 * C);
        TAKE(a->att, B * NH * T * T);
        TAKE(a->atty, BT * C);
        TAKE(a->res2, BT * C);
        TAKE(a->ln2_mean, BT); TAKE(a->ln2_rstd, BT);
        TAKE(a->fch, BT * H); TAKE(a->fch_gelu, BT * H);
        TAKE(a->res3, BT * C);
    }
    TAKE(m->lnf, BT * C); TAKE(m->lnf_mean, BT); TAKE(m->lnf_rstd, BT);
    TAKE(m->logits, BT * V);
    TAKE(m->losses, BT);
    (void)dummy;
    return off;
}

static size_t layout_scratch(Model *m, float *base)
{
    const ModelConfig *c = &m->cfg;
    size_t B = m->B_max, T = m->T_max, C = c->n_embd, H = c->mlp_hidden, NH = c->n_head;
    size_t BT = B * T, off = 0;
    TAKE(m->dres, BT * C);
    TAKE(m->dbuf_c, BT * C);
    TAKE(m->dbuf_c2, BT * C);
    TAKE(m->dqkv, BT * 3 * C);
    TAKE(m->dfch, BT * H);
    TAKE(m->dpreatt, B * NH * T * T);
    TAKE(m->dlnf, BT * C);
    if (c->n_loops > 1) TAKE(m->denc, BT * C);
#undef TAKE
    return off;
}

// memory this process may still take: MemAvailable, or the cgroup's limit if lower
static double available_bytes(void)
{
    double avail = -1.0;
    char line[256];
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        while (fgets(line, sizeof(line), f))
            if (!strncmp(line, "MemAvailable:", 13)) { avail = atof(line + 13) * 1024.0; break; }
        fclose(f);
    }
    if ((f = fopen("/sys/fs/cgroup/memory.max", "r"))) {
        if (fgets(line, sizeof(line), f) && line[0] >= '0' && line[0] <= '9') {
            double lim = atof(line);
            if (avail < 0 || lim < avail) avail = lim;
        }
        fclose(f);
    }
    return avail;
}

static float *arena(size_t n)
{
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float))) return NULL;
    memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

// ---------------------------------------------------------------- build / free
pos_config_t model_pos_config(const ModelConfig *cfg)
{
    return (pos_config_t){
        .block_size = cfg->block_size, .n_layer = cfg->n_layer, .n_head = cfg->n_head, .n_embd = cfg->n_embd,
        .opts = &cfg->pos,
    };
}

// the layout of a model for (B_max, T_max): tensors, activations, scratch; no arenas yet
static int model_plan(Model *m, const ModelConfig *cfg_in, int B_max, int T_max, int *first_layer, int *lnf, int *head, char *err)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg_in;
    if (model_config_validate(&m->cfg, err)) return -1;
    if (B_max < 1 || T_max < 1 || T_max > m->cfg.block_size)
        return err_set(err, "batch shape (%d, %d) is invalid: need B >= 1 and 1 <= T <= model.block_size = %d",
                       B_max, T_max, m->cfg.block_size);
    pos_config_t pc = model_pos_config(&m->cfg);
    if (pos_parse(m->cfg.position, &pc, m->pos, &m->n_pos, err)) return -1;
    if (!(m->head = model_head_resolve(&m->cfg, err))) { model_free(m); return -1; }
    declare_all(m, first_layer, lnf, head);
    m->lp = calloc(m->cfg.n_layer, sizeof(LayerParams));
    m->dlp = calloc(m->cfg.n_layer, sizeof(LayerParams));
    m->la = calloc(n_passes(&m->cfg), sizeof(LayerActs));
    m->B_max = B_max;
    m->T_max = T_max;
    m->n_acts = layout_acts(m, NULL);
    m->n_scratch = layout_scratch(m, NULL);
    return 0;
}

double model_available_bytes(void) { return available_bytes(); }

int model_memory_bytes(const ModelConfig *cfg, int B_max, int T_max, double *param_bytes, double *act_bytes, char *err)
{
    Model m;
    int first_layer, lnf, head;
    if (model_plan(&m, cfg, B_max, T_max, &first_layer, &lnf, &head, err)) return -1;
    *param_bytes = 4.0 * 4.0 * m.n_params;   // parameters, gradients, two AdamW moments
    *act_bytes = 4.0 * (m.n_acts + m.n_scratch) + 3.0 * sizeof(int) * B_max * T_max;
    model_free(&m);
    return 0;
}

int model_build(Model *m, const ModelConfig *cfg_in, int B_max, int T_max, uint64_t seed, char *err)
{
    int first_layer, lnf, head;
    if (model_plan(m, cfg_in, B_max, T_max, &first_layer, &lnf, &head, err)) return -1;
    // refuse up front what would only end in the kernel's OOM killer (the MiB are
    // computed before model_free, which zeroes the counts: the message once said 0 MiB)
    double need = 4.0 * (4.0 * m->n_params + m->n_acts + m->n_scratch), avail = available_bytes();
    if (avail > 0 && need > 0.9 * avail) {
        double params_mb = 16.0 * m->n_params / 1048576.0, acts_mb = 4.0 * (m->n_acts + m->n_scratch) / 1048576.0;
        model_free(m);
        return err_set(err, "the model needs %.0f MiB for a batch of (%d, %d) (%.0f MiB parameters, gradients and "
                       "AdamW moments; %.0f MiB activations), but only %.0f MiB of memory is available: lower "
                       "the batch size, model.block_size or the model size",
                       need / 1048576.0, B_max, T_max, params_mb, acts_mb, avail / 1048576.0);
    }
    m->params = arena(m->n_params);
    m->grads = arena(m->n_params);
    m->m = arena(m->n_params);
    m->v = arena(m->n_params);
    m->acts = arena(m->n_acts);
    m->scratch = arena(m->n_scratch);
    m->inputs = calloc((size_t)B_max * T_max, sizeof(int));
    m->targets = calloc((size_t)B_max * T_max, sizeof(int));
    m->positions = calloc((size_t)B_max * T_max, sizeof(int));
    if (!m->params || !m->grads || !m->m || !m->v || !m->lp || !m->dlp || !m->la ||
        !m->acts || !m->scratch || !m->inputs || !m->targets || !m->positions) {
        double mb = (4.0 * m->n_params * 4 + 4.0 * (m->n_acts + m->n_scratch)) / 1048576.0;
        model_free(m);
        return err_set(err, "out of memory: the model needs %.0f MiB for B=%d, T=%d", mb, B_max, T_max);
    }
    resolve(m, m->params, first_layer, lnf, head, &m->wte, &m->lnfw, &m->lnfb, &m->lm_head, m->lp);
    resolve(m, m->grads, first_layer, lnf, head, &m->dwte, &m->dlnfw, &m->dlnfb, &m->dlm_head, m->dlp);
    layout_acts(m, m->acts);
    layout_scratch(m, m->scratch);
    // hand each position scheme its parameter slices
    for (int s = 0; s < m->n_pos; s++)
        for (int i = 0; i < m->pos[s].n_params; i++) {
            ParamInfo *p = model_find_tensor(m, m->pos[s].decl[i].name);
            m->pos[s].w[i] = m->params + p->offset;
            m->pos[s].dw[i] = m->grads + p->offset;
        }
    // init, in tensor order from one stream: the same seed gives the same model
    m->rng = rng_seed(seed);
    for (int i = 0; i < m->n_tensors; i++) {
        ParamInfo *p = &m->tensors[i];
        float *w = m->params + p->offset, scale;
        int rule = model_init_rule(m, i, &scale);
        for (size_t j = 0; j < p->numel; j++)
            w[j] = rule == MODEL_INIT_NORMAL ? scale * rng_normal(&m->rng)
                 : rule == MODEL_INIT_UNIFORM ? scale * (2.0f * rng_f32(&m->rng) - 1.0f)
                 : rule == MODEL_INIT_ONES ? 1.0f : 0.0f;
    }
    m->loss = -1.0f;
    model_set_threads(m, omp_get_max_threads());
    return 0;
}

void model_free(Model *m)
{
    for (int s = 0; s < m->n_pos; s++)
        if (m->pos[s].vt && m->pos[s].vt->free) m->pos[s].vt->free(&m->pos[s]);
    free(m->params); free(m->grads); free(m->m); free(m->v);
    free(m->lp); free(m->dlp); free(m->la);
    free(m->acts); free(m->scratch);
    free(m->inputs); free(m->targets); free(m->positions);
    free(m->kcache); free(m->vcache);
    memset(m, 0, sizeof(*m));
}

void model_set_threads(Model *m, int n_threads)
{
    m->n_threads = n_threads < 1 ? 1 : n_threads;
    ops_set_threads(m->n_threads);
}

double model_flops_forward(const ModelConfig *c, int B, int T)
{
    double C = c->n_embd, H = c->mlp_hidden ? c->mlp_hidden : 4 * c->n_embd, BT = (double)B * T;
    double per_layer = 2.0 * BT * (3 * C * C + C * C + 2 * C * H)   // projections
                     + 2.0 * 2.0 * B * (double)T * T * C;            // q k^T and att v, full T x T
    return n_passes(c) * per_layer + 2.0 * BT * C * c->vocab_size;    // + LM head; a loop counts per pass
}

// out (N,OC) = resid (N,OC) + bias + inp (N,C) @ weight^T: the residual add folded into the GEMM
static void matmul_residual_forward(float *out, const float *inp, const float *weight, const float *bias,
                                    const float *resid, int N, int C, int OC)
{
    #pragma omp parallel for
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) out[(size_t)n * OC + o] = resid[(size_t)n * OC + o] + bias[o];
    ops_gemm_big(0, 1, N, OC, C, 1.0f, inp, C, weight, C, 1.0f, out, OC);
}

// ---------------------------------------------------------------- forward
// The forward of a chunk of T positions starting at t0. With cache == 0 it is
// the training forward (t0 = 0, keys and values read from qkv); with cache == 1
// the chunk's keys and values are appended to the KV cache, and attention reads
// positions 0..t0+T-1 from there.
static void forward_chunk(Model *m, const int *tokens, const int *tokens_full, int stride,
                          int B, int T, int t0, int cache)
{
    const ModelConfig *c = &m->cfg;
    int C = c->n_embd, H = c->mlp_hidden, N = B * T;
    pos_shape_t s = {B, T, C, c->n_head, C / c->n_head, t0, t0 + T, tokens_full, stride, m->training, &m->rng,
                     cache ? NULL : m->batch.values, cache ? NULL : m->batch.pos};

    encoder_forward(m->encoded, tokens, m->wte, B, T, C);
    for (int i = 0; i < m->n_pos; i++)
        if (m->pos[i].vt->embed_forward) m->pos[i].vt->embed_forward(&m->pos[i], &s, m->encoded, tokens);
    if (m->intervene) model__patch_apply(m, MODEL_SITE_RESID, -1, m->encoded, NULL, B, T, t0);

    // progressive loss (looped models, training): run `skip` loops, then `keep` more
    // whose gradient the backward follows; the loss is taken after skip + keep loops
    int hi = n_passes(c), lo = 0;
    if (!cache && m->training && c->loop_random && c->n_loops > 1) {
        int skip = rng_int(&m->rng, c->n_loops);
        int keep = 1 + rng_int(&m->rng, c->n_loops - skip);
        lo = skip * c->n_layer;
        hi = (skip + keep) * c->n_layer;
    }
    m->pass_lo = lo;
    m->pass_hi = hi;
    float *x = m->encoded;
    for (int pass = 0; pass < hi; pass++) {
        int l = pass % c->n_layer;       // the block whose weights this pass uses
        LayerParams *p = &m->lp[l];
        LayerActs *a = &m->la[pass];
        if (a->inj) {                    // a new loop: inject the embedded input (Abacus paper)
            residual_forward(a->inj, x, m->encoded, (size_t)N * C);
            x = a->inj;
        }
        const float *att_in = x;
        if (!c->post_ln) {
            norm_forward(m, a->ln1, a->ln1_mean, a->ln1_rstd, x, p->ln1w, p->ln1b, N, C);
            att_in = a->ln1;
        }
        matmul_forward(a->qkv, att_in, p->qkvw, p->qkvb, N, C, 3 * C);
        for (int i = 0; i < m->n_pos; i++)
            if (m->pos[i].vt->qk_forward) m->pos[i].vt->qk_forward(&m->pos[i], &s, l, a->qkv);
        if (!cache) {
            attention_forward(m->pos, m->n_pos, &s, l, a->atty, a->att, a->qkv, a->qkv + C, a->qkv + 2 * C,
                              (size_t)T * 3 * C, 3 * C);
        } else {
            size_t bstride = (size_t)m->T_max * C, lsize = (size_t)m->B_max * bstride;
            float *kc = m->kcache + pass * lsize, *vc = m->vcache + pass * lsize;
            #pragma omp parallel for
            for (int bt = 0; bt < N; bt++) {
                int b = bt / T, t = bt % T;
                const float *row = a->qkv + (size_t)bt * 3 * C;
                memcpy(kc + b * bstride + (size_t)(t0 + t) * C, row + C, sizeof(float) * C);
                memcpy(vc + b * bstride + (size_t)(t0 + t) * C, row + 2 * C, sizeof(float) * C);
            }
            attention_forward(m->pos, m->n_pos, &s, l, a->atty, a->att, a->qkv, kc, vc, bstride, C);
        }
        if (m->intervene) model__patch_apply(m, MODEL_SITE_HEAD, pass, a->atty, NULL, B, T, t0);
        if (!c->post_ln) {
            matmul_residual_forward(a->res2, a->atty, p->attprojw, p->attprojb, x, N, C, C);
            norm_forward(m, a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, p->ln2w, p->ln2b, N, C);
            matmul_forward(a->fch, a->ln2, p->fcw, p->fcb, N, C, H);
            act_forward(m, a->fch_gelu, a->fch, (size_t)N * H);
            matmul_residual_forward(a->res3, a->fch_gelu, p->fcprojw, p->fcprojb, a->res2, N, H, C);
            if (m->intervene) model__patch_apply(m, MODEL_SITE_MLP, pass, a->res3, a->res2, B, T, t0);
        } else {
            matmul_residual_forward(a->sum1, a->atty, p->attprojw, p->attprojb, x, N, C, C);
            norm_forward(m, a->res2, a->ln1_mean, a->ln1_rstd, a->sum1, p->ln1w, p->ln1b, N, C);
            matmul_forward(a->fch, a->res2, p->fcw, p->fcb, N, C, H);
            act_forward(m, a->fch_gelu, a->fch, (size_t)N * H);
            matmul_residual_forward(a->sum2, a->fch_gelu, p->fcprojw, p->fcprojb, a->res2, N, H, C);
            if (m->intervene) model__patch_apply(m, MODEL_SITE_MLP, pass, a->sum2, a->res2, B, T, t0);
            norm_forward(m, a->res3, a->ln2_mean, a->ln2_rstd, a->sum2, p->ln2w, p->ln2b, N, C);
        }
        if (m->intervene) model__patch_apply(m, MODEL_SITE_RESID, pass, a->res3, NULL, B, T, t0);
        x = a->res3;
    }
    norm_forward(m, m->lnf, m->lnf_mean, m->lnf_rstd, x, m->lnfw, m->lnfb, N, C);
    m->head->forward(m);
}

static void check_batch(const Model *m, int B, int T, int t0)
{
    // callers check shapes and token ranges at the boundary; here they are invariants
    if (B < 1 || T < 1 || B > m->B_max || t0 + T > m->T_max || (size_t)B * T > (size_t)m->B_max * m->T_max) {
        fprintf(stderr, "arithlab: internal error: batch (B=%d, T=%d, t0=%d) exceeds the model's (%d, %d)\n",
                B, T, t0, m->B_max, m->T_max);
        abort();
    }
}

void model_forward_batch(Model *m, const Batch *b)
{
    int B = b->B, T = b->T, N = B * T;
    check_batch(m, B, T, 0);
    m->B = B; m->T = T;
    memcpy(m->inputs, b->tokens, sizeof(int) * N);
    if (b->targets) memcpy(m->targets, b->targets, sizeof(int) * N);
    if (b->pos) memcpy(m->positions, b->pos, sizeof(int) * N);
    m->batch = (Batch){m->inputs, b->targets ? m->targets : NULL, b->values, b->target_values, B, T,
                       b->pos ? m->positions : NULL};
    forward_chunk(m, m->inputs, m->inputs, T, B, T, 0, 0);
    if (b->targets) m->loss = m->head->loss_forward(m, &m->batch);
    else { m->loss = -1.0f; m->n_loss_tokens = 0; }
}

void model_forward(Model *m, const int *tokens, const int *targets, int B, int T)
{
    model_forward_batch(m, &(Batch){tokens, targets, NULL, NULL, B, T});
}

int model_forward_cached(Model *m, const int *tokens_full, int stride, int B, int t0, int T)
{
    check_batch(m, B, T, t0);
    if (!m->kcache) {
        size_t n = (size_t)n_passes(&m->cfg) * m->B_max * m->T_max * m->cfg.n_embd;
        m->kcache = arena(n);
        m->vcache = arena(n);
        if (!m->kcache || !m->vcache) return -1;
    }
    // the chunk's tokens, contiguous (B,T), for the embedding
    for (int b = 0; b < B; b++) memcpy(m->inputs + (size_t)b * T, tokens_full + (size_t)b * stride + t0, sizeof(int) * T);
    m->B = B; m->T = T;
    m->batch = (Batch){m->inputs, NULL, NULL, NULL, B, T};
    forward_chunk(m, m->inputs, tokens_full, stride, B, T, t0, 1);
    m->loss = -1.0f;
    return 0;
}

// ---------------------------------------------------------------- backward
// dout (B,T,C) at the attention output -> m->dqkv w.r.t. the unrotated q, k, v
static void attention_block_backward(Model *m, const pos_shape_t *s, int l, const LayerActs *a, const float *dout)
{
    attention_backward(m->pos, m->n_pos, s, l, m->dqkv, m->dpreatt, dout, a->qkv, a->att);
    for (int i = m->n_pos - 1; i >= 0; i--)
        if (m->pos[i].vt->qk_backward) m->pos[i].vt->qk_backward(&m->pos[i], s, l, m->dqkv);
}

void model_zero_grad(Model *m) { memset(m->grads, 0, sizeof(float) * m->n_params); }

void model_backward(Model *m)
{
    const ModelConfig *c = &m->cfg;
    int B = m->B, T = m->T, C = c->n_embd, H = c->mlp_hidden, V = c->vocab_size, N = B * T;
    if (m->loss < 0) { fprintf(stderr, "model_backward: needs a forward with targets\n"); abort(); }
    pos_shape_t s = {B, T, C, c->n_head, C / c->n_head, 0, T, m->inputs, T, m->training, &m->rng,
                     m->batch.values, m->batch.pos};

    // the loss: the head's gradient at lnf (and at its own parameters)
    int P = m->pass_hi;
    const float *x_last = m->la[P - 1].res3;
    m->head->loss_backward(m, &m->batch, m->dlnf);
    norm_backward(m, m->dres, m->dlnfw, m->dlnfb, m->dlnf, x_last, m->lnfw, m->lnf_mean, m->lnf_rstd, N, C, 0);

    // m->dres holds the gradient w.r.t. the current layer's output
    if (m->denc) memset(m->denc, 0, sizeof(float) * (size_t)N * C);
    for (int pass = P - 1; pass >= m->pass_lo; pass--) {
        int l = pass % c->n_layer;
        LayerParams *p = &m->lp[l], *dp = &m->dlp[l];
        LayerActs *a = &m->la[pass];
        const float *x = a->inj ? a->inj : pass ? m->la[pass - 1].res3 : m->encoded;
        if (!c->post_ln) {
            // MLP: res3 = res2 + fcproj(gelu(fc(ln2(res2))))
            matmul_backward(m->dfch, dp->fcprojw, dp->fcprojb, m->dres, a->fch_gelu, p->fcprojw, N, H, C, 0);
            act_backward(m, m->dfch, a->fch, m->dfch, (size_t)N * H);
            matmul_backward(m->dbuf_c, dp->fcw, dp->fcb, m->dfch, a->ln2, p->fcw, N, C, H, 0);
            norm_backward(m, m->dres, dp->ln2w, dp->ln2b, m->dbuf_c, a->res2, p->ln2w, a->ln2_mean, a->ln2_rstd, N, C, 1);
            // attention: res2 = x + proj(attn(ln1(x)))
            matmul_backward(m->dbuf_c, dp->attprojw, dp->attprojb, m->dres, a->atty, p->attprojw, N, C, C, 0);
            attention_block_backward(m, &s, l, a, m->dbuf_c);
            matmul_backward(m->dbuf_c2, dp->qkvw, dp->qkvb, m->dqkv, a->ln1, p->qkvw, N, C, 3 * C, 0);
            norm_backward(m, m->dres, dp->ln1w, dp->ln1b, m->dbuf_c2, x, p->ln1w, a->ln1_mean, a->ln1_rstd, N, C, 1);
        } else {
            // res3 = ln2(sum2), sum2 = res2 + mlp(res2), res2 = ln1(sum1), sum1 = x + attn(x)
            norm_backward(m, m->dbuf_c, dp->ln2w, dp->ln2b, m->dres, a->sum2, p->ln2w, a->ln2_mean, a->ln2_rstd, N, C, 0);
            matmul_backward(m->dfch, dp->fcprojw, dp->fcprojb, m->dbuf_c, a->fch_gelu, p->fcprojw, N, H, C, 0);
            act_backward(m, m->dfch, a->fch, m->dfch, (size_t)N * H);
            matmul_backward(m->dbuf_c, dp->fcw, dp->fcb, m->dfch, a->res2, p->fcw, N, C, H, 1);
            norm_backward(m, m->dres, dp->ln1w, dp->ln1b, m->dbuf_c, a->sum1, p->ln1w, a->ln1_mean, a->ln1_rstd, N, C, 0);
            matmul_backward(m->dbuf_c, dp->attprojw, dp->attprojb, m->dres, a->atty, p->attprojw, N, C, C, 0);
            attention_block_backward(m, &s, l, a, m->dbuf_c);
            matmul_backward(m->dres, dp->qkvw, dp->qkvb, m->dqkv, x, p->qkvw, N, C, 3 * C, 1);
        }
        // inj = previous output + encoded: the gradient flows to both
        if (a->inj) residual_forward(m->denc, m->denc, m->dres, (size_t)N * C);
    }
    // the gradient at the embeddings: through the injections, plus through pass 0
    // unless the passes before pass_lo were run without gradient (truncated)
    if (m->pass_lo > 0) memcpy(m->dres, m->denc, sizeof(float) * (size_t)N * C);
    else if (m->denc) residual_forward(m->dres, m->dres, m->denc, (size_t)N * C);
    encoder_backward(m->dwte, m->dres, m->inputs, B, T, C, V);
    for (int i = 0; i < m->n_pos; i++)
        if (m->pos[i].vt->embed_backward) m->pos[i].vt->embed_backward(&m->pos[i], &s, m->dres, m->inputs);
}

// ---------------------------------------------------------------- numerical faults
static long first_bad(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (long)i;
    return -1;
}

int model_find_nonfinite(const Model *m, char *where, size_t cap)
{
    const ModelConfig *c = &m->cfg;
    size_t N = (size_t)m->B * m->T, C = c->n_embd, H = c->mlp_hidden;
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamInfo *p = &m->tensors[i];
        long j = first_bad(m->params + p->offset, p->numel);
        if (j >= 0) { snprintf(where, cap, "parameter %s (element %ld)", p->name, j); return 1; }
    }
    if (first_bad(m->encoded, N * C) >= 0) { snprintf(where, cap, "the input embeddings"); return 1; }
    for (int pass = 0; pass < m->pass_hi; pass++) {   // the passes the last forward ran
        const LayerActs *a = &m->la[pass];
        struct { const char *what; const float *x; size_t n; } acts[] = {
            {"the attention's q, k, v", a->qkv, N * 3 * C},
            {"the attention output", a->atty, N * C},
            {"the residual after attention", a->res2, N * C},
            {"the MLP hidden layer", a->fch_gelu, N * H},
            {"the block output", a->res3, N * C},
        };
        for (size_t k = 0; k < sizeof(acts) / sizeof(acts[0]); k++)
            if (first_bad(acts[k].x, acts[k].n) >= 0) {
                snprintf(where, cap, "%s of transformer.h.%d (pass %d)", acts[k].what, pass % c->n_layer, pass);
                return 1;
            }
    }
    if (first_bad(m->lnf, N * C) >= 0) { snprintf(where, cap, "the final LayerNorm output"); return 1; }
    if (first_bad(m->logits, N * c->vocab_size) >= 0) { snprintf(where, cap, "the logits"); return 1; }
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamInfo *p = &m->tensors[i];
        long j = first_bad(m->grads + p->offset, p->numel);
        if (j >= 0) { snprintf(where, cap, "the gradient of %s (element %ld)", p->name, j); return 1; }
    }
    snprintf(where, cap, "the loss itself (every parameter, activation and gradient is finite)");
    return 0;
}
