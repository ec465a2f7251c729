// batches.c: the teacher-forced forward every probe runs: examples in batches
// of at most the model's B_max, each padded to its longest example, then read
// pass by pass through model/inspect.h; and the problems a probe runs on.
#include <stdlib.h>
#include <string.h>
#include "probes/probe.h"

int probe_batches_init(probe_batches *it, Model *m, const TaskExample *ex, int n, char *err)
{
    memset(it, 0, sizeof(*it));
    it->m = m; it->ex = ex; it->n = n;
    size_t cap = (size_t)m->B_max * m->T_max;
    it->inputs = malloc(sizeof(int) * cap);
    it->targets = malloc(sizeof(int) * cap);
    if (!it->inputs || !it->targets) { probe_batches_free(it); return err_set(err, "out of memory for a batch"); }
    return 0;
}

int probe_batches_next(probe_batches *it, char *err)
{
    Model *m = it->m;
    it->first += it->nb;
    if (it->first >= it->n) { it->nb = 0; return 0; }
    const TaskExample *ex = it->ex + it->first;
    int nb = it->n - it->first < m->B_max ? it->n - it->first : m->B_max, T = 0;
    // every token but the last is fed: the last position is the one that predicts it
    for (int b = 0; b < nb; b++) T = ex[b].n_tokens - 1 > T ? ex[b].n_tokens - 1 : T;
    if (T > m->T_max) return err_set(err, "'%s' needs %d positions, the model holds %d", ex[0].problem, T, m->T_max);
    if (task_batch_from_examples(ex, nb, T, it->inputs, it->targets, err)) return -1;
    model_forward(m, it->inputs, NULL, nb, T);
    if (model_passes_run(m) != model_n_passes(m))   // a training forward of a model.loop_random model
        return err_set(err, "the forward ran %d of the model's %d passes: probes need the model in evaluation mode",
                       model_passes_run(m), model_n_passes(m));
    it->nb = nb;
    it->T = T;
    return 1;
}

void probe_batches_free(probe_batches *it)
{
    free(it->inputs); free(it->targets);
    it->inputs = it->targets = NULL;
}

int probe_make_examples(const TaskConfig *tc, int n, int seed, TaskExample **out, char *err)
{
    *out = NULL;
    TaskExample *ex = malloc(sizeof(TaskExample) * n);
    TaskSet seen;
    if (!ex || task_set_init(&seen, (size_t)n * 2, err)) { free(ex); return err_set(err, "out of memory for %d problems", n); }
    uint64_t rng = rng_seed((uint64_t)seed);
    int k = 0;
    for (long tries = 0; k < n && tries < 50L * n; tries++) {
        if (task_generate(tc, &rng, TASK_SPLIT_ANY, &ex[k], err)) { free(ex); task_set_free(&seen); return -1; }
        int fresh = task_set_add(&seen, task_problem_key(ex[k].problem), err);
        if (fresh < 0) { free(ex); task_set_free(&seen); return -1; }
        if (fresh || tries >= 20L * n) k++;   // small tasks run out of distinct problems: allow repeats
    }
    task_set_free(&seen);
    *out = ex;
    return 0;
}

void probe_pass_name(int pass, int n_layer, int n_passes, char *buf, size_t cap)
{
    if (n_passes == n_layer) snprintf(buf, cap, "L%d", pass);
    else snprintf(buf, cap, "pass %d (block %d)", pass, pass % n_layer);
}
