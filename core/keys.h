// keys.h: the one description of a configuration key. Each module owns a table of
// these for its section (model/config.c for model.*, tasks/config.c for task.*,
// run/config.c for train.* and eval.*); defaults, validation, --help, the INI loader,
// config.ini and the checkpoint's metadata iterate the table instead of restating the key.
// A table row: {name, type, offset and size of the field, lo, hi, default, added, help[, choices]}.
#ifndef ARITHLAB_KEYS_H
#define ARITHLAB_KEYS_H

#include <stddef.h>
#include <stdio.h>

// KEY_FLOAT stores a float or a double (by the field's size); KEY_BOOL an int 0/1;
// KEY_ENUM an int, the index of the value in choices
typedef enum { KEY_INT, KEY_FLOAT, KEY_U64, KEY_STR, KEY_BOOL, KEY_ENUM } key_type_t;

typedef struct {
    const char *name;        // full name, "model.n_layer"
    key_type_t type;
    size_t offset, size;     // into the section's struct; size of the field (a KEY_STR buffer)
    double lo, hi;           // accepted range (numbers); KEY_STR: lo is the shortest accepted length
    const char *def;         // default, as text
    int added;               // 1: added after checkpoints were first written (a file without it gets def)
    const char *help;        // one line for --help
    const char *const *choices;  // KEY_ENUM: the accepted words, NULL-terminated; KEY_STR: if set, the words it may hold (as text)
} key_def_t;

// the longest INI line (its '\n' not counted) that the INI library reads whole
#define KEY_INI_MAX_LINE 198

// the key named name in table keys[0..n), or NULL
const key_def_t *key_find(const key_def_t *keys, int n, const char *name);
// store the text value into the field of k in the struct at base. Numbers are decimal
// only (no hex, no spaces, no inf/nan); -1 + err naming the key, the value and what is accepted
int key_set(void *base, const key_def_t *k, const char *value, char *err);
// every key of the table set to its default (keys[i].def)
void key_set_defaults(void *base, const key_def_t *keys, int n);
// v as the shortest decimal (%.1g up to %.9g; double: up to %.17g) that reads back
// to exactly v: for config.ini and metrics.csv
void key_format_float(char *buf, size_t n, float v);
void key_format_double(char *buf, size_t n, double v);
// the field of k as text that key_set reads back to the same value
void key_format(const void *base, const key_def_t *k, char *buf, size_t n);
// the stored value of k within its range (numbers, enums, string length); -1 + err
int key_check(const void *base, const key_def_t *k, char *err);
// what the key accepts, for --help and messages ("0..1", "add|sub", "a number in 0..10")
void key_describe_accepted(const key_def_t *k, char *buf, size_t n);

#endif
