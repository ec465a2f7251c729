// checkpoint.c: save and load models as safetensors files (layout in checkpoint.h).
// Saving writes a temp file and renames it into place; loading reads the whole
// file, checks the header against the file's size, and only then copies data.
#define _POSIX_C_SOURCE 200809L   // fileno, fsync, O_DIRECTORY, strnlen
#include "model/checkpoint.h"
#include "core/files.h"
#include "core/vocab.h"
#include "model/ops.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint.c writes floats as they lie in memory: a big-endian host needs byte swaps"
#endif

#define CKPT_MAX_HEADER ((size_t)100 << 20)   // bytes of JSON header we are willing to parse
#define CKPT_MAX_NDIM 8

// ---------------------------------------------------------------- metadata keys this module owns

// the integer fields of ModelConfig, in the order they are written
// the integer model.* keys of MODEL_KEYS (model/config.c), in table order; model.position is written apart
static int ckpt_cfg_is_int(size_t i) { return MODEL_KEYS[i].type == KEY_INT; }
#define CKPT_N_CFG_INTS ((size_t)MODEL_N_KEYS)

// keys added after checkpoints were first written: a file without one gets the key's default
static int ckpt_cfg_added_default(size_t i, int *value)
{
    if (!MODEL_KEYS[i].added) return 0;
    *value = atoi(MODEL_KEYS[i].def);
    return 1;
}

// metadata keys the checkpoint writes itself: every model.* key (MODEL_KEYS) and these.
// "vocab" and "gelu_approximate" are for other tools (tools/arithlab_load.py): the
// token strings by id, and the GELU variant; the loader here does not read them.
static const char *const ckpt_reserved[] = {
    "format", "model.rng", "train.step", "train.rng", "train.data_rng", "train.data_pos",
    "vocab", "gelu_approximate",
};
#define CKPT_N_RESERVED (sizeof ckpt_reserved / sizeof ckpt_reserved[0])

static int ckpt_is_reserved(const char *key)
{
    for (size_t i = 0; i < CKPT_N_RESERVED; i++)
        if (strcmp(key, ckpt_reserved[i]) == 0) return 1;
    for (int i = 0; i < MODEL_N_KEYS; i++)
        if (strcmp(key, MODEL_KEYS[i].name) == 0) return 1;
    return 0;
}

static int *cfg_int(ModelConfig *cfg, size_t i) { return (int *)((char *)cfg + MODEL_KEYS[i].offset); }
static int cfg_int_c(const ModelConfig *cfg, size_t i)
{
    return *(const int *)((const char *)cfg + MODEL_KEYS[i].offset);
}
static const char *cfg_str_c(const ModelConfig *cfg, size_t i) { return (const char *)cfg + MODEL_KEYS[i].offset; }

// re-prefix a message left by another module with the checkpoint's path
static int err_prefix(char *err, const char *path)
{
    if (err) {
        char inner[ERR_MAX];
        snprintf(inner, sizeof inner, "%s", err);
        err_set(err, "%s: %s", path, inner);
    }
    return -1;
}

// ---------------------------------------------------------------- saving: header

// counters must be loadable again; the caller's extra metadata must not shadow ours or repeat itself
static int ckpt_check_state(const TrainState *st, const char *path, char *err)
{
    if (st->step < 0 || st->data_pos < 0)
        return err_set(err, "%s: train state has a negative step (%lld) or data_pos (%lld)",
                       path, (long long)st->step, (long long)st->data_pos);
    if (st->n_meta < 0 || st->n_meta > CKPT_MAX_META)
        return err_set(err, "%s: n_meta %d outside 0..%d", path, st->n_meta, CKPT_MAX_META);
    for (int i = 0; i < st->n_meta; i++) {
        const char *k = st->meta_key[i];
        if (strnlen(k, sizeof st->meta_key[i]) == sizeof st->meta_key[i] ||
            strnlen(st->meta_val[i], sizeof st->meta_val[i]) == sizeof st->meta_val[i])
            return err_set(err, "%s: metadata entry %d is not NUL-terminated", path, i);
        if (ckpt_is_reserved(k))
            return err_set(err, "%s: metadata key '%s' is reserved for the checkpoint itself", path, k);
        for (int j = 0; j < i; j++)
            if (strcmp(k, st->meta_key[j]) == 0)
                return err_set(err, "%s: metadata key '%s' appears twice", path, k);
    }
    return 0;
}

