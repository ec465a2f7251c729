// sweep.c: `arithlab sweep`: run a grid of training runs (configs x varied keys
// x seeds) as parallel child processes that share the cores without
// oversubscribing them, resume where a stopped sweep left off, and tabulate
// in- and out-of-distribution accuracy over seeds (CSV, Markdown, a plot).
//
// A sweep file (INI) names a base config and what to vary:
//   [sweep]
//   config = base.ini                      ; relative to the sweep file
//   seeds  = 1, 2, 3
//   vary   = model.position: absolute, nope, rope, abacus    ; repeatable: a grid
//   set    = train.steps=4000              ; repeatable: applied to every run
//   bands  = 1-10, 11-20, 21-30            ; accuracy columns by longest operand
//   x      = task.train_size               ; plot in-distribution accuracy against a varied key
//   probe  = attention                     ; run this probe on every finished run
//   [variant looped]                       ; optional named variants, each crossed with the grid
//   model.n_layer = 1
//   model.n_loops = 4
#define _GNU_SOURCE   // sched_getaffinity
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
#include "cli/cli.h"
#include "cli/args.h"
#include "plot/plot.h"

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
    int n_probes;
    char probes[SWEEP_MAX_PROBES][32];
    int n_variants;
    sweep_variant_t variants[SWEEP_MAX_VARIANTS];
} sweep_t;

typedef struct { sweep_t *sw; char *err; int failed; } sweep_ctx_t;

// dst = a "/" b; paths are checked for length once, at the start of the command
static void path_join(char *dst, size_t cap, const char *a, const char *b)
{
    if (snprintf(dst, cap, "%s/%s", a, b) >= (int)cap) dst[0] = 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
    return s;
}

// a "section.key=value" string checked against the run-config key table now,
// so that a typo fails before hours of runs rather than in the first child
static int check_set(const char *kv, char *err)
{
    RunConfig rc;
    run_config_default(&rc);
    return run_config_apply_set(&rc, kv, err);
}

