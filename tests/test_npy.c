// test_npy.c: .npy round trips, hand-built files (int64, format 2.0), and the
// reader's refusals (truncation, Fortran order, dtypes, bad magic).
#define _POSIX_C_SOURCE 200809L   // mkdtemp
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/npy.h"
#include "core/common.h"

// ---------------------------------------------------------------- helpers

// an .npy file built byte by byte as numpy would: magic, version, header length, dict, data
static void write_npy_raw(const char *path, int major, const char *dict, const void *data, size_t nbytes)
{
    size_t pre = major == 1 ? 10 : 12, dlen = strlen(dict);
    size_t hlen = dlen + 1;
    hlen += (64 - (pre + hlen) % 64) % 64;
    unsigned char *b = calloc(1, pre + hlen + nbytes + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + pre, dict, dlen);
    memset(b + pre + dlen, ' ', hlen - dlen - 1);
    b[pre + hlen - 1] = '\n';
    if (nbytes) memcpy(b + pre + hlen, data, nbytes);
    write_bytes(path, b, pre + hlen + nbytes);
    free(b);
}

// ---------------------------------------------------------------- round trips

TestSuite(npy, .init = tmp_setup, .fini = tmp_teardown);

Test(npy, round_trips_f32_bit_exactly)
{
    // values chosen so that a transpose, a dropped sign or a rounding shows
    const float x[6] = { 1.0f, -2.5f, 3.1415927f, 1e-30f, -0.0f, 65504.25f };
    const int64_t shape[2] = { 2, 3 };
    const char *p = tmp_path("f.npy");
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_write_f32(p, x, 2, shape, err), 0, "%s", err);

    NpyArray a;
    cr_assert_eq(npy_read(p, &a, err), 0, "%s", err);
    cr_assert_eq(a.dtype, NPY_F32);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 2);
    cr_assert_eq(a.shape[1], 3);
    cr_assert_eq(a.numel, 6);
    cr_assert_eq(memcmp(a.data, x, sizeof x), 0);
    npy_free(&a);
}

Test(npy, round_trips_i32_and_reads_it_as_tokens)
{
    const int32_t x[6] = { 0, 1, 2, 10, -1, 2147483647 };
    const int64_t shape[2] = { 3, 2 };
    const char *p = tmp_path("i.npy");
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_write_i32(p, x, 2, shape, err), 0, "%s", err);

    NpyArray a;
    cr_assert_eq(npy_read(p, &a, err), 0, "%s", err);
    cr_assert_eq(a.dtype, NPY_I32);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 3);
    cr_assert_eq(a.shape[1], 2);
    cr_assert_eq(memcmp(a.data, x, sizeof x), 0);
    npy_free(&a);

    int *tok = NULL, B = 0, T = 0;
    cr_assert_eq(npy_read_tokens(p, &tok, &B, &T, err), 0, "%s", err);
    cr_assert_eq(B, 3);
    cr_assert_eq(T, 2);
    for (int i = 0; i < 6; i++) cr_assert_eq(tok[i], x[i], "token %d", i);
    free(tok);
}

Test(npy, writes_prefix_padded_to_64_bytes_and_newline_terminated)
{
    const float x[3] = { 1, 2, 3 };
    const int64_t shape[1] = { 3 };
    const char *p = tmp_path("pad.npy");
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_write_f32(p, x, 1, shape, err), 0, "%s", err);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    cr_assert_eq(memcmp(b, "\x93NUMPY\x01\x00", 8), 0);
    size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
    cr_assert_eq((10 + hlen) % 64, 0);
    cr_assert_eq(b[10 + hlen - 1], '\n');
    cr_assert_eq(n, 10 + hlen + sizeof x);
    b[10 + hlen] = 0;
    cr_assert_not_null(strstr((char *)b + 10, "'shape': (3,)"), "1-D shape must be written as (3,)");
    free(b);
}

Test(npy, round_trips_zero_dim_scalar)
{
    const float x = 7.5f;
    const char *p = tmp_path("s.npy");
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_write_f32(p, &x, 0, NULL, err), 0, "%s", err);
    NpyArray a;
    cr_assert_eq(npy_read(p, &a, err), 0, "%s", err);
    cr_assert_eq(a.ndim, 0);
    cr_assert_eq(a.numel, 1);
    cr_assert_eq(((float *)a.data)[0], 7.5f);
    npy_free(&a);
}

// ---------------------------------------------------------------- files written by hand, as numpy writes them

Test(npy, reads_hand_built_int64_file)
{
    const int64_t x[6] = { 5, -3, 0, 11, 2147483647LL, -2147483648LL };
    const char *p = tmp_path("i64.npy");
    write_npy_raw(p, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", x, sizeof x);
    char err[ERR_MAX] = "";

    NpyArray a;
    cr_assert_eq(npy_read(p, &a, err), 0, "%s", err);
    cr_assert_eq(a.dtype, NPY_I64);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 2);
    cr_assert_eq(a.shape[1], 3);
    cr_assert_eq(memcmp(a.data, x, sizeof x), 0);
    npy_free(&a);

    int *tok = NULL, B = 0, T = 0;
    cr_assert_eq(npy_read_tokens(p, &tok, &B, &T, err), 0, "%s", err);
    cr_assert_eq(B, 2);
    cr_assert_eq(T, 3);
    for (int i = 0; i < 6; i++) cr_assert_eq(tok[i], (int)x[i], "token %d", i);
    free(tok);
}

