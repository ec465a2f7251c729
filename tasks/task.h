// task.h: the arithmetic tasks a run trains on: problem generators (add, sub,
// mul, sort, modadd), the text formats a problem is written in, training
// batches with their loss mask, prompts and answer parsing for evaluation, the
// train/test split, and the task keys of a run's INI file.
//
// Training:
//   TaskConfig tc; task_config_default(&tc);
//   task_config_set(&tc, "format", "reversed", err);   // once per INI key
//   task_config_validate(&tc, err);                      // cross-key checks
//   uint64_t rng = rng_seed(seed);
//   task_fill_batch(&tc, &rng, TASK_SPLIT_TRAIN, B, T, inputs, targets, NULL, err);
// Evaluation:
//   task_prompt(&tc, "128+367", ids, cap, &n, err);      // then sample until <eos>
//   task_parse_answer(&tc, sampled, n_sampled, got, sizeof got, err);
//   task_answer(&tc, "128+367", want, sizeof want, err); // compare got with want
//
// Every sequence is <bos> PROMPT ANSWER <eos>. The prompt is the problem up to
// and including '=' (or "Target:\n" for scratchpads); everything after it
// (answer, scratchpad, closing '$', <eos>) is trained on, nothing before it.
// The formats, shown for 128+367 (and 128*367, sort "A:12,B:7,C:9", modadd 60+50 mod 97):
//   plain             128+367=495
//   reversed          $128+367=594$            Lee et al. 2023: answer least significant digit first
//   reverse_all       821+763=594              Abacus (McLeish et al. 2024): every number reversed
//   pad_width=4       0128+0367=0495           combinable with the three above
//   index_hints=1     c1b2a8+c3b6a7=c4b9a5     letter names the place: a = units (Zhou et al. 2023)
//   space_prob=p      1 28+3 67=495            a space before each prompt token with probability p;
//                                              the answer is never spaced, so its target is fixed
//   scratch_simple    Input:\n128+367\nTarget:\nA->5 , C->1\nA->9 , C->0\nA->4 , C->0.\n495
//   scratch_detailed  Input:\n128+367\nTarget:\n<scratch>\n[1,2,8] has 3 digits.\n ... 4 9 5
//   scratch_mul       Input:\n128*367\nTarget:\n<scratch>\n128*7=896\n128*60=7680\n...\n46976
//   sort (plain)      A:12,B:7,C:9=B,C,A       Abacus's sort: keys ordered by value (ties keep
//                                              list order); keys are a run of letters from a random one
//   modadd (plain)    60+50=13                 (60+50) mod 97
// Scratchpad formats take no modifiers (pad, hints, spaces). format.c has the exact text.
//   numbers=fone      [NUM:128]+[NUM:367]=[NUM:495]   one token per number, its value beside it
//                                              (TaskExample.value); format=plain only, no modifiers
//
// Choices: subtraction draws a >= b only (answers never negative), so its
// length pairs have len_a >= len_b. Carries count every column whose sum
// reaches 10, including the last (999+1 has 3); for subtraction they count
// borrows. An operand of length 1 may be 0; longer ones never start with 0.
#ifndef ARITHLAB_TASK_H
#define ARITHLAB_TASK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/common.h"
#include "core/vocab.h"
#include "core/keys.h"

#define TASK_MAX_DIGITS 100      // longest operand (and sort number)
#define TASK_MAX_KEYS 26         // longest sort list (keys are 'A'..'Z')
#define TASK_MAX_TOKENS 4096     // longest sequence, <bos> and <eos> included
#define TASK_MAX_PROBLEM 2800    // problem text: "128+367", "A:12,B:7,C:9"
#define TASK_MAX_ANSWER (2 * TASK_MAX_DIGITS + 2)

typedef enum { TASK_ADD, TASK_SUB, TASK_MUL, TASK_SORT, TASK_MODADD, TASK_N_KINDS } TaskKind;

typedef enum {
    TASK_FMT_PLAIN, TASK_FMT_REVERSED, TASK_FMT_REVERSE_ALL,
    TASK_FMT_SCRATCH_SIMPLE, TASK_FMT_SCRATCH_DETAILED, TASK_FMT_SCRATCH_MUL,
    TASK_N_FORMATS
} TaskFormat;

// which problems a generator may return (see train_frac); ANY ignores the split
typedef enum { TASK_SPLIT_ANY, TASK_SPLIT_TRAIN, TASK_SPLIT_TEST } TaskSplit;

