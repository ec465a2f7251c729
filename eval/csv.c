// csv.c: accuracy_grid.csv, written and read in one place (csv.h).
#include <errno.h>
#include <string.h>
#include "eval/csv.h"

#define GRID_HEADER "len_a,len_b,n,correct,accuracy,in_distribution\n"

void eval_grid_csv_write(FILE *f, const EvalReport *r)
{
    fputs(GRID_HEADER, f);
    for (int a = 1; a <= r->max_len; a++)
        for (int b = 1; b <= r->max_len; b++) {
            long n = r->n[(size_t)(a - 1) * r->max_len + b - 1], c = r->correct[(size_t)(a - 1) * r->max_len + b - 1];
            if (n) fprintf(f, "%d,%d,%ld,%ld,%.4f,%d\n", a, b, n, c, (double)c / n, a <= r->train_max_len && b <= r->train_max_len);
        }
}

int eval_grid_csv_read(const char *path, void (*on_row)(const EvalGridRow *row, void *user), void *user, char *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return err_set(err, "%s: cannot read: %s", path, strerror(errno));
    char line[256];
    if (!fgets(line, sizeof(line), f)) { fclose(f); return err_set(err, "%s: empty (expected the header %.*s)", path, (int)strlen(GRID_HEADER) - 1, GRID_HEADER); }
    int rows = 0;
    EvalGridRow row;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%d,%d,%ld,%ld,%lf,%d", &row.len_a, &row.len_b, &row.n, &row.correct, &row.accuracy, &row.in_distribution) == 6) {
            on_row(&row, user);
            rows++;
        }
    fclose(f);
    return rows;
}
