// test_numtok.c: task.numbers = tokens: number-token ids after the 84 characters and
// their names, the vocabulary a config needs, the sequences it writes (modadd residues,
// add with the sum as a token or in digits), answers read back, refused key combinations,
// the generator and split, and a trained model's checkpoint through eval and solve.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include "tests/test_task_util.h"
#include "model/checkpoint.h"
#include "run/run.h"

// ---------------------------------------------------------------- vocabulary

Test(numtok_vocab, number_tokens_follow_the_84_characters_and_are_named_by_value)
{
    cr_assert_eq(TASK_NUMTOK0, TASK_VOCAB_SIZE);
    cr_assert_eq(task_tok_number(TASK_NUMTOK0 + 17), 17);
    cr_assert_eq(task_tok_number(TASK_DIGIT0 + 7), -1);
    cr_assert_eq(task_tok_char(TASK_NUMTOK0 + 3), -1, "a number token is no character");
    cr_assert_eq(task_tok_digit(TASK_NUMTOK0 + 3), -1, "a number token is no digit (position schemes)");
    cr_assert_str_eq(task_tok_name(TASK_NUMTOK0 + 17), "<17>");
    cr_assert_str_eq(task_tok_name(TASK_NUMTOK0), "<0>");
    cr_assert_str_eq(task_tok_name(TASK_NUMTOK0 + VOCAB_MAX_NUMBER_TOKENS), "?");
}

