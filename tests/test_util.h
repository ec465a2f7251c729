// test_util.h: helpers the Criterion test files share: running the CLI and
// capturing its output, and a per-test temporary directory for files.
#ifndef ARITHLAB_TEST_UTIL_H
#define ARITHLAB_TEST_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// run a shell command, capture stderr+stdout into out; returns the exit status
static inline int run(const char *cmd, char *out, size_t cap)
{
    char full[8192];
    snprintf(full, sizeof(full), "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    cr_assert(p, "popen failed");
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// a fresh directory per test (.init = tmp_setup, .fini = tmp_teardown)
static char tmpdir[64];

static inline void tmp_setup(void)
{
    strcpy(tmpdir, "/tmp/arithlab_test_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static inline void tmp_teardown(void)
{
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(tmpdir);
}

// a path in the test's directory; four distinct results may be held at once
// a test that works in its own mkdtemp directory as its current directory (so that two
// suites at once never remove each other's files): TestSuite(x, .init = scratch_enter,
// .fini = scratch_leave)
static inline void scratch_enter(void)
{
    tmp_setup();
    cr_assert_eq(chdir(tmpdir), 0, "cannot enter %s", tmpdir);
}

static inline void scratch_leave(void)
{
    char cmd[128];
    if (chdir("/")) return;
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}

static inline const char *tmp_path(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static inline void write_bytes(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, n, f), n);
    fclose(f);
}

// the whole file, NUL-terminated (so that strstr can read it); *n excludes the NUL
static inline unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    cr_assert_eq(fread(b, 1, *n, f), *n);
    b[*n] = 0;
    fclose(f);
    return b;
}

// Blank a metadata entry out of a checkpoint's JSON header with spaces: the header
// keeps its length, so the file stands for one written before the key existed.
static inline int ckpt_blank_meta_key(const char *path, const char *key)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    uint64_t hlen;
    if (fread(&hlen, 8, 1, f) != 1 || hlen > (1 << 24)) { fclose(f); return -1; }
    char *h = malloc(hlen + 1);
    if (fread(h, 1, hlen, f) != hlen) { free(h); fclose(f); return -1; }
    h[hlen] = 0;
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    char *a = strstr(h, pat);
    if (!a) { free(h); fclose(f); return -1; }
    char *b = strchr(a + strlen(pat), '"');          // the value's opening quote
    b = b ? strchr(b + 1, '"') : NULL;               // and its closing one
    if (!b) { free(h); fclose(f); return -1; }
    b++;
    if (*b == ',') b++;
    else if (a > h && a[-1] == ',') a--;
    memset(a, ' ', (size_t)(b - a));
    fseek(f, 8, SEEK_SET);
    int r = fwrite(h, 1, hlen, f) == hlen ? 0 : -1;
    free(h);
    return fclose(f) || r ? -1 : 0;
}


#endif
