// test_fone.c: FoNE (task.numbers = fone, the fone position scheme and its digit head):
// the embedding and the head against finite differences, the embedding's exact angles,
// problems to tokens and values and back to answers, the refused combinations, the
// checkpoint keys (and old checkpoints without them), and a short run that must learn.
#include <criterion/criterion.h>
#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tests/test_util.h"
#include "tests/test_grad.h"
#include "tests/test_fone_fixture.h"
#include "model/checkpoint.h"
#include "model/fone.h"
#include "model/optim.h"
#include "eval/eval.h"
#include "tasks/task.h"

Test(fone, embedding_and_digit_head_match_finite_differences)
{
    check_fone_gradients(fone_config("fone", 3, 0), "fone");
}

Test(fone, linear_map_matches_finite_differences)
{
    ModelConfig c = fone_config("fone+rope", 3, 1);
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &c, 1, 1, 1, err), 0, "%s", err);
    ParamInfo *w = model_find_tensor(&m, "transformer.fone.weight");
    cr_assert_not_null(w, "fone_linear = 1 declares the map");
    cr_assert(w->shape[0] == 8 && w->shape[1] == 6, "the map is (C, 2P) = (8, 6), not (%d, %d)", w->shape[0], w->shape[1]);
    model_free(&m);
    check_fone_gradients(c, "fone+rope, linear");
    check_fone_gradients(fone_config("fone", 4, 0), "fone, 4 places");   // channels 6, 7 too
}

// ---------------------------------------------------------------- the embedding and the head

// with wte = 0 and no other scheme, the embedding of [NUM] is the Fourier features alone;
// the angle of place 1 of a 15-digit value is exact only if it comes from x mod 10
Test(fone, embedding_angles_are_exact_for_15_digit_values)
{
    ModelConfig c = fone_config("fone", 15, 0);
    c.n_embd = 32; c.n_head = 2; c.block_size = 4;
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &c, 1, 2, 1, err), 0, "%s", err);
    memset(m.wte, 0, sizeof(float) * c.vocab_size * c.n_embd);
    int x[2] = { TASK_BOS, TASK_NUM };
    double v[2] = { 0, 123456789012345.0 };
    model_forward_batch(&m, &(Batch){x, NULL, v, NULL, 1, 2});
    const float *e = m.encoded + c.n_embd;
    long long xi = 123456789012345LL, mod = 1;
    for (int i = 0; i < 15; i++) {
        mod *= 10;
        long double a = 6.283185307179586476925L * (long double)(xi % mod) / (long double)mod;
        cr_expect_float_eq(e[2 * i], (float)cosl(a), 1e-6, "place %d cos: %g", i + 1, e[2 * i]);
        cr_expect_float_eq(e[2 * i + 1], (float)sinl(a), 1e-6, "place %d sin: %g", i + 1, e[2 * i + 1]);
    }
    cr_expect_float_eq(e[0], -1.0f, 1e-6, "place 1 of ...5 is half a turn");
    for (int k = 0; k < c.n_embd; k++) cr_expect_eq(m.encoded[k], 0.0f, "<bos> gets no features");
    model_free(&m);
}

// the head: place p reads channels (2p, 2p+1); a hidden state pointing at digit j there
// reads j back, least significant place first
Test(fone, head_reads_each_place_from_its_channel_pair)
{
    ModelConfig c = fone_config("fone", 3, 0);
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &c, 1, 1, 1, err), 0, "%s", err);
    int x[1] = { TASK_BOS };
    model_forward(&m, x, NULL, 1, 1);
    int want[3] = { 5, 9, 4 };   // 495
    for (int p = 0; p < 3; p++) {
        m.lnf[2 * p] = 3.0f * cosf(6.2831853f * want[p] / 10.0f);
        m.lnf[2 * p + 1] = 3.0f * sinf(6.2831853f * want[p] / 10.0f);
    }
    int d[3];
    char ans[16];
    cr_assert_eq(m.head, &model_head_fone, "model.head = auto with the fone scheme is the digit head");
    cr_assert_eq(m.head->decode_width(&m), 3);
    m.head->decode(&m, 0, d);
    for (int p = 0; p < 3; p++) cr_expect_eq(d[p], want[p], "place %d: digit %d", p, d[p]);
    cr_assert_eq(task_fone_answer(d, 3, ans, sizeof ans, err), 0, "%s", err);
    cr_expect_str_eq(ans, "495");
    model_free(&m);
}

// ---------------------------------------------------------------- tokens and values

static TaskConfig fone_task(const char *task)
{
    TaskConfig tc;
    char err[ERR_MAX];
    task_config_default(&tc);
    cr_assert_eq(task_config_set(&tc, "task", task, err), 0, "%s", err);
    cr_assert_eq(task_config_set(&tc, "numbers", "fone", err), 0, "%s", err);
    return tc;
}

