// test_probes.c: the probes on planted signals whose answers are known: a
// Fourier spectrum from chosen periods, an attention graph from chosen edges,
// rollout by hand, separable and shuffled probe data, a random model that must
// show no structure, and the CLI's messages for bad input.
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cJSON.h>
#include <cairo.h>
#include "model/checkpoint.h"
#include "probes/probe.h"
#include "plot/plot.h"
#include "tests/test_task_util.h"

// ---------------------------------------------------------------- helpers

// ARITHLAB_BIN in the environment overrides the binary built with the tests
static const char *bin(void)
{
    const char *b = getenv("ARITHLAB_BIN");
    return b && *b ? b : ARITHLAB_BIN;
}

static int file_exists(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f) fclose(f);
    return f != NULL;
}

// a randomly initialised model for the quickstart task
static void random_model(Model *m, int B, uint64_t seed)
{
    ModelConfig cfg = model_config_quickstart(2, 4, 64);
    model_build_quickstart(m, &cfg, B, seed);
}

// ---------------------------------------------------------------- Fourier

Test(fourier, basis_is_orthonormal)
{
    int sizes[] = {10, 11, 24, 2};
    for (int s = 0; s < 4; s++) {
        int N = sizes[s];
        float *B = malloc(sizeof(float) * N * N);
        probe_fourier_basis(N, B);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double d = 0;
                for (int n = 0; n < N; n++) d += (double)B[i * N + n] * B[j * N + n];
                cr_expect(fabs(d - (i == j)) < 1e-5, "N=%d: <row %d, row %d> = %g", N, i, j, d);
            }
        free(B);
    }
    char name[16];
    probe_fourier_row_name(10, 9, name, sizeof name);
    cr_expect_str_eq(name, "cos 5");   // even N: the last row is the Nyquist cosine
    cr_expect_eq(probe_fourier_row_freq(10, 3), 2);
    cr_expect_eq(probe_fourier_row_freq(11, 10), 5);
}

// N = 10 digits: 6 cos(2 pi 2n/10) and 4 sin(2 pi 2n/10) in two channels, 4 (-1)^n
// (period 2; its sine is zero on integers) and a constant 7 that must not count
Test(fourier, planted_periods_give_exactly_those_key_frequencies)
{
    enum { N = 10, C = 4 };
    float x[N * C], coef[N * C], norm[N / 2 + 1], share[N / 2 + 1];
    for (int n = 0; n < N; n++) {
        x[n * C + 0] = 6.0f * (float)cos(2 * M_PI * 2 * n / N);
        x[n * C + 1] = 4.0f * (float)sin(2 * M_PI * 2 * n / N);
        x[n * C + 2] = 4.0f * (n % 2 ? -1.0f : 1.0f);
        x[n * C + 3] = 7.0f;
    }
    cr_assert_eq(probe_fourier_project(x, N, C, coef), 0);
    probe_fourier_spectrum(coef, N, C, norm);
    cr_expect_float_eq(norm[0], 7.0f * sqrtf(N), 1e-3);
    cr_expect_float_eq(norm[2], sqrtf((36.0f + 16.0f) * N / 2), 1e-3);
    cr_expect_float_eq(norm[5], 4.0f * sqrtf(N), 1e-3);
    for (int k = 1; k <= 4; k += 2) cr_expect(norm[k] < 1e-4, "k=%d has norm %g", k, norm[k]);
    cr_expect(norm[4] < 1e-4);
    int keys[N];
    int nk = probe_fourier_key_freqs(norm, N, 2.0f, share, keys);
    cr_assert_eq(nk, 2, "key frequencies: %d", nk);
    cr_expect_eq(keys[0], 2);
    cr_expect_eq(keys[1], 5);
    // energies 52*5 = 260 (k=2) and 16*10 = 160 (k=5); a flat spectrum would give
    // k=2 the share 2/9 and k=5 1/9, so both hold more than twice theirs
    cr_expect_float_eq(share[2], 260.0f / 420.0f, 1e-4);
    cr_expect_float_eq(share[5], 160.0f / 420.0f, 1e-4);
}