static int meta_add_int(cJSON *meta, const char *key, long long v)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", v);
    return cJSON_AddStringToObject(meta, key, s) != NULL;
}

static int meta_add_u64(cJSON *meta, const char *key, uint64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRIu64, v);
    return cJSON_AddStringToObject(meta, key, s) != NULL;
}

// "vocab": a JSON array, as a string (metadata values are strings): the name of
// every id 0..vocab_size-1: the character it stands for ("7", "+", "\n" a newline),
// the special tokens by name ("<pad>", "<bos>", "<eos>", "[NUM]"); ids past the
// shared vocabulary (a model.vocab_size above it) get ""
static int meta_add_vocab(cJSON *meta, int vocab_size)
{
    cJSON *arr = cJSON_CreateArray();
    int ok = arr != NULL;
    for (int i = 0; ok && i < vocab_size; i++) {
        char ch[2] = {(char)task_tok_char(i), 0};
        const char *s = i >= TASK_VOCAB_SIZE ? "" : task_tok_char(i) >= 0 ? ch : task_tok_name(i);
        ok = cJSON_AddItemToArray(arr, cJSON_CreateString(s));
    }
    char *text = ok ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    ok = text && cJSON_AddStringToObject(meta, "vocab", text) != NULL;
    cJSON_free(text);
    return ok;
}

static cJSON *ckpt_meta_json(const Model *m, const TrainState *st)
{
    cJSON *meta = cJSON_CreateObject();
    int ok = meta && cJSON_AddStringToObject(meta, "format", "arithlab") != NULL;
    for (size_t i = 0; ok && i < CKPT_N_CFG_INTS; i++)
        if (ckpt_cfg_is_int(i)) ok = meta_add_int(meta, MODEL_KEYS[i].name, cfg_int_c(&m->cfg, i));
    for (size_t i = 0; ok && i < (size_t)MODEL_N_KEYS; i++)   // model.position, then keys added later
        if (MODEL_KEYS[i].type == KEY_STR)
            ok = cJSON_AddStringToObject(meta, MODEL_KEYS[i].name, cfg_str_c(&m->cfg, i)) != NULL;
    ok = ok && meta_add_vocab(meta, m->cfg.vocab_size);
    ok = ok && cJSON_AddStringToObject(meta, "gelu_approximate", OPS_GELU_APPROXIMATE) != NULL;
    ok = ok && meta_add_u64(meta, "model.rng", m->rng);
    ok = ok && meta_add_int(meta, "train.step", st ? st->step : 0);
    ok = ok && meta_add_u64(meta, "train.rng", st ? st->rng : 0);
    ok = ok && meta_add_u64(meta, "train.data_rng", st ? st->data_rng : 0);
    ok = ok && meta_add_int(meta, "train.data_pos", st ? st->data_pos : 0);
    for (int i = 0; ok && st && i < st->n_meta; i++)
        ok = cJSON_AddStringToObject(meta, st->meta_key[i], st->meta_val[i]) != NULL;
    if (!ok) { cJSON_Delete(meta); return NULL; }
    return meta;
}

// {"dtype":"F32","shape":[...],"data_offsets":[b,e]}; advances *offset_bytes
static int ckpt_add_tensor(cJSON *root, const char *prefix, const ParamInfo *t, size_t *offset_bytes)
{
    char name[160];
    snprintf(name, sizeof name, "%s%s", prefix, t->name);
    size_t end = *offset_bytes + t->numel * sizeof(float);
    cJSON *e = cJSON_CreateObject();
    cJSON *offs = cJSON_CreateArray();
    int ok = e && offs && cJSON_AddItemToObject(root, name, e);
    if (!ok) { cJSON_Delete(e); cJSON_Delete(offs); return 0; }
    ok = cJSON_AddStringToObject(e, "dtype", "F32") &&
         cJSON_AddItemToObject(e, "shape", cJSON_CreateIntArray(t->shape, t->ndim)) &&
         cJSON_AddItemToObject(e, "data_offsets", offs);
    if (!ok) { cJSON_Delete(offs); return 0; }   // e now belongs to root
    ok = cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)*offset_bytes)) &&
         cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)end));
    *offset_bytes = end;
    return ok;
}

