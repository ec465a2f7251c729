// test_helix.c: the probes over number tokens (task.numbers = tokens) on planted
// signals: a model whose residue embedding holds only frequencies {k1, k2} reports
// exactly those (the probe fourier writer on a p = 113 model); the neuron 2-D DFT puts a
// planted cos(k1 a) cos(k2 b) at (k1, k2); the helix fit of embeddings built from
// periods {10, 100} explains >= 99% with those periods and little with T = 2 or 5;
// probe helix refuses a digit model.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probes/probe.h"
#include "tests/test_task_util.h"

TestSuite(numtok_probe, .init = tmp_setup, .fini = tmp_teardown);

// a random 1-layer model for the task tc, vocabulary and context from it
static void tok_model(Model *m, const TaskConfig *tc, int C, int B)
{
    char err[ERR_MAX];
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = task_config_vocab_size(tc);
    cfg.block_size = task_max_tokens(tc) - 1;
    cfg.n_layer = 1; cfg.n_head = 2; cfg.n_embd = C;
    cr_assert_eq(model_config_validate(&cfg, err), 0, "%s", err);
    cr_assert_eq(model_build(m, &cfg, B, cfg.block_size, 7, err), 0, "%s", err);
    model_set_threads(m, 1);
}

// the "key" column of a spectrum CSV (k = 0..nf-1) into is_key
static void read_keys(const char *name, int nf, int *is_key)
{
    FILE *f = fopen(tmp_path(name), "r");
    cr_assert_not_null(f, "%s", name);
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, f));
    for (int k = 0; k < nf; k++) {
        cr_assert_not_null(fgets(line, sizeof line, f), "%s: row k=%d missing", name, k);
        is_key[k] = atoi(strrchr(line, ',') + 1);
    }
    fclose(f);
}

Test(numtok_probe, residue_embedding_with_two_planted_frequencies_reports_exactly_those)
{
    enum { P = 113, C = 24, K1 = 5, K2 = 17 };
    TaskConfig tc = task_config_make("task=modadd modulus=113 numbers=tokens");
    Model m;
    tok_model(&m, &tc, C, 256);
    // row v = const + sum over channels of random mixes of cos/sin of k1 and k2; the other
    // (untrained) rows of the model are left as drawn
    uint64_t rng = rng_seed(11);
    float w[4][C], base[C];
    for (int c = 0; c < C; c++) {
        base[c] = rng_f32(&rng) - 0.5f;
        for (int j = 0; j < 4; j++) w[j][c] = 2.0f * rng_f32(&rng) - 1.0f;
    }
    for (int v = 0; v < P; v++)
        for (int c = 0; c < C; c++) {
            double a1 = 2 * M_PI * K1 * v / P, a2 = 2 * M_PI * K2 * v / P;
            m.wte[(size_t)(TASK_NUMTOK0 + v) * C + c] =
                (float)(base[c] + w[0][c] * cos(a1) + w[1][c] * sin(a1) + 0.7 * (w[2][c] * cos(a2) + w[3][c] * sin(a2)));
        }
    char err[ERR_MAX], log_text[16384];
    probe_fourier_opts o = { .n = 64, .seed = 1, .key_ratio = 2.0f, .low_max = 2 };
    FILE *log = fmemopen(log_text, sizeof log_text, "w");
    cr_assert_eq(probe_fourier_write(&m, &tc, &o, tmpdir, log, err), 0, "%s", err);
    fclose(log);
    int is_key[P / 2 + 1];
    read_keys("numtok_embed_spectrum.csv", P / 2 + 1, is_key);
    for (int k = 0; k <= P / 2; k++) cr_expect_eq(is_key[k], k == K1 || k == K2, "k=%d key %d\n%s", k, is_key[k], log_text);
    cr_assert(strstr(log_text, "k=5") && strstr(log_text, "k=17"), "%s", log_text);
    // the other files of the writer are there
    FILE *f = fopen(tmp_path("numtok_lens.csv"), "r");
    cr_assert_not_null(f, "numtok_lens.csv");
    fclose(f);
    cr_assert_not_null(f = fopen(tmp_path("neuron_dft.csv"), "r"));
    fclose(f);
    model_free(&m);
}

