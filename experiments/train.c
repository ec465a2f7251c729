// train.c: `arithlab train` (placeholder until the task module lands).
#include "args.h"
int cmd_train(int argc, char **argv) { fprintf(stderr, "arithlab train: not yet available\n"); return 1; }