static int parse_sweep_key(sweep_t *sw, const char *name, const char *value, char *err)
{
    char buf[2048];
    snprintf(buf, sizeof(buf), "%s", value);
    if (!strcmp(name, "config")) {
        if (value[0] == '/') snprintf(sw->config, sizeof(sw->config), "%s", value);
        else snprintf(sw->config, sizeof(sw->config), "%s/%s", sw->dir, value);
    } else if (!strcmp(name, "seeds")) {
        sw->n_seeds = 0;
        for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
            char *end;
            long s = strtol(tok, &end, 10);
            if (*end || s < 0 || s > 1000000000L) return err_set(err, "seeds: '%s' is not a non-negative integer", tok);
            if (sw->n_seeds == SWEEP_MAX_SEEDS) return err_set(err, "seeds: at most %d", SWEEP_MAX_SEEDS);
            for (int i = 0; i < sw->n_seeds; i++)
                if (sw->seeds[i] == s) return err_set(err, "seeds: %ld is listed twice (two runs would share a directory)", s);
            sw->seeds[sw->n_seeds++] = (int)s;
        }
        if (!sw->n_seeds) return err_set(err, "seeds: no seeds; give a list such as 1, 2, 3");
    } else if (!strcmp(name, "vary")) {
        char *colon = strchr(buf, ':');
        if (!colon) return err_set(err, "vary = '%s': expected 'section.key: value1, value2, ...'", value);
        if (sw->n_vary == SWEEP_MAX_VARY) return err_set(err, "vary: at most %d keys", SWEEP_MAX_VARY);
        *colon = 0;
        sweep_vary_t *v = &sw->vary[sw->n_vary];
        snprintf(v->key, sizeof(v->key), "%s", trim(buf));
        v->n = 0;
        for (char *tok = strtok(colon + 1, ","); tok; tok = strtok(NULL, ",")) {
            tok = trim(tok);
            if (!*tok) continue;
            if (v->n == SWEEP_MAX_VALUES) return err_set(err, "vary %s: at most %d values", v->key, SWEEP_MAX_VALUES);
            if (strlen(tok) >= sizeof(v->values[0]))
                return err_set(err, "vary %s: the value '%s' is longer than %zu characters", v->key, tok, sizeof(v->values[0]) - 1);
            for (int i = 0; i < v->n; i++)
                if (!strcmp(v->values[i], tok)) return err_set(err, "vary %s: '%s' is listed twice", v->key, tok);
            snprintf(v->values[v->n], sizeof(v->values[0]), "%s", tok);
            char kv[160];
            snprintf(kv, sizeof(kv), "%s=%s", v->key, tok);
            if (check_set(kv, err)) return -1;
            v->n++;
        }
        if (!v->n) return err_set(err, "vary %s: no values", v->key);
        sw->n_vary++;
    } else if (!strcmp(name, "set")) {
        if (sw->n_sets == SWEEP_MAX_SETS) return err_set(err, "set: at most %d", SWEEP_MAX_SETS);
        if (check_set(trim(buf), err)) return -1;
        if (strlen(trim(buf)) >= sizeof(sw->sets[0])) return err_set(err, "set: '%s' is longer than %zu characters", trim(buf), sizeof(sw->sets[0]) - 1);
        snprintf(sw->sets[sw->n_sets++], sizeof(sw->sets[0]), "%s", trim(buf));
    } else if (!strcmp(name, "bands")) {
        sw->n_bands = 0;
        for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
            int lo, hi;
            if (sscanf(tok, "%d-%d", &lo, &hi) != 2 || lo < 1 || hi < lo)
                return err_set(err, "bands: '%s' is not a range such as 11-20", tok);
            if (sw->n_bands == SWEEP_MAX_BANDS) return err_set(err, "bands: at most %d", SWEEP_MAX_BANDS);
            sw->band_lo[sw->n_bands] = lo;
            sw->band_hi[sw->n_bands++] = hi;
        }
    } else if (!strcmp(name, "x")) {
        snprintf(sw->x, sizeof(sw->x), "%s", trim(buf));
    } else if (!strcmp(name, "probe")) {
        static const char *const kinds[] = {"fourier", "attention", "linear"};
        int ok = 0;
        for (int i = 0; i < 3; i++) ok |= !strcmp(trim(buf), kinds[i]);
        if (!ok) return err_set(err, "probe = '%s': accepted: fourier, attention, linear", value);
        if (sw->n_probes == SWEEP_MAX_PROBES) return err_set(err, "probe: at most %d", SWEEP_MAX_PROBES);
        snprintf(sw->probes[sw->n_probes++], sizeof(sw->probes[0]), "%s", trim(buf));
    } else {
        return err_set(err, "[sweep] has no key '%s'; accepted: config, seeds, vary, set, bands, x, probe", name);
    }
    return 0;
}

static int on_sweep_line(void *user, const char *section, const char *name, const char *value)
{
    sweep_ctx_t *ctx = user;
    sweep_t *sw = ctx->sw;
    // ini_parse goes on past an error but returns the first one's line: keep that error's message
    if (ctx->failed) return 1;
    if (!strcmp(section, "sweep")) {
        if (parse_sweep_key(sw, name, value, ctx->err)) { ctx->failed = 1; return 0; }
        return 1;
    }
    if (!strncmp(section, "variant ", 8)) {
        const char *vname = section + 8;
        sweep_variant_t *v = NULL;
        for (int i = 0; i < sw->n_variants; i++)
            if (!strcmp(sw->variants[i].name, vname)) v = &sw->variants[i];
        if (!v) {
            if (sw->n_variants == SWEEP_MAX_VARIANTS) { err_set(ctx->err, "at most %d variants", SWEEP_MAX_VARIANTS); ctx->failed = 1; return 0; }
            for (const char *c = vname; *c; c++)
                if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '+')) {
                    err_set(ctx->err, "[variant %s]: a variant name may hold letters, digits, '_', '-', '+'", vname);
                    ctx->failed = 1;
                    return 0;
                }
            v = &sw->variants[sw->n_variants++];
            snprintf(v->name, sizeof(v->name), "%s", vname);
        }
        if (v->n_sets == SWEEP_MAX_SETS) { err_set(ctx->err, "[variant %s]: at most %d keys", vname, SWEEP_MAX_SETS); ctx->failed = 1; return 0; }
        if (snprintf(v->sets[v->n_sets], sizeof(v->sets[0]), "%s=%s", name, value) >= (int)sizeof(v->sets[0])) {
            err_set(ctx->err, "[variant %s]: '%s = %s' is longer than %zu characters", vname, name, value, sizeof(v->sets[0]) - 1);
            ctx->failed = 1;
            return 0;
        }
        if (check_set(v->sets[v->n_sets], ctx->err)) { ctx->failed = 1; return 0; }
        v->n_sets++;
        return 1;
    }
    err_set(ctx->err, "unknown section [%s]; accepted: [sweep], [variant NAME]", section);
    ctx->failed = 1;
    return 0;
}

