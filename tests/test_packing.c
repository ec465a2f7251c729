// test_packing.c: packed training rows (train.packing, tasks/pack.h). The windows rows'
// contents and loss mask; the masked rows' layout; a masked-packed row computes exactly
// what its problems compute alone (per-token losses and every gradient, to float
// rounding) for every position scheme, looped and FoNE models; finite differences
// through the masked attention; and the refusals naming the key.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tasks/pack.h"
#include "tasks/loader.h"
#include "model/model.h"
#include "run/run.h"
#include "tests/test_grad.h"
#include "tests/test_task_util.h"
#include "tests/test_util.h"

// ---------------------------------------------------------------- a fixed list of problems

typedef struct { const TaskExample *ex; int n, i, n_placed; } list_src_t;

// the list in order, then its last problem again and again
static int list_next(void *ctx, TaskExample *ex, char *err)
{
    (void)err;
    list_src_t *l = ctx;
    *ex = l->ex[l->i < l->n ? l->i : l->n - 1];
    l->i++;
    return 0;
}
static int list_placed(void *ctx, const TaskExample *ex, char *err) { (void)ex; (void)err; ((list_src_t *)ctx)->n_placed++; return 0; }

static TaskExample *examples_of(const TaskConfig *tc, const char *const *problems, int n)
{
    char err[ERR_MAX];
    TaskExample *ex = malloc(sizeof(TaskExample) * n);
    for (int i = 0; i < n; i++) cr_assert_eq(task_example_from_problem(tc, problems[i], &ex[i], err), 0, "%s", err);
    return ex;
}

// ---------------------------------------------------------------- windows

// the concatenated text from token o of problem 0: the row's T+1 tokens, and for each
// whether it lies in its problem's answer (at or after answer_start)
static void stream_of(const TaskExample *ex, int n, int o, int len, int *tok, int *in_answer)
{
    int w = 0;
    for (int p = 0; w < len; p++)
        for (int k = p ? 0 : o; k < ex[p < n ? p : n - 1].n_tokens && w < len; k++, w++) {
            tok[w] = ex[p < n ? p : n - 1].tokens[k];
            in_answer[w] = k >= ex[p < n ? p : n - 1].answer_start;
        }
}

static void check_windows(int loss_on_all)
{
    TaskConfig tc = task_config_make("task=add min_len=1 max_len=3 format=plain pad_width=0");
    const char *probs[] = {"12+345", "7+8", "999+1", "40+2", "5+5"};
    TaskExample *ex = examples_of(&tc, probs, 5);
    enum { T = 16 };
    int x[T], y[T], tok[T + 1], ans[T + 1];
    char err[ERR_MAX];
    list_src_t l = {ex, 5, 0, 0};
    TaskExample scratch;
    TaskPacked out = {1, T, x, y, NULL, NULL, NULL, &scratch, NULL, 0};
    uint64_t rng = rng_seed(3), copy = rng;
    cr_assert_eq(task_pack_batch(TASK_PACK_WINDOWS, &(TaskPackSource){list_next, list_placed, &l}, &rng, loss_on_all, &out, err), 0, "%s", err);
    int o = rng_int(&copy, ex[0].n_tokens);   // the row starts at a drawn token of its first problem
    stream_of(ex, 5, o, T + 1, tok, ans);
    for (int t = 0; t < T; t++) {
        cr_assert_eq(x[t], tok[t], "input %d", t);
        cr_assert_eq(y[t], loss_on_all || ans[t + 1] ? tok[t + 1] : -1, "target %d (loss_on %s)", t, loss_on_all ? "all" : "answer");
    }
    cr_assert_eq(out.n_problems, l.n_placed);
    cr_assert(l.n_placed >= 3, "16 tokens hold the rest of 12+345 and more problems after it");
    free(ex);
}

Test(packing, windows_row_is_the_concatenated_problems_with_answer_targets_only) { check_windows(0); }
Test(packing, windows_row_with_loss_on_all_trains_every_token_even_the_next_bos) { check_windows(1); }

