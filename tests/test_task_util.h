// test_task_util.h: task configs the tests share: one from "key=value key=value"
// (validated), and the quickstart task.
#ifndef ARITHLAB_TEST_TASK_UTIL_H
#define ARITHLAB_TEST_TASK_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "core/common.h"
#include "tasks/task.h"

static inline TaskConfig task_config_make(const char *kv)
{
    TaskConfig c;
    char buf[512], err[ERR_MAX];
    task_config_default(&c);
    snprintf(buf, sizeof buf, "%s", kv);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        cr_assert(eq, "bad test config '%s'", tok);
        *eq = 0;
        cr_assert_eq(task_config_set(&c, tok, eq + 1, err), 0, "%s", err);
    }
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

#endif
