// task_internal.h: what the files of tasks/ share and nothing outside needs:
// the parsed form of a problem, decimal-string arithmetic and the renderer.
// Private prefix task__; include only from tasks/*.c.
#ifndef ARITHLAB_TASK_INTERNAL_H
#define ARITHLAB_TASK_INTERNAL_H

#include "tasks/task.h"

// a problem after parsing: two operands, or a keyed list for sort
typedef struct {
    int kind;                                   // TaskKind
    char a[TASK_MAX_DIGITS + 1], b[TASK_MAX_DIGITS + 1];
    int n_keys;                                 // sort only
    char keys[TASK_MAX_KEYS];
    char nums[TASK_MAX_KEYS][TASK_MAX_DIGITS + 1];
} TaskProblem;

// '+', '-', '*' for the binary tasks; 0 for sort
char task__op_char(int kind);

// decimal strings in ordinary notation, no leading zeros ("0" is zero);
// out needs max(len a, len b) + 2 bytes for add, len a + len b + 1 for mul
void task__dec_add(const char *a, const char *b, char *out);
void task__dec_sub(const char *a, const char *b, char *out);   // needs a >= b
void task__dec_mul(const char *a, const char *b, char *out);
int task__dec_cmp(const char *a, const char *b);               // <0, 0, >0
// carries of a+b (op '+') or borrows of a-b (op '-'), column by column
int task__dec_carries(const char *a, const char *b, char op);

// every field of an example for a drawn problem (task.c); rng drives spaces and hint letters
int task__build_example(const TaskConfig *cfg, const TaskProblem *p, uint64_t *rng,
                        TaskExample *ex, char *err);

// formats (format.c)
int task__format_allows(int format, int kind);   // 1 if the format is defined for the task
int task__format_is_scratch(int format);
// fills ex->tokens, n_tokens, answer_start for a problem whose answer is known;
// rng NULL: no random spaces and hint letters start at 'a'
int task__render(const TaskConfig *cfg, const TaskProblem *p, const char *answer,
                 uint64_t *rng, TaskExample *ex, char *err);
// numbers = fone (fone.c): <bos> [NUM] op [NUM] = [NUM] <eos> with the three values
int task__render_fone(const TaskProblem *p, const char *answer, TaskExample *ex, char *err);

#endif
