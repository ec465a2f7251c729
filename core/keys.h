// keys.h: the one description of a configuration key. Each module owns a table of
// these for its section (model/config.c for model.*); defaults, validation and the
// checkpoint's metadata iterate the table instead of restating the key.
#ifndef ARITHLAB_KEYS_H
#define ARITHLAB_KEYS_H

#include <stddef.h>

typedef enum { KEY_INT, KEY_FLOAT, KEY_U64, KEY_STR } key_type_t;

typedef struct {
    const char *name;        // full name, "model.n_layer"
    key_type_t type;
    size_t offset, size;     // into the section's struct; size of the field (a KEY_STR buffer)
    double lo, hi;           // accepted range (numbers)
    const char *def;         // default, as text
    int added;               // 1: added after checkpoints were first written (a file without it gets def)
    const char *help;        // one line for --help
} key_def_t;

#endif
