// test_formats.c: the exact text of every format (Lee et al.'s scratchpads
// reproduced from the paper and the authors' data files), prompts and answer
// parsing round trips for every format, and the messages for bad input.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tasks/task.h"
#include "tests/test_task_util.h"

// ---------------------------------------------------------------- helpers


static TaskExample EX;   // 20 KB; off the stack
static char TEXT[TASK_MAX_TOKENS * 6];

// the whole sequence of a problem in a format, as text
static const char *render(const char *kv, const char *problem)
{
    TaskConfig c = task_config_make(kv);
    char err[ERR_MAX];
    cr_assert_eq(task_example_from_problem(&c, problem, &EX, err), 0, "%s", err);
    cr_assert_eq(task_decode(EX.tokens, EX.n_tokens, TEXT, sizeof TEXT, err), 0, "%s", err);
    return TEXT;
}

// the text of tokens [from, to) of EX
static const char *slice(int from, int to)
{
    char err[ERR_MAX];
    cr_assert_eq(task_decode(EX.tokens + from, to - from, TEXT, sizeof TEXT, err), 0, "%s", err);
    return TEXT;
}

// ---------------------------------------------------------------- the plain family

Test(formats, plain_writes_the_problem_as_is)
{
    cr_assert_str_eq(render("format=plain", "128+367"), "<bos>128+367=495<eos>");
    cr_assert_str_eq(slice(EX.answer_start, EX.n_tokens), "495<eos>");
}

Test(formats, reversed_answer_is_dollar_delimited_as_in_lee_et_al)
{
    cr_assert_str_eq(render("format=reversed", "128+367"), "<bos>$128+367=594$<eos>");
    cr_assert_str_eq(slice(0, EX.answer_start), "<bos>$128+367=");
    cr_assert_str_eq(render("format=reversed", "999+1"), "<bos>$999+1=0001$<eos>");
}

Test(formats, reverse_all_reverses_operands_and_answer)
{
    cr_assert_str_eq(render("format=reverse_all", "128+367"), "<bos>821+763=594<eos>");
    cr_assert_str_eq(render("format=reverse_all task=mul", "120*3"), "<bos>021*3=063<eos>");
}

Test(formats, zero_padding_widens_every_number)
{
    cr_assert_str_eq(render("pad_width=4", "128+367"), "<bos>0128+0367=0495<eos>");
    cr_assert_str_eq(render("pad_width=4 format=reversed", "128+367"), "<bos>$0128+0367=5940$<eos>");
    cr_assert_str_eq(render("pad_width=4 format=reverse_all", "5+7"), "<bos>5000+7000=2100<eos>");
}

Test(formats, index_hints_letter_each_digit_by_its_place)
{
    cr_assert_str_eq(render("index_hints=1", "128+367"), "<bos>c1b2a8+c3b6a7=c4b9a5<eos>");
    cr_assert_str_eq(render("index_hints=1 format=reversed", "128+367"), "<bos>$c1b2a8+c3b6a7=a5b9c4$<eos>");
    cr_assert_str_eq(render("index_hints=1 format=reverse_all", "128+367"), "<bos>a8b2c1+a7b6c3=a5b9c4<eos>");
    // places, not positions: the units of both operands share the letter a
    cr_assert_str_eq(render("index_hints=1 max_len=4", "1234+5"), "<bos>d1c2b3a4+a5=d1c2b3a9<eos>");
    cr_assert_str_eq(render("index_hints=1 pad_width=4", "12+5"), "<bos>d0c0b1a2+d0c0b0a5=d0c0b1a7<eos>");
}

