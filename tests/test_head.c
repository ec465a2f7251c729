// test_head.c: the output heads (model/head.h), driven by the registry. Every registered head
// has a finite-difference fixture in HEADS below and a case in tools/torch_reference.py that
// sets model.head to it; a head added to MODEL_HEADS without them fails
// head::every_registered_head_has_a_gradient_fixture / ..._a_torch_reference_case.
// To add a head: write its check_* (the loss in double from the head's outputs, every tensor
// against central differences), add a line to HEADS, and a _case(..., head="NAME") to CASES.
// Also: how model.head = auto resolves, the refused combinations (each message names the
// key), the checkpoint key (an old file without it loads as auto), and the per-token values
// travelling in the Batch rather than in the model.
#include <criterion/criterion.h>
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tests/test_util.h"
#include "tests/test_grad.h"
#include "tests/test_fone_fixture.h"
#include "model/checkpoint.h"
#include "model/head.h"
#include "model/model.h"

// ---------------------------------------------------------------- the LM head's fixture

enum { LB = 2, LT = 5, LV = 11 };
static const int L_X[LB * LT] = { 1, 4, 7, 2, 9, 3, 3, 10, 0, 5 };
static const int L_Y[LB * LT] = { 4, 7, -1, 9, 1, 3, 10, 0, -1, 6 };

static ModelConfig lm_config(int tied)
{
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = LV; c.block_size = 8; c.n_layer = 2; c.n_head = 2; c.n_embd = 8; c.mlp_hidden = 12;
    c.tied = tied;
    snprintf(c.head, sizeof(c.head), "lm");
    return c;
}

// the mean cross-entropy over counted targets, in double, from the head's outputs (logits)
static double lm_loss_double(Model *m, void *ctx)
{
    (void)ctx;
    int dims[2];
    cr_assert_eq(m->head->output_dims(m, dims), 1);
    cr_assert_eq(dims[0], LV);
    float *l = malloc(sizeof(float) * LB * LT * LV);
    model_forward(m, L_X, NULL, LB, LT);
    m->head->outputs(m, l);
    double sum = 0.0;
    int n = 0;
    for (int i = 0; i < LB * LT; i++) {
        if (L_Y[i] < 0) continue;
        const float *r = l + (size_t)i * LV;
        double mx = r[0], z = 0.0;
        for (int j = 1; j < LV; j++) mx = fmax(mx, r[j]);
        for (int j = 0; j < LV; j++) z += exp(r[j] - mx);
        sum += mx + log(z) - r[L_Y[i]];
        n++;
    }
    free(l);
    return sum / n;
}

static void check_lm_gradients(ModelConfig cfg, const char *label)
{
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &cfg, LB, LT, 3, err), 0, "%s", err);
    cr_assert_eq(m.head, &model_head_lm, "%s", label);
    uint64_t rng = rng_seed(5);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.3f * (2.0f * rng_f32(&rng) - 1.0f);
    model_forward(&m, L_X, L_Y, LB, LT);
    cr_assert_eq(m.n_loss_tokens, 8, "%s: every target >= 0 counts", label);
    float loss = m.loss;
    cr_assert_float_eq(loss, lm_loss_double(&m, NULL), 1e-5, "%s: loss %g", label, loss);
    model_forward(&m, L_X, L_Y, LB, LT);
    model_zero_grad(&m);
    model_backward(&m);
    float *g = malloc(sizeof(float) * m.n_params);
    memcpy(g, m.grads, sizeof(float) * m.n_params);
    int n_with_gradient = 0;
    for (int t = 0; t < m.n_tensors; t++) {
        ParamInfo *p = &m.tensors[t];
        test_fd_t fd = test_fd_tensor(&m, p, g, 4e-3f, &rng, lm_loss_double, NULL);
        double rel = fd.den < 1e-14 ? 0.0 : fd.rel;
        n_with_gradient += fd.den >= 1e-14;
        cr_log_info("%s %-36s rel err %.2e", label, p->name, rel);
        cr_expect(rel < 2e-3, "%s: %s relative error %.3e", label, p->name, rel);
    }
    cr_expect_eq(n_with_gradient, m.n_tensors, "%s: every tensor gets a gradient from the LM loss", label);
    free(g);
    model_free(&m);
}

static void check_lm(void)
{
    check_lm_gradients(lm_config(0), "lm");
    check_lm_gradients(lm_config(1), "lm, tied");
}

// the digit head: tests/test_fone_fixture.h, with model.head set explicitly
static void check_fone(void)
{
    ModelConfig c = fone_config("fone+rope", 3, 0);
    snprintf(c.head, sizeof(c.head), "fone");
    check_fone_gradients(c, "fone head");
}

typedef struct {
    const char *head;       // a MODEL_HEADS name
    void (*check)(void);    // its finite-difference fixture
} head_case_t;
static const head_case_t HEADS[] = {
    {"lm", check_lm},
    {"fone", check_fone},
};
#define N_HEADS ((int)(sizeof(HEADS) / sizeof(HEADS[0])))