// the JSON header, padded with spaces to a multiple of 8 bytes; NULL on no memory
static char *ckpt_header_text(const Model *m, const TrainState *st, int with_optimizer, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = ckpt_meta_json(m, st);
    if (!root || !meta || !cJSON_AddItemToObject(root, "__metadata__", meta)) {
        cJSON_Delete(root);
        cJSON_Delete(meta);
        return NULL;
    }
    static const char *const prefixes[3] = { "", "optim.m.", "optim.v." };
    size_t offset = 0;
    int ok = 1;
    for (int pass = 0; ok && pass < (with_optimizer ? 3 : 1); pass++)
        for (int i = 0; ok && i < m->n_tensors; i++)
            ok = ckpt_add_tensor(root, prefixes[pass], &m->tensors[i], &offset);
    char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json) return NULL;
    size_t n = strlen(json), padded = (n + 7) / 8 * 8;
    char *text = malloc(padded);
    if (text) {
        memcpy(text, json, n);
        memset(text + n, ' ', padded - n);
        *len = padded;
    }
    cJSON_free(json);
    return text;
}

// ---------------------------------------------------------------- saving: the file

static int ckpt_write_all(FILE *f, const Model *m, int with_optimizer, const char *hdr, size_t hlen)
{
    unsigned char n8[8];
    for (int i = 0; i < 8; i++) n8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if (fwrite(n8, 1, 8, f) != 8 || fwrite(hdr, 1, hlen, f) != hlen) return -1;
    const float *arenas[3] = { m->params, m->m, m->v };
    for (int pass = 0; pass < (with_optimizer ? 3 : 1); pass++)
        for (int i = 0; i < m->n_tensors; i++) {
            const ParamInfo *t = &m->tensors[i];
            if (fwrite(arenas[pass] + t->offset, sizeof(float), t->numel, f) != t->numel) return -1;
        }
    return 0;
}

// make the rename itself durable; filesystems that cannot sync a directory say EINVAL
static int fsync_parent_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd), e = errno;
    close(fd);
    errno = e;
    return rc == 0 || e == EINVAL || e == EROFS ? 0 : -1;
}

int ckpt_save(const Model *m, const TrainState *st, int with_optimizer, const char *path, char *err)
{
    if (with_optimizer && (!m->m || !m->v))
        return err_set(err, "%s: asked to save optimizer moments, but the model has none", path);
    if (st && ckpt_check_state(st, path, err) != 0) return -1;
    size_t hlen;
    char *hdr = ckpt_header_text(m, st, with_optimizer, &hlen);
    if (!hdr) return err_set(err, "%s: out of memory building the header", path);

    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    if (!tmp) { free(hdr); return err_set(err, "%s: out of memory", path); }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());

    int rc = -1;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        err_set(err, "%s: cannot create temp file %s: %s", path, tmp, strerror(errno));
        goto out;
    }
    int ok = ckpt_write_all(f, m, with_optimizer, hdr, hlen) == 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    if (fclose(f) != 0 && ok) { ok = 0; e = errno; }
    if (!ok) {
        remove(tmp);
        err_set(err, "%s: writing temp file %s failed: %s", path, tmp, strerror(e));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        remove(tmp);
        err_set(err, "%s: cannot rename %s into place: %s", path, tmp, strerror(e));
        goto out;
    }
    if (fsync_parent_dir(path) != 0) {
        err_set(err, "%s: written, but syncing its directory failed: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(tmp);
    free(hdr);
    return rc;
}

// ---------------------------------------------------------------- loading: the file and its header
// Everything here is checked before anything is trusted.

typedef struct {
    const char *name;        // points into the cJSON tree
    int ndim;
    int64_t shape[CKPT_MAX_NDIM];
    size_t begin, end;       // bytes, relative to the data section
    int used;
} CkptEntry;

typedef struct {
    unsigned char *buf;      // the whole file
    size_t size;
    const unsigned char *data;
    size_t data_len;
    cJSON *root;
    const cJSON *meta;       // "__metadata__" or NULL
    CkptEntry *e;            // tensors, sorted by name
    int n;
} CkptFile;

static void ckpt_file_close(CkptFile *f)
{
    cJSON_Delete(f->root);
    free(f->buf);
    free(f->e);
    memset(f, 0, sizeof *f);
}

static int ckpt_slurp(const char *path, CkptFile *f, char *err)
{
    FILE *fp = files_open_regular(path, "checkpoint (.safetensors)", err);
    if (!fp) return -1;
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return err_set(err, "%s: not a regular file", path);
    }
    f->size = (size_t)sb.st_size;
    f->buf = malloc(f->size ? f->size : 1);
    if (!f->buf) { fclose(fp); return err_set(err, "%s: out of memory reading %zu bytes", path, f->size); }
    size_t got = fread(f->buf, 1, f->size, fp);
    fclose(fp);
    if (got != f->size) return err_set(err, "%s: read %zu of %zu bytes", path, got, f->size);
    return 0;
}

