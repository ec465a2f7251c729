// probe.h: what we read out of a trained model. Three probes, each a set of
// functions on plain arrays (so tests can plant signals with known answers)
// plus thin drivers that run a Model on task examples:
//   Fourier    spectra of the digit embeddings and of the digit logits that each
//              layer and component writes (logit lens), after Zhou et al. 2024,
//              "Pre-trained LLMs use Fourier features to compute addition";
//              an ablation that filters frequency bands out of one component.
//   attention  head-averaged attention as a graph across passes (raw or rolled
//              out, Abnar & Zuidema 2020) written as DOT, JSON and PNG, and a
//              per-head "staircase" score: the attention an answer digit pays to
//              the operand digits of its own place.
//   linear     multinomial logistic regression (L2, standardized features,
//              accelerated full-batch gradient descent) on the residual stream.
// The writers at the end compute a probe on a loaded model and write its CSV,
// .npy and PNG files; `arithlab probe fourier|attention|linear`
// (cli/probe_cmds.c) parses flags and calls them. Functions that can fail
// return 0 or -1 with a message in err (ERR_MAX bytes).
//
// Probes read the model pass by pass through model/inspect.h: a looped model
// (model.n_loops > 1) runs n_layer * n_loops passes, and every probe reports
// each of them, labelled "pass p (block l)"; a plain model's pass p is block p,
// labelled "L<p>".
#ifndef ARITHLAB_PROBE_H
#define ARITHLAB_PROBE_H

#include <stdio.h>
#include "model/model.h"
#include "model/inspect.h"
#include "tasks/task.h"

// ================================================================ running the model
// Teacher-forced forwards over examples, in batches of at most m->B_max, each
// padded to its longest example (every token but the last is fed):
//   probe_batches it;
//   if (probe_batches_init(&it, m, ex, n, err)) return -1;
//   while ((r = probe_batches_next(&it, err)) > 0)
//       ... examples it.first .. it.first + it.nb - 1 are rows 0..nb-1 of the
//       model's last forward of shape (it.nb, it.T) ...
//   probe_batches_free(&it);
typedef struct {
    Model *m;
    const TaskExample *ex;
    int n;
    int first, nb, T;                 // the current batch
    int *inputs, *targets;            // (B_max, T_max)
} probe_batches;

int probe_batches_init(probe_batches *it, Model *m, const TaskExample *ex, int n, char *err);
// forward the next batch: 1 if one ran, 0 after the last, -1 + err (an example
// longer than the model's block)
int probe_batches_next(probe_batches *it, char *err);
void probe_batches_free(probe_batches *it);

// n problems of the task drawn from seed, distinct while the task has that
// many (then repeats); *out is malloc'd. -1 + err.
int probe_make_examples(const TaskConfig *tc, int n, int seed, TaskExample **out, char *err);

// A pass's label: "L<l>" when every block runs once (n_passes == n_layer), else
// "pass <p> (block <l>)" with l = p % n_layer
void probe_pass_name(int pass, int n_layer, int n_passes, char *buf, size_t cap);


// ================================================================ digit places
// Where each digit place (0 = units) of the operands and the answer sits in an
// example's tokens, for two-operand tasks (add, sub, mul, modadd) in the plain,
// reversed and reverse_all formats, with or without padding, hints and spaces.
// Padding zeros are places like any other. -1 where a number has no such place.
#define PROBE_MAX_PLACES (TASK_MAX_ANSWER)
typedef struct {
    int n_a, n_b, n_ans;             // digits written for a, b and the answer
    int pos_a[PROBE_MAX_PLACES];     // token index of a's digit at place p
    int pos_b[PROBE_MAX_PLACES];
    int pos_ans[PROBE_MAX_PLACES];   // the answer digit; it is predicted at pos_ans[p] - 1
} probe_places;

// -1 + err for sort, scratchpad formats, or tokens that do not read as a op b = c
int probe_find_places(const TaskConfig *tc, const TaskExample *ex, probe_places *pl, char *err);
// the carry (add) or borrow (sub) into place p of a op b, operands in ordinary
// notation; 0 at place 0; -1 for other tasks
int probe_carry_into(int task, const char *a, const char *b, int p);

