// probe_cmds.c: `arithlab probe fourier|attention|linear`: parse the flags,
// load a trained checkpoint, and call the probe's writer in probes/probe.h,
// which runs it on problems of the run's own task and writes its numbers (CSV,
// .npy) and pictures (PNG) into --out.
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/args.h"
#include "model/checkpoint.h"
#include "run/load.h"
#include "run/train.h"
#include "probes/probe.h"
#include "probes/fourier_steps.h"

// ---------------------------------------------------------------- shared

// what every probe subcommand takes
typedef struct {
    const char *ckpt, *run, *out;
    int n, seed, threads;
    char path[4096], outbuf[4096];
} probe_args;

// checkpoint and output directory from --checkpoint / --run / --out; 2 on a usage error
static int resolve_paths(const char *cmd, probe_args *a)
{
    char err[ERR_MAX];
    if (run_threads_check("--threads", a->threads, err)) { fprintf(stderr, "arithlab probe %s: %s\n", cmd, err); return 2; }
    if (a->run && !a->ckpt) { snprintf(a->path, sizeof(a->path), "%s/ckpt.safetensors", a->run); a->ckpt = a->path; }
    if (!a->ckpt) {
        fprintf(stderr, "arithlab probe %s: --checkpoint FILE (or --run DIR) is required\n", cmd);
        return 2;
    }
    if (!a->out && a->run) { snprintf(a->outbuf, sizeof(a->outbuf), "%s/probe_%s", a->run, cmd); a->out = a->outbuf; }
    if (!a->out) { fprintf(stderr, "arithlab probe %s: --out DIR is required\n", cmd); return 2; }
    struct stat st;
    if (stat(a->ckpt, &st)) {
        fprintf(stderr, "arithlab probe %s: checkpoint %s: %s (give the .safetensors file written by arithlab train)\n",
                cmd, a->ckpt, strerror(errno));
        return 2;
    }
    if (cli_mkdir_p(a->out, err)) { fprintf(stderr, "arithlab probe %s: --out: %s\n", cmd, err); return 2; }
    return 0;
}

// run config and model (B_max sequences of up to block_size tokens); 2 on failure
static int load_model(const char *cmd, const probe_args *a, RunConfig *rc, Model *m, int B)
{
    char err[ERR_MAX];
    if (run_config_from_checkpoint(rc, a->ckpt, err) || run_load_model(m, a->ckpt, B, 0, a->threads, err)) {
        fprintf(stderr, "arithlab probe %s: %s\n", cmd, err);
        return 2;
    }
    return 0;
}

// ---------------------------------------------------------------- fourier

// --over-steps: the kept checkpoints of --run DIR (probes/fourier_steps.h)
static int probe_fourier_steps_cmd(probe_args *a, float key_ratio)
{
    if (!a->run || a->ckpt) {
        fprintf(stderr, "arithlab probe fourier: --over-steps reads the checkpoints a run kept: give --run DIR "
                        "(a run trained with --set train.keep_every=N), not --checkpoint\n");
        return 2;
    }
    if (key_ratio <= 0) { fprintf(stderr, "arithlab probe fourier: need --key-ratio > 0\n"); return 2; }
    int r = resolve_paths("fourier", a);
    if (r) return r;
    char err[ERR_MAX], **paths;
    long *steps;
    int n;
    if (run_kept_checkpoints(a->run, &paths, &steps, &n, err)) { fprintf(stderr, "arithlab probe fourier: --run: %s\n", err); return 2; }
    run_kept_free(paths, steps, n);
    if (!n) {
        fprintf(stderr, "arithlab probe fourier: --run %s holds no kept checkpoint (ckpt_stepNNNNNN.safetensors): "
                        "train it with --set train.keep_every=N to keep one every N steps\n", a->run);
        return 2;
    }
    r = probe_fourier_steps_write(a->run, key_ratio, a->threads, a->out, stdout, err);
    if (r) { fprintf(stderr, "arithlab probe fourier: %s\n", err); return 1; }
    printf("wrote %s/fourier_steps.{csv,npy,png}\n", a->out);
    return 0;
}

