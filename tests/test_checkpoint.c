// test_checkpoint.c: safetensors round trips (parameters, moments, train state)
// and the loader's refusals of damaged files, ending with a seeded fuzz loop
// over the header bytes: every load must return 0 or -1, never crash.
#define _POSIX_C_SOURCE 200809L   // mkdtemp, setrlimit
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "model/checkpoint.h"
#include "model/model.h"

// ---------------------------------------------------------------- helpers

static void small_config(ModelConfig *cfg, int n_embd)
{
    model_config_default(cfg);
    cfg->vocab_size = 12;
    cfg->block_size = 16;
    cfg->n_layer = 2;
    cfg->n_head = 2;
    cfg->n_embd = n_embd;
    cfg->mlp_hidden = 0;
    cfg->tied = 0;
    cfg->post_ln = 0;
    snprintf(cfg->position, sizeof cfg->position, "absolute");
}

// a built model on the heap (Model is large); parameters and moments filled with
// distinct values so that a swapped or shifted tensor cannot go unnoticed
static Model *new_model(int n_embd, uint64_t seed)
{
    ModelConfig cfg;
    small_config(&cfg, n_embd);
    Model *m = calloc(1, sizeof *m);
    char err[ERR_MAX] = "";
    cr_assert_eq(model_build(m, &cfg, 2, 16, seed, err), 0, "%s", err);
    uint64_t s = rng_seed(seed + 100);
    for (size_t i = 0; i < m->n_params; i++) {
        m->m[i] = rng_f32(&s) - 0.5f;
        m->v[i] = rng_f32(&s) * 1e-3f;
    }
    m->rng = 0xDEADBEEF00000000ULL + seed;
    return m;
}

static void free_model(Model *m)
{
    model_free(m);
    free(m);
}

static int same_tensors(const Model *a, const Model *b, const float *xa, const float *xb)
{
    for (int i = 0; i < a->n_tensors; i++) {
        const ParamInfo *t = &a->tensors[i];
        if (memcmp(xa + t->offset, xb + t->offset, t->numel * sizeof(float)) != 0) return 0;
    }
    return 1;
}

// a valid checkpoint with moments at path; returns the model that wrote it
static Model *save_valid(const char *path)
{
    Model *m = new_model(16, 1);
    char err[ERR_MAX] = "";
    cr_assert_eq(ckpt_save(m, NULL, 1, path, err), 0, "%s", err);
    return m;
}

// load into a fresh model of the small config; returns ckpt_load's result, err filled
static int try_load(const char *path, char *err)
{
    Model *m = new_model(16, 7);
    TrainState *st = malloc(sizeof *st);
    err[0] = 0;
    int rc = ckpt_load(m, st, 1, path, err);
    free(st);
    free_model(m);
    return rc;
}

static void assert_rejected(const char *path, const char *needle)
{
    char err[ERR_MAX];
    cr_assert_eq(try_load(path, err), -1, "damaged file accepted (wanted an error about '%s')", needle);
    cr_assert_eq(strncmp(err, path, strlen(path)), 0, "error must start with the path: %s", err);
    cr_assert_not_null(strstr(err, needle), "error should mention '%s': %s", needle, err);
}

// the parsed JSON header of a checkpoint's bytes; *data_off is where the data starts
static cJSON *header_of(const unsigned char *b, size_t *data_off)
{
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)b[i] << (8 * i);
    *data_off = 8 + (size_t)n;
    cJSON *h = cJSON_ParseWithLength((const char *)b + 8, (size_t)n);
    cr_assert_not_null(h);
    return h;
}

