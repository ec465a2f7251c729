// test_pos.c: the position schemes. Every scheme (one table, one loop) against finite
// differences, cached decoding against the full forward, and the same gradients on 1 and
// 2 threads; then each scheme's defining property through its hooks, and the spec parser.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/model.h"
#include "core/vocab.h"
#include "tests/test_grad.h"
#include "tests/test_fone_fixture.h"

// every registered scheme, and combinations whose hooks interact; prepare (may be NULL)
// moves the parameters of a scheme with kinks to where finite differences are valid; check
// (may be NULL) replaces the cross-entropy fixture for a scheme with its own loss (FoNE's
// values and digit head). To add a scheme: one line here, or
// pos::every_registered_scheme_has_a_gradient_fixture fails.
static void fire_away_from_kinks(Model *m);
static void check_fone(const char *spec);
typedef struct {
    const char *spec;
    void (*prepare)(Model *m);
    void (*check)(const char *spec);
} scheme_case_t;
static const scheme_case_t SCHEMES[] = {
    {"absolute", NULL, NULL}, {"nope", NULL, NULL}, {"sinusoidal", NULL, NULL}, {"rope", NULL, NULL},
    {"alibi", NULL, NULL}, {"t5", NULL, NULL}, {"shaw", NULL, NULL}, {"fire", fire_away_from_kinks, NULL},
    {"abacus", NULL, NULL}, {"fone", NULL, check_fone},
    {"abacus+rope", NULL, NULL}, {"abacus+nope", NULL, NULL}, {"rope+shaw", NULL, NULL}, {"alibi+t5", NULL, NULL},
    {"fone+rope", NULL, check_fone},
};
#define N_SCHEMES (int)(sizeof(SCHEMES) / sizeof(SCHEMES[0]))

// small enough for finite differences; rel_max, t5_buckets and abacus_max small enough
// that clipping, log buckets and the clamp of abacus indices all occur at T = 6
static ModelConfig pos_config(const char *spec, int block_size)
{
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 16; c.block_size = block_size; c.n_layer = 2; c.n_head = 2; c.n_embd = 8; c.mlp_hidden = 12;
    *pos_opt_ptr(&c.pos, "model.rel_max") = 3; *pos_opt_ptr(&c.pos, "model.t5_buckets") = 4;
    *pos_opt_ptr(&c.pos, "model.abacus_k") = 3; *pos_opt_ptr(&c.pos, "model.abacus_max") = 8;
    snprintf(c.position, sizeof(c.position), "%s", spec);
    return c;
}

static void perturb(Model *m, uint64_t seed, float scale)
{
    uint64_t rng = rng_seed(seed);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] += scale * (2.0f * rng_f32(&rng) - 1.0f);
}

// ---------------------------------------------------------------- every scheme
// the mean cross-entropy, in double from the logits: float32's m->loss quantizes the loss
// to ~2e-7, which is 10% of the central difference of fire's smallest gradients
static double loss_double(Model *m, const int *x, const int *y, int B, int T)
{
    model_forward(m, x, NULL, B, T);
    int V = m->cfg.vocab_size, n = 0;
    double sum = 0.0;
    for (int i = 0; i < B * T; i++) {
        if (y[i] < 0) continue;
        const float *l = m->logits + (size_t)i * V;
        double mx = l[0], z = 0.0;
        for (int v = 1; v < V; v++) mx = fmax(mx, l[v]);
        for (int v = 0; v < V; v++) z += exp(l[v] - mx);
        sum += mx + log(z) - l[y[i]];
        n++;
    }
    return sum / n;
}

// central difference of the loss in parameter j; the model RNG is restored before each
// forward, so that abacus draws the same offset every time
typedef struct { const int *x, *y; int B, T; uint64_t rng0; } batch_ctx_t;

// the loss of one fixed batch in double, every forward making the same random draws
static double batch_loss(Model *m, void *ctx)
{
    batch_ctx_t *c = ctx;
    m->rng = c->rng0;
    return loss_double(m, c->x, c->y, c->B, c->T);
}

// fire's ReLU MLP and its max(L, i+1) make the loss piecewise smooth. Here each hidden
// unit is active (or inactive) on all of x in [0,1) with a margin of 0.1, and L sits between
// positions (4.5 in layer 0, so both branches of the max occur; 7.5 in layer 1). The kinks
// themselves are met in pos::every_bias_hook_matches_finite_differences below.
static void fire_away_from_kinks(Model *m)
{
    ParamInfo *w1 = model_find_tensor(m, "transformer.pos.fire.w1"), *b1 = model_find_tensor(m, "transformer.pos.fire.b1");
    ParamInfo *L = model_find_tensor(m, "transformer.pos.fire.L");
    cr_assert(w1 && b1 && L, "fire's tensors not found");
    for (size_t k = 0; k < w1->numel; k++) {
        float sign = k % 2 ? -1.0f : 1.0f, *w = m->params + w1->offset + k, *b = m->params + b1->offset + k;
        *w = sign * fabsf(*w);
        *b = sign * (0.1f + fabsf(*b));
    }
    m->params[L->offset] = 4.5f / m->cfg.block_size - 1.0f;       // L = block_size * (1 + offset)
    m->params[L->offset + 1] = 7.5f / m->cfg.block_size - 1.0f;
}

