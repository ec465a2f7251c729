// cli.h: the subcommands of the `arithlab` program; each parses its flags and
// calls the modules below it.
#ifndef ARITHLAB_CLI_H
#define ARITHLAB_CLI_H

#include "run/run.h"

int cmd_init(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_decode(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_patch(int argc, char **argv);
int cmd_ablate(int argc, char **argv);
int cmd_view(int argc, char **argv);

#endif
