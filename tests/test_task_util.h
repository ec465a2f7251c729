// test_task_util.h: a validated task config from "key=value key=value", shared by the
// task, format, sampling and evaluation-population tests.
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

#endif
