// decimal.c: schoolbook arithmetic on decimal strings, enough to compute the
// answers of up-to-100-digit problems and their scratchpads. Strings are in
// ordinary notation (most significant digit first) without leading zeros.
#include <string.h>
#include "tasks/task_internal.h"

// drop leading zeros of a digit buffer in place, keeping at least one digit
static void strip_zeros(char *s)
{
    size_t n = strlen(s), i = 0;
    while (i + 1 < n && s[i] == '0') i++;
    if (i) memmove(s, s + i, n - i + 1);
}

// digit of s at place p (0 = units), 0 beyond its length
static int place(const char *s, int len, int p) { return p < len ? s[len - 1 - p] - '0' : 0; }

void task__dec_add(const char *a, const char *b, char *out)
{
    int la = (int)strlen(a), lb = (int)strlen(b), n = (la > lb ? la : lb) + 1, carry = 0;
    for (int p = 0; p < n; p++) {
        int s = place(a, la, p) + place(b, lb, p) + carry;
        out[n - 1 - p] = (char)('0' + s % 10);
        carry = s / 10;
    }
    out[n] = 0;
    strip_zeros(out);
}

void task__dec_sub(const char *a, const char *b, char *out)
{
    int la = (int)strlen(a), lb = (int)strlen(b), borrow = 0;
    for (int p = 0; p < la; p++) {
        int d = place(a, la, p) - place(b, lb, p) - borrow;
        borrow = d < 0;
        out[la - 1 - p] = (char)('0' + d + 10 * borrow);
    }
    out[la] = 0;
    strip_zeros(out);
}

void task__dec_mul(const char *a, const char *b, char *out)
{
    int la = (int)strlen(a), lb = (int)strlen(b), n = la + lb;
    int acc[2 * TASK_MAX_DIGITS + 2] = {0};   // acc[p]: sum at place p before carrying
    for (int i = 0; i < la; i++)
        for (int j = 0; j < lb; j++)
            acc[i + j] += place(a, la, i) * place(b, lb, j);
    int carry = 0;
    for (int p = 0; p < n; p++) {
        int s = acc[p] + carry;
        out[n - 1 - p] = (char)('0' + s % 10);
        carry = s / 10;
    }
    out[n] = 0;
    strip_zeros(out);
}

int task__dec_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a, b);
}

int task__dec_carries(const char *a, const char *b, char op)
{
    int la = (int)strlen(a), lb = (int)strlen(b), n = la > lb ? la : lb, c = 0, count = 0;
    for (int p = 0; p < n; p++) {
        int x = place(a, la, p), y = place(b, lb, p);
        c = op == '+' ? (x + y + c >= 10) : (x - y - c < 0);
        count += c;
    }
    return count;
}
