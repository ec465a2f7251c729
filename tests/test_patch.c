// test_patch.c: interventions (model/patch.h) and activation patching and
// ablation (probes/patch.h), on a planted model whose answer has one known path,
// on random models (a whole residual patched gives the clean logits), and
// through the `arithlab patch` and `arithlab ablate` commands.
#include <math.h>
#include <sys/stat.h>
#include "tests/test_util.h"
#include "model/model.h"
#include "model/patch.h"
#include "model/inspect.h"
#include "probes/patch.h"
#include "tasks/task.h"

TestSuite(patch, .init = scratch_enter, .fini = scratch_leave);

// ---------------------------------------------------------------- the planted model
// One block, two heads of width 4, C = 8, no LayerNorm, no positions, an MLP of
// zeros, queries and keys zero (every head averages the positions so far). Both
// heads' values copy the token features in dims 0..3. Head 0's output projection
// writes them to dims 4..7, head 1's to dims 0..3. The unembedding reads only dims
// 4..7: logit(v) = <f(v), head 0's output>. So the answer's only path is head 0.
#define PV 8
#define PC 8
static const float FEAT[PV][4] = {
    {0, 0, 0, 0}, {0, 0, 0.5f, 0}, {3, 0, 0, 0}, {0, 0, 0, 0.5f},
    {0, 0, 0.3f, 0.3f}, {0, 3, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0},
};
static const int CLEAN[4] = {1, 2, 3, 4}, CORRUPT[4] = {1, 5, 3, 4};   // answer: 2 vs 5

static float *tensor(Model *m, const char *name)
{
    ParamInfo *p = model_find_tensor(m, name);
    cr_assert_not_null(p, "no tensor %s", name);
    return m->params + p->offset;
}

static void planted_model(Model *m, int B)
{
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = PV; cfg.block_size = 8; cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = PC; cfg.mlp_hidden = 8;
    cfg.tied = 0;
    snprintf(cfg.position, sizeof cfg.position, "nope");
    snprintf(cfg.norm, sizeof cfg.norm, "none");
    snprintf(cfg.head, sizeof cfg.head, "lm");
    char err[ERR_MAX];
    cr_assert_eq(model_build(m, &cfg, B, 8, 1, err), 0, "%s", err);
    memset(m->params, 0, sizeof(float) * m->n_params);
    float *wte = tensor(m, "transformer.wte.weight"), *qkv = tensor(m, "transformer.h.0.attn.c_attn.weight");
    float *proj = tensor(m, "transformer.h.0.attn.c_proj.weight"), *head = tensor(m, "lm_head.weight");
    for (int v = 0; v < PV; v++)
        for (int k = 0; k < 4; k++) { wte[v * PC + k] = FEAT[v][k]; head[v * PC + 4 + k] = FEAT[v][k]; }
    for (int k = 0; k < 4; k++) {
        qkv[(2 * PC + k) * PC + k] = 1.0f;       // head 0's value: dims 0..3
        qkv[(2 * PC + 4 + k) * PC + k] = 1.0f;   // head 1's value: dims 0..3
        proj[(4 + k) * PC + k] = 1.0f;           // head 0 -> dims 4..7 (read by the unembedding)
        proj[k * PC + 4 + k] = 1.0f;             // head 1 -> dims 0..3 (not read)
    }
}

static double last_ld(const Model *m, int row, int T)
{
    const float *l = m->logits + ((size_t)row * T + T - 1) * m->cfg.vocab_size;
    return (double)l[2] - l[5];
}

Test(patch, planted_model_answers_through_head_0)
{
    Model m;
    planted_model(&m, 16);
    model_forward(&m, CLEAN, NULL, 1, 4);
    double clean = last_ld(&m, 0, 4);
    model_forward(&m, CORRUPT, NULL, 1, 4);
    double corrupt = last_ld(&m, 0, 4);
    cr_assert_gt(clean - corrupt, 1.0, "the planted gap: clean %g, corrupted %g", clean, corrupt);
    model_free(&m);
}

