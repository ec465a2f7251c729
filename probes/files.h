// files.h: what the probe writers share: output files in a directory, a
// summary log that may be absent. Private to probes/ (the probe__ prefix).
#ifndef ARITHLAB_PROBE_FILES_H
#define ARITHLAB_PROBE_FILES_H

#include <stdint.h>
#include <stdio.h>

// dir/name opened for writing; path (cap bytes) gets the name for messages; NULL + err
FILE *probe__open(const char *dir, const char *name, char *path, size_t cap, char *err);
// fclose, and a message naming the file when any write failed
int probe__close(FILE *f, const char *path, char *err);
int probe__write_npy(const char *dir, const char *name, const float *x, int ndim, const int64_t *shape, char *err);
// dir/name in a static buffer: one at a time, used at once by the caller
const char *probe__path(const char *dir, const char *name);
// printf to log, or nothing when log is NULL
void probe__say(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