// how numbers are written: a token per digit, or (FoNE, Zhou et al. 2025) one [NUM]
// token per number that carries its value: 128+367 is <bos> [NUM:128] + [NUM:367] = [NUM:495] <eos>
typedef enum { TASK_NUMBERS_DIGITS, TASK_NUMBERS_FONE } TaskNumbers;
// how operands are drawn (add, sub, mul): lengths = (len a, len b) evenly over every pair,
// then uniformly among problems of those lengths; values = each operand uniformly from
// [10^(min_len-1), 10^max_len) ([0, 10^max_len) when min_len is 1), as Lee et al. 2023
// and FoNE draw them, so most problems have max_len-digit operands (81% of min_len=1
// max_len=2 problems are 2+2 digits); magnitude = first the problem's magnitude d
// (1..max_len) with the share of d-digit numbers in that range (1%, 9%, 90% for
// max_len 3), then each operand uniformly below 10^d: Lee et al.'s training files
// (add_examples_N.txt) are drawn so, 1% of their problems 1+1-digit and 8% 2+2,
// where values makes those 0.01% and 0.8%. Subtraction keeps a >= b in all.
typedef enum { TASK_SAMPLE_LENGTHS, TASK_SAMPLE_VALUES, TASK_SAMPLE_MAGNITUDE } TaskSampling;
#define TASK_FONE_MAX_DIGITS VOCAB_FONE_MAX_PLACES  // core/vocab.h
#define TASK_MAX_VALUES 3        // [NUM] tokens in one FoNE sequence: a, b, answer

// ---------------------------------------------------------------- configuration

typedef struct TaskConfig {
    int task;             // TaskKind
    int min_len, max_len; // operand lengths drawn (sort: digits of the longest number)
    int format;           // TaskFormat
    int pad_width;        // 0: off; else zero-pad every number to this many digits
    double space_prob;    // probability of a space before each prompt token
    int index_hints;      // 1: a place letter before every digit
    int hint_random_start;// 1: places are lettered from a random letter (wrapping z->a)
    int balance_carries;  // 1: draw the number of carries uniformly first (add, sub)
    int modulus;          // modadd: p
    int sort_min_count, sort_count; // sort: how many keyed numbers per list
    double train_frac;    // fraction of all problems in the train split (1: no test split)
    int split_seed;       // which problems fall in the train split
    int train_size;       // > 0: train on this fixed set of distinct problems (a TaskPool)
    int numbers;          // TaskNumbers
    int sampling;         // TaskSampling
} TaskConfig;

// the task.* keys (name, type, range, default, help), declared once in tasks/config.c
extern const key_def_t TASK_KEYS[];
extern const int TASK_N_KEYS;
void task_config_default(TaskConfig *cfg);
// set one key from its INI text; -1 + err naming the key and what it accepts
int task_config_set(TaskConfig *cfg, const char *key, const char *value, char *err);
// checks that the keys fit together (format vs task, widths, token budget); -1 + err
int task_config_validate(const TaskConfig *cfg, char *err);
// every key as "name = value" lines, readable back through task_config_set
void task_config_write(const TaskConfig *cfg, FILE *f);
// longest sequence (tokens, <bos>/<eos> included) a valid config can produce:
// the model's block_size must be at least this minus one
int task_max_tokens(const TaskConfig *cfg);
const char *task_kind_name(int kind);
// the ordinary notation a task's problems are written in, with an example
// ("a+b, e.g. 128+367"; sort "distinct keys A-Z, each with a number, e.g. Q:5230,R:4,S:9 ...")
const char *task_notation(int kind);
const char *task_format_name(int format);

// ---------------------------------------------------------------- examples

typedef struct TaskExample {
    int tokens[TASK_MAX_TOKENS];   // <bos> ... <eos>
    int n_tokens;
    int answer_start;              // index of the first trained-on token (first after the prompt)
    char problem[TASK_MAX_PROBLEM];// ordinary notation, as task_prompt takes it: "128+367"
    char a[TASK_MAX_DIGITS + 1];   // operands in ordinary notation ("" for sort)
    char b[TASK_MAX_DIGITS + 1];
    char answer[TASK_MAX_ANSWER];  // true answer, ordinary notation ("495"; sort: "B,C,A")
    int len_a, len_b;              // digits of a and b (sort: digits of the longest number, count)
    int n_carries;                 // add: carries, sub: borrows; -1 for other tasks
    int n_values;                  // numbers=fone: the [NUM] tokens' positions and values; else 0
    int value_pos[TASK_MAX_VALUES];
    double value[TASK_MAX_VALUES];
} TaskExample;

// one problem: (len_a, len_b) drawn evenly over every allowed pair, or the
// operands' values uniformly (sampling; modadd: a, b uniform in [0, modulus),
// as grokking runs draw them), carries per balance_carries (values: the count
// uniform first, then a problem uniform among those in range with that many),
// redrawn until it falls in `split`; formatting draws
// (spaces, hint start) come from the same rng, so a seed fixes everything
int task_generate(const TaskConfig *cfg, uint64_t *rng, int split, TaskExample *ex, char *err);
// one problem of exact lengths (sort: len_a = digits of the longest number,
// len_b = list length) and, for add/sub, exactly n_carries carries (-1: any,
// drawn so every problem of these lengths is equally likely). Lengths beyond
// max_len are allowed (length-generalization tests) up to TASK_MAX_DIGITS.
int task_generate_sized(const TaskConfig *cfg, uint64_t *rng, int len_a, int len_b,
                        int n_carries, TaskExample *ex, char *err);
