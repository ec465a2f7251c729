// patch_cmds.c: `arithlab patch` (activation patching: one clean/corrupted pair
// from the command line, or a generated set of pairs) and `arithlab ablate`
// (each head zeroed or mean-ablated in turn). Parse the flags, load the model,
// call probes/patch.h, print a summary.
//
//   arithlab patch --run runs/quickstart --clean "35+47" --corrupt "35+42"
//   arithlab patch --run runs/quickstart --pairs digit --n 64
//   arithlab ablate --run runs/quickstart --mode mean --n 256
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/args.h"
#include "run/load.h"
#include "probes/patch.h"
#include "probes/probe.h"

#define PATCH_B 64   // rows of one batched forward: one patched site each

typedef struct {
    const char *ckpt, *run, *out;
    int threads;
    char path[4096], outbuf[4096];
} patch_paths;

// checkpoint from --checkpoint or --run, --out (default RUN/<sub>), the run config; 2 on a usage error
static int patch_resolve(const char *cmd, const char *sub, patch_paths *a, RunConfig *rc)
{
    char err[ERR_MAX];
    if (run_threads_check("--threads", a->threads, err)) { fprintf(stderr, "arithlab %s: %s\n", cmd, err); return 2; }
    if (a->run && !a->ckpt) { snprintf(a->path, sizeof a->path, "%.4000s/ckpt.safetensors", a->run); a->ckpt = a->path; }
    if (!a->ckpt) { fprintf(stderr, "arithlab %s: --checkpoint FILE (or --run DIR) is required\n", cmd); return 2; }
    if (!a->out && a->run) { snprintf(a->outbuf, sizeof a->outbuf, "%.4000s/%s", a->run, sub); a->out = a->outbuf; }
    if (!a->out) { fprintf(stderr, "arithlab %s: --out DIR is required with --checkpoint (or give --run DIR)\n", cmd); return 2; }
    struct stat st;
    if (stat(a->ckpt, &st)) {
        fprintf(stderr, "arithlab %s: checkpoint %s: %s (give the .safetensors file written by arithlab train)\n", cmd, a->ckpt, strerror(errno));
        return 2;
    }
    if (run_config_from_checkpoint(rc, a->ckpt, err)) { fprintf(stderr, "arithlab %s: %s\n", cmd, err); return 2; }
    rc->task.space_prob = 0.0;      // problems as the model saw them, without random spaces or hint starts
    rc->task.hint_random_start = 0;
    if (rc->task.numbers == TASK_NUMBERS_FONE) {
        fprintf(stderr, "arithlab %s: this run writes numbers as FoNE [NUM] tokens (task.numbers = fone); %s needs digit tokens\n", cmd, cmd);
        return 2;
    }
    return 0;
}

static int patch_mkdir(const char *cmd, const char *out)
{
    char err[ERR_MAX];
    if (cli_mkdir_p(out, err)) { fprintf(stderr, "arithlab %s: --out: %s\n", cmd, err); return 2; }
    return 0;
}

// ---------------------------------------------------------------- patch

// the pair from --clean and --corrupt; 2 after a message naming the flag
static int pair_from_flags(const TaskConfig *tc, const char *clean, const char *corrupt, probe_patch_pair_t *p)
{
    char err[ERR_MAX];
    TaskExample *e = malloc(2 * sizeof(TaskExample));
    if (!e) return 1;
    const char *flag[2] = {"--clean", "--corrupt"}, *text[2] = {clean, corrupt};
    for (int i = 0; i < 2; i++)
        if (task_example_from_problem(tc, text[i], &e[i], err)) {
            fprintf(stderr, "arithlab patch: %s '%.60s': %s; task %s takes %s\n", flag[i], text[i], err,
                    task_kind_name(tc->task), task_notation(tc->task));
            free(e);
            return 2;
        }
    int r = probe_patch_pair_from_examples(&e[0], &e[1], p, err);
    if (r) fprintf(stderr, "arithlab patch: --clean/--corrupt: %s\n", err);
    free(e);
    return r ? 2 : 0;
}