Test(patch, planted_head_restores_everything_and_others_nothing)
{
    Model m;
    planted_model(&m, 16);
    probe_patch_sums s;
    char err[ERR_MAX];
    cr_assert_eq(probe_patch_sums_init(&s, &m, err), 0, "%s", err);
    int want[1] = {2};
    double ld[2];
    cr_assert_eq(probe_patch_pair(&m, CLEAN, CORRUPT, 4, 2, 5, want, 1, &s, ld, err), 0, "%s", err);
    cr_assert_eq(s.clean_exact, 1, "the clean run answers 2");
    cr_assert_eq(s.corrupt_exact, 0, "the corrupted run does not");
    cr_assert_float_eq(probe_patch_restored(&s, PROBE_PATCH_HEAD, 0, 0), 1.0, 1e-6, "head 0 restores all");
    cr_assert_float_eq(probe_patch_restored(&s, PROBE_PATCH_HEAD, 0, 1), 0.0, 1e-6, "head 1 restores nothing");
    cr_assert_float_eq(probe_patch_exact(&s, PROBE_PATCH_HEAD, 0, 0), 1.0, 0, "head 0: the clean answer");
    cr_assert_float_eq(probe_patch_exact(&s, PROBE_PATCH_HEAD, 0, 1), 0.0, 0, "head 1: still corrupted");
    for (int t = 0; t < 4; t++) {
        // the embeddings: only the changed position matters; after the block only the last
        cr_assert_float_eq(probe_patch_restored(&s, PROBE_PATCH_RESID, 0, t), t == 1 ? 1.0 : 0.0, 1e-6, "embed at %d", t);
        cr_assert_float_eq(probe_patch_restored(&s, PROBE_PATCH_RESID, 1, t), t == 3 ? 1.0 : 0.0, 1e-6, "L0 at %d", t);
        cr_assert_float_eq(probe_patch_restored(&s, PROBE_PATCH_MLP, 0, t), 0.0, 1e-6, "the MLP adds nothing (%d)", t);
    }
    probe_patch_sums_free(&s);
    model_free(&m);
}

Test(patch, planted_zero_ablation_of_the_path_head_silences_the_logits)
{
    Model m;
    planted_model(&m, 4);
    model_forward(&m, CLEAN, NULL, 1, 4);
    float ref[4 * PV];
    memcpy(ref, m.logits, sizeof ref);
    for (int h = 0; h < 2; h++) {
        model_patch_t p = {MODEL_SITE_HEAD, 0, h, -1, -1, NULL, 0, 0, 0};
        model_intervention_t iv = {&p, 1};
        m.intervene = &iv;
        model_forward(&m, CLEAN, NULL, 1, 4);
        m.intervene = NULL;
        for (int i = 0; i < 4 * PV; i++)
            cr_assert_float_eq(m.logits[i], h == 0 ? 0.0f : ref[i], 0, "head %d ablated, logit %d", h, i);
    }
    model_free(&m);
}

// ---------------------------------------------------------------- random models

static void random_model(Model *m, int post_ln, int n_loops, int B)
{
    TaskConfig tc;
    task_config_default(&tc);
    tc.max_len = 2;
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = task_vocab_size();
    cfg.block_size = 16; cfg.n_layer = 2; cfg.n_head = 2; cfg.n_embd = 16;
    cfg.post_ln = post_ln; cfg.n_loops = n_loops;
    char err[ERR_MAX];
    cr_assert_eq(model_build(m, &cfg, B, 16, 7 + post_ln, err), 0, "%s", err);
}

static void fill_tokens(int *tok, int n, uint64_t seed)
{
    uint64_t rng = rng_seed(seed);
    for (int i = 0; i < n; i++) tok[i] = TASK_DIGIT0 + rng_int(&rng, 10);
}