static int sweep_load(sweep_t *sw, const char *arg, char *err)
{
    memset(sw, 0, sizeof(*sw));
    char path[4096];
    struct stat st;
    if (stat(arg, &st)) return err_set(err, "%s: %s", arg, strerror(errno));
    if (S_ISDIR(st.st_mode)) path_join(path, sizeof(path), arg, "sweep.ini");
    else snprintf(path, sizeof(path), "%s", arg);
    snprintf(sw->dir, sizeof(sw->dir), "%s", path);
    char *slash = strrchr(sw->dir, '/');
    if (slash) *slash = 0; else snprintf(sw->dir, sizeof(sw->dir), ".");
    sw->n_seeds = 1;
    sw->seeds[0] = 1;
    char inner[ERR_MAX] = "";
    sweep_ctx_t ctx = {sw, inner, 0};
    int r = ini_parse(path, on_sweep_line, &ctx);
    if (r == -1) return err_set(err, "%s: cannot open the sweep file", path);
    if (ctx.failed) return err_set(err, "%s:%d: %s", path, r, inner);
    if (r) return err_set(err, "%s:%d: not a 'key = value' line or a [section] header", path, r);
    if (sw->config[0]) {
        RunConfig rc;
        run_config_default(&rc);
        if (run_config_load_ini(&rc, sw->config, inner)) return err_set(err, "%s: config: %s", path, inner);
    }
    if (sw->x[0]) {
        int found = 0;
        for (int i = 0; i < sw->n_vary; i++) found |= !strcmp(sw->vary[i].key, sw->x);
        if (!found) return err_set(err, "%s: x = %s is not one of the varied keys", path, sw->x);
    }
    return 0;
}

// ---------------------------------------------------------------- the runs

typedef struct {
    char name[160];          // directory name under the sweep's output
    char group[160];         // name without the seed: runs averaged together
    int variant;             // -1: none
    int value[SWEEP_MAX_VARY];
    int seed;
    // results
    int done;
    double wall_s;
    long in_n, in_ok, out_n, out_ok;
    long band_n[SWEEP_MAX_BANDS], band_ok[SWEEP_MAX_BANDS];
} sweep_run_t;

static void append_name(char *dst, size_t cap, const char *part)
{
    size_t n = strlen(dst);
    if (n && n + 1 < cap) dst[n++] = '_', dst[n] = 0;
    for (const char *c = part; *c && n + 1 < cap; c++)
        dst[n++] = (isalnum((unsigned char)*c) || *c == '+' || *c == '-' || *c == '.') ? *c : '-';
    dst[n] = 0;
}

static int sweep_expand(const sweep_t *sw, sweep_run_t *runs, char *err)
{
    int n_var = sw->n_variants ? sw->n_variants : 1, n_combo = 1;
    for (int i = 0; i < sw->n_vary; i++) n_combo *= sw->vary[i].n;
    long total = (long)n_var * n_combo * sw->n_seeds;
    if (total > SWEEP_MAX_RUNS) return err_set(err, "the sweep has %ld runs; at most %d", total, SWEEP_MAX_RUNS);
    int k = 0;
    for (int v = 0; v < n_var; v++)
        for (int c = 0; c < n_combo; c++)
            for (int s = 0; s < sw->n_seeds; s++) {
                sweep_run_t *r = &runs[k++];
                memset(r, 0, sizeof(*r));
                r->variant = sw->n_variants ? v : -1;
                if (sw->n_variants) append_name(r->group, sizeof(r->group), sw->variants[v].name);
                for (int i = 0, rest = c; i < sw->n_vary; i++) {
                    r->value[i] = rest % sw->vary[i].n;
                    rest /= sw->vary[i].n;
                    append_name(r->group, sizeof(r->group), sw->vary[i].values[r->value[i]]);
                }
                if (!r->group[0]) snprintf(r->group, sizeof(r->group), "run");
                r->seed = sw->seeds[s];
                snprintf(r->name, sizeof(r->name), "%s_seed%d", r->group, r->seed);
            }
    return k;
}

