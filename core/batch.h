// batch.h: one batch of sequences as a model's forward takes it. Everything a forward
// reads about its input travels here, explicitly: the tokens, the targets (which also
// mask the loss: a target < 0 is not counted) and, for number tokens that carry a value
// (FoNE, task.numbers = fone), the values of the inputs and of the targets.
#ifndef ARITHLAB_BATCH_H
#define ARITHLAB_BATCH_H

typedef struct {
    const int *tokens;            // (B,T) token ids
    const int *targets;           // (B,T) next-token targets, < 0 not counted; NULL: no loss
    const double *values;         // (B,T) the value of each [NUM] input token, or NULL (none)
    const double *target_values;  // (B,T) the value of each [NUM] target, or NULL (none)
    int B, T;
} Batch;

#endif