// As tests/test_gradcheck.c check_model, with digit runs for abacus (ids 4..13)
static void check_gradients(const scheme_case_t *sc)
{
    enum { B = 2, T = 6 };
    const char *spec = sc->spec;
    char err[ERR_MAX];
    Model m;
    ModelConfig cfg = pos_config(spec, 8);
    cr_assert_eq(model_build(&m, &cfg, B, T, 3, err), 0, "%s: %s", spec, err);
    model_set_threads(&m, 1);   // a tiny model: threads only add synchronisation
    perturb(&m, 5, 0.3f);
    if (sc->prepare) sc->prepare(&m);
    int x[B * T] = {1, 5, 6, 14, 7, 8,    4, 5, 6, 7, 8, 9};   // <bos>12+34, and a run of six digits
    int y[B * T];
    uint64_t rng = rng_seed(6);
    for (int i = 0; i < B * T; i++) y[i] = i % 4 == 1 ? -1 : rng_int(&rng, cfg.vocab_size);
    m.training = 1;
    uint64_t rng0 = m.rng;
    model_forward(&m, x, y, B, T);
    model_zero_grad(&m);
    model_backward(&m);
    float *g = malloc(sizeof(float) * m.n_params);
    memcpy(g, m.grads, sizeof(float) * m.n_params);
    batch_ctx_t ctx = {x, y, B, T, rng0};
    for (int t = 0; t < m.n_tensors; t++) {
        ParamInfo *p = &m.tensors[t];
        test_fd_t fd = test_fd_tensor(&m, p, g, 1e-2f, &rng, batch_loss, &ctx);
        // no gradient on either side (rms below 1e-5, the differences' noise is ~3e-7): tensors the batch
        // does not reach, fire's biases of units active on whole rows (softmax ignores a constant per row)
        double rel = fd.den < 2 * fd.n_checked * 1e-10 ? 0.0 : fd.rel;
        cr_log_info("%-12s %-36s rel err %.2e", spec, p->name, rel);
        cr_expect(rel < 5e-3, "%s: %s relative error %.3e", spec, p->name, rel);
    }
    free(g);
    model_free(&m);
}

// FoNE's loss is the digit head's on [NUM] targets with values: tests/test_fone_fixture.h
static void check_fone(const char *spec) { check_fone_gradients(fone_config(spec, 3, 0), spec); }

Test(pos, every_scheme_matches_finite_differences)
{
    for (int i = 0; i < N_SCHEMES; i++) {
        if (SCHEMES[i].check) SCHEMES[i].check(SCHEMES[i].spec);
        else check_gradients(&SCHEMES[i]);
    }
}

// the table above is checked against the registry, so a scheme registered in
// embeddings/pos_registry.c without a finite-difference case fails here
Test(pos, every_registered_scheme_has_a_gradient_fixture)
{
    char names[1024];
    snprintf(names, sizeof names, "%s", pos_names());
    int n_registered = 0;
    for (char *save = NULL, *name = strtok_r(names, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        int found = 0;
        for (int i = 0; i < N_SCHEMES && !found; i++) found = strcmp(SCHEMES[i].spec, name) == 0;
        cr_expect(found, "registered scheme '%s' has no case in SCHEMES (tests/test_pos.c)", name);
        n_registered++;
    }
    cr_assert_gt(n_registered, 8, "pos_names() lists the registry: '%s'", pos_names());
}

// logits of a prefill of 5, a chunk of 3 at t0 = 5, then single positions, against one full forward
static void check_cached(const char *spec)
{
    enum { B = 3, T = 16 };
    char err[ERR_MAX];
    Model m, ref;
    ModelConfig cfg = pos_config(spec, T);
    cfg.n_embd = 16; *pos_opt_ptr(&cfg.pos, "model.rel_max") = 5; *pos_opt_ptr(&cfg.pos, "model.t5_buckets") = 8;
    *pos_opt_ptr(&cfg.pos, "model.abacus_max") = 12;
    cr_assert_eq(model_build(&m, &cfg, B, T, 5, err), 0, "%s: %s", spec, err);
    cr_assert_eq(model_build(&ref, &cfg, B, T, 5, err), 0, "%s: %s", spec, err);
    model_set_threads(&m, 1);
    perturb(&m, 7, 0.2f);
    perturb(&ref, 7, 0.2f);
    int tok[B * T];
    uint64_t rng = rng_seed(3);
    for (int i = 0; i < B * T; i++) tok[i] = rng_int(&rng, cfg.vocab_size);
    model_forward(&ref, tok, NULL, B, T);
    int V = cfg.vocab_size;
    double worst = 0, scale = 1;
    for (int t0 = 0, n = 5; t0 < T; t0 += n, n = 1) {
        if (t0 == 5) n = 3;
        cr_assert_eq(model_forward_cached(&m, tok, T, B, t0, n), 0);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < n; t++)
                for (int v = 0; v < V; v++) {
                    float want = ref.logits[((size_t)b * T + t0 + t) * V + v];
                    worst = fmax(worst, fabs(m.logits[((size_t)b * n + t) * V + v] - want));
                    scale = fmax(scale, fabs(want));
                }
    }
    cr_log_info("%-12s cached vs full: max |diff| %.2e (logits up to %.1f)", spec, worst, scale);
    cr_expect(worst < 1e-5 * scale, "%s: cached logits differ by %.3e (logits up to %.2f)", spec, worst, scale);
    model_free(&m);
    model_free(&ref);
}