// a pinned row: "1+2=3" is <bos> 1 + 2 = 3 <eos>; the window crosses into the next problem
Test(packing, windows_row_pinned_tokens_and_mask)
{
    TaskConfig tc = task_config_make("task=add min_len=1 max_len=1 format=plain pad_width=0");
    const char *probs[] = {"1+2", "4+4"};
    TaskExample *ex = examples_of(&tc, probs, 2);
    cr_assert_eq(ex[0].n_tokens, 7);
    cr_assert_eq(ex[0].answer_start, 5);
    enum { T = 10 };
    int x[T], y[T];
    char err[ERR_MAX];
    // find a seed whose drawn offset is 0, so the row is pinned exactly
    uint64_t seed = 0;
    for (uint64_t s = 1; s < 100; s++) { uint64_t r = rng_seed(s); if (rng_int(&r, 7) == 0) { seed = s; break; } }
    cr_assert(seed);
    uint64_t rng = rng_seed(seed);
    list_src_t l = {ex, 2, 0, 0};
    TaskExample scratch;
    TaskPacked out = {1, T, x, y, NULL, NULL, NULL, &scratch, NULL, 0};
    cr_assert_eq(task_pack_batch(TASK_PACK_WINDOWS, &(TaskPackSource){list_next, NULL, &l}, &rng, 0, &out, err), 0, "%s", err);
    int d1 = task_tok('1'), d2 = task_tok('2'), d3 = task_tok('3'), d4 = task_tok('4'), d8 = task_tok('8');
    int plus = task_tok('+'), eq = task_tok('=');
    const int want_x[T] = {TASK_BOS, d1, plus, d2, eq, d3, TASK_EOS, TASK_BOS, d4, plus};
    const int want_y[T] = {-1, -1, -1, -1, d3, TASK_EOS, -1, -1, -1, -1};
    for (int t = 0; t < T; t++) {
        cr_assert_eq(x[t], want_x[t], "input %d", t);
        cr_assert_eq(y[t], want_y[t], "target %d", t);
    }
    (void)d8;
    free(ex);
}

// ---------------------------------------------------------------- masked

Test(packing, masked_rows_hold_whole_problems_first_fit_with_restarting_positions)
{
    TaskConfig tc = task_config_make("task=add min_len=1 max_len=3 format=reverse_all pad_width=0");
    const char *probs[] = {"12+345", "7+8", "999+1", "40+2", "123+456", "5+5"};
    TaskExample *ex = examples_of(&tc, probs, 6);
    enum { B = 2, T = 20 };
    int x[B * T], y[B * T], pos[B * T], row_len[B];
    char err[ERR_MAX];
    list_src_t l = {ex, 6, 0, 0};
    TaskExample scratch;
    TaskPacked out = {B, T, x, y, pos, NULL, NULL, &scratch, row_len, 0};
    uint64_t rng = rng_seed(1);
    cr_assert_eq(task_pack_batch(TASK_PACK_MASKED, &(TaskPackSource){list_next, list_placed, &l}, &rng, 0, &out, err), 0, "%s", err);
    // first-fit: where each problem should go, computed here from the lengths
    int used[B] = {0}, placed = 0, row_of[16], at_of[16];
    for (int i = 0;; i++) {
        const TaskExample *e = &ex[i < 6 ? i : 5];
        int b = 0;
        while (b < B && used[b] + e->n_tokens - 1 > T) b++;
        if (b == B) break;
        row_of[placed] = b; at_of[placed] = used[b];
        used[b] += e->n_tokens - 1;
        placed++;
    }
    cr_assert_eq(out.n_problems, placed);
    cr_assert_eq(l.n_placed, placed, "the source is told of exactly the problems placed");
    for (int i = 0; i < placed; i++) {
        const TaskExample *e = &ex[i < 6 ? i : 5];
        for (int k = 0; k < e->n_tokens - 1; k++) {
            int at = row_of[i] * T + at_of[i] + k;
            cr_assert_eq(x[at], e->tokens[k], "problem %d token %d", i, k);
            cr_assert_eq(pos[at], k, "problem %d: position %d restarts at its <bos>", i, k);
            cr_assert_eq(y[at], k + 1 >= e->answer_start ? e->tokens[k + 1] : -1, "problem %d target %d", i, k);
        }
    }
    for (int b = 0; b < B; b++)
        for (int t = used[b]; t < T; t++) {
            cr_assert_eq(x[b * T + t], TASK_PAD, "padding only at the row's end");
            cr_assert_eq(y[b * T + t], -1);
            cr_assert_eq(pos[b * T + t], pos[b * T + t - 1] + 1, "padding continues the last problem's positions");
        }
    cr_assert(used[0] > T - 6 && used[1] > 0, "both rows used: %d %d", used[0], used[1]);
    free(ex);
}