static int probe_fourier_cmd(int argc, char **argv)
{
    probe_args a = { .n = 512, .seed = 1 };
    probe_fourier_opts o = { .key_ratio = 2.0f, .low_max = 2 };
    int over_steps = 0;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &a.ckpt, "checkpoint written by arithlab train"},
        {"--run", ARG_STR, &a.run, "run directory (uses DIR/ckpt.safetensors; --out defaults to DIR/probe_fourier)"},
        {"--out", ARG_STR, &a.out, "directory for the CSV, .npy and PNG files"},
        {"--n", ARG_INT, &a.n, "problems for the logit lens (default 512)"},
        {"--seed", ARG_INT, &a.seed, "seed of the problems (default 1)"},
        {"--key-ratio", ARG_FLOAT, &o.key_ratio, "key frequency: energy >= this many times its flat-spectrum share (default 2); none when the rows do not "
         "depend on the digit (non-constant energy < 1e-9 of the total)"},
        {"--low-max", ARG_INT, &o.low_max, "ablation bands: low k = 1..K, high k = K+1..5 (default 2)"},
        {"--threads", ARG_INT, &a.threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        ARGS_FORMAT,
        {"--over-steps", ARG_FLAG, &over_steps, "with --run DIR: the digit embeddings' spectrum at every checkpoint the run kept "
         "(train.keep_every), each key frequency's share against step: fourier_steps.{csv,npy,png}"},
    };
    int r = args_parse("probe fourier", "--checkpoint FILE --out DIR [--n N] [--seed S] [--key-ratio R] [--low-max K] | --run DIR --over-steps",
                       args, (int)(sizeof args / sizeof args[0]), argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    if (over_steps) return probe_fourier_steps_cmd(&a, o.key_ratio);
    if ((r = resolve_paths("fourier", &a))) return r;
    if (a.n < 1 || o.key_ratio <= 0 || o.low_max < 1 || o.low_max > 4) {
        fprintf(stderr, "arithlab probe fourier: need --n >= 1, --key-ratio > 0, --low-max in 1..4\n");
        return 2;
    }
    RunConfig rc;
    Model m;
    if ((r = load_model("fourier", &a, &rc, &m, a.n < 256 ? a.n : 256))) return r;
    if (m.cfg.vocab_size < TASK_DIGIT0 + 10) {
        fprintf(stderr, "arithlab probe fourier: the model's vocabulary (%d) has no digit tokens\n", m.cfg.vocab_size);
        model_free(&m);
        return 2;
    }
    char err[ERR_MAX];
    o.n = a.n; o.seed = a.seed;
    r = probe_fourier_write(&m, &rc.task, &o, a.out, stdout, err);
    if (r) fprintf(stderr, "arithlab probe fourier: %s\n", err);
    else if (rc.task.numbers == TASK_NUMBERS_TOKENS)
        printf("wrote %s/numtok_{embed,unembed}_spectrum.{csv,png}, numtok_lens.{csv,png}%s\n", a.out,
               rc.task.task == TASK_MODADD ? ", neuron_dft.csv, neuron_dft_*.png" : "");
    else printf("wrote %s/{embed_spectrum,lens_spectrum,ablation}.csv, .npy and .png\n", a.out);
    model_free(&m);
    return r ? 1 : 0;
}

// ---------------------------------------------------------------- attention

// the one problem to draw: --problem, or one drawn from the task, written as the
// model saw it (no random spaces or hint letters); 2 on a bad --problem
static int attention_problem(const RunConfig *rc, const char *problem, int seed, TaskExample *one)
{
    char err[ERR_MAX];
    TaskConfig tc = rc->task;
    tc.space_prob = 0.0;
    tc.hint_random_start = 0;
    int r;
    if (problem) r = task_example_from_problem(&tc, problem, one, err);
    else { uint64_t rng = rng_seed((uint64_t)seed + 1000); r = task_generate(&tc, &rng, TASK_SPLIT_ANY, one, err); }
    if (r) fprintf(stderr, "arithlab probe attention: --problem '%s': %s\n", problem ? problem : "", err);
    return r ? 2 : 0;
}