// header length, JSON parse, trailing padding; sets f->root, f->data, f->data_len
static int ckpt_parse_header(const char *path, CkptFile *f, char *err)
{
    if (f->size < 8)
        return err_set(err, "%s: %zu bytes, shorter than the 8-byte header length", path, f->size);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)f->buf[i] << (8 * i);
    if (n > f->size - 8)
        return err_set(err, "%s: header length %" PRIu64 " runs past the end of the file (%zu bytes)",
                       path, n, f->size);
    if (n > CKPT_MAX_HEADER)
        return err_set(err, "%s: header length %" PRIu64 " exceeds the %zu-byte limit", path, n, CKPT_MAX_HEADER);
    // a NUL-terminated copy, so that no parser can run past the header
    char *text = malloc((size_t)n + 1);
    if (!text) return err_set(err, "%s: out of memory", path);
    memcpy(text, f->buf + 8, (size_t)n);
    text[n] = 0;
    const char *end = NULL;
    f->root = cJSON_ParseWithLengthOpts(text, (size_t)n, &end, 0);
    size_t parsed = f->root && end ? (size_t)(end - text) : 0;
    int trailing = 0;
    for (size_t i = parsed; f->root && i < n; i++)
        if (!strchr(" \t\r\n", text[i]) || text[i] == 0) trailing = 1;
    free(text);
    if (!f->root) return err_set(err, "%s: header is not valid JSON", path);
    if (trailing) return err_set(err, "%s: header has bytes after its JSON other than space padding", path);
    if (!cJSON_IsObject(f->root)) return err_set(err, "%s: header is not a JSON object", path);
    f->data = f->buf + 8 + n;
    f->data_len = f->size - 8 - (size_t)n;
    return 0;
}

// a JSON number that is an integer in [0, max]
static int json_uint(const cJSON *j, double max, size_t *out)
{
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= max) || d != floor(d)) return 0;
    *out = (size_t)d;
    return 1;
}

static int ckpt_parse_entry(const char *path, const cJSON *item, size_t data_len, CkptEntry *e, char *err)
{
    const char *name = item->string;
    memset(e, 0, sizeof *e);
    e->name = name;
    if (!cJSON_IsObject(item)) return err_set(err, "%s: tensor '%s': entry is not an object", path, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dtype)) return err_set(err, "%s: tensor '%s': no dtype string", path, name);
    if (strcmp(dtype->valuestring, "F32") != 0)
        return err_set(err, "%s: tensor '%s': dtype '%s' not supported, only F32", path, name, dtype->valuestring);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > CKPT_MAX_NDIM)
        return err_set(err, "%s: tensor '%s': shape is not an array of at most %d ints", path, name, CKPT_MAX_NDIM);
    size_t numel = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        size_t v;
        if (!json_uint(d, INT_MAX, &v))
            return err_set(err, "%s: tensor '%s': shape holds something other than a non-negative int", path, name);
        if (v && numel > SIZE_MAX / sizeof(float) / v)
            return err_set(err, "%s: tensor '%s': shape overflows", path, name);
        numel *= v;
        e->shape[e->ndim++] = (int64_t)v;
    }
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_uint(cJSON_GetArrayItem(offs, 0), (double)data_len, &e->begin) ||
        !json_uint(cJSON_GetArrayItem(offs, 1), (double)data_len, &e->end) || e->begin > e->end)
        return err_set(err, "%s: tensor '%s': data_offsets is not [begin,end] with begin <= end <= %zu",
                       path, name, data_len);
    if (e->end - e->begin != numel * sizeof(float))
        return err_set(err, "%s: tensor '%s': data_offsets span %zu bytes, shape needs %zu",
                       path, name, e->end - e->begin, numel * sizeof(float));
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const CkptEntry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const CkptEntry *)a)->name, ((const CkptEntry *)b)->name);
}