Test(numtok_probe, constant_residue_embedding_has_no_key_frequency)
{
    enum { P = 31, C = 16 };
    TaskConfig tc = task_config_make("task=modadd modulus=31 numbers=tokens");
    Model m;
    tok_model(&m, &tc, C, 32);
    for (int v = 0; v < P; v++)
        for (int c = 0; c < C; c++) m.wte[(size_t)(TASK_NUMTOK0 + v) * C + c] = 3.0f + 0.25f * c;
    char err[ERR_MAX], log_text[16384];
    probe_fourier_opts o = { .n = 16, .seed = 1, .key_ratio = 2.0f, .low_max = 2 };
    FILE *log = fmemopen(log_text, sizeof log_text, "w");
    cr_assert_eq(probe_fourier_write(&m, &tc, &o, tmpdir, log, err), 0, "%s", err);
    fclose(log);
    int is_key[P / 2 + 1];
    read_keys("numtok_embed_spectrum.csv", P / 2 + 1, is_key);
    for (int k = 0; k <= P / 2; k++) cr_expect_eq(is_key[k], 0, "k=%d", k);
    cr_assert(strstr(log_text, "do not depend on the value"), "%s", log_text);
    model_free(&m);
}

Test(numtok_probe, neuron_dft_puts_a_planted_product_at_its_frequency_pair)
{
    enum { P = 23, H = 3, NF = P / 2 + 1 };
    float *act = malloc(sizeof(float) * P * P * H);
    for (int a = 0; a < P; a++)
        for (int b = 0; b < P; b++) {
            float *row = act + ((size_t)a * P + b) * H;
            row[0] = (float)(cos(2 * M_PI * 3 * a / P) * cos(2 * M_PI * 7 * b / P));
            row[1] = (float)(2.0 + sin(2 * M_PI * 3 * a / P + 2 * M_PI * 7 * b / P));   // cos(wa + wb): same pair
            row[2] = (float)(0.5 * cos(2 * M_PI * 4 * a / P));                             // (4, 0)
        }
    double e[NF * NF], total = 0.0;
    char err[ERR_MAX];
    cr_assert_eq(probe_dft2_energy(act, P, H, e, err), 0, "%s", err);
    for (int i = 0; i < NF * NF; i++) total += e[i];
    // Parseval: the centred energy of the three neurons (P^2 / 4 + P^2 / 2 + P^2 / 8)
    cr_assert_float_eq(total, P * P * (0.25 + 0.5 + 0.125), 1e-6 * total);
    cr_assert_float_eq(e[3 * NF + 7], P * P * 0.75, 1e-6 * total, "(3,7) holds %g", e[3 * NF + 7]);
    cr_assert_float_eq(e[4 * NF + 0], P * P * 0.125, 1e-6 * total);
    cr_assert(e[0] < 1e-9 * total, "(0, 0) is centred away");
    free(act);
}

// X (N, C): value x in a random 2-D plane per period, plus noise of relative size eps
static void plant_helix(float *X, int N, int C, const double *periods, int n_periods, double eps, uint64_t seed)
{
    uint64_t rng = rng_seed(seed);
    for (int n = 0; n < N * C; n++) X[n] = (float)(eps * (rng_f32(&rng) - 0.5));
    for (int j = 0; j < n_periods; j++) {
        float wc[64], ws[64];
        for (int c = 0; c < C; c++) { wc[c] = 2.0f * rng_f32(&rng) - 1.0f; ws[c] = 2.0f * rng_f32(&rng) - 1.0f; }
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++) {
                double ang = 2 * M_PI * n / periods[j];
                X[(size_t)n * C + c] += (float)(wc[c] * cos(ang) + ws[c] * sin(ang));
            }
    }
}