static int probe_attention_cmd(int argc, char **argv)
{
    probe_args a = { .n = 256, .seed = 1 };
    probe_attention_opts o = { .threshold = 0.1f, .head = -1 };
    const char *problem = NULL;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &a.ckpt, "checkpoint written by arithlab train"},
        {"--run", ARG_STR, &a.run, "run directory (uses DIR/ckpt.safetensors; --out defaults to DIR/probe_attention)"},
        {"--out", ARG_STR, &a.out, "directory for the CSV, .npy, DOT, JSON and PNG files"},
        {"--problem", ARG_STR, &problem,
         "the problem to draw, in ordinary notation, e.g. \"128+367\" (default: one drawn from the task)"},
        {"--threshold", ARG_FLOAT, &o.threshold, "smallest edge weight drawn in the attention graph (default 0.1)"},
        {"--rollout", ARG_FLAG, &o.rollout, "also write the attention rollout graph (Abnar & Zuidema 2020)"},
        {"--head", ARG_INT, &o.head, "draw the graph of this head in every pass (default: the mean over heads)"},
        {"--n", ARG_INT, &a.n, "problems for the staircase scores (default 256)"},
        {"--seed", ARG_INT, &a.seed, "seed of the problems (default 1)"},
        {"--threads", ARG_INT, &a.threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        ARGS_FORMAT,
    };
    int r = args_parse("probe attention", "--checkpoint FILE --out DIR [--problem \"128+367\"] [--threshold W] [--rollout] [--head H] [--n N]",
                       args, 11, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    if ((r = resolve_paths("attention", &a))) return r;
    if (a.n < 1 || !(o.threshold >= 0 && o.threshold <= 1)) {
        fprintf(stderr, "arithlab probe attention: need --n >= 1 and --threshold in [0, 1]\n");
        return 2;
    }
    RunConfig rc;
    Model m;
    if ((r = load_model("attention", &a, &rc, &m, a.n < 128 ? a.n : 128))) return r;
    TaskExample *one = malloc(sizeof(TaskExample));
    if (!one || (r = attention_problem(&rc, problem, a.seed, one))) { free(one); model_free(&m); return one ? r : 1; }
    if (one->n_tokens - 1 > m.cfg.block_size || o.head >= m.cfg.n_head) {
        if (o.head >= m.cfg.n_head) fprintf(stderr, "arithlab probe attention: --head %d: the model has heads 0..%d\n", o.head, m.cfg.n_head - 1);
        else fprintf(stderr, "arithlab probe attention: '%s' needs %d positions, more than the model's block_size %d\n",
                     one->problem, one->n_tokens - 1, m.cfg.block_size);
        model_free(&m); free(one);
        return 2;
    }
    printf("problem %s (%d tokens)\n", one->problem, one->n_tokens);
    char err[ERR_MAX];
    o.n = a.n; o.seed = a.seed;
    r = probe_attention_write(&m, &rc.task, one, &o, a.out, stdout, err);
    if (r) fprintf(stderr, "arithlab probe attention: %s\n", err);
    else printf("wrote %s/attention_heads.png, attn_%s_H*.png, attention_graph.{png,dot,json}%s, staircase.{csv,png}\n",
                a.out, model_n_passes(&m) == m.cfg.n_layer ? "L*" : "P*_L*", o.rollout ? ", attention_rollout.{png,dot,json}" : "");
    free(one);
    model_free(&m);
    return r ? 1 : 0;
}

// ---------------------------------------------------------------- linear

static int probe_linear_cmd(int argc, char **argv)
{
    probe_args a = { .n = 2000, .seed = 1 };
    probe_linear_write_opts o = { .train_frac = 0.75f, .fit = { .n_iter = 500, .l2 = 1e-4f } };
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &a.ckpt, "checkpoint written by arithlab train"},
        {"--run", ARG_STR, &a.run, "run directory (uses DIR/ckpt.safetensors; --out defaults to DIR/probe_linear)"},
        {"--out", ARG_STR, &a.out, "directory for the CSV, .npy and PNG files"},
        {"--n", ARG_INT, &a.n, "problems (default 2000), distinct where the task has that many"},
        {"--seed", ARG_INT, &a.seed, "seed of the problems (default 1)"},
        {"--train-frac", ARG_FLOAT, &o.train_frac, "fraction of the problems the probes are fitted on (default 0.75)"},
        {"--l2", ARG_FLOAT, &o.fit.l2, "L2 penalty on the standardized weights (default 1e-4)"},
        {"--iters", ARG_INT, &o.fit.n_iter, "gradient steps per probe (default 500)"},
        {"--threads", ARG_INT, &a.threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        ARGS_FORMAT,
    };
    int r = args_parse("probe linear", "--checkpoint FILE --out DIR [--n N] [--train-frac F] [--l2 X] [--iters K]",
                       args, 10, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    if ((r = resolve_paths("linear", &a))) return r;
    if (a.n < 20 || !(o.train_frac > 0 && o.train_frac < 1) || !(o.fit.l2 > 0) || o.fit.n_iter < 1) {
        fprintf(stderr, "arithlab probe linear: need --n >= 20, --train-frac in (0, 1), --l2 > 0, --iters >= 1\n");
        return 2;
    }
    RunConfig rc;
    Model m;
    if ((r = load_model("linear", &a, &rc, &m, a.n < 256 ? a.n : 256))) return r;
    char err[ERR_MAX];
    o.n = a.n; o.seed = a.seed;
    r = probe_linear_write(&m, &rc.task, &o, a.out, stdout, err);
    if (r) fprintf(stderr, "arithlab probe linear: %s\n", err);
    else printf("wrote %s/linear_probes.{csv,png}, linear_digit.png, linear_carry.png, linear_test_accuracy.npy\n", a.out);
    model_free(&m);
    return r ? 1 : 0;
}