// position labels over the pairs: the token where every pair has the same one there,
// else "*" (a digit that varies); clean/corrupt for a single pair ("7/2")
static void position_labels(const probe_patch_pair_t *pairs, int n, int T, char (*lab)[24], const char **ptr)
{
    for (int t = 0; t < T; t++) {
        int tok = -1, same = 1;
        for (int i = 0; i < n; i++) {
            if (t >= pairs[i].T) continue;
            if (tok < 0) tok = pairs[i].clean.tokens[t];
            if (pairs[i].clean.tokens[t] != tok || (n > 1 && pairs[i].corrupt.tokens[t] != tok)) same = 0;
        }
        if (n == 1 && pairs[0].corrupt.tokens[t] != tok)
            snprintf(lab[t], sizeof lab[t], "%s/%s", task_tok_name(tok), task_tok_name(pairs[0].corrupt.tokens[t]));
        else snprintf(lab[t], sizeof lab[t], "%s", tok < 0 ? "" : same ? task_tok_name(tok) : "*");
        ptr[t] = lab[t];
    }
}

// what the grids say, briefly: each head's share, and the best position of each resid row
static void patch_summary(const Model *m, const probe_patch_sums *s, const char *const *labels)
{
    int P = s->n_passes;
    printf("pairs %ld: logit difference clean %.3f, corrupted %.3f (means); exact match clean %ld, corrupted %ld\n",
           s->n_pairs, s->sum_ld_clean / s->n_pairs, s->sum_ld_corrupt / s->n_pairs, s->clean_exact, s->corrupt_exact);
    printf("heads (share of the clean logit difference restored / exact match):\n");
    for (int p = 0; p < P; p++) {
        char name[40];
        probe_pass_name(p, m->cfg.n_layer, P, name, sizeof name);
        printf("  %-8s", name);
        for (int h = 0; h < s->n_heads; h++)
            printf("  H%d %6.3f/%.2f", h, probe_patch_restored(s, PROBE_PATCH_HEAD, p, h), probe_patch_exact(s, PROBE_PATCH_HEAD, p, h));
        printf("\n");
    }
    printf("residual stream: the position that restores most after each pass\n");
    for (int row = 0; row <= P; row++) {
        int best = -1;
        double bv = -INFINITY;
        for (int t = 0; t < s->T_max_seen; t++) {
            double v = probe_patch_restored(s, PROBE_PATCH_RESID, row, t);
            if (isfinite(v) && v > bv) { bv = v; best = t; }
        }
        char name[40];
        if (row == 0) snprintf(name, sizeof name, "embed");
        else probe_pass_name(row - 1, m->cfg.n_layer, P, name, sizeof name);
        if (best >= 0) printf("  %-8s position %d (%s): %.3f, exact match %.2f\n", name, best, labels[best], bv,
                              probe_patch_exact(s, PROBE_PATCH_RESID, row, best));
    }
}