// a fake N = 24 with periods 12, 6 and 2 (k = 2, 4, 12) spread over mixed channels
Test(fourier, planted_periods_on_a_larger_axis)
{
    enum { N = 24, C = 3 };
    float x[N * C], coef[N * C], norm[N / 2 + 1];
    for (int n = 0; n < N; n++) {
        double a = cos(2 * M_PI * 2 * n / N), b = sin(2 * M_PI * 4 * n / N), c = (n % 2 ? -1.0 : 1.0);
        x[n * C + 0] = (float)(a + b);
        x[n * C + 1] = (float)(a - c);
        x[n * C + 2] = (float)(b + 0.5);
    }
    cr_assert_eq(probe_fourier_project(x, N, C, coef), 0);
    probe_fourier_spectrum(coef, N, C, norm);
    int keys[N];
    int nk = probe_fourier_key_freqs(norm, N, 2.0f, NULL, keys);
    cr_assert_eq(nk, 3);
    cr_expect(keys[0] == 2 && keys[1] == 4 && keys[2] == 12, "keys %d %d %d", keys[0], keys[1], keys[2]);
    cr_expect_float_eq(norm[2], sqrtf(2.0f * N / 2), 1e-3);   // cos k=2 in two channels
    cr_expect_float_eq(norm[12], sqrtf((float)N), 1e-3);
}

// ---------------------------------------------------------------- attention graph and rollout

// head means (L = 2, T = 3) with known entries; threshold 0.1
static const float PLANTED[2 * 9] = {
    1.0f, 0, 0,      0.05f, 0.95f, 0,     0.5f, 0.2f, 0.3f,     // layer 0
    1.0f, 0, 0,      0.6f, 0.4f, 0,       0.02f, 0.08f, 0.9f,   // layer 1
};

Test(attention, graph_has_exactly_the_planted_edges)
{
    char err[ERR_MAX];
    probe_graph g;
    cr_assert_eq(probe_graph_build(PLANTED, 2, 3, 0.1f, 0, &g, err), 0, "%s", err);
    // (from_layer, from_pos) -> (to_layer, to_pos)
    static const int want[][4] = {
        {0, 0, 1, 0}, {0, 1, 1, 1}, {0, 0, 1, 2}, {0, 1, 1, 2}, {0, 2, 1, 2},
        {1, 0, 2, 0}, {1, 0, 2, 1}, {1, 1, 2, 1}, {1, 2, 2, 2},
    };
    static const float wantw[] = {1.0f, 0.95f, 0.5f, 0.2f, 0.3f, 1.0f, 0.6f, 0.4f, 0.9f};
    cr_assert_eq(g.n_edges, 9, "%d edges", g.n_edges);
    for (int i = 0; i < 9; i++) {
        const probe_edge *e = &g.edges[i];
        cr_expect(e->from_layer == want[i][0] && e->from_pos == want[i][1] && e->to_layer == want[i][2] &&
                  e->to_pos == want[i][3], "edge %d is L%d_T%d -> L%d_T%d", i, e->from_layer, e->from_pos,
                  e->to_layer, e->to_pos);
        cr_expect_float_eq(e->weight, wantw[i], 1e-6);
    }

    const char *names[3] = {"<bos>", "7", "\\n"};
    char *dot = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&dot, &len);
    probe_graph_write_dot(&g, names, "planted", f);
    fclose(f);
    int arrows_shown = 0;
    for (const char *p = dot; (p = strstr(p, "constraint=false")); p++) arrows_shown++;
    cr_expect_eq(arrows_shown, 9, "attention edges: %s", dot);
    cr_expect(strstr(dot, "L0_T1 -> L1_T1 [penwidth=4.30, constraint=false, tooltip=\"0.95\"];"), "%s", dot);
    cr_expect(strstr(dot, "L1_T2 -> L2_T2 [penwidth=4.10,"), "%s", dot);
    cr_expect(!strstr(dot, "L1_T1 -> L2_T2"), "an edge below the threshold was drawn");
    cr_expect(strstr(dot, "L0_T2 [label=\"2 \\\\n\"]"), "the backslash of \\n is not escaped: %s", dot);
    free(dot);

    char *json = probe_graph_json(&g, names, "planted");
    cJSON *root = cJSON_Parse(json);
    cr_assert(root, "invalid JSON: %s", json);
    cJSON *edges = cJSON_GetObjectItem(root, "edges"), *nodes = cJSON_GetObjectItem(root, "nodes");
    cr_assert_eq(cJSON_GetArraySize(edges), 9);
    cr_expect_eq(cJSON_GetArraySize(nodes), 3 * 3);
    cJSON *e6 = cJSON_GetArrayItem(edges, 6);
    cr_expect_str_eq(cJSON_GetObjectItem(e6, "source")->valuestring, "L1_T0");
    cr_expect_str_eq(cJSON_GetObjectItem(e6, "target")->valuestring, "L2_T1");
    cr_expect_float_eq(cJSON_GetObjectItem(e6, "weight")->valuedouble, 0.6, 1e-6);
    cr_expect_str_eq(cJSON_GetObjectItem(root, "mode")->valuestring, "attention");
    cr_expect_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "tokens"), 2)->valuestring, "\\n");
    cJSON_Delete(root);
    free(json);
    probe_graph_free(&g);
}