Test(packing, loader_masked_batches_are_more_useful_tokens_than_unpacked)
{
    TaskConfig tc = task_config_make("task=add min_len=1 max_len=10 format=reverse_all pad_width=0 balance_carries=1");
    int T = task_max_tokens(&tc) - 1, B = 32;
    char err[ERR_MAX];
    TaskLoader a, m;
    cr_assert_eq(task_loader_init(&a, &tc, B, T, rng_seed(4), 100, err), 0, "%s", err);
    cr_assert_eq(task_loader_init(&m, &tc, B, T, rng_seed(4), 100, err), 0, "%s", err);
    cr_assert_eq(task_loader_set_packing(&m, TASK_PACK_MASKED, 0, err), 0, "%s", err);
    cr_assert_eq(task_loader_next(&a, err), 0, "%s", err);
    cr_assert_eq(task_loader_next(&m, err), 0, "%s", err);
    long ua = 0, um = 0;
    for (int i = 0; i < B * T; i++) { ua += a.inputs[i] != TASK_PAD; um += m.inputs[i] != TASK_PAD; }
    cr_log_info("useful tokens per batch: unpacked %ld, masked %ld of %d", ua, um, B * T);
    cr_assert(m.n_problems > B && um > ua, "masked %d problems, %ld tokens; unpacked %ld", m.n_problems, um, ua);
    cr_assert_not_null(m.batch.pos);
    cr_assert_null(a.batch.pos);
    cr_assert_eq(task_loader_seen(&m)->n, (size_t)m.n_problems, "the problems trained on are recorded, not the dropped one");
    task_loader_free(&a);
    task_loader_free(&m);
}

// a resumed run continues bit-exactly: the data RNG is still the loader's whole state
static void check_packed_resume(int packing, int train_size)
{
    TaskConfig tc = task_config_make("task=add min_len=1 max_len=6 format=reverse_all pad_width=0");
    tc.train_size = train_size;
    enum { B = 8, STEPS = 5 };
    int T = task_max_tokens(&tc) - 1;
    char err[ERR_MAX];
    static TaskLoader whole, first, rest;
    cr_assert_eq(task_loader_init(&whole, &tc, B, T, rng_seed(42), 100, err), 0, "%s", err);
    cr_assert_eq(task_loader_init(&first, &tc, B, T, rng_seed(42), 100, err), 0, "%s", err);
    cr_assert_eq(task_loader_set_packing(&whole, packing, 0, err), 0, "%s", err);
    cr_assert_eq(task_loader_set_packing(&first, packing, 0, err), 0, "%s", err);
    for (int s = 0; s < 2; s++) {
        cr_assert_eq(task_loader_next(&whole, err), 0, "%s", err);
        cr_assert_eq(task_loader_next(&first, err), 0, "%s", err);
    }
    cr_assert_eq(task_loader_init(&rest, &tc, B, T, task_loader_state(&first), 100, err), 0, "%s", err);
    cr_assert_eq(task_loader_set_packing(&rest, packing, 0, err), 0, "%s", err);
    task_loader_free(&first);
    for (int s = 2; s < STEPS; s++) {
        cr_assert_eq(task_loader_next(&whole, err), 0, "%s", err);
        cr_assert_eq(task_loader_next(&rest, err), 0, "%s", err);
        size_t n = (size_t)B * T;
        cr_assert(!memcmp(whole.inputs, rest.inputs, sizeof(int) * n), "%s step %d: inputs differ", TASK_PACKING_NAMES[packing], s);
        cr_assert(!memcmp(whole.targets, rest.targets, sizeof(int) * n), "%s step %d: targets differ", TASK_PACKING_NAMES[packing], s);
        if (whole.pos) cr_assert(!memcmp(whole.pos, rest.pos, sizeof(int) * n), "step %d: positions differ", s);
    }
    task_loader_free(&whole);
    task_loader_free(&rest);
}