Test(formats, random_hint_start_keeps_letters_consecutive)
{
    TaskConfig c = task_config_make("index_hints=1 hint_random_start=1 max_len=5");
    uint64_t rng = rng_seed(1);
    char err[ERR_MAX];
    int seen[26] = {0}, starts = 0;
    for (int i = 0; i < 300; i++) {
        cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        // the last token before '=' is the units digit of b, after its letter
        int eq = EX.answer_start - 1, units_letter = task_tok_char(EX.tokens[eq - 2]) - 'a';
        cr_assert(units_letter >= 0 && units_letter < 26);
        starts += !seen[units_letter];
        seen[units_letter] = 1;
        for (int t = 1; t + 2 < eq; t++) {   // letter, digit, letter: the letters step down by one
            int l = task_tok_char(EX.tokens[t]) - 'a', next = task_tok_char(EX.tokens[t + 2]) - 'a';
            if (l >= 0 && l < 26 && next >= 0 && next < 26) cr_assert_eq(next, (l + 25) % 26, "%s", EX.problem);
        }
    }
    cr_assert(starts > 20, "only %d different starting letters in 300 problems", starts);
}

Test(formats, spaces_go_between_prompt_tokens_never_in_the_answer)
{
    cr_assert_str_eq(render("space_prob=1", "128+367"), "<bos>128+367=495<eos>",
                     "task_example_from_problem is for evaluation: no random spaces");
    TaskConfig always = task_config_make("space_prob=1 format=reversed");
    uint64_t rng = rng_seed(2);
    char err[ERR_MAX];
    cr_assert_eq(task_generate_sized(&always, &rng, 3, 2, -1, &EX, err), 0, "%s", err);
    char want[64];
    snprintf(want, sizeof want, "<bos>$%c %c %c + %c %c =", EX.a[0], EX.a[1], EX.a[2], EX.b[0], EX.b[1]);
    cr_assert_str_eq(slice(0, EX.answer_start), want);

    TaskConfig some = task_config_make("space_prob=0.3 max_len=6");
    int spaces = 0, gaps = 0;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(task_generate(&some, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
        for (int t = EX.answer_start; t < EX.n_tokens; t++) cr_assert_neq(EX.tokens[t], task_tok(' '), "%s", EX.problem);
        int prompt = 0;
        for (int t = 1; t < EX.answer_start; t++) {
            spaces += EX.tokens[t] == task_tok(' ');
            prompt += EX.tokens[t] != task_tok(' ');
        }
        gaps += prompt - 1;
        char got[TASK_MAX_ANSWER];
        cr_assert_eq(task_parse_answer(&some, EX.tokens + EX.answer_start, EX.n_tokens - EX.answer_start, got,
                                       sizeof got, err), 0, "%s", err);
        cr_assert_str_eq(got, EX.answer);
    }
    double frac = (double)spaces / gaps;
    cr_assert(frac > 0.27 && frac < 0.33, "spaces in %.3f of the gaps, want 0.3", frac);
}

Test(formats, sort_writes_keyed_numbers_and_answers_keys)
{
    cr_assert_str_eq(render("task=sort", "A:12,B:7,C:9"), "<bos>A:12,B:7,C:9=B,C,A<eos>");
    cr_assert_str_eq(render("task=sort format=reverse_all", "A:12,B:7,C:90"), "<bos>A:21,B:7,C:09=B,A,C<eos>");
    cr_assert_str_eq(render("task=sort", "X:5,Y:5,Z:1"), "<bos>X:5,Y:5,Z:1=Z,X,Y<eos>", "ties keep list order");
    cr_assert_str_eq(render("task=sort index_hints=1", "Y:5,Z:12"), "<bos>Y:a5,Z:b1a2=Y,Z<eos>");
}

Test(formats, modadd_writes_the_residue)
{
    cr_assert_str_eq(render("task=modadd", "60+50"), "<bos>60+50=13<eos>");
    cr_assert_str_eq(render("task=modadd pad_width=2", "6+5"), "<bos>06+05=11<eos>");
    cr_assert_str_eq(render("task=modadd modulus=7 format=reversed", "6+5"), "<bos>$6+5=4$<eos>");
}

// ---------------------------------------------------------------- Lee et al. scratchpads

// Lee et al. 2023, Figure 4, the 128+367 example
Test(lee, simplified_scratchpad_of_128_plus_367)
{
    cr_assert_str_eq(render("format=scratch_simple", "128+367"),
                     "<bos>Input:\n128+367\nTarget:\n"
                     "A->5 , C->1\n"
                     "A->9 , C->0\n"
                     "A->4 , C->0.\n"
                     "495<eos>");
    cr_assert_str_eq(slice(0, EX.answer_start), "<bos>Input:\n128+367\nTarget:\n");
}

Test(lee, detailed_scratchpad_of_128_plus_367)
{
    cr_assert_str_eq(render("format=scratch_detailed", "128+367"),
                     "<bos>Input:\n128+367\nTarget:\n"
                     "<scratch>\n"
                     "[1,2,8] has 3 digits.\n"
                     "[3,6,7] has 3 digits.\n"
                     "[1,2,8] + [3,6,7] , A=[] , C=0 , 8+7+0=15 , A->5 , C->1\n"
                     "[1,2] + [3,6] , A=[5] , C=1 , 2+6+1=9 , A->9 , C->0\n"
                     "[1] + [3] , A=[9,5] , C=0 , 1+3+0=4 , A->4 , C->0\n"
                     "[] + [] , A=[4,9,5] C=0 , END\n"
                     "</scratch>\n"
                     "4 9 5<eos>");
}

// records copied from the authors' training files (lee-ny/teaching_arithmetic):
// unequal lengths and a final carry are where a reimplementation would drift
Test(lee, simplified_scratchpad_matches_the_authors_data)
{
    // data/ar_simple/add_examples_algorithmic_1000.txt
    cr_assert_str_eq(render("format=scratch_simple", "638+662"),
                     "<bos>Input:\n638+662\nTarget:\nA->0 , C->1\nA->0 , C->1\nA->3 , C->1.\n1300<eos>");
    cr_assert_str_eq(render("format=scratch_simple", "22+1"),
                     "<bos>Input:\n22+1\nTarget:\nA->3 , C->0\nA->2 , C->0.\n23<eos>");
    cr_assert_str_eq(render("format=scratch_simple", "0+11"),
                     "<bos>Input:\n0+11\nTarget:\nA->1 , C->0\nA->1 , C->0.\n11<eos>");
}

Test(lee, detailed_scratchpad_matches_the_authors_data)
{
    // data/algo_reasoning/add_examples_algorithmic_500.txt
    cr_assert_str_eq(render("format=scratch_detailed", "864+37"),
                     "<bos>Input:\n864+37\nTarget:\n<scratch>\n"
                     "[8,6,4] has 3 digits.\n"
                     "[3,7] has 2 digits.\n"
                     "[8,6,4] + [3,7] , A=[] , C=0 , 4+7+0=11 , A->1 , C->1\n"
                     "[8,6] + [3] , A=[1] , C=1 , 6+3+1=10 , A->0 , C->1\n"
                     "[8] + [] , A=[0,1] , C=1 , 8+0+1=9 , A->9 , C->0\n"
                     "[] + [] , A=[9,0,1] C=0 , END\n"
                     "</scratch>\n9 0 1<eos>");
    cr_assert_str_eq(render("format=scratch_detailed", "826+574"),
                     "<bos>Input:\n826+574\nTarget:\n<scratch>\n"
                     "[8,2,6] has 3 digits.\n"
                     "[5,7,4] has 3 digits.\n"
                     "[8,2,6] + [5,7,4] , A=[] , C=0 , 6+4+0=10 , A->0 , C->1\n"
                     "[8,2] + [5,7] , A=[0] , C=1 , 2+7+1=10 , A->0 , C->1\n"
                     "[8] + [5] , A=[0,0] , C=1 , 8+5+1=14 , A->4 , C->1\n"
                     "[] + [] , A=[4,0,0] C=1 , END\n"
                     "</scratch>\n1 4 0 0<eos>");
    cr_assert_str_eq(render("format=scratch_detailed", "3+9"),
                     "<bos>Input:\n3+9\nTarget:\n<scratch>\n"
                     "[3] has 1 digits.\n"
                     "[9] has 1 digits.\n"
                     "[3] + [9] , A=[] , C=0 , 3+9+0=12 , A->2 , C->1\n"
                     "[] + [] , A=[2] C=1 , END\n"
                     "</scratch>\n1 2<eos>");
}

// ---------------------------------------------------------------- multiplication scratchpad

Test(formats, multiplication_scratchpad_lists_partial_products_then_sums)
{
    cr_assert_str_eq(render("task=mul format=scratch_mul", "128*367"),
                     "<bos>Input:\n128*367\nTarget:\n<scratch>\n"
                     "128*7=896\n128*60=7680\n128*300=38400\n"
                     "896+7680=8576\n8576+38400=46976\n"
                     "</scratch>\n46976<eos>");
    cr_assert_str_eq(render("task=mul format=scratch_mul", "128*307"),
                     "<bos>Input:\n128*307\nTarget:\n<scratch>\n"
                     "128*7=896\n128*0=0\n128*300=38400\n"
                     "896+0=896\n896+38400=39296\n"
                     "</scratch>\n39296<eos>");
    cr_assert_str_eq(render("task=mul format=scratch_mul", "45*6"),
                     "<bos>Input:\n45*6\nTarget:\n<scratch>\n45*6=270\n</scratch>\n270<eos>");
}

// ---------------------------------------------------------------- prompts and parsing

// every format and modifier a config can hold, for the round trips below
static const char *ALL_CONFIGS[] = {
    "task=add max_len=6",
    "task=add max_len=6 format=reversed",
    "task=add max_len=6 format=reverse_all",
    "task=add max_len=5 pad_width=7 format=reversed",
    "task=add max_len=5 pad_width=6 format=reverse_all index_hints=1",
    "task=add max_len=6 index_hints=1",
    "task=add max_len=6 index_hints=1 format=reversed hint_random_start=1",
    "task=add max_len=6 space_prob=0.4 format=reverse_all",
    "task=add max_len=4 format=scratch_simple",
    "task=add max_len=4 format=scratch_detailed",
    "task=add max_len=6 balance_carries=1 format=reversed",
    "task=sub max_len=6",
    "task=sub max_len=6 format=reversed pad_width=6 balance_carries=1",
    "task=sub max_len=6 format=reverse_all index_hints=1",
    "task=mul max_len=4",
    "task=mul max_len=4 format=reversed",
    "task=mul max_len=4 format=reverse_all pad_width=9",
    "task=mul max_len=4 format=scratch_mul",
    "task=sort max_len=4 sort_count=8",
    "task=sort max_len=4 format=reverse_all index_hints=1 space_prob=0.2",
    "task=modadd modulus=97",
    "task=modadd modulus=97 format=reversed pad_width=2",
    "task=modadd modulus=113 format=reverse_all index_hints=1",
};
#define N_CONFIGS (int)(sizeof ALL_CONFIGS / sizeof ALL_CONFIGS[0])

Test(roundtrip, prompt_then_answer_parses_back_for_every_format)
{
    char err[ERR_MAX];
    for (int k = 0; k < N_CONFIGS; k++) {
        TaskConfig c = task_config_make(ALL_CONFIGS[k]);
        int deterministic = c.space_prob == 0 && !c.hint_random_start;
        uint64_t rng = rng_seed(3);
        for (int i = 0; i < 200; i++) {
            cr_assert_eq(task_generate(&c, &rng, TASK_SPLIT_ANY, &EX, err), 0, "%s", err);
            int ids[TASK_MAX_TOKENS], n;
            cr_assert_eq(task_prompt(&c, EX.problem, ids, TASK_MAX_TOKENS, &n, err), 0, "%s: %s", ALL_CONFIGS[k], err);
            if (deterministic) {
                cr_assert_eq(n, EX.answer_start, "%s: %s", ALL_CONFIGS[k], EX.problem);
                cr_assert_eq(memcmp(ids, EX.tokens, (size_t)n * sizeof(int)), 0, "%s: prompt of %s", ALL_CONFIGS[k],
                             EX.problem);
            }
            char got[TASK_MAX_ANSWER], want[TASK_MAX_ANSWER];
            cr_assert_eq(task_parse_answer(&c, EX.tokens + EX.answer_start, EX.n_tokens - EX.answer_start, got,
                                           sizeof got, err), 0, "%s: %s: %s", ALL_CONFIGS[k], EX.problem, err);
            cr_assert_str_eq(got, EX.answer, "%s: %s", ALL_CONFIGS[k], EX.problem);
            cr_assert_eq(task_answer(&c, EX.problem, want, sizeof want, err), 0, "%s", err);
            cr_assert_str_eq(want, EX.answer);
        }
    }
}

Test(roundtrip, prompt_ends_where_the_trained_answer_begins)
{
    TaskConfig c = task_config_make("format=reversed");
    int ids[64], n;
    char err[ERR_MAX], text[256];
    cr_assert_eq(task_prompt(&c, "128+367", ids, 64, &n, err), 0, "%s", err);
    task_decode(ids, n, text, sizeof text, err);
    cr_assert_str_eq(text, "<bos>$128+367=");
    c = task_config_make("format=scratch_detailed");
    cr_assert_eq(task_prompt(&c, "128+367", ids, 64, &n, err), 0, "%s", err);
    task_decode(ids, n, text, sizeof text, err);
    cr_assert_str_eq(text, "<bos>Input:\n128+367\nTarget:\n");
    cr_assert_eq(task_prompt(&c, "128+367", ids, 10, &n, err), -1, "a prompt that does not fit is an error");
}

Test(roundtrip, prompt_accepts_lengths_beyond_max_len)
{
    TaskConfig c = task_config_make("max_len=3 format=reverse_all");   // length generalization is evaluated this way
    int ids[64], n;
    char err[ERR_MAX], text[256];
    cr_assert_eq(task_prompt(&c, "12345+678", ids, 64, &n, err), 0, "%s", err);
    task_decode(ids, n, text, sizeof text, err);
    cr_assert_str_eq(text, "<bos>54321+876=");
}

Test(roundtrip, parse_undoes_padding_reversal_and_hints)
{
    struct { const char *kv, *generated, *want; } cases[] = {
        { "format=plain", "495", "495" },
        { "format=reversed", "594$", "495" },
        { "format=reverse_all", "594", "495" },
        { "format=reversed pad_width=5", "59400$", "495" },
        { "format=plain pad_width=4", "0000", "0" },
        { "format=plain index_hints=1", "c4b9a5", "495" },
        { "format=reversed index_hints=1", "a5b9c4$", "495" },
        { "format=reversed index_hints=1 hint_random_start=1", "x5y9z4$", "495" },
        { "format=plain index_hints=1 hint_random_start=1", "a4z9y5", "495" },
        { "format=plain", "0495", "0495" },   // a leading zero is a wrong answer, not a reformatting
        { "format=scratch_simple", "A->5 , C->1\nA->9 , C->0\nA->4 , C->0.\n495", "495" },
        { "format=scratch_detailed", "<scratch>\n[] + [] , A=[4,9,5] C=0 , END\n</scratch>\n4 9 5", "495" },
        { "task=mul format=scratch_mul", "<scratch>\n45*6=270\n</scratch>\n270", "270" },
        { "task=sort", "B,C,A", "B,C,A" },
    };
    char err[ERR_MAX], got[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TaskConfig c = task_config_make(cases[i].kv);
        int ids[256], n;
        cr_assert_eq(task_encode(cases[i].generated, ids, 255, &n, err), 0, "%s", err);
        ids[n++] = TASK_EOS;
        ids[n++] = TASK_PAD;   // whatever follows <eos> is ignored
        cr_assert_eq(task_parse_answer(&c, ids, n, got, sizeof got, err), 0, "%s '%s': %s", cases[i].kv,
                     cases[i].generated, err);
        cr_assert_str_eq(got, cases[i].want, "%s '%s'", cases[i].kv, cases[i].generated);
    }
}

Test(roundtrip, malformed_answers_are_rejected_with_a_reason)
{
    struct { const char *kv, *generated; int eos; const char *says; } cases[] = {
        { "format=plain", "49x5", 1, "not a digit" },
        { "format=plain", "495", 0, "no <eos>" },
        { "format=plain", "", 1, "no digits" },
        { "format=reversed", "594", 1, "'$'" },
        { "format=plain index_hints=1", "495", 1, "place letter" },
        { "format=plain index_hints=1", "c4a9b5", 1, "place letter 'a' after 'c'" },
        { "format=plain index_hints=1", "d4c9b5", 1, "units digit is lettered 'b'" },
        { "format=plain index_hints=1", "b4a", 1, "ends with a place letter" },
        { "format=plain pad_width=4", "495", 1, "pad_width=4" },
        { "format=scratch_detailed", "<scratch>\n[] + [] , A=[4,9,5] C=0 , END\n4 9 5", 1, "</scratch>" },
        { "format=scratch_simple", "A->5 , C->1\nA->4 , C->0\n495", 1, "'.'" },
        { "format=scratch_simple", "A->5 , C->1.\n4x5", 1, "not a number" },
        { "format=scratch_simple", "495", 1, "no final answer line" },
        { "task=sort", "B,,A", 1, "expected a key" },
        { "task=sort", "B,C,", 1, "list of keys" },
    };
    char err[ERR_MAX], got[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TaskConfig c = task_config_make(cases[i].kv);
        int ids[256], n;
        cr_assert_eq(task_encode(cases[i].generated, ids, 255, &n, err), 0, "%s", err);
        if (cases[i].eos) ids[n++] = TASK_EOS;
        cr_assert_eq(task_parse_answer(&c, ids, n, got, sizeof got, err), -1, "%s '%s' should not parse",
                     cases[i].kv, cases[i].generated);
        cr_assert(strstr(err, cases[i].says), "%s '%s': '%s' should say %s", cases[i].kv, cases[i].generated, err,
                  cases[i].says);
    }
    TaskConfig c = task_config_make("format=plain");
    int ids[] = { TASK_DIGIT0 + 4, TASK_PAD, TASK_EOS };
    cr_assert_eq(task_parse_answer(&c, ids, 3, got, sizeof got, err), -1);
    cr_assert(strstr(err, "<pad>"), "%s", err);
}

Test(roundtrip, bad_problems_are_rejected_with_a_reason)
{
    char long_op[120], wide[40];
    memset(long_op, '1', 101);
    strcpy(long_op + 101, "+1");
    memset(wide, '1', 27);
    strcpy(wide + 27, "+1");
    struct { const char *kv, *problem, *says; } cases[] = {
        { "task=add", "", "empty" },
        { "task=add", "12a+3", "'a' at position 2 is not a digit" },
        { "task=add", "12 + 3", "' ' at position 2" },
        { "task=add", "12-3", "uses '-', but this run's task add uses '+'" },
        { "task=add", "123", "has no '+'" },
        { "task=add", "12+", "second operand is missing" },
        { "task=add", "+3", "'+' at position 0 is not a digit" },
        { "task=add", "012+3", "leading zero" },
        { "task=add", "12+3+4", "after the second operand" },
        { "task=add", long_op, "at most 100" },
        { "task=add pad_width=4", "12345+1", "pad_width=4" },
        { "task=add pad_width=4", "9999+1", "pad_width=4" },   // the answer has 5 digits
        { "task=add index_hints=1", wide, "26 place letters" },
        { "task=mul", "12+3", "uses '+', but this run's task mul uses '*'" },
        { "task=sub", "3-12", "a >= b" },
        { "task=modadd", "97+1", "below modulus=97" },
        { "task=modadd modulus=113", "100+112", NULL },
        { "task=sort", "A:1,A:2", "key 'A' appears twice" },
        { "task=sort", "A1", "expected ':' after key 'A'" },
        { "task=sort", "a:1", "expected a key A-Z" },
        { "task=sort", "A:1,", "ends where a key" },
        { "task=sort", "A:01", "leading zero" },
    };
    char err[ERR_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TaskConfig c = task_config_make(cases[i].kv);
        int ids[512], n;
        int rc = task_prompt(&c, cases[i].problem, ids, 512, &n, err);
        if (!cases[i].says) {
            cr_assert_eq(rc, 0, "%s '%s': %s", cases[i].kv, cases[i].problem, err);
            continue;
        }
        cr_assert_eq(rc, -1, "%s '%s' should be rejected", cases[i].kv, cases[i].problem);
        cr_assert(strstr(err, cases[i].says), "%s '%.20s': '%s' should say %s", cases[i].kv, cases[i].problem, err,
                  cases[i].says);
    }
}
