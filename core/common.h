// common.h: small things every module needs: error strings, the RNG, timing.
// Functions that can fail take `char *err` (ERR_MAX bytes) and return 0 on
// success, -1 on failure with a message naming what was wrong there.
#ifndef ARITHLAB_COMMON_H
#define ARITHLAB_COMMON_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define ERR_MAX 512

static inline int err_set(char *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, ERR_MAX, fmt, ap);
        va_end(ap);
    }
    return -1;
}

// xorshift64* : tiny, fast, and its whole state is one u64, so it can be
// saved in a checkpoint and a resumed run continues the same stream.
static inline uint32_t rng_u32(uint64_t *s)
{
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return (uint32_t)((*s * 0x2545F4914F6CDD1DULL) >> 32);
}
static inline float rng_f32(uint64_t *s) { return (rng_u32(s) >> 8) / 16777216.0f; } // [0,1)
static inline uint64_t rng_seed(uint64_t seed)
{
    // splitmix64 so that small seeds (0, 1, 2) give well-mixed, nonzero states
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z ? z : 0x1234567ULL;
}
// uniform integer in [0, n)
static inline int rng_int(uint64_t *s, int n) { return (int)(((uint64_t)rng_u32(s) * (uint64_t)n) >> 32); }
// standard normal (Box-Muller); used only at init
float rng_normal(uint64_t *s);

static inline double time_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