Test(packing, resumed_loader_continues_the_same_packed_batches)
{
    check_packed_resume(TASK_PACK_WINDOWS, 0);
    check_packed_resume(TASK_PACK_MASKED, 0);
    check_packed_resume(TASK_PACK_MASKED, 200);   // a fixed training set
}

// ---------------------------------------------------------------- the model: packed == alone

enum { EQ_T = 40 };

static ModelConfig eq_config(const char *position)
{
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = TASK_VOCAB_SIZE; c.block_size = EQ_T; c.n_layer = 2; c.n_head = 2; c.n_embd = 16; c.mlp_hidden = 24;
    snprintf(c.position, sizeof c.position, "%s", position);
    *pos_opt_ptr(&c.pos, "model.rel_max") = 6;   // Shaw/T5: distances beyond the clip occur within a problem
    *pos_opt_ptr(&c.pos, "model.t5_buckets") = 8;
    *pos_opt_ptr(&c.pos, "model.abacus_k") = 5;
    return c;
}

// one masked-packed row of the problems against a batch of one row each: every per-token
// loss, the loss and every gradient agree to float rounding. training = 1 with the same
// model RNG state before both forwards, so per-batch draws (the Abacus offset) agree.
static void check_packed_equals_alone(ModelConfig cfg, const TaskConfig *tc, const char *label)
{
    const char *probs[] = {"12+345", "7+8", "999+1", "40+2"};
    enum { K = 4 };
    TaskExample *ex = examples_of(tc, probs, K);
    int used = 0;
    for (int i = 0; i < K; i++) used += ex[i].n_tokens - 1;
    int T = used + 2;   // two slots of padding: no problem fits there
    cr_assert(T <= EQ_T, "%s: the problems fit one row", label);
    char err[ERR_MAX];
    int fone = tc->numbers == TASK_NUMBERS_FONE;
    // packed: one row, the four problems and then padding (the fifth draw fits no more)
    int *px = malloc(sizeof(int) * T), *py = malloc(sizeof(int) * T), *pp = malloc(sizeof(int) * T), row_len;
    double *pv = fone ? calloc(T, sizeof(double)) : NULL, *pyv = fone ? calloc(T, sizeof(double)) : NULL;
    list_src_t l = {ex, K, 0, 0};
    TaskExample scratch;
    const char *big[] = {"999+999"};
    TaskExample *tail = examples_of(tc, big, 1);
    TaskExample src_ex[K + 1];
    memcpy(src_ex, ex, sizeof(TaskExample) * K);
    src_ex[K] = tail[0];
    l.ex = src_ex; l.n = K + 1;
    cr_assert(tail[0].n_tokens - 1 > T - used, "%s: the fifth problem does not fit", label);
    TaskPacked out = {1, T, px, py, pp, pv, pyv, &scratch, &row_len, 0};
    uint64_t drng = rng_seed(1);
    cr_assert_eq(task_pack_batch(TASK_PACK_MASKED, &(TaskPackSource){list_next, NULL, &l}, &drng, 0, &out, err), 0, "%s", err);
    cr_assert_eq(out.n_problems, K);
    // alone: K rows of one problem each
    int *ax = malloc(sizeof(int) * K * T), *ay = malloc(sizeof(int) * K * T);
    double *av = fone ? malloc(sizeof(double) * K * T) : NULL, *ayv = fone ? malloc(sizeof(double) * K * T) : NULL;
    cr_assert_eq(task_batch_from_examples(ex, K, T, ax, ay, err), 0, "%s", err);
    if (fone) task_batch_values(ex, K, T, av, ayv);

    Model m;
    cr_assert_eq(model_build(&m, &cfg, K, T, 7, err), 0, "%s: %s", label, err);
    model_set_threads(&m, 2);
    uint64_t r = rng_seed(9);   // larger weights than the init, so that every path carries signal
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.2f * (2.0f * rng_f32(&r) - 1.0f);
    m.training = 1;
    uint64_t rng0 = m.rng;
    size_t P = m.n_params;
    float *g_packed = malloc(sizeof(float) * P), *loss_packed = malloc(sizeof(float) * T);

    m.rng = rng0;
    model_forward_batch(&m, &(Batch){px, py, pv, pyv, 1, T, pp});
    float lp = m.loss;
    int np = m.n_loss_tokens;
    memcpy(loss_packed, m.losses, sizeof(float) * T);
    model_zero_grad(&m);
    model_backward(&m);
    memcpy(g_packed, m.grads, sizeof(float) * P);

    m.rng = rng0;
    model_forward_batch(&m, &(Batch){ax, ay, av, ayv, K, T});
    cr_assert_eq(m.n_loss_tokens, np, "%s: the same tokens are counted", label);
    cr_assert(fabsf(m.loss - lp) <= 2e-6f * fabsf(m.loss), "%s: packed loss %.9g, alone %.9g", label, lp, m.loss);
    for (int i = 0, at = 0; i < K; i++)
        for (int k = 0; k < ex[i].n_tokens - 1; k++, at++) {
            float a = m.losses[(size_t)i * T + k], b = loss_packed[at];
            cr_assert(fabsf(a - b) <= 1e-5f * (1.0f + fabsf(a)), "%s: problem %d token %d: packed %.9g, alone %.9g", label, i, k, b, a);
        }
    model_zero_grad(&m);
    model_backward(&m);
    double worst = 0.0;
    for (int t = 0; t < m.n_tensors; t++) {
        const ParamInfo *p = &m.tensors[t];
        double gmax = 0.0, dmax = 0.0;
        for (size_t j = p->offset; j < p->offset + p->numel; j++) {
            gmax = fmax(gmax, fabs(m.grads[j]));
            dmax = fmax(dmax, fabs((double)m.grads[j] - g_packed[j]));
        }
        double rel = dmax / (gmax + 1e-12);
        worst = fmax(worst, rel);
        cr_expect(rel < 1e-4, "%s: gradient of %s differs: max |diff| %.3g of max %.3g", label, p->name, dmax, gmax);
    }
    cr_log_info("%s: loss %.6f, worst gradient difference %.2e of the tensor's largest", label, lp, worst);
    model_free(&m);
    free(ex); free(tail); free(px); free(py); free(pp); free(pv); free(pyv); free(ax); free(ay); free(av); free(ayv);
    free(g_packed); free(loss_packed);
}

