// fuzz_npy.c: the .npy reader (model/npy.c) on arbitrary bytes: npy_read and
// npy_read_tokens must return an array that agrees with its shape, or -1 with a
// message; an array read back must write and read again unchanged.
// Seeds: tests/fuzz/corpus/npy/.
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_targets.h"
#include "core/npy.h"

int fuzz_npy_init(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_single_thread();
    return 0;
}

static size_t dtype_size(npy_dtype_t t) { return t == NPY_I64 ? 8 : 4; }

// the writers take f32 and i32; what they write must read back to the same bytes
static void npy_check_round_trip(const NpyArray *a)
{
    if (a->dtype == NPY_I64) return;
    char err[ERR_MAX] = "";
    const char *path = fuzz_scratch_path("rt.npy");
    int rc = a->dtype == NPY_F32 ? npy_write_f32(path, a->data, a->ndim, a->shape, err)
                                 : npy_write_i32(path, a->data, a->ndim, a->shape, err);
    FUZZ_CHECK(rc == 0, "an array read does not write: %s", err);
    NpyArray b;
    FUZZ_CHECK(npy_read(path, &b, err) == 0, "an array written does not read: %s", err);
    FUZZ_CHECK(b.dtype == a->dtype && b.ndim == a->ndim && b.numel == a->numel, "header changed in a round trip");
    for (int d = 0; d < a->ndim; d++) FUZZ_CHECK(b.shape[d] == a->shape[d], "shape[%d] changed", d);
    FUZZ_CHECK(memcmp(a->data, b.data, a->numel * dtype_size(a->dtype)) == 0, "data changed in a round trip");
    npy_free(&b);
    unlink(path);
}

int fuzz_npy_one(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    char err[ERR_MAX] = "";

    NpyArray a;
    int rc = npy_read(path, &a, err);
    fuzz_check_err(rc, err, "npy_read");
    if (rc == 0) {
        FUZZ_CHECK(a.ndim >= 0 && a.ndim <= 8, "ndim %d", a.ndim);
        size_t numel = 1;
        for (int d = 0; d < a.ndim; d++) {
            FUZZ_CHECK(a.shape[d] >= 0, "negative shape[%d]", d);
            numel *= (size_t)a.shape[d];
        }
        FUZZ_CHECK(numel == a.numel, "numel %zu but the shape holds %zu", a.numel, numel);
        FUZZ_CHECK(a.data != NULL, "no data");
        FUZZ_CHECK(numel * dtype_size(a.dtype) <= size, "more data than the file holds");
        if (numel) {   // touch both ends: ASan checks the allocation covers them
            volatile const unsigned char *p = a.data;
            (void)p[0];
            (void)p[numel * dtype_size(a.dtype) - 1];
        }
        if (a.ndim <= 8 && numel <= (1u << 16)) npy_check_round_trip(&a);
        npy_free(&a);
    }

    int *tok = NULL, B = 0, T = 0;
    err[0] = 0;
    rc = npy_read_tokens(path, &tok, &B, &T, err);
    fuzz_check_err(rc, err, "npy_read_tokens");
    if (rc == 0) {
        FUZZ_CHECK(B >= 1 && T >= 1, "token batch (%d,%d)", B, T);
        volatile int last = tok[(size_t)B * T - 1];
        (void)last;
        free(tok);
    }
    return 0;
}

FUZZ_LIBFUZZER_ENTRY(fuzz_npy_init, fuzz_npy_one)
