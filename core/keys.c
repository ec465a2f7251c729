// keys.c: reading, writing and checking one configuration key from its key_def_t row
// (core/keys.h). Every section's table goes through these, so a number is parsed
// the same way in [model], [train], [eval] and [task], from an INI file or --set.
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/keys.h"
#include "core/common.h"

static const char *const BOOL_WORDS[] = {"0", "1", "true", "false", "yes", "no", "on", "off", NULL};
static const int BOOL_VALUES[] = {0, 1, 1, 0, 1, 0, 1, 0};

const key_def_t *key_find(const key_def_t *keys, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(keys[i].name, name)) return &keys[i];
    return NULL;
}

// "a|b|c" from a NULL-terminated word list
static void join_words(const char *const *words, char *out, size_t cap)
{
    out[0] = 0;
    for (int i = 0; words[i]; i++) {
        if (i) strncat(out, "|", cap - strlen(out) - 1);
        strncat(out, words[i], cap - strlen(out) - 1);
    }
}

// a KEY_STR with choices holds one of the words, as text
static int is_choice(const char *const *words, const char *v)
{
    for (int i = 0; words[i]; i++)
        if (!strcmp(words[i], v)) return 1;
    return 0;
}

void key_describe_accepted(const key_def_t *k, char *buf, size_t n)
{
    switch (k->type) {
    case KEY_INT: snprintf(buf, n, "a decimal integer in %.15g..%.15g", k->lo, k->hi); break;
    case KEY_FLOAT: snprintf(buf, n, "a decimal number in %g..%g", k->lo, k->hi); break;
    case KEY_U64: snprintf(buf, n, "decimal digits, 0..18446744073709551615"); break;
    case KEY_BOOL: join_words(BOOL_WORDS, buf, n); break;
    case KEY_ENUM: join_words(k->choices, buf, n); break;
    case KEY_STR:
        if (k->choices) join_words(k->choices, buf, n);
        else snprintf(buf, n, "%d to %zu characters", (int)k->lo, k->size - 1);
        break;
    }
}

// a decimal number as written by a person: [+-] digits [. digits] [e [+-] digits], nothing
// else (strtod alone would take "0x10", " 5", "inf" and "nan")
static int is_decimal(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    int digits = 0;
    while (isdigit((unsigned char)*p)) { p++; digits++; }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) { p++; digits++; }
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p)) p++;
    }
    return *p == 0;
}

static int set_number(void *dst, const key_def_t *k, const char *value, char *err)
{
    const char *what = k->type == KEY_INT ? "integer" : "number";
    if (!is_decimal(value))
        return err_set(err, "%s = '%s' is not a number: accepted a decimal %s in %g..%g (digits with an optional "
                       "sign, point and exponent; no hex, no spaces)", k->name, value, what, k->lo, k->hi);
    errno = 0;
    double v = strtod(value, NULL);
    // the range first: it makes the cast below defined
    if (errno == ERANGE || !(v >= k->lo && v <= k->hi))
        return err_set(err, "%s = %s is out of range: accepted %g..%g", k->name, value, k->lo, k->hi);
    if (k->type == KEY_INT) {
        if (v != (double)(long)v) return err_set(err, "%s = '%s' must be a whole number", k->name, value);
        *(int *)dst = (int)v;
    } else if (k->size == sizeof(double)) {
        *(double *)dst = v;
    } else {
        *(float *)dst = (float)v;
    }
    return 0;
}

static int set_words(void *dst, const key_def_t *k, const char *const *words, const char *value, char *err)
{
    for (int i = 0; words[i]; i++)
        if (!strcmp(value, words[i])) {
            *(int *)dst = k->type == KEY_BOOL ? BOOL_VALUES[i] : i;
            return 0;
        }
    char accepted[512];
    join_words(words, accepted, sizeof accepted);
    return err_set(err, "%s = '%s' is not accepted: accepted %s", k->name, value, accepted);
}