static TaskConfig digits_task(void) { return task_config_make("task=add min_len=1 max_len=3 format=reverse_all pad_width=0"); }

Test(packing, masked_row_equals_its_problems_alone_for_every_position_scheme)
{
    TaskConfig tc = digits_task();
    int n;
    const pos_vtable_t *const *all = pos_schemes(&n);
    int checked = 0;
    for (int i = 0; i < n; i++) {
        if (all[i] == &pos_fone) continue;   // needs [NUM] tokens: its own test below
        check_packed_equals_alone(eq_config(all[i]->name), &tc, all[i]->name);
        checked++;
    }
    cr_assert(checked >= 9, "every registered scheme but fone: %d", checked);
    check_packed_equals_alone(eq_config("abacus+rope"), &tc, "abacus+rope");
    check_packed_equals_alone(eq_config("absolute+alibi"), &tc, "absolute+alibi");
}

Test(packing, masked_row_equals_its_problems_alone_for_looped_post_ln_and_tied_models)
{
    TaskConfig tc = digits_task();
    ModelConfig c = eq_config("abacus");
    c.n_layer = 1; c.n_loops = 3;
    check_packed_equals_alone(c, &tc, "looped abacus");
    c.loop_random = 1;
    check_packed_equals_alone(c, &tc, "looped abacus, random depth");
    c = eq_config("rope");
    c.post_ln = 1; c.tied = 1;
    check_packed_equals_alone(c, &tc, "post-LN tied rope");
}

