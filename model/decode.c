// decode.c: batched greedy decoding, with the key/value cache or by full
// recomputation (the reference the cache is tested and timed against).
#include <stdlib.h>
#include <string.h>
#include "model/model.h"

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

int model_generate_greedy(Model *m, int *seq, int S, int B, int P, int max_new, int stop,
                          int *n_gen, int use_cache, char *err)
{
    int V = m->cfg.vocab_size;
    if (m->head->decodes != MODEL_HEAD_TOKENS)   // the digit head writes no next-token logits
        return err_set(err, "decode: model.head = %s (%s) reads numbers, not tokens: greedy decoding needs the lm head",
                       m->cfg.head, m->head->name);
    if (B < 1 || B > m->B_max) return err_set(err, "decode: batch %d outside 1..%d", B, m->B_max);
    if (P < 1 || P >= S) return err_set(err, "decode: prompt length %d must be in 1..%d", P, S - 1);
    // the last token is only generated, never fed: S tokens need S-1 positions
    if (S - 1 > m->T_max) return err_set(err, "decode: sequences of %d tokens exceed the model's context %d", S, m->T_max);
    int end = P + max_new < S ? P + max_new : S;
    int *done = calloc(B, sizeof(int)), *buf = use_cache ? NULL : malloc(sizeof(int) * (size_t)B * S);
    if (!done || (!use_cache && !buf)) { free(done); free(buf); return err_set(err, "decode: out of memory"); }
    for (int b = 0; b < B; b++) n_gen[b] = 0;
    int saved_training = m->training, n_done = 0;
    m->training = 0;
    for (int cur = P; cur < end && n_done < B; cur++) {
        const float *logits;   // of position cur-1, row b at logits + b*row_stride
        size_t row_stride;
        if (use_cache) {
            int t0 = cur == P ? 0 : cur - 1, T = cur == P ? P : 1;
            if (model_forward_cached(m, seq, S, B, t0, T)) { n_done = -1; break; }
            logits = m->logits + (size_t)(T - 1) * V;
            row_stride = (size_t)T * V;
        } else {
            for (int b = 0; b < B; b++) memcpy(buf + (size_t)b * cur, seq + (size_t)b * S, sizeof(int) * cur);
            model_forward(m, buf, NULL, B, cur);
            logits = m->logits + (size_t)(cur - 1) * V;
            row_stride = (size_t)cur * V;
        }
        for (int b = 0; b < B; b++) {
            int tok = argmax(logits + b * row_stride, V);
            seq[(size_t)b * S + cur] = tok;
            if (!done[b]) {
                n_gen[b]++;
                if (tok == stop) { done[b] = 1; n_done++; }
            }
        }
    }
    m->training = saved_training;
    free(done); free(buf);
    if (n_done < 0) return err_set(err, "decode: out of memory for the key/value cache");
    return 0;
}
