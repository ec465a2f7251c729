// attention.c: what the attention heads look at. Head-averaged attention as a
// graph across layers (raw, or rolled out after Abnar & Zuidema 2020,
// "Quantifying Attention Flow in Transformers"), written as Graphviz DOT, JSON
// and PNG; every head's pattern as a heatmap grid; and the "staircase" score
// that finds the heads lining up the digits of one place.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include "probes/probe.h"
#include "plot/plot.h"

// ---------------------------------------------------------------- head means and rollout

// att (NH, T, T) -> mean (T, T)
void probe_attn_head_mean(const float *att, int NH, int T, float *mean)
{
    size_t TT = (size_t)T * T;
    for (size_t i = 0; i < TT; i++) {
        double s = 0.0;
        for (int h = 0; h < NH; h++) s += att[h * TT + i];
        mean[i] = (float)(s / NH);
    }
}

// att_mean (L, T, T) -> rollout (L, T, T): R_l = ((A_l + I) / 2) R_{l-1}, R_0 = I
void probe_attn_rollout(const float *att_mean, int L, int T, float *rollout)
{
    size_t TT = (size_t)T * T;
    for (int l = 0; l < L; l++) {
        const float *A = att_mean + l * TT, *Rp = l ? rollout + (l - 1) * TT : NULL;
        float *R = rollout + l * TT;
        for (int t = 0; t < T; t++)
            for (int j = 0; j < T; j++) {
                double s = 0.0;
                for (int k = 0; k < T; k++) {
                    double a = 0.5 * A[(size_t)t * T + k] + (t == k ? 0.5 : 0.0);
                    s += a * (Rp ? Rp[(size_t)k * T + j] : (k == j));
                }
                R[(size_t)t * T + j] = (float)s;
            }
    }
}

// ---------------------------------------------------------------- the graph

static int edge_push(probe_graph *g, int *cap, probe_edge e)
{
    if (g->n_edges == *cap) {
        int nc = *cap ? 2 * *cap : 64;
        probe_edge *p = realloc(g->edges, sizeof(probe_edge) * nc);
        if (!p) return -1;
        g->edges = p;
        *cap = nc;
    }
    g->edges[g->n_edges++] = e;
    return 0;
}

int probe_graph_build(const float *att_mean, int L, int T, float threshold, int rollout,
                      probe_graph *g, char *err)
{
    memset(g, 0, sizeof(*g));
    g->n_layer = L; g->T = T; g->rollout = rollout; g->threshold = threshold;
    size_t TT = (size_t)T * T;
    float *R = NULL;
    if (rollout) {
        if (!(R = malloc(sizeof(float) * L * TT))) return err_set(err, "out of memory for the rollout");
        probe_attn_rollout(att_mean, L, T, R);
    }
    const float *W = rollout ? R : att_mean;
    int cap = 0;
    for (int l = 1; l <= L; l++)
        for (int t = 0; t < T; t++)
            for (int j = 0; j < T; j++) {
                float w = W[(l - 1) * TT + (size_t)t * T + j];
                if (w < threshold) continue;
                probe_edge e = { rollout ? 0 : l - 1, j, l, t, w };
                if (edge_push(g, &cap, e)) { free(R); probe_graph_free(g); return err_set(err, "out of memory for the graph"); }
            }
    free(R);
    return 0;
}

void probe_graph_free(probe_graph *g)
{
    free(g->edges);
    g->edges = NULL;
    g->n_edges = 0;
}

// column l of the graph: the input, or the residual after pass l-1
static const char *layer_name(const probe_graph *g, int l, char *buf, size_t cap)
{
    char pn[32];
    if (l == 0) { snprintf(buf, cap, "input"); return buf; }
    int n_block = g->n_block > 0 ? g->n_block : g->n_layer;
    probe_pass_name(l - 1, n_block, g->n_layer, pn, sizeof pn);
    snprintf(buf, cap, "after %s", pn);
    return buf;
}

// a DOT string literal's body: backslashes and quotes escaped
static void dot_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') fputc('\\', f);
        fputc(*s, f);
    }
}

// Laid out by Graphviz's dot: one column (rank) per layer, input at the left, each
// column's tokens top to bottom in sequence order (invisible edges hold the order;
// newrank lets rank=same work inside the clusters), edges as straight lines whose
// pen width is the weight, and a legend of three pen widths. Weights are in each
// edge's tooltip (SVG) rather than its label, which would cover the lines.
static double dot_penwidth(float w) { return 0.5 + 4.0 * w; }

