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
// the most compute threads a command accepts: RUN_THREADS_PER_CORE x the cores
// (more only oversubscribes; 100000 crashed inside libgomp)
#define RUN_THREADS_PER_CORE 4
int run_threads_max(void);
// 0 if requested is 0 (the default) or 1..run_threads_max(); else -1 + err
// naming `name` (a flag such as "--threads", or "train.threads") and the range
int run_threads_check(const char *name, int requested, char *err);

// checkpoint -> model for up to B_max sequences of T_max tokens (T_max 0: the
// model's block_size), without optimizer state, on run_threads(threads) threads
// (refused unless run_threads_check("--threads", threads) passes). The weights
// must be finite (ckpt_load refuses NaN/Inf naming the tensor).
// 0, or -1 + err naming the file or the flag.
int run_load_model(Model *m, const char *ckpt_path, int B_max, int T_max, int threads, char *err);

#endif
