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
#include "core/files.h"
#include "core/keys.h"
#include "run/report.h"
#include "model/checkpoint.h"
#include "core/progress.h"
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
static int metrics_truncate(const char *path, long step, char *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char *keep = NULL, line[1024];
    size_t len = 0;
    FILE *mem = open_memstream(&keep, &len);
    while (fgets(line, sizeof(line), f))
        if (line[0] < '0' || line[0] > '9' || atol(line) <= step) fputs(line, mem);
    fclose(f);
    fclose(mem);
    int r = keep ? files_write_atomic(path, keep, len, err) : err_set(err, "%s: out of memory", path);
    free(keep);
    return r;
}

// weights gone non-finite after an update: what is kept, and at which step
static void say_diverged(Out *o, const char *why, const char *dir, long saved_step)
{
    if (saved_step >= 0)
        say(o, "\nstopped: %s; the last checkpoint with finite weights (%s/ckpt.safetensors, step %ld) is kept. "
               "Try a lower train.lr or a train.grad_clip.\n", why, dir, saved_step);
    else
        say(o, "\nstopped: %s; no checkpoint had been written yet. Try a lower train.lr or a train.grad_clip.\n", why);
}

// 0 saved; -1 + err failed; 1 + err: not saved because the weights are not finite
// (a diverged update): the checkpoint on disk stays the last one with finite weights
// dir/name (NULL: ckpt.safetensors, with the AdamW moments; else a kept checkpoint, without them)
static int save_as(const char *dir, const char *name, const Model *m, const RunConfig *rc, long step, uint64_t data_rng, char *err)
{
    for (size_t i = 0; i < m->n_params; i++)
        if (!isfinite(m->params[i])) {
            char where[256];
            model_find_nonfinite(m, where, sizeof(where));
            err_set(err, "checkpoint of step %ld not written: %s is not finite", step, where);
            return 1;
        }
    TrainState *st = calloc(1, sizeof(TrainState));
    char *cfg = run_config_to_string(rc), path[4096];
    int r = -1;
    if (!st || !cfg) err_set(err, "out of memory saving a checkpoint");
    else {
        *st = (TrainState){.step = step, .rng = m->rng, .data_rng = data_rng, .data_pos = step * rc->train.batch_size};
        if (ckpt_meta_set(st, "arithlab.config", cfg)) err_set(err, "run configuration too long for the checkpoint metadata");
        else {
            snprintf(path, sizeof(path), "%s/%s", dir, name ? name : "ckpt.safetensors");
            r = ckpt_save(m, st, name == NULL, path, err);
        }
    }
    free(st);
    free(cfg);
    return r;
}

