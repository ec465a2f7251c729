// train.c: a training run into a run directory: metrics.csv, log.txt,
// checkpoints (atomic), periodic and final evaluation. Ctrl-C saves a checkpoint
// and stops; a resumed run continues bit-exactly.
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "run/train.h"
#include "run/load.h"
#include "run/report.h"
#include "model/checkpoint.h"
#include "model/fone.h"
#include "model/ops.h"
#include "eval/eval.h"
#include "tasks/loader.h"
static volatile sig_atomic_t g_interrupted = 0;
static void on_sigint(int sig) { (void)sig; g_interrupted = 1; }

typedef struct {
    FILE *log;        // log.txt in the run directory
    int tty;          // stdout is a terminal: progress bar instead of lines
} Out;

static void say(Out *o, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (o->tty) fputs("\r\033[K", stdout);
    fputs(line, stdout);
    fflush(stdout);
    if (o->log) { fputs(line, o->log); fflush(o->log); }
}

// keep the rows of metrics.csv up to `step` (a resumed run rewrites what came after)
static void metrics_truncate(const char *path, long step)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char *keep = NULL, line[1024];
    size_t len = 0;
    FILE *mem = open_memstream(&keep, &len);
    while (fgets(line, sizeof(line), f))
        if (line[0] < '0' || line[0] > '9' || atol(line) <= step) fputs(line, mem);
    fclose(f);
    fclose(mem);
    if ((f = fopen(path, "w"))) { fwrite(keep, 1, len, f); fclose(f); }
    free(keep);
}

static int save(const char *dir, const Model *m, const RunConfig *rc, long step, uint64_t data_rng, char *err)
{
    TrainState *st = calloc(1, sizeof(TrainState));
    char *cfg = run_config_to_string(rc), path[4096];
    int r = -1;
    if (!st || !cfg) err_set(err, "out of memory saving a checkpoint");
    else {
        *st = (TrainState){.step = step, .rng = m->rng, .data_rng = data_rng, .data_pos = step * rc->train.batch_size};
        if (ckpt_meta_set(st, "arithlab.config", cfg)) err_set(err, "run configuration too long for the checkpoint metadata");
        else {
            snprintf(path, sizeof(path), "%s/ckpt.safetensors", dir);
            r = ckpt_save(m, st, 1, path, err);
        }
    }
    free(st);
    free(cfg);
    return r;
}

// exact match on eval.n_during_train problems, the same ones at every evaluation.
// held_out = 1: problems outside the training data (the test split, or outside a
// fixed training set); held_out = 0: training problems (only when there is such a
// distinction). -1 when not evaluated, -2 + err on failure.
static double quick_eval(Model *ev, const Model *m, const RunConfig *rc, const TaskPool *pool, int held_out, char *err)
{
    int n = rc->eval.n_during_train;
    if (n <= 0) return -1.0;
    if (!held_out && !pool && rc->task.train_frac >= 1.0) return -1.0;
    if (!held_out && pool && n > pool->n) n = pool->n;
    TaskExample *ex = malloc(sizeof(TaskExample) * n);
    if (!ex) return err_set(err, "eval: out of memory"), -2.0;
    TaskConfig tc = rc->task;
    tc.space_prob = 0.0;
    tc.hint_random_start = 0;
    uint64_t rng = rng_seed(rc->train.seed ^ 0x5EEDu);   // the same problems at every evaluation
    int split = tc.train_frac < 1.0 ? (held_out ? TASK_SPLIT_TEST : TASK_SPLIT_TRAIN) : TASK_SPLIT_ANY;
    for (int i = 0; i < n; i++) {
        int rc_ = 0;
        if (pool && !held_out) {
            rc_ = task_example_from_problem(&tc, pool->text + pool->offset[i], &ex[i], err);
        } else {
            int tries = 0;
            do rc_ = task_generate(&tc, &rng, split, &ex[i], err);
            while (!rc_ && pool && ++tries < 16 && task_set_has(&pool->keys, task_problem_key(ex[i].problem)));
        }
        if (rc_) { free(ex); return -2.0; }
    }
    memcpy(ev->params, m->params, sizeof(float) * m->n_params);
    long ok = eval_examples(ev, &tc, ex, n, 1, NULL, NULL, NULL, err);
    free(ex);
    return ok < 0 ? -2.0 : (double)ok / n;
}

// train.batch_size = 0 (full batch, as Nanda et al.): the loader's batch is the whole fixed
// training set, in the set's order; it is the same every step, so it is filled once
static int full_batch_fill(TaskLoader *l, char *err)
{
    for (int i = 0; i < l->pool->n; i++)
        if (task_example_from_problem(&l->task, l->pool->text + l->pool->offset[i], &l->examples[i], err)) return -1;
    if (task_batch_from_examples(l->examples, l->B, l->T, l->inputs, l->targets, err)) return -1;
    if (l->values) task_batch_values(l->examples, l->B, l->T, l->values, l->target_values);
    return 0;
}

