// load.h: what every command does before it runs a trained model: a checkpoint
// read into a Model, on the default number of compute threads. One helper so the
// commands cannot drift apart (they once had three thread defaults).
#ifndef ARITHLAB_RUN_LOAD_H
#define ARITHLAB_RUN_LOAD_H

#include "model/model.h"

// The default number of compute threads: every core, or OMP_NUM_THREADS when it
// is set lower.
int run_default_threads(void);
// requested > 0 is used as given; 0 (or less) means run_default_threads()
int run_threads(int requested);

// checkpoint -> model for up to B_max sequences of T_max tokens (T_max 0: the
// model's block_size), without optimizer state, on run_threads(threads) threads.
// 0, or -1 + err naming the file.
int run_load_model(Model *m, const char *ckpt_path, int B_max, int T_max, int threads, char *err);

#endif
