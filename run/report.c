// report.c: the pictures and tables of a run directory.
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "run/report.h"
#include "core/files.h"
#include "core/progress.h"
#include "plot/plot.h"

int report_read_metrics(const char *run_dir, ReportMetrics *m, char *err)
{
    char path[4096], line[1024];
    memset(m, 0, sizeof *m);
    snprintf(path, sizeof(path), "%s/metrics.csv", run_dir);
    FILE *f = fopen(path, "r");
    if (!f) return err_set(err, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = 1024;
    m->step = malloc(cap * sizeof(float)), m->loss = malloc(cap * sizeof(float));
    m->acc_step = malloc(cap * sizeof(float)), m->acc = malloc(cap * sizeof(float)), m->train_acc = malloc(cap * sizeof(float));
    int ok = m->step && m->loss && m->acc_step && m->acc && m->train_acc;
    while (ok && fgets(line, sizeof(line), f)) {
        if (line[0] < '0' || line[0] > '9') continue;     // header
        if ((size_t)m->n == cap || (size_t)m->n_acc == cap) {
            cap *= 2;
            float **arr[] = {&m->step, &m->loss, &m->acc_step, &m->acc, &m->train_acc};
            for (int i = 0; i < 5 && ok; i++) {
                float *g = realloc(*arr[i], cap * sizeof(float));
                if (g) *arr[i] = g;
                ok = g != NULL;
            }
            if (!ok) break;
        }
        // step,loss,lr,grad_norm,tokens_per_s,eval_accuracy[,train_accuracy]
        char *fields[7] = {0}, *p = line;
        for (int i = 0; i < 7 && p; i++) {
            fields[i] = p;
            char *comma = strchr(p, ',');
            if (comma) *comma = 0;
            p = comma ? comma + 1 : NULL;
        }
        m->step[m->n] = (float)atof(fields[0]);
        m->loss[m->n] = fields[1] ? (float)atof(fields[1]) : NAN;
        if (fields[5] && fields[5][0] && fields[5][0] != '\n') {
            m->acc_step[m->n_acc] = m->step[m->n];
            m->acc[m->n_acc] = (float)atof(fields[5]);
            m->train_acc[m->n_acc] = NAN;
            if (fields[6] && fields[6][0] && fields[6][0] != '\n') m->train_acc[m->n_acc] = (float)atof(fields[6]), m->has_train = 1;
            m->n_acc++;
        }
        m->n++;
    }
    fclose(f);
    if (!ok) { report_metrics_free(m); return err_set(err, "out of memory reading %s", path); }
    return 0;
}

void report_metrics_free(ReportMetrics *m)
{
    free(m->step); free(m->loss); free(m->acc_step); free(m->acc); free(m->train_acc);
    memset(m, 0, sizeof *m);
}

int report_curves(const char *run_dir, char *err)
{
    ReportMetrics mt;
    if (report_read_metrics(run_dir, &mt, err)) return -1;
    char path[4096];
    size_t n = (size_t)mt.n, n_acc = (size_t)mt.n_acc;
    float *step = mt.step, *loss = mt.loss, *acc_step = mt.acc_step, *acc = mt.acc, *tacc = mt.train_acc;
    int has_train = mt.has_train;
    for (size_t i = 0; i < n_acc; i++) acc[i] *= 100.0f, tacc[i] *= 100.0f;   // the plot is in percent
    int r = 0;
    if (n) {
        plot_series s = {.name = "training loss", .x = step, .y = loss, .n = (int)n};
        // which tokens the loss is on, from the run's config.ini (train.loss_on); answer tokens if it cannot be read
        RunConfig rc;
        char cfg_path[4096], cerr[ERR_MAX];
        snprintf(cfg_path, sizeof(cfg_path), "%s/config.ini", run_dir);
        run_config_default(&rc);
        int all = !run_config_load_ini(&rc, cfg_path, cerr) && !strcmp(rc.train.loss_on, "all");
        plot_line_opts o = {.width = 900, .height = 540,
                            .title = all ? "Training loss (every token after <bos>)" : "Training loss (answer tokens)",
                            .xlabel = "step", .ylabel = "cross-entropy (nats/token)", .logy = 1};
        snprintf(path, sizeof(path), "%s/loss.png", run_dir);
        r = plot_line_write(path, &s, 1, &o, err);
        if (!r && n_acc) {
            plot_series a[2] = {{.name = has_train ? "held-out problems" : "exact match", .x = acc_step, .y = acc, .n = (int)n_acc},
                                {.name = "training problems", .x = acc_step, .y = tacc, .n = (int)n_acc}};
            plot_line_opts oa = {.width = 900, .height = 540, .title = "Exact-match accuracy during training",
                                 .xlabel = "step", .ylabel = "accuracy (%)", .ymin = 0, .ymax = 100};
            snprintf(path, sizeof(path), "%s/accuracy.png", run_dir);
            r = plot_line_write(path, a, has_train ? 2 : 1, &oa, err);
        }
    }
    report_metrics_free(&mt);
    return r;
}

// the summary: every number under the name of the population it was measured on
static void print_summary(const EvalReport *r, const RunConfig *rc, const EvalPopulation *pop, int n_pop,
                          int overlap_known, FILE *f)
{
    fprintf(f, "grid (len a, len b) 1..%d, %d per cell:\n", r->max_len, rc->eval.per_cell);
    if (rc->task.numbers == TASK_NUMBERS_TOKENS)
        fprintf(f, "(numbers are tokens: len a, len b are the decimal digits of the operands' values, each one token)\n");
    eval_print_summary(r, overlap_known, f);
    for (int i = 0; i < n_pop; i++) eval_population_print(&pop[i], overlap_known, f);
}

int report_eval(Model *m, const RunConfig *rc, const TaskSet *train_set, const char *out_dir, FILE *out, char *err)
{
    return report_eval_populations(m, rc, train_set, NULL, out_dir, out, err);
}

// the grid's progress on standard error, when that is a terminal
static void grid_progress(void *user, long done, long total)
{
    progress_draw(user, done, total, "problems of the accuracy grid");
}

int report_eval_populations(Model *m, const RunConfig *rc, const TaskSet *train_set, const char *problems_path,
                            const char *out_dir, FILE *out, char *err)
{
    EvalReport r;
    EvalPopulation pop[2];
    int n_pop = 0;
    int L = rc->eval.max_len ? rc->eval.max_len : rc->task.max_len;
    if (eval_report_init(&r, L, rc->task.max_len, err)) return -1;
    int overlap_known = train_set || rc->task.train_frac < 1.0, png_failed = 0;
    double t0 = time_s();
    progress_t bar;
    progress_init(&bar, stderr);
    r.progress = grid_progress;
    r.progress_user = &bar;
    int rcode = eval_grid(m, &rc->task, rc->eval.per_cell, rc->train.seed, &r, train_set, err);
    progress_clear(&bar);
    if (!rcode && rc->eval.n_population > 0) {
        rcode = (rc->eval.population == RUN_POPULATION_VALUES ? eval_population_values : eval_population_train)(
            m, &rc->task, rc->eval.n_population, rc->train.seed, train_set, &pop[n_pop], err);
        if (!rcode) n_pop++;
    }
    if (!rcode && problems_path) {
        rcode = eval_population_file(m, &rc->task, problems_path, train_set, &pop[n_pop], err);
        if (!rcode) n_pop++;
    }
    double dt = time_s() - t0;
    // the directory only once there is something to put in it (a refused grid leaves none)
    if (!rcode && mkdir(out_dir, 0755) && errno != EEXIST) rcode = err_set(err, "%s: cannot create: %s", out_dir, strerror(errno));
    if (!rcode) rcode = eval_write_csv(&r, out_dir, err);
    if (!rcode && n_pop) rcode = eval_population_csv(pop, n_pop, out_dir, err);
    if (!rcode) {
        // the grid as a heatmap; rows = len a, cols = len b; NaN where no problem was drawn
        float *acc = malloc(sizeof(float) * L * L);
        char **labels = malloc(sizeof(char *) * L), *lab = malloc((size_t)L * 12);
        for (int i = 0; i < L; i++) { labels[i] = lab + 12 * i; snprintf(labels[i], 12, "%d", i + 1); }
        for (int i = 0; i < L * L; i++) acc[i] = r.n[i] ? 100.0f * r.correct[i] / r.n[i] : NAN;
        char title[256], path[4096];
        snprintf(title, sizeof(title), "Exact match (%%), %s %s, %d per cell", task_kind_name(rc->task.task),
                 task_format_name(rc->task.format), rc->eval.per_cell);
        int in = rc->task.max_len < L ? rc->task.max_len : L;
        plot_heatmap_opts o = {.width = 760, .height = 680, .title = title, .xlabel = "length of b (digits)",
                               .ylabel = "length of a (digits)", .cbar_label = "accuracy (%)", .cmap = PLOT_CMAP_VIRIDIS,
                               .vmin = 0, .vmax = 100, .row_labels = (const char *const *)labels,
                               .col_labels = (const char *const *)labels, .annotate = L <= 16, .annot_fmt = "%.0f",
                               .outline = {0, 0, in, in}, .outline_label = "trained lengths"};
        snprintf(path, sizeof(path), "%s/accuracy_grid.png", out_dir);
        // a picture that cannot be drawn (no font, say) must not throw away the numbers
        char perr[ERR_MAX];
        // (a picture that could not be drawn, e.g. no font, stays a warning; one that could
        // not be written, a full disk, fails the command after the summary)
        int failures = files_write_failures();
        if (plot_heatmap_write(path, acc, L, L, &o, perr)) {
            png_failed = files_write_failures() > failures;
            fprintf(stderr, "%s%s not drawn: %s\n", png_failed ? "" : "warning: ", path, perr);
        }
        free(acc); free(labels); free(lab);
    }
    if (!rcode) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/summary.txt", out_dir);
        FILE *f = files_atomic_open(path, err);
        if (!f) rcode = -1;
        else {
            print_summary(&r, rc, pop, n_pop, overlap_known, f);
            fprintf(f, "evaluation took %.1fs\n", dt);
            rcode = files_atomic_commit(f, path, err);
        }
        if (!rcode) print_summary(&r, rc, pop, n_pop, overlap_known, out);
    }
    for (int i = 0; i < n_pop; i++) eval_population_free(&pop[i]);
    eval_report_free(&r);
    if (!rcode && png_failed) rcode = err_set(err, "%s/accuracy_grid.png was not written (see above)", out_dir);
    return rcode;
}
