// test_cache.c: the activation cache (probes/cache.h, `arithlab cache`): every
// hook written with the shape its index names, values checked against
// computations of their own (the heads' z through W_O is hook_attn_out; the final
// norm's output through the unembedding is the model's logits; the residual
// stream's pieces add up; pattern rows sum to one), looped models named per pass,
// --hooks selection, and the command's refusals (memory, flags, --out, problems).
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <cJSON.h>
#include <math.h>
#include <sys/stat.h>
#include "core/npy.h"
#include "model/inspect.h"
#include "probes/cache.h"
#include "tests/test_task_util.h"

// ---------------------------------------------------------------- helpers

static void model_for_quickstart(Model *m, int n_layer, int n_loops, int B, uint64_t seed)
{
    ModelConfig cfg = model_config_quickstart(n_layer, 2, 16);
    cfg.n_loops = n_loops;
    model_build_quickstart(m, &cfg, B, seed);
    // every parameter moved off its init (biases are 0 there, LayerNorm gains 1), so that
    // a hook that left out a bias or a gain would show
    uint64_t rng = rng_seed(seed + 1);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] += 0.2f * (rng_f32(&rng) - 0.5f);
}

static TaskExample *examples(int n, uint64_t seed)
{
    char err[ERR_MAX];
    TaskConfig tc = task_config_quickstart();
    tc.max_len = 3;   // problems of different lengths: the batch is padded
    tc.pad_width = 0;
    TaskExample *ex = malloc(sizeof(TaskExample) * n);
    uint64_t rng = rng_seed(seed);
    for (int i = 0; i < n; i++) cr_assert_eq(task_generate(&tc, &rng, TASK_SPLIT_ANY, &ex[i], err), 0, "%s", err);
    return ex;
}

// plan and write a cache of n examples in batches of B into tmpdir
static void write_cache(Model *m, const TaskExample *ex, int n, int B, const char *select, probe_cache_plan *plan)
{
    char err[ERR_MAX];
    cr_assert_eq(probe_cache_plan_make(&m->cfg, n, probe_cache_positions(ex, n), B, select, plan, err), 0, "%s", err);
    cr_assert_eq(probe_cache_write(m, plan, ex, n, tmpdir, NULL, err), 0, "%s", err);
}

static NpyArray read_hook(const char *name)
{
    char file[128], err[ERR_MAX];
    NpyArray a;
    snprintf(file, sizeof file, "%s.npy", name);
    cr_assert_eq(npy_read(tmp_path(file), &a, err), 0, "%s", err);
    cr_assert_eq(a.dtype, NPY_F32, "%s is not float32", name);
    return a;
}

static float max_rel(const float *got, const float *want, size_t n)
{
    float d = 0.0f, s = 1e-6f;
    for (size_t i = 0; i < n; i++) {
        d = fmaxf(d, fabsf(got[i] - want[i]));
        s = fmaxf(s, fabsf(want[i]));
    }
    return d / s;
}

static cJSON *read_index(void)
{
    size_t n;
    unsigned char *text = read_bytes(tmp_path("index.json"), &n);
    cJSON *j = cJSON_ParseWithLength((const char *)text, n);
    free(text);
    cr_assert_not_null(j, "index.json is not JSON");
    return j;
}

TestSuite(cache, .init = tmp_setup, .fini = tmp_teardown);

// ---------------------------------------------------------------- files and index

