// solve.c: `arithlab solve`: problems in ordinary notation answered by a
// trained model. One problem from the command line, or many, one per line,
// from a file (--file FILE) or standard input ("-", or no problem when standard
// input is not a terminal), answered in the same order, one line each, through
// the batched greedy decoder (eval_examples).
//
//   arithlab solve --checkpoint ckpt.safetensors "128 + 367"
//   printf '1+2\n12+34\n' | arithlab solve --checkpoint ckpt.safetensors
//
// Spaces around operators and separators are dropped ("128 + 367" is 128+367;
// "12 8+1" stays refused). A line that is not a problem of the run's task gets a
// message on standard error naming its line, what was wrong and what the task
// accepts, and an output line "LINE = ?"; the other lines are still answered,
// and the exit status is 2 at the end. Blank lines and lines starting with '#'
// are skipped (they get no output line).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/args.h"
#include "eval/eval.h"
#include "run/load.h"

// ---------------------------------------------------------------- reading problems

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int is_word(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// in place: drop leading and trailing space, and every run of spaces beside an
// operator or separator; a run between two digits (or letters) is kept, so the
// parser refuses "12 8+1" instead of reading 128+1
static void solve_normalize(char *s)
{
    size_t n = strlen(s), k = 0;
    for (size_t i = 0; i < n;) {
        if (!is_space(s[i])) { s[k++] = s[i++]; continue; }
        size_t j = i;
        while (j < n && is_space(s[j])) j++;
        if (k > 0 && j < n && is_word(s[k - 1]) && is_word(s[j])) s[k++] = ' ';
        i = j;
    }
    s[k] = 0;
}

typedef struct {
    int line;         // 1-based line of its source
    char *text;       // the problem, normalized (owned)
    int ex;           // index into the examples, or -1 when refused
} SolveItem;

typedef struct {
    SolveItem *items;
    int n, cap;
    TaskExample *ex;  // the accepted problems, in order
    int n_ex;
    int refused;
} SolveList;

static void solve_list_free(SolveList *l)
{
    for (int i = 0; i < l->n; i++) free(l->items[i].text);
    free(l->items);
    free(l->ex);
}

// checks one problem; a refused one gets its message on stderr. where: "" for the
// command line, else "FILE line N: "
static int solve_list_add(SolveList *l, const TaskConfig *tc, int block_size, const char *text, int line, const char *where)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        SolveItem *items = realloc(l->items, sizeof(SolveItem) * (size_t)cap);
        TaskExample *ex = realloc(l->ex, sizeof(TaskExample) * (size_t)cap);
        if (items) l->items = items;
        if (ex) l->ex = ex;
        if (!items || !ex) { fprintf(stderr, "arithlab solve: out of memory for %d problems\n", cap); return -1; }
        l->cap = cap;
    }
    SolveItem *it = &l->items[l->n];
    it->line = line;
    it->ex = -1;
    if (!(it->text = strdup(text))) { fprintf(stderr, "arithlab solve: out of memory\n"); return -1; }
    solve_normalize(it->text);
    l->n++;
    char err[ERR_MAX];
    TaskExample *e = &l->ex[l->n_ex];
    if (task_example_from_problem(tc, it->text, e, err)) {
        char size[48] = "";   // a 100 KB input is cut in err; say how long it was
        size_t n = strlen(it->text);
        if (n > 80) snprintf(size, sizeof size, " (%zu bytes in all)", n);
        fprintf(stderr, "arithlab solve: %s%s%s; task %s takes %s\n", where, err, size, task_kind_name(tc->task),
                task_notation(tc->task));
        l->refused++;
        return 0;
    }
    if (e->n_tokens > block_size + 1) {   // the last token is generated, never fed
        fprintf(stderr, "arithlab solve: %sproblem '%.60s' needs %d tokens with its answer, more than the model's "
                        "context of %d (model.block_size); the model was trained on operands of up to %d digits\n",
                where, it->text, e->n_tokens, block_size, tc->max_len);
        l->refused++;
        return 0;
    }
    it->ex = l->n_ex++;
    return 0;
}

// every line of f; 0, or -1 on a read error or no memory
static int solve_list_read(SolveList *l, const TaskConfig *tc, int block_size, FILE *f, const char *name)
{
    char *line = NULL, where[600];
    size_t line_cap = 0;
    int line_no = 0, rc = 0;
    while (!rc && getline(&line, &line_cap, f) >= 0) {
        line_no++;
        char *s = line;
        while (is_space(*s)) s++;
        if (!*s || *s == '#') continue;
        snprintf(where, sizeof where, "%.500s line %d: ", name, line_no);
        rc = solve_list_add(l, tc, block_size, s, line_no, where);
    }
    if (!rc && ferror(f)) { fprintf(stderr, "arithlab solve: %s: read error\n", name); rc = -1; }
    free(line);
    return rc;
}