int cmd_patch(int argc, char **argv)
{
    patch_paths a = {0};
    const char *clean = NULL, *corrupt = NULL, *pairs_kind = NULL;
    int n = 32, digits = 0, seed = 1;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &a.ckpt, "checkpoint written by arithlab train"},
        {"--run", ARG_STR, &a.run, "run directory (uses DIR/ckpt.safetensors; --out defaults to DIR/patch)"},
        {"--out", ARG_STR, &a.out, "directory for the CSV, .npy and PNG files"},
        {"--clean", ARG_STR, &clean, "the clean problem, in the notation arithlab solve takes, e.g. \"35+47\""},
        {"--corrupt", ARG_STR, &corrupt, "the corrupted problem, same length, e.g. \"35+42\""},
        {"--pairs", ARG_STR, &pairs_kind, "batch mode instead: generated pairs, digit (one digit of a changed) or carry "
         "(add: a carry through every place vs. its twin with none)"},
        {"--n", ARG_INT, &n, "pairs in batch mode (default 32)"},
        {"--digits", ARG_INT, &digits, "operand digits of the generated pairs (default: the task's task.max_len)"},
        {"--seed", ARG_INT, &seed, "seed of the generated pairs (default 1)"},
        {"--threads", ARG_INT, &a.threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        ARGS_FORMAT,
    };
    int r = args_parse("patch", "(--checkpoint FILE --out DIR | --run DIR) (--clean \"35+47\" --corrupt \"35+42\" | --pairs digit|carry [--n N] [--digits D])",
                       args, (int)(sizeof(args) / sizeof(args[0])), argc, argv, NULL);
    if (r == 1)
        printf("\nThe corrupted run gets the clean run's values at one site at a time: the residual stream after\n"
               "each pass (and the embeddings) at each position, each MLP output at each position, each head's\n"
               "output at every position. Each is scored on the first answer token where the two answers differ:\n"
               "the logit difference (clean token - corrupted token) as a share restored, 0 = corrupted, 1 = clean,\n"
               "and exact match (the patched run goes on to write the clean answer). Writes patch_{resid,mlp,heads}\n"
               ".csv, .npy, _exact.npy and .png (a diverging map centred at 0, the corrupted run).\n");
    if (r) return r < 0 ? 2 : 0;
    int single = clean || corrupt;
    if (single && pairs_kind) { fprintf(stderr, "arithlab patch: give --clean and --corrupt, or --pairs, not both\n"); return 2; }
    if (single && (!clean || !corrupt)) { fprintf(stderr, "arithlab patch: --clean and --corrupt go together (one is missing)\n"); return 2; }
    if (!single && !pairs_kind) { fprintf(stderr, "arithlab patch: give --clean \"…\" --corrupt \"…\", or --pairs digit|carry\n"); return 2; }
    int kind = pairs_kind ? probe_pair_kind_parse(pairs_kind) : 0;
    if (kind < 0) { fprintf(stderr, "arithlab patch: --pairs '%s': accepted digit or carry\n", pairs_kind); return 2; }
    if (n < 1 || n > 100000) { fprintf(stderr, "arithlab patch: --n %d: accepted 1..100000\n", n); return 2; }
    if (digits < 0 || digits > TASK_MAX_DIGITS) { fprintf(stderr, "arithlab patch: --digits %d: accepted 1..%d\n", digits, TASK_MAX_DIGITS); return 2; }
    RunConfig rc;
    if ((r = patch_resolve("patch", "patch", &a, &rc))) return r;
    char err[ERR_MAX];
    probe_patch_pair_t *pairs = NULL;
    int n_pairs = 1;
    if (single) {
        if (!(pairs = malloc(sizeof(*pairs)))) return 1;
        if ((r = pair_from_flags(&rc.task, clean, corrupt, pairs))) { free(pairs); return r; }
    } else {
        if (!digits) digits = rc.task.max_len;
        if (probe_patch_make_pairs(&rc.task, kind, digits, n, seed, &pairs, err)) {
            fprintf(stderr, "arithlab patch: --pairs %s --digits %d: %s\n", pairs_kind, digits, err);
            return 2;
        }
        n_pairs = n;
    }
    for (int i = 0; i < n_pairs; i++)
        if (pairs[i].clean.n_tokens - 1 > rc.model.block_size) {
            fprintf(stderr, "arithlab patch: '%s' needs %d positions, more than the model's block_size %d\n",
                    pairs[i].clean.problem, pairs[i].clean.n_tokens - 1, rc.model.block_size);
            free(pairs);
            return 2;
        }
    if ((r = patch_mkdir("patch", a.out))) { free(pairs); return r; }
    Model m;
    if (run_load_model(&m, a.ckpt, PATCH_B, 0, a.threads, err)) { fprintf(stderr, "arithlab patch: %s\n", err); free(pairs); return 1; }
    probe_patch_sums s;
    r = probe_patch_sums_init(&s, &m, err);
    for (int i = 0; !r && i < n_pairs; i++) {
        const probe_patch_pair_t *p = &pairs[i];
        r = probe_patch_pair(&m, p->clean.tokens, p->corrupt.tokens, p->T, p->tok_clean, p->tok_corrupt,
                             p->clean.tokens + p->T, p->n_rest, &s, NULL, err);
    }
    char (*lab)[24] = calloc((size_t)m.T_max, sizeof(*lab));
    const char **labp = calloc((size_t)m.T_max, sizeof(char *));
    if (!r && (!lab || !labp)) r = err_set(err, "out of memory");
    if (!r) {
        position_labels(pairs, n_pairs, s.T_max_seen, lab, labp);
        char title[256];
        if (single) {
            snprintf(title, sizeof title, "%.60s -> %.60s (token %s vs %s at position %d)", pairs[0].corrupt.problem,
                     pairs[0].clean.problem, task_tok_name(pairs[0].tok_clean), task_tok_name(pairs[0].tok_corrupt), pairs[0].T);
            printf("clean %s = %s, corrupted %s = %s: measuring answer token %d of the sequence (%s vs %s)\n",
                   pairs[0].clean.problem, pairs[0].clean.answer, pairs[0].corrupt.problem, pairs[0].corrupt.answer,
                   pairs[0].T, task_tok_name(pairs[0].tok_clean), task_tok_name(pairs[0].tok_corrupt));
        } else snprintf(title, sizeof title, "%d %s pairs, %d digits", n_pairs, pairs_kind, digits);
        patch_summary(&m, &s, labp);
        r = probe_patch_write(&m, &s, labp, title, a.out, err);
    }
    if (r) fprintf(stderr, "arithlab patch: %s\n", err);
    else printf("wrote %s/patch_{resid,mlp,heads}.{csv,npy,png} and patch_*_exact.npy\n", a.out);
    free(lab); free(labp);
    probe_patch_sums_free(&s);
    model_free(&m);
    free(pairs);
    return r ? 1 : 0;
}

