// fuzz_problem.c: problems in ordinary notation, as `arithlab solve` takes
// them, and generated answers read back (tasks/). The first byte picks one of
// the task configs below; its top bit picks the mode:
//   0: the rest is a problem ("128+367"): task_example_from_problem,
//      task_prompt, task_answer must agree, and the example's answer tokens
//      must parse back (task_parse_answer) to its answer;
//   1: the rest is generated token ids (one byte each, some outside the
//      vocabulary): task_parse_answer must parse them or refuse them cleanly.
// Seeds: tests/fuzz/corpus/problem/ (tests/fuzz/make_seeds.py writes them).
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tasks/task.h"

// each spec: INI task keys, comma separated; all must validate
static const char *const SPECS[] = {
    "task=add,format=plain",
    "task=add,format=reversed,pad_width=6,max_len=5",   // the quickstart's
    "task=add,format=reverse_all,index_hints=1",
    "task=add,format=plain,index_hints=1,hint_random_start=1,space_prob=0.5",
    "task=add,format=scratch_simple",
    "task=add,format=scratch_detailed",
    "task=sub,format=reversed",
    "task=mul,format=plain,pad_width=8,max_len=4",
    "task=mul,format=scratch_mul",
    "task=sort,format=plain",
    "task=sort,format=reverse_all,pad_width=3",
    "task=modadd,format=plain,modulus=97",
    "task=modadd,format=reversed,modulus=100000",
};
#define N_SPECS (int)(sizeof SPECS / sizeof SPECS[0])

static TaskConfig g_cfg[N_SPECS];
static TaskExample g_ex;

int fuzz_problem_init(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_single_thread();
    char err[ERR_MAX];
    for (int i = 0; i < N_SPECS; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", SPECS[i]);
        task_config_default(&g_cfg[i]);
        for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            *eq = 0;
            if (task_config_set(&g_cfg[i], kv, eq + 1, err)) { fprintf(stderr, "%s: %s\n", SPECS[i], err); abort(); }
        }
        if (task_config_validate(&g_cfg[i], err)) { fprintf(stderr, "%s: %s\n", SPECS[i], err); abort(); }
    }
    return 0;
}

static void fuzz_problem_text(const TaskConfig *cfg, int spec, const char *problem, int small_cap)
{
    char err[ERR_MAX] = "", want[TASK_MAX_ANSWER], got[TASK_MAX_ANSWER];
    static int ids[TASK_MAX_TOKENS];
    int n = -1;

    int rc_ex = task_example_from_problem(cfg, problem, &g_ex, err);
    fuzz_check_err(rc_ex, err, "task_example_from_problem");
    err[0] = 0;
    int rc_prompt = task_prompt(cfg, problem, ids, TASK_MAX_TOKENS, &n, err);
    fuzz_check_err(rc_prompt, err, "task_prompt");
    err[0] = 0;
    int rc_ans = task_answer(cfg, problem, want, sizeof want, err);
    fuzz_check_err(rc_ans, err, "task_answer");
    err[0] = 0;
    fuzz_check_err(task_prompt(cfg, problem, ids, small_cap, &n, err), err, "task_prompt (small cap)");
    err[0] = 0;
    fuzz_check_err(task_answer(cfg, problem, got, (size_t)small_cap % 8, err), err, "task_answer (small cap)");
    if (rc_ex != 0) {
        FUZZ_CHECK(rc_prompt != 0, "[%s] task_prompt accepts '%.80s', which has no example", SPECS[spec], problem);
        return;
    }

    // the example, the prompt and the answer tell one story
    FUZZ_CHECK(rc_prompt == 0 && rc_ans == 0, "[%s] '%.80s' has an example but no prompt or answer", SPECS[spec], problem);
    FUZZ_CHECK(strcmp(want, g_ex.answer) == 0, "[%s] '%.80s': answer '%s' vs example's '%s'", SPECS[spec], problem,
               want, g_ex.answer);
    n = -1;
    task_prompt(cfg, problem, ids, TASK_MAX_TOKENS, &n, err);
    FUZZ_CHECK(n == g_ex.answer_start && memcmp(ids, g_ex.tokens, (size_t)n * sizeof(int)) == 0,
               "[%s] '%.80s': prompt differs from the example's", SPECS[spec], problem);
    FUZZ_CHECK(g_ex.n_tokens > g_ex.answer_start && g_ex.n_tokens <= TASK_MAX_TOKENS &&
               g_ex.tokens[0] == TASK_BOS && g_ex.tokens[g_ex.n_tokens - 1] == TASK_EOS,
               "[%s] '%.80s': example is not <bos> ... <eos>", SPECS[spec], problem);
    for (int i = 0; i < g_ex.n_tokens; i++)
        FUZZ_CHECK(g_ex.tokens[i] >= 0 && g_ex.tokens[i] < TASK_VOCAB_SIZE, "token %d is %d", i, g_ex.tokens[i]);
    FUZZ_CHECK(strcmp(g_ex.problem, problem) == 0, "[%s] example rewrites '%.80s' as '%.80s'", SPECS[spec], problem,
               g_ex.problem);

    // a perfect model's output parses back to the true answer
    err[0] = 0;
    int rc = task_parse_answer(cfg, g_ex.tokens + g_ex.answer_start, g_ex.n_tokens - g_ex.answer_start, got,
                               sizeof got, err);
    FUZZ_CHECK(rc == 0, "[%s] '%.80s': the true answer's tokens do not parse: %s", SPECS[spec], problem, err);
    FUZZ_CHECK(strcmp(got, g_ex.answer) == 0, "[%s] '%.80s': parsed '%s', true answer '%s'", SPECS[spec], problem,
               got, g_ex.answer);
}

static void fuzz_answer_tokens(const TaskConfig *cfg, const uint8_t *data, size_t size)
{
    static int ids[TASK_MAX_TOKENS + 64];
    int n = size < sizeof ids / sizeof ids[0] ? (int)size : (int)(sizeof ids / sizeof ids[0]);
    for (int i = 0; i < n; i++) ids[i] = (int)(data[i] % (TASK_VOCAB_SIZE + 4)) - 2;   // -2 .. V+1
    char out[TASK_MAX_ANSWER], err[ERR_MAX] = "";
    int rc = task_parse_answer(cfg, ids, n, out, sizeof out, err);
    fuzz_check_err(rc, err, "task_parse_answer");
    if (rc == 0) FUZZ_CHECK(memchr(out, 0, sizeof out) != NULL, "unterminated answer");
    err[0] = 0;
    fuzz_check_err(task_parse_answer(cfg, ids, n, out, 3, err), err, "task_parse_answer (small cap)");
}

int fuzz_problem_one(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int spec = (data[0] & 0x7f) % N_SPECS, answer_mode = data[0] >> 7;
    const TaskConfig *cfg = &g_cfg[spec];
    if (answer_mode) {
        fuzz_answer_tokens(cfg, data + 1, size - 1);
        return 0;
    }
    char *problem = malloc(size);   // bytes 1.. as a string; an embedded NUL ends it
    if (!problem) return 0;
    memcpy(problem, data + 1, size - 1);
    problem[size - 1] = 0;
    fuzz_problem_text(cfg, spec, problem, 1 + data[0] % 16);
    free(problem);
    return 0;
}

FUZZ_LIBFUZZER_ENTRY(fuzz_problem_init, fuzz_problem_one)
