// main.c: the `arithlab` program: one binary, one subcommand per job.
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

typedef struct { const char *name; int (*run)(int, char **); const char *help; } command_t;

static const command_t COMMANDS[] = {
    {"train", cmd_train, "train a model on a generated task, writing a run directory"},
    {"eval", cmd_eval, "accuracy grid over (len a, len b) of a trained model, as CSV and PNG"},
    {"solve", cmd_solve, "answer problems in ordinary notation: one, e.g. \"128+367\", or one per line from --file FILE or standard input"},
    {"sweep", cmd_sweep, "run a grid of configs x seeds in parallel, resumably, and tabulate accuracy"},
    {"probe", cmd_probe, "Fourier, attention and linear probes of a trained model (CSV, .npy, PNG)"},
    {"cache", cmd_cache, "write a model's activations at TransformerLens hook points as .npy, with an index"},
    {"patch", cmd_patch, "activation patching: clean values into a corrupted run, site by site (CSV, .npy, PNG)"},
    {"ablate", cmd_ablate, "accuracy with each attention head zero- or mean-ablated in turn (CSV, .npy, PNG)"},
    {"view", cmd_view, "one self-contained HTML page of a run: curves, accuracy grid, attention, spectra, patching"},
    {"init", cmd_init, "write a randomly initialised checkpoint"},
    {"logits", cmd_logits, "run the forward pass on a .npy of token ids, write logits as .npy"},
    {"replay", cmd_replay, "one batch: logits, loss, gradients and K AdamW steps, for checking against PyTorch"},
    {"bench", cmd_bench, "time training steps of fixed configs; ms/step, tokens/s, GFLOP/s, MFU"},
    {"bench-decode", cmd_bench_decode, "time greedy decoding of a length grid with the KV cache; problems/s"},
};
#define N_COMMANDS (int)(sizeof(COMMANDS) / sizeof(COMMANDS[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: arithlab <command> [options]   (arithlab <command> --help for its options)\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(f, "  %-12s %s\n", "version", "print the program's version and git commit (also --version)");
}

#ifndef ARITHLAB_VERSION
#define ARITHLAB_VERSION "unknown"   // built without CMakeLists.txt's definition
#endif
#ifndef ARITHLAB_GIT_COMMIT
#define ARITHLAB_GIT_COMMIT "unknown"
#endif

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
        printf("arithlab %s (commit %s)\n", ARITHLAB_VERSION, ARITHLAB_GIT_COMMIT);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "arithlab: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
