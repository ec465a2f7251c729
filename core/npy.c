// npy.c: read and write NumPy .npy files (format 1.0, 2.0 and 3.0; '<f4',
// '<i4', '<i8'; C order). The reader trusts nothing in the file: every length
// is checked against the bytes actually read before it is used.
#define _POSIX_C_SOURCE 200809L   // fileno, fstat
#include "core/npy.h"
#include "core/common.h"
#include "core/files.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c copies little-endian data as is: a big-endian host needs byte swaps"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_NDIM 8
#define NPY_MAX_HEADER (1u << 20)   // numpy itself refuses headers much past 10 KB

// ---------------------------------------------------------------- dtypes

static const struct { const char *descr; npy_dtype_t dtype; size_t size; } npy_dtypes[] = {
    { "<f4", NPY_F32, 4 },
    { "<i4", NPY_I32, 4 },
    { "<i8", NPY_I64, 8 },
};
#define NPY_N_DTYPES (sizeof npy_dtypes / sizeof npy_dtypes[0])

static size_t npy_dtype_size(npy_dtype_t t)
{
    for (size_t i = 0; i < NPY_N_DTYPES; i++)
        if (npy_dtypes[i].dtype == t) return npy_dtypes[i].size;
    return 0;
}

// ---------------------------------------------------------------- whole-file read

static int npy_slurp(const char *path, unsigned char **buf, size_t *size, char *err)
{
    FILE *f = files_open_regular(path, ".npy", err);
    if (!f) return -1;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return err_set(err, "%s: not a regular file", path);
    }
    size_t n = (size_t)sb.st_size;
    unsigned char *b = malloc(n ? n : 1);
    if (!b) { fclose(f); return err_set(err, "%s: out of memory reading %zu bytes", path, n); }
    size_t got = fread(b, 1, n, f);
    fclose(f);
    if (got != n) { free(b); return err_set(err, "%s: read %zu of %zu bytes", path, got, n); }
    *buf = b;
    *size = n;
    return 0;
}

// ---------------------------------------------------------------- header dict
// "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
// A tiny parser for exactly this Python-literal subset: strings, True/False, tuples of ints.

typedef struct {
    const char *s, *end;
} Cursor;

static void cur_skip_ws(Cursor *c)
{
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r')) c->s++;
}

static int cur_eat(Cursor *c, char ch)
{
    cur_skip_ws(c);
    if (c->s < c->end && *c->s == ch) { c->s++; return 1; }
    return 0;
}

// quoted string (' or ") into out (NUL-terminated, cap bytes); 0 on failure
static int cur_string(Cursor *c, char *out, size_t cap)
{
    cur_skip_ws(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"')) return 0;
    char q = *c->s++;
    size_t n = 0;
    while (c->s < c->end && *c->s != q) {
        if (n + 1 >= cap) return 0;
        out[n++] = *c->s++;
    }
    if (c->s >= c->end) return 0;
    c->s++;
    out[n] = 0;
    return 1;
}

static int cur_word(Cursor *c, const char *w)
{
    cur_skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->s) >= n && memcmp(c->s, w, n) == 0) { c->s += n; return 1; }
    return 0;
}

// "(3, 4)", "(3,)", "()"; 0 on failure
static int cur_shape(Cursor *c, int64_t *shape, int *ndim)
{
    if (!cur_eat(c, '(')) return 0;
    *ndim = 0;
    for (;;) {
        if (cur_eat(c, ')')) return 1;
        cur_skip_ws(c);
        if (c->s >= c->end || *c->s < '0' || *c->s > '9' || *ndim >= NPY_MAX_NDIM) return 0;
        int64_t v = 0;
        while (c->s < c->end && *c->s >= '0' && *c->s <= '9') {
            if (v > (INT64_MAX - 9) / 10) return 0;
            v = v * 10 + (*c->s++ - '0');
        }
        shape[(*ndim)++] = v;
        if (!cur_eat(c, ',')) return cur_eat(c, ')');
    }
}

typedef struct {
    char descr[16];
    int fortran_order;
    int64_t shape[NPY_MAX_NDIM];
    int ndim;
    int have_descr, have_order, have_shape;
} NpyHeader;