// tensors tile the data section exactly: no holes, no overlaps, no bytes left over
static int ckpt_check_layout(const char *path, CkptEntry *e, int n, size_t data_len, char *err)
{
    qsort(e, (size_t)n, sizeof *e, cmp_begin);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        if (e[i].begin > at)
            return err_set(err, "%s: %zu-byte hole in the data before tensor '%s' (bytes %zu..%zu)",
                           path, e[i].begin - at, e[i].name, at, e[i].begin);
        if (e[i].begin < at)
            return err_set(err, "%s: tensor '%s' (bytes %zu..%zu) overlaps tensor '%s'",
                           path, e[i].name, e[i].begin, e[i].end, e[i - 1].name);
        at = e[i].end;
    }
    if (at != data_len)
        return err_set(err, "%s: tensors cover %zu bytes, but the data section has %zu", path, at, data_len);
    qsort(e, (size_t)n, sizeof *e, cmp_name);
    for (int i = 1; i < n; i++)
        if (strcmp(e[i].name, e[i - 1].name) == 0)
            return err_set(err, "%s: tensor '%s' appears twice", path, e[i].name);
    return 0;
}

static int ckpt_check_meta(const char *path, const cJSON *meta, char *err)
{
    if (!cJSON_IsObject(meta)) return err_set(err, "%s: __metadata__ is not an object", path);
    int k = 0;
    const cJSON *a, *b;
    cJSON_ArrayForEach(a, meta) {
        if (++k > (int)(CKPT_N_RESERVED + CKPT_MAX_META))
            return err_set(err, "%s: more than %d __metadata__ entries", path, (int)(CKPT_N_RESERVED + CKPT_MAX_META));
        if (!a->string || !cJSON_IsString(a))
            return err_set(err, "%s: __metadata__ '%s' is not a string", path, a->string ? a->string : "");
        for (b = meta->child; b != a; b = b->next)
            if (strcmp(a->string, b->string) == 0)
                return err_set(err, "%s: __metadata__ key '%s' appears twice", path, a->string);
    }
    return 0;
}

// read and check everything that does not depend on the model
static int ckpt_file_open(const char *path, CkptFile *f, char *err)
{
    memset(f, 0, sizeof *f);
    if (ckpt_slurp(path, f, err) != 0 || ckpt_parse_header(path, f, err) != 0) goto fail;
    int n_items = cJSON_GetArraySize(f->root);
    f->e = malloc((size_t)(n_items ? n_items : 1) * sizeof *f->e);
    if (!f->e) { err_set(err, "%s: out of memory", path); goto fail; }
    const cJSON *item;
    cJSON_ArrayForEach(item, f->root) {
        if (!item->string) { err_set(err, "%s: header entry without a name", path); goto fail; }
        if (strcmp(item->string, "__metadata__") == 0) {
            if (f->meta) { err_set(err, "%s: __metadata__ appears twice", path); goto fail; }
            f->meta = item;
            if (ckpt_check_meta(path, item, err) != 0) goto fail;
        } else if (ckpt_parse_entry(path, item, f->data_len, &f->e[f->n++], err) != 0) {
            goto fail;
        }
    }
    if (ckpt_check_layout(path, f->e, f->n, f->data_len, err) != 0) goto fail;
    return 0;
fail:
    ckpt_file_close(f);
    return -1;
}

// ---------------------------------------------------------------- loading: metadata