Test(cache, writes_every_hook_with_the_shape_and_axes_the_index_names)
{
    Model m;
    model_for_quickstart(&m, 2, 1, 4, 3);
    TaskExample *ex = examples(6, 5);   // batches of 4 and 2
    probe_cache_plan *plan = malloc(sizeof *plan);
    write_cache(&m, ex, 6, 4, NULL, plan);
    cr_assert_eq(plan->n_hooks, 2 + 6 * 2 + 1);
    cJSON *idx = read_index(), *hooks = cJSON_GetObjectItem(idx, "hooks");
    cr_assert_eq(cJSON_GetArraySize(hooks), plan->n_hooks);
    const char *names[] = {"hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre", "blocks.1.attn.hook_pattern",
                           "blocks.1.attn.hook_z", "blocks.0.hook_attn_out", "blocks.1.mlp.hook_post",
                           "blocks.1.hook_resid_post", "ln_final.hook_normalized"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        cJSON *e = cJSON_GetObjectItem(hooks, names[k]);
        cr_assert_not_null(e, "index.json lacks %s", names[k]);
        NpyArray a = read_hook(names[k]);
        cJSON *shape = cJSON_GetObjectItem(e, "shape"), *axes = cJSON_GetObjectItem(e, "axes");
        cr_assert_eq(cJSON_GetArraySize(shape), a.ndim, "%s", names[k]);
        cr_assert_eq(cJSON_GetArraySize(axes), a.ndim, "%s", names[k]);
        for (int d = 0; d < a.ndim; d++)
            cr_assert_eq((int64_t)cJSON_GetArrayItem(shape, d)->valuedouble, a.shape[d], "%s axis %d", names[k], d);
        cr_assert_eq(a.shape[0], 6);
        npy_free(&a);
    }
    NpyArray z = read_hook("blocks.1.attn.hook_z");
    cr_assert_eq(z.shape[2], 2);
    cr_assert_eq(z.shape[3], 8);
    cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(hooks, "blocks.1.attn.hook_z"), "axes"), 3)->valuestring,
                     "d_head");
    npy_free(&z);
    // the tokens, and their strings: row 0 starts with <bos>
    NpyArray tok;
    char err[ERR_MAX];
    cr_assert_eq(npy_read(tmp_path("tokens.npy"), &tok, err), 0, "%s", err);
    cr_assert_eq(tok.dtype, NPY_I32);
    cr_assert_eq(tok.shape[0], 6);
    cr_assert_eq(tok.shape[1], plan->T);
    cr_assert_eq(((int32_t *)tok.data)[0], TASK_BOS);
    cJSON *row0 = cJSON_GetArrayItem(cJSON_GetObjectItem(idx, "token_strings"), 0);
    cr_assert_str_eq(cJSON_GetArrayItem(row0, 0)->valuestring, "<bos>");
    cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(idx, "problems"), 5)->valuestring, ex[5].problem);
    npy_free(&tok);
    cJSON_Delete(idx);
    free(plan); free(ex);
    model_free(&m);
}

// ---------------------------------------------------------------- values

Test(cache, attn_out_is_the_sum_over_heads_of_z_through_W_O)
{
    Model m;
    model_for_quickstart(&m, 2, 1, 4, 7);
    TaskExample *ex = examples(4, 9);
    probe_cache_plan *plan = malloc(sizeof *plan);
    write_cache(&m, ex, 4, 4, NULL, plan);
    int C = m.cfg.n_embd, NH = m.cfg.n_head, HS = C / NH;
    for (int l = 0; l < 2; l++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%d.attn.hook_z", l);
        NpyArray z = read_hook(name);
        snprintf(name, sizeof name, "blocks.%d.hook_attn_out", l);
        NpyArray out = read_hook(name);
        snprintf(name, sizeof name, "transformer.h.%d.attn.c_proj.weight", l);
        const ParamInfo *w = model_find_tensor(&m, name);
        snprintf(name, sizeof name, "transformer.h.%d.attn.c_proj.bias", l);
        const ParamInfo *b = model_find_tensor(&m, name);
        cr_assert(w && b);
        const float *W = m.params + w->offset, *bias = m.params + b->offset;   // W (C out, C in)
        size_t N = out.numel / C;
        float *want = malloc(sizeof(float) * out.numel);
        for (size_t n = 0; n < N; n++)
            for (int o = 0; o < C; o++) {
                double s = bias[o];
                for (int h = 0; h < NH; h++)   // head h's own piece: its d_head columns of W_O
                    for (int d = 0; d < HS; d++) s += (double)((float *)z.data)[n * C + h * HS + d] * W[(size_t)o * C + h * HS + d];
                want[n * C + o] = (float)s;
            }
        float e = max_rel(out.data, want, out.numel);
        cr_assert_lt(e, 1e-5f, "layer %d: hook_attn_out differs from sum_h z_h W_O,h + b_O by %g", l, e);
        free(want); npy_free(&z); npy_free(&out);
    }
    free(plan); free(ex);
    model_free(&m);
}