static const head_case_t *head_case(const char *name)
{
    for (int i = 0; i < N_HEADS; i++)
        if (!strcmp(HEADS[i].head, name)) return &HEADS[i];
    return NULL;
}

Test(head, every_registered_head_has_a_gradient_fixture)
{
    int n = 0;
    for (; MODEL_HEADS[n]; n++)
        cr_expect_not_null(head_case(MODEL_HEADS[n]->name), "registered head '%s' has no fixture in HEADS (tests/test_head.c)",
                           MODEL_HEADS[n]->name);
    cr_assert_geq(n, 2, "MODEL_HEADS holds the lm and fone heads");
    for (int i = 0; i < N_HEADS; i++)
        cr_expect_not_null(model_head_find(HEADS[i].head), "HEADS names '%s', which is not registered", HEADS[i].head);
}

Test(head, every_registered_head_has_a_torch_reference_case)
{
    size_t n;
    char path[512];
    snprintf(path, sizeof(path), "%s/tools/torch_reference.py", ARITHLAB_SRC);
    char *py = (char *)read_bytes(path, &n);
    py = realloc(py, n + 1);
    py[n] = 0;
    cr_assert_not_null(strstr(py, "REFERENCE_HEADS"), "tools/torch_reference.py declares REFERENCE_HEADS");
    for (int i = 0; MODEL_HEADS[i]; i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "head=\"%s\"", MODEL_HEADS[i]->name);
        cr_expect_not_null(strstr(py, needle), "registered head '%s' has no case in tools/torch_reference.py "
                           "(a _case(..., %s))", MODEL_HEADS[i]->name, needle);
    }
    free(py);
}

Test(head, gradients_match_finite_differences)
{
    for (int i = 0; i < N_HEADS; i++) {
        cr_log_info("head %s", HEADS[i].head);
        HEADS[i].check();
    }
}

// ---------------------------------------------------------------- model.head

static ModelConfig with(const char *position, const char *head)
{
    ModelConfig c = fone_config(position, 3, 0);
    snprintf(c.head, sizeof(c.head), "%s", head);
    return c;
}

Test(head, auto_picks_the_digit_head_with_the_fone_scheme_else_lm)
{
    char err[ERR_MAX] = "";
    ModelConfig c;
    c = with("absolute", "auto");
    cr_expect_eq(model_head_resolve(&c, err), &model_head_lm, "%s", err);
    c = with("abacus+rope", "auto");
    cr_expect_eq(model_head_resolve(&c, err), &model_head_lm, "%s", err);
    c = with("fone", "auto");
    cr_expect_eq(model_head_resolve(&c, err), &model_head_fone, "%s", err);
    c = with("rope+fone", "auto");
    cr_expect_eq(model_head_resolve(&c, err), &model_head_fone, "%s", err);
    c = with("fone+rope", "lm");   // the FoNE input side with next-token logits
    cr_expect_eq(model_head_resolve(&c, err), &model_head_lm, "%s", err);
    ModelConfig d;
    model_config_default(&d);
    cr_expect_str_eq(d.head, "auto", "the default keeps today's behaviour");
}

Test(head, refuses_the_digit_head_without_the_fone_scheme)
{
    char err[ERR_MAX] = "";
    ModelConfig c = with("absolute+rope", "fone");
    Model m;
    cr_assert_neq(model_build(&m, &c, 1, 4, 1, err), 0);
    cr_expect(strstr(err, "model.head = fone") && strstr(err, "model.position = absolute+rope"), "%s", err);
}

Test(head, refuses_an_unknown_head_naming_the_accepted_ones)
{
    char err[ERR_MAX] = "";
    ModelConfig c = with("absolute", "softmax");
    Model m;
    cr_assert_neq(model_build(&m, &c, 1, 4, 1, err), 0);
    cr_expect(strstr(err, "model.head = 'softmax'") && strstr(err, "auto, lm, fone"), "%s", err);
}

// model.head = lm over the fone embedding: the LM loss counts every target, not just [NUM]
Test(head, lm_head_over_the_fone_embedding_counts_every_target)
{
    char err[ERR_MAX];
    ModelConfig c = with("fone", "lm");
    Model m;
    cr_assert_eq(model_build(&m, &c, GB, GT, 1, err), 0, "%s", err);
    cr_assert_eq(m.head, &model_head_lm);
    model_forward_batch(&m, &(Batch){G_X, G_Y, G_V, G_YV, GB, GT});
    int want = 0;
    for (int i = 0; i < GB * GT; i++) want += G_Y[i] >= 0;
    cr_expect_eq(m.n_loss_tokens, want, "%d counted, want %d", m.n_loss_tokens, want);
    model_free(&m);
}

static void expect_train_refused(const char *args, const char *needle)
{
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s train --out %s --set train.steps=0 --set task.format=plain --set task.pad_width=0 %s",
             ARITHLAB_BIN, tmp_path("run"), args);
    int rc = run(cmd, out, sizeof out);
    cr_expect_eq(rc, 2, "exit %d for %s: %s", rc, args, out);
    cr_expect(strstr(out, needle) != NULL, "message for '%s' lacks '%s': %s", args, needle, out);
}