// ---------------------------------------------------------------- helix

// "2,5,10,100" into periods (at most cap); the count, or -1 after a message
static int parse_periods(const char *list, double *periods, int cap)
{
    int n = 0;
    const char *s = list;
    while (*s) {
        char *end;
        double T = strtod(s, &end);
        if (end == s || !(T > 0) || !isfinite(T) || (*end && *end != ',')) {
            fprintf(stderr, "arithlab probe helix: --periods '%s': accepted a comma-separated list of positive numbers, "
                            "e.g. 7,12\n", list);
            return -1;
        }
        if (n == cap) {
            fprintf(stderr, "arithlab probe helix: at most %d periods in all (the 4 defaults included)\n", cap);
            return -1;
        }
        periods[n++] = T;
        s = *end ? end + 1 : end;
    }
    return n;
}

static int probe_helix_cmd(int argc, char **argv)
{
    probe_args a = { .n = 1, .seed = 1 };
    const char *extra = NULL;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &a.ckpt, "checkpoint written by arithlab train (task.numbers = tokens)"},
        {"--run", ARG_STR, &a.run, "run directory (uses DIR/ckpt.safetensors; --out defaults to DIR/probe_helix)"},
        {"--out", ARG_STR, &a.out, "directory for helix.csv and the PNG planes"},
        {"--periods", ARG_STR, &extra, "periods fitted besides 2, 5, 10, 100, comma-separated (e.g. 7,113)"},
        {"--threads", ARG_INT, &a.threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        ARGS_FORMAT,
    };
    int r = args_parse("probe helix", "--checkpoint FILE --out DIR [--periods T1,T2,...]", args, 6, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    double periods[PROBE_HELIX_MAX_PERIODS] = {2, 5, 10, 100};
    int n_periods = 4;
    if (extra) {
        int k = parse_periods(extra, periods + 4, PROBE_HELIX_MAX_PERIODS - 4);
        if (k < 0) return 2;
        n_periods += k;
    }
    if ((r = resolve_paths("helix", &a))) return r;
    RunConfig rc;
    Model m;
    if ((r = load_model("helix", &a, &rc, &m, 256))) return r;
    char err[ERR_MAX];
    r = probe_helix_write(&m, &rc.task, periods, n_periods, a.out, stdout, err);
    if (r) fprintf(stderr, "arithlab probe helix: %s\n", err);
    else printf("wrote %s/helix.csv and helix_<representation>_T<period>.png\n", a.out);
    model_free(&m);
    return r ? (rc.task.numbers != TASK_NUMBERS_TOKENS ? 2 : 1) : 0;
}

// ---------------------------------------------------------------- dispatch

typedef struct { const char *name; int (*run)(int, char **); const char *help; } probe_cmd_t;

static const probe_cmd_t PROBES[] = {
    {"fourier", probe_fourier_cmd, "Fourier spectrum of the digit embeddings and logit lens of every layer (Zhou et al. 2024); "
     "digit-token models only (a FoNE model is refused)"},
    {"attention", probe_attention_cmd, "every head's pattern for one problem, attention graph (DOT/JSON/PNG), staircase scores"},
    {"linear", probe_linear_cmd, "logistic-regression probes for answer digits and carries on the residual stream"},
    {"helix", probe_helix_cmd, "helix fit of number tokens onto [x, cos 2 pi x/T, sin 2 pi x/T] (Kantamneni & Tegmark 2025); "
     "task.numbers = tokens"},
};
#define N_PROBES (int)(sizeof(PROBES) / sizeof(PROBES[0]))

static void probe_usage(FILE *f)
{
    fprintf(f, "usage: arithlab probe <probe> --checkpoint FILE --out DIR [options]   (arithlab probe <probe> --help)\n\nprobes:\n");
    for (int i = 0; i < N_PROBES; i++) fprintf(f, "  %-10s %s\n", PROBES[i].name, PROBES[i].help);
}

int cmd_probe(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        probe_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < N_PROBES; i++)
        if (!strcmp(argv[1], PROBES[i].name)) return PROBES[i].run(argc - 1, argv + 1);
    fprintf(stderr, "arithlab probe: unknown probe '%s'\n", argv[1]);
    probe_usage(stderr);
    return 2;
}
