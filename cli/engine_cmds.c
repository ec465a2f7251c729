// engine_cmds.c: subcommands that expose the bare engine to other tools:
// init (random checkpoint), logits (forward on a .npy batch) and replay (one
// batch's logits, loss, gradients and K AdamW steps, for tools/torch_reference.py).
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include "cli/args.h"
#include "model/checkpoint.h"
#include "run/load.h"
#include "core/npy.h"

static int fail(const char *cmd, const char *msg) { fprintf(stderr, "arithlab %s: %s\n", cmd, msg); return 1; }

int cmd_init(int argc, char **argv)
{
    RunConfig rc;
    run_config_default(&rc);
    const char *out = NULL;
    int seed = 1;
    set_list_t sets = {0};
    arg_t args[] = {
        {"--out", ARG_STR, &out, "checkpoint file to write (.safetensors)"},
        {"--seed", ARG_INT, &seed, "init seed (default 1)"},
        {"--set", ARG_SET, &sets, "section.key=value, e.g. model.n_layer=2 (repeatable)"},
    };
    int r = args_parse("init", "--out FILE [--seed N] [--set model.KEY=VALUE ...]", args, 3, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    if (args_apply_sets("init", &rc, &sets)) return 2;
    if (rc.model.block_size == 0) rc.model.block_size = 64;
    if (rc.model.vocab_size == 0) rc.model.vocab_size = task_vocab_size();
    if (!out) return fail("init", "--out FILE is required"), 2;
    char err[ERR_MAX];
    Model m;
    if (model_build(&m, &rc.model, 1, 1, (uint64_t)seed, err)) return fail("init", err);
    r = ckpt_save(&m, NULL, 0, out, err);
    model_free(&m);
    if (r) return fail("init", err);
    return 0;
}

// read a (B,T) token batch and check it fits the model
static int load_tokens(const char *cmd, const char *path, const ModelConfig *cfg, int **tok, int *B, int *T,
                       int allow_negative)
{
    char err[ERR_MAX];
    if (npy_read_tokens(path, tok, B, T, err)) return fail(cmd, err);
    if (*T > cfg->block_size) {
        fprintf(stderr, "arithlab %s: %s: sequence length %d exceeds the model's block_size %d\n", cmd, path, *T, cfg->block_size);
        return 1;
    }
    for (long i = 0; i < (long)*B * *T; i++) {
        int t = (*tok)[i];
        if (t >= cfg->vocab_size || (t < 0 && !(allow_negative && t == -1))) {
            fprintf(stderr, "arithlab %s: %s: id %d at flat index %ld is outside the vocabulary [0, %d)%s\n",
                    cmd, path, t, i, cfg->vocab_size, allow_negative ? " (or -1: not counted)" : "");
            return 1;
        }
    }
    return 0;
}

// FoNE values: a (B,T) .npy of integers (int32 or int64; float32 only up to 2^24) as doubles
static int load_values(const char *cmd, const char *path, int B, int T, double **out)
{
    char err[ERR_MAX];
    NpyArray a;
    if (npy_read(path, &a, err)) return fail(cmd, err);
    int ok = a.ndim == 2 && a.shape[0] == B && a.shape[1] == T;
    *out = ok ? malloc(sizeof(double) * (size_t)B * T) : NULL;
    for (size_t i = 0; *out && i < a.numel; i++)
        (*out)[i] = a.dtype == NPY_I64 ? (double)((int64_t *)a.data)[i]
                  : a.dtype == NPY_I32 ? (double)((int32_t *)a.data)[i] : (double)((float *)a.data)[i];
    npy_free(&a);
    if (!ok) {
        fprintf(stderr, "arithlab %s: %s: expected a (%d, %d) array like the tokens\n", cmd, path, B, T);
        return 1;
    }
    return *out ? 0 : fail(cmd, "out of memory");
}

// masked-packed positions: a (B,T) integer .npy like the tokens, each row starting at 0 and
// every entry 0 (a new problem) or the previous one + 1 (core/batch.h Batch.pos)
static int load_positions(const char *cmd, const char *path, int B, int T, int **out)
{
    char err[ERR_MAX];
    int B2, T2;
    if (npy_read_tokens(path, out, &B2, &T2, err)) return fail(cmd, err);
    if (B2 != B || T2 != T) {
        fprintf(stderr, "arithlab %s: %s: expected a (%d, %d) array like the tokens, got (%d, %d)\n", cmd, path, B, T, B2, T2);
        free(*out); *out = NULL;
        return 1;
    }
    for (long i = 0; i < (long)B * T; i++) {
        int p = (*out)[i], prev = i % T ? (*out)[i - 1] : -1;
        if (p != 0 && p != prev + 1) {
            fprintf(stderr, "arithlab %s: %s: position %d at flat index %ld: accepted 0 (a problem starts) or %d "
                            "(the previous position + 1)\n", cmd, path, p, i, prev + 1);
            free(*out); *out = NULL;
            return 1;
        }
    }
    return 0;
}

// the last forward's output as .npy: the head's outputs, (B,T,V) logits or a FoNE model's digit logits (B,T,P,10)
static int write_output(const char *path, const Model *m, char *err)
{
    int dims[2], nd = m->head->output_dims(m, dims);
    int64_t shape[4] = {m->B, m->T, dims[0], nd > 1 ? dims[1] : 1};
    size_t n = (size_t)m->B * m->T * dims[0] * (nd > 1 ? dims[1] : 1);
    float *out = malloc(sizeof(float) * n);
    if (!out) return err_set(err, "out of memory");
    m->head->outputs(m, out);
    int r = npy_write_f32(path, out, 2 + nd, shape, err);
    free(out);
    return r;
}

int cmd_logits(int argc, char **argv)
{
    const char *ckpt = NULL, *tokens = NULL, *out = NULL, *values = NULL;
    int threads = 0;
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &ckpt, "checkpoint (.safetensors)"},
        {"--tokens", ARG_STR, &tokens, "(B,T) int32 or int64 .npy of token ids"},
        {"--out", ARG_STR, &out, "where to write float32 logits (B,T,V) .npy (FoNE models: digit logits (B,T,P,10))"},
        {"--threads", ARG_INT, &threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        {"--values", ARG_STR, &values, "FoNE: (B,T) integer .npy, the value of each [NUM] token"},
    };
    int r = args_parse("logits", "--checkpoint FILE --tokens IDS.npy --out LOGITS.npy", args, 5, argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    char terr[ERR_MAX];
    if (run_threads_check("--threads", threads, terr)) return fail("logits", terr), 2;
    if (!ckpt || !tokens || !out) return fail("logits", "--checkpoint, --tokens and --out are required"), 2;
    char err[ERR_MAX];
    ModelConfig cfg;
    if (ckpt_read_config(ckpt, &cfg, err)) return fail("logits", err);
    int *tok = NULL, B, T;
    if (load_tokens("logits", tokens, &cfg, &tok, &B, &T, 0)) { free(tok); return 1; }
    Model m;
    if (run_load_model(&m, ckpt, B, T, threads, err)) { free(tok); return fail("logits", err); }
    double *xv = NULL;
    if (values && load_values("logits", values, B, T, &xv)) { free(tok); model_free(&m); return 1; }
    model_forward_batch(&m, &(Batch){tok, NULL, xv, NULL, B, T});
    r = write_output(out, &m, err);
    free(xv);
    model_free(&m);
    free(tok);
    return r ? fail("logits", err) : 0;
}

int cmd_replay(int argc, char **argv)
{
    const char *ckpt = NULL, *tokens = NULL, *targets = NULL, *out = NULL, *values = NULL, *target_values = NULL;
    const char *positions = NULL;
    int steps = 1, threads = 0;
    AdamWConfig oc;
    adamw_config_default(&oc);
    arg_t args[] = {
        {"--checkpoint", ARG_STR, &ckpt, "checkpoint (.safetensors)"},
        {"--tokens", ARG_STR, &tokens, "(B,T) input ids .npy"},
        {"--targets", ARG_STR, &targets, "(B,T) target ids .npy; -1 = not counted"},
        {"--out", ARG_STR, &out, "directory for logits.npy, losses.npy, grads.safetensors, final.safetensors"},
        {"--steps", ARG_INT, &steps, "AdamW steps on the batch (default 1)"},
        {"--lr", ARG_FLOAT, &oc.lr, "constant learning rate"},
        {"--weight-decay", ARG_FLOAT, &oc.weight_decay, "decoupled weight decay"},
        {"--beta1", ARG_FLOAT, &oc.beta1, "AdamW beta1"},
        {"--beta2", ARG_FLOAT, &oc.beta2, "AdamW beta2"},
        {"--eps", ARG_FLOAT, &oc.eps, "AdamW epsilon"},
        {"--clip", ARG_FLOAT, &oc.grad_clip, "global gradient-norm clip (0 = off)"},
        {"--threads", ARG_INT, &threads, "compute threads (default: all cores, or OMP_NUM_THREADS if lower)"},
        {"--values", ARG_STR, &values, "FoNE: (B,T) integer .npy, the value of each [NUM] input token"},
        {"--target-values", ARG_STR, &target_values, "FoNE: (B,T) integer .npy, the value of each [NUM] target"},
        {"--positions", ARG_STR, &positions, "masked-packed rows (train.packing = masked): (B,T) integer .npy, each token's "
                                             "position within its problem (0 starts a problem, else the previous + 1)"},
    };
    int r = args_parse("replay", "--checkpoint F --tokens X.npy --targets Y.npy --out DIR [--steps K] ...",
                       args, (int)(sizeof(args) / sizeof(args[0])), argc, argv, NULL);
    if (r) return r < 0 ? 2 : 0;
    char terr[ERR_MAX];
    if (run_threads_check("--threads", threads, terr)) return fail("replay", terr), 2;
    if (!ckpt || !tokens || !targets || !out) return fail("replay", "--checkpoint, --tokens, --targets and --out are required"), 2;
    if (steps < 0) return fail("replay", "--steps must be >= 0"), 2;
    char err[ERR_MAX], path[4096];
    ModelConfig cfg;
    if (ckpt_read_config(ckpt, &cfg, err)) return fail("replay", err);
    int *x = NULL, *y = NULL, B, T, B2, T2;
    if (load_tokens("replay", tokens, &cfg, &x, &B, &T, 0) || load_tokens("replay", targets, &cfg, &y, &B2, &T2, 1)) {
        free(x); free(y);
        return 1;
    }
    if (B != B2 || T != T2) { free(x); free(y); return fail("replay", "--tokens and --targets differ in shape"); }
    if (mkdir(out, 0755) && errno != EEXIST) { free(x); free(y); return fail("replay", "cannot create --out directory"); }
    Model m;
    if (run_load_model(&m, ckpt, B, T, threads, err)) { free(x); free(y); return fail("replay", err); }
    m.training = 1;
    double *xv = NULL, *yv = NULL;   // FoNE: the [NUM] values of inputs and targets
    if ((values && load_values("replay", values, B, T, &xv)) ||
        (target_values && load_values("replay", target_values, B, T, &yv))) {
        free(x); free(y); free(xv); free(yv); model_free(&m);
        return 1;
    }
    int *pos = NULL;   // masked packing: the position of each token within its problem
    if (positions && load_positions("replay", positions, B, T, &pos)) {
        free(x); free(y); free(xv); free(yv); model_free(&m);
        return 1;
    }
    float *losses = calloc(steps + 1, sizeof(float));
    model_forward_batch(&m, &(Batch){x, NULL, xv, yv, B, T, pos});
    snprintf(path, sizeof(path), "%s/logits.npy", out);
    r = write_output(path, &m, err);
    for (int s = 0; s <= steps && !r; s++) {
        model_forward_batch(&m, &(Batch){x, y, xv, yv, B, T, pos});
        losses[s] = m.loss;
        if (s == steps) break;
        model_zero_grad(&m);
        model_backward(&m);
        if (s == 0) {   // the gradients, saved as a checkpoint whose "parameters" are the gradients
            Model *g = malloc(sizeof(Model));
            *g = m;
            g->params = m.grads;
            snprintf(path, sizeof(path), "%s/grads.safetensors", out);
            r = ckpt_save(g, NULL, 0, path, err);
            free(g);
        }
        model_update(&m, &oc, oc.lr, s + 1, model_grad_norm(&m));
    }
    int64_t n = steps + 1;
    snprintf(path, sizeof(path), "%s/losses.npy", out);
    if (!r) r = npy_write_f32(path, losses, 1, &n, err);
    snprintf(path, sizeof(path), "%s/final.safetensors", out);
    TrainState st = {.step = steps};
    if (!r) r = ckpt_save(&m, &st, 1, path, err);
    model_free(&m);
    free(x); free(y); free(xv); free(yv); free(pos); free(losses);
    return r ? fail("replay", err) : 0;
}
