// sweep.h: a sweep: a grid of runs (base config x varied keys x variants x seeds)
// read from a sweep file (sweep/file.c), run as a pool of `arithlab` processes
// (sweep/pool.c) and tabulated (sweep/table.c). The `sweep` command calls these.
#ifndef ARITHLAB_SWEEP_H
#define ARITHLAB_SWEEP_H

#include <stddef.h>
#include "run/run.h"

#define SWEEP_MAX_VARY 4
#define SWEEP_MAX_VALUES 32
#define SWEEP_MAX_SETS 32
#define SWEEP_MAX_VARIANTS 16
#define SWEEP_MAX_SEEDS 16
#define SWEEP_MAX_BANDS 8
#define SWEEP_MAX_PROBES 4
#define SWEEP_MAX_RUNS 2048

// ---------------------------------------------------------------- the sweep file

typedef struct {
    char key[96];                                // section.key
    int n;
    char values[SWEEP_MAX_VALUES][64];
} sweep_vary_t;

typedef struct {
    char name[48];
    int n_sets;
    char sets[SWEEP_MAX_SETS][160];              // section.key=value
} sweep_variant_t;

typedef struct {
    char dir[2048];                              // the sweep file's directory
    char config[4096];                           // base config, resolved against dir ("" = defaults)
    int n_seeds, seeds[SWEEP_MAX_SEEDS];
    int n_vary;
    sweep_vary_t vary[SWEEP_MAX_VARY];
    int n_sets;
    char sets[SWEEP_MAX_SETS][160];
    int n_bands, band_lo[SWEEP_MAX_BANDS], band_hi[SWEEP_MAX_BANDS];
    char x[96];
    int y_population;                            // y = population: the plot's y is the training-distribution accuracy
    int n_probes;
    char probes[SWEEP_MAX_PROBES][32];
    int n_variants;
    sweep_variant_t variants[SWEEP_MAX_VARIANTS];
} sweep_t;

typedef struct {
    char name[160];          // directory name under the sweep's output
    char group[160];         // name without the seed: runs averaged together
    int variant;             // -1: none
    int value[SWEEP_MAX_VARY];
    int seed;
    char hash[17];           // sweep_config_hash of the run's resolved config now
    int stale;               // 1: its directory holds a run of another config (the sweep file changed)
    // results
    int done;
    double wall_s;
    long in_n, in_ok, out_n, out_ok;
    long band_n[SWEEP_MAX_BANDS], band_ok[SWEEP_MAX_BANDS];
    long pop_n, pop_ok;      // the eval.n_population problems (0: none)
    int pop_values;          // 1: drawn with uniform operands (eval.population = values), 0: as training draws
} sweep_run_t;

// a/b into dst
void sweep_path_join(char *dst, size_t cap, const char *a, const char *b);
int sweep_file_exists(const char *path);
// "_" and part appended to a run name (characters other than [A-Za-z0-9+-.] as -)
void sweep_append_name(char *dst, size_t cap, const char *part);
// seconds of training recorded in a run directory
double sweep_read_wall(const char *dir);
// the sweep file SWEEP.ini, or DIR/sweep.ini; -1 + err
int sweep_load(sweep_t *sw, const char *arg, char *err);
// one key of the [sweep] section (also --seeds); -1 + err
int sweep_parse_key(sweep_t *sw, const char *name, const char *value, char *err);
// every run of the grid into runs (SWEEP_MAX_RUNS); their number, or -1 + err
int sweep_expand(const sweep_t *sw, sweep_run_t *runs, char *err);
// the --set arguments of one run; their number
int sweep_run_sets(const sweep_t *sw, const sweep_run_t *r, char sets[][160], int cap);
// the run's configuration resolves; -1 + err naming the run
int sweep_check_run(const sweep_t *sw, const sweep_run_t *r, char *err);
// the run's whole configuration (base config, sets, variant, varied values, seed), resolved
int sweep_run_config(const sweep_t *sw, const sweep_run_t *r, RunConfig *rc, char *err);

// ---------------------------------------------------------------- stale runs
// Each run directory keeps SWEEP_HASH_FILE: a hash of the resolved configuration it
// was started with. A sweep file edited since (a base config, a set, a value) gives
// the run another hash: the run is stale, and is re-run or refused, never tabulated
// as if it were the new one.
#define SWEEP_HASH_FILE "sweep_config_hash"
// 16 hex digits: FNV-1a over "key = value" of every key whose value is not its
// default (so that a key added to the program later does not make old runs stale),
// train.threads left out (the sweep sets it from --threads)
void sweep_config_hash(const RunConfig *rc, char out[17]);
// r->hash, r->done and r->stale from the run's directory under out. A directory
// without SWEEP_HASH_FILE (a sweep of an older arithlab) is judged by its config.ini;
// one without either has nothing to be stale. -1 + err when the run does not resolve
int sweep_run_state(const sweep_t *sw, sweep_run_t *r, const char *out, char *err);
// a stale run's directory renamed to NAME.stale-K (the first K free) so that it can be
// run again from the start; the new name into moved. -1 + err
int sweep_set_aside(const char *out, const sweep_run_t *r, char *moved, size_t cap, char *err);
int sweep_run_pool(const sweep_t *sw, sweep_run_t *runs, int n_runs, const char *out, int jobs, int threads, int *n_done);
// 1 when x[0..n) grow (or shrink) by a steady factor over at least 4x (10x for
// two values), e.g. 100, 1000, 10000 or 1, 2, 4, 8: the plot then uses a log x axis
int sweep_values_geometric(const float *x, int n);

// summary.csv, table.md and the accuracy plot from the finished runs; -1 + err
int sweep_write_results(const sweep_t *sw, sweep_run_t *runs, int n_runs, const char *out, char *err);

#endif