static const char *meta_str(const cJSON *meta, const char *key)
{
    const cJSON *j = meta ? cJSON_GetObjectItemCaseSensitive(meta, key) : NULL;
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

// strict decimal: digits only, no sign or spaces, value <= max
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s) return 0;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned digit = (unsigned)(*s - '0');
        if (v > (max - digit) / 10) return 0;
        v = v * 10 + digit;
    }
    *out = v;
    return 1;
}

// an optional u64 key: absent leaves *out alone; present must parse
static int meta_u64(const char *path, const cJSON *meta, const char *key, uint64_t max, uint64_t *out, char *err)
{
    const char *s = meta_str(meta, key);
    if (s && !parse_u64(s, max, out))
        return err_set(err, "%s: metadata %s = '%s' is not a decimal integer in 0..%" PRIu64, path, key, s, max);
    return 0;
}

static int ckpt_parse_config(const char *path, const cJSON *meta, ModelConfig *cfg, char *err)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < CKPT_N_CFG_INTS; i++) {
        if (!ckpt_cfg_is_int(i)) continue;
        const char *key = MODEL_KEYS[i].name, *s = meta_str(meta, key);
        uint64_t v;
        int lo = (int)MODEL_KEYS[i].lo, hi = (int)MODEL_KEYS[i].hi;
        if (!s && ckpt_cfg_added_default(i, cfg_int(cfg, i))) continue;
        if (!s) return err_set(err, "%s: metadata lacks %s", path, key);
        if (!parse_u64(s, (uint64_t)hi, &v) || v < (uint64_t)lo)
            return err_set(err, "%s: metadata %s = '%s' is not an integer in %d..%d", path, key, s, lo, hi);
        *cfg_int(cfg, i) = (int)v;
    }
    // the text keys (model.position, model.head, ...); a file without an added one gets its default
    for (size_t i = 0; i < (size_t)MODEL_N_KEYS; i++) {
        const key_def_t *k = &MODEL_KEYS[i];
        if (k->type != KEY_STR) continue;
        const char *v = meta_str(meta, k->name);
        if (!v && k->added) v = k->def;
        if (!v || !*v || strlen(v) >= k->size)
            return err_set(err, "%s: metadata %s missing, empty or longer than %zu bytes", path, k->name, k->size - 1);
        strcpy((char *)cfg + k->offset, v);
    }
    if (model_config_validate(cfg, err) != 0) return err_prefix(err, path);
    return 0;
}

static int ckpt_config_diff(const char *path, const ModelConfig *file, const ModelConfig *model, char *err)
{
    for (size_t i = 0; i < CKPT_N_CFG_INTS; i++)
        if (ckpt_cfg_is_int(i) && cfg_int_c(file, i) != cfg_int_c(model, i))
            return err_set(err, "%s: config differs from the model: %s is %d in the file, %d in the model",
                           path, MODEL_KEYS[i].name + 6, cfg_int_c(file, i), cfg_int_c(model, i));
    for (size_t i = 0; i < (size_t)MODEL_N_KEYS; i++)
        if (MODEL_KEYS[i].type == KEY_STR && strcmp(cfg_str_c(file, i), cfg_str_c(model, i)) != 0)
            return err_set(err, "%s: config differs from the model: %s is '%s' in the file, '%s' in the model",
                           path, MODEL_KEYS[i].name + 6, cfg_str_c(file, i), cfg_str_c(model, i));
    return 0;
}

