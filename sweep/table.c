// table.c: a sweep's results: summary.csv, table.md and the accuracy plot.
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <ini.h>
#include "plot/plot.h"
#include "sweep/sweep.h"
#include "eval/csv.h"

// ---------------------------------------------------------------- results

// fills the accuracy counts of a finished run from its eval/accuracy_grid.csv
typedef struct { const sweep_t *sw; sweep_run_t *r; } grid_ctx_t;

static void add_cell(const EvalGridRow *row, void *user)
{
    grid_ctx_t *g = user;
    sweep_run_t *r = g->r;
    if (row->in_distribution) r->in_n += row->n, r->in_ok += row->correct;
    else r->out_n += row->n, r->out_ok += row->correct;
    int len = row->len_a > row->len_b ? row->len_a : row->len_b;
    for (int b = 0; b < g->sw->n_bands; b++)
        if (len >= g->sw->band_lo[b] && len <= g->sw->band_hi[b]) r->band_n[b] += row->n, r->band_ok[b] += row->correct;
}

static int read_grid(const sweep_t *sw, sweep_run_t *r, const char *out)
{
    char path[4096], dir[4096], err[ERR_MAX];
    sweep_path_join(dir, sizeof(dir), out, r->name);
    sweep_path_join(path, sizeof(path), dir, "eval/accuracy_grid.csv");
    grid_ctx_t g = {sw, r};
    return eval_grid_csv_read(path, add_cell, &g, err) < 0 ? -1 : 0;
}

// the drawn population's row of a finished run's eval/accuracy_population.csv
// (eval.n_population problems, drawn as eval.population says); none: pop_n stays 0
static void read_population(sweep_run_t *r, const char *out)
{
    char path[4096], dir[4096], line[512];
    sweep_path_join(dir, sizeof(dir), out, r->name);
    sweep_path_join(path, sizeof(path), dir, "eval/accuracy_population.csv");
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        long n, ok;
        int values = sscanf(line, "values,,%ld,%ld", &n, &ok) == 2;
        if (values || sscanf(line, "training,,%ld,%ld", &n, &ok) == 2) {
            r->pop_n = n, r->pop_ok = ok, r->pop_values = values;
            break;
        }
    }
    fclose(f);
}

static double pct(long ok, long n) { return n ? 100.0 * ok / n : NAN; }

int sweep_values_geometric(const float *x, int n)
{
    if (n < 2) return 0;
    double rmin = INFINITY, rmax = 0;
    for (int i = 0; i + 1 < n; i++) {
        if (!(x[i] > 0) || !(x[i + 1] > 0)) return 0;
        double r = fabs(log(x[i + 1] / x[i]));
        if ((x[i + 1] > x[i]) != (x[1] > x[0]) || r == 0) return 0;   // one direction, no repeats
        rmin = fmin(rmin, r), rmax = fmax(rmax, r);
    }
    double span = fabs(log(x[n - 1] / x[0]));
    if (n == 2) return span >= log(10.0);   // two values: a decade apart or more
    return span >= log(4.0) && rmax <= 1.6 * rmin;   // steady ratios, together at least 4x
}

// one cell of the Markdown table: the mean over seeds, and each seed's value
static void md_cell(FILE *f, const double *v, int n)
{
    double sum = 0.0;
    int k = 0;
    for (int i = 0; i < n; i++) if (!isnan(v[i])) sum += v[i], k++;
    if (!k) { fprintf(f, " – |"); return; }
    fprintf(f, " %.1f", sum / k);
    if (n > 1) {
        fprintf(f, " (");
        for (int i = 0; i < n; i++) fprintf(f, isnan(v[i]) ? "%s–" : "%s%.0f", i ? ", " : "", v[i]);
        fprintf(f, ")");
    }
    fprintf(f, " |");
}