Test(numtok_vocab, decode_n_writes_number_tokens_and_refuses_ids_past_the_range)
{
    int ids[] = { TASK_BOS, TASK_NUMTOK0 + 60, task_tok('+'), TASK_NUMTOK0 + 50, task_tok('='), TASK_NUMTOK0 + 13, TASK_EOS };
    char out[128], err[ERR_MAX];
    cr_assert_eq(task_decode_n(ids, 7, 97, out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "<bos><60>+<50>=<13><eos>");
    cr_assert_eq(task_decode_n(ids, 7, 60, out, sizeof out, err), -1, "<60> is outside 60 number tokens");
    cr_assert(strstr(err, "144"), "%s", err);
    cr_assert_eq(task_decode(ids, 7, out, sizeof out, err), -1, "the character vocabulary has no number tokens");
}

Test(numtok_vocab, config_vocab_size_counts_the_number_tokens)
{
    TaskConfig c = task_config_make("task=modadd modulus=113 numbers=tokens");
    cr_assert_eq(task_number_tokens(&c), 113);
    cr_assert_eq(task_config_vocab_size(&c), 84 + 113);
    c = task_config_make("task=add numbers=tokens token_range=1000");
    cr_assert_eq(task_number_tokens(&c), 1999, "sums up to 1998 are tokens");
    c = task_config_make("task=add numbers=tokens token_range=1000 sum_as=digits");
    cr_assert_eq(task_number_tokens(&c), 1000);
    cr_assert_eq(task_max_tokens(&c), 10, "<bos> <a> + <b> = 1 9 9 8 <eos>");
    c = task_config_make("task=add");
    cr_assert_eq(task_number_tokens(&c), 0);
    cr_assert_eq(task_config_vocab_size(&c), 84);
}

Test(numtok_vocab, run_resolve_sizes_the_model_vocabulary_from_the_task)
{
    RunConfig rc;
    char err[ERR_MAX];
    run_config_default(&rc);
    cr_assert_eq(run_config_set(&rc, "task.task", "modadd", err), 0, "%s", err);
    cr_assert_eq(run_config_set(&rc, "task.modulus", "113", err), 0, "%s", err);
    cr_assert_eq(run_config_set(&rc, "task.numbers", "tokens", err), 0, "%s", err);
    cr_assert_eq(run_config_set(&rc, "task.format", "plain", err), 0, "%s", err);
    cr_assert_eq(run_config_set(&rc, "task.pad_width", "0", err), 0, "%s", err);
    cr_assert_eq(run_config_resolve(&rc, err), 0, "%s", err);
    cr_assert_eq(rc.model.vocab_size, 197);
    cr_assert_eq(rc.model.block_size, 6, "<bos> <a> + <b> = <c>: six positions fed");
    rc.model.vocab_size = 100;
    cr_assert_eq(run_config_resolve(&rc, err), -1);
    cr_assert(strstr(err, "model.vocab_size") && strstr(err, "197"), "%s", err);
}

// ---------------------------------------------------------------- refused combinations

static void expect_refused(const char *kv, const char *want1, const char *want2)
{
    TaskConfig c;
    char err[ERR_MAX];
    task_config_default(&c);
    task_config_apply(&c, kv);
    cr_assert_eq(task_config_validate(&c, err), -1, "%s accepted", kv);
    cr_assert(strstr(err, want1) && strstr(err, want2), "%s: %s", kv, err);
}

Test(numtok_config, refuses_combinations_that_do_not_apply_naming_the_keys)
{
    expect_refused("task=mul numbers=tokens token_range=10", "'numbers'", "add|modadd");
    expect_refused("task=modadd numbers=tokens format=reversed", "format=plain", "reversed");
    expect_refused("task=modadd numbers=tokens index_hints=1", "'numbers'", "index_hints");
    expect_refused("task=add numbers=tokens token_range=10 balance_carries=1", "'numbers'", "balance_carries");
    expect_refused("task=add numbers=tokens token_range=10 sampling=values", "'numbers'", "sampling=values");
    expect_refused("task=add numbers=tokens", "'token_range'", "2..100000");
    expect_refused("task=modadd modulus=97 numbers=tokens token_range=50", "'token_range'", "modulus");
    expect_refused("task=add token_range=10", "'token_range'", "numbers=tokens");
    expect_refused("task=add numbers=tokens token_range=60000", "100000", "sum_as=digits");
    TaskConfig c;
    char err[ERR_MAX];
    task_config_default(&c);
    cr_assert_eq(task_config_set(&c, "sum_as", "number", err), -1);
    cr_assert(strstr(err, "token|digits"), "%s", err);
}

// ---------------------------------------------------------------- sequences and answers

Test(numtok_format, modadd_writes_each_residue_as_one_token)
{
    TaskConfig c = task_config_make("task=modadd modulus=97 numbers=tokens");
    TaskExample ex;
    char err[ERR_MAX];
    cr_assert_eq(task_example_from_problem(&c, "60+50", &ex, err), 0, "%s", err);
    int want[] = { TASK_BOS, TASK_NUMTOK0 + 60, task_tok('+'), TASK_NUMTOK0 + 50, task_tok('='), TASK_NUMTOK0 + 13, TASK_EOS };
    cr_assert_eq(ex.n_tokens, 7);
    for (int i = 0; i < 7; i++) cr_expect_eq(ex.tokens[i], want[i], "token %d: %s", i, task_tok_name(ex.tokens[i]));
    cr_assert_eq(ex.answer_start, 5);
    cr_assert_str_eq(ex.answer, "13");
    cr_assert_eq(task_example_from_problem(&c, "97+1", &ex, err), -1);
    cr_assert(strstr(err, "modulus=97"), "%s", err);
}

Test(numtok_format, add_writes_the_sum_as_a_token_or_in_digits)
{
    TaskConfig c = task_config_make("task=add numbers=tokens token_range=1000");
    TaskExample ex;
    char err[ERR_MAX], text[256];
    cr_assert_eq(task_example_from_problem(&c, "999+999", &ex, err), 0, "%s", err);
    cr_assert_eq(task_decode_n(ex.tokens, ex.n_tokens, task_number_tokens(&c), text, sizeof text, err), 0, "%s", err);
    cr_assert_str_eq(text, "<bos><999>+<999>=<1998><eos>");
    cr_assert_eq(task_example_from_problem(&c, "1000+1", &ex, err), -1);
    cr_assert(strstr(err, "token_range=1000"), "%s", err);
    c = task_config_make("task=add numbers=tokens token_range=1000 sum_as=digits");
    cr_assert_eq(task_example_from_problem(&c, "128+367", &ex, err), 0, "%s", err);
    cr_assert_eq(task_decode_n(ex.tokens, ex.n_tokens, task_number_tokens(&c), text, sizeof text, err), 0, "%s", err);
    cr_assert_str_eq(text, "<bos><128>+<367>=495<eos>");
    cr_assert_eq(ex.answer_start, 5);
}

Test(numtok_format, answers_read_back_from_a_number_token_or_digits)
{
    TaskConfig c = task_config_make("task=modadd modulus=97 numbers=tokens");
    char out[32], err[ERR_MAX];
    int good[] = { TASK_NUMTOK0 + 13, TASK_EOS };
    cr_assert_eq(task_parse_answer(&c, good, 2, out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "13");
    int digit[] = { TASK_DIGIT0 + 1, TASK_EOS };
    cr_assert_eq(task_parse_answer(&c, digit, 2, out, sizeof out, err), -1, "a digit is not the answer token");
    int past[] = { TASK_NUMTOK0 + 97, TASK_EOS };
    cr_assert_eq(task_parse_answer(&c, past, 2, out, sizeof out, err), -1, "<97> is not a residue");
    int no_eos[] = { TASK_NUMTOK0 + 13, TASK_NUMTOK0 + 2 };
    cr_assert_eq(task_parse_answer(&c, no_eos, 2, out, sizeof out, err), -1);
    cr_assert(strstr(err, "<eos>"), "%s", err);
    c = task_config_make("task=add numbers=tokens token_range=100 sum_as=digits");
    int digits[] = { TASK_DIGIT0 + 1, TASK_DIGIT0 + 9, TASK_DIGIT0 + 8, TASK_EOS };
    cr_assert_eq(task_parse_answer(&c, digits, 4, out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "198");
}

// ---------------------------------------------------------------- generator and split

Test(numtok_generate, draws_every_pair_below_the_range_uniformly_within_the_vocabulary)
{
    TaskConfig c = task_config_make("task=modadd modulus=7 numbers=tokens");
    int seen[7][7] = {{0}};
    uint64_t rng = rng_seed(3);
    TaskExample ex;
    char err[ERR_MAX];
    for (int i = 0; i < 4900; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &ex, err), 0, "%s", err);
        for (int t = 0; t < ex.n_tokens; t++) cr_assert(ex.tokens[t] >= 0 && ex.tokens[t] < task_config_vocab_size(&c));
        int a = task_tok_number(ex.tokens[1]), b = task_tok_number(ex.tokens[3]);
        cr_assert(a >= 0 && a < 7 && b >= 0 && b < 7, "%s", ex.problem);
        cr_assert_eq(task_tok_number(ex.tokens[5]), (a + b) % 7);
        seen[a][b]++;
    }
    for (int a = 0; a < 7; a++)
        for (int b = 0; b < 7; b++) cr_expect(seen[a][b] > 50 && seen[a][b] < 150, "(%d,%d) drawn %d times of ~100", a, b, seen[a][b]);
}

Test(numtok_generate, train_frac_splits_all_pairs_and_the_generator_keeps_to_its_split)
{
    TaskConfig c = task_config_make("task=modadd modulus=113 numbers=tokens train_frac=0.3");
    int n_train = 0;
    for (int a = 0; a < 113; a++)
        for (int b = 0; b < 113; b++) {
            char p[32];
            snprintf(p, sizeof p, "%d+%d", a, b);
            n_train += task_split_of(&c, task_problem_key(p)) == TASK_SPLIT_TRAIN;
        }
    cr_assert(n_train > 0.28 * 12769 && n_train < 0.32 * 12769, "%d of 12769 pairs in the train split", n_train);
    uint64_t rng = rng_seed(5);
    TaskExample ex;
    char err[ERR_MAX];
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_TEST, &ex, err), 0, "%s", err);
        cr_assert_eq(task_split_of(&c, task_problem_key(ex.problem)), TASK_SPLIT_TEST);
    }
}

