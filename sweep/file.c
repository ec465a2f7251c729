// file.c: the sweep file ([sweep] keys, [variant NAME] sections) and the runs it expands to.
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
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

typedef struct { sweep_t *sw; char *err; int failed; } sweep_ctx_t;

// dst = a "/" b; paths are checked for length once, at the start of the command
void sweep_path_join(char *dst, size_t cap, const char *a, const char *b)
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

int sweep_parse_key(sweep_t *sw, const char *name, const char *value, char *err)
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
    } else if (!strcmp(name, "y")) {
        if (!strcmp(trim(buf), "grid")) sw->y_population = 0;
        else if (!strcmp(trim(buf), "population")) sw->y_population = 1;
        else return err_set(err, "y = '%s': accepted: grid (in-distribution cells of the accuracy grid), "
                            "population (problems drawn as training draws them, eval.n_population)", value);
    } else if (!strcmp(name, "probe")) {
        static const char *const kinds[] = {"fourier", "attention", "linear"};
        int ok = 0;
        for (int i = 0; i < 3; i++) ok |= !strcmp(trim(buf), kinds[i]);
        if (!ok) return err_set(err, "probe = '%s': accepted: fourier, attention, linear", value);
        if (sw->n_probes == SWEEP_MAX_PROBES) return err_set(err, "probe: at most %d", SWEEP_MAX_PROBES);
        snprintf(sw->probes[sw->n_probes++], sizeof(sw->probes[0]), "%s", trim(buf));
    } else {
        return err_set(err, "[sweep] has no key '%s'; accepted: config, seeds, vary, set, bands, x, y, probe", name);
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
        if (sweep_parse_key(sw, name, value, ctx->err)) { ctx->failed = 1; return 0; }
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

int sweep_load(sweep_t *sw, const char *arg, char *err)
{
    memset(sw, 0, sizeof(*sw));
    char path[4096];
    struct stat st;
    if (stat(arg, &st)) return err_set(err, "%s: %s", arg, strerror(errno));
    if (S_ISDIR(st.st_mode)) sweep_path_join(path, sizeof(path), arg, "sweep.ini");
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


void sweep_append_name(char *dst, size_t cap, const char *part)
{
    size_t n = strlen(dst);
    if (n && n + 1 < cap) dst[n++] = '_', dst[n] = 0;
    for (const char *c = part; *c && n + 1 < cap; c++)
        dst[n++] = (isalnum((unsigned char)*c) || *c == '+' || *c == '-' || *c == '.') ? *c : '-';
    dst[n] = 0;
}

int sweep_expand(const sweep_t *sw, sweep_run_t *runs, char *err)
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
                if (sw->n_variants) sweep_append_name(r->group, sizeof(r->group), sw->variants[v].name);
                for (int i = 0, rest = c; i < sw->n_vary; i++) {
                    r->value[i] = rest % sw->vary[i].n;
                    rest /= sw->vary[i].n;
                    sweep_append_name(r->group, sizeof(r->group), sw->vary[i].values[r->value[i]]);
                }
                if (!r->group[0]) snprintf(r->group, sizeof(r->group), "run");
                r->seed = sw->seeds[s];
                snprintf(r->name, sizeof(r->name), "%s_seed%d", r->group, r->seed);
            }
    return k;
}

// the --set arguments of one run, in the order they apply
int sweep_run_sets(const sweep_t *sw, const sweep_run_t *r, char sets[][160], int cap)
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

int sweep_run_config(const sweep_t *sw, const sweep_run_t *r, RunConfig *rc, char *err)
{
    static char sets[SWEEP_MAX_SETS * 2 + 8][160];
    char inner[ERR_MAX];
    run_config_default(rc);
    if (sw->config[0] && run_config_load_ini(rc, sw->config, inner)) return err_set(err, "%s: %s", r->name, inner);
    int n = sweep_run_sets(sw, r, sets, SWEEP_MAX_SETS * 2 + 7);
    for (int i = 0; i < n; i++)
        if (run_config_apply_set(rc, sets[i], inner)) return err_set(err, "%s: %s: %s", r->name, sets[i], inner);
    if (run_config_resolve(rc, inner)) return err_set(err, "%s: %s", r->name, inner);
    return 0;
}

