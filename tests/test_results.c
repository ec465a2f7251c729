// test_results.c: results that say exactly what was run (issue 17): `arithlab --version`,
// config.ini's floats as the user wrote them, metrics.csv at full precision, and
// `eval --set` refusing the keys evaluation does not read.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/keys.h"
#include "model/optim.h"
#include "run/report.h"
#include "run/run.h"

// each test works in its own mkdtemp directory (the current directory of its process)
static void scratch_enter(void)
{
    tmp_setup();
    cr_assert_eq(chdir(tmpdir), 0, "cannot enter %s", tmpdir);
}

static void scratch_leave(void)
{
    char cmd[128];
    if (chdir("/")) return;
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}
TestSuite(results, .init = scratch_enter, .fini = scratch_leave);

// ---------------------------------------------------------------- --version

Test(results, version_prints_the_cmake_project_version_and_exits_0)
{
    // the version is declared once, in CMakeLists.txt's project(... VERSION x.y.z ...)
    size_t n;
    char path[4096], want[64] = "";
    snprintf(path, sizeof path, "%s/CMakeLists.txt", ARITHLAB_SRC);
    char *cm = (char *)read_bytes(path, &n), *p = strstr(cm, "project(arithlab VERSION ");
    cr_assert(p, "CMakeLists.txt declares no project VERSION");
    sscanf(p + strlen("project(arithlab VERSION "), "%63[0-9.]", want);
    free(cm);
    cr_assert(*want, "no version number after project(arithlab VERSION");
    const char *forms[] = {"--version", "version"};
    for (int i = 0; i < 2; i++) {
        char cmd[4200], out[1024], expect[128];
        snprintf(cmd, sizeof cmd, "%s %s", ARITHLAB_BIN, forms[i]);
        int rc = run(cmd, out, sizeof out);
        cr_expect_eq(rc, 0, "arithlab %s: exit %d: %s", forms[i], rc, out);
        snprintf(expect, sizeof expect, "arithlab %s (commit ", want);
        cr_expect(!strncmp(out, expect, strlen(expect)), "arithlab %s printed '%s', expected it to start '%s'",
                  forms[i], out, expect);
        cr_expect(strstr(out, ")\n") != NULL, "arithlab %s: the commit is not closed: '%s'", forms[i], out);
    }
}
