// train.c: `arithlab train`: flags and config file -> a resolved RunConfig and
// the run directory's config.ini; the run itself is run_train (run/train.c).
// Ctrl-C saves a checkpoint and stops; --resume DIR continues bit-exactly.
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/args.h"
#include "core/files.h"
#include "run/train.h"
#include "run/load.h"

int cmd_train(int argc, char **argv)
{
    RunConfig rc;
    run_config_default(&rc);
    const char *out_dir = NULL, *resume = NULL, *config = NULL;
    set_list_t sets = {0};
    int force = 0;
    arg_t args[] = {
        {"--out", ARG_STR, &out_dir, "run directory (default runs/train)"},
        {"--resume", ARG_STR, &resume, "continue the run in this directory from its checkpoint; "
                                             "--set may then change only " RUN_RESUME_KEYS},
        {"--set", ARG_SET, &sets, "section.key=value, overriding the config file (repeatable)"},
        {"--force", ARG_FLAG, &force, "train afresh into an --out that already holds a run, replacing it"},
        ARGS_FORMAT,
    };
    int r = args_parse("train", "[CONFIG.ini] [--set section.key=value ...] [--out DIR] [--resume DIR] [--force] [--format png,svg,pdf]",
                       args, 5, argc, argv, &config);
    if (r) return r < 0 ? 2 : 0;
    char err[ERR_MAX], path[4096];
    if (resume) {
        if (config) { fprintf(stderr, "arithlab train: give either CONFIG.ini or --resume DIR, not both\n"); return 2; }
        out_dir = resume;
        snprintf(path, sizeof(path), "%s/config.ini", resume);
        if (run_config_load_ini(&rc, path, err)) { fprintf(stderr, "arithlab train: --resume: %s\n", err); return 2; }
    } else if (config && run_config_load_ini(&rc, config, err)) {
        fprintf(stderr, "arithlab train: %s\n", err);
        return 2;
    }
    if (resume)   // the checkpoint fixes the model, task and optimizer: only RUN_RESUME_KEYS may change
        for (int i = 0; i < sets.n; i++) {
            char key[128];
            snprintf(key, sizeof(key), "%.*s", (int)strcspn(sets.items[i], "="), sets.items[i]);
            if (!run_resume_key_allowed(key)) {
                fprintf(stderr, "arithlab train: --resume %s --set %s: %s cannot change when a run is resumed "
                                "(the checkpoint fixes it); accepted with --resume: %s\n",
                        resume, sets.items[i], key, RUN_RESUME_KEYS);
                return 2;
            }
        }
    if (args_apply_sets("train", &rc, &sets)) return 2;
    if (run_config_resolve(&rc, err)) { fprintf(stderr, "arithlab train: %s\n", err); return 2; }
    if (run_threads_check("train.threads =", rc.train.threads, err)) { fprintf(stderr, "arithlab train: %s\n", err); return 2; }
    if (resume) {
        snprintf(path, sizeof(path), "%s/ckpt.safetensors", resume);
        if (access(path, F_OK) == 0 && run_resume_check(&rc, path, err)) {
            fprintf(stderr, "arithlab train: --resume %s: %s\n", resume, err);
            return 2;
        }
    }
    if (!out_dir) out_dir = "runs/train";
    // an existing run is never replaced by accident: it is continued, or replaced when asked
    snprintf(path, sizeof(path), "%s/ckpt.safetensors", out_dir);
    if (!resume && !force && access(path, F_OK) == 0) {
        fprintf(stderr, "arithlab train: --out %s already holds a run (%s); continue it with --resume %s, "
                        "or pass --force to replace it\n", out_dir, path, out_dir);
        return 2;
    }
    if (run_memory_check(&rc, err)) { fprintf(stderr, "arithlab train: %s\n", err); return 2; }
    if (cli_mkdir_p(out_dir, err)) { fprintf(stderr, "arithlab train: %s\n", err); return 1; }
    int lock = files_lock_dir(out_dir, err);   // held until the process exits
    if (lock < 0) { fprintf(stderr, "arithlab train: %s\n", err); return 1; }
    snprintf(path, sizeof(path), "%s/config.ini", out_dir);
    if (run_config_write_ini(&rc, path, err)) { fprintf(stderr, "arithlab train: %s\n", err); return 1; }

    int status = run_train(&rc, out_dir, resume != NULL);
    files_unlock_dir(lock);
    return status;
}
