// fuzz_targets.h: the entry points of the fuzz targets of tests/fuzz/ under their
// own names, so that tests/test_crash.c can replay their inputs through the same
// code (linked in by CMakeLists.txt) without including a .c file. Each target also
// defines libFuzzer's two entry points (FUZZ_LIBFUZZER_ENTRY), for tools/fuzz.sh,
// which builds it alone; they are weak, so the four targets link into one test.
#ifndef ARITHLAB_FUZZ_TARGETS_H
#define ARITHLAB_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

int fuzz_safetensors_init(int *argc, char ***argv);
int fuzz_safetensors_one(const uint8_t *data, size_t size);
int fuzz_npy_init(int *argc, char ***argv);
int fuzz_npy_one(const uint8_t *data, size_t size);
int fuzz_ini_init(int *argc, char ***argv);
int fuzz_ini_one(const uint8_t *data, size_t size);
int fuzz_problem_init(int *argc, char ***argv);
int fuzz_problem_one(const uint8_t *data, size_t size);

#define FUZZ_LIBFUZZER_ENTRY(init, one)                                                         \
    __attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv) { return init(argc, argv); } \
    __attribute__((weak)) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return one(data, size); }

#endif