// train state, the model RNG and the caller's extra keys
static int ckpt_parse_state(const char *path, const cJSON *meta, TrainState *st, uint64_t *model_rng, char *err)
{
    memset(st, 0, sizeof *st);
    uint64_t step = 0, pos = 0;
    if (meta_u64(path, meta, "train.step", (uint64_t)CKPT_MAX_STEP, &step, err) ||
        meta_u64(path, meta, "train.data_pos", (uint64_t)CKPT_MAX_STEP << 20, &pos, err) ||
        meta_u64(path, meta, "train.rng", UINT64_MAX, &st->rng, err) ||
        meta_u64(path, meta, "train.data_rng", UINT64_MAX, &st->data_rng, err) ||
        meta_u64(path, meta, "model.rng", UINT64_MAX, model_rng, err))
        return -1;
    st->step = (int64_t)step;
    st->data_pos = (int64_t)pos;
    const cJSON *j;
    cJSON_ArrayForEach(j, meta) {
        if (ckpt_is_reserved(j->string)) continue;
        if (st->n_meta == CKPT_MAX_META)
            return err_set(err, "%s: more than %d extra metadata keys", path, CKPT_MAX_META);
        if (strlen(j->string) >= sizeof st->meta_key[0] || strlen(j->valuestring) >= sizeof st->meta_val[0])
            return err_set(err, "%s: metadata '%.64s' too long (keys < %zu bytes, values < %zu)",
                           path, j->string, sizeof st->meta_key[0], sizeof st->meta_val[0]);
        strcpy(st->meta_key[st->n_meta], j->string);
        strcpy(st->meta_val[st->n_meta], j->valuestring);
        st->n_meta++;
    }
    return 0;
}

// ---------------------------------------------------------------- loading: tensors

static CkptEntry *ckpt_find(CkptFile *f, const char *prefix, const char *name)
{
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    CkptEntry key = { .name = full };
    return bsearch(&key, f->e, (size_t)f->n, sizeof *f->e, cmp_name);
}

static void shape_str(char *out, size_t cap, int ndim, const int64_t *shape)
{
    int n = snprintf(out, cap, "[");
    for (int d = 0; d < ndim && n < (int)cap; d++)
        n += snprintf(out + n, cap - n, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (n < (int)cap) snprintf(out + n, cap - n, "]");
}

static int ckpt_check_shape(const char *path, const CkptEntry *e, const ParamInfo *t, char *err)
{
    int same = e->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = e->shape[d] == t->shape[d];
    if (same) return 0;
    int64_t want[4];
    for (int d = 0; d < t->ndim && d < 4; d++) want[d] = t->shape[d];
    char a[128], b[128];
    shape_str(a, sizeof a, e->ndim, e->shape);
    shape_str(b, sizeof b, t->ndim, want);
    return err_set(err, "%s: tensor '%s': shape %s in file, model expects %s", path, e->name, a, b);
}

// pair every model tensor (and moment) with its entry; *n_moments counts those present
static int ckpt_match(const char *path, const Model *m, CkptFile *f, CkptEntry **ent, int *n_moments, char *err)
{
    static const char *const prefixes[3] = { "", "optim.m.", "optim.v." };
    *n_moments = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < m->n_tensors; i++) {
            CkptEntry *e = ckpt_find(f, prefixes[pass], m->tensors[i].name);
            ent[pass * m->n_tensors + i] = e;
            if (!e) {
                if (pass == 0) return err_set(err, "%s: tensor '%s' missing", path, m->tensors[i].name);
                continue;
            }
            if (ckpt_check_shape(path, e, &m->tensors[i], err) != 0) return -1;
            e->used = 1;
            *n_moments += pass > 0;
        }
    for (int i = 0; i < f->n; i++)
        if (!f->e[i].used) return err_set(err, "%s: unknown tensor '%s'", path, f->e[i].name);
    if (*n_moments != 0 && *n_moments != 2 * m->n_tensors)
        return err_set(err, "%s: optimizer moments present for some tensors only (%d of %d)",
                       path, *n_moments, 2 * m->n_tensors);
    return 0;
}