Test(cache, ln_final_through_the_unembedding_is_the_models_logits)
{
    Model m;
    model_for_quickstart(&m, 2, 1, 3, 11);
    TaskExample *ex = examples(3, 13);
    probe_cache_plan *plan = malloc(sizeof *plan);
    write_cache(&m, ex, 3, 3, NULL, plan);
    NpyArray lnf = read_hook("ln_final.hook_normalized"), tok;
    char err[ERR_MAX];
    cr_assert_eq(npy_read(tmp_path("tokens.npy"), &tok, err), 0, "%s", err);
    int B = (int)tok.shape[0], T = (int)tok.shape[1], C = m.cfg.n_embd, V = m.cfg.vocab_size;
    model_forward(&m, tok.data, NULL, B, T);   // a forward of its own, logits (B,T,V)
    float *want = malloc(sizeof(float) * (size_t)B * T * V);
    for (int n = 0; n < B * T; n++)
        for (int v = 0; v < V; v++) {
            double s = 0;
            for (int c = 0; c < C; c++) s += (double)((float *)lnf.data)[(size_t)n * C + c] * m.lm_head[(size_t)v * C + c];
            want[(size_t)n * V + v] = (float)s;
        }
    float e = max_rel(m.logits, want, (size_t)B * T * V);
    cr_assert_lt(e, 1e-5f, "ln_final.hook_normalized @ W_U differs from the logits by %g", e);
    free(want); npy_free(&lnf); npy_free(&tok); free(plan); free(ex);
    model_free(&m);
}

Test(cache, residual_pieces_add_up_and_patterns_are_causal_distributions)
{
    Model m;
    model_for_quickstart(&m, 2, 1, 4, 17);
    TaskExample *ex = examples(4, 19);
    probe_cache_plan *plan = malloc(sizeof *plan);
    write_cache(&m, ex, 4, 4, NULL, plan);
    NpyArray emb = read_hook("hook_embed"), pos = read_hook("hook_pos_embed"), pre0 = read_hook("blocks.0.hook_resid_pre");
    NpyArray post0 = read_hook("blocks.0.hook_resid_post"), pre1 = read_hook("blocks.1.hook_resid_pre");
    NpyArray pat = read_hook("blocks.0.attn.hook_pattern");
    float *sum = malloc(sizeof(float) * emb.numel);
    for (size_t i = 0; i < emb.numel; i++) sum[i] = ((float *)emb.data)[i] + ((float *)pos.data)[i];
    cr_assert_lt(max_rel(sum, pre0.data, emb.numel), 1e-6f, "hook_embed + hook_pos_embed is not resid_pre of block 0");
    cr_assert_eq(memcmp(post0.data, pre1.data, sizeof(float) * post0.numel), 0, "resid_pre(1) is not resid_post(0)");
    // the token embedding of row 0, position 0 is wte[<bos>]
    cr_assert_eq(memcmp(emb.data, m.wte + (size_t)TASK_BOS * m.cfg.n_embd, sizeof(float) * m.cfg.n_embd), 0);
    int T = (int)pat.shape[2];
    for (size_t r = 0; r < pat.numel / T; r++) {
        int q = (int)(r % T);
        double s = 0;
        for (int k = 0; k < T; k++) {
            float a = ((float *)pat.data)[r * T + k];
            if (k > q) cr_assert_eq(a, 0.0f, "attention above the diagonal at query %d key %d", q, k);
            s += a;
        }
        cr_assert(fabs(s - 1.0) < 1e-5, "pattern row %zu sums to %g", r, s);
    }
    free(sum);
    npy_free(&emb); npy_free(&pos); npy_free(&pre0); npy_free(&post0); npy_free(&pre1); npy_free(&pat);
    free(plan); free(ex);
    model_free(&m);
}

Test(cache, looped_model_is_named_per_pass_with_the_injection_in_resid_pre)
{
    Model m;
    model_for_quickstart(&m, 1, 3, 2, 23);
    TaskExample *ex = examples(2, 29);
    probe_cache_plan *plan = malloc(sizeof *plan);
    write_cache(&m, ex, 2, 2, NULL, plan);
    cr_assert_eq(plan->n_hooks, 2 + 6 * 3 + 1);
    NpyArray post0 = read_hook("blocks.0.hook_resid_post"), pre1 = read_hook("blocks.1.hook_resid_pre");
    NpyArray emb = read_hook("hook_embed"), pos = read_hook("hook_pos_embed");
    NpyArray post2 = read_hook("blocks.2.hook_resid_post");
    float *want = malloc(sizeof(float) * emb.numel);
    for (size_t i = 0; i < emb.numel; i++)
        want[i] = ((float *)post0.data)[i] + ((float *)emb.data)[i] + ((float *)pos.data)[i];
    cr_assert_lt(max_rel(pre1.data, want, emb.numel), 1e-6f, "an injected pass's resid_pre is resid_post + the embeddings");
    cJSON *idx = read_index();
    cJSON *e = cJSON_GetObjectItem(cJSON_GetObjectItem(idx, "hooks"), "blocks.2.mlp.hook_post");
    cr_assert_not_null(e);
    cr_assert_eq(cJSON_GetObjectItem(e, "block")->valueint, 0);
    cr_assert_eq(cJSON_GetObjectItem(e, "loop")->valueint, 2);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e, "injected")));
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(idx, "model"), "n_passes")->valueint, 3);
    cJSON_Delete(idx);
    free(want);
    npy_free(&post0); npy_free(&pre1); npy_free(&emb); npy_free(&pos); npy_free(&post2);
    free(plan); free(ex);
    model_free(&m);
}