Test(npy, reads_format_2_header_and_1d_tokens_as_one_row)
{
    const int32_t x[4] = { 9, 8, 7, 6 };
    const char *p = tmp_path("v2.npy");
    write_npy_raw(p, 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", x, sizeof x);
    char err[ERR_MAX] = "";
    int *tok = NULL, B = 0, T = 0;
    cr_assert_eq(npy_read_tokens(p, &tok, &B, &T, err), 0, "%s", err);
    cr_assert_eq(B, 1);
    cr_assert_eq(T, 4);
    cr_assert_eq(memcmp(tok, x, sizeof x), 0);
    free(tok);
}

Test(npy, tokens_reject_int64_values_outside_int)
{
    const int64_t x[2] = { 1, 1LL << 40 };
    const char *p = tmp_path("big.npy");
    write_npy_raw(p, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", x, sizeof x);
    char err[ERR_MAX] = "";
    int *tok = NULL, B, T;
    cr_assert_eq(npy_read_tokens(p, &tok, &B, &T, err), -1);
    cr_assert_not_null(strstr(err, "1099511627776"), "%s", err);
    cr_assert_null(tok);
}

Test(npy, tokens_reject_float_arrays)
{
    const float x[2] = { 1, 2 };
    const int64_t shape[2] = { 1, 2 };
    const char *p = tmp_path("ftok.npy");
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_write_f32(p, x, 2, shape, err), 0, "%s", err);
    int *tok = NULL, B, T;
    cr_assert_eq(npy_read_tokens(p, &tok, &B, &T, err), -1);
    cr_assert_not_null(strstr(err, "int32 or int64"), "%s", err);
}

// ---------------------------------------------------------------- refusals

Test(npy, rejects_truncated_file)
{
    const float x[6] = { 1, 2, 3, 4, 5, 6 };
    const int64_t shape[2] = { 2, 3 };
    const char *p = tmp_path("t.npy");
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_write_f32(p, x, 2, shape, err), 0, "%s", err);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    // inside the magic, inside the header length, inside the dict, inside the data, one byte short
    const size_t cuts[] = { 0, 3, 9, 40, n - 10, n - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(p, b, cuts[i]);
        NpyArray a;
        err[0] = 0;
        cr_assert_eq(npy_read(p, &a, err), -1, "truncated at %zu bytes was accepted", cuts[i]);
        cr_assert_eq(strncmp(err, p, strlen(p)), 0, "error must start with the path: %s", err);
        cr_assert_null(a.data);
    }
    free(b);
}

Test(npy, rejects_trailing_bytes_after_data)
{
    const float x[3] = { 1, 2, 3 };
    const char *p = tmp_path("tr.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", x, sizeof x);
    NpyArray a;
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_read(p, &a, err), -1);
    cr_assert_not_null(strstr(err, "trailing"), "%s", err);
}

Test(npy, rejects_fortran_order)
{
    const float x[4] = { 1, 2, 3, 4 };
    const char *p = tmp_path("fo.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", x, sizeof x);
    NpyArray a;
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_read(p, &a, err), -1);
    cr_assert_not_null(strstr(err, "fortran_order"), "%s", err);
}

Test(npy, rejects_unsupported_dtype)
{
    const double x[2] = { 1, 2 };
    const char *descr[] = { "<f8", ">f4", "|u1", "<f2" };
    for (int i = 0; i < 4; i++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }", descr[i]);
        const char *p = tmp_path("dt.npy");
        // data sized for the dtype, so the only fault is the dtype itself
        size_t el = descr[i][2] == '8' ? 8 : descr[i][2] == '4' ? 4 : descr[i][2] == '2' ? 2 : 1;
        write_npy_raw(p, 1, dict, x, 2 * el);
        NpyArray a;
        char err[ERR_MAX] = "";
        cr_assert_eq(npy_read(p, &a, err), -1, "dtype %s accepted", descr[i]);
        cr_assert_not_null(strstr(err, descr[i]), "message must name the dtype: %s", err);
        cr_assert_not_null(strstr(err, "<f4"), "message must say what is accepted: %s", err);
    }
}

Test(npy, rejects_garbage_magic)
{
    const char *p = tmp_path("g.npy");
    const char junk[] = "PK\x03\x04 this is a zip file, not an array, at least 64 bytes long......";
    write_bytes(p, junk, sizeof junk);
    NpyArray a;
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_read(p, &a, err), -1);
    cr_assert_not_null(strstr(err, "magic"), "%s", err);
}

Test(npy, rejects_header_length_past_end_of_file)
{
    const float x[1] = { 1 };
    const char *p = tmp_path("hl.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", x, sizeof x);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    b[8] = 0xff;
    b[9] = 0xff;
    write_bytes(p, b, n);
    free(b);
    NpyArray a;
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_read(p, &a, err), -1);
    cr_assert_not_null(strstr(err, "header length"), "%s", err);
}

Test(npy, rejects_malformed_shape)
{
    const float x[1] = { 1 };
    const char *bad[] = { "(1", "(-1,)", "(1,,)", "[1]", "(1, x)" };
    for (int i = 0; i < 5; i++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", bad[i]);
        const char *p = tmp_path("sh.npy");
        write_npy_raw(p, 1, dict, x, sizeof x);
        NpyArray a;
        char err[ERR_MAX] = "";
        cr_assert_eq(npy_read(p, &a, err), -1, "shape %s accepted", bad[i]);
    }
}

Test(npy, rejects_missing_file_with_path_in_message)
{
    const char *p = tmp_path("absent.npy");
    NpyArray a;
    char err[ERR_MAX] = "";
    cr_assert_eq(npy_read(p, &a, err), -1);
    cr_assert_eq(strncmp(err, p, strlen(p)), 0, "%s", err);
}