void probe_graph_write_dot(const probe_graph *g, const char *const *tok_names, const char *title, FILE *f)
{
    char buf[48];
    fprintf(f, "digraph attention {\n  rankdir=LR;\n  newrank=true;\n  splines=line;\n  ranksep=1.6;\n  nodesep=0.06;\n"
               "  label=\"");
    dot_escaped(f, title ? title : "");
    fprintf(f, "\";\n  labelloc=t;\n  fontname=\"DejaVu Sans\";\n  // mode: %s, edges with weight >= %g\n",
            g->rollout ? "rollout" : "attention", (double)g->threshold);
    fprintf(f, "  node [shape=box, fontname=\"DejaVu Sans\", fontsize=11, height=0.26, margin=\"0.06,0.02\"];\n");
    fprintf(f, "  edge [arrowsize=0.5, color=\"#1f3b73\"];\n");
    for (int l = 0; l <= g->n_layer; l++) {
        fprintf(f, "  subgraph cluster_L%d {\n    label=\"%s\";\n    color=gray75;\n    rank=same;\n", l,
                layer_name(g, l, buf, sizeof buf));
        for (int t = 0; t < g->T; t++) {
            fprintf(f, "    L%d_T%d [label=\"%d ", l, t, t);
            dot_escaped(f, tok_names[t]);
            fprintf(f, "\"];\n");
        }
        if (g->T > 1) {   // positions in order down the column (a flat edge puts its head above its tail)
            fprintf(f, "    ");
            for (int t = g->T - 1; t >= 0; t--) fprintf(f, "L%d_T%d%s", l, t, t ? " -> " : " [style=invis];\n");
        }
        fprintf(f, "  }\n");
    }
    // each position on one row across the columns; these edges, not the attention
    // edges (constraint=false), place the columns
    for (int l = 0; l < g->n_layer; l++)
        for (int t = 0; t < g->T; t++) fprintf(f, "  L%d_T%d -> L%d_T%d [style=invis, weight=100];\n", l, t, l + 1, t);
    for (int i = 0; i < g->n_edges; i++) {
        const probe_edge *e = &g->edges[i];
        fprintf(f, "  L%d_T%d -> L%d_T%d [penwidth=%.2f, constraint=false, tooltip=\"%.2f\"];\n", e->from_layer, e->from_pos, e->to_layer,
                e->to_pos, dot_penwidth(e->weight), (double)e->weight);
    }
    // the legend: pen widths of weight 1, 0.5 and the threshold, beside the last column
    static const float lw[3] = {1.0f, 0.5f, -1.0f};
    fprintf(f, "  subgraph cluster_legend {\n    label=\"edge weight (pen width)\";\n    color=gray75;\n"
               "    node [shape=plaintext, height=0.2, fontsize=10];\n");
    for (int k = 0; k < 3; k++) {
        float w = lw[k] < 0 ? g->threshold : lw[k];
        fprintf(f, "    legend_%d_a [label=\"\"];\n    legend_%d_b [label=\"%.2f\"];\n"
                   "    legend_%d_a -> legend_%d_b [penwidth=%.2f, arrowhead=none];\n",
                k, k, (double)w, k, k, dot_penwidth(w));
    }
    fprintf(f, "  }\n}\n");
}