int key_set(void *base, const key_def_t *k, const char *value, char *err)
{
    void *dst = (char *)base + k->offset;
    switch (k->type) {
    case KEY_INT: case KEY_FLOAT: return set_number(dst, k, value, err);
    case KEY_U64: {
        // strtoull would take "-1" as 18446744073709551615 and skip leading spaces
        const char *p = value;
        while (isdigit((unsigned char)*p)) p++;
        errno = 0;
        unsigned long long v = *p || p == value ? 0 : strtoull(value, NULL, 10);
        if (*p || p == value || errno)
            return err_set(err, "%s = '%s' is not a non-negative integer: accepted decimal digits only, "
                           "0..18446744073709551615", k->name, value);
        *(uint64_t *)dst = v;
        return 0;
    }
    case KEY_BOOL: return set_words(dst, k, BOOL_WORDS, value, err);
    case KEY_ENUM: return set_words(dst, k, k->choices, value, err);
    case KEY_STR:
        if (k->choices && !is_choice(k->choices, value)) {
            char accepted[256];
            key_describe_accepted(k, accepted, sizeof accepted);
            return err_set(err, "%s = '%s' is not accepted: accepted %s", k->name, value, accepted);
        }
        if (strlen(value) >= k->size)
            return err_set(err, "%s = '%s' is too long (at most %zu characters)", k->name, value, k->size - 1);
        if (strlen(value) < (size_t)k->lo)
            return err_set(err, "%s = '%s' is empty: accepted %s (%s)", k->name, value,
                           k->lo == 1 ? "a value of at least 1 character" : "a longer value", k->help);
        // config.ini and checkpoints carry the value back through an INI parser, which
        // would cut it at a ';' comment or a line break and trim surrounding spaces
        if (strpbrk(value, ";\n\r") || isspace((unsigned char)value[0]) ||
            (value[0] && isspace((unsigned char)value[strlen(value) - 1])))
            return err_set(err, "%s = '%s': ';', line breaks and leading or trailing spaces are not accepted",
                           k->name, value);
        snprintf((char *)dst, k->size, "%s", value);
        return 0;
    }
    return err_set(err, "%s has an unknown key type", k->name);
}

void key_set_defaults(void *base, const key_def_t *keys, int n)
{
    for (int i = 0; i < n; i++) key_set(base, &keys[i], keys[i].def, NULL);
}

// the fewest significant digits that read back to the same value (through strtod and
// a cast, as key_set stores a float), so config.ini says 0.001 where the user wrote
// 0.001, not %.9g's 0.00100000005
void key_format_float(char *buf, size_t n, float v)
{
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, n, "%.*g", digits, (double)v);
        if ((float)strtod(buf, NULL) == v) return;   // as key_set reads it back
    }
    snprintf(buf, n, "%.9g", (double)v);   // NaN (never equal): 9 digits, as before
}

void key_format_double(char *buf, size_t n, double v)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, n, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return;
    }
    snprintf(buf, n, "%.17g", v);
}

void key_format(const void *base, const key_def_t *k, char *buf, size_t n)
{
    const void *src = (const char *)base + k->offset;
    switch (k->type) {
    case KEY_INT: case KEY_BOOL: snprintf(buf, n, "%d", *(const int *)src); break;
    case KEY_FLOAT:
        if (k->size == sizeof(double)) key_format_double(buf, n, *(const double *)src);
        else key_format_float(buf, n, *(const float *)src);
        break;
    case KEY_U64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)src); break;
    case KEY_STR: snprintf(buf, n, "%s", (const char *)src); break;
    case KEY_ENUM: {
        int v = *(const int *)src, count = 0;
        while (k->choices[count]) count++;
        snprintf(buf, n, "%s", v >= 0 && v < count ? k->choices[v] : "?");
        break;
    }
    }
}

int key_check(const void *base, const key_def_t *k, char *err)
{
    const void *src = (const char *)base + k->offset;
    switch (k->type) {
    case KEY_INT: {
        int v = *(const int *)src;
        if (v < k->lo || v > k->hi)
            return err_set(err, "%s = %d is out of range: accepted %d..%d", k->name, v, (int)k->lo, (int)k->hi);
        return 0;
    }
    case KEY_FLOAT: {
        double v = k->size == sizeof(double) ? *(const double *)src : *(const float *)src;
        if (!(v >= k->lo && v <= k->hi))
            return err_set(err, "%s = %g is out of range: accepted %g..%g", k->name, v, k->lo, k->hi);
        return 0;
    }
    case KEY_BOOL: case KEY_ENUM: {
        int v = *(const int *)src, count = 2;
        if (k->type == KEY_ENUM) for (count = 0; k->choices[count]; count++) {}
        if (v < 0 || v >= count) return err_set(err, "%s = %d is not one of its %d accepted values", k->name, v, count);
        return 0;
    }
    case KEY_STR: {
        char accepted[128];
        key_describe_accepted(k, accepted, sizeof accepted);
        size_t len = strnlen((const char *)src, k->size);
        if (len >= k->size || len < (size_t)k->lo || (k->choices && !is_choice(k->choices, (const char *)src)))
            return err_set(err, "%s = '%.*s' is not accepted: accepted %s (%s)", k->name, (int)len, (const char *)src,
                           accepted, k->help);
        return 0;
    }
    case KEY_U64: return 0;
    }
    return err_set(err, "%s has an unknown key type", k->name);
}
