// files.c: output files of the probe writers (probes/files.h).
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "core/common.h"
#include "core/npy.h"
#include "core/files.h"
#include "probes/files.h"

FILE *probe__open(const char *dir, const char *name, char *path, size_t cap, char *err)
{
    snprintf(path, cap, "%.3900s/%.150s", dir, name);
    return files_atomic_open(path, err);   // renamed into place by probe__close
}

int probe__close(FILE *f, const char *path, char *err)
{
    return files_atomic_commit(f, path, err);
}

int probe__write_npy(const char *dir, const char *name, const float *x, int ndim, const int64_t *shape, char *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%.3900s/%.150s", dir, name);
    return npy_write_f32(path, x, ndim, shape, err);
}

const char *probe__path(const char *dir, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%.3900s/%.150s", dir, name);
    return path;
}

void probe__say(FILE *log, const char *fmt, ...)
{
    if (!log) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(log, fmt, ap);
    va_end(ap);
}