Test(fone, problem_becomes_num_tokens_and_values_and_back)
{
    TaskConfig tc = fone_task("add");
    char err[ERR_MAX], ans[TASK_MAX_ANSWER];
    cr_assert_eq(task_config_validate(&tc, err), 0, "%s", err);
    TaskExample *ex = malloc(sizeof *ex);
    cr_assert_eq(task_example_from_problem(&tc, "128+367", ex, err), 0, "%s", err);
    int want[] = { TASK_BOS, TASK_NUM, task_tok('+'), TASK_NUM, task_tok('='), TASK_NUM, TASK_EOS };
    cr_assert_eq(ex->n_tokens, 7);
    for (int i = 0; i < 7; i++) cr_expect_eq(ex->tokens[i], want[i], "token %d: %s", i, task_tok_name(ex->tokens[i]));
    cr_expect_eq(ex->answer_start, 5);
    cr_assert_eq(ex->n_values, 3);
    int pos[3] = { 1, 3, 5 };
    double val[3] = { 128, 367, 495 };
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(ex->value_pos[i], pos[i]);
        cr_expect_eq(ex->value[i], val[i]);
    }
    // a training row: the target at '=' is [NUM] with the answer's value
    int x[6], y[6];
    double xv[6], yv[6];
    cr_assert_eq(task_batch_from_examples(ex, 1, 6, x, y, err), 0, "%s", err);
    task_batch_values(ex, 1, 6, xv, yv);
    cr_expect_eq(y[4], TASK_NUM);
    cr_expect_eq(yv[4], 495.0);
    cr_expect(xv[1] == 128.0 && xv[3] == 367.0 && xv[5] == 495.0 && xv[0] == 0.0 && xv[2] == 0.0);
    // the prompt stops before the answer
    int ids[16], n;
    cr_assert_eq(task_prompt(&tc, "128+367", ids, 16, &n, err), 0, "%s", err);
    cr_expect_eq(n, 5);
    // digits of the answer value, least significant first, read back with leading zeros dropped
    int d[5] = { 5, 9, 4, 0, 0 };
    cr_assert_eq(task_fone_answer(d, 5, ans, sizeof ans, err), 0, "%s", err);
    cr_expect_str_eq(ans, "495");
    int zero[3] = { 0, 0, 0 };
    cr_assert_eq(task_fone_answer(zero, 3, ans, sizeof ans, err), 0, "%s", err);
    cr_expect_str_eq(ans, "0");
    free(ex);
}

// every generated problem of add, sub, mul, modadd: values are the operands and the answer
// exactly, and the answer's digits at the task's widest number of places read back to it
Test(fone, generated_values_read_back_to_the_answer)
{
    const char *tasks[] = { "add", "sub", "mul", "modadd" };
    const char *max_len[] = { "14", "15", "7", "2" };
    TaskExample *ex = malloc(sizeof *ex);
    for (int k = 0; k < 4; k++) {
        TaskConfig tc = fone_task(tasks[k]);
        char err[ERR_MAX], ans[TASK_MAX_ANSWER];
        cr_assert_eq(task_config_set(&tc, "max_len", max_len[k], err), 0, "%s", err);
        cr_assert_eq(task_config_validate(&tc, err), 0, "%s: %s", tasks[k], err);
        int P = task_widest_number(&tc);
        uint64_t rng = rng_seed(9 + k);
        for (int i = 0; i < 300; i++) {
            cr_assert_eq(task_generate(&tc, &rng, TASK_SPLIT_ANY, ex, err), 0, "%s", err);
            cr_assert_eq(ex->n_values, 3);
            cr_expect_eq(ex->value[0], strtod(ex->a, NULL), "%s: a = %s", tasks[k], ex->a);
            cr_expect_eq(ex->value[1], strtod(ex->b, NULL), "%s: b = %s", tasks[k], ex->b);
            long long v = (long long)ex->value[2];
            int d[TASK_FONE_MAX_DIGITS];
            for (int p = 0; p < P; p++, v /= 10) d[p] = (int)(v % 10);
            cr_assert_eq(v, 0, "%s: answer %s has more digits than %d places", tasks[k], ex->answer, P);
            cr_assert_eq(task_fone_answer(d, P, ans, sizeof ans, err), 0, "%s", err);
            cr_assert_str_eq(ans, ex->answer, "%s %s", tasks[k], ex->problem);
        }
    }
    free(ex);
}

// ---------------------------------------------------------------- refusals