// write json as the header (padded to 8) followed by data
static void write_with_header(const char *path, cJSON *h, const unsigned char *data, size_t data_len)
{
    char *json = cJSON_PrintUnformatted(h);
    size_t n = strlen(json), padded = (n + 7) / 8 * 8;
    unsigned char *b = malloc(8 + padded + data_len + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(b + 8, json, n);
    memset(b + 8 + n, ' ', padded - n);
    if (data_len) memcpy(b + 8 + padded, data, data_len);
    write_bytes(path, b, 8 + padded + data_len);
    free(b);
    cJSON_free(json);
}

// the tensor entry whose data comes last in the file
static cJSON *last_tensor(cJSON *h)
{
    cJSON *best = NULL, *t;
    double best_end = -1;
    cJSON_ArrayForEach(t, h) {
        cJSON *offs = cJSON_GetObjectItem(t, "data_offsets");
        if (offs && cJSON_GetArrayItem(offs, 1)->valuedouble > best_end) {
            best_end = cJSON_GetArrayItem(offs, 1)->valuedouble;
            best = t;
        }
    }
    cr_assert_not_null(best);
    return best;
}

static void shift_offsets(cJSON *t, double delta)
{
    cJSON *offs = cJSON_GetObjectItem(t, "data_offsets");
    for (int i = 0; i < 2; i++) {
        cJSON *o = cJSON_GetArrayItem(offs, i);
        cJSON_SetNumberValue(o, o->valuedouble + delta);
    }
}

TestSuite(checkpoint, .init = tmp_setup, .fini = tmp_teardown);

// ---------------------------------------------------------------- round trips

Test(checkpoint, round_trip_restores_parameters_moments_and_train_state)
{
    const char *p = tmp_path("a.safetensors");
    Model *a = new_model(16, 1);
    TrainState *st = calloc(1, sizeof *st), *back = calloc(1, sizeof *back);
    st->step = 1234;
    st->rng = 0xFFFFFFFFFFFFFFFFULL;      // u64 values past INT64_MAX must survive as decimal strings
    st->data_rng = 0x8000000000000001ULL;
    st->data_pos = 98765;
    cr_assert_eq(ckpt_meta_set(st, "run.task", "add"), 0);
    cr_assert_eq(ckpt_meta_set(st, "run.note", "quotes \" and \\ and\nnewline, caf\xc3\xa9"), 0);
    char err[ERR_MAX] = "";
    cr_assert_eq(ckpt_save(a, st, 1, p, err), 0, "%s", err);

    Model *b = new_model(16, 2);   // different init: every value must come from the file
    cr_assert(!same_tensors(a, b, a->params, b->params));
    cr_assert_eq(ckpt_load(b, back, 1, p, err), 0, "%s", err);
    cr_assert(same_tensors(a, b, a->params, b->params), "parameters differ after load");
    cr_assert(same_tensors(a, b, a->m, b->m), "first moments differ after load");
    cr_assert(same_tensors(a, b, a->v, b->v), "second moments differ after load");
    cr_assert_eq(b->rng, a->rng);
    cr_assert_eq(back->step, 1234);
    cr_assert_eq(back->rng, st->rng);
    cr_assert_eq(back->data_rng, st->data_rng);
    cr_assert_eq(back->data_pos, 98765);
    cr_assert_eq(back->n_meta, 2);
    cr_assert_str_eq(ckpt_meta_get(back, "run.task"), "add");
    cr_assert_str_eq(ckpt_meta_get(back, "run.note"), st->meta_val[1]);
    free(st);
    free(back);
    free_model(a);
    free_model(b);
}

Test(checkpoint, build_model_reads_config_and_loads)
{
    const char *p = tmp_path("b.safetensors");
    Model *a = save_valid(p);
    ModelConfig cfg;
    char err[ERR_MAX] = "";
    cr_assert_eq(ckpt_read_config(p, &cfg, err), 0, "%s", err);
    cr_assert_eq(cfg.n_embd, 16);
    cr_assert_eq(cfg.mlp_hidden, 64);
    cr_assert_str_eq(cfg.position, "absolute");

    Model *b = calloc(1, sizeof *b);
    cr_assert_eq(ckpt_build_model(b, NULL, 0, p, 2, 16, err), 0, "%s", err);
    cr_assert_eq(memcmp(&b->cfg, &a->cfg, sizeof cfg), 0);
    cr_assert_eq(b->n_tensors, a->n_tensors);
    cr_assert(same_tensors(a, b, a->params, b->params));
    free_model(a);
    free_model(b);
}

Test(checkpoint, load_without_moments_zeroes_them_when_wanted)
{
    const char *p = tmp_path("c.safetensors");
    Model *a = new_model(16, 1);
    char err[ERR_MAX] = "";
    cr_assert_eq(ckpt_save(a, NULL, 0, p, err), 0, "%s", err);
    Model *b = new_model(16, 2);
    cr_assert_eq(ckpt_load(b, NULL, 1, p, err), 0, "%s", err);
    cr_assert(same_tensors(a, b, a->params, b->params));
    for (size_t i = 0; i < b->n_params; i++) cr_assert_eq(b->m[i], 0.0f);
    for (size_t i = 0; i < b->n_params; i++) cr_assert_eq(b->v[i], 0.0f);
    free_model(a);
    free_model(b);
}

Test(checkpoint, writes_safetensors_layout)
{
    const char *p = tmp_path("d.safetensors");
    Model *a = save_valid(p);
    size_t n, off;
    unsigned char *b = read_bytes(p, &n);
    cJSON *h = header_of(b, &off);
    cr_assert_eq((off - 8) % 8, 0, "header must be padded to a multiple of 8");
    cJSON *meta = cJSON_GetObjectItem(h, "__metadata__");
    cr_assert_str_eq(cJSON_GetObjectItem(meta, "format")->valuestring, "arithlab");
    cr_assert_str_eq(cJSON_GetObjectItem(meta, "model.n_embd")->valuestring, "16");
    cJSON *wte = cJSON_GetObjectItem(h, "transformer.wte.weight");
    cr_assert_str_eq(cJSON_GetObjectItem(wte, "dtype")->valuestring, "F32");
    cr_assert_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(wte, "shape"), 0)->valueint, 12);
    cr_assert_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(wte, "data_offsets"), 0)->valueint, 0);
    cr_assert_eq(memcmp(b + off, a->params + a->tensors[0].offset, 12 * 16 * sizeof(float)), 0);
    cr_assert_not_null(cJSON_GetObjectItem(h, "optim.v.lm_head.weight"));
    cr_assert_eq(cJSON_GetArraySize(h), 1 + 3 * a->n_tensors);
    cJSON_Delete(h);
    free(b);
    free_model(a);
}

