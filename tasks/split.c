// split.c: keeping training and evaluation problems apart: a key per problem
// (FNV-1a of its ordinary-notation text), a fixed train/test split by key, and
// a set of keys so evaluation can count overlap with what training saw.
#include <stdlib.h>
#include "tasks/task_internal.h"

uint64_t task_problem_key(const char *problem)
{
    uint64_t h = 0xcbf29ce484222325ULL;   // FNV-1a offset basis and prime
    for (const unsigned char *p = (const unsigned char *)problem; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

int task_split_of(const TaskConfig *cfg, uint64_t key)
{
    if (cfg->train_frac >= 1.0) return TASK_SPLIT_TRAIN;
    // splitmix the key with the seed: FNV's low bits alone are too regular to threshold
    uint64_t z = rng_seed(key ^ ((uint64_t)cfg->split_seed * 0xD1B54A32D192ED03ULL));
    double u = (double)(z >> 11) / 9007199254740992.0;
    return u < cfg->train_frac ? TASK_SPLIT_TRAIN : TASK_SPLIT_TEST;
}

// ---------------------------------------------------------------- a set of keys

static size_t home(uint64_t key, size_t cap) { return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1); }

int task_set_init(TaskSet *s, size_t expected, char *err)
{
    size_t cap = 16;
    while (cap < 2 * expected) cap *= 2;
    s->slots = calloc(cap, sizeof *s->slots);
    s->cap = cap;
    s->n = 0;
    s->has_zero = 0;
    if (!s->slots) return err_set(err, "out of memory for a set of %zu problem keys", expected);
    return 0;
}

static void insert(uint64_t *slots, size_t cap, uint64_t k)
{
    size_t i = home(k, cap);
    while (slots[i] && slots[i] != k) i = (i + 1) & (cap - 1);
    slots[i] = k;
}

int task_set_add(TaskSet *s, uint64_t key, char *err)
{
    if (task_set_has(s, key)) return 0;
    if (key == 0) {
        s->has_zero = 1;
        s->n++;
        return 1;
    }
    if (2 * (s->n + 1) > s->cap) {   // keep the load at most one half
        size_t cap = 2 * s->cap;
        uint64_t *slots = calloc(cap, sizeof *slots);
        if (!slots) return err_set(err, "out of memory growing a set of %zu problem keys", s->n);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i]) insert(slots, cap, s->slots[i]);
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    insert(s->slots, s->cap, key);
    s->n++;
    return 1;
}

int task_set_has(const TaskSet *s, uint64_t key)
{
    if (key == 0) return s->has_zero;
    for (size_t i = home(key, s->cap); s->slots[i]; i = (i + 1) & (s->cap - 1))
        if (s->slots[i] == key) return 1;
    return 0;
}

void task_set_free(TaskSet *s)
{
    free(s->slots);
    s->slots = NULL;
    s->cap = s->n = 0;
    s->has_zero = 0;
}