static void expect_refused(const char *task, const char *key, const char *value, const char *needle)
{
    TaskConfig tc = fone_task(task);
    char err[ERR_MAX] = "";
    if (key) cr_assert_eq(task_config_set(&tc, key, value, err), 0, "%s", err);
    cr_expect_neq(task_config_validate(&tc, err), 0, "task=%s %s=%s with numbers=fone was accepted", task,
                  key ? key : "", value ? value : "");
    cr_expect(strstr(err, "'numbers'") != NULL, "the message names the key: %s", err);
    cr_expect(strstr(err, needle) != NULL, "the message lacks '%s': %s", needle, err);
}

Test(fone, refuses_other_formats_modifiers_tasks_and_long_numbers)
{
    expect_refused("add", "format", "reversed", "format=plain");
    expect_refused("add", "format", "reverse_all", "format=plain");
    expect_refused("add", "format", "scratch_simple", "format=plain");
    expect_refused("mul", "format", "scratch_mul", "format=plain");
    expect_refused("add", "pad_width", "4", "pad_width");
    expect_refused("add", "index_hints", "1", "index_hints");
    expect_refused("sub", "space_prob", "0.1", "space_prob");
    expect_refused("sort", NULL, NULL, "add|sub|mul|modadd");
    expect_refused("add", "max_len", "15", "up to 15 digits");   // the sum may have 16
    expect_refused("mul", "max_len", "8", "up to 15 digits");
    TaskConfig tc = fone_task("sub");
    char err[ERR_MAX];
    cr_assert_eq(task_config_set(&tc, "max_len", "15", err), 0);
    cr_expect_eq(task_config_validate(&tc, err), 0, "sub of 15 digits fits: %s", err);
    // explicit problems: a 16-digit operand, and a generated answer cannot parse as text
    int ids[16], n;
    cr_expect_neq(task_prompt(&tc, "1234567890123456-1", ids, 16, &n, err), 0);
    cr_expect(strstr(err, "up to 15 digits") != NULL, "%s", err);
    int gen[2] = { TASK_NUM, TASK_EOS };
    char out[16];
    cr_expect_neq(task_parse_answer(&tc, gen, 2, out, sizeof out, err), 0);
    cr_expect(strstr(err, "FoNE head") != NULL, "%s", err);
}

// the run config: the task's numbers and the model's scheme go together; places fit
static void expect_train_refused(const char *args, const char *needle)
{
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s train --out %s --set train.steps=0 --set task.format=plain --set task.pad_width=0 %s",
             ARITHLAB_BIN, tmp_path("run"), args);
    int rc = run(cmd, out, sizeof out);
    cr_expect_eq(rc, 2, "exit %d for %s: %s", rc, args, out);
    cr_expect(strstr(out, needle) != NULL, "message for '%s' lacks '%s': %s", args, needle, out);
}

Test(fone, run_config_pairs_numbers_and_scheme, .init = tmp_setup, .fini = tmp_teardown)
{
    expect_train_refused("--set task.numbers=fone --set model.position=absolute", "set model.position = fone");
    expect_train_refused("--set model.position=fone+rope", "set task.numbers = fone");
    expect_train_refused("--set task.numbers=fone --set model.position=fone --set task.max_len=3 --set model.fone_places=3",
                         "model.fone_places = 3 cannot hold the task's 4-digit numbers");
    expect_train_refused("--set task.numbers=fone --set task.format=reversed --set model.position=fone",
                         "task key 'numbers'");
}

// ---------------------------------------------------------------- checkpoints

Test(fone, checkpoint_keeps_the_fone_keys, .init = tmp_setup, .fini = tmp_teardown)
{
    ModelConfig c = fone_config("fone+abacus", 4, 1), back;
    char err[ERR_MAX];
    Model m, m2;
    cr_assert_eq(model_build(&m, &c, 1, 4, 7, err), 0, "%s", err);
    cr_assert_eq(ckpt_save(&m, NULL, 0, tmp_path("f.safetensors"), err), 0, "%s", err);
    cr_assert_eq(ckpt_read_config(tmp_path("f.safetensors"), &back, err), 0, "%s", err);
    cr_expect_eq(pos_opt(&back.pos, "model.fone_places"), 4);
    cr_expect_eq(pos_opt(&back.pos, "model.fone_linear"), 1);
    cr_expect_str_eq(back.position, "fone+abacus");
    cr_assert_eq(ckpt_build_model(&m2, NULL, 0, tmp_path("f.safetensors"), 1, 4, err), 0, "%s", err);
    cr_expect_eq(m2.head, &model_head_fone);
    cr_expect_eq(m2.head->decode_width(&m2), 4);
    ParamInfo *w = model_find_tensor(&m2, "transformer.fone.weight");
    cr_assert_not_null(w);
    cr_expect_eq(memcmp(m2.params + w->offset, m.params + w->offset, sizeof(float) * w->numel), 0);
    model_free(&m2);
    model_free(&m);
}