Test(pos, every_scheme_decodes_with_the_cache_as_the_full_forward)
{
    // a scheme with its own fixture (FoNE: values per token, digit head) is decoded by its own tests
    for (int i = 0; i < N_SCHEMES; i++) if (!SCHEMES[i].check) check_cached(SCHEMES[i].spec);
}

static void train_grads(Model *m, int threads, const int *x, const int *y, int B, int T, uint64_t rng0)
{
    model_set_threads(m, threads);
    m->rng = rng0;
    model_forward(m, x, y, B, T);
    model_zero_grad(m);
    model_backward(m);
}

// the schemes whose hooks have parallel loops
Test(pos, every_scheme_gives_identical_gradients_on_1_and_2_threads)
{
    enum { B = 4, T = 16 };
    const char *specs[] = {"sinusoidal", "rope", "t5", "shaw", "fire", "abacus"};
    int x[B * T], y[B * T];
    uint64_t rng = rng_seed(8);
    for (int i = 0; i < B * T; i++) { x[i] = rng_int(&rng, 16); y[i] = rng_int(&rng, 16); }
    for (int k = 0; k < (int)(sizeof(specs) / sizeof(specs[0])); k++) {
        char err[ERR_MAX];
        Model m;
        ModelConfig cfg = pos_config(specs[k], T);
        cfg.n_embd = 32; *pos_opt_ptr(&cfg.pos, "model.rel_max") = 5; *pos_opt_ptr(&cfg.pos, "model.t5_buckets") = 8;
        cr_assert_eq(model_build(&m, &cfg, B, T, 1, err), 0, "%s", err);
        perturb(&m, 2, 0.2f);
        m.training = 1;
        uint64_t rng0 = m.rng;
        train_grads(&m, 1, x, y, B, T, rng0);
        float *g1 = malloc(sizeof(float) * m.n_params);
        memcpy(g1, m.grads, sizeof(float) * m.n_params);
        train_grads(&m, 2, x, y, B, T, rng0);
        cr_expect(memcmp(g1, m.grads, sizeof(float) * m.n_params) == 0, "%s: gradients differ", specs[k]);
        free(g1);
        model_free(&m);
    }
}

// ---------------------------------------------------------------- hooks, one scheme at a time
// one scheme parsed from spec, with zeroed parameter and gradient buffers of its own
static pos_scheme_t scheme_open(const char *spec, const ModelConfig *cfg)
{
    pos_scheme_t p[POS_MAX];
    int n;
    char err[ERR_MAX];
    cr_assert_eq(pos_parse(spec, (pos_config_t[]){model_pos_config(cfg)}, p, &n, err), 0, "%s: %s", spec, err);
    cr_assert_eq(n, 1);
    for (int i = 0; i < p[0].n_params; i++) {
        size_t numel = 1;
        for (int d = 0; d < p[0].decl[i].ndim; d++) numel *= (size_t)p[0].decl[i].shape[d];
        p[0].w[i] = calloc(numel, sizeof(float));
        p[0].dw[i] = calloc(numel, sizeof(float));
    }
    return p[0];
}

static void scheme_close(pos_scheme_t *p)
{
    for (int i = 0; i < p->n_params; i++) { free(p->w[i]); free(p->dw[i]); }
    if (p->vt->free) p->vt->free(p);
}

static ModelConfig hook_config(int n_head, int n_embd, int block_size)
{
    ModelConfig c;
    model_config_default(&c);
    c.n_head = n_head; c.n_embd = n_embd; c.block_size = block_size;
    return c;
}

static pos_shape_t shape(int B, int T, int C, int NH, int t0)
{
    return (pos_shape_t){B, T, C, NH, C / NH, t0, t0 + T, NULL, 0, 0, NULL, NULL};
}

