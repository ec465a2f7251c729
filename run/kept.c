// kept.c: the checkpoints a run keeps every train.keep_every steps
// (RUN_KEPT_CKPT_FMT, run/train.h), listed in step order for the probes that
// follow a quantity across training.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/train.h"

typedef struct { long step; char *path; } kept_entry;

static int by_step(const void *a, const void *b)
{
    long x = ((const kept_entry *)a)->step, y = ((const kept_entry *)b)->step;
    return (x > y) - (x < y);
}

// the step of a file named as RUN_KEPT_CKPT_FMT names it, or -1
static long kept_step(const char *name)
{
    long step;
    int end = 0;
    if (sscanf(name, "ckpt_step%ld.safetensors%n", &step, &end) != 1 || name[end] || step < 0) return -1;
    char want[64];
    snprintf(want, sizeof want, RUN_KEPT_CKPT_FMT, step);
    return strcmp(want, name) ? -1 : step;   // exactly the name the run writes (no "+5", no extra zeros)
}

int run_kept_checkpoints(const char *dir, char ***paths, long **steps, int *n, char *err)
{
    *paths = NULL; *steps = NULL; *n = 0;
    DIR *d = opendir(dir);
    if (!d) return err_set(err, "%s: cannot read the directory: %s", dir, strerror(errno));
    kept_entry *e = NULL;
    int cnt = 0, cap = 0, r = 0;
    struct dirent *de;
    while (!r && (de = readdir(d))) {
        long step = kept_step(de->d_name);
        if (step < 0) continue;
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            kept_entry *g = realloc(e, sizeof *e * (size_t)cap);
            if (!g) { r = err_set(err, "out of memory listing %s", dir); break; }
            e = g;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        if (!(e[cnt].path = malloc(len))) { r = err_set(err, "out of memory listing %s", dir); break; }
        snprintf(e[cnt].path, len, "%s/%s", dir, de->d_name);
        e[cnt++].step = step;
    }
    closedir(d);
    if (!r && cnt) {
        qsort(e, (size_t)cnt, sizeof *e, by_step);
        *paths = malloc(sizeof(char *) * (size_t)cnt);
        *steps = malloc(sizeof(long) * (size_t)cnt);
        if (!*paths || !*steps) r = err_set(err, "out of memory listing %s", dir);
        for (int i = 0; !r && i < cnt; i++) { (*paths)[i] = e[i].path; (*steps)[i] = e[i].step; }
    }
    if (r) {
        for (int i = 0; i < cnt; i++) free(e[i].path);
        free(*paths); free(*steps);
        *paths = NULL; *steps = NULL;
    } else *n = cnt;
    free(e);
    return r;
}

void run_kept_free(char **paths, long *steps, int n)
{
    for (int i = 0; paths && i < n; i++) free(paths[i]);
    free(paths);
    free(steps);
}