// the planted graph's DOT text
static char *planted_dot(probe_graph *g)
{
    char err[ERR_MAX];
    cr_assert_eq(probe_graph_build(PLANTED, 2, 3, 0.1f, 0, g, err), 0, "%s", err);
    const char *names[3] = {"<bos>", "7", "="};
    char *dot = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&dot, &len);
    probe_graph_write_dot(g, names, "planted", f);
    fclose(f);
    return dot;
}

Test(attention, dot_has_a_rank_per_layer_tokens_in_order_and_a_pen_width_legend)
{
    probe_graph g;
    char *dot = planted_dot(&g);
    for (int l = 0; l <= 2; l++) {
        char want[128];
        snprintf(want, sizeof want, "subgraph cluster_L%d {", l);
        const char *c = strstr(dot, want);
        cr_assert(c, "no column for layer %d: %s", l, dot);
        cr_expect(strstr(c, "rank=same;") < strstr(c, "}"), "layer %d is not one rank", l);
        snprintf(want, sizeof want, "L%d_T2 -> L%d_T1 -> L%d_T0 [style=invis];", l, l, l);
        cr_expect(strstr(c, want) && strstr(c, want) < strstr(c, "}"), "layer %d: no order chain '%s': %s", l, want, dot);
    }
    cr_expect(strstr(dot, "newrank=true;") && strstr(dot, "splines=line;"), "%s", dot);
    cr_expect(strstr(dot, "L1_T2 -> L2_T2 [style=invis, weight=100];"), "positions are not held on rows: %s", dot);
    const char *leg = strstr(dot, "subgraph cluster_legend {");
    cr_assert(leg, "no legend: %s", dot);
    cr_expect(strstr(leg, "label=\"edge weight (pen width)\"") && strstr(leg, "[label=\"1.00\"]") &&
              strstr(leg, "[label=\"0.10\"]") && strstr(leg, "penwidth=4.50") && strstr(leg, "penwidth=0.90"),
              "the legend lacks the widths of 1.00 and the threshold: %s", leg);
    cr_expect(strstr(dot, "label=\"") && !strstr(dot, "label=\"0.95\""), "edge labels would cover the lines: %s", dot);
    free(dot);
    probe_graph_free(&g);
}

// where Graphviz puts a node: "node NAME X Y ..." lines of -Tplain
static int plain_pos(const char *plain, const char *name, double *x, double *y)
{
    char want[64];
    snprintf(want, sizeof want, "\nnode %s ", name);
    const char *p = strstr(plain, want);
    return p && sscanf(p + strlen(want), "%lf %lf", x, y) == 2;
}

Test(attention, graphviz_lays_the_dot_out_in_columns_with_tokens_in_order, .init = tmp_setup, .fini = tmp_teardown)
{
    if (system("command -v dot >/dev/null 2>&1")) cr_skip_test("Graphviz (dot) is not installed");
    probe_graph g;
    char *dot = planted_dot(&g);
    FILE *f = fopen(tmp_path("g.dot"), "w");
    fputs(dot, f);
    fclose(f);
    char cmd[1024], plain[16384];
    snprintf(cmd, sizeof cmd, "dot -Tplain %s", tmp_path("g.dot"));
    cr_assert_eq(run(cmd, plain, sizeof plain), 0, "%s", plain);
    cr_expect(strstr(plain, "Warning") == NULL && strstr(plain, "Error") == NULL, "%s", plain);
    double x[3][3], y[3][3];
    for (int l = 0; l <= 2; l++)
        for (int t = 0; t < 3; t++) {
            char name[16];
            snprintf(name, sizeof name, "L%d_T%d", l, t);
            cr_assert(plain_pos(plain, name, &x[l][t], &y[l][t]), "%s not laid out: %s", name, plain);
        }
    for (int l = 0; l <= 2; l++)
        for (int t = 0; t < 3; t++) {
            cr_expect_float_eq(x[l][t], x[l][0], 1e-6, "layer %d is not one column", l);
            cr_expect_float_eq(y[l][t], y[0][t], 1e-6, "position %d is not on one row across the columns", t);
            if (t) cr_expect_gt(y[l][t - 1], y[l][t], "layer %d: position %d is not below position %d", l, t, t - 1);
            if (l) cr_expect_gt(x[l][0], x[l - 1][0], "layer %d is not right of layer %d", l, l - 1);
        }
    free(dot);
    probe_graph_free(&g);
}