static float head_dot(const float *a, const float *b, int n)
{
    float s = 0.0f;
    for (int k = 0; k < n; k++) s += a[k] * b[k];
    return s;
}

Test(rope, preserves_norms_and_makes_q_dot_k_depend_only_on_the_distance)
{
    enum { T = 12, NH = 2, C = 16, HS = C / NH };
    ModelConfig cfg = hook_config(NH, C, 32);
    pos_scheme_t p = scheme_open("rope", &cfg);
    float qkv[T * 3 * C], orig[T * 3 * C];
    uint64_t rng = rng_seed(1);
    for (int c = 0; c < 3 * C; c++) orig[c] = 2.0f * rng_f32(&rng) - 1.0f;
    for (int t = 1; t < T; t++) memcpy(orig + t * 3 * C, orig, sizeof(float) * 3 * C);   // the same q, k at every position
    memcpy(qkv, orig, sizeof(qkv));
    pos_shape_t s = shape(1, T, C, NH, 0);
    p.vt->qk_forward(&p, &s, 0, qkv);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < NH; h++)
            for (int part = 0; part < 2; part++) {   // q, then k
                const float *r = qkv + t * 3 * C + part * C + h * HS, *o = orig + part * C + h * HS;
                cr_expect_float_eq(head_dot(r, r, HS), head_dot(o, o, HS), 1e-5, "t %d head %d part %d", t, h, part);
            }
    for (int h = 0; h < NH; h++) {
        int deltas[] = {0, 1, 3, 7};
        float first[4];
        for (int di = 0; di < 4; di++)
            for (int i = deltas[di]; i < T; i++) {
                float d = head_dot(qkv + i * 3 * C + h * HS, qkv + (i - deltas[di]) * 3 * C + C + h * HS, HS);
                if (i == deltas[di]) first[di] = d;
                else cr_expect(fabsf(d - first[di]) < 1e-5f, "head %d, i %d, i-j %d: %f vs %f", h, i, deltas[di], d, first[di]);
            }
        cr_expect(fabsf(first[0] - first[2]) > 1e-3f, "q.k does not change with the distance: %f", first[0]);
    }
    // a chunk at t0 = 5 rotates as row 5 of the full sequence
    float row[3 * C];
    memcpy(row, orig, sizeof(row));
    pos_shape_t s1 = shape(1, 1, C, NH, 5);
    p.vt->qk_forward(&p, &s1, 0, row);
    for (int c = 0; c < 2 * C; c++) cr_expect_float_eq(row[c], qkv[5 * 3 * C + c], 1e-6, "column %d", c);
    // the backward applies the inverse rotation
    p.vt->qk_backward(&p, &s, 0, qkv);
    for (int i = 0; i < T * 3 * C; i++) cr_expect_float_eq(qkv[i], orig[i], 1e-5, "element %d", i);
    scheme_close(&p);
}

// bias row t of head h, for a chunk of T rows at t0 (preatt zeroed first); q all ones
static void bias_rows(pos_scheme_t *p, int NH, int C, int T, int t0, int h, float *pre)
{
    float *q = malloc(sizeof(float) * (size_t)T * 3 * C);
    for (int i = 0; i < T * 3 * C; i++) q[i] = 1.0f;
    pos_shape_t s = shape(1, T, C, NH, t0);
    memset(pre, 0, sizeof(float) * (size_t)T * (t0 + T));
    p->vt->bias_forward(p, &s, 0, 0, h, q + h * (C / NH), pre);
    free(q);
}

Test(alibi, slopes_for_8_heads_are_powers_of_one_half)
{
    ModelConfig cfg = hook_config(8, 16, 16);
    pos_scheme_t p = scheme_open("alibi", &cfg);
    float pre[3 * 3];
    for (int h = 0; h < 8; h++) {
        float m = ldexpf(1.0f, -(h + 1));
        bias_rows(&p, 8, 16, 3, 0, h, pre);
        cr_expect_float_eq(pre[1 * 3 + 0], -m, 1e-9, "head %d: distance 1", h);
        cr_expect_float_eq(pre[2 * 3 + 0], -2 * m, 1e-9, "head %d: distance 2", h);
        cr_expect_float_eq(pre[2 * 3 + 2], 0.0f, 0, "head %d: distance 0", h);
    }
    // a decoding row at t0 = 4 sees keys 0..4 at distances 4..0
    float row[5];
    bias_rows(&p, 8, 16, 1, 4, 0, row);
    for (int j = 0; j < 5; j++) cr_expect_float_eq(row[j], -0.5f * (4 - j), 1e-7, "key %d", j);
    scheme_close(&p);
}