// ---------------------------------------------------------------- answering

// the answers of l->ex into got, printing each prompt and the model's text (show)
static int solve_decode(Model *m, const TaskConfig *tc, SolveList *l, int show, char (*got)[TASK_MAX_ANSWER],
                        int *unparsed, char *err)
{
    if (!show || tc->numbers == TASK_NUMBERS_FONE) {
        if (eval_examples(m, tc, l->ex, l->n_ex, 1, NULL, NULL, got, err) < 0) return -1;
        for (int i = 0; i < l->n_ex; i++) unparsed[i] = !got[i][0];
        return 0;
    }
    // --show-tokens: one problem at a time, to print what the model wrote
    int S = m->T_max + 1, *seq = calloc((size_t)S, sizeof(int));
    if (!seq) return err_set(err, "out of memory");
    for (int i = 0; i < l->n_ex; i++) {
        const TaskExample *e = &l->ex[i];
        int P = e->answer_start, n_gen = 0;
        memset(seq, 0, sizeof(int) * (size_t)S);
        memcpy(seq, e->tokens, sizeof(int) * (size_t)P);
        if (model_generate_greedy(m, seq, S, 1, P, S - P, TASK_EOS, &n_gen, 1, err)) { free(seq); return -1; }
        char text[TASK_MAX_TOKENS * 6], perr[ERR_MAX];
        if (!task_decode_n(seq, P + n_gen, task_number_tokens(tc), text, sizeof(text), perr)) printf("model text: %s\n", text);
        unparsed[i] = task_parse_answer(tc, seq + P, n_gen, got[i], TASK_MAX_ANSWER, perr) != 0;
        if (unparsed[i]) got[i][0] = 0;
    }
    free(seq);
    return 0;
}

// numbers = fone, --show-tokens: the tokens, each [NUM] with its value
static void solve_show_fone(const TaskExample *e, const char *got)
{
    printf("model input:");
    for (int t = 0, v = 0; t < e->answer_start; t++) {
        if (v < e->n_values && e->value_pos[v] == t) printf(" [NUM:%.0f]", e->value[v++]);
        else printf(" %s", task_tok_name(e->tokens[t]));
    }
    printf("  -> [NUM:%s] read from the FoNE head\n", got);
}

// ---------------------------------------------------------------- the command

// the part of --help after the flags: each task's notation and the batch rules
static void solve_help_notation(void)
{
    printf("\nProblems are written in ordinary notation, as the run's task takes them; spaces around\n"
           "operators and separators are dropped (\"128 + 367\"):\n");
    for (int k = 0; k < TASK_N_KINDS; k++) printf("  %-8s %s\n", task_kind_name(k), task_notation(k));
    printf("\nMany problems: --file FILE, or \"-\" (or no problem, with standard input not a terminal)\n"
           "reads standard input, one problem per line; each gets one output line, in order. Blank lines\n"
           "and lines starting with '#' are skipped. A line that is not a problem is named on standard\n"
           "error (FILE line N) and printed as \"LINE = ?\"; the other lines are still answered, and the\n"
           "exit status is then 2. Exit 3: some answer of the model did not parse.\n");
}

// the problem given, or every line of file ("-": standard input), into l: 0, or -1 after a message
static int solve_read_problems(SolveList *l, const TaskConfig *tc, int block_size, const char *problem, const char *file)
{
    if (!file) return solve_list_add(l, tc, block_size, problem, 1, "");
    int from_stdin = !strcmp(file, "-");
    const char *name = from_stdin ? "standard input" : file;
    FILE *f = from_stdin ? stdin : fopen(file, "r");
    if (!f) { fprintf(stderr, "arithlab solve: --file %s: cannot read it\n", file); return -1; }
    int r = solve_list_read(l, tc, block_size, f, name);
    if (!from_stdin) fclose(f);
    if (!r && !l->n) {
        fprintf(stderr, "arithlab solve: %s holds no problem (one per line, e.g. %s)\n", name, task_notation(tc->task));
        r = -1;
    }
    return r;
}

// one line per problem, in order, each problem echoed once; returns how many answers did not parse
static int solve_print(const SolveList *l, const TaskConfig *tc, int show, int batch,
                       char (*got)[TASK_MAX_ANSWER], const int *unparsed)
{
    int n_unparsed = 0;
    for (int i = 0; i < l->n; i++) {
        const SolveItem *it = &l->items[i];
        if (it->ex < 0) {
            printf(strlen(it->text) > 80 ? "%.60s... = ?" : "%s = ?", it->text);
            printf("   (refused: see the message for line %d)\n", it->line);
            continue;
        }
        const TaskExample *e = &l->ex[it->ex];
        if (show && tc->numbers == TASK_NUMBERS_FONE) solve_show_fone(e, got[it->ex]);
        if (unparsed[it->ex]) {
            n_unparsed++;
            if (!batch) fprintf(stderr, "arithlab solve: the model's output did not parse as an answer to '%.60s'\n", it->text);
            else printf("%s = ?   (the model's output did not parse as an answer)\n", it->text);
            continue;
        }
        printf("%s = %s", it->text, got[it->ex]);
        printf(strcmp(got[it->ex], e->answer) ? "   (wrong: the answer is %s)\n" : "   (correct)\n", e->answer);
    }
    return n_unparsed;
}