// ================================================================ Fourier
// Orthonormal real Fourier basis over n = 0..N-1, one function per row of
// basis (N, N): row 0 the constant 1/sqrt(N); rows 2k-1, 2k: sqrt(2/N) cos and
// sin(2 pi k n / N) for k = 1..(N-1)/2; for even N the last row (-1)^n / sqrt(N)
// (k = N/2, whose sine vanishes on integers). Frequencies k = 0..N/2.
static inline int probe_fourier_n_freq(int N) { return N / 2 + 1; }
void probe_fourier_basis(int N, float *basis);
int probe_fourier_row_freq(int N, int row);                  // k of a basis row
void probe_fourier_row_name(int N, int row, char *buf, size_t cap);   // "const", "cos 2", "sin 2", ...
// x (N, C): channel c as a function of n. coef (N, C) = basis @ x, computed in double
// with each channel centred on its mean for the non-constant rows. -1 if out of memory.
int probe_fourier_project(const float *x, int N, int C, float *coef);
// norm_k (n_freq): sqrt of the squared coefficients of frequency k summed over
// its cos and sin rows and all channels; sum_k norm_k^2 = ||x||_F^2
void probe_fourier_spectrum(const float *coef, int N, int C, float *norm_k);
// Key frequencies among k >= 1 (the constant k = 0 says nothing about n): those
// whose energy per basis function is at least `ratio` times the mean energy per
// non-constant basis function, i.e. that hold `ratio` times the share of a flat
// spectrum. share (n_freq, may be NULL) gets each k's share of the non-constant
// energy (share[0] = 0). keys gets the key k in increasing order; returns their count.
// No key (and every share 0) when the non-constant energy is below
// PROBE_FOURIER_ENERGY_FLOOR of the total: x then does not depend on n beyond
// rounding (float32 rounding of the values alone is ~1e-14 of their energy; the
// double projection adds ~1e-30), while any learned structure is far above it.
#define PROBE_FOURIER_ENERGY_FLOOR 1e-9
int probe_fourier_key_freqs(const float *norm_k, int N, float ratio, float *share, int *keys);

// ---------------------------------------------------------------- logit lens
// Components read at the answer positions, in this order: "embed" (the input
// to pass 0), then for each pass p: "<pass> inject" (injected passes of a
// looped model: the embeddings added again before the pass), "<pass> attn",
// "<pass> mlp", "<pass> resid", <pass> as probe_pass_name gives it ("L0 attn";
// "pass 3 (block 0) resid"). The residual streams (embed, resid) go through the
// whole final LayerNorm and the unembedding (the logit lens); the last resid
// row is the model's own prediction. The injections and the attention and MLP
// contributions (model_pass_contributions) are linear pieces of the final
// residual: they are read by direct logit attribution, the final LayerNorm's
// scale of the actual final residual at that position (no bias), so that they
// add up with the other pieces to the final logits instead of being blown up to
// unit variance on their own. Only pre-LN models have inject/attn/mlp rows
// (post-LN sums are not additive across passes); post-LN models get embed and
// resid rows.
#define PROBE_MAX_PASSES 64
#define PROBE_MAX_COMPONENTS (1 + 4 * PROBE_MAX_PASSES)
typedef enum { PROBE_COMP_EMBED, PROBE_COMP_INJECT, PROBE_COMP_ATTN, PROBE_COMP_MLP, PROBE_COMP_RESID } probe_comp_kind;
typedef struct {
    int n_comp;
    int kind[PROBE_MAX_COMPONENTS];
    int pass[PROBE_MAX_COMPONENTS];   // -1 for embed
    char name[PROBE_MAX_COMPONENTS][40];
    int n_freq;                       // 6: the digit axis has N = 10
    double *mag;                      // (n_comp, n_freq) mean |Fourier coefficient| of the digit logits
    long *n_correct;                  // (n_comp) answer digits where the component's digit logits' argmax is right
    long n_positions;                 // answer digits read
    // band ablation (attn and mlp rows only): teacher-forced accuracy of the
    // final digit logits when the component's low band (k = 1..low_max) or high
    // band (k > low_max) is removed from its contribution; argmax over digits
    int low_max;
    long base_digits, base_seqs;      // correct digits / whole answers without ablation
    long *abl_digits, *abl_seqs;      // (n_comp, 2): [0] low band removed, [1] high band removed
    long final_digits[2], final_seqs[2];   // the same band removed from the final digit logits
    long n_seqs;
} probe_lens;