Test(alibi, slopes_for_6_heads_interleave_the_next_power_of_2)
{
    // the authors' get_slopes(6): get_slopes(4) + get_slopes(8)[0::2][:2]
    const float want[6] = {0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f};
    ModelConfig cfg = hook_config(6, 12, 16);
    pos_scheme_t p = scheme_open("alibi", &cfg);
    float pre[2 * 2];
    for (int h = 0; h < 6; h++) {
        bias_rows(&p, 6, 12, 2, 0, h, pre);
        cr_expect_float_eq(pre[2], -want[h], 1e-9, "head %d", h);
    }
    scheme_close(&p);
}

Test(t5, buckets_are_exact_below_half_then_log_spaced_up_to_rel_max)
{
    // T5's unidirectional buckets with 32 buckets and max distance 128 (as HF's _relative_position_bucket)
    const int dist[] = {0, 1, 15, 16, 17, 20, 24, 32, 45, 64, 100, 127, 128, 200};
    const int want[] = {0, 1, 15, 16, 16, 17, 19, 21, 23, 26, 30, 31, 31, 31};
    enum { NH = 2, C = 8, TK = 256 };
    ModelConfig cfg = hook_config(NH, C, TK);
    *pos_opt_ptr(&cfg.pos, "model.t5_buckets") = 32; *pos_opt_ptr(&cfg.pos, "model.rel_max") = 128;
    pos_scheme_t p = scheme_open("t5", &cfg);
    cr_assert_str_eq(p.decl[0].name, "transformer.pos.t5.bias");
    cr_assert(p.decl[0].shape[0] == 32 && p.decl[0].shape[1] == NH);
    for (int b = 0; b < 32; b++)
        for (int h = 0; h < NH; h++) p.w[0][b * NH + h] = (float)b + 100.0f * h;   // bias reads back the bucket
    float row[TK];
    for (int h = 0; h < NH; h++) {
        bias_rows(&p, NH, C, 1, TK - 1, h, row);   // query at 255: key j is at distance 255 - j
        for (size_t k = 0; k < sizeof(dist) / sizeof(dist[0]); k++)
            cr_expect_float_eq(row[TK - 1 - dist[k]], want[k] + 100.0f * h, 0, "head %d, distance %d", h, dist[k]);
    }
    scheme_close(&p);
}

Test(t5, rejects_rel_max_within_the_exact_buckets)
{
    ModelConfig cfg = hook_config(2, 8, 16);
    *pos_opt_ptr(&cfg.pos, "model.t5_buckets") = 32; *pos_opt_ptr(&cfg.pos, "model.rel_max") = 16;
    pos_scheme_t p[POS_MAX];
    int n;
    char err[ERR_MAX];
    cr_expect_eq(pos_parse("t5", (pos_config_t[]){model_pos_config(&cfg)}, p, &n, err), -1);
    cr_expect(strstr(err, "rel_max") && strstr(err, "t5_buckets"), "%s", err);
}

Test(shaw, bias_is_query_dot_clipped_relative_key)
{
    enum { NH = 2, C = 8, HS = 4, T = 6, R = 2 };
    ModelConfig cfg = hook_config(NH, C, 8);
    *pos_opt_ptr(&cfg.pos, "model.rel_max") = R; cfg.n_layer = 2;
    pos_scheme_t p = scheme_open("shaw", &cfg);
    cr_assert(p.decl[0].ndim == 3 && p.decl[0].shape[0] == 2 && p.decl[0].shape[1] == R + 1 && p.decl[0].shape[2] == HS);
    float *r1 = p.w[0] + (R + 1) * HS;   // layer 1: r[d] = (d+1, 0, 0, 0)
    for (int d = 0; d <= R; d++) r1[d * HS] = d + 1.0f;
    float q[T * 3 * C] = {0}, pre[T * T] = {0};
    for (int i = 0; i < T; i++) q[i * 3 * C + HS] = 10.0f + i;   // head 1, channel 0
    pos_shape_t s = shape(1, T, C, NH, 0);
    p.vt->bias_forward(&p, &s, 1, 0, 1, q + HS, pre);
    for (int i = 0; i < T; i++)
        for (int j = 0; j <= i; j++) {
            int d = i - j < R ? i - j : R;
            cr_expect_float_eq(pre[i * T + j], (10.0f + i) * (d + 1) / 2.0f, 1e-5, "i %d j %d", i, j);
        }
    scheme_close(&p);
}

Test(fire, bias_is_the_mlp_of_the_log_distance_over_the_thresholded_position)
{
    enum { NH = 2, C = 8, T = 8 };
    ModelConfig cfg = hook_config(NH, C, 8);
    pos_scheme_t p = scheme_open("fire", &cfg);
    // f(x)[0] = relu(1 * x): the bias is the MLP's input; threshold L = 8 * (1 - 0.5) = 4, c = 0.1
    p.w[0][0] = 1.0f;            // w1[layer 0][0]
    p.w[2][0] = 1.0f;            // w2[layer 0][head 0][0]
    p.w[4][0] = -0.5f;           // L offset of layer 0
    float pre[T * T];
    bias_rows(&p, NH, C, T, 0, 0, pre);
    for (int i = 0; i < T; i++)
        for (int j = 0; j <= i; j++) {
            double M = i + 1 > 4 ? i + 1 : 4;
            double want = log(0.1 * (i - j) + 1) / (log(0.1 * M + 1) + 1e-6);
            cr_expect(fabs(pre[i * T + j] - want) < 1e-5, "i %d j %d: %f vs %f", i, j, pre[i * T + j], want);
        }
    scheme_close(&p);
}

