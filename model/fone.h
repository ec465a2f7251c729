// fone.h: the FoNE digit head (Zhou et al. 2025, "FoNE: Precise Single-Token Number
// Embeddings via Fourier Features") of a model whose model.position has the fone scheme.
// A number is one [NUM] token carrying its value x; embeddings/fone.c adds the Fourier
// features (cos, sin of 2 pi x / 10^i, i = 1..P) to its embedding. The answer is read back
// at the position whose target is [NUM]: for place i, the final hidden state's channels
// (2(i-1), 2i-1), after the final LayerNorm, dotted with the ten points
// (cos 2 pi j/10, sin 2 pi j/10) give the logits of digit j. The loss of such a model is the
// cross-entropy of these digits, the mean over places and over [NUM] targets; other targets
// are not counted (the LM head is unused).
//
//   model_set_values(m, values, target_values, B, T);   // from task_batch_values
//   model_forward(m, tokens, targets, B, T);             // m->loss: the digit loss
//   model_fone_digits(m, t, digits);                     // after a forward: the answer at t
#ifndef ARITHLAB_FONE_H
#define ARITHLAB_FONE_H

#include "model/model.h"
#include "core/vocab.h"

#define MODEL_FONE_MAX_PLACES VOCAB_FONE_MAX_PLACES   // core/vocab.h

// the values of the [NUM] tokens of the next model_forward calls of shape (B,T): values (B,T)
// of the input tokens, target_values (B,T) of the targets (non-negative integers of at most
// 15 digits; read only where the token or target is [NUM]); copied; NULL stands for zeros. A
// forward of another shape, and every cached forward, sees no values (a [NUM] token then gets
// only its token embedding): FoNE models are evaluated by one forward, never by decoding.
// Does nothing for a model without the fone scheme. -1 + err when (B,T) exceeds the model's.
int model_set_values(Model *m, const double *values, const double *target_values, int B, int T, char *err);
// out (B,T,P,10): the digit logits of every position of the last forward
void model_fone_logits(const Model *m, float *out);
// digits (B,P), least significant place first: the most likely digit of every place at
// position t of each row of the last forward (t in 0..T-1)
void model_fone_digits(const Model *m, int t, int *digits);

// ---- used by model.c only
int model__fone_build(Model *m, char *err);          // after pos_parse: P and the value buffers
void model__fone_free(Model *m);
const double *model__fone_values(const Model *m, int B, int T);   // the values for a (B,T) forward, or NULL
float model__fone_loss_forward(Model *m);             // fills m->losses, m->n_loss_tokens
void model__fone_loss_backward(Model *m, float *dlnf);// dlnf (B,T,C), fully written

#endif