// a checkpoint written before the FoNE keys existed: the same file with them taken out
Test(fone, checkpoint_without_the_fone_keys_still_loads, .init = tmp_setup, .fini = tmp_teardown)
{
    ModelConfig c = fone_config("absolute", 0, 0), back;
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &c, 1, 4, 7, err), 0, "%s", err);
    cr_assert_eq(ckpt_save(&m, NULL, 0, tmp_path("new.safetensors"), err), 0, "%s", err);
    model_free(&m);
    cr_assert_eq(ckpt_blank_meta_key(tmp_path("new.safetensors"), "model.fone_places"), 0, "new checkpoints store model.fone_places");
    cr_assert_eq(ckpt_blank_meta_key(tmp_path("new.safetensors"), "model.fone_linear"), 0, "new checkpoints store model.fone_linear");
    cr_assert_eq(ckpt_read_config(tmp_path("new.safetensors"), &back, err), 0, "%s", err);
    cr_expect_eq(pos_opt(&back.pos, "model.fone_places"), 0);
    cr_expect_eq(pos_opt(&back.pos, "model.fone_linear"), 0);
    cr_assert_eq(ckpt_build_model(&m, NULL, 0, tmp_path("new.safetensors"), 1, 4, err), 0, "%s", err);
    model_free(&m);
}

// ---------------------------------------------------------------- learning

// 2-digit addition: answers 0..198 make chance about 0.5%; a FoNE model of one layer gets
// most of them (77% here) after 300 steps of 32 problems, and the grid counts every problem
Test(fone, short_run_learns_two_digit_addition)
{
    TaskConfig tc = fone_task("add");
    char err[ERR_MAX];
    cr_assert_eq(task_config_set(&tc, "max_len", "2", err), 0);
    cr_assert_eq(task_config_validate(&tc, err), 0, "%s", err);
    ModelConfig c = fone_config("fone", task_widest_number(&tc), 0);
    c.n_layer = 1; c.n_embd = 64; c.n_head = 2; c.mlp_hidden = 0; c.block_size = 6;
    enum { B = 32, T = 6, STEPS = 300 };
    Model m;
    cr_assert_eq(model_build(&m, &c, B, T, 1, err), 0, "%s", err);
    model_set_threads(&m, 2);
    AdamWConfig oc;
    adamw_config_default(&oc);
    oc.lr = 6e-3f; oc.min_lr = 1e-4f; oc.warmup_steps = 20; oc.total_steps = STEPS;
    int x[B * T], y[B * T];
    double xv[B * T], yv[B * T];
    TaskExample *ex = malloc(sizeof(TaskExample) * B);
    uint64_t rng = rng_seed(3);
    double t0 = time_s();
    float first = 0.0f;
    m.training = 1;
    for (int s = 0; s < STEPS; s++) {
        cr_assert_eq(task_fill_batch(&tc, &rng, TASK_SPLIT_ANY, B, T, x, y, ex, err), 0, "%s", err);
        task_batch_values(ex, B, T, xv, yv);
        model_forward_batch(&m, &(Batch){x, y, xv, yv, B, T});
        if (s == 0) first = m.loss;
        model_zero_grad(&m);
        model_backward(&m);
        model_update(&m, &oc, adamw_lr(&oc, s), s + 1, model_grad_norm(&m));
    }
    m.training = 0;
    cr_log_info("FoNE 2-digit addition: loss %.3f -> %.3f in %d steps, %.1fs", first, m.loss, STEPS, time_s() - t0);
    cr_expect_lt(m.loss, 0.5f * first, "the digit loss must fall: %.3f -> %.3f", first, m.loss);

    EvalReport r;
    cr_assert_eq(eval_report_init(&r, 2, 2, err), 0);
    cr_assert_eq(eval_grid(&m, &tc, 50, 11, &r, NULL, err), 0, "%s", err);
    long n = 0, ok = 0, by_carries = 0;
    for (int i = 0; i < 4; i++) { n += r.n[i]; ok += r.correct[i]; }
    for (int i = 0; i < EVAL_MAX_CARRIES; i++) by_carries += r.carry_n[i];
    cr_expect_eq(n, 200, "the grid holds 50 problems in each of its 4 cells");
    cr_expect_eq(by_carries, 200, "every problem is counted by its carries");
    cr_log_info("FoNE 2-digit addition: exact match %ld of %ld (%.1f%%)", ok, n, 100.0 * ok / n);
    cr_expect_gt(ok, n / 4, "exact match %ld of %ld: FoNE should be far above chance (0.5%%)", ok, n);
    eval_report_free(&r);
    free(ex);
    model_free(&m);
}
