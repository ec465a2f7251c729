// view.h: `arithlab view`: one self-contained HTML page for a run directory,
// to look at a trained model in a browser without a server or a network. The
// page (view/page.html, compiled in) draws with plain JS on canvas from one
// JSON object inlined in a script tag:
//   run            the run directory as given
//   files          {name: text} of the run's files that are present, raw CSV
//                  and INI: config.ini, metrics.csv (thinned to at most
//                  VIEW_MAX_METRIC_ROWS rows), eval/accuracy_grid.csv,
//                  probe_fourier/{embed,lens}_spectrum.csv,
//                  patch/patch_{resid,mlp,heads}.csv, ablate/ablate.csv
//   metrics_thinned  k when every k-th row of metrics.csv was kept, else absent
//   attention      with DIR/ckpt.safetensors: one problem's patterns,
//                  {problem, tokens [T], passes [names], n_heads,
//                   pattern [pass][head][T*T] (query-major, 0 above the diagonal)}
// Sections appear for what is present: training curves, the accuracy grid,
// attention (per pass and head, hover: query and key tokens and the weight),
// Fourier spectra, patching and ablation heatmaps, the configuration.
#ifndef ARITHLAB_VIEW_H
#define ARITHLAB_VIEW_H

#include <stdio.h>

#define VIEW_MAX_METRIC_ROWS 4000
#define VIEW_MAX_FILE_BYTES (16 << 20)   // a file larger than this is left out, with a note on log

typedef struct {
    const char *problem;   // the problem whose attention is drawn (NULL: one drawn from the task with seed)
    int seed;
    int threads;
} view_opts;

// the page for run_dir, written to out_path through a temporary file renamed into
// place (whether out_path may be replaced is the caller's check). Notes on log (may be NULL).
// 0; -1 + err when run_dir holds none of the files above, a --problem does not
// parse, or a write fails. *refused = 1 when the error is the user's input (exit 2).
int view_write(const char *run_dir, const char *out_path, const view_opts *o, FILE *log, int *refused, char *err);

#endif
