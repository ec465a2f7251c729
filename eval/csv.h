// csv.h: the accuracy grid's CSV (eval/accuracy_grid.csv), written and read by
// this one module so that the sweep's tables and the evaluation agree on its format.
#ifndef ARITHLAB_EVAL_CSV_H
#define ARITHLAB_EVAL_CSV_H

#include <stdio.h>
#include "eval/eval.h"

typedef struct {
    int len_a, len_b;         // operand lengths (1-based)
    long n, correct;          // problems evaluated, answered exactly
    double accuracy;          // correct / n, as written (4 decimals)
    int in_distribution;      // both lengths <= the training length
} EvalGridRow;

// header and one row per evaluated (len a, len b) cell of r
void eval_grid_csv_write(FILE *f, const EvalReport *r);
// every row of the CSV at path through on_row; the number of rows, or -1 + err
int eval_grid_csv_read(const char *path, void (*on_row)(const EvalGridRow *row, void *user), void *user, char *err);

#endif