// the --set arguments of one run, in the order they apply
static int run_sets(const sweep_t *sw, const sweep_run_t *r, char sets[][160], int cap)
{
    int n = 0;
    for (int i = 0; i < sw->n_sets && n < cap; i++) snprintf(sets[n++], 160, "%s", sw->sets[i]);
    if (r->variant >= 0)
        for (int i = 0; i < sw->variants[r->variant].n_sets && n < cap; i++)
            snprintf(sets[n++], 160, "%s", sw->variants[r->variant].sets[i]);
    for (int i = 0; i < sw->n_vary && n < cap; i++)
        snprintf(sets[n++], 160, "%s=%s", sw->vary[i].key, sw->vary[i].values[r->value[i]]);
    if (n < cap) snprintf(sets[n++], 160, "train.seed=%d", r->seed);
    return n;
}

// every run's whole configuration, resolved as `train` would, and its position
// schemes built: a combination that cannot work fails now, not hours in
static int check_run(const sweep_t *sw, const sweep_run_t *r, char *err)
{
    static char sets[SWEEP_MAX_SETS * 2 + 8][160];
    char inner[ERR_MAX];
    RunConfig rc;
    run_config_default(&rc);
    if (sw->config[0] && run_config_load_ini(&rc, sw->config, inner)) return err_set(err, "%s: %s", r->name, inner);
    int n = run_sets(sw, r, sets, SWEEP_MAX_SETS * 2 + 7);
    for (int i = 0; i < n; i++)
        if (run_config_apply_set(&rc, sets[i], inner)) return err_set(err, "%s: %s: %s", r->name, sets[i], inner);
    if (run_config_resolve(&rc, inner)) return err_set(err, "%s: %s", r->name, inner);
    pos_scheme_t pos[POS_MAX];
    int n_pos = 0;
    pos_config_t pc = model_pos_config(&rc.model);
    if (pos_parse(rc.model.position, &pc, pos, &n_pos, inner)) return err_set(err, "%s: %s", r->name, inner);
    for (int i = 0; i < n_pos; i++) if (pos[i].vt->free) pos[i].vt->free(&pos[i]);
    return 0;
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }


// ---------------------------------------------------------------- running

