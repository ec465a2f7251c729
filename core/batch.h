// batch.h: one batch of sequences as a model's forward takes it. Everything a forward
// reads about its input travels here, explicitly: the tokens, the targets (which also
// mask the loss: a target < 0 is not counted) and, for number tokens that carry a value
// (FoNE, task.numbers = fone), the values of the inputs and of the targets, and for
// masked-packed rows (train.packing = masked) each token's position within its problem.
#ifndef ARITHLAB_BATCH_H
#define ARITHLAB_BATCH_H

typedef struct {
    const int *tokens;            // (B,T) token ids
    const int *targets;           // (B,T) next-token targets, < 0 not counted; NULL: no loss
    const double *values;         // (B,T) the value of each [NUM] input token, or NULL (none)
    const double *target_values;  // (B,T) the value of each [NUM] target, or NULL (none)
    int B, T;
    // (B,T) position of each token within its problem, or NULL: token t is at position t.
    // Set (train.packing = masked), a row holds several problems: token t attends only to
    // tokens t - pos[t] .. t (its own problem, which starts where its position is 0), and
    // the position schemes read pos[t] instead of t. pos[t] <= t; pos[t] = 0 starts a problem.
    const int *pos;
} Batch;

#endif
