// resolve.c: a run configuration's automatic values (vocabulary, context,
// sequence length) filled in, and the check that its sections fit together.
#include <string.h>
#include "run/run.h"

// fill the automatic values (vocab, context) and check that the keys fit together
int run_config_resolve(RunConfig *rc, char *err)
{
    char inner[ERR_MAX];
    if (task_config_validate(&rc->task, inner)) return err_set(err, "[task] %s", inner);
    if (strcmp(rc->train.loss_on, "answer") && strcmp(rc->train.loss_on, "all"))
        return err_set(err, "train.loss_on = '%s': accepted answer|all", rc->train.loss_on);
    if (rc->eval.population == RUN_POPULATION_VALUES && rc->task.task != TASK_ADD && rc->task.task != TASK_SUB &&
        rc->task.task != TASK_MUL)
        return err_set(err, "eval.population = values applies to task=add|sub|mul (operands drawn by value); "
                       "use eval.population = training for %s", task_kind_name(rc->task.task));
    if (rc->model.vocab_size == 0) rc->model.vocab_size = task_vocab_size();
    if (rc->model.vocab_size < task_vocab_size())
        return err_set(err, "model.vocab_size = %d is smaller than the task vocabulary (%d)", rc->model.vocab_size, task_vocab_size());
    if (rc->eval.max_len == 0) rc->eval.max_len = rc->task.max_len;
    TaskConfig longest = rc->task;
    longest.max_len = rc->eval.max_len > rc->task.max_len ? rc->eval.max_len : rc->task.max_len;
    if (task_config_validate(&longest, inner))
        return err_set(err, "eval.max_len = %d does not fit the task: %s", rc->eval.max_len, inner);
    if (run_config_resolve_fone(rc, &longest, err)) return -1;
    int train_need = task_max_tokens(&rc->task) - 1, eval_need = task_max_tokens(&longest) - 1;
    if (rc->model.block_size == 0) rc->model.block_size = eval_need > train_need ? eval_need : train_need;
    if (rc->model.block_size < train_need)
        return err_set(err, "model.block_size = %d is too small: the task's longest training sequence needs %d", rc->model.block_size, train_need);
    if (rc->train.seq_len == 0) rc->train.seq_len = train_need;
    if (rc->train.seq_len > rc->model.block_size || rc->train.seq_len < train_need)
        return err_set(err, "train.seq_len = %d must be between the task's longest sequence (%d) and model.block_size (%d)",
                       rc->train.seq_len, train_need, rc->model.block_size);
    if (rc->optim.warmup_steps > rc->train.steps && rc->train.steps > 0) rc->optim.warmup_steps = rc->train.steps;
    rc->optim.total_steps = rc->train.steps;
    if (model_config_validate(&rc->model, err)) return -1;
    return 0;
}