static volatile sig_atomic_t g_stop;
static void on_stop(int sig) { (void)sig; g_stop = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// fork + exec this program with argv; stdout and stderr to log_path
static pid_t spawn(char *const argv[], const char *log_path, int threads)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
    char t[16];
    snprintf(t, sizeof(t), "%d", threads);
    setenv("OMP_NUM_THREADS", t, 1);
    setenv("BLIS_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "arithlab sweep: cannot run /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
}

static double read_wall(const char *dir)
{
    char path[4096];
    path_join(path, sizeof(path), dir, "sweep_wall_s.txt");
    FILE *f = fopen(path, "r");
    double total = 0.0, x;
    if (!f) return 0.0;
    while (fscanf(f, "%lf", &x) == 1) total += x;
    fclose(f);
    return total;
}

static void add_wall(const char *dir, double s)
{
    char path[4096];
    path_join(path, sizeof(path), dir, "sweep_wall_s.txt");
    FILE *f = fopen(path, "a");
    if (f) { fprintf(f, "%.1f\n", s); fclose(f); }
}

typedef struct { pid_t pid; int run; int stage; double t0; } slot_t;   // stage 0 train, 1.. probes

static int launch(const sweep_t *sw, const sweep_run_t *r, const char *out, int stage, int threads, pid_t *pid, char *err)
{
    char dir[4096], log[4200], tbuf[32];
    path_join(dir, sizeof(dir), out, r->name);
    if (cli_mkdir_p(dir, err)) return -1;
    path_join(log, sizeof(log), dir, "stdout.txt");
    static char sets[SWEEP_MAX_SETS * 2 + 8][160];
    char ckpt[4200], pdir[4200];
    char *argv[2 * (SWEEP_MAX_SETS * 2 + 8) + 16];
    int a = 0;
    argv[a++] = "arithlab";
    if (stage == 0) {
        path_join(ckpt, sizeof(ckpt), dir, "ckpt.safetensors");
        argv[a++] = "train";
        if (file_exists(ckpt)) {   // a stopped run: continue it bit-exactly
            argv[a++] = "--resume";
            argv[a++] = dir;
        } else {
            if (sw->config[0]) argv[a++] = (char *)sw->config;
            argv[a++] = "--out";
            argv[a++] = dir;
            int n = run_sets(sw, r, sets, SWEEP_MAX_SETS * 2 + 7);
            for (int i = 0; i < n; i++) { argv[a++] = "--set"; argv[a++] = sets[i]; }
            snprintf(tbuf, sizeof(tbuf), "train.threads=%d", threads);
            argv[a++] = "--set";
            argv[a++] = tbuf;
        }
    } else {
        path_join(ckpt, sizeof(ckpt), dir, "ckpt.safetensors");
        snprintf(pdir, sizeof(pdir), "%s/probe_%s", dir, sw->probes[stage - 1]);
        argv[a++] = "probe";
        argv[a++] = (char *)sw->probes[stage - 1];
        argv[a++] = "--checkpoint";
        argv[a++] = ckpt;
        argv[a++] = "--out";
        argv[a++] = pdir;
    }
    argv[a] = NULL;
    *pid = spawn(argv, log, threads);
    if (*pid < 0) return err_set(err, "fork: %s", strerror(errno));
    return 0;
}

// ---------------------------------------------------------------- results

// fills the accuracy counts of a finished run from its eval/accuracy_grid.csv
static int read_grid(const sweep_t *sw, sweep_run_t *r, const char *out)
{
    char path[4096], line[256];
    char dir[4096];
    path_join(dir, sizeof(dir), out, r->name);
    path_join(path, sizeof(path), dir, "eval/accuracy_grid.csv");
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    if (!fgets(line, sizeof(line), f)) { fclose(f); return -1; }
    int la, lb, in;
    long n, ok;
    double acc;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%d,%d,%ld,%ld,%lf,%d", &la, &lb, &n, &ok, &acc, &in) == 6) {
            if (in) r->in_n += n, r->in_ok += ok;
            else r->out_n += n, r->out_ok += ok;
            int len = la > lb ? la : lb;
            for (int b = 0; b < sw->n_bands; b++)
                if (len >= sw->band_lo[b] && len <= sw->band_hi[b]) r->band_n[b] += n, r->band_ok[b] += ok;
        }
    fclose(f);
    return 0;
}

static double pct(long ok, long n) { return n ? 100.0 * ok / n : NAN; }

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