Test(head, train_refuses_inconsistent_heads_naming_the_key, .init = tmp_setup, .fini = tmp_teardown)
{
    expect_train_refused("--set task.numbers=fone --set model.position=fone --set model.head=lm",
                         "model.head = lm predicts tokens");
    expect_train_refused("--set model.head=fone", "model.head = fone reads back the values");
    expect_train_refused("--set task.numbers=fone --set model.position=fone --set model.head=digits",
                         "model.head = 'digits' is not a head: accepted auto, lm, fone");
}

// ---------------------------------------------------------------- checkpoints

Test(head, checkpoint_keeps_model_head, .init = tmp_setup, .fini = tmp_teardown)
{
    ModelConfig c = with("fone+rope", "lm"), back;
    char err[ERR_MAX];
    Model m, m2;
    cr_assert_eq(model_build(&m, &c, 1, 4, 7, err), 0, "%s", err);
    cr_assert_eq(ckpt_save(&m, NULL, 0, tmp_path("h.safetensors"), err), 0, "%s", err);
    cr_assert_eq(ckpt_read_config(tmp_path("h.safetensors"), &back, err), 0, "%s", err);
    cr_expect_str_eq(back.head, "lm");
    cr_assert_eq(ckpt_build_model(&m2, NULL, 0, tmp_path("h.safetensors"), 1, 4, err), 0, "%s", err);
    cr_expect_eq(m2.head, &model_head_lm, "not auto's fone head");
    model_free(&m2);
    model_free(&m);
}

// a checkpoint written before model.head existed: the same file with the key taken out
Test(head, checkpoint_without_model_head_loads_as_auto, .init = tmp_setup, .fini = tmp_teardown)
{
    ModelConfig c = with("fone+abacus", "fone"), back;
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &c, 1, 4, 7, err), 0, "%s", err);
    cr_assert_eq(ckpt_save(&m, NULL, 0, tmp_path("new.safetensors"), err), 0, "%s", err);
    model_free(&m);
    cr_assert_eq(ckpt_blank_meta_key(tmp_path("new.safetensors"), "model.head"), 0, "new checkpoints store model.head");
    cr_assert_eq(ckpt_read_config(tmp_path("new.safetensors"), &back, err), 0, "%s", err);
    cr_expect_str_eq(back.head, "auto");
    cr_assert_eq(ckpt_build_model(&m, NULL, 0, tmp_path("new.safetensors"), 1, 4, err), 0, "%s", err);
    cr_expect_eq(m.head, &model_head_fone, "auto with the fone scheme");
    model_free(&m);
}

// ---------------------------------------------------------------- the batch

// the [NUM] values come with each forward's batch: none of one forward leaks into the next
Test(batch, values_travel_with_the_batch_not_the_model)
{
    ModelConfig c = with("fone", "auto");
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &c, 1, 2, 1, err), 0, "%s", err);
    memset(m.wte, 0, sizeof(float) * c.vocab_size * c.n_embd);
    int x[2] = { TASK_BOS, TASK_NUM };
    double v[2] = { 0, 7 };
    model_forward_batch(&m, &(Batch){x, NULL, v, NULL, 1, 2});
    const float *e = m.encoded + c.n_embd;
    cr_expect_float_eq(e[0], (float)cos(6.283185307179586 * 0.7), 1e-6, "place 1 of 7");
    model_forward(&m, x, NULL, 1, 2);   // a batch without values
    for (int k = 0; k < c.n_embd; k++) cr_expect_eq(e[k], 0.0f, "no values: [NUM] gets only its token embedding");
    model_free(&m);
}

// the LM head's decode is the argmax of its outputs
Test(head, lm_decode_is_the_argmax_of_the_logits)
{
    ModelConfig c = lm_config(0);
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &c, LB, LT, 2, err), 0, "%s", err);
    uint64_t rng = rng_seed(9);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.5f * (2.0f * rng_f32(&rng) - 1.0f);
    model_forward(&m, L_X, NULL, LB, LT);
    cr_assert_eq(m.head->decode_width(&m), 1);
    for (int t = 0; t < LT; t++) {
        int tok[LB];
        m.head->decode(&m, t, tok);
        for (int b = 0; b < LB; b++) {
            const float *l = m.logits + ((size_t)b * LT + t) * LV;
            for (int j = 0; j < LV; j++) cr_expect_leq(l[j], l[tok[b]], "row %d position %d", b, t);
        }
    }
    model_free(&m);
}

// the digit head writes no next-token logits: decoding tokens from it is refused, not garbage
Test(head, greedy_decoding_refuses_the_digit_head)
{
    ModelConfig c = with("fone", "auto");
    char err[ERR_MAX] = "";
    Model m;
    cr_assert_eq(model_build(&m, &c, 1, 4, 1, err), 0, "%s", err);
    int seq[5] = { TASK_BOS, TASK_NUM, 0, 0, 0 }, n_gen[1];
    cr_expect_neq(model_generate_greedy(&m, seq, 5, 1, 2, 2, TASK_EOS, n_gen, 1, err), 0);
    cr_expect(strstr(err, "model.head = auto (fone)") != NULL, "%s", err);
    model_free(&m);
}