// run the model teacher-forced on the examples (batches of at most m->B_max)
// and fill lens; low_max >= 1. -1 + err (examples whose places cannot be found,
// more than PROBE_MAX_PASSES passes).
int probe_logit_lens(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, int low_max,
                     probe_lens *lens, char *err);
void probe_lens_free(probe_lens *lens);

// ================================================================ attention
// att (NH, T, T) of one sequence -> mean (T, T) over heads
void probe_attn_head_mean(const float *att, int NH, int T, float *mean);
// Attention rollout (Abnar & Zuidema 2020): with A_l the head-mean attention of
// pass l (L passes, (L, T, T)), A'_l = (A_l + I) / 2 accounts for the residual
// stream, and R_l = A'_l R_{l-1} (R_0 = I); rollout (L, T, T) holds R_1 .. R_L.
// R_l[t][j]: how much of token t after pass l comes from input token j.
void probe_attn_rollout(const float *att_mean, int L, int T, float *rollout);

// An attention graph: nodes are (layer, position), layer 0 the input tokens and
// layer l >= 1 the residual stream after pass l-1 ("after L<l-1>", or "after
// pass <l-1> (block <b>)" when n_block is set), A_l the attention of that pass.
// Raw mode: an edge (l-1, j) -> (l, t) for every A_l[t][j] >= threshold.
// Rollout mode: an edge (0, j) -> (l, t) for every R_l[t][j] >= threshold, for each l.
typedef struct { int from_layer, from_pos, to_layer, to_pos; float weight; } probe_edge;
typedef struct {
    int n_layer, T, rollout;          // n_layer: the passes drawn
    int n_block;                      // 0: one pass per block; else a looped model's n_layer (set after build)
    float threshold;
    int n_edges;
    probe_edge *edges;                // in order of (to_layer, to_pos, from_pos)
} probe_graph;

// att_mean (L, T, T): per pass the mean over heads (or one head); -1 + err if out of memory
int probe_graph_build(const float *att_mean, int L, int T, float threshold, int rollout,
                      probe_graph *g, char *err);
void probe_graph_free(probe_graph *g);
// Graphviz DOT: one column (rank) per layer, nodes "L<l>_T<t>" labelled with the
// token names, edges with weight, penwidth and label "%.2f"
void probe_graph_write_dot(const probe_graph *g, const char *const *tok_names, const char *title, FILE *f);
// JSON {"title", "mode", "threshold", "n_layer", "tokens", "nodes", "edges"}; malloc'd, NULL if out of memory
char *probe_graph_json(const probe_graph *g, const char *const *tok_names, const char *title);
// PNG: raw mode one column per layer; rollout mode one panel per layer (input -> after block l)
int probe_graph_png(const probe_graph *g, const char *const *tok_names, const char *title,
                    const char *path, char *err);

// Every head's attention pattern of one sequence, att (L, NH, T, T), as a grid of
// heatmaps (one row per pass, one column per head), keys and queries labelled
// with the token names; pass_names (L) label the rows (NULL: "layer <l>")
int probe_attn_grid_png(const float *att, int L, int NH, int T, const char *const *tok_names,
                        const char *const *pass_names, const char *title, const char *path, char *err);