Test(patch, whole_residual_of_a_pass_gives_the_clean_logits_exactly)
{
    enum { B = 3, T = 9 };
    for (int variant = 0; variant < 3; variant++) {   // pre-LN, post-LN, looped
        Model m;
        random_model(&m, variant == 1, variant == 2 ? 2 : 1, B);
        int clean[B * T], corrupt[B * T];
        fill_tokens(clean, B * T, 1);
        fill_tokens(corrupt, B * T, 2);
        int V = m.cfg.vocab_size, P = model_n_passes(&m);
        size_t NV = (size_t)B * T * V, NC = (size_t)B * T * m.cfg.n_embd;
        float *want = malloc(sizeof(float) * NV), *resid = malloc(sizeof(float) * NC * (P + 1));
        model_forward(&m, clean, NULL, B, T);
        memcpy(want, m.logits, sizeof(float) * NV);
        char err[ERR_MAX];
        for (int p = -1; p < P; p++) cr_assert_eq(model_patch_read(&m, MODEL_SITE_RESID, p, -1, resid + (p + 1) * NC, err), 0, "%s", err);
        for (int p = -1; p < P; p++) {
            model_patch_t pt = {MODEL_SITE_RESID, p, 0, -1, -1, resid + (p + 1) * NC, T, 0, (size_t)T * m.cfg.n_embd};
            model_intervention_t iv = {&pt, 1};
            cr_assert_eq(model_intervention_check(&m, &iv, err), 0, "%s", err);
            m.intervene = &iv;
            model_forward(&m, corrupt, NULL, B, T);
            m.intervene = NULL;
            // a looped model injects the (corrupted) embeddings again before pass n_layer: a
            // patch before it restores nothing exactly; the pass -1 patch feeds the injections too
            int restores = variant != 2 || p == -1 || p >= m.cfg.n_layer;
            float maxd = 0;
            for (size_t i = 0; i < NV; i++) maxd = fmaxf(maxd, fabsf(m.logits[i] - want[i]));
            if (restores) cr_assert_leq(maxd, 1e-6, "variant %d, pass %d: logits off by %g", variant, p, maxd);
            else cr_assert_gt(maxd, 1e-3, "variant %d, pass %d: the injection should carry the corruption", variant, p);
        }
        free(want); free(resid);
        model_free(&m);
    }
}

Test(patch, empty_intervention_changes_no_bit_and_own_values_change_nothing)
{
    enum { B = 2, T = 7 };
    Model m;
    random_model(&m, 0, 1, B);
    int tok[B * T];
    fill_tokens(tok, B * T, 3);
    size_t NV = (size_t)B * T * m.cfg.vocab_size, NC = (size_t)B * T * m.cfg.n_embd;
    float *want = malloc(sizeof(float) * NV), *mlp = malloc(sizeof(float) * NC), *heads = malloc(sizeof(float) * NC);
    model_forward(&m, tok, NULL, B, T);
    memcpy(want, m.logits, sizeof(float) * NV);
    char err[ERR_MAX];
    cr_assert_eq(model_patch_read(&m, MODEL_SITE_MLP, 1, -1, mlp, err), 0, "%s", err);
    cr_assert_eq(model_patch_read(&m, MODEL_SITE_HEAD, 0, -1, heads, err), 0, "%s", err);
    model_intervention_t none = {NULL, 0};
    m.intervene = &none;
    model_forward(&m, tok, NULL, B, T);
    cr_assert_eq(memcmp(m.logits, want, sizeof(float) * NV), 0, "an empty intervention changed the logits");
    model_patch_t pts[2] = {
        {MODEL_SITE_MLP, 1, 0, -1, -1, mlp, T, 0, (size_t)T * m.cfg.n_embd},
        {MODEL_SITE_HEAD, 0, 1, -1, -1, heads + m.cfg.n_embd / 2, T, (size_t)m.cfg.n_embd, (size_t)T * m.cfg.n_embd},
    };
    model_intervention_t own = {pts, 2};
    m.intervene = &own;
    model_forward(&m, tok, NULL, B, T);
    m.intervene = NULL;
    for (size_t i = 0; i < NV; i++) cr_assert_float_eq(m.logits[i], want[i], 1e-5, "logit %zu", i);
    free(want); free(mlp); free(heads);
    model_free(&m);
}