// ---------------------------------------------------------------- refusals

Test(checkpoint, rejects_truncated_file)
{
    const char *p = tmp_path("t.safetensors");
    free_model(save_valid(p));
    size_t n, off;
    unsigned char *b = read_bytes(p, &n);
    cJSON_Delete(header_of(b, &off));
    const size_t cuts[] = { 0, 5, 8, 8 + (off - 8) / 2, off - 1, off, off + 4, n / 2, n - 4, n - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(p, b, cuts[i]);
        char err[ERR_MAX];
        cr_assert_eq(try_load(p, err), -1, "file cut to %zu of %zu bytes was accepted", cuts[i], n);
        cr_assert_eq(strncmp(err, p, strlen(p)), 0, "%s", err);
    }
    free(b);
}

Test(checkpoint, rejects_header_length_past_end_of_file)
{
    const char *p = tmp_path("h.safetensors");
    free_model(save_valid(p));
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    const uint64_t lens[] = { n - 7, n, 0xFFFFFFFFFFFFFFFFULL };
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)(lens[k] >> (8 * i));
        write_bytes(p, b, n);
        assert_rejected(p, "header length");
    }
    free(b);
}

Test(checkpoint, rejects_invalid_json)
{
    const char *p = tmp_path("j.safetensors");
    free_model(save_valid(p));
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    unsigned char *colon = memchr(b + 8, ':', n - 8);
    *colon = ';';
    write_bytes(p, b, n);
    assert_rejected(p, "JSON");
    free(b);
}

Test(checkpoint, rejects_dtype_other_than_f32)
{
    const char *p = tmp_path("f16.safetensors");
    free_model(save_valid(p));
    size_t n, off;
    unsigned char *b = read_bytes(p, &n);
    cJSON *h = header_of(b, &off);
    cJSON *t = cJSON_GetObjectItem(h, "transformer.h.1.mlp.c_fc.bias");
    cJSON_ReplaceItemInObject(t, "dtype", cJSON_CreateString("F16"));
    write_with_header(p, h, b + off, n - off);
    assert_rejected(p, "tensor 'transformer.h.1.mlp.c_fc.bias': dtype 'F16' not supported, only F32");
    cJSON_Delete(h);
    free(b);
}

Test(checkpoint, rejects_shape_that_disagrees_with_config)
{
    const char *p = tmp_path("shape.safetensors");
    free_model(save_valid(p));
    size_t n, off;
    unsigned char *b = read_bytes(p, &n);
    cJSON *h = header_of(b, &off);
    // same element count, transposed: the file is self-consistent, only the model can tell
    cJSON *t = cJSON_GetObjectItem(h, "transformer.h.0.attn.c_attn.weight");
    int transposed[2] = { 16, 48 };
    cJSON_ReplaceItemInObject(t, "shape", cJSON_CreateIntArray(transposed, 2));
    write_with_header(p, h, b + off, n - off);
    assert_rejected(p, "tensor 'transformer.h.0.attn.c_attn.weight': shape [16,48] in file, model expects [48,16]");
    cJSON_Delete(h);
    free(b);
}