int cmd_solve(int argc, char **argv)
{
    const char *ckpt = NULL, *problem = NULL, *file = NULL;
    int show = 0, threads = 0, dash = 0;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &ckpt, "checkpoint written by arithlab train"},
        {"--file", ARG_STR, &file, "problems one per line, answered in order (\"-\": standard input)"},
        {"--show-tokens", ARG_FLAG, &show, "also print the prompt and the generated text"},
        {"--threads", ARG_INT, &threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
    };
    // "-" as the problem reads standard input (args_parse takes it for a flag)
    char **av = malloc(sizeof(char *) * (size_t)(argc + 1));
    if (!av) return 1;
    int ac = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "-") && strcmp(argv[i - 1], "--file") && strcmp(argv[i - 1], "--checkpoint")) dash = 1;
        else av[ac++] = argv[i];
    }
    av[ac] = NULL;
    int r = args_parse("solve", "--checkpoint FILE [--threads N] \"128+367\" | --file FILE | - (standard input)", args,
                       (int)(sizeof(args) / sizeof(args[0])), ac, av, &problem);
    free(av);
    if (r == 1) solve_help_notation();
    if (r) return r < 0 ? 2 : 0;
    char err[ERR_MAX];
    if (run_threads_check("--threads", threads, err)) { fprintf(stderr, "arithlab solve: %s\n", err); return 2; }
    if (dash && file) { fprintf(stderr, "arithlab solve: give --file FILE or \"-\", not both\n"); return 2; }
    if (dash) file = "-";
    if (problem && file) {
        fprintf(stderr, "arithlab solve: give one problem or --file FILE / \"-\", not both ('%.60s' and %s)\n", problem, file);
        return 2;
    }
    if (!problem && !file) {
        if (isatty(STDIN_FILENO)) {
            fprintf(stderr, "arithlab solve: usage: arithlab solve --checkpoint FILE \"128+367\" (or --file FILE, "
                            "or problems on standard input)\n");
            return 2;
        }
        file = "-";
    }
    if (!ckpt) { fprintf(stderr, "arithlab solve: --checkpoint FILE is required (a checkpoint written by arithlab train)\n"); return 2; }
    RunConfig rc;
    if (run_config_from_checkpoint(&rc, ckpt, err)) { fprintf(stderr, "arithlab solve: %s\n", err); return 2; }
    TaskConfig tc = rc.task;
    tc.space_prob = 0.0;
    tc.hint_random_start = 0;

    // every problem checked before the model is built
    SolveList l = {0};
    int batch = file != NULL;
    if (solve_read_problems(&l, &tc, rc.model.block_size, problem, file)) { solve_list_free(&l); return 2; }
    if (!batch && l.refused) { solve_list_free(&l); return 2; }

    char (*got)[TASK_MAX_ANSWER] = calloc((size_t)(l.n_ex ? l.n_ex : 1), TASK_MAX_ANSWER);
    int *unparsed = calloc((size_t)(l.n_ex ? l.n_ex : 1), sizeof(int));
    int code = 0;
    if (!got || !unparsed) { fprintf(stderr, "arithlab solve: out of memory\n"); code = 1; }
    if (!code && l.n_ex) {
        int B = rc.eval.batch_size > 0 ? rc.eval.batch_size : 64;
        if (B > l.n_ex) B = l.n_ex;
        Model m;
        if (run_load_model(&m, ckpt, B, 0, threads, err)) {
            fprintf(stderr, "arithlab solve: %s\n", err);
            code = 1;
        } else {
            if (solve_decode(&m, &tc, &l, show, got, unparsed, err)) { fprintf(stderr, "arithlab solve: %s\n", err); code = 1; }
            model_free(&m);
        }
    }
    int n_unparsed = code ? 0 : solve_print(&l, &tc, show, batch, got, unparsed);
    if (!code && batch && l.refused)
        fprintf(stderr, "arithlab solve: %d of %d lines refused (named above); the others are answered\n", l.refused, l.n);
    if (!code) code = l.refused ? 2 : n_unparsed ? 3 : 0;
    free(got);
    free(unparsed);
    solve_list_free(&l);
    return code;
}