Test(patch, patch_applies_at_its_position_in_a_cached_forward)
{
    enum { T = 8 };
    Model m;
    random_model(&m, 0, 1, 1);
    int tok[T];
    fill_tokens(tok, T, 4);
    model_patch_t pt = {MODEL_SITE_HEAD, 1, 0, 5, -1, NULL, 0, 0, 0};   // zero head 0 of pass 1 at position 5
    model_intervention_t iv = {&pt, 1};
    m.intervene = &iv;
    model_forward(&m, tok, NULL, 1, T);
    size_t V = m.cfg.vocab_size;
    float *want = malloc(sizeof(float) * T * V);
    memcpy(want, m.logits, sizeof(float) * T * V);
    // the same in chunks of the key/value cache: positions 0..4, then one at a time
    cr_assert_eq(model_forward_cached(&m, tok, T, 1, 0, 5), 0);
    for (size_t i = 0; i < 5 * V; i++) cr_assert_float_eq(m.logits[i], want[i], 1e-5, "chunk 0, logit %zu", i);
    for (int t = 5; t < T; t++) {
        cr_assert_eq(model_forward_cached(&m, tok, T, 1, t, 1), 0);
        for (size_t i = 0; i < V; i++) cr_assert_float_eq(m.logits[i], want[t * V + i], 1e-5, "position %d, logit %zu", t, i);
    }
    m.intervene = NULL;
    free(want);
    model_free(&m);
}

Test(patch, check_names_the_bad_field)
{
    Model m;
    random_model(&m, 0, 1, 1);
    char err[ERR_MAX];
    model_patch_t bad[] = {
        {MODEL_SITE_HEAD, 0, 2, -1, -1, NULL, 0, 0, 0},
        {MODEL_SITE_MLP, -1, 0, -1, -1, NULL, 0, 0, 0},
        {MODEL_SITE_RESID, 2, 0, -1, -1, NULL, 0, 0, 0},
        {MODEL_SITE_RESID, 0, 0, 16, -1, NULL, 0, 0, 0},
    };
    const char *word[] = {"head 2", "pass -1", "pass 2", "position 16"};
    for (int i = 0; i < 4; i++) {
        model_intervention_t iv = {&bad[i], 1};
        cr_assert_eq(model_intervention_check(&m, &iv, err), -1, "patch %d accepted", i);
        cr_assert(strstr(err, word[i]), "'%s' should name %s", err, word[i]);
    }
    model_free(&m);
}

// ---------------------------------------------------------------- pairs

Test(patch, generated_pairs_differ_in_one_digit_or_in_the_carry)
{
    TaskConfig tc;
    task_config_default(&tc);
    tc.max_len = 3;
    tc.space_prob = 0; tc.hint_random_start = 0;
    probe_patch_pair_t *p;
    char err[ERR_MAX];
    cr_assert_eq(probe_patch_make_pairs(&tc, PROBE_PAIRS_DIGIT, 3, 20, 1, &p, err), 0, "%s", err);
    for (int i = 0; i < 20; i++) {
        int diff = 0;
        for (int k = 0; p[i].clean.problem[k]; k++) diff += p[i].clean.problem[k] != p[i].corrupt.problem[k];
        cr_assert_eq(diff, 1, "%s vs %s", p[i].clean.problem, p[i].corrupt.problem);
        cr_assert_neq(p[i].tok_clean, p[i].tok_corrupt);
        cr_assert_eq(p[i].clean.tokens[p[i].T], p[i].tok_clean);
    }
    free(p);
    cr_assert_eq(probe_patch_make_pairs(&tc, PROBE_PAIRS_CARRY, 3, 20, 1, &p, err), 0, "%s", err);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(p[i].clean.n_carries, 3, "%s: a carry through every place", p[i].clean.problem);
        cr_assert_eq(p[i].corrupt.n_carries, 0, "%s: no carry", p[i].corrupt.problem);
    }
    free(p);
    tc.task = TASK_MUL;
    cr_assert_eq(probe_patch_make_pairs(&tc, PROBE_PAIRS_CARRY, 3, 4, 1, &p, err), -1);
    cr_assert(strstr(err, "task add"), "%s", err);
}