Test(checkpoint, rejects_overlapping_offsets)
{
    const char *p = tmp_path("ov.safetensors");
    free_model(save_valid(p));
    size_t n, off;
    unsigned char *b = read_bytes(p, &n);
    cJSON *h = header_of(b, &off);
    // the last tensor slides 4 bytes back into its neighbour, and the data shrinks to match
    shift_offsets(last_tensor(h), -4);
    write_with_header(p, h, b + off, n - off - 4);
    assert_rejected(p, "overlaps");
    cJSON_Delete(h);
    free(b);
}

Test(checkpoint, rejects_hole_between_tensors)
{
    const char *p = tmp_path("hole.safetensors");
    free_model(save_valid(p));
    size_t n, off;
    unsigned char *b = read_bytes(p, &n);
    cJSON *h = header_of(b, &off);
    // the last tensor moves 4 bytes on and the data grows to match: 4 unclaimed bytes before it
    shift_offsets(last_tensor(h), 4);
    unsigned char *data = calloc(1, n - off + 4);
    memcpy(data, b + off, n - off);
    write_with_header(p, h, data, n - off + 4);
    assert_rejected(p, "hole");
    free(data);
    cJSON_Delete(h);
    free(b);
}

Test(checkpoint, rejects_trailing_data_nothing_claims)
{
    const char *p = tmp_path("trail.safetensors");
    free_model(save_valid(p));
    size_t n, off;
    unsigned char *b = read_bytes(p, &n);
    cJSON *h = header_of(b, &off);
    unsigned char *data = calloc(1, n - off + 8);
    memcpy(data, b + off, n - off);
    write_with_header(p, h, data, n - off + 8);
    assert_rejected(p, "data section");
    free(data);
    cJSON_Delete(h);
    free(b);
}

Test(checkpoint, rejects_missing_tensor)
{
    const char *p = tmp_path("miss.safetensors");
    free_model(save_valid(p));
    size_t n, off;
    unsigned char *b = read_bytes(p, &n);
    cJSON *h = header_of(b, &off);
    cJSON *t = cJSON_DetachItemFromObject(h, "transformer.ln_f.bias");
    cJSON_AddItemToObject(h, "transformer.ln_f.bias_renamed", t);
    write_with_header(p, h, b + off, n - off);
    assert_rejected(p, "tensor 'transformer.ln_f.bias' missing");
    cJSON_Delete(h);
    free(b);
}

Test(checkpoint, rejects_config_mismatch_and_leaves_model_untouched)
{
    const char *p = tmp_path("cfg.safetensors");
    Model *wide = new_model(32, 1);
    char err[ERR_MAX] = "";
    cr_assert_eq(ckpt_save(wide, NULL, 1, p, err), 0, "%s", err);
    Model *m = new_model(16, 3), *ref = new_model(16, 3);
    cr_assert_eq(ckpt_load(m, NULL, 1, p, err), -1);
    cr_assert_not_null(strstr(err, "n_embd is 32 in the file, 16 in the model"), "%s", err);
    cr_assert(same_tensors(m, ref, m->params, ref->params), "a failed load changed the model");
    cr_assert(same_tensors(m, ref, m->m, ref->m), "a failed load changed the moments");
    free_model(wide);
    free_model(m);
    free_model(ref);
}

// ---------------------------------------------------------------- saving

Test(checkpoint, failed_save_returns_error_and_keeps_existing_file)
{
    const char *good = tmp_path("good.safetensors");
    Model *m = save_valid(good);
    size_t n0;
    unsigned char *before = read_bytes(good, &n0);

    char bad[300], err[ERR_MAX] = "";
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.safetensors", tmpdir);
    cr_assert_eq(ckpt_save(m, NULL, 1, bad, err), -1);
    cr_assert_eq(strncmp(err, bad, strlen(bad)), 0, "error must start with the path: %s", err);
    cr_assert_not_null(strstr(err, "No such file or directory"), "error must carry errno's text: %s", err);

    // now fail half way through writing over the good file itself: the file-size limit cuts the temp file short
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = n0 / 2;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    m->params[0] += 1.0f;
    int rc = ckpt_save(m, NULL, 1, good, err);
    setrlimit(RLIMIT_FSIZE, &old);
    cr_assert_eq(rc, -1, "a save cut short by the size limit reported success");
    cr_assert_eq(strncmp(err, good, strlen(good)), 0, "%s", err);

    size_t n1;
    unsigned char *after = read_bytes(good, &n1);
    cr_assert_eq(n1, n0);
    cr_assert_eq(memcmp(before, after, n0), 0, "the existing checkpoint was modified");
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while ((e = readdir(d))) cr_assert_null(strstr(e->d_name, ".tmp."), "temp file %s left behind", e->d_name);
    closedir(d);
    free(before);
    free(after);
    free_model(m);
}