Test(attention, graph_png_labels_the_positions_of_every_column, .init = tmp_setup, .fini = tmp_teardown)
{
    probe_graph g;
    char err[ERR_MAX];
    cr_assert_eq(probe_graph_build(PLANTED, 2, 3, 0.1f, 0, &g, err), 0, "%s", err);
    const char *names[3] = {"<bos>", "77", "="};
    cr_assert_eq(probe_graph_png(&g, names, "planted", tmp_path("g.png"), err), 0, "%s", err);
    cairo_surface_t *img = cairo_image_surface_create_from_png(tmp_path("g.png"));
    cr_assert_eq(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    int W = cairo_image_surface_get_width(img), stride = cairo_image_surface_get_stride(img);
    const unsigned char *data = cairo_image_surface_get_data(img);
    // the figure's layout (probes/attention.c): columns G_COL = 260 apart, centred; rows
    // G_ROW = 22 apart from G_TOP = 70. Beside each dot: text, grey or black, not an edge's blue
    double x0 = (W - 2 * 260) / 2.0;
    for (int k = 0; k <= 2; k++)
        for (int t = 0; t < 3; t++) {
            int cx = (int)(x0 + 260 * k), cy = (int)(70 + (t + 0.5) * 22), text = 0;
            int from = k == 0 ? cx - 60 : cx + 6, to = k == 0 ? cx - 6 : cx + 40;
            for (int y = cy - 6; y <= cy + 6; y++)
                for (int x = from; x < to; x++) {
                    uint32_t p = ((const uint32_t *)(data + (size_t)y * stride))[x];
                    int r = (p >> 16) & 255, gg = (p >> 8) & 255, b = p & 255;
                    text += r < 150 && abs(r - b) < 25 && abs(r - gg) < 25;
                }
            cr_expect_gt(text, 3, "column %d, position %d has no label", k, t);
        }
    cairo_surface_destroy(img);
    probe_graph_free(&g);
}

Test(attention, rollout_of_identity_is_identity_and_a_small_case_matches_by_hand)
{
    enum { L = 3, T = 4 };
    float A[L * T * T], R[L * T * T];
    for (int i = 0; i < L * T * T; i++) A[i] = ((i % (T * T)) / T == (i % T)) ? 1.0f : 0.0f;
    probe_attn_rollout(A, L, T, R);
    for (int i = 0; i < L * T * T; i++) cr_expect_float_eq(R[i], A[i], 1e-6, "entry %d", i);

    // A = [[1,0],[.5,.5]] twice: A' = [[1,0],[.25,.75]], R_2 = A'^2 = [[1,0],[.4375,.5625]]
    float B[2 * 4] = {1, 0, 0.5f, 0.5f, 1, 0, 0.5f, 0.5f}, S[2 * 4];
    probe_attn_rollout(B, 2, 2, S);
    const float want1[4] = {1, 0, 0.25f, 0.75f}, want2[4] = {1, 0, 0.4375f, 0.5625f};
    for (int i = 0; i < 4; i++) {
        cr_expect_float_eq(S[i], want1[i], 1e-6);
        cr_expect_float_eq(S[4 + i], want2[i], 1e-6);
    }
    // the rollout graph starts every edge at the input tokens
    char err[ERR_MAX];
    probe_graph g;
    cr_assert_eq(probe_graph_build(B, 2, 2, 0.3f, 1, &g, err), 0, "%s", err);
    // R_1: (0,0)=1, (1,1)=.75; R_2: (0,0)=1, (1,0)=.4375, (1,1)=.5625
    cr_assert_eq(g.n_edges, 5);
    for (int i = 0; i < g.n_edges; i++) cr_expect_eq(g.edges[i].from_layer, 0);
    cr_expect(g.edges[3].to_layer == 2 && g.edges[3].to_pos == 1 && g.edges[3].from_pos == 0);
    cr_expect_float_eq(g.edges[3].weight, 0.4375f, 1e-6);
    probe_graph_free(&g);
}

// ---------------------------------------------------------------- digit places and staircase

Test(places, reversed_padded_addition)
{
    char err[ERR_MAX];
    TaskConfig tc = task_config_quickstart();
    TaskExample *ex = malloc(sizeof(TaskExample));
    cr_assert_eq(task_example_from_problem(&tc, "128+367", ex, err), 0, "%s", err);
    // <bos> $ 0 0 0 1 2 8 + 0 0 0 3 6 7 = 5 9 4 0 0 0 $ <eos>
    probe_places pl;
    cr_assert_eq(probe_find_places(&tc, ex, &pl, err), 0, "%s", err);
    cr_expect(pl.n_a == 6 && pl.n_b == 6 && pl.n_ans == 6);
    cr_expect_eq(pl.pos_a[0], 7);
    cr_expect_eq(pl.pos_a[2], 5);
    cr_expect_eq(pl.pos_a[5], 2);
    cr_expect_eq(pl.pos_b[0], 14);
    cr_expect_eq(pl.pos_ans[0], 16);   // reversed: units first
    cr_expect_eq(pl.pos_ans[5], 21);
    cr_expect_eq(pl.pos_a[6], -1);

    // plain, unpadded: the answer's units are its last digit
    tc.format = TASK_FMT_PLAIN;
    tc.pad_width = 0;
    cr_assert_eq(task_example_from_problem(&tc, "128+36", ex, err), 0, "%s", err);
    cr_assert_eq(probe_find_places(&tc, ex, &pl, err), 0, "%s", err);
    // <bos> 1 2 8 + 3 6 = 1 6 4 <eos>
    cr_expect(pl.n_a == 3 && pl.n_b == 2 && pl.n_ans == 3);
    cr_expect_eq(pl.pos_b[1], 5);
    cr_expect_eq(pl.pos_b[2], -1);
    cr_expect_eq(pl.pos_ans[0], 10);

    cr_expect_eq(probe_carry_into(TASK_ADD, "128", "367", 0), 0);
    cr_expect_eq(probe_carry_into(TASK_ADD, "128", "367", 1), 1);   // 8+7 = 15
    cr_expect_eq(probe_carry_into(TASK_ADD, "128", "367", 2), 0);   // 2+6+1 = 9
    cr_expect_eq(probe_carry_into(TASK_SUB, "503", "7", 1), 1);     // 3-7 borrows
    cr_expect_eq(probe_carry_into(TASK_SUB, "503", "7", 2), 1);     // 0-0-1 borrows again
    cr_expect_eq(probe_carry_into(TASK_MUL, "12", "3", 1), -1);
    tc.task = TASK_SORT;
    cr_expect_eq(probe_find_places(&tc, ex, &pl, err), -1);
    free(ex);
}

// layer 0: head 0 uniform, head 1 on the digits of the answer's place, head 2
// on those of the place below; the scores must say exactly that
Test(attention, staircase_finds_the_planted_heads)
{
    char err[ERR_MAX];
    TaskConfig tc = task_config_quickstart();
    TaskExample *ex = malloc(sizeof(TaskExample));
    cr_assert_eq(task_example_from_problem(&tc, "128+367", ex, err), 0, "%s", err);
    probe_places pl;
    cr_assert_eq(probe_find_places(&tc, ex, &pl, err), 0, "%s", err);
    enum { NH = 3 };
    int T = ex->n_tokens - 1;
    float *att = calloc((size_t)NH * T * T, sizeof(float));
    for (int t = 0; t < T; t++) {
        for (int j = 0; j <= t; j++) att[(size_t)t * T + j] = 1.0f / (t + 1);
        att[(size_t)T * T + (size_t)t * T + t] = 1.0f;            // default: self
        att[2 * (size_t)T * T + (size_t)t * T + t] = 1.0f;
    }
    for (int p = 0; p < pl.n_ans; p++) {
        int t = pl.pos_ans[p] - 1;
        float *h1 = att + (size_t)T * T + (size_t)t * T, *h2 = att + 2 * (size_t)T * T + (size_t)t * T;
        memset(h1, 0, sizeof(float) * T);
        h1[pl.pos_a[p]] = 0.5f; h1[pl.pos_b[p]] = 0.5f;
        if (p > 0) { memset(h2, 0, sizeof(float) * T); h2[pl.pos_a[p - 1]] = 0.5f; h2[pl.pos_b[p - 1]] = 0.5f; }
    }
    probe_stair s;
    cr_assert_eq(probe_stair_init(&s, 1, NH, err), 0);
    const float *layers[1] = {att};
    probe_stair_add(&s, layers, T, &pl);
    float same[NH], prev[NH], us, up;
    probe_stair_means(&s, same, prev, &us, &up);
    cr_expect_eq(s.n_same, 6);
    cr_expect_eq(s.n_prev, 5);
    cr_expect_float_eq(same[0], us, 1e-6, "a uniform head scores the uniform baseline");
    cr_expect_float_eq(same[1], 1.0f, 1e-6);
    cr_expect_float_eq(prev[2], 1.0f, 1e-6);
    cr_expect_float_eq(same[2], 0.0f, 1e-6);
    // the answer digit of place p is predicted at 15 + p: two digits over 16 + p keys
    double u = 0;
    for (int p = 0; p < 6; p++) u += 2.0 / (16 + p);
    cr_expect_float_eq(us, (float)(u / 6), 1e-6);
    probe_stair_free(&s);
    free(att); free(ex);
}

// ---------------------------------------------------------------- linear probes

static float gauss(uint64_t *rng)
{
    float u = rng_f32(rng) + 1e-7f, v = rng_f32(rng);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

// labels = argmax of a fixed linear map, points near a boundary rejected
static void separable(int n, int d, int K, float *X, int *y, uint64_t seed)
{
    uint64_t rng = rng_seed(seed);
    float *W = malloc(sizeof(float) * K * d);
    for (int i = 0; i < K * d; i++) W[i] = gauss(&rng);
    for (int i = 0; i < n;) {
        float *x = X + (size_t)i * d, s[16];
        for (int j = 0; j < d; j++) x[j] = 3.0f * gauss(&rng) + 5.0f;   // off-centre, scaled: standardization must cope
        int best = 0;
        for (int k = 0; k < K; k++) {
            s[k] = 0;
            for (int j = 0; j < d; j++) s[k] += W[k * d + j] * (x[j] - 5.0f);
            if (s[k] > s[best]) best = k;
        }
        float second = -INFINITY;
        for (int k = 0; k < K; k++) if (k != best && s[k] > second) second = s[k];
        if (s[best] - second < 1.0f) continue;
        y[i++] = best;
    }
    free(W);
}

Test(linear, separable_data_gives_a_perfect_probe)
{
    enum { n = 800, d = 12, K = 4 };
    float *X = malloc(sizeof(float) * n * d);
    int y[n];
    separable(n, d, K, X, y, 5);
    char err[ERR_MAX];
    float tr, te;
    cr_assert_eq(probe_linear_split(X, y, n, 600, d, K, NULL, &tr, &te, err), 0, "%s", err);
    cr_expect_float_eq(tr, 1.0f, 1e-6, "train accuracy %g", tr);
    cr_expect_float_eq(te, 1.0f, 1e-6, "held-out accuracy %g", te);
    free(X);
}

Test(linear, shuffled_labels_give_about_chance)
{
    enum { n = 3000, d = 12, K = 10 };
    float *X = malloc(sizeof(float) * n * d);
    int y[n];
    separable(n, d, K, X, y, 7);
    // balanced labels (each class 10%), shuffled: nothing left to find, not even a prior
    uint64_t rng = rng_seed(11);
    for (int i = 0; i < n; i++) y[i] = i % K;
    for (int i = n - 1; i > 0; i--) { int j = rng_int(&rng, i + 1), t = y[i]; y[i] = y[j]; y[j] = t; }
    char err[ERR_MAX];
    float tr, te;
    cr_assert_eq(probe_linear_split(X, y, n, 2000, d, K, NULL, &tr, &te, err), 0, "%s", err);
    cr_expect(te > 0.06f && te < 0.14f, "held-out accuracy %g on shuffled labels (chance 0.1)", te);
    free(X);
}

Test(linear, rejects_labels_outside_the_classes)
{
    float X[4] = {0, 1, 2, 3};
    int y[4] = {0, 1, 2, 1};
    probe_linear pl;
    char err[ERR_MAX] = "";
    cr_expect_eq(probe_linear_fit(X, y, 4, 1, 2, NULL, &pl, err), -1);
    cr_expect(strstr(err, "label 2 of row 2"), "%s", err);
}

// ---------------------------------------------------------------- a random model

Test(random_model, shows_no_structure)
{
    Model m;
    random_model(&m, 64, 3);
    char err[ERR_MAX];
    // the digit embeddings: a flat spectrum, no key frequency
    enum { N = 10 };
    int C = m.cfg.n_embd;
    float *coef = malloc(sizeof(float) * N * C), norm[N / 2 + 1], share[N / 2 + 1];
    int keys[N] = {0};
    cr_assert_eq(probe_fourier_project(m.wte + (size_t)TASK_DIGIT0 * C, N, C, coef), 0);
    probe_fourier_spectrum(coef, N, C, norm);
    cr_expect_eq(probe_fourier_key_freqs(norm, N, 2.0f, share, keys), 0, "a random embedding has key frequency %d", keys[0]);
    for (int k = 1; k <= 4; k++) cr_expect(share[k] > 0.1f && share[k] < 0.35f, "k=%d holds %g (flat: 0.22)", k, share[k]);

    // attention: every head scores close to what uniform attention would
    TaskConfig tc = task_config_quickstart();
    TaskExample *ex = malloc(sizeof(TaskExample) * 64);
    uint64_t rng = rng_seed(9);
    for (int i = 0; i < 64; i++) cr_assert_eq(task_generate(&tc, &rng, TASK_SPLIT_ANY, &ex[i], err), 0, "%s", err);
    probe_stair s;
    cr_assert_eq(probe_stair_init(&s, 2, 4, err), 0);
    cr_assert_eq(probe_staircase(&m, &tc, ex, 64, &s, err), 0, "%s", err);
    float same[8], prev[8], us, up;
    probe_stair_means(&s, same, prev, &us, &up);
    for (int i = 0; i < 8; i++) {
        cr_expect(fabsf(same[i] / us - 1.0f) < 0.1f, "head %d: staircase %g against uniform %g", i, same[i], us);
        cr_expect(fabsf(prev[i] / up - 1.0f) < 0.1f, "head %d: place below %g against uniform %g", i, prev[i], up);
    }
    probe_stair_free(&s);
    free(ex); free(coef);
    model_free(&m);
}

// the logit lens reads every answer digit once per component, and its last
// residual row is the model's own prediction
Test(random_model, logit_lens_last_row_is_the_models_prediction)
{
    Model m;
    random_model(&m, 4, 5);
    char err[ERR_MAX];
    TaskConfig tc = task_config_quickstart();
    TaskExample *ex = malloc(sizeof(TaskExample) * 10);
    uint64_t rng = rng_seed(2);
    for (int i = 0; i < 10; i++) cr_assert_eq(task_generate(&tc, &rng, TASK_SPLIT_ANY, &ex[i], err), 0, "%s", err);
    probe_lens lens;
    cr_assert_eq(probe_logit_lens(&m, &tc, ex, 10, 2, &lens, err), 0, "%s", err);   // batches of 4, 4, 2
    cr_expect_eq(lens.n_positions, 10 * 6);
    cr_expect_eq(lens.n_seqs, 10);
    cr_expect_eq(lens.n_comp, 1 + 3 * 2);
    int last = lens.n_comp - 1;
    cr_expect_str_eq(lens.name[last], "L1 resid");
    cr_expect_eq(lens.n_correct[last], lens.base_digits, "the last resid row is the model's own prediction");
    probe_lens_free(&lens);
    free(ex);
    model_free(&m);
}

// ---------------------------------------------------------------- the CLI

TestSuite(cli, .init = scratch_enter, .fini = scratch_leave);

// a random checkpoint carrying a run configuration, as arithlab train writes one
static void write_random_checkpoint(const char *path)
{
    Model m;
    random_model(&m, 1, 4);
    TrainState *st = calloc(1, sizeof(TrainState));
    char err[ERR_MAX];
    cr_assert_eq(ckpt_meta_set(st, "arithlab.config", "[task]\ntask = add\nformat = reversed\nmax_len = 5\npad_width = 6\n"), 0);
    cr_assert_eq(ckpt_save(&m, st, 0, path, err), 0, "%s", err);
    free(st);
    model_free(&m);
}

Test(cli, rejects_a_missing_checkpoint)
{
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s probe fourier --checkpoint no_such.safetensors --out probe_x", bin());
    cr_expect_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "no_such.safetensors") && strstr(out, "No such file"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s probe linear --out probe_x", bin());
    cr_expect_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "--checkpoint FILE (or --run DIR) is required"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s probe spectral", bin());
    cr_expect_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "unknown probe 'spectral'"), "%s", out);
}