// ---------------------------------------------------------------- ablate

int cmd_ablate(int argc, char **argv)
{
    patch_paths a = {0};
    const char *mode = "zero";
    int n = 256, n_ref = 256, seed = 1;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &a.ckpt, "checkpoint written by arithlab train"},
        {"--run", ARG_STR, &a.run, "run directory (uses DIR/ckpt.safetensors; --out defaults to DIR/ablate)"},
        {"--out", ARG_STR, &a.out, "directory for ablate.csv, ablate.npy and ablate.png"},
        {"--mode", ARG_STR, &mode, "zero (the head's output set to 0) or mean (its mean output at each position "
         "over --ref reference problems); default zero"},
        {"--n", ARG_INT, &n, "problems the accuracy is measured on (default 256)"},
        {"--ref", ARG_INT, &n_ref, "reference problems for --mode mean (default 256), drawn apart from the measured ones"},
        {"--seed", ARG_INT, &seed, "seed of the problems (default 1)"},
        {"--threads", ARG_INT, &a.threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        ARGS_FORMAT,
    };
    int r = args_parse("ablate", "(--checkpoint FILE --out DIR | --run DIR) [--mode zero|mean] [--n N] [--ref N]",
                       args, (int)(sizeof(args) / sizeof(args[0])), argc, argv, NULL);
    if (r == 1)
        printf("\nEach head of each pass is ablated in turn (its output before the output projection replaced, at\n"
               "every position) and the model's exact-match accuracy on --n problems of its task measured by greedy\n"
               "decoding. Writes ablate.csv (pass, block, head, accuracy, drop), ablate.npy (passes, heads) and\n"
               "ablate.png (a diverging map centred at the unablated accuracy).\n");
    if (r) return r < 0 ? 2 : 0;
    int mean = !strcmp(mode, "mean");
    if (!mean && strcmp(mode, "zero")) { fprintf(stderr, "arithlab ablate: --mode '%s': accepted zero or mean\n", mode); return 2; }
    if (n < 1 || n > 1000000) { fprintf(stderr, "arithlab ablate: --n %d: accepted 1..1000000\n", n); return 2; }
    if (n_ref < 1 || n_ref > 1000000) { fprintf(stderr, "arithlab ablate: --ref %d: accepted 1..1000000\n", n_ref); return 2; }
    RunConfig rc;
    if ((r = patch_resolve("ablate", "ablate", &a, &rc))) return r;
    if ((r = patch_mkdir("ablate", a.out))) return r;
    char err[ERR_MAX];
    TaskExample *ex = NULL, *ref = NULL;
    if (probe_make_examples(&rc.task, n, seed, &ex, err) || (mean && probe_make_examples(&rc.task, n_ref, seed + 1000003, &ref, err))) {
        fprintf(stderr, "arithlab ablate: %s\n", err);
        free(ex);
        return 1;
    }
    Model m;
    if (run_load_model(&m, a.ckpt, n < 128 ? n : 128, 0, a.threads, err)) {
        fprintf(stderr, "arithlab ablate: %s\n", err);
        free(ex); free(ref);
        return 1;
    }
    int P = model_n_passes(&m), NH = m.cfg.n_head;
    double base = 0, *acc = calloc((size_t)P * NH, sizeof(double));
    r = acc ? probe_ablate_heads(&m, &rc.task, ex, n, mean, ref, n_ref, &base, acc, stdout, err) : err_set(err, "out of memory");
    if (!r) r = probe_ablate_write(&m, base, acc, mean ? "mean" : "zero", a.out, err);
    if (r) fprintf(stderr, "arithlab ablate: %s\n", err);
    else printf("wrote %s/ablate.{csv,npy,png}\n", a.out);
    free(acc); free(ex); free(ref);
    model_free(&m);
    return r ? 1 : 0;
}
