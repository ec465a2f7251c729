// test_same_bytes.c: a refactor must not change what training computes. Three
// fixed configs (pre-LN absolute+rope; a post-LN tied looped Abacus model with the
// progressive loss; FoNE number tokens) are trained for a few steps on one thread,
// and each checkpoint is reduced to a fingerprint: a 64-bit FNV-1a digest of its
// tensor data (every parameter and AdamW moment, bit for bit) and its metadata
// (model.*, train.* and the resolved run config, one "key = value" per line).
// The fingerprints in tests/data/same_bytes/ were recorded before the structure
// refactor (issue 11). A key added later may appear in the checkpoint without
// failing the test, but every recorded key must keep its value; floats in the run
// config are compared as float32 values, so a change in how they are printed
// ("0.001" for "0.00100000005") is not a change in behaviour.
// The tensor digest depends on the CPU (-march=native) and the compiler flags, so a
// file holds one "data = " line per build recorded by aa57e4b, and the new digest
// must equal one of them. To re-record after a deliberate change:
// ARITHLAB_RECORD=1 build/test_same_bytes (then add the other builds' lines back).
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

static const char *COMMON = "--set train.threads=1 --set train.steps=24 --set train.batch_size=8 "
                            "--set eval.per_cell=1 --set eval.n_during_train=8";

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// the fingerprint of a checkpoint: "data = <digest>" then sorted "key = value" lines,
// the run config's lines prefixed "config." with their section
static char *fingerprint(const char *ckpt)
{
    size_t n;
    unsigned char *b = read_bytes(ckpt, &n);
    cr_assert(n > 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    cr_assert(8 + hl <= n);
    cJSON *root = cJSON_ParseWithLength((const char *)b + 8, hl);
    cr_assert_not_null(root);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    cr_assert_not_null(meta);

    char *lines[512];
    int nl = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, meta) {
        const char *k = it->string, *v = it->valuestring;
        if (strcmp(k, "arithlab.config") == 0) {
            char *cfg = strdup(v), *save = NULL, section[64] = "";
            for (char *ln = strtok_r(cfg, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
                if (ln[0] == '[') { sscanf(ln, "[%63[^]]", section); continue; }
                char key[128], val[512];
                if (sscanf(ln, " %127[^ =] = %511[^\n]", key, val) != 2) continue;
                char *end;
                double d = strtod(val, &end);
                char line[800];
                // a float (config.ini writes the shortest text, "1e-08" as well as "0.001"): compare as float32
                if (*end == 0 && strpbrk(val, ".eE"))
                    snprintf(line, sizeof line, "config.%s.%s = %.9g", section, key, (double)(float)d);
                else
                    snprintf(line, sizeof line, "config.%s.%s = %s", section, key, val);
                cr_assert(nl < 512);
                lines[nl++] = strdup(line);
            }
            free(cfg);
            continue;
        }
        char line[800];
        snprintf(line, sizeof line, "%s = %s", k, v);
        cr_assert(nl < 512);
        lines[nl++] = strdup(line);
    }
    qsort(lines, nl, sizeof lines[0], cmp_str);
    size_t cap = 64 + (size_t)nl * 800;
    char *out = malloc(cap), *o = out;
    o += sprintf(o, "data = %016llx\n", (unsigned long long)fnv1a(b + 8 + hl, n - 8 - hl));
    for (int i = 0; i < nl; i++) { o += sprintf(o, "%s\n", lines[i]); free(lines[i]); }
    cJSON_Delete(root);
    free(b);
    return out;
}

static void check_same(const char *name, const char *args)
{
    char cmd[2048], out[16384], dir[256], ref[512];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    snprintf(cmd, sizeof cmd, "%s train --out %s %s %s", ARITHLAB_BIN, dir, COMMON, args);
    int rc = run(cmd, out, sizeof out);
    cr_assert_eq(rc, 0, "%s: %s", cmd, out);
    char ckpt[300];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
    char *fp = fingerprint(ckpt);
    snprintf(ref, sizeof ref, "%s/tests/data/same_bytes/%s.txt", ARITHLAB_SRC, name);
    if (getenv("ARITHLAB_RECORD")) {
        FILE *f = fopen(ref, "w");
        cr_assert_not_null(f, "cannot write %s", ref);
        fputs(fp, f);
        cr_assert_eq(fclose(f), 0);
        free(fp);
        return;
    }
    size_t n;
    char *want = (char *)read_bytes(ref, &n);
    // every recorded metadata line must be in the new fingerprint (new keys may be
    // added); the "data = " lines are one per recorded build (CPU and compiler flags
    // change the float bits), and the new digest must be one of them
    char *save = NULL;
    int n_data = 0, data_ok = 0;
    char *data_line = strtok(strdup(fp), "\n");
    for (char *ln = strtok_r(want, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        if (ln[0] == '#') continue;
        if (strncmp(ln, "data = ", 7) == 0) {
            n_data++;
            data_ok |= strcmp(ln, data_line) == 0;
            continue;
        }
        char needle[900];
        snprintf(needle, sizeof needle, "\n%s\n", ln);
        char *hay = malloc(strlen(fp) + 2);
        hay[0] = '\n';
        strcpy(hay + 1, fp);
        cr_expect(strstr(hay, needle) != NULL, "%s: recorded '%s' is not in the new checkpoint:\n%s", name, ln, fp);
        free(hay);
    }
    cr_expect(n_data > 0, "%s: no recorded 'data = ' line", name);
    cr_expect(data_ok, "%s: the tensor digest '%s' is none of the %d recorded for known builds. "
              "On a CPU or compiler flags not recorded yet, build commit aa57e4b (before the "
              "refactor) the same way, run ARITHLAB_RECORD=1 build/test_same_bytes there and add "
              "its 'data = ' line to tests/data/same_bytes/%s.txt", name, data_line, n_data, name);
    free(data_line);
    free(want);
    free(fp);
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(same_bytes, .init = tmp_setup, .fini = rm_tmp);

Test(same_bytes, pre_ln_absolute_rope_trains_to_the_recorded_checkpoint)
{
    check_same("pre_ln_rope", "--set model.n_layer=2 --set model.n_embd=32 --set model.n_head=2 "
               "--set model.position=absolute+rope --set task.max_len=3 --set task.pad_width=4");
}

Test(same_bytes, post_ln_tied_looped_abacus_trains_to_the_recorded_checkpoint)
{
    check_same("looped_abacus", "--set model.n_layer=1 --set model.n_loops=3 --set model.loop_random=1 "
               "--set model.n_embd=32 --set model.n_head=4 --set model.post_ln=1 --set model.tied=1 "
               "--set model.position=abacus+t5 --set task.format=reverse_all --set task.max_len=4");
}

Test(same_bytes, fone_number_tokens_train_to_the_recorded_checkpoint)
{
    check_same("fone", "--set model.n_layer=1 --set model.n_embd=32 --set model.n_head=2 "
               "--set task.numbers=fone --set task.format=plain --set model.position=fone+absolute "
               "--set task.max_len=3 --set task.pad_width=0");
}
