// test_task_util.h: task configs the tests share: one from "key=value key=value"
// (validated), and the quickstart task.
#ifndef ARITHLAB_TEST_TASK_UTIL_H
#define ARITHLAB_TEST_TASK_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "core/common.h"
#include "tasks/task.h"
#include "model/model.h"

// "key=value key=value" set on c one by one (each must be accepted; validation is the caller's)
static inline void task_config_apply(TaskConfig *c, const char *kv)
{
    char buf[512], err[ERR_MAX];
    snprintf(buf, sizeof buf, "%s", kv);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        cr_assert(eq, "bad test config '%s'", tok);
        *eq = 0;
        cr_assert_eq(task_config_set(c, tok, eq + 1, err), 0, "%s", err);
    }
}

static inline TaskConfig task_config_make(const char *kv)
{
    TaskConfig c;
    char err[ERR_MAX];
    task_config_default(&c);
    task_config_apply(&c, kv);
    cr_assert_eq(task_config_validate(&c, err), 0, "%s: %s", kv, err);
    return c;
}

// the quickstart's task: reversed addition of 1..5 digits, every number padded to 6
static inline TaskConfig task_config_quickstart(void)
{
    TaskConfig tc;
    task_config_default(&tc);
    tc.format = TASK_FMT_REVERSED;
    tc.max_len = 5;
    tc.pad_width = 6;
    return tc;
}

// a model config for the quickstart task (its vocabulary and longest sequence) of
// n_layer blocks, n_head heads of width n_embd; the caller may change more fields,
// then builds it with model_build_quickstart
static inline ModelConfig model_config_quickstart(int n_layer, int n_head, int n_embd)
{
    TaskConfig tc = task_config_quickstart();
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = task_vocab_size();
    cfg.block_size = task_max_tokens(&tc) - 1;
    cfg.n_layer = n_layer;
    cfg.n_head = n_head;
    cfg.n_embd = n_embd;
    return cfg;
}

// cfg validated and built for B rows of its whole block_size, from seed
static inline void model_build_quickstart(Model *m, ModelConfig *cfg, int B, uint64_t seed)
{
    char err[ERR_MAX];
    cr_assert_eq(model_config_validate(cfg, err), 0, "%s", err);
    cr_assert_eq(model_build(m, cfg, B, cfg->block_size, seed, err), 0, "%s", err);
}

#endif