// the example for a problem in ordinary notation (no spaces, hints start at 'a')
int task_example_from_problem(const TaskConfig *cfg, const char *problem, TaskExample *ex, char *err);

// ---------------------------------------------------------------- batches

// inputs, targets are (B,T): inputs = seq[0..T-1] padded with <pad>,
// targets = seq[1..T], with -1 (not counted) wherever the target token lies
// before answer_start or after <eos>. B fresh problems from `split`; examples
// is NULL or room for the B records. -1 + err if a sequence is longer than T+1.
int task_fill_batch(const TaskConfig *cfg, uint64_t *rng, int split, int B, int T,
                    int *inputs, int *targets, TaskExample *examples, char *err);
// the same from B given examples (fixed evaluation sets)
int task_batch_from_examples(const TaskExample *examples, int B, int T,
                             int *inputs, int *targets, char *err);
// train.loss_on = all (nanoGPT, as Lee et al. trained): turn the answer-only targets
// of a batch made from these examples into targets on every token after <bos>, the
// prompt included (still -1 past <eos>)
void task_batch_loss_on_all(const TaskExample *examples, int B, int T, int *targets);

// ---------------------------------------------------------------- evaluation

// prompt tokens (<bos> through '=' or "Target:\n", and the opening '$') for a
// problem in ordinary notation ("128+367", sort "A:12,B:7"); -1 + err on a
// non-digit, an operator this task does not use, a leading zero, an operand
// longer than TASK_MAX_DIGITS or than pad_width / the 26 hint letters allow,
// a < b for sub, an operand >= modulus for modadd
int task_prompt(const TaskConfig *cfg, const char *problem, int *ids, int cap, int *n_out, char *err);
// the answer in ordinary notation from the tokens generated after the prompt
// (read up to the first <eos>; undoes reversal, padding, hints, scratchpad);
// -1 + err when they are malformed (no <eos>, stray symbols, broken hints, ...)
int task_parse_answer(const TaskConfig *cfg, const int *ids, int n, char *out, size_t cap, char *err);
// the true answer of a problem in ordinary notation
int task_answer(const TaskConfig *cfg, const char *problem, char *out, size_t cap, char *err);

// ---------------------------------------------------------------- FoNE (numbers = fone)

// values (B,T): the value of input token t where it is [NUM], else 0; target_values (B,T):
// the value of token t+1 where that is [NUM], else 0 (the rows task_batch_from_examples makes)
void task_batch_values(const TaskExample *examples, int B, int T, double *values, double *target_values);
// the answer in ordinary notation from the digits a FoNE head read, least significant first
// (leading zeros dropped); -1 + err on a digit outside 0..9 or no room
int task_fone_answer(const int *digits, int places, char *out, size_t cap, char *err);
// the most digits any number (operand or answer) of this config has: FoNE needs that many places
int task_widest_number(const TaskConfig *cfg);

// ---------------------------------------------------------------- train/test separation

// FNV-1a (64 bit) of the problem text; the same across formats
uint64_t task_problem_key(const char *problem);
// TASK_SPLIT_TRAIN or TASK_SPLIT_TEST, fixed by (key, split_seed, train_frac)
int task_split_of(const TaskConfig *cfg, uint64_t key);

// a set of problem keys (open addressing), e.g. every training problem seen,
// so that evaluation can report how many test problems it overlaps
typedef struct {
    uint64_t *slots;   // 0 marks an empty slot
    size_t cap, n;     // n counts every key held, 0 included
    int has_zero;      // the key 0, which cannot live in a slot
} TaskSet;

int task_set_init(TaskSet *s, size_t expected, char *err);
// 1 if added, 0 if it was there already, -1 + err if memory ran out
int task_set_add(TaskSet *s, uint64_t key, char *err);
int task_set_has(const TaskSet *s, uint64_t key);
void task_set_free(TaskSet *s);

// ---------------------------------------------------------------- a fixed training set

// train_size distinct problems of the train split, drawn once with split_seed
// (the same set for every model seed), as in papers that train on N samples
typedef struct {
    char *text;        // the problems in ordinary notation, each NUL-terminated
    size_t *offset;    // offset of problem i in text
    int n;
    TaskSet keys;      // their problem keys: evaluation draws around them
} TaskPool;

// -1 + err when the task has fewer than train_size distinct problems to draw
int task_pool_build(const TaskConfig *cfg, TaskPool *pool, char *err);
// B problems drawn uniformly (with replacement) from the pool, as task_fill_batch
int task_pool_fill_batch(const TaskConfig *cfg, const TaskPool *pool, uint64_t *rng, int B, int T,
                         int *inputs, int *targets, TaskExample *examples, char *err);
void task_pool_free(TaskPool *pool);

#endif
