// fuzz_common.h: what the libFuzzer targets of tests/fuzz/ share: the input
// as a file the path-taking parsers can open (an in-memory file, so a run does
// no disk I/O), and the checks every parser owes its caller on bad input.
// Build and run them with tools/fuzz.sh; docs/HARDENING.md has the details.
#ifndef ARITHLAB_FUZZ_COMMON_H
#define ARITHLAB_FUZZ_COMMON_H

#define _GNU_SOURCE   // memfd_create
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/common.h"

// a property the code under test promises was broken: report it as a crash
#define FUZZ_CHECK(cond, ...)                                                       \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
            abort();                                                                \
        }                                                                           \
    } while (0)

// a path whose file holds exactly data[0..size); the same path on every call
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("arithlab_fuzz", 0);
        if (fd < 0) { perror("memfd_create"); abort(); }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_file");
        abort();
    }
    return path;
}

// a scratch path for files the targets write themselves (round trips)
static inline const char *fuzz_scratch_path(const char *name)
{
    static char path[256];
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/arithlab_fuzz_%ld_%s", dir, (long)getpid(), name);
    return path;
}

// a failing call must leave a message: non-empty and NUL-terminated within ERR_MAX
static inline void fuzz_check_err(int rc, const char *err, const char *what)
{
    if (rc == 0) return;
    FUZZ_CHECK(rc == -1, "%s returned %d, not 0 or -1", what, rc);
    FUZZ_CHECK(memchr(err, 0, ERR_MAX) != NULL, "%s left an unterminated message", what);
    FUZZ_CHECK(err[0] != 0, "%s failed without a message", what);
}

// libFuzzer owns main(); keep OpenMP and BLIS to one thread so runs stay cheap
static inline void fuzz_single_thread(void)
{
    setenv("OMP_NUM_THREADS", "1", 0);
    setenv("BLIS_NUM_THREADS", "1", 0);
    setenv("GOMP_SPINCOUNT", "10000", 0);
}

#endif