Test(numtok_generate, sized_draws_give_values_of_the_grid_cells_decimal_lengths)
{
    TaskConfig c = task_config_make("task=add numbers=tokens token_range=150");
    uint64_t rng = rng_seed(9);
    TaskExample ex;
    char err[ERR_MAX];
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(task_generate_sized(&c, &rng, 3, 1, -1, &ex, err), 0, "%s", err);
        int a = task_tok_number(ex.tokens[1]), b = task_tok_number(ex.tokens[3]);
        cr_assert(a >= 100 && a < 150 && b < 10, "%s", ex.problem);
    }
    cr_assert_eq(task_generate_sized(&c, &rng, 4, 1, -1, &ex, err), -1, "no 4-digit value is below 150");
}

// ---------------------------------------------------------------- a trained model: eval and solve

TestSuite(numtok_cli, .init = scratch_enter, .fini = scratch_leave);

Test(numtok_cli, a_trained_checkpoint_rebuilds_the_vocabulary_and_solve_round_trips_numbers)
{
    char cmd[2048], out[16384], err[ERR_MAX];
    snprintf(cmd, sizeof cmd, "%s train --out run --set task.task=modadd --set task.modulus=11 --set task.numbers=tokens "
             "--set task.format=plain --set task.pad_width=0 --set task.max_len=2 --set train.steps=150 "
             "--set train.batch_size=64 --set model.n_layer=1 --set model.n_embd=32 --set model.n_head=2 "
             "--set train.threads=1 --set train.eval_every=0 --set eval.per_cell=5 --set eval.n_population=50",
             ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    ModelConfig mc;
    cr_assert_eq(ckpt_read_config("run/ckpt.safetensors", &mc, err), 0, "%s", err);
    cr_assert_eq(mc.vocab_size, 84 + 11);

    snprintf(cmd, sizeof cmd, "%s solve --checkpoint run/ckpt.safetensors --show-tokens \"5 + 7\" 2>&1", ARITHLAB_BIN);
    int st = run(cmd, out, sizeof out);
    cr_assert(st == 0 || st == 3, "exit %d: %s", st, out);
    cr_assert(strstr(out, "<bos><5>+<7>="), "the prompt as number tokens: %s", out);
    if (st == 0) {   // the model wrote one number token: its value is shown as a number
        int v = -1;
        const char *p = strstr(out, "5+7 = ");
        cr_assert(p && sscanf(p, "5+7 = %d", &v) == 1 && v >= 0 && v < 11, "%s", out);
        cr_assert(strstr(out, v == 1 ? "(correct)" : "(wrong: the answer is 1)"), "%s", out);
    }
    snprintf(cmd, sizeof cmd, "%s solve --checkpoint run/ckpt.safetensors \"5+11\" 2>&1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "11 is no residue mod 11: %s", out);
    cr_assert(strstr(out, "modulus=11"), "%s", out);

    snprintf(cmd, sizeof cmd, "%s eval --checkpoint run/ckpt.safetensors --out ev 2>&1", ARITHLAB_BIN);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "in-distribution"), "%s", out);
}
