// train.h: a training run, from a resolved configuration to a run directory
// (config.ini already written there): log.txt, metrics.csv, ckpt.safetensors,
// eval/ and the curves. The `train` command and tests call it.
#ifndef ARITHLAB_RUN_TRAIN_H
#define ARITHLAB_RUN_TRAIN_H

#include "run/run.h"

// resume: continue from out_dir/ckpt.safetensors. Messages go to stdout, log.txt
// and stderr. Returns 0, 1 (failure), 2 (configuration), 130 (interrupted, saved).
int run_train(const RunConfig *rc, const char *out_dir, int resume);

// The keys that may change when a run is resumed (--resume DIR --set KEY=...,
// or an edited DIR/config.ini): how long it runs and how often it logs, saves
// and evaluates, and how it evaluates. Everything else (the model, the task,
// the optimizer, the seed, the batch) is fixed by the checkpoint.
#define RUN_RESUME_KEYS "train.steps, train.threads, train.log_every, train.ckpt_every, train.keep_every, train.eval_every, " \
                        "eval.per_cell, eval.batch_size, eval.n_during_train"
// 1 if the dotted key ("train.steps") may change on resume
int run_resume_key_allowed(const char *dotted);
// A resolved run configuration against the checkpoint it would resume: the
// model shape the checkpoint's tensors have, and the run configuration stored
// in its metadata, key by key. 0, or -1 + err naming the first key that
// differs (outside RUN_RESUME_KEYS), both values and the accepted keys.
int run_resume_check(const RunConfig *rc, const char *ckpt_path, char *err);

// Kept checkpoints (train.keep_every = N): at every step that is a multiple of N the
// run also writes DIR/ckpt_step<step, 6 digits or more>.safetensors, the weights
// without the AdamW moments (a third of the size; not for --resume), beside the
// latest DIR/ckpt.safetensors.
#define RUN_KEPT_CKPT_FMT "ckpt_step%06ld.safetensors"
// the kept checkpoints of a run directory, in increasing step: *paths (n strings)
// and *steps malloc'd (free with run_kept_free). 0 (n may be 0), or -1 + err when
// dir cannot be read.
int run_kept_checkpoints(const char *dir, char ***paths, long **steps, int *n, char *err);
void run_kept_free(char **paths, long *steps, int n);

// Up-front memory check of a whole run, before anything is written: the training
// model (train.batch_size x train.seq_len), the evaluation model
// (eval.batch_size x model.block_size) and the evaluation problems
// (eval.n_during_train, eval.per_cell). 0, or -1 + err with the MiB of each part
// and the key of the largest part to lower.
int run_memory_check(const RunConfig *rc, char *err);

#endif