static void progress(Out *o, long step, long total, float loss, double tok_s, double eta_s)
{
    if (!o->tty) return;
    int width = 30, fill = total ? (int)(width * step / total) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    printf("\r\033[K[%s] %ld/%ld loss %.4f %.0f tok/s eta %.0fs", bar, step, total, loss, tok_s, eta_s);
    fflush(stdout);
}

int run_train(const RunConfig *rc_in, const char *out_dir, int resume)
{
    RunConfig rc_store = *rc_in, *rc = &rc_store;
    char err[ERR_MAX], path[4096];
    Out o = {0};
    o.tty = isatty(STDOUT_FILENO);
    snprintf(path, sizeof(path), "%s/log.txt", out_dir);
    o.log = fopen(path, resume ? "a" : "w");
    if (!o.log) { fprintf(stderr, "arithlab train: %s: cannot write: %s\n", path, strerror(errno)); return 1; }

    int threads = run_threads(rc->train.threads);
    int full_batch = rc->train.batch_size == 0, B = full_batch ? rc->task.train_size : rc->train.batch_size, T = rc->train.seq_len;
    if (full_batch && B <= 0) {
        fprintf(stderr, "arithlab train: train.batch_size = 0 (full batch) needs a fixed training set: set "
                        "task.train_size to its number of problems, or give train.batch_size >= 1\n");
        fclose(o.log);
        return 2;
    }
    Model m, ev;
    long step = 0;
    uint64_t data_rng = rng_seed(rc->train.seed * 0x9E37u + 17);
    if (resume) {
        static TrainState st;
        snprintf(path, sizeof(path), "%s/ckpt.safetensors", out_dir);
        if (ckpt_build_model(&m, &st, 1, path, B, T, err)) { fprintf(stderr, "arithlab train: --resume: %s\n", err); fclose(o.log); return 1; }
        step = st.step;
        data_rng = st.data_rng;
        m.rng = st.rng;
        say(&o, "resuming %s at step %ld\n", out_dir, step);
    } else if (model_build(&m, &rc->model, B, T, rc->train.seed, err)) {
        fprintf(stderr, "arithlab train: %s%s\n", err,
                full_batch ? " (with train.batch_size = 0 the batch is all task.train_size problems)" : "");
        fclose(o.log);
        return 2;
    }
    model_set_threads(&m, threads);
    int evB = rc->eval.batch_size;
    if (model_build(&ev, &m.cfg, evB, m.cfg.block_size, 0, err)) { fprintf(stderr, "arithlab train: eval model: %s\n", err); return 1; }

    snprintf(path, sizeof(path), "%s/metrics.csv", out_dir);
    if (resume) metrics_truncate(path, step);
    FILE *metrics = fopen(path, resume ? "a" : "w");
    if (!metrics) { fprintf(stderr, "arithlab train: %s: cannot write: %s\n", path, strerror(errno)); return 1; }
    if (!resume) fprintf(metrics, "step,loss,lr,grad_norm,tokens_per_s,eval_accuracy,train_accuracy\n");

    say(&o, "run %s: %s task, format %s, lengths %d..%d; model %d layers, d=%d, %d heads, %zu parameters; "
            "batch %d x %d tokens, %d steps, %d thread%s (BLIS kernels: %s)\n",
        out_dir, task_kind_name(rc->task.task), task_format_name(rc->task.format), rc->task.min_len, rc->task.max_len,
        m.cfg.n_layer, m.cfg.n_embd, m.cfg.n_head, m.n_params, B, T, rc->train.steps, threads, threads == 1 ? "" : "s", ops_blis_kernels());

    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    // every problem trained on in this process, so that evaluation can report overlap
    TaskLoader loader;
    if (task_loader_init(&loader, &rc->task, B, T, data_rng, (size_t)(rc->train.steps - step) * B, err)) {
        fprintf(stderr, "arithlab train: %s\n", err);
        return 2;
    }
    const TaskPool *pool = loader.pool;
    if (full_batch && full_batch_fill(&loader, err)) { fprintf(stderr, "arithlab train: data: %s\n", err); return 2; }
    int status = 0;
    double t_start = time_s(), tok_s = 0.0;
    long steps_timed = 0;
    m.training = 1;
    while (step < rc->train.steps && !g_interrupted) {
        double t0 = time_s();
        if (!full_batch && task_loader_next(&loader, err)) {
            fprintf(stderr, "arithlab train: data: %s\n", err);
            status = 1;
            break;
        }
        if (loader.values) model_set_values(&m, loader.values, loader.target_values, B, T, NULL);   // (B,T) is the model's own: cannot fail
        float lr = adamw_lr(&rc->optim, (int)step);
        model_forward(&m, loader.inputs, loader.targets, B, T);
        model_zero_grad(&m);
        if (isfinite(m.loss)) model_backward(&m);
        float gnorm = isfinite(m.loss) ? model_grad_norm(&m) : NAN;
        if (!isfinite(gnorm)) {
            // stop before the update: parameters and the last checkpoint stay as they were
            char where[256], kept[4200];
            model_find_nonfinite(&m, where, sizeof(where));
            snprintf(path, sizeof(path), "%s/ckpt.safetensors", out_dir);
            if (access(path, F_OK) == 0) snprintf(kept, sizeof(kept), "the last good checkpoint (%s) is kept", path);
            else snprintf(kept, sizeof(kept), "no checkpoint had been written yet");
            say(&o, "\nstopped: at step %ld the %s is %s; first non-finite value in %s; %s. "
                    "Try a lower train.lr or a train.grad_clip.\n", step + 1,
                isfinite(m.loss) ? "gradient norm" : "loss", isnan(isfinite(m.loss) ? gnorm : m.loss) ? "NaN" : "infinite",
                where, kept);
            status = 1;
            break;
        }
        model_update(&m, &rc->optim, lr, (int)step + 1, gnorm);
        step++;
        double dt = time_s() - t0;
        tok_s = (double)B * T / dt;
        steps_timed++;
        double eval_acc = -1.0, train_acc = -1.0;
        int last = step == rc->train.steps;
        if ((rc->train.eval_every && step % rc->train.eval_every == 0) || last) {
            eval_acc = quick_eval(&ev, &m, rc, pool, 1, err);
            if (eval_acc > -1.5) train_acc = quick_eval(&ev, &m, rc, pool, 0, err);
            if (eval_acc < -1.5 || train_acc < -1.5) { fprintf(stderr, "arithlab train: eval: %s\n", err); status = 1; break; }
        }
        fprintf(metrics, "%ld,%.6f,%.6g,%.4f,%.0f,", step, m.loss, lr, gnorm, tok_s);
        if (eval_acc >= 0) fprintf(metrics, "%.4f", eval_acc);
        fputc(',', metrics);
        if (train_acc >= 0) fprintf(metrics, "%.4f", train_acc);
        fputc('\n', metrics);
        fflush(metrics);
        double elapsed = time_s() - t_start, eta = elapsed / steps_timed * (rc->train.steps - step);
        if (step % rc->train.log_every == 0 || step == 1 || last || eval_acc >= 0) {
            char acc[96] = "";
            if (eval_acc >= 0 && train_acc >= 0)
                snprintf(acc, sizeof(acc), " | exact match %.1f%% held out, %.1f%% train", 100.0 * eval_acc, 100.0 * train_acc);
            else if (eval_acc >= 0) snprintf(acc, sizeof(acc), " | exact match %.1f%%", 100.0 * eval_acc);
            if (o.tty) fputs("\r\033[K", stdout);
            if (o.tty && !(eval_acc >= 0) && !last) progress(&o, step, rc->train.steps, m.loss, tok_s, eta);
            else say(&o, "step %6ld/%d  loss %.4f  lr %.2e  %.0f tok/s  %.0fs left%s\n", step, rc->train.steps, m.loss, lr, tok_s, eta, acc);
            if (!o.tty) { /* say() already printed */ }
            else if (o.log) fprintf(o.log, "step %6ld/%d  loss %.4f  lr %.2e  %.0f tok/s%s\n", step, rc->train.steps, m.loss, lr, tok_s, acc);
        }
        if (rc->train.ckpt_every && step % rc->train.ckpt_every == 0 && !last &&
            save(out_dir, &m, rc, step, task_loader_state(&loader), err)) {
            fprintf(stderr, "arithlab train: %s\n", err);
            status = 1;
            break;
        }
    }
    if (status != 1 && save(out_dir, &m, rc, step, task_loader_state(&loader), err)) { fprintf(stderr, "arithlab train: %s\n", err); status = 1; }
    if (g_interrupted) {
        say(&o, "\ninterrupted at step %ld: checkpoint saved; continue with: arithlab train --resume %s\n", step, out_dir);
        status = status ? status : 130;
    } else if (!status) {
        say(&o, "done: %ld steps in %.1fs; checkpoint %s/ckpt.safetensors\n", step, time_s() - t_start, out_dir);
        // the final evaluation grid and the pictures
        snprintf(path, sizeof(path), "%s/eval", out_dir);
        memcpy(ev.params, m.params, sizeof(float) * m.n_params);
        say(&o, "evaluating on lengths 1..%d, %d problems per (len a, len b)\n", rc->eval.max_len, rc->eval.per_cell);
        if (report_eval(&ev, rc, pool || !resume ? task_loader_seen(&loader) : NULL, path, o.log ? o.log : stdout, err)) { fprintf(stderr, "arithlab train: eval: %s\n", err); status = 1; }
        else {
            FILE *sf;
            char line[512];
            snprintf(path, sizeof(path), "%s/eval/summary.txt", out_dir);
            if ((sf = fopen(path, "r"))) { while (fgets(line, sizeof(line), sf)) fputs(line, stdout); fclose(sf); }
        }
    }
    fflush(metrics);
    if (!status || status == 130) {
        if (report_curves(out_dir, err)) fprintf(stderr, "arithlab train: plots: %s\n", err);
        else say(&o, "wrote %s/loss.png, %s/accuracy.png, %s/eval/accuracy_grid.png\n", out_dir, out_dir, out_dir);
    }
    task_loader_free(&loader);
    fclose(metrics);
    if (o.log) fclose(o.log);
    model_free(&ev);
    model_free(&m);
    return status;
}
