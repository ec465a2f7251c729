// fone.h: the FoNE limit of the digit head (the key model.fone_places, declared by
// embeddings/fone.c, takes the same core/vocab.h limit). The FoNE digit head is
// model/head_fone.c (model.head = fone, or auto with the fone scheme in model.position);
// the [NUM] embedding is embeddings/fone.c. A FoNE batch carries the values of its [NUM]
// tokens and targets (core/batch.h):
//
//   Batch b = {tokens, targets, values, target_values, B, T};   // from task_batch_values
//   model_forward_batch(m, &b);              // m->loss: the digit loss
//   m->head->decode(m, t, digits);           // after a forward: the answer's digits at t
#ifndef ARITHLAB_FONE_H
#define ARITHLAB_FONE_H

#include "core/vocab.h"

#define MODEL_FONE_MAX_PLACES VOCAB_FONE_MAX_PLACES   // core/vocab.h

#endif
