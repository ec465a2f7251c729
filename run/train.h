// train.h: a training run, from a resolved configuration to a run directory
// (config.ini already written there): log.txt, metrics.csv, ckpt.safetensors,
// eval/ and the curves. The `train` command and tests call it.
#ifndef ARITHLAB_RUN_TRAIN_H
#define ARITHLAB_RUN_TRAIN_H

#include "run/run.h"

// resume: continue from out_dir/ckpt.safetensors. Messages go to stdout, log.txt
// and stderr. Returns 0, 1 (failure), 2 (configuration), 130 (interrupted, saved).
int run_train(const RunConfig *rc, const char *out_dir, int resume);

#endif