static int npy_parse_dict(const char *path, const char *s, size_t n, NpyHeader *h, char *err)
{
    Cursor c = { s, s + n };
    memset(h, 0, sizeof *h);
    if (!cur_eat(&c, '{')) return err_set(err, "%s: header is not a dict", path);
    while (!cur_eat(&c, '}')) {
        char key[32];
        if (!cur_string(&c, key, sizeof key) || !cur_eat(&c, ':'))
            return err_set(err, "%s: malformed header dict", path);
        if (strcmp(key, "descr") == 0) {
            if (!cur_string(&c, h->descr, sizeof h->descr))
                return err_set(err, "%s: 'descr' is not a short string (accepted: '<f4', '<i4', '<i8')", path);
            h->have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (cur_word(&c, "True")) h->fortran_order = 1;
            else if (cur_word(&c, "False")) h->fortran_order = 0;
            else return err_set(err, "%s: 'fortran_order' is not True or False", path);
            h->have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!cur_shape(&c, h->shape, &h->ndim))
                return err_set(err, "%s: 'shape' is not a tuple of at most %d non-negative ints", path, NPY_MAX_NDIM);
            h->have_shape = 1;
        } else {
            return err_set(err, "%s: unexpected header key '%s' (expected descr, fortran_order, shape)", path, key);
        }
        if (!cur_eat(&c, ',')) {
            if (!cur_eat(&c, '}')) return err_set(err, "%s: malformed header dict", path);
            break;
        }
    }
    if (!h->have_descr || !h->have_order || !h->have_shape)
        return err_set(err, "%s: header lacks one of descr, fortran_order, shape", path);
    return 0;
}

// ---------------------------------------------------------------- reading