Test(sinusoidal, adds_sin_and_cos_of_the_absolute_position)
{
    enum { C = 8 };
    ModelConfig cfg = hook_config(2, C, 16);
    pos_scheme_t p = scheme_open("sinusoidal", &cfg);
    float x[2 * C] = {0};
    pos_shape_t s = shape(1, 2, C, 2, 7);   // positions 7 and 8
    p.vt->embed_forward(&p, &s, x, NULL);
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < C / 2; i++) {
            double a = (7 + t) / pow(10000.0, 2.0 * i / C);
            cr_expect_float_eq(x[t * C + 2 * i], sin(a), 1e-6, "position %d column %d", 7 + t, 2 * i);
            cr_expect_float_eq(x[t * C + 2 * i + 1], cos(a), 1e-6, "position %d column %d", 7 + t, 2 * i + 1);
        }
    scheme_close(&p);
}

// ---------------------------------------------------------------- bias hooks alone
// loss = sum over (b, h, i, j <= i) of R * (what the hook adds to the logits), in double,
// so the hook's backward gets dpreatt = R; no softmax in between and far less rounding
// than the whole model, so every parameter and q are checked at h = 1e-3
static double bias_loss(pos_scheme_t *p, const pos_shape_t *s, int layer, const float *qkv, const float *R)
{
    int T = s->T, C = s->C, NH = s->NH;
    float *pre = malloc(sizeof(float) * T * T);
    double sum = 0.0;
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < NH; h++) {
            memset(pre, 0, sizeof(float) * T * T);
            p->vt->bias_forward(p, s, layer, b, h, qkv + (size_t)b * T * 3 * C + h * s->HS, pre);
            for (int i = 0; i < T; i++)
                for (int j = 0; j <= i; j++) sum += (double)R[(((size_t)b * NH + h) * T + i) * T + j] * pre[i * T + j];
        }
    free(pre);
    return sum;
}

// relative error of the gradient g (n) of the values v (n) against central differences;
// fire's ReLU and max(L, i+1) have kinks: where the difference at h/2 disagrees with the one
// at h, the loss is not smooth within +-h and the value is left out (counted in *n_kinks)
static double bias_check(pos_scheme_t *p, const pos_shape_t *s, int layer, float *qkv, const float *R,
                         float *v, const float *g, int n, int *n_kinks)
{
    double num = 0.0, den = 0.0;
    *n_kinks = 0;
    for (int k = 0; k < n; k++) {
        double fd[2];
        for (int half = 0; half < 2; half++) {
            float keep = v[k], h = half ? 5e-4f : 1e-3f;
            v[k] = keep + h; double lp = bias_loss(p, s, layer, qkv, R);
            v[k] = keep - h; double lm = bias_loss(p, s, layer, qkv, R);
            v[k] = keep;
            fd[half] = (lp - lm) / (2.0 * h);
        }
        if (fabs(fd[0] - fd[1]) > 1e-2 * (fabs(fd[0]) + fabs(fd[1])) + 2e-3) { (*n_kinks)++; continue; }
        num += (fd[0] - g[k]) * (fd[0] - g[k]);
        den += fd[0] * fd[0] + (double)g[k] * g[k];
    }
    return den < 1e-12 ? 0.0 : sqrt(num / den);
}