Test(packing, masked_row_equals_its_problems_alone_with_fone_numbers)
{
    TaskConfig tc = task_config_make("task=add min_len=1 max_len=3 format=plain pad_width=0 numbers=fone");
    ModelConfig c = eq_config("fone+rope");
    *pos_opt_ptr(&c.pos, "model.fone_places") = 4;
    check_packed_equals_alone(c, &tc, "fone+rope");
}

// ---------------------------------------------------------------- finite differences

typedef struct { const int *x, *y, *pos; int B, T; uint64_t rng0; } packed_ctx_t;

// the mean cross-entropy in double from the logits (float32's m->loss quantizes it to ~2e-7,
// too coarse for FIRE's smallest gradients), the model RNG restored before the forward
static double packed_loss(Model *m, void *ctx)
{
    packed_ctx_t *c = ctx;
    m->rng = c->rng0;
    model_forward_batch(m, &(Batch){c->x, NULL, NULL, NULL, c->B, c->T, c->pos});
    int V = m->cfg.vocab_size, n = 0;
    double sum = 0.0;
    for (int i = 0; i < c->B * c->T; i++) {
        if (c->y[i] < 0) continue;
        const float *l = m->logits + (size_t)i * V;
        double mx = l[0], z = 0.0;
        for (int v = 1; v < V; v++) mx = fmax(mx, l[v]);
        for (int v = 0; v < V; v++) z += exp(l[v] - mx);
        sum += mx + log(z) - l[c->y[i]];
        n++;
    }
    return sum / n;
}

// FIRE's ReLU MLP and max(L, qpos+1) are piecewise smooth: as tests/test_pos.c, each hidden
// unit active (or not) on all of [0,1) with a margin, L between positions (both branches occur)
static void fire_away_from_kinks(Model *m)
{
    ParamInfo *w1 = model_find_tensor(m, "transformer.pos.fire.w1"), *b1 = model_find_tensor(m, "transformer.pos.fire.b1");
    ParamInfo *L = model_find_tensor(m, "transformer.pos.fire.L");
    if (!w1) return;
    for (size_t k = 0; k < w1->numel; k++) {
        float sign = k % 2 ? -1.0f : 1.0f, *w = m->params + w1->offset + k, *b = m->params + b1->offset + k;
        *w = sign * fabsf(*w);
        *b = sign * (0.1f + fabsf(*b));
    }
    m->params[L->offset] = 2.5f / m->cfg.block_size - 1.0f;
    m->params[L->offset + 1] = 7.5f / m->cfg.block_size - 1.0f;
}

