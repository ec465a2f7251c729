// fone.c: numbers = fone (FoNE, Zhou et al. 2025, "FoNE: Precise Single-Token Number
// Embeddings via Fourier Features"): every number is one [NUM] token whose value travels
// beside the tokens, and the answer is read digit by digit from the model's FoNE head.
//   128+367   <bos> [NUM] + [NUM] = [NUM] <eos>   values 128, 367 and (trained on) 495
#include <stdlib.h>
#include <string.h>
#include "tasks/task_internal.h"

int task__render_fone(const TaskProblem *p, const char *answer, TaskExample *ex, char *err)
{
    const char *nums[TASK_MAX_VALUES] = { p->a, p->b, answer };
    for (int i = 0; i < TASK_MAX_VALUES; i++)
        if (strlen(nums[i]) > TASK_FONE_MAX_DIGITS)
            return err_set(err, "problem '%.60s': %s has %zu digits, but numbers=fone takes numbers of up to %d "
                           "digits (their values must be exact doubles)", ex->problem,
                           i == 2 ? "the answer" : i ? "the second operand" : "the first operand",
                           strlen(nums[i]), TASK_FONE_MAX_DIGITS);
    int *t = ex->tokens, n = 0;
    t[n++] = TASK_BOS;
    for (int i = 0; i < TASK_MAX_VALUES; i++) {
        if (i == 2) ex->answer_start = n;
        ex->value_pos[i] = n;
        ex->value[i] = strtod(nums[i], NULL);   // exact: at most 15 digits
        t[n++] = TASK_NUM;
        if (i == 0) t[n++] = task_tok(task__op_char(p->kind));
        if (i == 1) t[n++] = task_tok('=');
    }
    t[n++] = TASK_EOS;
    ex->n_tokens = n;
    ex->n_values = TASK_MAX_VALUES;
    return 0;
}

void task_batch_values(const TaskExample *examples, int B, int T, double *values, double *target_values)
{
    memset(values, 0, sizeof(double) * (size_t)B * T);
    memset(target_values, 0, sizeof(double) * (size_t)B * T);
    for (int b = 0; b < B; b++) {
        const TaskExample *e = &examples[b];
        for (int i = 0; i < e->n_values; i++) {
            int pos = e->value_pos[i];
            if (pos < T) values[(size_t)b * T + pos] = e->value[i];
            if (pos >= 1 && pos - 1 < T) target_values[(size_t)b * T + pos - 1] = e->value[i];
        }
    }
}

int task_fone_answer(const int *digits, int places, char *out, size_t cap, char *err)
{
    size_t k = 0;
    for (int p = places - 1; p >= 0; p--) {
        if (digits[p] < 0 || digits[p] > 9)
            return err_set(err, "FoNE digit %d at place %d is not in 0..9", digits[p], p);
        if (k == 0 && digits[p] == 0 && p > 0) continue;   // leading zero
        if (k + 2 > cap) return err_set(err, "answer of %d places does not fit %zu bytes", places, cap);
        out[k++] = (char)('0' + digits[p]);
    }
    if (k == 0) return err_set(err, "FoNE head read with no places");
    out[k] = 0;
    return 0;
}