Test(pos, every_bias_hook_matches_finite_differences)
{
    enum { B = 2, T = 7, NH = 2, C = 8 };
    const char *specs[] = {"t5", "shaw", "fire"};
    uint64_t rng = rng_seed(12);
    float qkv[B * T * 3 * C], R[B * NH * T * T], dqkv[B * T * 3 * C];
    for (int i = 0; i < B * T * 3 * C; i++) qkv[i] = 2.0f * rng_f32(&rng) - 1.0f;
    for (int i = 0; i < B * NH * T * T; i++) R[i] = (i % T) <= (i / T) % T ? 2.0f * rng_f32(&rng) - 1.0f : 0.0f;
    for (int k = 0; k < 3; k++) {
        ModelConfig cfg = hook_config(NH, C, 8);
        cfg.n_layer = 2; *pos_opt_ptr(&cfg.pos, "model.rel_max") = 3; *pos_opt_ptr(&cfg.pos, "model.t5_buckets") = 4;
        pos_scheme_t p = scheme_open(specs[k], &cfg);
        for (int i = 0; i < p.n_params; i++) {
            size_t numel = 1;
            for (int d = 0; d < p.decl[i].ndim; d++) numel *= (size_t)p.decl[i].shape[d];
            for (size_t j = 0; j < numel; j++) p.w[i][j] = 2.0f * rng_f32(&rng) - 1.0f;
        }
        if (!strcmp(specs[k], "fire")) p.w[4][1] = 3.5f / 8 - 1.0f;   // L = 3.5 in layer 1: rows on both sides of it
        pos_shape_t s = shape(B, T, C, NH, 0);
        memset(dqkv, 0, sizeof(dqkv));
        p.vt->bias_backward(&p, &s, 1, qkv, R, dqkv);   // layer 1: per-layer tables start at an offset
        for (int i = 0; i < p.n_params; i++) {
            size_t numel = 1;
            for (int d = 0; d < p.decl[i].ndim; d++) numel *= (size_t)p.decl[i].shape[d];
            int n_kinks;
            double rel = bias_check(&p, &s, 1, qkv, R, p.w[i], p.dw[i], (int)numel, &n_kinks);
            cr_log_info("%-5s %-28s rel err %.2e (%d of %zu values at kinks)", specs[k], p.decl[i].name, rel, n_kinks, numel);
            cr_expect(rel < 5e-3, "%s: %s relative error %.3e", specs[k], p.decl[i].name, rel);
            cr_expect(n_kinks * 4 <= (int)numel, "%s: %s: %d of %zu values at kinks", specs[k], p.decl[i].name, n_kinks, numel);
        }
        int n_kinks;   // q: the whole qkv is checked, k and v columns against zero
        double rel = bias_check(&p, &s, 1, qkv, R, qkv, dqkv, B * T * 3 * C, &n_kinks);
        cr_log_info("%-5s %-28s rel err %.2e", specs[k], "q", rel);
        cr_expect(rel < 5e-3 && n_kinks == 0, "%s: dq relative error %.3e, %d kinks", specs[k], rel, n_kinks);
        scheme_close(&p);
    }
}

// ---------------------------------------------------------------- abacus
// x (B,T,C) zero, table row r = (r, 0, ...): the embedding's column 0 reads back the index
static void abacus_indices(pos_scheme_t *p, const int *tokens_full, int stride, int B, int T, int t0,
                           int training, uint64_t *rng, int *out)
{
    int C = p->decl[0].shape[1];
    for (int r = 0; r < p->decl[0].shape[0]; r++) p->w[0][r * C] = (float)r;
    float *x = calloc((size_t)B * T * C, sizeof(float));
    int *chunk = malloc(sizeof(int) * B * T);
    for (int b = 0; b < B; b++) memcpy(chunk + b * T, tokens_full + b * stride + t0, sizeof(int) * T);
    pos_shape_t s = {B, T, C, 1, C, t0, t0 + T, tokens_full, stride, training, rng, NULL};
    p->vt->embed_forward(p, &s, x, chunk);
    for (int i = 0; i < B * T; i++) out[i] = (int)x[i * C];
    free(x);
    free(chunk);
}

static int encode(const char *text, int *ids)
{
    int n;
    char err[ERR_MAX];
    ids[0] = TASK_BOS;
    cr_assert_eq(task_encode(text, ids + 1, 62, &n, err), 0, "%s", err);
    return n + 1;
}

Test(abacus, indexes_digits_within_each_number_and_continues_across_chunks)
{
    ModelConfig cfg = hook_config(1, 4, 64);
    *pos_opt_ptr(&cfg.pos, "model.abacus_max") = 32; *pos_opt_ptr(&cfg.pos, "model.abacus_k") = 10;
    pos_scheme_t p = scheme_open("abacus", &cfg);
    cr_assert_str_eq(p.decl[0].name, "transformer.abacus.weight");
    int ids[64], idx[64];
    int n = encode("$128+367=594$", ids);
    const int want[] = {0, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0};
    cr_assert_eq(n, 14);
    abacus_indices(&p, ids, n, 1, n, 0, 0, NULL, idx);
    for (int t = 0; t < n; t++) cr_expect_eq(idx[t], want[t], "position %d: index %d, want %d", t, idx[t], want[t]);
    // decoding chunks: "67=" at t0 = 7 and "4" at t0 = 12 count the digits fed before them
    abacus_indices(&p, ids, n, 1, 3, 7, 0, NULL, idx);
    for (int t = 0; t < 3; t++) cr_expect_eq(idx[t], want[7 + t], "chunk at 7, row %d: %d", t, idx[t]);
    abacus_indices(&p, ids, n, 1, 1, 12, 0, NULL, idx);
    cr_expect_eq(idx[0], 3, "chunk at 12: %d", idx[0]);
    scheme_close(&p);
}

