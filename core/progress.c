// progress.c: the terminal progress bar (progress.h).
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "core/progress.h"

void progress_init(progress_t *p, FILE *f)
{
    p->f = f;
    p->on = f && isatty(fileno(f));
    p->drawn = 0;
}

int progress_term_cols(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n > 0 ? n : 80;
}

int progress_format(char *buf, size_t n, int cols, long done, long total, const char *text)
{
    if (!n) return 0;
    int room = cols - 1;
    if (room < 1) room = 1;
    if ((size_t)room >= n) room = (int)n - 1;
    if (total < 1) total = 1;
    if (done < 0) done = 0;
    if (done > total) done = total;
    char count[48];   // done padded to total's width: the bar keeps its size as done grows
    int tw = snprintf(count, sizeof(count), "%ld", total);
    snprintf(count, sizeof(count), "%*ld/%ld", tw, done, total);
    int tlen = text && *text ? (int)strlen(text) + 1 : 0;   // " text"
    int clen = (int)strlen(count);
    // the bar gets what the count and text leave, from 10 to 40 cells ("[" + cells + "] ")
    int width = room - clen - tlen - 3;
    if (width > 40) width = 40;
    int k = 0;
    if (width >= 10) {
        int fill = (int)((double)width * done / total);
        buf[k++] = '[';
        for (int i = 0; i < width; i++) buf[k++] = i < fill ? '#' : '.';
        buf[k++] = ']';
        buf[k++] = ' ';
    }
    k += snprintf(buf + k, n - k, "%s", count);
    if (tlen && k < room) k += snprintf(buf + k, n - k, " %s", text);
    if (k > room) k = room;
    buf[k] = 0;
    return k;
}

void progress_draw(progress_t *p, long done, long total, const char *fmt, ...)
{
    if (!p->on) return;
    char text[512] = "", line[1024];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
    }
    progress_format(line, sizeof(line), progress_term_cols(fileno(p->f)), done, total, text);
    fprintf(p->f, "\r\033[K%s", line);
    fflush(p->f);
    p->drawn = 1;
}

void progress_clear(progress_t *p)
{
    if (!p->on || !p->drawn) return;
    fputs("\r\033[K", p->f);
    fflush(p->f);
    p->drawn = 0;
}
