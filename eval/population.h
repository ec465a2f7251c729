// population.h: exact match on a population of problems other than the
// (len a, len b) grid: problems drawn the way training draws them (the same
// sampler, held out from training), or the problems of a file, such as Lee et
// al.'s published test files. Each result carries the words that name its
// population, so every number in a summary says what it was measured on.
//
//   EvalPopulation p;
//   eval_population_train(m, &tc, 1000, seed, train_set, &p, err);   // or eval_population_file
//   eval_population_print(&p, 1, stdout);
//   eval_population_csv(&p, 1, dir, err);                            // accuracy_population.csv
//   eval_population_free(&p);
//
// A problems file holds one problem per line in ordinary notation ("128+367",
// sort "A:12,B:7"), optionally followed by '=' and an answer c ("128+367=495";
// "128+367=" is a prompt with no answer). Such lines are scored against c, and
// the lines whose c is not the true answer are counted and reported. Lee et
// al.'s reversed files write "$128+367=594$": a leading '$' is dropped, and an
// answer closed by '$' is read least significant digit first. Blank lines and
// lines starting with '#' are skipped.
#ifndef ARITHLAB_EVAL_POPULATION_H
#define ARITHLAB_EVAL_POPULATION_H

#include "eval/eval.h"

#define EVAL_POP_NAME 600

typedef struct {
    char name[EVAL_POP_NAME];  // "training distribution, 1000 problems" / "file tests/x.txt, 200 problems"
    char kind[16];             // "training", "values" (eval.population) or "file": the CSV's population column
    char source[512];          // the file's path; "" for the training distribution
    EvalReport r;              // per-length, per-carry and overlap counts of its problems
    long n, correct;
    long disagree;             // file: lines whose answer is not the true answer (scored against theirs)
    int first_disagree_line;   // the first such line (1-based), 0 if none
    char first_disagree[TASK_MAX_PROBLEM + TASK_MAX_ANSWER + 64];   // that line and the true answer, for the message
} EvalPopulation;

// n problems drawn by task_generate from tc (sampling, carry balancing and all), with
// their own seed (the grid's and training's draws are untouched): from the test split
// when train_frac < 1, and redrawn (up to 16 times; the grid, eval_grid, draws
// strictly) where a fixed training set (train_set with train_size > 0) holds them. -1 + err.
// the task a population draws from: tc itself (eval.population = training), or for
// values tc with sampling = values and carries not balanced: the papers' test sets
// (Lee et al., FoNE), whose training sets are drawn otherwise
TaskConfig eval_population_task(const TaskConfig *tc, int values);
// the problems eval_population_train scores, into ex (room for n)
int eval_population_draw(const TaskConfig *tc, int n, uint64_t seed, const TaskSet *train_set, TaskExample *ex,
                         char *err);
int eval_population_train(Model *m, const TaskConfig *tc, int n, uint64_t seed, const TaskSet *train_set,
                          EvalPopulation *p, char *err);
// the same, drawn from eval_population_task(tc, 1) and named for it ("operands uniform
// over the training range (carries not balanced), N problems"; kind "values")
int eval_population_values(Model *m, const TaskConfig *tc, int n, uint64_t seed, const TaskSet *train_set,
                           EvalPopulation *p, char *err);

// the problems of a file (format above), read in full before the model sees any:
// examples (malloc'd, *ex) with answer set to the line's c where it has one; -1 + err
// naming path:line, what was wrong and what is accepted. disagree / first_* as in EvalPopulation.
int eval_read_problems(const TaskConfig *tc, const char *path, TaskExample **ex, int *n, long *disagree,
                       int *first_disagree_line, char *first_disagree, size_t first_cap, char *err);

// scores the file's problems (eval_read_problems) against their answers. -1 + err.
int eval_population_file(Model *m, const TaskConfig *tc, const char *path, const TaskSet *train_set,
                         EvalPopulation *p, char *err);

// one line naming the population and its accuracy, and for a file a line on
// answers that disagree with the true ones; overlap_known as eval_print_summary
void eval_population_print(const EvalPopulation *p, int overlap_known, FILE *f);
// dir/accuracy_population.csv: one row per population
// (population,source,n,correct,accuracy,malformed,overlap,answers_disagreeing)
int eval_population_csv(const EvalPopulation *p, int n_pop, const char *dir, char *err);
void eval_population_free(EvalPopulation *p);

#endif
