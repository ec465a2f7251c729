// report.h: what a run directory shows a person: loss and accuracy curves
// from metrics.csv, and the evaluation's tables and accuracy-grid heatmap.
#ifndef ARITHLAB_REPORT_H
#define ARITHLAB_REPORT_H

#include "run/run.h"
#include "eval/eval.h"
#include "eval/population.h"

// DIR/metrics.csv read back: every row's step and loss (n), and the evaluated rows'
// step, held-out and training exact match as fractions (n_acc; train_acc NaN where a
// row has none, has_train if any has). -1 + err if the file cannot be read.
typedef struct {
    float *step, *loss;
    int n;
    float *acc_step, *acc, *train_acc;
    int n_acc, has_train;
} ReportMetrics;
int report_read_metrics(const char *run_dir, ReportMetrics *m, char *err);
void report_metrics_free(ReportMetrics *m);

// loss.png (log-y) and, if the run was evaluated, accuracy.png, from DIR/metrics.csv
int report_curves(const char *run_dir, char *err);
// grid evaluation of the model per rc->eval into out_dir: CSVs, accuracy_grid.png,
// summary.txt; prints the summary to f. train_set (or NULL): the problems trained
// on, for the overlap count. -1 + err.
// Besides the grid, rc->eval.n_population problems drawn as training draws them
// (eval_population_train), in accuracy_population.csv and the summary.
int report_eval(Model *m, const RunConfig *rc, const TaskSet *train_set, const char *out_dir, FILE *f, char *err);
// the same, and the problems of the file at problems_path (or NULL) as a third population
int report_eval_populations(Model *m, const RunConfig *rc, const TaskSet *train_set, const char *problems_path,
                            const char *out_dir, FILE *f, char *err);

#endif