Test(numtok_probe, planted_helix_of_periods_10_and_100_is_explained_by_them_alone)
{
    enum { N = 100, C = 32 };
    double planted[2] = {10, 100}, r2;
    float *X = malloc(sizeof(float) * N * C), *planes = malloc(sizeof(float) * 2 * N * 2);
    char err[ERR_MAX];
    plant_helix(X, N, C, planted, 2, 1e-3, 5);
    cr_assert_eq(probe_helix_fit(X, (double[N]){0}, N, C, planted, 2, 0, &r2, NULL, err), 0, "%s", err);
    cr_assert(r2 < 0.5, "with every x = 0 nothing is explained (%g)", r2);
    double x[N];
    for (int n = 0; n < N; n++) x[n] = n;
    cr_assert_eq(probe_helix_fit(X, x, N, C, planted, 2, 0, &r2, planes, err), 0, "%s", err);
    cr_assert(r2 >= 0.99, "periods {10, 100} explain %g", r2);
    double t2 = 2, t5 = 5, t10 = 10, all[4] = {2, 5, 10, 100};
    cr_assert_eq(probe_helix_fit(X, x, N, C, &t2, 1, 0, &r2, NULL, err), 0, "%s", err);
    cr_assert(r2 < 0.01, "T=2 explains %g", r2);
    cr_assert_eq(probe_helix_fit(X, x, N, C, &t5, 1, 0, &r2, NULL, err), 0, "%s", err);
    cr_assert(r2 < 0.01, "T=5 explains %g", r2);
    cr_assert_eq(probe_helix_fit(X, x, N, C, &t10, 1, 0, &r2, NULL, err), 0, "%s", err);
    cr_assert(r2 > 0.2 && r2 < 0.8, "T=10 alone explains its part, %g", r2);
    cr_assert_eq(probe_helix_fit(X, x, N, C, all, 4, 1, &r2, NULL, err), 0, "%s", err);
    cr_assert(r2 >= 0.99, "the whole fit explains %g", r2);
    // on the T=10 plane the tokens go round a circle: radius ~constant, ten steps a turn
    double r0 = hypot(planes[0], planes[1]);
    for (int n = 0; n < N; n++) {
        double rad = hypot(planes[n * 2], planes[n * 2 + 1]);
        cr_assert(fabs(rad - r0) < 0.05 * r0, "token %d at radius %g, token 0 at %g", n, rad, r0);
    }
    double turn = atan2(planes[2 * 1 + 1], planes[2 * 1]) - atan2(planes[1], planes[0]);
    turn = fabs(remainder(turn, 2 * M_PI));
    cr_assert_float_eq(turn, 2 * M_PI / 10, 0.05, "one token turns %g", turn);
    free(X); free(planes);
}

Test(numtok_probe, helix_writer_refuses_a_digit_model_and_writes_every_representation)
{
    char err[ERR_MAX];
    double periods[4] = {2, 5, 10, 100};
    TaskConfig digits = task_config_quickstart();
    TaskConfig tc = task_config_make("task=add numbers=tokens token_range=100");
    Model m;
    tok_model(&m, &tc, 16, 32);
    cr_assert_eq(probe_helix_write(&m, &digits, periods, 4, tmpdir, NULL, err), -1);
    cr_assert(strstr(err, "task.numbers = tokens"), "%s", err);
    // planted periods {10, 100} in the operand tokens' embeddings
    float *X = malloc(sizeof(float) * 100 * 16);
    plant_helix(X, 100, 16, periods + 2, 2, 0.0, 3);
    memcpy(m.wte + (size_t)TASK_NUMTOK0 * 16, X, sizeof(float) * 100 * 16);
    char log_text[8192];
    FILE *log = fmemopen(log_text, sizeof log_text, "w");
    cr_assert_eq(probe_helix_write(&m, &tc, periods, 4, tmpdir, log, err), 0, "%s", err);
    fclose(log);
    FILE *f = fopen(tmp_path("helix.csv"), "r");
    cr_assert_not_null(f);
    char line[256], rep[64], fit[32];
    double r2, emb_all = -1, emb_t2 = -1, res_all = -1;
    int rows = 0;
    cr_assert_not_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        cr_assert_eq(sscanf(line, "%63[^,],%31[^,],%lf", rep, fit, &r2), 3, "%s", line);
        rows++;
        if (!strcmp(rep, "embedding") && !strcmp(fit, "all")) emb_all = r2;
        if (!strcmp(rep, "embedding") && !strcmp(fit, "T=2")) emb_t2 = r2;
        if (!strcmp(rep, "resid_embed") && !strcmp(fit, "all")) res_all = r2;
    }
    fclose(f);
    cr_assert_eq(rows, 3 * 6, "embedding, resid_embed, resid_L0: x, four periods, all");
    cr_assert(emb_all >= 0.99 && emb_t2 < 0.01, "all %g, T=2 %g\n%s", emb_all, emb_t2, log_text);
    cr_assert(res_all >= 0.99, "the residual at the operand's position before pass 0 adds a constant position: %g", res_all);
    cr_assert_not_null(f = fopen(tmp_path("helix_embedding_T10.png"), "r"));
    fclose(f);
    free(X);
    model_free(&m);
}