int sweep_write_results(const sweep_t *sw, sweep_run_t *runs, int n_runs, const char *out, char *err)
{
    char path[4096];
    for (int i = 0; i < n_runs; i++) {
        sweep_run_t *r = &runs[i];
        r->in_n = r->in_ok = r->out_n = r->out_ok = r->pop_n = r->pop_ok = 0;
        r->pop_values = 0;
        memset(r->band_n, 0, sizeof(r->band_n));
        memset(r->band_ok, 0, sizeof(r->band_ok));
        char dir[4096];
        sweep_path_join(dir, sizeof(dir), out, r->name);
        sweep_path_join(path, sizeof(path), dir, "sweep_done");
        r->done = sweep_file_exists(path) && read_grid(sw, r, out) == 0;
        if (r->done) read_population(r, out);
        r->wall_s = sweep_read_wall(dir);
    }
    // one row per run
    sweep_path_join(path, sizeof(path), out, "summary.csv");
    FILE *f = fopen(path, "w");
    if (!f) return err_set(err, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "run,group,seed");
    if (sw->n_variants) fprintf(f, ",variant");
    for (int i = 0; i < sw->n_vary; i++) fprintf(f, ",%s", sw->vary[i].key);
    fprintf(f, ",done,stale,wall_s,in_n,in_accuracy,out_n,out_accuracy");
    for (int b = 0; b < sw->n_bands; b++) fprintf(f, ",len_%d_%d_accuracy", sw->band_lo[b], sw->band_hi[b]);
    fprintf(f, ",population_n,population_accuracy\n");
    for (int i = 0; i < n_runs; i++) {
        const sweep_run_t *r = &runs[i];
        fprintf(f, "%s,%s,%d", r->name, r->group, r->seed);
        if (sw->n_variants) fprintf(f, ",%s", sw->variants[r->variant].name);
        for (int k = 0; k < sw->n_vary; k++) fprintf(f, ",%s", sw->vary[k].values[r->value[k]]);
        fprintf(f, ",%d,%d,%.1f,%ld,%.4f,%ld,%.4f", r->done, r->stale, r->wall_s, r->in_n, pct(r->in_ok, r->in_n) / 100,
                r->out_n, pct(r->out_ok, r->out_n) / 100);
        for (int b = 0; b < sw->n_bands; b++) fprintf(f, ",%.4f", pct(r->band_ok[b], r->band_n[b]) / 100);
        fprintf(f, ",%ld,%.4f\n", r->pop_n, pct(r->pop_ok, r->pop_n) / 100);
    }
    fclose(f);

    // one row per group, seeds side by side
    sweep_path_join(path, sizeof(path), out, "table.md");
    f = fopen(path, "w");
    if (!f) return err_set(err, "%s: cannot write: %s", path, strerror(errno));
    int has_out = 0, n_pop = 0, n_values = 0;   // runs with a population; of those, drawn by value
    for (int i = 0; i < n_runs; i++)
        has_out |= runs[i].out_n > 0, n_pop += runs[i].pop_n > 0, n_values += runs[i].pop_n > 0 && runs[i].pop_values;
    int has_pop = n_pop > 0;
    // the population's name: as training draws (eval.population = training), uniform operands, or both
    const char *pop_name = !n_values ? "training distribution" : n_values == n_pop
                           ? "uniform operands" : "population (training or uniform operands)";
    fprintf(f, "| run | seeds done | in-distribution %% |");
    if (has_pop) fprintf(f, " %s %% |", pop_name);
    for (int b = 0; b < sw->n_bands; b++) fprintf(f, " lengths %d–%d %% |", sw->band_lo[b], sw->band_hi[b]);
    if (has_out) fprintf(f, " out-of-distribution %% |");
    fprintf(f, " wall s per run |\n|---|---|---|");
    for (int b = 0; b < sw->n_bands + has_out + has_pop + 1; b++) fprintf(f, "---|");
    fputc('\n', f);
    int ns = sw->n_seeds, any_stale = 0;
    for (int g = 0; g < n_runs; g += ns) {
        double in[SWEEP_MAX_SEEDS], popv[SWEEP_MAX_SEEDS], outv[SWEEP_MAX_SEEDS], band[SWEEP_MAX_BANDS][SWEEP_MAX_SEEDS], wall = 0.0;
        int done = 0, stale = 0;
        for (int s = 0; s < ns; s++) {
            const sweep_run_t *r = &runs[g + s];
            in[s] = r->done ? pct(r->in_ok, r->in_n) : NAN;
            popv[s] = r->done ? pct(r->pop_ok, r->pop_n) : NAN;
            outv[s] = r->done ? pct(r->out_ok, r->out_n) : NAN;
            for (int b = 0; b < sw->n_bands; b++) band[b][s] = r->done ? pct(r->band_ok[b], r->band_n[b]) : NAN;
            if (r->done) done++, wall += r->wall_s;
            stale += r->done && r->stale;
        }
        any_stale |= stale;
        if (stale) fprintf(f, "| %s | %d/%d (%d stale) |", runs[g].group, done, ns, stale);
        else fprintf(f, "| %s | %d/%d |", runs[g].group, done, ns);
        md_cell(f, in, ns);
        if (has_pop) md_cell(f, popv, ns);
        for (int b = 0; b < sw->n_bands; b++) md_cell(f, band[b], ns);
        if (has_out) md_cell(f, outv, ns);
        if (done) fprintf(f, " %.0f |\n", wall / done);
        else fprintf(f, " – |\n");
    }
    fprintf(f, "\nAccuracy is greedy exact match in %%: the mean over seeds, then each seed's value.\n");
    if (any_stale)
        fprintf(f, "Stale runs (kept with --keep-stale) were trained with another config than the sweep file gives now: "
                   "their numbers are in the table but are not those of the sweep as written.\n");
    if (has_pop)
        fprintf(f, "In-distribution: the cells of the (len a, len b) grid inside the training lengths; %s: the "
                   "eval.n_population problems, drawn as training draws them (eval.population = training) or with "
                   "operands uniform over the training range, carries not balanced (eval.population = values); "
                   "held out where the task holds problems out.\n", pop_name);
    fclose(f);

    // in-distribution accuracy against a varied numeric key, one line per other setting
    if (sw->x[0]) {
        int xi = 0;
        while (strcmp(sw->vary[xi].key, sw->x)) xi++;
        int nx = sw->vary[xi].n;
        float xs[SWEEP_MAX_VALUES];
        for (int k = 0; k < nx; k++) xs[k] = strtof(sw->vary[xi].values[k], NULL);
        static float ys[SWEEP_MAX_RUNS][SWEEP_MAX_VALUES], ymin[SWEEP_MAX_RUNS][SWEEP_MAX_VALUES],
                     ymax[SWEEP_MAX_RUNS][SWEEP_MAX_VALUES];
        double dlo = INFINITY, dhi = -INFINITY;
        static char names[SWEEP_MAX_RUNS][160];
        plot_series series[64];
        int n_series = 0;
        for (int i = 0; i < n_runs && n_series < 64; i += ns) {
            if (runs[i].value[xi] != 0) continue;   // the first x value opens a series
            char nm[160] = "";
            if (sw->n_variants) sweep_append_name(nm, sizeof(nm), sw->variants[runs[i].variant].name);
            for (int k = 0; k < sw->n_vary; k++)
                if (k != xi) sweep_append_name(nm, sizeof(nm), sw->vary[k].values[runs[i].value[k]]);
            for (int k = 0; k < nx; k++) {
                double sum = 0.0, lo = INFINITY, hi = -INFINITY;
                int cnt = 0;
                for (int j = 0; j < n_runs; j++) {
                    const sweep_run_t *r = &runs[j];
                    int same = r->variant == runs[i].variant && r->value[xi] == k && r->done;
                    for (int q = 0; q < sw->n_vary && same; q++) if (q != xi) same = r->value[q] == runs[i].value[q];
                    if (!same) continue;
                    double v = sw->y_population ? pct(r->pop_ok, r->pop_n) : pct(r->in_ok, r->in_n);
                    if (isnan(v)) continue;
                    sum += v, cnt++;
                    lo = fmin(lo, v), hi = fmax(hi, v);
                }
                ys[n_series][k] = cnt ? (float)(sum / cnt) : NAN;
                ymin[n_series][k] = cnt ? (float)lo : NAN;
                ymax[n_series][k] = cnt ? (float)hi : NAN;
                if (cnt) dlo = fmin(dlo, lo), dhi = fmax(dhi, hi);
            }
            snprintf(names[n_series], sizeof(names[0]), "%s", nm[0] ? nm : ns > 1 ? "mean over seeds (band: min-max)" : "accuracy");
            series[n_series] = (plot_series){.name = names[n_series], .x = xs, .y = ys[n_series], .n = nx,
                                             .markers = 1, .y_lo = ns > 1 ? ymin[n_series] : NULL,
                                             .y_hi = ns > 1 ? ymax[n_series] : NULL};
            n_series++;
        }
        char title[256], png[4200];
        const char *what = !sw->y_population ? "In-distribution" : !n_values ? "Training-distribution"
                           : n_values == n_pop ? "Uniform-operand" : "Population";
        if (ns > 1) snprintf(title, sizeof(title), "%s exact match against %s (mean, min-max over %d seeds)", what, sw->x, ns);
        else snprintf(title, sizeof(title), "%s exact match against %s", what, sw->x);
        // y fits the data (inside 0..100, with room so that 100% is not on the frame)
        plot_line_opts o = {.title = title, .xlabel = sw->x, .ylabel = "exact match (%)",
                            .logx = sweep_values_geometric(xs, nx), .xtick_values = xs, .n_xtick_values = nx};
        if (dlo <= dhi) {
            double pad = fmax(2.0, 0.06 * (dhi - dlo));
            o.ymin = (float)fmax(0.0, dlo - pad);
            o.ymax = (float)fmin(100.0 + pad / 2, dhi + pad);
        }
        snprintf(png, sizeof(png), "%s/accuracy_vs_%s.png", out, strchr(sw->x, '.') + 1);
        if (plot_line_write(png, series, n_series, &o, err)) return -1;
    }
    return 0;
}