static int save(const char *dir, const Model *m, const RunConfig *rc, long step, uint64_t data_rng, char *err)
{
    return save_as(dir, NULL, m, rc, step, data_rng, err);
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

// ---------------------------------------------------------------- resume checks

int run_resume_key_allowed(const char *dotted)
{
    static const char list[] = RUN_RESUME_KEYS;
    size_t n = strlen(dotted);
    for (const char *p = list; n && (p = strstr(p, dotted)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

// the first line-wise difference between two run_config_to_string texts outside
// RUN_RESUME_KEYS: key, value in a, value in b; 0 if none
static int config_text_diff(const char *a, const char *b, char *key, char *va, char *vb)
{
    char sec[64] = "";
    while (*a && *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (*a == '[') snprintf(sec, sizeof sec, "%.*s", (int)(la > 2 ? la - 2 : 0), a + 1);
        if (la != lb || memcmp(a, b, la)) {
            char k[64] = "", x[256] = "", y[256] = "";
            sscanf(a, "%63s = %255[^\n]", k, x);
            sscanf(b, "%*s = %255[^\n]", y);
            snprintf(key, 128, "%s.%s", sec, k);
            if (!run_resume_key_allowed(key)) { strcpy(va, x); strcpy(vb, y); return 1; }
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
    if (*a || *b) { strcpy(key, "(the list of keys)"); strcpy(va, *a ? "longer" : "shorter"); strcpy(vb, "-"); return 1; }
    return 0;
}

int run_resume_check(const RunConfig *rc, const char *ckpt_path, char *err)
{
    // the shape the tensors have (the checkpoint's model.* metadata)
    RunConfig *ck = malloc(sizeof *ck), *shaped = malloc(sizeof *shaped);
    char key[128], va[256], vb[256], inner[ERR_MAX];
    int r = 0;
    if (!ck || !shaped) { free(ck); free(shaped); return err_set(err, "out of memory"); }
    *shaped = *rc;
    if (ckpt_read_config(ckpt_path, &shaped->model, err)) r = -1;
    char *want = r ? NULL : run_config_to_string(rc), *have = r ? NULL : run_config_to_string(shaped);
    if (!r && (!want || !have)) r = err_set(err, "out of memory");
    if (!r && config_text_diff(want, have, key, va, vb))
        r = err_set(err, "%s: %s = %s in the run's configuration, but the checkpoint's model has %s = %s: "
                    "a checkpoint resumes only the run that wrote it; on --resume only these keys may change: %s",
                    ckpt_path, key, va, key, vb, RUN_RESUME_KEYS);
    // the run configuration stored with the checkpoint (older checkpoints have none)
    TrainState *st = r ? NULL : malloc(sizeof *st);
    if (!r && !st) r = err_set(err, "out of memory");
    if (!r && ckpt_read_state(ckpt_path, st, err)) r = -1;
    if (!r && ckpt_meta_get(st, "arithlab.config")) {
        free(have);
        have = NULL;
        if (run_config_from_checkpoint(ck, ckpt_path, inner)) r = err_set(err, "%s", inner);
        else if (!(have = run_config_to_string(ck))) r = err_set(err, "out of memory");
        else if (config_text_diff(want, have, key, va, vb))
            r = err_set(err, "%s: %s = %s in the run's configuration, but the checkpoint was trained with %s = %s: "
                        "a checkpoint resumes only the run that wrote it; on --resume only these keys may change: %s",
                        ckpt_path, key, va, key, vb, RUN_RESUME_KEYS);
    }
    free(st);
    free(want);
    free(have);
    free(ck);
    free(shaped);
    return r;
}

// ---------------------------------------------------------------- memory

int run_memory_check(const RunConfig *rc, char *err)
{
    // train.batch_size = 0: the batch is the whole fixed training set (task.train_size problems)
    int B = rc->train.batch_size ? rc->train.batch_size : rc->task.train_size;
    if (B <= 0)
        return err_set(err, "train.batch_size = 0 (full batch) needs a fixed training set: set task.train_size to its "
                       "number of problems, or give train.batch_size >= 1");
    double train_p, train_a, eval_p, eval_a, avail = model_available_bytes();
    if (avail <= 0) return 0;   // unknown: model_build still refuses what cannot be allocated
    if (model_memory_bytes(&rc->model, B, rc->train.seq_len, &train_p, &train_a, err) ||
        model_memory_bytes(&rc->model, rc->eval.batch_size, rc->model.block_size, &eval_p, &eval_a, err))
        return -1;
    int n_ex = rc->eval.n_during_train > rc->eval.per_cell ? rc->eval.n_during_train : rc->eval.per_cell;
    double ex = (double)sizeof(TaskExample) * n_ex, need = train_p + train_a + eval_p + eval_a + ex;
    if (need <= 0.9 * avail) return 0;
    // the part to lower: the largest
    const char *key = "the model size (model.n_embd, model.n_layer)";
    double top = train_p + eval_p;
    char kbuf[128];
    if (train_a > top) { top = train_a; key = rc->train.batch_size ? "train.batch_size" : "task.train_size (the full batch)"; }
    if (eval_a > top) { top = eval_a; key = "eval.batch_size (or model.block_size)"; }
    if (ex > top) {
        snprintf(kbuf, sizeof kbuf, "%s", rc->eval.n_during_train >= rc->eval.per_cell ? "eval.n_during_train" : "eval.per_cell");
        key = kbuf;
    }
    const double MiB = 1048576.0;
    return err_set(err, "the run needs %.0f MiB: %.0f MiB parameters, gradients and AdamW moments (training and "
                   "evaluation models); %.0f MiB training activations (a batch of %d x train.seq_len = %d); "
                   "%.0f MiB evaluation activations (eval.batch_size = %d x model.block_size = %d); %.0f MiB evaluation "
                   "problems (eval.n_during_train = %d, eval.per_cell = %d); but only %.0f MiB of memory is available: "
                   "lower %s, the largest part",
                   need / MiB, (train_p + eval_p) / MiB, train_a / MiB, B, rc->train.seq_len,
                   eval_a / MiB, rc->eval.batch_size, rc->model.block_size, ex / MiB, rc->eval.n_during_train,
                   rc->eval.per_cell, avail / MiB, key);
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

// the bar sized to the terminal now (core/progress.h), so that it is redrawn in place
static void progress(Out *o, long step, long total, float loss, double tok_s, double eta_s)
{
    if (!o->tty) return;
    char text[128], line[1024];
    snprintf(text, sizeof(text), "loss %.4f %.0f tok/s eta %.0fs", loss, tok_s, eta_s);
    progress_format(line, sizeof(line), progress_term_cols(STDOUT_FILENO), step, total, text);
    printf("\r\033[K%s", line);
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
    long step = 0, saved_step = -1;   // saved_step: the step of the checkpoint on disk (-1: none yet)
    uint64_t data_rng = rng_seed(rc->train.seed * 0x9E37u + 17);
    int n_stale = files_remove_stale_tmp(out_dir);   // left by killed checkpoint writes (their pid is gone)
    if (n_stale) say(&o, "removed %d stale temporary file%s (*.tmp.<pid>) of killed writes in %s\n", n_stale, n_stale == 1 ? "" : "s", out_dir);
    if (resume) {
        static TrainState st;
        snprintf(path, sizeof(path), "%s/ckpt.safetensors", out_dir);
        if (ckpt_build_model(&m, &st, 1, path, B, T, err)) { fprintf(stderr, "arithlab train: --resume: %s\n", err); fclose(o.log); return 1; }
        if (!st.has_optimizer) {   // zeroed moments would silently change the run
            fprintf(stderr, "arithlab train: --resume: %s has no optimizer moments (it was written without them, e.g. "
                            "by replay or init): resuming would restart AdamW from zero; continue only from a "
                            "checkpoint written by arithlab train\n", path);
            model_free(&m);
            fclose(o.log);
            return 2;
        }
        step = saved_step = st.step;
        data_rng = st.data_rng;
        m.rng = st.rng;
        say(&o, "resuming %s at step %ld (the checkpoint's step)\n", out_dir, step);
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
    if (resume && metrics_truncate(path, step, err)) { fprintf(stderr, "arithlab train: %s\n", err); return 1; }
    FILE *metrics = fopen(path, resume ? "a" : "w");
    if (!metrics) { fprintf(stderr, "arithlab train: %s: cannot write: %s\n", path, strerror(errno)); return 1; }
    if (!resume) fprintf(metrics, "step,loss,lr,grad_norm,tokens_per_s,eval_accuracy,train_accuracy\n");

    say(&o, "run %s: %s task, format %s, lengths %d..%d; model %d layers, d=%d, %d heads, %zu parameters; "
            "batch %d x %d tokens%s%s, %d steps, %d thread%s (BLIS kernels: %s)\n",
        out_dir, task_kind_name(rc->task.task), task_format_name(rc->task.format), rc->task.min_len, rc->task.max_len,
        m.cfg.n_layer, m.cfg.n_embd, m.cfg.n_head, m.n_params, B, T,
        strcmp(rc->train.packing, "none") ? ", packing " : "", strcmp(rc->train.packing, "none") ? rc->train.packing : "",
        rc->train.steps, threads, threads == 1 ? "" : "s", ops_blis_kernels());

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
    int packing = task_packing_from_name(rc->train.packing), loss_on_all = !strcmp(rc->train.loss_on, "all");
    if (task_loader_set_packing(&loader, packing, loss_on_all, err)) { fprintf(stderr, "arithlab train: %s\n", err); return 1; }
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
        if (loss_on_all && packing == TASK_PACK_NONE) task_batch_loss_on_all(loader.examples, B, T, loader.targets);
        float lr = adamw_lr(&rc->optim, (int)step);
        model_forward_batch(&m, &loader.batch);
        model_zero_grad(&m);
        if (isfinite(m.loss)) model_backward(&m);
        float gnorm = isfinite(m.loss) ? model_grad_norm(&m) : NAN;
        if (!isfinite(gnorm)) {
            // stop before the update: parameters and the last checkpoint stay as they were
            char where[256], kept[4200];
            model_find_nonfinite(&m, where, sizeof(where));
            snprintf(path, sizeof(path), "%s/ckpt.safetensors", out_dir);
            if (saved_step >= 0) snprintf(kept, sizeof(kept), "the last checkpoint with finite weights (%s, step %ld) is kept", path, saved_step);
            else if (access(path, F_OK) == 0) snprintf(kept, sizeof(kept), "the checkpoint %s is kept", path);
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
        // loss, lr and gradient norm exactly as computed (shortest round-trip text of the float)
        char loss_s[32], lr_s[32], gnorm_s[32];
        key_format_float(loss_s, sizeof loss_s, m.loss);
        key_format_float(lr_s, sizeof lr_s, lr);
        key_format_float(gnorm_s, sizeof gnorm_s, gnorm);
        fprintf(metrics, "%ld,%s,%s,%s,%.0f,", step, loss_s, lr_s, gnorm_s, tok_s);
        if (eval_acc >= 0) fprintf(metrics, "%.6g", eval_acc);
        fputc(',', metrics);
        if (train_acc >= 0) fprintf(metrics, "%.6g", train_acc);
        fputc('\n', metrics);
        if (fflush(metrics) || ferror(metrics)) {   // a full disk: stop, naming the file
            snprintf(path, sizeof(path), "%s/metrics.csv", out_dir);
            fprintf(stderr, "arithlab train: %s: write failed: %s\n", path, strerror(errno ? errno : EIO));
            status = 1;
            break;
        }
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
        if (rc->train.keep_every && step % rc->train.keep_every == 0) {
            char name[64];
            snprintf(name, sizeof name, RUN_KEPT_CKPT_FMT, step);
            int sr = save_as(out_dir, name, &m, rc, step, task_loader_state(&loader), err);
            if (sr) {
                if (sr > 0) say_diverged(&o, err, out_dir, saved_step);
                else fprintf(stderr, "arithlab train: %s\n", err);
                status = 1;
                break;
            }
        }
        if (rc->train.ckpt_every && step % rc->train.ckpt_every == 0 && !last) {
            int sr = save(out_dir, &m, rc, step, task_loader_state(&loader), err);
            if (sr) {
                if (sr > 0) say_diverged(&o, err, out_dir, saved_step);
                else fprintf(stderr, "arithlab train: %s\n", err);
                status = 1;
                break;
            }
            saved_step = step;
        }
    }
    if (status != 1) {
        int sr = save(out_dir, &m, rc, step, task_loader_state(&loader), err);
        if (sr > 0) say_diverged(&o, err, out_dir, saved_step);
        else if (sr) fprintf(stderr, "arithlab train: %s\n", err);
        if (sr) status = 1;
        else saved_step = step;
    }
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
        int failures = files_write_failures();   // a curve not written (full disk) fails the run; not drawn (no font) warns
        if (report_curves(out_dir, err)) {
            fprintf(stderr, "arithlab train: plots: %s\n", err);
            if (files_write_failures() > failures) status = status ? status : 1;
        }
        else say(&o, "wrote %s/loss.png, %s/accuracy.png, %s/eval/accuracy_grid.png\n", out_dir, out_dir, out_dir);
    }
    task_loader_free(&loader);
    snprintf(path, sizeof(path), "%s/metrics.csv", out_dir);
    if ((ferror(metrics) | fclose(metrics)) && status != 1) {
        fprintf(stderr, "arithlab train: %s: write failed: %s\n", path, strerror(errno ? errno : EIO));
        status = 1;
    }
    snprintf(path, sizeof(path), "%s/log.txt", out_dir);
    if (o.log && (ferror(o.log) | fclose(o.log)) && status != 1) {
        fprintf(stderr, "arithlab train: %s: write failed: %s\n", path, strerror(errno ? errno : EIO));
        status = 1;
    }
    model_free(&ev);
    model_free(&m);
    return status;
}
