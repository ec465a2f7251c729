// npy.h: NumPy .npy files (format 1.0/2.0, little-endian, C order), enough to
// exchange token batches and logits with other tools.
#ifndef ARITHLAB_NPY_H
#define ARITHLAB_NPY_H

#include <stdint.h>
#include <stddef.h>

typedef enum { NPY_F32, NPY_I32, NPY_I64 } npy_dtype_t;

typedef struct {
    npy_dtype_t dtype;
    int ndim;
    int64_t shape[8];
    size_t numel;
    void *data;              // malloc'd, numel elements of dtype
} NpyArray;

// reads '<f4', '<i4', '<i8' arrays in C order; -1 + err (file, what was found, what is accepted)
int npy_read(const char *path, NpyArray *out, char *err);
// int tokens of any accepted integer dtype, converted to int32 (malloc'd); checks range
int npy_read_tokens(const char *path, int **tokens, int *B, int *T, char *err);
int npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape, char *err);
int npy_write_i32(const char *path, const int32_t *data, int ndim, const int64_t *shape, char *err);
void npy_free(NpyArray *a);

#endif