// Staircase scores per (pass, head): the attention from the position that
// predicts answer place p to the operand digits of place p (a's and b's, where
// they exist: "same"), and to those of place p-1 (the digits that make the carry
// into p: "prev"), averaged over answer digits. The uniform sums hold the mass
// uniform causal attention (1/(t+1) per key) would put there: the score of a
// head that ignores places, the same for every head.
typedef struct {
    int L, NH;                    // L: passes
    double *same, *prev;          // (L, NH) summed attention mass
    double uni_same, uni_prev;    // summed mass under uniform attention
    long n_same, n_prev;          // answer digits counted
} probe_stair;

int probe_stair_init(probe_stair *s, int L, int NH, char *err);
void probe_stair_free(probe_stair *s);
// one sequence: att[l] is pass l's (NH, T, T) attention of that sequence
void probe_stair_add(probe_stair *s, const float *const *att, int T, const probe_places *pl);
// the mean scores (L, NH) and uniform baselines from the sums
void probe_stair_means(const probe_stair *s, float *same, float *prev, float *uni_same, float *uni_prev);
// run the model teacher-forced on the examples and add every one; s has
// model_n_passes of such a forward (n_layer * n_loops) rows; -1 + err
int probe_staircase(Model *m, const TaskConfig *tc, const TaskExample *ex, int n, probe_stair *s, char *err);

// ================================================================ linear probes
typedef struct {
    int n_iter;        // gradient steps; 0 -> 500
    float l2;          // L2 on the weights (not the bias) of standardized features; 0 -> 1e-4
} probe_linear_opts;

typedef struct {
    int d, K;
    float *mean, *std;   // (d) standardization, from the training rows
    float *W;            // (K, d + 1): weights, bias last
} probe_linear;

// X (n, d) rows, y (n) labels in [0, K). -1 + err on bad labels or no memory.
int probe_linear_fit(const float *X, const int *y, int n, int d, int K, const probe_linear_opts *o,
                     probe_linear *pl, char *err);
// fraction of rows whose argmax class is y
float probe_linear_accuracy(const probe_linear *pl, const float *X, const int *y, int n);
void probe_linear_free(probe_linear *pl);
// fit on the first n_train rows, score on the rest; -1 + err
int probe_linear_split(const float *X, const int *y, int n, int n_train, int d, int K,
                       const probe_linear_opts *o, float *train_acc, float *test_acc, char *err);

// ================================================================ number tokens
// Models of task.numbers = tokens write each value v as one token (id TASK_NUMTOK0 + v):
// the number axis is the tokens' values 0..N-1, not the ten digits.
// The Fourier basis above is N x N doubles: the number-token probes take N up to this.
#define PROBE_NUMTOK_MAX_N 4096
// the neuron 2-D DFT runs over all p^2 pairs: p up to this
#define PROBE_DFT2_MAX_P 256
// rows (n, C) of the embedding (unembed 0) or the unembedding (1) for the number tokens
// of values 0..n-1; -1 + err if the vocabulary does not hold them
int probe_numtok_rows(const Model *m, int unembed, int n, float *rows, char *err);
// act (p*p, H): H neurons' activations, pair (a, b) at row a*p + b. energy ((p/2+1)^2):
// at [ka*(p/2+1) + kb] the energy of frequency ka along a and kb along b, summed over
// neurons, each neuron centred on its mean (so (0, 0) holds 0) and the four sign
// combinations (+-ka, +-kb) folded together (Parseval: the sum is the centred total energy).
// -1 + err if out of memory.
int probe_dft2_energy(const float *act, int p, int H, double *energy, char *err);
// The helix (Kantamneni & Tegmark 2025): X (N, C), row n the representation of value x[n],
// fitted by least squares (every channel centred) on the columns [x (with_linear),
// cos 2 pi x / T_j, sin 2 pi x / T_j for each period]. *r2: the fraction of the centred
// variance of X explained. planes (n_periods, N, 2) or NULL: each row's coordinates on
// period j's plane, along the fitted cos and sin directions (a helix puts the rows on a
// circle ordered by x). -1 + err on bad periods or no memory.
#define PROBE_HELIX_MAX_PERIODS 16
int probe_helix_fit(const float *X, const double *x, int N, int C, const double *periods, int n_periods,
                    int with_linear, double *r2, float *planes, char *err);