static int write_results(const sweep_t *sw, sweep_run_t *runs, int n_runs, const char *out, char *err)
{
    char path[4096];
    for (int i = 0; i < n_runs; i++) {
        sweep_run_t *r = &runs[i];
        r->in_n = r->in_ok = r->out_n = r->out_ok = 0;
        memset(r->band_n, 0, sizeof(r->band_n));
        memset(r->band_ok, 0, sizeof(r->band_ok));
        char dir[4096];
        path_join(dir, sizeof(dir), out, r->name);
        path_join(path, sizeof(path), dir, "sweep_done");
        r->done = file_exists(path) && read_grid(sw, r, out) == 0;
        r->wall_s = read_wall(dir);
    }
    // one row per run
    path_join(path, sizeof(path), out, "summary.csv");
    FILE *f = fopen(path, "w");
    if (!f) return err_set(err, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "run,group,seed");
    if (sw->n_variants) fprintf(f, ",variant");
    for (int i = 0; i < sw->n_vary; i++) fprintf(f, ",%s", sw->vary[i].key);
    fprintf(f, ",done,wall_s,in_n,in_accuracy,out_n,out_accuracy");
    for (int b = 0; b < sw->n_bands; b++) fprintf(f, ",len_%d_%d_accuracy", sw->band_lo[b], sw->band_hi[b]);
    fputc('\n', f);
    for (int i = 0; i < n_runs; i++) {
        const sweep_run_t *r = &runs[i];
        fprintf(f, "%s,%s,%d", r->name, r->group, r->seed);
        if (sw->n_variants) fprintf(f, ",%s", sw->variants[r->variant].name);
        for (int k = 0; k < sw->n_vary; k++) fprintf(f, ",%s", sw->vary[k].values[r->value[k]]);
        fprintf(f, ",%d,%.1f,%ld,%.4f,%ld,%.4f", r->done, r->wall_s, r->in_n, pct(r->in_ok, r->in_n) / 100,
                r->out_n, pct(r->out_ok, r->out_n) / 100);
        for (int b = 0; b < sw->n_bands; b++) fprintf(f, ",%.4f", pct(r->band_ok[b], r->band_n[b]) / 100);
        fputc('\n', f);
    }
    fclose(f);

    // one row per group, seeds side by side
    path_join(path, sizeof(path), out, "table.md");
    f = fopen(path, "w");
    if (!f) return err_set(err, "%s: cannot write: %s", path, strerror(errno));
    int has_out = 0;
    for (int i = 0; i < n_runs; i++) has_out |= runs[i].out_n > 0;
    fprintf(f, "| run | seeds done | in-distribution %% |");
    for (int b = 0; b < sw->n_bands; b++) fprintf(f, " lengths %d–%d %% |", sw->band_lo[b], sw->band_hi[b]);
    if (has_out) fprintf(f, " out-of-distribution %% |");
    fprintf(f, " wall s per run |\n|---|---|---|");
    for (int b = 0; b < sw->n_bands + has_out + 1; b++) fprintf(f, "---|");
    fputc('\n', f);
    int ns = sw->n_seeds;
    for (int g = 0; g < n_runs; g += ns) {
        double in[SWEEP_MAX_SEEDS], outv[SWEEP_MAX_SEEDS], band[SWEEP_MAX_BANDS][SWEEP_MAX_SEEDS], wall = 0.0;
        int done = 0;
        for (int s = 0; s < ns; s++) {
            const sweep_run_t *r = &runs[g + s];
            in[s] = r->done ? pct(r->in_ok, r->in_n) : NAN;
            outv[s] = r->done ? pct(r->out_ok, r->out_n) : NAN;
            for (int b = 0; b < sw->n_bands; b++) band[b][s] = r->done ? pct(r->band_ok[b], r->band_n[b]) : NAN;
            if (r->done) done++, wall += r->wall_s;
        }
        fprintf(f, "| %s | %d/%d |", runs[g].group, done, ns);
        md_cell(f, in, ns);
        for (int b = 0; b < sw->n_bands; b++) md_cell(f, band[b], ns);
        if (has_out) md_cell(f, outv, ns);
        if (done) fprintf(f, " %.0f |\n", wall / done);
        else fprintf(f, " – |\n");
    }
    fprintf(f, "\nAccuracy is greedy exact match in %%: the mean over seeds, then each seed's value.\n");
    fclose(f);

    // in-distribution accuracy against a varied numeric key, one line per other setting
    if (sw->x[0]) {
        int xi = 0;
        while (strcmp(sw->vary[xi].key, sw->x)) xi++;
        int nx = sw->vary[xi].n;
        float xs[SWEEP_MAX_VALUES];
        for (int k = 0; k < nx; k++) xs[k] = strtof(sw->vary[xi].values[k], NULL);
        static float ys[SWEEP_MAX_RUNS][SWEEP_MAX_VALUES];
        static char names[SWEEP_MAX_RUNS][160];
        plot_series series[64];
        int n_series = 0;
        for (int i = 0; i < n_runs && n_series < 64; i += ns) {
            if (runs[i].value[xi] != 0) continue;   // the first x value opens a series
            char nm[160] = "";
            if (sw->n_variants) append_name(nm, sizeof(nm), sw->variants[runs[i].variant].name);
            for (int k = 0; k < sw->n_vary; k++)
                if (k != xi) append_name(nm, sizeof(nm), sw->vary[k].values[runs[i].value[k]]);
            for (int k = 0; k < nx; k++) {
                double sum = 0.0;
                int cnt = 0;
                for (int j = 0; j < n_runs; j++) {
                    const sweep_run_t *r = &runs[j];
                    int same = r->variant == runs[i].variant && r->value[xi] == k && r->done;
                    for (int q = 0; q < sw->n_vary && same; q++) if (q != xi) same = r->value[q] == runs[i].value[q];
                    if (same) sum += pct(r->in_ok, r->in_n), cnt++;
                }
                ys[n_series][k] = cnt ? (float)(sum / cnt) : NAN;
            }
            snprintf(names[n_series], sizeof(names[0]), "%s", nm[0] ? nm : "accuracy");
            series[n_series] = (plot_series){names[n_series], xs, ys[n_series], nx, NULL};
            n_series++;
        }
        char title[256], png[4200];
        snprintf(title, sizeof(title), "In-distribution exact match against %s (mean over seeds)", sw->x);
        plot_line_opts o = {.title = title, .xlabel = sw->x, .ylabel = "exact match (%)", .ymin = 0, .ymax = 100};
        snprintf(png, sizeof(png), "%s/accuracy_vs_%s.png", out, strchr(sw->x, '.') + 1);
        if (plot_line_png(png, series, n_series, &o, err)) return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- the command

static int n_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int cmd_sweep(int argc, char **argv)
{
    const char *spec = NULL, *out = NULL, *seeds = NULL;
    int jobs = 0, threads = 1, dry = 0, table_only = 0;
    arg_t args[] = {
        {"--out", ARG_STR, &out, "output directory (default runs/<sweep directory name>)"},
        {"--jobs", ARG_INT, &jobs, "runs at once (default: cores / --threads)"},
        {"--threads", ARG_INT, &threads, "compute threads per run (default 1)"},
        {"--list", ARG_FLAG, &dry, "list the runs and their state, run nothing"},
        {"--table", ARG_FLAG, &table_only, "only tabulate the finished runs"},
        {"--seeds", ARG_STR, &seeds, "override the sweep file's seeds, e.g. 2,3"},
    };
    int r = args_parse("sweep", "SWEEP.ini|DIR [--out DIR] [--jobs N] [--threads K] [--seeds LIST] [--list] [--table]",
                       args, 6, argc, argv, &spec);
    if (r) return r < 0 ? 2 : 0;
    if (!spec) { fprintf(stderr, "arithlab sweep: give a sweep file or a directory holding sweep.ini (e.g. experiments/schemes)\n"); return 2; }
    char err[ERR_MAX];
    static sweep_t sw;
    if (sweep_load(&sw, spec, err)) { fprintf(stderr, "arithlab sweep: %s\n", err); return 2; }
    if (seeds && parse_sweep_key(&sw, "seeds", seeds, err)) { fprintf(stderr, "arithlab sweep: --seeds: %s\n", err); return 2; }
    int cores = n_cores();
    if (threads < 1 || threads > cores) { fprintf(stderr, "arithlab sweep: --threads %d: accepted 1..%d (the cores this process may use)\n", threads, cores); return 2; }
    if (jobs == 0) jobs = cores / threads;
    if (jobs < 1 || jobs * threads > cores) {
        fprintf(stderr, "arithlab sweep: --jobs %d x --threads %d would start more compute threads than the %d cores\n", jobs, threads, cores);
        return 2;
    }
    char outbuf[4096];
    if (out && strlen(out) > 2000) { fprintf(stderr, "arithlab sweep: --out: a path of at most 2000 characters\n"); return 2; }
    if (!out) {
        // runs/<directory>, or runs/<directory>_<file> for a sweep file not named sweep.ini
        const char *base = strrchr(sw.dir, '/'), *file = strrchr(spec, '/');
        file = file ? file + 1 : spec;
        struct stat st;
        int named = stat(spec, &st) == 0 && !S_ISDIR(st.st_mode) && strcmp(file, "sweep.ini");
        int stem = (int)strcspn(file, ".");
        snprintf(outbuf, sizeof(outbuf), "runs/%s%s%.*s", base ? base + 1 : sw.dir, named ? "_" : "", named ? stem : 0, file);
        out = outbuf;
    }
    static sweep_run_t runs[SWEEP_MAX_RUNS];
    int n_runs = sweep_expand(&sw, runs, err);
    if (n_runs < 0) { fprintf(stderr, "arithlab sweep: %s\n", err); return 2; }
    char path[4096];
    int n_done = 0;
    for (int i = 0; i < n_runs; i++) {
        char dir[4096];
        path_join(dir, sizeof(dir), out, runs[i].name);
        path_join(path, sizeof(path), dir, "sweep_done");
        runs[i].done = file_exists(path);
        n_done += runs[i].done;
    }
    for (int i = 0; i < n_runs; i++)
        if (!runs[i].done && check_run(&sw, &runs[i], err)) {
            fprintf(stderr, "arithlab sweep: run %s\n(nothing was started)\n", err);
            return 2;
        }
    if (dry) {
        for (int i = 0; i < n_runs; i++) {
            char dir[4096];
            path_join(dir, sizeof(dir), out, runs[i].name);
            path_join(path, sizeof(path), dir, "ckpt.safetensors");
            printf("%-60s %s\n", runs[i].name, runs[i].done ? "done" : file_exists(path) ? "stopped (will resume)" : "to run");
        }
        return 0;
    }
    if (cli_mkdir_p(out, err)) { fprintf(stderr, "arithlab sweep: %s\n", err); return 1; }
    int status = 0;
    if (!table_only && n_done < n_runs) {
        printf("sweep %s: %d runs (%d done), %d at a time with %d thread%s each, into %s\n",
               spec, n_runs, n_done, jobs, threads, threads > 1 ? "s" : "", out);
        fflush(stdout);
        struct sigaction sa = {0};
        sa.sa_handler = on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        slot_t *slots = calloc(jobs, sizeof(slot_t));
        int next = 0, running = 0, failed = 0, forwarded = 0;
        double t_start = now_s();
        for (;;) {
            while (!g_stop && running < jobs) {
                while (next < n_runs && runs[next].done) next++;
                if (next >= n_runs) break;
                int s = 0;
                while (slots[s].pid) s++;
                if (launch(&sw, &runs[next], out, 0, threads, &slots[s].pid, err)) {
                    fprintf(stderr, "arithlab sweep: %s: %s\n", runs[next].name, err);
                    status = 1;
                    next++;
                    continue;
                }
                slots[s].run = next++;
                slots[s].stage = 0;
                slots[s].t0 = now_s();
                running++;
            }
            if (!running) break;
            if (g_stop && !forwarded) {
                // SIGINT/SIGTERM (Ctrl-C reaches the children by itself; `timeout` or
                // kill reach only this process): each run saves a checkpoint and exits
                for (int s = 0; s < jobs; s++) if (slots[s].pid) kill(slots[s].pid, SIGINT);
                forwarded = 1;
            }
            int ws;
            pid_t pid = wait(&ws);
            if (pid < 0) { if (errno == EINTR) continue; break; }
            int s = 0;
            while (s < jobs && slots[s].pid != pid) s++;
            if (s == jobs) continue;
            sweep_run_t *rr = &runs[slots[s].run];
            char dir[4096];
            path_join(dir, sizeof(dir), out, rr->name);
            int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            if (slots[s].stage == 0) add_wall(dir, now_s() - slots[s].t0);
            if (code != 0) {
                slots[s].pid = 0;
                running--;
                if (!g_stop) {
                    fprintf(stderr, "arithlab sweep: %s stopped with exit %d; see %s/stdout.txt\n", rr->name, code, dir);
                    failed++;
                }
                continue;
            }
            if (slots[s].stage < sw.n_probes && !g_stop) {   // the next probe of this run
                slots[s].stage++;
                if (launch(&sw, rr, out, slots[s].stage, threads, &slots[s].pid, err) == 0) continue;
                fprintf(stderr, "arithlab sweep: %s: %s\n", rr->name, err);
                failed++;
            } else if (slots[s].stage == sw.n_probes) {
                path_join(path, sizeof(path), dir, "sweep_done");
                FILE *f = fopen(path, "w");
                if (f) fclose(f);
                rr->done = 1;
                n_done++;
                printf("[%d/%d] %s done (%.0fs since the sweep started)\n", n_done, n_runs, rr->name, now_s() - t_start);
                fflush(stdout);
            }
            slots[s].pid = 0;
            running--;
        }
        free(slots);
        if (g_stop) {
            printf("sweep stopped: %d of %d runs done; the same command resumes it\n", n_done, n_runs);
            status = 130;
        } else if (failed) {
            status = 1;
        }
    }
    if (write_results(&sw, runs, n_runs, out, err)) { fprintf(stderr, "arithlab sweep: %s\n", err); return 1; }
    path_join(path, sizeof(path), out, "table.md");
    FILE *f = fopen(path, "r");
    if (f) {
        char line[2048];
        while (fgets(line, sizeof(line), f)) fputs(line, stdout);
        fclose(f);
    }
    printf("wrote %s/summary.csv, %s/table.md%s\n", out, out, sw.x[0] ? " and the accuracy plot" : "");
    return status;
}