Test(checkpoint, save_rejects_reserved_metadata_key)
{
    Model *m = new_model(16, 1);
    TrainState *st = calloc(1, sizeof *st);
    snprintf(st->meta_key[0], sizeof st->meta_key[0], "train.step");
    snprintf(st->meta_val[0], sizeof st->meta_val[0], "5");
    st->n_meta = 1;
    char err[ERR_MAX] = "";
    cr_assert_eq(ckpt_save(m, st, 0, tmp_path("r.safetensors"), err), -1);
    cr_assert_not_null(strstr(err, "reserved"), "%s", err);
    free(st);
    free_model(m);
}

Test(checkpoint, meta_set_replaces_and_refuses_when_full_or_too_long)
{
    TrainState *st = calloc(1, sizeof *st);
    cr_assert_eq(ckpt_meta_set(st, "k", "1"), 0);
    cr_assert_eq(ckpt_meta_set(st, "k", "2"), 0);
    cr_assert_eq(st->n_meta, 1);
    cr_assert_str_eq(ckpt_meta_get(st, "k"), "2");
    cr_assert_null(ckpt_meta_get(st, "absent"));

    char long_key[80];
    memset(long_key, 'a', 79);
    long_key[79] = 0;
    cr_assert_eq(ckpt_meta_set(st, long_key, "x"), -1);
    cr_assert_eq(ckpt_meta_set(st, "model.n_embd", "8"), -1, "reserved keys belong to the checkpoint");

    for (int i = 1; i < CKPT_MAX_META; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        cr_assert_eq(ckpt_meta_set(st, k, "v"), 0);
    }
    cr_assert_eq(ckpt_meta_set(st, "one.too.many", "v"), -1);
    cr_assert_eq(ckpt_meta_set(st, "k5", "replaced"), 0, "replacing must still work when full");
    cr_assert_str_eq(ckpt_meta_get(st, "k5"), "replaced");
    free(st);
}

// ---------------------------------------------------------------- fuzz

// one random change to the header region [0, hdr_end) of b (length *n)
static void mutate(unsigned char *b, size_t *n, size_t hdr_end, uint64_t *s)
{
    static const char json_chars[] = "{}[]\":,0123456789-.eE \\tfnu";
    size_t at = (size_t)rng_int(s, (int)hdr_end);
    switch (rng_int(s, 4)) {
    case 0: b[at] ^= (unsigned char)(1u << rng_int(s, 8)); break;
    case 1: b[at] = (unsigned char)json_chars[rng_int(s, (int)sizeof json_chars - 1)]; break;
    case 2: *n = (size_t)rng_int(s, (int)*n); break;
    default:
        for (int k = rng_int(s, 16); k >= 0 && at < *n; k--, at++) b[at] = (unsigned char)rng_u32(s);
    }
}

Test(checkpoint, fuzzed_headers_load_or_fail_cleanly)
{
    const char *p = tmp_path("fuzz.safetensors");
    free_model(save_valid(p));
    size_t n0, off;
    unsigned char *orig = read_bytes(p, &n0);
    cJSON_Delete(header_of(orig, &off));
    unsigned char *b = malloc(n0);
    Model *m = new_model(16, 7);
    TrainState *st = malloc(sizeof *st);
    uint64_t s = rng_seed(2024);
    int n_rejected = 0;
    for (int it = 0; it < 2000; it++) {
        size_t n = n0;
        memcpy(b, orig, n0);
        for (int k = 1 + rng_int(&s, 3); k > 0; k--) mutate(b, &n, off < n ? off : n ? n : 1, &s);
        write_bytes(p, b, n);
        char err[ERR_MAX] = "";
        int rc = ckpt_load(m, st, 1, p, err);
        cr_assert(rc == 0 || rc == -1, "iteration %d: ckpt_load returned %d", it, rc);
        if (rc == -1) {
            cr_assert_eq(strncmp(err, p, strlen(p)), 0, "iteration %d: %s", it, err);
            n_rejected++;
        }
        ModelConfig cfg;
        rc = ckpt_read_config(p, &cfg, err);
        cr_assert(rc == 0 || rc == -1, "iteration %d: ckpt_read_config returned %d", it, rc);
    }
    // most random damage must be caught; a loader that accepted everything would fail here
    cr_assert_gt(n_rejected, 1500, "only %d of 2000 damaged files rejected", n_rejected);
    free(st);
    free_model(m);
    free(b);
    free(orig);
}
