// test_eval_csv.c: accuracy_grid.csv written by eval_grid_csv_write reads back,
// cell for cell, through eval_grid_csv_read (the sweep's tables read it so).
#define _POSIX_C_SOURCE 200809L   // mkdtemp
#include <criterion/criterion.h>
#include "tests/test_util.h"
#include <stdio.h>
#include <string.h>

#include "eval/csv.h"

typedef struct { int n; EvalGridRow rows[16]; } rows_t;

static void keep(const EvalGridRow *row, void *user)
{
    rows_t *r = user;
    cr_assert_lt(r->n, 16);
    r->rows[r->n++] = *row;
}

TestSuite(eval_csv, .init = tmp_setup, .fini = tmp_teardown);

Test(eval_csv, grid_round_trips_every_evaluated_cell)
{
    EvalReport r;
    char err[ERR_MAX] = "", path[256];
    cr_assert_eq(eval_report_init(&r, 3, 2, err), 0, "%s", err);
    // asymmetric counts so a swapped len_a/len_b shows; cell (2,3) left empty
    for (int a = 1; a <= 3; a++)
        for (int b = 1; b <= 3; b++) {
            size_t i = (size_t)(a - 1) * 3 + b - 1;
            r.n[i] = (a == 2 && b == 3) ? 0 : 10 * a + b;
            r.correct[i] = r.n[i] ? a : 0;
        }
    snprintf(path, sizeof path, "%s/accuracy_grid.csv", tmpdir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    eval_grid_csv_write(f, &r);
    fclose(f);

    rows_t got = {0};
    cr_assert_eq(eval_grid_csv_read(path, keep, &got, err), 8, "%s", err);
    int k = 0;
    for (int a = 1; a <= 3; a++)
        for (int b = 1; b <= 3; b++) {
            if (a == 2 && b == 3) continue;
            const EvalGridRow *row = &got.rows[k++];
            cr_assert_eq(row->len_a, a);
            cr_assert_eq(row->len_b, b);
            cr_assert_eq(row->n, 10 * a + b);
            cr_assert_eq(row->correct, a);
            cr_assert_float_eq(row->accuracy, (double)a / (10 * a + b), 1e-4);
            cr_assert_eq(row->in_distribution, a <= 2 && b <= 2);
        }
    eval_report_free(&r);
}

Test(eval_csv, missing_file_is_an_error_naming_it)
{
    char err[ERR_MAX] = "", path[256];
    rows_t got = {0};
    snprintf(path, sizeof path, "%s/none.csv", tmpdir);
    cr_assert_eq(eval_grid_csv_read(path, keep, &got, err), -1);
    cr_assert(strstr(err, "none.csv") != NULL, "err: %s", err);
}