// ---------------------------------------------------------------- the commands

// a run trained for a few steps (its checkpoint carries the task): init.safetensors
static void init_ckpt(void)
{
    char cmd[1024], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --out run --set train.steps=10 --set model.n_layer=1 --set model.n_embd=16 "
             "--set model.n_head=2 --set train.eval_every=0 --set eval.per_cell=1 --set eval.n_population=0 "
             "--set task.max_len=2 --set task.pad_width=0 --set train.threads=1 && ln -s run/ckpt.safetensors init.safetensors",
             ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
}

Test(patch, command_writes_grids_for_one_pair)
{
    init_ckpt();
    char cmd[1024], out[16384];
    snprintf(cmd, sizeof cmd, "%s patch --checkpoint init.safetensors --clean '35+47' --corrupt '35+42' --out p --threads 1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    const char *files[] = {"p/patch_resid.csv", "p/patch_resid.npy", "p/patch_resid.png", "p/patch_mlp.csv",
                           "p/patch_heads.csv", "p/patch_heads.npy", "p/patch_heads_exact.npy", "p/patch_heads.png"};
    struct stat st;
    for (int i = 0; i < 8; i++) cr_assert_eq(stat(files[i], &st), 0, "%s missing; output:\n%s", files[i], out);
    cr_assert(strstr(out, "heads (share"), "%s", out);
}

Test(patch, command_batch_and_ablate_run)
{
    init_ckpt();
    char cmd[1024], out[16384];
    snprintf(cmd, sizeof cmd, "%s patch --checkpoint init.safetensors --pairs digit --n 3 --out b --threads 1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "pairs 3"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s ablate --checkpoint init.safetensors --mode mean --n 8 --ref 8 --out a --threads 1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    struct stat st;
    cr_assert_eq(stat("a/ablate.csv", &st), 0, "%s", out);
    cr_assert_eq(stat("a/ablate.png", &st), 0, "%s", out);
}

Test(patch, commands_refuse_bad_flags_naming_them)
{
    init_ckpt();
    struct { const char *args, *word; } cases[] = {
        {"patch --checkpoint init.safetensors --out x --pairs sideways", "--pairs 'sideways': accepted digit or carry"},
        {"patch --checkpoint init.safetensors --out x --clean 1+2", "--corrupt go together"},
        {"patch --checkpoint init.safetensors --out x --clean 5+7 --corrupt 15+7", "same length"},
        {"patch --checkpoint init.safetensors --out x --clean 5+7 --corrupt 7+5", "same answer"},
        {"patch --checkpoint init.safetensors --out x --clean 5+x --corrupt 5+7", "--clean '5+x'"},
        {"patch --checkpoint init.safetensors --out x --pairs carry --digits 1", "at least 2"},
        {"patch --out x --pairs digit", "--checkpoint FILE (or --run DIR) is required"},
        {"ablate --checkpoint init.safetensors --out x --mode half", "--mode 'half': accepted zero or mean"},
        {"ablate --checkpoint init.safetensors --out x --n 0", "--n 0: accepted"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[1024], out[8192];
        snprintf(cmd, sizeof cmd, "%s %s", ARITHLAB_BIN, cases[i].args);
        cr_assert_eq(run(cmd, out, sizeof out), 2, "%s: %s", cases[i].args, out);
        cr_assert(strstr(out, cases[i].word), "%s: '%s' should say '%s'", cases[i].args, out, cases[i].word);
    }
    char out[8192], cmd[512];
    snprintf(cmd, sizeof cmd, "%s patch --help", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "--corrupt") && strstr(out, "--pairs"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s ablate --help", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "--mode"), "%s", out);
}