// every run's whole configuration, resolved as `train` would, and its position
// schemes built: a combination that cannot work fails now, not hours in
int sweep_check_run(const sweep_t *sw, const sweep_run_t *r, char *err)
{
    char inner[ERR_MAX];
    RunConfig rc;
    if (sweep_run_config(sw, r, &rc, err)) return -1;
    pos_scheme_t pos[POS_MAX];
    int n_pos = 0;
    pos_config_t pc = model_pos_config(&rc.model);
    if (pos_parse(rc.model.position, &pc, pos, &n_pos, inner)) return err_set(err, "%s: %s", r->name, inner);
    for (int i = 0; i < n_pos; i++) if (pos[i].vt->free) pos[i].vt->free(&pos[i]);
    return 0;
}

// ---------------------------------------------------------------- stale runs

void sweep_config_hash(const RunConfig *rc, char out[17])
{
    RunConfig def;
    run_config_default(&def);
    int n_sec;
    const run_section_t *sec = run_config_sections(&n_sec);
    uint64_t h = 1469598103934665603ULL;   // FNV-1a 64
    for (int s = 0; s < n_sec; s++)
        for (int i = 0; i < sec[s].n; i++) {
            const key_def_t *k = &sec[s].keys[i];
            if (!strcmp(k->name, "train.threads")) continue;
            char val[128], dval[128], line[320];
            key_format((const char *)rc + sec[s].offset, k, val, sizeof(val));
            key_format((const char *)&def + sec[s].offset, k, dval, sizeof(dval));
            if (!strcmp(val, dval)) continue;
            snprintf(line, sizeof(line), "%s = %s\n", k->name, val);
            for (const char *c = line; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

// the hash a run directory was started with: its SWEEP_HASH_FILE, else its config.ini's;
// 1 found, 0 none (no directory, or nothing written yet)
static int stored_hash(const char *dir, char out[17])
{
    char path[4200];
    sweep_path_join(path, sizeof(path), dir, SWEEP_HASH_FILE);
    FILE *f = fopen(path, "r");
    if (f) {
        int ok = fscanf(f, "%16s", out) == 1;
        fclose(f);
        if (ok) return 1;
    }
    sweep_path_join(path, sizeof(path), dir, "config.ini");
    if (!sweep_file_exists(path)) return 0;
    RunConfig rc;
    char err[ERR_MAX];
    run_config_default(&rc);
    if (run_config_load_ini(&rc, path, err) || run_config_resolve(&rc, err)) snprintf(out, 17, "unreadable");
    else sweep_config_hash(&rc, out);
    return 1;
}

int sweep_run_state(const sweep_t *sw, sweep_run_t *r, const char *out, char *err)
{
    RunConfig rc;
    if (sweep_run_config(sw, r, &rc, err)) return -1;
    sweep_config_hash(&rc, r->hash);
    char dir[4096], path[4200], had[17];
    sweep_path_join(dir, sizeof(dir), out, r->name);
    sweep_path_join(path, sizeof(path), dir, "sweep_done");
    r->done = sweep_file_exists(path);
    r->stale = stored_hash(dir, had) && strcmp(had, r->hash) != 0;
    return 0;
}

int sweep_set_aside(const char *out, const sweep_run_t *r, char *moved, size_t cap, char *err)
{
    char dir[4096];
    sweep_path_join(dir, sizeof(dir), out, r->name);
    for (int k = 1; k < 1000; k++) {
        if (snprintf(moved, cap, "%s.stale-%d", dir, k) >= (int)cap) return err_set(err, "%s: path too long", dir);
        if (sweep_file_exists(moved)) continue;
        if (rename(dir, moved)) return err_set(err, "%s: cannot rename to %s: %s", dir, moved, strerror(errno));
        return 0;
    }
    return err_set(err, "%s: 999 stale copies already beside it; remove some", dir);
}

int sweep_file_exists(const char *path) { return access(path, F_OK) == 0; }


