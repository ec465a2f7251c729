// test_setup.c: tools/setup.sh says what it does, and installs PyTorch (with Python
// and NumPy) only when asked for the test suite's packages (tools/test.sh), not for
// the quickstart. Run on a copy of the script with dpkg-query, apt-get, cmake and
// the built binary replaced by stubs that record how they were called.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tests/test_util.h"

static void stub(const char *rel, const char *body)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    cr_assert_eq(chmod(path, 0755), 0);
}

// the copied setup.sh with args, every package reported missing; its output into out,
// the apt-get calls into calls
static int setup(const char *args, char *out, size_t cap, char *calls, size_t calls_cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/tools %s/build %s/bin && cp %s/tools/setup.sh %s/tools/ && rm -f %s/apt.txt",
             tmpdir, tmpdir, tmpdir, ARITHLAB_SRC, tmpdir, tmpdir);
    cr_assert_eq(system(cmd), 0);
    char body[512];
    stub("bin/dpkg-query", "exit 1");   // nothing installed
    snprintf(body, sizeof body, "echo \"$*\" >> %s/apt.txt", tmpdir);
    stub("bin/apt-get", body);
    stub("bin/sudo", "\"$@\"");
    stub("bin/id", "echo 0");
    stub("bin/cmake", "exit 0");
    stub("build/arithlab", "echo arithlab stub");
    snprintf(cmd, sizeof cmd, "PATH=%s/bin:$PATH %s/tools/setup.sh %s", tmpdir, tmpdir, args);
    int rc = run(cmd, out, cap);
    calls[0] = 0;
    char apt[512];
    snprintf(apt, sizeof apt, "%s/apt.txt", tmpdir);
    FILE *f = fopen(apt, "r");
    if (f) {
        size_t n = fread(calls, 1, calls_cap - 1, f);
        calls[n] = 0;
        fclose(f);
    }
    return rc;
}

TestSuite(setup, .init = tmp_setup, .fini = tmp_teardown);

Test(setup, the_quickstart_set_up_installs_no_pytorch_and_says_each_step)
{
    char out[8192], calls[4096];
    int rc = setup("", out, sizeof out, calls, sizeof calls);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(calls, "install") && strstr(calls, "libblis-dev") && strstr(calls, "libcairo2-dev"), "%s", calls);
    cr_expect(strstr(calls, "python3") == NULL, "the quickstart's set-up installs Python or PyTorch: %s", calls);
    cr_expect(strstr(calls, "chromium") == NULL && strstr(calls, "graphviz") == NULL,
              "the quickstart's set-up installs a test-only package: %s", calls);
    const char *steps[] = {"setup: checking", "missing:", "apt-get update", "apt-get install", "setup: configuring build/",
                           "setup: building", "setup: built build/arithlab"};
    const char *at = out;
    for (int i = 0; i < 7; i++) {
        const char *p = strstr(at, steps[i]);
        cr_expect(p != NULL, "no '%s' (in order) in: %s", steps[i], out);
        if (p) at = p;
    }
}

Test(setup, the_test_set_up_installs_pytorch_too)
{
    char out[8192], calls[4096];
    int rc = setup("--tests", out, sizeof out, calls, sizeof calls);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(calls, "python3-torch") && strstr(calls, "python3-numpy") && strstr(calls, "libblis-dev"), "%s", calls);
    cr_expect(strstr(calls, "chromium") && strstr(calls, "graphviz"), "the viewer's and the DOT test's packages: %s", calls);
    char script[512];
    snprintf(script, sizeof script, "%s/tools/test.sh", ARITHLAB_SRC);
    size_t n;
    char *text = (char *)read_bytes(script, &n);
    cr_expect(strstr(text, "tools/setup.sh --tests") != NULL, "tools/test.sh does not ask for the test packages");
    free(text);
    snprintf(script, sizeof script, "%s/tools/quickstart.sh", ARITHLAB_SRC);
    text = (char *)read_bytes(script, &n);
    cr_expect(strstr(text, "tools/setup.sh\n") != NULL && strstr(text, "--tests") == NULL, "tools/quickstart.sh: %s", text);
    free(text);
}

Test(setup, an_unknown_option_is_refused_with_exit_2)
{
    char out[8192], calls[4096];
    int rc = setup("--with-torch", out, sizeof out, calls, sizeof calls);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "accepted: --tests") != NULL, "%s", out);
    cr_expect_str_eq(calls, "", "apt-get ran");
}