// ================================================================ writers
// Each runs one probe on a loaded model and writes its files into dir (which
// must exist); a summary of the numbers goes to log (NULL: none). The file
// names are listed in docs/TUTORIAL.md. Per-pass files of a plain model are
// named after the layer (attn_L1_H3.png), those of a looped one after the pass
// and its block (attn_P2_L0_H3.png). -1 + err naming the file or the problem.

// embed_spectrum.{csv,png}, embed_digits.npy, embed_fourier.{npy,png}; then, for a
// task whose answers are digits, the logit lens and band ablation on n problems:
// lens_spectrum.{csv,npy,png}, lens_spectrum_share.png, ablation.{csv,png}.
// A FoNE model or task (model.head = fone, task.numbers = fone) has no digit-token
// numbers to analyse: -1 + err saying so, and nothing written.
typedef struct {
    int n, seed;          // problems for the logit lens, drawn from seed
    float key_ratio;      // a key frequency holds this many times its flat share (probe_fourier_key_freqs)
    int low_max;          // ablation bands: low k = 1..low_max, high k = low_max+1..5
} probe_fourier_opts;
int probe_fourier_write(Model *m, const TaskConfig *tc, const probe_fourier_opts *o, const char *dir, FILE *log,
                        char *err);

// task.numbers = tokens (probe_fourier_write calls it): the spectra of the number-token
// embedding rows (values 0..N-1 of the operands, period N) and unembedding rows (the
// answer tokens, period task_number_tokens) with their key frequencies:
// numtok_embed_spectrum.{csv,png}, numtok_unembed_spectrum.{csv,png}, numtok_embed.npy;
// the logit lens over the answer tokens per pass and component on n problems:
// numtok_lens.{csv,png}; and for modadd the MLP neurons' 2-D DFT over all p^2 pairs at the
// position that predicts c, per pass: neuron_dft.csv, neuron_dft_L<l>.png
int probe_numtok_fourier_write(Model *m, const TaskConfig *tc, const probe_fourier_opts *o, const char *dir,
                               FILE *log, char *err);
// the helix fit of the operand tokens 0..N-1 (task.numbers = tokens): of the embedding rows
// and of the residual stream at the first operand's position (embed and after every pass),
// periods[0..n_periods) (probe_helix_fit). helix.csv (representation, fit, r2) with each
// period alone, x alone and the whole fit; helix_<rep>_T<T>.png: the tokens on each period's
// (cos, sin) plane, joined in order of value. -1 + err (not a number-token model, ...).
int probe_helix_write(Model *m, const TaskConfig *tc, const double *periods, int n_periods, const char *dir,
                      FILE *log, char *err);

// one problem's attention: tokens.csv, attention.npy (passes, NH, T, T), one heatmap
// per pass and head, attention_heads.png, attention_graph.{dot,json,png} (and
// attention_rollout.* with rollout); then the staircase scores over n problems:
// staircase.{csv,png}, staircase_prev.png, staircase_{same,prev}.npy
typedef struct {
    int n, seed;          // problems for the staircase scores
    float threshold;      // smallest edge weight in the graph
    int rollout;          // 1: also the rollout graph
    int head;             // the graph of this head in every pass; -1: the mean over heads
} probe_attention_opts;
int probe_attention_write(Model *m, const TaskConfig *tc, const TaskExample *one, const probe_attention_opts *o,
                          const char *dir, FILE *log, char *err);

// linear probes for the answer digit and the carry into each place, on the
// residual stream at the embeddings and after every pass: linear_probes.{csv,png},
// linear_digit.png, linear_carry.png, linear_test_accuracy.npy
typedef struct {
    int n, seed;          // problems, drawn from seed
    float train_frac;     // the first train_frac of them fit the probes, the rest score them
    probe_linear_opts fit;
} probe_linear_write_opts;
int probe_linear_write(Model *m, const TaskConfig *tc, const probe_linear_write_opts *o, const char *dir, FILE *log,
                       char *err);

#endif