// ---------------------------------------------------------------- selection

Test(cache, hooks_patterns_select_and_a_pattern_matching_nothing_is_refused)
{
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = task_vocab_size();
    cfg.block_size = 32; cfg.n_layer = 3; cfg.n_head = 2; cfg.n_embd = 16;
    char err[ERR_MAX];
    cr_assert_eq(model_config_validate(&cfg, err), 0, "%s", err);
    probe_cache_plan *plan = malloc(sizeof *plan);
    cr_assert_eq(probe_cache_plan_make(&cfg, 10, 20, 4, "blocks.*.attn.hook_z,ln_final.hook_normalized", plan, err), 0, "%s", err);
    cr_assert_eq(plan->n_hooks, 4);
    cr_assert_str_eq(plan->hooks[0].name, "blocks.0.attn.hook_z");
    cr_assert_str_eq(plan->hooks[3].name, "ln_final.hook_normalized");
    // (10 x 20 x 16) floats each: 4 hooks of 12800 bytes
    cr_assert_float_eq(plan->hook_bytes, 4.0 * 4 * 10 * 20 * 16, 0.5);
    cr_assert_eq(probe_cache_plan_make(&cfg, 10, 20, 4, "blocks.0.hook_resid_post,blocks.7.hook_z", plan, err), -1);
    cr_assert(strstr(err, "'blocks.7.hook_z' matches no hook") && strstr(err, "accepted"), "%s", err);
    free(plan);
}

// ---------------------------------------------------------------- the command

Test(cache, command_refuses_bad_input_with_exit_2_naming_the_flag, .init = scratch_enter, .fini = scratch_leave)
{
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --out run --set train.steps=2 --set model.n_layer=1 --set model.n_embd=16 "
             "--set model.n_head=2 --set train.eval_every=0 --set eval.per_cell=1 --set task.max_len=3 --set train.threads=1",
             ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    struct { const char *args, *says; } cases[] = {
        {"--n 5", "--out DIR is required"},
        {"--n 5 --problems p.txt --out c1", "either --problems FILE or --n N"},
        {"--out c1", "either --problems FILE or --n N"},
        {"--n -3 --out c1", "--n must be >= 1"},
        {"--n 20000 --out c1 --max-mib 1", "estimated"},
        {"--n 5 --out c1 --hooks blocks.9.hook_z", "matches no hook"},
        {"--problems p.txt --out c1", "p.txt line 2"},
        {"--n 5 --out run", "already holds files"},
        {"--n 5 --out c1 --batch-size 0", "--batch-size"},
    };
    write_bytes("p.txt", "12+34\n1x2\n", 10);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s cache --checkpoint run/ckpt.safetensors %s", ARITHLAB_BIN, cases[i].args);
        cr_assert_eq(run(cmd, out, sizeof out), 2, "%s: %s", cases[i].args, out);
        cr_assert(strstr(out, cases[i].says), "%s: the message does not say '%s': %s", cases[i].args, cases[i].says, out);
    }
    // the memory refusal names the estimate and the limit, and nothing was written
    snprintf(cmd, sizeof cmd, "%s cache --checkpoint run/ckpt.safetensors --n 20000 --out c1 --max-mib 1", ARITHLAB_BIN);
    run(cmd, out, sizeof out);
    cr_assert(strstr(out, "MiB") && strstr(out, "the limit is 1 MiB (--max-mib)"), "%s", out);
    struct stat st;
    cr_assert_neq(stat("c1", &st), 0, "a refused cache created its --out");
    // and a good one
    write_bytes("p.txt", "12+34\n# a comment\n7+5\n", 22);
    snprintf(cmd, sizeof cmd, "%s cache --checkpoint run/ckpt.safetensors --problems p.txt --out c2 --threads 1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "for 2 problems"), "%s", out);
    cr_assert_eq(stat("c2/blocks.0.attn.hook_pattern.npy", &st), 0);
    snprintf(cmd, sizeof cmd, "%s cache --help", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "--hooks") && strstr(out, "ln_final.hook_normalized"), "%s", out);
}
