// args.h: a tiny flag parser shared by the subcommands: each flag is declared
// with its kind and help, so --help and error messages come from one table.
#ifndef ARITHLAB_ARGS_H
#define ARITHLAB_ARGS_H

#include "cli/cli.h"

// ARG_FORMATS: a figure format list ("png,svg,pdf"), applied at once with
// plot_set_formats; dst is unused. ARGS_FORMAT is its table row.
typedef enum { ARG_STR, ARG_INT, ARG_FLOAT, ARG_FLAG, ARG_SET, ARG_FORMATS } arg_kind_t;
#define ARGS_FORMAT {"--format", ARG_FORMATS, NULL, \
    "figure formats, comma-separated from png, svg, pdf (default png); e.g. png,svg,pdf"}

// --set values, collected in order and applied after any config file
typedef struct { const char *items[128]; int n; } set_list_t;

typedef struct {
    const char *flag;     // "--out"
    arg_kind_t kind;
    void *dst;            // char**, int*, float*, int* (flag), set_list_t* (--set)
    const char *help;
} arg_t;

// mkdir -p; -1 + err naming the part that could not be created
int cli_mkdir_p(const char *path, char *err);

// apply collected --set values; -1 after printing an error naming the key
int args_apply_sets(const char *cmd, RunConfig *rc, const set_list_t *sets);

// parse argv[1..]; positional arguments (if any) go to *positional (at most one).
// Returns 0, 1 when --help was printed, or -1 after printing an error to stderr.
int args_parse(const char *cmd, const char *synopsis, const arg_t *args, int n_args,
               int argc, char **argv, const char **positional);

#endif