// magic, version and header length: the dict is at b[*hstart .. *hstart + *hlen)
static int npy_parse_prefix(const char *path, const unsigned char *b, size_t size,
                            size_t *hstart, size_t *hlen, char *err)
{
    if (size < 10 || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return err_set(err, "%s: not a .npy file (no \\x93NUMPY magic)", path);
    int major = b[6];
    if (major == 1) {
        *hstart = 10;
        *hlen = (size_t)b[8] | (size_t)b[9] << 8;
    } else if (major == 2 || major == 3) {
        if (size < 12) return err_set(err, "%s: truncated: %zu bytes, shorter than the 12-byte prefix", path, size);
        *hstart = 12;
        *hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    } else {
        return err_set(err, "%s: .npy format version %d.%d not supported (accepted: 1.0, 2.0, 3.0)", path, major, b[7]);
    }
    if (*hlen > NPY_MAX_HEADER || *hlen > size - *hstart)
        return err_set(err, "%s: header length %zu runs past the end of the file (%zu bytes)", path, *hlen, size);
    return 0;
}

static int npy_check_header(const char *path, const NpyHeader *h, NpyArray *out, char *err)
{
    size_t i;
    for (i = 0; i < NPY_N_DTYPES; i++)
        if (strcmp(h->descr, npy_dtypes[i].descr) == 0) break;
    if (i == NPY_N_DTYPES)
        return err_set(err, "%s: dtype '%s' not supported (accepted: '<f4', '<i4', '<i8')", path, h->descr);
    if (h->fortran_order)
        return err_set(err, "%s: fortran_order is True; only C-order arrays are accepted "
                       "(save with np.ascontiguousarray)", path);
    out->dtype = npy_dtypes[i].dtype;
    out->ndim = h->ndim;
    size_t numel = 1;
    for (int d = 0; d < h->ndim; d++) {
        if (h->shape[d] != 0 && numel > SIZE_MAX / npy_dtypes[i].size / (size_t)h->shape[d])
            return err_set(err, "%s: shape too large", path);
        numel *= (size_t)h->shape[d];
        out->shape[d] = h->shape[d];
    }
    out->numel = numel;
    return 0;
}

int npy_read(const char *path, NpyArray *out, char *err)
{
    memset(out, 0, sizeof *out);
    unsigned char *b = NULL;
    size_t size = 0, hstart = 0, hlen = 0;
    if (npy_slurp(path, &b, &size, err) != 0) return -1;
    NpyHeader h;
    NpyArray a = { 0 };
    if (npy_parse_prefix(path, b, size, &hstart, &hlen, err) != 0 ||
        npy_parse_dict(path, (const char *)b + hstart, hlen, &h, err) != 0 ||
        npy_check_header(path, &h, &a, err) != 0) {
        free(b);
        return -1;
    }
    size_t nbytes = a.numel * npy_dtype_size(a.dtype);
    size_t have = size - hstart - hlen;
    if (have != nbytes) {
        free(b);
        return err_set(err, "%s: %zu data bytes, shape and dtype need %zu (%s)", path, have, nbytes,
                       have < nbytes ? "truncated" : "trailing bytes");
    }
    a.data = malloc(nbytes ? nbytes : 1);
    if (!a.data) { free(b); return err_set(err, "%s: out of memory (%zu bytes)", path, nbytes); }
    memcpy(a.data, b + hstart + hlen, nbytes);
    free(b);
    *out = a;
    return 0;
}

void npy_free(NpyArray *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int npy_read_tokens(const char *path, int **tokens, int *B, int *T, char *err)
{
    NpyArray a;
    if (npy_read(path, &a, err) != 0) return -1;
    if (a.dtype != NPY_I32 && a.dtype != NPY_I64) {
        npy_free(&a);
        return err_set(err, "%s: tokens must be int32 or int64 ('<i4', '<i8'), found float32", path);
    }
    if (a.ndim != 1 && a.ndim != 2) {
        int nd = a.ndim;
        npy_free(&a);
        return err_set(err, "%s: tokens must have shape (B,T) or (T,), found %d dimensions", path, nd);
    }
    int64_t b64 = a.ndim == 2 ? a.shape[0] : 1, t64 = a.shape[a.ndim - 1];
    if (b64 < 1 || t64 < 1 || b64 > INT_MAX || t64 > INT_MAX) {
        npy_free(&a);
        return err_set(err, "%s: token batch shape (%lld,%lld) is empty or too large", path,
                        (long long)b64, (long long)t64);
    }
    int *out = malloc(a.numel * sizeof *out);
    if (!out) { npy_free(&a); return err_set(err, "%s: out of memory", path); }
    for (size_t i = 0; i < a.numel; i++) {
        int64_t v = a.dtype == NPY_I32 ? ((const int32_t *)a.data)[i] : ((const int64_t *)a.data)[i];
        if (v < INT_MIN || v > INT_MAX) {
            free(out);
            npy_free(&a);
            return err_set(err, "%s: token %zu is %lld, outside the int range", path, i, (long long)v);
        }
        out[i] = (int)v;
    }
    npy_free(&a);
    *tokens = out;
    *B = (int)b64;
    *T = (int)t64;
    return 0;
}

// ---------------------------------------------------------------- writing
// Format 1.0; the prefix is padded to a multiple of 64 bytes, as numpy does.

static int npy_write(const char *path, const char *descr, const void *data, size_t elsize,
                     int ndim, const int64_t *shape, char *err)
{
    if (ndim < 0 || ndim > NPY_MAX_NDIM)
        return err_set(err, "%s: ndim %d not supported (0..%d)", path, ndim, NPY_MAX_NDIM);
    char shp[256];
    size_t numel = 1;
    int n = snprintf(shp, sizeof shp, "(");
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return err_set(err, "%s: negative shape[%d] = %lld", path, d, (long long)shape[d]);
        numel *= (size_t)shape[d];
        n += snprintf(shp + n, sizeof shp - n, d ? ", %lld" : "%lld", (long long)shape[d]);
    }
    snprintf(shp + n, sizeof shp - n, ndim == 1 ? ",)" : ")");

    char hdr[512];
    int len = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shp);
    int total = 10 + len + 1;                     // prefix + dict + '\n'
    int pad = (64 - total % 64) % 64;
    memset(hdr + len, ' ', pad);
    hdr[len + pad] = '\n';
    size_t hlen = (size_t)len + pad + 1;

    unsigned char prefix[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                 (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8) };
    FILE *f = files_atomic_open(path, err);   // written whole or not at all (core/files.h)
    if (!f) return -1;
    fwrite(prefix, 1, 10, f);
    fwrite(hdr, 1, hlen, f);
    if (numel) fwrite(data, elsize, numel, f);
    return files_atomic_commit(f, path, err);   // a short fwrite leaves ferror set
}

int npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape, char *err)
{
    return npy_write(path, "<f4", data, sizeof(float), ndim, shape, err);
}

int npy_write_i32(const char *path, const int32_t *data, int ndim, const int64_t *shape, char *err)
{
    return npy_write(path, "<i4", data, sizeof(int32_t), ndim, shape, err);
}