// NaN/Inf in a tensor the load would copy: -1 + err naming it (checked once, at load,
// so that eval, solve, probes and logits never report on a broken model)
static int ckpt_check_finite(const char *path, const ParamInfo *t, const CkptFile *f, const CkptEntry *e, char *err)
{
    const float *x = (const float *)(const void *)(f->data + e->begin);
    for (size_t i = 0; i < t->numel; i++) {
        float v;
        memcpy(&v, x + i, sizeof v);
        if (!isfinite(v))
            return err_set(err, "%s: tensor '%s' holds %s at element %zu of %zu: the weights are not finite "
                           "(a diverged or damaged checkpoint); accepted only finite values",
                           path, e->name, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", i, (size_t)t->numel);
    }
    return 0;
}

static void ckpt_copy(float *arena, const ParamInfo *t, const CkptFile *f, const CkptEntry *e)
{
    memcpy(arena + t->offset, f->data + e->begin, t->numel * sizeof(float));
}

// ---------------------------------------------------------------- public

int ckpt_read_config(const char *path, ModelConfig *cfg, char *err)
{
    CkptFile f;
    if (ckpt_file_open(path, &f, err) != 0) return -1;
    int rc = ckpt_parse_config(path, f.meta, cfg, err);
    ckpt_file_close(&f);
    return rc;
}

int ckpt_read_state(const char *path, TrainState *st, char *err)
{
    CkptFile f;
    if (ckpt_file_open(path, &f, err) != 0) return -1;
    uint64_t model_rng = 0;
    int rc = ckpt_parse_state(path, f.meta, st, &model_rng, err);
    ckpt_file_close(&f);
    return rc;
}

int ckpt_load(Model *m, TrainState *st, int want_optimizer, const char *path, char *err)
{
    CkptFile f;
    if (ckpt_file_open(path, &f, err) != 0) return -1;
    ModelConfig cfg;
    uint64_t model_rng = m->rng;
    int n_moments = 0, rc = -1;
    CkptEntry **ent = calloc((size_t)(3 * m->n_tensors + 1), sizeof *ent);
    TrainState *state = malloc(sizeof *state);
    if (!ent || !state) { err_set(err, "%s: out of memory", path); goto out; }
    if (ckpt_parse_config(path, f.meta, &cfg, err) != 0 || ckpt_config_diff(path, &cfg, &m->cfg, err) != 0 ||
        ckpt_match(path, m, &f, ent, &n_moments, err) != 0 ||
        ckpt_parse_state(path, f.meta, state, &model_rng, err) != 0)
        goto out;

    int nt = m->n_tensors;
    for (int i = 0; i < (want_optimizer && n_moments ? 3 : 1) * nt; i++)
        if (ckpt_check_finite(path, &m->tensors[i % nt], &f, ent[i], err)) goto out;

    // everything checked: only now touch the model
    for (int i = 0; i < nt; i++) ckpt_copy(m->params, &m->tensors[i], &f, ent[i]);
    if (want_optimizer && m->m && m->v) {
        if (n_moments) {
            for (int i = 0; i < nt; i++) {
                ckpt_copy(m->m, &m->tensors[i], &f, ent[nt + i]);
                ckpt_copy(m->v, &m->tensors[i], &f, ent[2 * nt + i]);
            }
        } else {
            memset(m->m, 0, m->n_params * sizeof(float));
            memset(m->v, 0, m->n_params * sizeof(float));
        }
    }
    m->rng = model_rng;
    state->has_optimizer = n_moments > 0;
    if (st) *st = *state;
    rc = 0;
out:
    free(state);
    free(ent);
    ckpt_file_close(&f);
    return rc;
}

int ckpt_build_model(Model *m, TrainState *st, int want_optimizer, const char *path, int B_max, int T_max, char *err)
{
    ModelConfig cfg;
    if (ckpt_read_config(path, &cfg, err) != 0) return -1;
    if (model_build(m, &cfg, B_max, T_max, 0, err) != 0) return err_prefix(err, path);
    if (ckpt_load(m, st, want_optimizer, path, err) != 0) {
        model_free(m);
        return -1;
    }
    return 0;
}

const char *ckpt_meta_get(const TrainState *st, const char *key)
{
    for (int i = 0; st && i < st->n_meta; i++)
        if (strcmp(st->meta_key[i], key) == 0) return st->meta_val[i];
    return NULL;
}

int ckpt_meta_set(TrainState *st, const char *key, const char *val)
{
    if (!*key || strlen(key) >= sizeof st->meta_key[0] || strlen(val) >= sizeof st->meta_val[0] ||
        ckpt_is_reserved(key))
        return -1;
    int i = 0;
    while (i < st->n_meta && strcmp(st->meta_key[i], key) != 0) i++;
    if (i == CKPT_MAX_META) return -1;
    strcpy(st->meta_key[i], key);
    strcpy(st->meta_val[i], val);
    if (i == st->n_meta) st->n_meta++;
    return 0;
}