Test(abacus, training_adds_one_offset_in_0_to_k_to_every_digit_of_the_batch)
{
    enum { K = 3, T = 14 };
    ModelConfig cfg = hook_config(1, 4, 64);
    *pos_opt_ptr(&cfg.pos, "model.abacus_max") = 32; *pos_opt_ptr(&cfg.pos, "model.abacus_k") = K;
    pos_scheme_t p = scheme_open("abacus", &cfg);
    int ids[2 * T], base[2 * T], idx[2 * T], seen[K + 1] = {0};
    cr_assert_eq(encode("$128+367=594$", ids), T);
    cr_assert_eq(encode("$9+12=21$<<<<", ids + T), T);
    abacus_indices(&p, ids, T, 2, T, 0, 0, NULL, base);
    uint64_t rng = rng_seed(4);
    for (int draw = 0; draw < 100; draw++) {
        abacus_indices(&p, ids, T, 2, T, 0, 1, &rng, idx);
        int k = -1;
        for (int i = 0; i < 2 * T; i++) {
            if (!base[i]) { cr_expect_eq(idx[i], 0, "non-digit at %d got index %d", i, idx[i]); continue; }
            if (k < 0) k = idx[i] - base[i];
            cr_expect_eq(idx[i] - base[i], k, "draw %d: digit %d has offset %d, the batch %d", draw, i, idx[i] - base[i], k);
        }
        cr_assert(k >= 0 && k <= K, "offset %d outside [0, %d]", k, K);
        seen[k]++;
    }
    for (int k = 0; k <= K; k++) cr_expect(seen[k] > 0, "offset %d never drawn in 100 batches", k);
    abacus_indices(&p, ids, T, 2, T, 0, 0, &rng, idx);   // evaluation: no offset
    cr_expect(memcmp(idx, base, sizeof(idx)) == 0, "evaluation indices moved");
    scheme_close(&p);
}

Test(abacus, clamps_indices_past_the_table_to_its_last_row)
{
    ModelConfig cfg = hook_config(1, 4, 64);
    *pos_opt_ptr(&cfg.pos, "model.abacus_max") = 4; *pos_opt_ptr(&cfg.pos, "model.abacus_k") = 0;
    pos_scheme_t p = scheme_open("abacus", &cfg);
    int ids[64], idx[64];
    int n = encode("123456+7", ids);
    const int want[] = {0, 1, 2, 3, 3, 3, 3, 0, 1};
    abacus_indices(&p, ids, n, 1, n, 0, 0, NULL, idx);
    for (int t = 0; t < n; t++) cr_expect_eq(idx[t], want[t], "position %d: %d", t, idx[t]);
    scheme_close(&p);
}

// ---------------------------------------------------------------- the spec parser
static void close_parsed(pos_scheme_t *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i].vt && p[i].vt->free) p[i].vt->free(&p[i]);
}

Test(pos_parse, rejects_an_unknown_scheme_listing_the_accepted_names)
{
    ModelConfig cfg = hook_config(2, 8, 16);
    pos_scheme_t p[POS_MAX];
    int n;
    char err[ERR_MAX];
    cr_expect_eq(pos_parse("rope+bogus", (pos_config_t[]){model_pos_config(&cfg)}, p, &n, err), -1);
    close_parsed(p, n);
    cr_expect(strstr(err, "'bogus'") != NULL, "%s", err);
    const char *names[] = {"absolute", "nope", "sinusoidal", "rope", "alibi", "t5", "shaw", "fire", "abacus"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cr_expect(strstr(err, names[i]) != NULL, "'%s' not listed: %s", names[i], err);
}

Test(pos_parse, rejects_a_scheme_named_twice)
{
    ModelConfig cfg = hook_config(2, 8, 16);
    pos_scheme_t p[POS_MAX];
    int n;
    char err[ERR_MAX];
    cr_expect_eq(pos_parse("abacus+rope+abacus", (pos_config_t[]){model_pos_config(&cfg)}, p, &n, err), -1);
    close_parsed(p, n);
    cr_expect(strstr(err, "'abacus'") && strstr(err, "twice"), "%s", err);
}

Test(pos_parse, combines_abacus_with_another_scheme_in_order)
{
    ModelConfig cfg = hook_config(2, 8, 16);
    pos_scheme_t p[POS_MAX];
    int n;
    char err[ERR_MAX];
    const char *specs[][2] = {{"abacus", "rope"}, {"abacus", "nope"}};
    for (int k = 0; k < 2; k++) {
        char spec[64];
        snprintf(spec, sizeof(spec), "%s+%s", specs[k][0], specs[k][1]);
        cr_assert_eq(pos_parse(spec, (pos_config_t[]){model_pos_config(&cfg)}, p, &n, err), 0, "%s: %s", spec, err);
        cr_expect_eq(n, 2);
        cr_expect_str_eq(p[0].vt->name, specs[k][0]);
        cr_expect_str_eq(p[1].vt->name, specs[k][1]);
        close_parsed(p, n);
    }
}