// two rows of (B,T) = (2,8): row 0 holds problems of 3, 4 and 1 slots, row 1 of 5 and 3
static void check_packed_fd(const char *position)
{
    enum { B = 2, T = 8 };
    static const int pos[B * T] = {0, 1, 2, 0, 1, 2, 3, 0, 0, 1, 2, 3, 4, 0, 1, 2};
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = TASK_VOCAB_SIZE; cfg.block_size = T; cfg.n_layer = 2; cfg.n_head = 2; cfg.n_embd = 8; cfg.mlp_hidden = 12;
    snprintf(cfg.position, sizeof cfg.position, "%s", position);
    *pos_opt_ptr(&cfg.pos, "model.rel_max") = 3;
    *pos_opt_ptr(&cfg.pos, "model.t5_buckets") = 4;
    char err[ERR_MAX];
    Model m;
    cr_assert_eq(model_build(&m, &cfg, B, T, 3, err), 0, "%s", err);
    model_set_threads(&m, 1);   // a tiny model: threads only add synchronisation
    uint64_t r = rng_seed(5);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.3f * (2.0f * rng_f32(&r) - 1.0f);
    fire_away_from_kinks(&m);
    int x[B * T], y[B * T];
    const int digits[] = {task_tok('0'), task_tok('3'), task_tok('7'), task_tok('+'), task_tok('=')};
    for (int i = 0; i < B * T; i++) { x[i] = pos[i] == 0 ? TASK_BOS : digits[rng_int(&r, 5)]; y[i] = i % 3 == 1 ? -1 : digits[rng_int(&r, 5)]; }
    m.training = 1;
    packed_ctx_t ctx = {x, y, pos, B, T, m.rng};
    m.rng = ctx.rng0;
    model_forward_batch(&m, &(Batch){x, y, NULL, NULL, B, T, pos});
    model_zero_grad(&m);
    model_backward(&m);
    float *g = malloc(sizeof(float) * m.n_params);
    memcpy(g, m.grads, sizeof(float) * m.n_params);
    for (int t = 0; t < m.n_tensors; t++) {
        ParamInfo *p = &m.tensors[t];
        test_fd_t fd = test_fd_tensor(&m, p, g, 1e-2f, &r, packed_loss, &ctx);
        // no gradient on either side (tensors or rows the batch does not reach; FIRE's biases of
        // units active on whole rows, which softmax ignores): rms below 1e-5
        double rel = fd.den < 2 * fd.n_checked * 1e-10 ? 0.0 : fd.rel;
        cr_expect(rel < 5e-3, "%s: %s relative error %.3e", position, p->name, rel);
    }
    free(g);
    model_free(&m);
}

// absolute and abacus (embedding backward by position), rope (q, k rotated by position),
// t5, shaw and fire (bias backward over the masked logits; fire's normalizer by position)
Test(packing, masked_model_matches_finite_differences)
{
    const char *schemes[] = {"absolute", "rope", "t5", "shaw", "fire", "abacus+sinusoidal"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) check_packed_fd(schemes[i]);
}

// ---------------------------------------------------------------- the key

Test(packing, key_refuses_other_words_and_a_full_batch_naming_the_key)
{
    static RunConfig rc;
    char err[ERR_MAX];
    run_config_default(&rc);
    cr_assert_str_eq(rc.train.packing, "none");
    cr_assert_eq(run_config_set(&rc, "train.packing", "tight", err), -1, "tight accepted");
    cr_assert(strstr(err, "train.packing") && strstr(err, "none|windows|masked"), "%s", err);
    cr_assert_eq(run_config_set(&rc, "train.packing", "masked", err), 0, "%s", err);
    cr_assert_eq(run_config_set(&rc, "train.batch_size", "0", err), 0, "%s", err);
    cr_assert_eq(run_config_set(&rc, "task.train_size", "50", err), 0, "%s", err);
    cr_assert_eq(run_config_resolve(&rc, err), -1, "masked packing of a full batch accepted");
    cr_assert(strstr(err, "train.packing") && strstr(err, "train.batch_size"), "%s", err);
}

Test(packing, cli_refuses_a_bad_packing_with_exit_2, .init = tmp_setup, .fini = tmp_teardown)
{
    char out[8192], cmd[512];
    snprintf(cmd, sizeof cmd, "%s train --out %s --set train.packing=rows --set train.steps=1", ARITHLAB_BIN, tmp_path("run"));
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "train.packing") && strstr(out, "masked"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s bench --config abacus --packing rows", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "--packing") && strstr(out, "masked"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s bench --config abacus --packing masked --save-batches %s", ARITHLAB_BIN, tmp_path("b"));
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "--save-batches") && strstr(out, "--packing masked"), "%s", out);
}