char *probe_graph_json(const probe_graph *g, const char *const *tok_names, const char *title)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    char id[32], buf[48];
    cJSON_AddStringToObject(root, "title", title ? title : "");
    cJSON_AddStringToObject(root, "mode", g->rollout ? "rollout" : "attention");
    cJSON_AddNumberToObject(root, "threshold", round(g->threshold * 1e4) / 1e4);
    cJSON_AddNumberToObject(root, "n_layer", g->n_layer);
    cJSON *toks = cJSON_AddArrayToObject(root, "tokens");
    for (int t = 0; t < g->T; t++) cJSON_AddItemToArray(toks, cJSON_CreateString(tok_names[t]));
    cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
    for (int l = 0; l <= g->n_layer; l++)
        for (int t = 0; t < g->T; t++) {
            cJSON *n = cJSON_CreateObject();
            snprintf(id, sizeof id, "L%d_T%d", l, t);
            cJSON_AddStringToObject(n, "id", id);
            cJSON_AddNumberToObject(n, "layer", l);
            cJSON_AddStringToObject(n, "layer_name", layer_name(g, l, buf, sizeof buf));
            cJSON_AddNumberToObject(n, "pos", t);
            cJSON_AddStringToObject(n, "token", tok_names[t]);
            cJSON_AddItemToArray(nodes, n);
        }
    cJSON *edges = cJSON_AddArrayToObject(root, "edges");
    for (int i = 0; i < g->n_edges; i++) {
        const probe_edge *e = &g->edges[i];
        cJSON *o = cJSON_CreateObject();
        snprintf(id, sizeof id, "L%d_T%d", e->from_layer, e->from_pos);
        cJSON_AddStringToObject(o, "source", id);
        snprintf(id, sizeof id, "L%d_T%d", e->to_layer, e->to_pos);
        cJSON_AddStringToObject(o, "target", id);
        cJSON_AddNumberToObject(o, "weight", round(e->weight * 1e4) / 1e4);
        cJSON_AddItemToArray(edges, o);
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

// ---------------------------------------------------------------- drawing the graph

static const plot_rgb INK = {34, 34, 34}, EDGE = {31, 80, 160}, WHITE = {255, 255, 255};

static int cmp_weight(const void *a, const void *b)
{
    float x = ((const probe_edge *)a)->weight, y = ((const probe_edge *)b)->weight;
    return (x > y) - (x < y);
}

// pale and thin for weak edges, dark and thick for strong ones; plot_line has
// no alpha, so weakness is drawn as a blend towards the white background
static void edge_draw(plot_canvas *c, double x0, double y0, double x1, double y1, float w)
{
    double a = 0.15 + 0.85 * (w > 1 ? 1 : w);
    plot_rgb col = { (uint8_t)(WHITE.r + (EDGE.r - WHITE.r) * a), (uint8_t)(WHITE.g + (EDGE.g - WHITE.g) * a),
                     (uint8_t)(WHITE.b + (EDGE.b - WHITE.b) * a) };
    plot_line(c, x0, y0, x1, y1, 0.6 + 3.4 * w, col);
}

enum { G_ROW = 22, G_TOP = 70, G_BOTTOM = 44, G_COL = 260, G_SIDE = 80, G_PANEL_GAP = 60 };

int probe_graph_png(const probe_graph *g, const char *const *tok_names, const char *title,
                    const char *path, char *err)
{
    int L = g->n_layer, T = g->T;
    // raw: columns 0..L in one panel; rollout: L panels of two columns (input, after block l)
    int n_panels = g->rollout ? L : 1, cols_per_panel = g->rollout ? 2 : L + 1;
    int panel_w = (cols_per_panel - 1) * G_COL;
    int W = 2 * G_SIDE + n_panels * panel_w + (n_panels - 1) * (G_PANEL_GAP + 2 * G_SIDE / 2);
    int H = G_TOP + T * G_ROW + G_BOTTOM;
    if (W < 480) W = 480;
    plot_canvas c;
    if (plot_canvas_init(&c, W, H, WHITE, err)) return -1;
    plot_canvas_set_title(&c, title);
    int content_w = n_panels * panel_w + (n_panels - 1) * (G_PANEL_GAP + G_SIDE);
    double x_start = (W - content_w) / 2.0;
    plot_text_style st_title = { .size_px = 16, .color = INK, .halign = PLOT_ALIGN_CENTER, .valign = PLOT_ALIGN_TOP };
    plot_text_style st_head = { .size_px = 13, .color = INK, .halign = PLOT_ALIGN_CENTER, .valign = PLOT_ALIGN_BOTTOM };
    plot_text_style st_left = { .size_px = 12, .color = INK, .halign = PLOT_ALIGN_RIGHT, .valign = PLOT_ALIGN_MIDDLE };
    plot_text_style st_right = st_left, st_note = { .size_px = 12, .color = {90, 90, 90}, .halign = PLOT_ALIGN_CENTER,
                                                    .valign = PLOT_ALIGN_BOTTOM };
    st_right.halign = PLOT_ALIGN_LEFT;
    plot_text_style st_inner = st_right;
    st_inner.size_px = 10;
    st_inner.color = (plot_rgb){90, 90, 90};
    int r = plot_text(&c, W / 2.0, 10, title ? title : "", &st_title, NULL, err);

    // x of column k of panel p
#define COL_X(p, k) (x_start + (p) * (panel_w + G_PANEL_GAP + G_SIDE) + (k) * (double)G_COL)
#define ROW_Y(t) (G_TOP + ((t) + 0.5) * G_ROW)
    probe_edge *sorted = malloc(sizeof(probe_edge) * (g->n_edges ? g->n_edges : 1));
    if (!sorted) { plot_canvas_free(&c); return err_set(err, "out of memory"); }
    memcpy(sorted, g->edges, sizeof(probe_edge) * g->n_edges);
    qsort(sorted, g->n_edges, sizeof(probe_edge), cmp_weight);   // strong edges drawn last, on top
    for (int i = 0; i < g->n_edges; i++) {
        const probe_edge *e = &sorted[i];
        int p = g->rollout ? e->to_layer - 1 : 0;
        int k0 = g->rollout ? 0 : e->from_layer, k1 = g->rollout ? 1 : e->to_layer;
        edge_draw(&c, COL_X(p, k0), ROW_Y(e->from_pos), COL_X(p, k1), ROW_Y(e->to_pos), e->weight);
    }
    free(sorted);

    char buf[64];
    for (int p = 0; p < n_panels && !r; p++)
        for (int k = 0; k < cols_per_panel && !r; k++) {
            int layer = g->rollout ? (k ? p + 1 : 0) : k;
            r = plot_text(&c, COL_X(p, k), G_TOP - 8, layer_name(g, layer, buf, sizeof buf), &st_head, NULL, err);
            for (int t = 0; t < T && !r; t++) {
                plot_line(&c, COL_X(p, k), ROW_Y(t), COL_X(p, k), ROW_Y(t), 7, INK);
                // every column labels its positions: "position token" at the outer
                // columns, the token on a white patch over the edges at the inner ones
                char lab[48];
                snprintf(lab, sizeof lab, "%d %s", t, tok_names[t]);
                if (k == 0) r = plot_text(&c, COL_X(p, k) - 8, ROW_Y(t), lab, &st_left, NULL, err);
                else if (k == cols_per_panel - 1) r = plot_text(&c, COL_X(p, k) + 8, ROW_Y(t), lab, &st_right, NULL, err);
                else {
                    int tw, th;
                    r = plot_text_size(tok_names[t], st_inner.size_px, &tw, &th, err);
                    if (!r) plot_fill_rect(&c, (plot_rect){(int)COL_X(p, k) + 5, (int)(ROW_Y(t) - th / 2.0), tw + 4, th}, WHITE);
                    if (!r) r = plot_text(&c, COL_X(p, k) + 7, ROW_Y(t), tok_names[t], &st_inner, NULL, err);
                }
            }
        }
#undef COL_X
#undef ROW_Y
    snprintf(buf, sizeof buf, "edges: %s >= %.2f; darker and thicker = larger",
             g->rollout ? "rollout" : "attention", (double)g->threshold);
    if (!r) r = plot_text(&c, W / 2.0, H - 10, buf, &st_note, NULL, err);
    if (!r) r = plot_canvas_write(&c, path, err);
    plot_canvas_free(&c);
    return r;
}

// ---------------------------------------------------------------- every head's pattern

int probe_attn_grid_png(const float *att, int L, int NH, int T, const char *const *tok_names,
                        const char *const *pass_names, const char *title, const char *path, char *err)
{
    // about 19 px per token, so that the heatmap labels every token rather than every
    // other one, up to 900 px a head; one colour bar at the right serves every head
    int cell_h = 190 + 19 * T, cell_w, top = 36, bar_w = 110;
    if (cell_h < 420) cell_h = 420;
    if (cell_h > 900) cell_h = 900;
    cell_w = cell_h - 20;
    plot_canvas grid;
    if (plot_canvas_init(&grid, NH * cell_w + bar_w, top + L * cell_h, WHITE, err)) return -1;
    plot_canvas_set_title(&grid, title);
    plot_text_style st = { .size_px = 16, .color = INK, .halign = PLOT_ALIGN_CENTER, .valign = PLOT_ALIGN_TOP };
    int r = plot_text(&grid, grid.w / 2.0, 10, title ? title : "", &st, NULL, err);
    char sub[64];
    for (int l = 0; l < L && !r; l++)
        for (int h = 0; h < NH && !r; h++) {
            if (pass_names) snprintf(sub, sizeof sub, "%s head %d", pass_names[l], h);
            else snprintf(sub, sizeof sub, "layer %d head %d", l, h);
            plot_heatmap_opts o = { .title = sub, .xlabel = "key", .ylabel = "query", .cmap = PLOT_CMAP_VIRIDIS,
                                    .vmin = 0, .vmax = 1, .row_labels = tok_names, .col_labels = tok_names,
                                    .no_cbar = 1, .nan_label = "masked" };
            plot_canvas cell;   // a fresh one per head: the grid keeps a reference to it
            r = plot_canvas_init(&cell, cell_w, cell_h, WHITE, err);
            if (!r) r = plot_heatmap_draw(&cell, att + ((size_t)l * NH + h) * T * T, T, T, &o, NULL, err);
            if (!r) r = plot_canvas_blit(&grid, &cell, h * cell_w, top + l * cell_h, err);
            plot_canvas_free(&cell);
        }
    int bar_h = L * cell_h - 120 < 600 ? L * cell_h - 120 : 600;
    if (!r) r = plot_colorbar_draw(&grid, (plot_rect){NH * cell_w + 16, top + 60, 16, bar_h}, PLOT_CMAP_VIRIDIS, 0, 1,
                                   "attention (every head)", err);
    if (!r) r = plot_canvas_write(&grid, path, err);
    plot_canvas_free(&grid);
    return r;
}

// ---------------------------------------------------------------- staircase

int probe_stair_init(probe_stair *s, int L, int NH, char *err)
{
    memset(s, 0, sizeof(*s));
    s->L = L; s->NH = NH;
    s->same = calloc((size_t)L * NH, sizeof(double));
    s->prev = calloc((size_t)L * NH, sizeof(double));
    if (!s->same || !s->prev) { probe_stair_free(s); return err_set(err, "out of memory"); }
    return 0;
}

void probe_stair_free(probe_stair *s)
{
    free(s->same); free(s->prev);
    s->same = s->prev = NULL;
}

// attention mass of row t of att (T, T) on the operand digits of place p (0 if none);
// *n_keys gets how many there are
static double place_mass(const float *att, int T, int t, const probe_places *pl, int p, int *n_keys)
{
    double m = 0.0;
    *n_keys = 0;
    if (p < 0) return 0.0;
    int keys[2] = { pl->pos_a[p], pl->pos_b[p] };
    for (int i = 0; i < 2; i++)
        if (keys[i] >= 0 && keys[i] <= t) { m += att[(size_t)t * T + keys[i]]; (*n_keys)++; }
    return m;
}

void probe_stair_add(probe_stair *s, const float *const *att, int T, const probe_places *pl)
{
    size_t TT = (size_t)T * T;
    for (int p = 0; p < pl->n_ans; p++) {
        int t = pl->pos_ans[p] - 1, ns = 0, np = 0;
        if (t < 0 || t >= T) continue;
        for (int l = 0; l < s->L; l++)
            for (int h = 0; h < s->NH; h++) {
                const float *a = att[l] + h * TT;
                s->same[l * s->NH + h] += place_mass(a, T, t, pl, p, &ns);
                s->prev[l * s->NH + h] += place_mass(a, T, t, pl, p - 1, &np);
            }
        if (ns) { s->n_same++; s->uni_same += ns / (double)(t + 1); }
        if (np) { s->n_prev++; s->uni_prev += np / (double)(t + 1); }
    }
}

void probe_stair_means(const probe_stair *s, float *same, float *prev, float *uni_same, float *uni_prev)
{
    for (int i = 0; i < s->L * s->NH; i++) {
        same[i] = s->n_same ? (float)(s->same[i] / s->n_same) : NAN;
        prev[i] = s->n_prev ? (float)(s->prev[i] / s->n_prev) : NAN;
    }
    *uni_same = s->n_same ? (float)(s->uni_same / s->n_same) : NAN;
    *uni_prev = s->n_prev ? (float)(s->uni_prev / s->n_prev) : NAN;
}

int probe_staircase(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, probe_stair *s, char *err)
{
    int NP = model_n_passes(m), NH = m->cfg.n_head, r = 0;
    if (s->L != NP || s->NH != NH)
        return err_set(err, "staircase scores of %d passes x %d heads for a model of %d x %d", s->L, s->NH, NP, NH);
    const float **att = malloc(sizeof(float *) * NP);
    probe_batches it = {0};
    r = att ? probe_batches_init(&it, m, ex, n, err) : err_set(err, "out of memory");
    while (!r && (r = probe_batches_next(&it, err)) > 0) {
        r = 0;
        size_t per_seq = (size_t)NH * it.T * it.T;
        for (int b = 0; b < it.nb && !r; b++) {
            probe_places pl;
            if ((r = probe_find_places(tc, &ex[it.first + b], &pl, err))) break;
            for (int p = 0; p < NP; p++) att[p] = model_pass_attention(m, p) + b * per_seq;
            probe_stair_add(s, att, it.T, &pl);
        }
    }
    probe_batches_free(&it);
    free(att);
    return r;
}
