// args.c: the flag parser of args.h.
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include "cli/args.h"
#include "embeddings/pos.h"
#include "plot/plot.h"
#include "model/head.h"

static void print_help(const char *cmd, const char *synopsis, const arg_t *args, int n)
{
    printf("usage: arithlab %s %s\n\noptions:\n", cmd, synopsis);
    for (int i = 0; i < n; i++) printf("  %-18s %s\n", args[i].flag, args[i].help);
    for (int i = 0; i < n; i++)
        if (args[i].kind == ARG_SET) {
            printf("\nconfiguration keys for --set section.key=value (name, default, meaning):\n");
            run_config_print_keys(stdout);
            // the registry's names, also read by tools/torch_reference.py to find schemes without a case
            printf("\nposition schemes (model.position): %s\n", pos_names());
            printf("output heads (model.head): %s\n", model_head_names());
            break;
        }
}

int args_parse(const char *cmd, const char *synopsis, const arg_t *args, int n_args,
               int argc, char **argv, const char **positional)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { print_help(cmd, synopsis, args, n_args); return 1; }
        const arg_t *a = NULL;
        for (int j = 0; j < n_args; j++) if (!strcmp(argv[i], args[j].flag)) a = &args[j];
        if (!a) {
            if (argv[i][0] != '-' && positional && !*positional) { *positional = argv[i]; continue; }
            fprintf(stderr, "arithlab %s: unknown argument '%s' (see arithlab %s --help)\n", cmd, argv[i], cmd);
            return -1;
        }
        if (a->kind == ARG_FLAG) { *(int *)a->dst = 1; continue; }
        if (i + 1 >= argc) { fprintf(stderr, "arithlab %s: %s needs a value\n", cmd, a->flag); return -1; }
        const char *v = argv[++i];
        char *end;
        errno = 0;
        switch (a->kind) {
        case ARG_STR: *(const char **)a->dst = v; break;
        case ARG_INT: {
            long x = strtol(v, &end, 10);
            if (end == v || *end || (errno && errno != ERANGE)) { fprintf(stderr, "arithlab %s: %s '%s' is not an integer\n", cmd, a->flag, v); return -1; }
            if (errno == ERANGE || x < INT_MIN || x > INT_MAX) {   // (int)99999999999 wrapped to 1215752191
                fprintf(stderr, "arithlab %s: %s '%s' is out of range (accepted %d..%d at most)\n", cmd, a->flag, v, INT_MIN, INT_MAX);
                return -1;
            }
            *(int *)a->dst = (int)x;
            break;
        }
        case ARG_FLOAT: {
            float x = strtof(v, &end);
            if (end == v || *end || errno) { fprintf(stderr, "arithlab %s: %s '%s' is not a number\n", cmd, a->flag, v); return -1; }
            *(float *)a->dst = x;
            break;
        }
        case ARG_SET: {
            set_list_t *l = a->dst;
            if (l->n >= (int)(sizeof(l->items) / sizeof(l->items[0]))) { fprintf(stderr, "arithlab %s: too many --set\n", cmd); return -1; }
            l->items[l->n++] = v;
            break;
        }
        case ARG_FORMATS: {
            char perr[ERR_MAX];
            unsigned mask;
            if (plot_formats_parse(v, &mask, perr)) { fprintf(stderr, "arithlab %s: %s\n", cmd, perr); return -1; }
            plot_set_formats(mask);
            break;
        }
        case ARG_FLAG: break;
        }
    }
    return 0;
}

int args_apply_sets(const char *cmd, RunConfig *rc, const set_list_t *sets)
{
    char err[ERR_MAX];
    for (int i = 0; i < sets->n; i++)
        if (run_config_apply_set(rc, sets->items[i], err)) {
            fprintf(stderr, "arithlab %s: --set %s: %s\n", cmd, sets->items[i], err);
            return -1;
        }
    return 0;
}

int cli_mkdir_p(const char *path, char *err)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST) return err_set(err, "%s: cannot create: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0755) && errno != EEXIST) return err_set(err, "%s: cannot create: %s", buf, strerror(errno));
    return 0;
}
