// checkpoint.h: safetensors checkpoints (8-byte LE header length, JSON
// header, raw LE float32 data). Parameter names as in nanoGPT; AdamW moments
// as "optim.m.<name>" / "optim.v.<name>"; the model config and training state
// in __metadata__ (all values strings, as the format requires).
// Writes are atomic (temp file, fsync, rename, fsync dir); the loader checks
// every byte it trusts and never reads out of bounds.
#ifndef ARITHLAB_CHECKPOINT_H
#define ARITHLAB_CHECKPOINT_H

#include <stdint.h>
#include <stddef.h>
#include "model/model.h"

#define CKPT_MAX_META 32
// the largest train.step a checkpoint may hold (train.steps' own bound): a
// tampered INT64_MAX overflowed step * batch_size in the training loop
#define CKPT_MAX_STEP 1000000000LL

typedef struct {
    int64_t step;            // optimizer steps taken
    uint64_t rng;            // the training loop's RNG (the model's m->rng is saved as "model.rng")
    uint64_t data_rng;       // data generator RNG state
    int64_t data_pos;        // examples consumed
    int has_optimizer;       // set by ckpt_load: the file held the AdamW moments
    int n_meta;              // extra key/value pairs (e.g. the resolved run config)
    char meta_key[CKPT_MAX_META][64];
    char meta_val[CKPT_MAX_META][4096];
} TrainState;

// 0 on success; -1 with err naming the problem (the old file, if any, is untouched)
int ckpt_save(const Model *m, const TrainState *st, int with_optimizer, const char *path, char *err);
// read only the model config from a checkpoint (to build a model of the right shape)
int ckpt_read_config(const char *path, ModelConfig *cfg, char *err);
// load parameters (and moments, if present and want_optimizer) into a built model whose
// config matches. Every tensor loaded must be finite: NaN or Inf is refused with
// err naming the tensor and the element (nothing of the model is touched). The
// model whose
// config matches; fills st if non-NULL. -1 + err on any inconsistency.
int ckpt_load(Model *m, TrainState *st, int want_optimizer, const char *path, char *err);
// read only the training state and extra metadata (e.g. the run config); -1 + err
int ckpt_read_state(const char *path, TrainState *st, char *err);
// convenience: read config, build (B_max,T_max), load. -1 + err.
int ckpt_build_model(Model *m, TrainState *st, int want_optimizer, const char *path, int B_max, int T_max, char *err);
// value of a metadata key in st, or NULL
const char *ckpt_meta_get(const TrainState *st, const char *key);
// add or replace a metadata key; -1 if full, too long, or a reserved key (format, model.*, train.*)
int ckpt_meta_set(TrainState *st, const char *key, const char *val);

#endif
