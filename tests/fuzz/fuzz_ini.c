// fuzz_ini.c: the run configuration (run/config.c) on arbitrary text:
// the whole input as an INI file (run_config_load_string), then every line as
// a --set argument (run_config_apply_set) and as a key and value split at the first
// '=' (run_config_set). A config that loads must write out as INI text that
// loads back to the same config (what config.ini and checkpoints rely on).
// Seeds: tests/fuzz/corpus/ini/.
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_targets.h"
#include "run/run.h"

static RunConfig g_rc, g_rc2;

int fuzz_ini_init(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_single_thread();
    return 0;
}

static void ini_check_round_trip(const RunConfig *rc)
{
    char err[ERR_MAX] = "";
    char *text = run_config_to_string(rc);
    FUZZ_CHECK(text != NULL, "run_config_to_string failed");
    run_config_default(&g_rc2);
    FUZZ_CHECK(run_config_load_string(&g_rc2, text, "written", err) == 0,
               "the written config does not load: %s\n--- text:\n%s", err, text);
    char *again = run_config_to_string(&g_rc2);
    FUZZ_CHECK(again && strcmp(text, again) == 0, "the config changed in a write/load round trip:\n%s\n---\n%s",
               text, again ? again : "(null)");
    free(text);
    free(again);
}

int fuzz_ini_one(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char err[ERR_MAX] = "";

    run_config_default(&g_rc);
    int rc = run_config_load_string(&g_rc, text, "fuzz.ini", err);
    fuzz_check_err(rc, err, "run_config_load_string");
    if (rc == 0) ini_check_round_trip(&g_rc);

    // each line as --set section.key=value, and split by hand
    run_config_default(&g_rc);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        err[0] = 0;
        fuzz_check_err(run_config_apply_set(&g_rc, line, err), err, "run_config_apply_set");
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        err[0] = 0;
        fuzz_check_err(run_config_set(&g_rc, line, eq + 1, err), err, "run_config_set");
    }
    free(text);
    return 0;
}

FUZZ_LIBFUZZER_ENTRY(fuzz_ini_init, fuzz_ini_one)