Test(cli, rejects_a_malformed_problem)
{
    write_random_checkpoint("probe_rand.safetensors");
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s probe attention --checkpoint probe_rand.safetensors --problem 12a+3 "
             "--out probe_att", bin());
    cr_expect_eq(run(cmd, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "--problem '12a+3'"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s probe attention --checkpoint probe_rand.safetensors --problem 1234567+1 "
             "--out probe_att", bin());
    cr_expect_eq(run(cmd, out, sizeof out), 2, "an operand wider than the padding was accepted: %s", out);
}

// every probe runs end to end on a small random checkpoint and writes its files
Test(cli, probes_write_their_files)
{
    write_random_checkpoint("probe_rand2.safetensors");
    char cmd[2048], out[16384];
    const char *dir = "probe_out";
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s probe attention --checkpoint probe_rand2.safetensors "
             "--problem 128+367 --rollout --n 32 --out %s", dir, bin(), dir);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    const char *att_files[] = {"attention_heads.png", "attn_L1_H3.png", "attention_graph.png", "attention_graph.dot",
                               "attention_graph.json", "attention_rollout.json", "staircase.csv", "staircase.png",
                               "attention.npy", "tokens.csv"};
    for (int i = 0; i < 10; i++) cr_expect(file_exists(dir, att_files[i]), "%s not written", att_files[i]);
    snprintf(cmd, sizeof cmd, "%s probe fourier --checkpoint probe_rand2.safetensors --n 32 --out %s", bin(), dir);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "key frequencies: none"), "a random model shows key frequencies: %s", out);
    const char *f_files[] = {"embed_spectrum.csv", "embed_spectrum.png", "embed_fourier.png", "lens_spectrum.csv",
                             "lens_spectrum.png", "ablation.csv", "ablation.png"};
    for (int i = 0; i < 7; i++) cr_expect(file_exists(dir, f_files[i]), "%s not written", f_files[i]);
    snprintf(cmd, sizeof cmd, "%s probe linear --checkpoint probe_rand2.safetensors --n 120 --iters 50 --out %s",
             bin(), dir);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    const char *l_files[] = {"linear_probes.csv", "linear_probes.png", "linear_digit.png", "linear_carry.png"};
    for (int i = 0; i < 4; i++) cr_expect(file_exists(dir, l_files[i]), "%s not written", l_files[i]);
    // the place heatmap ends in an outlined column of majority-class baselines: the outline's
    // colour runs down a column at the right of the map (and in the key), nowhere at the left
    char png[600];
    snprintf(png, sizeof png, "%s/linear_digit.png", dir);
    cairo_surface_t *img = cairo_image_surface_create_from_png(png);
    cr_assert_eq(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    int W = cairo_image_surface_get_width(img), H = cairo_image_surface_get_height(img);
    int stride = cairo_image_surface_get_stride(img), tall_col = -1;
    const unsigned char *data = cairo_image_surface_get_data(img);
    plot_rgb ol = plot_outline_rgb(PLOT_CMAP_VIRIDIS);
    for (int x = 0; x < W; x++) {
        int run_len = 0;
        for (int y = 0; y < H; y++) {
            uint32_t p = ((const uint32_t *)(data + (size_t)y * stride))[x];
            int hit = abs((int)((p >> 16) & 255) - ol.r) < 30 && abs((int)((p >> 8) & 255) - ol.g) < 30 &&
                      abs((int)(p & 255) - ol.b) < 30;
            run_len = hit ? run_len + 1 : 0;
            if (run_len > H / 3 && tall_col < 0) tall_col = x;
        }
    }
    cr_expect_gt(tall_col, W / 2, "no outlined baseline column at the right of linear_digit.png (first at x = %d of %d)",
                 tall_col, W);
    cairo_surface_destroy(img);
}
