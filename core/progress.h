// progress.h: a one-line progress bar redrawn in place on a terminal, never on a
// file or pipe, and always as wide as the terminal is now (a bar wider than the
// window wraps, and every redraw then adds a line instead of replacing one).
//
//   progress_t p;
//   progress_init(&p, stderr);                 // off unless stderr is a terminal
//   for (...) progress_draw(&p, done, total, "loss %.3f", loss);
//   progress_clear(&p);                        // before the next ordinary line
#ifndef ARITHLAB_PROGRESS_H
#define ARITHLAB_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    int on;          // f is a terminal
    int drawn;       // a bar is on the line now (progress_clear erases it)
} progress_t;

void progress_init(progress_t *p, FILE *f);
// the terminal's width in columns: TIOCGWINSZ on fd, else $COLUMNS, else 80
int progress_term_cols(int fd);
// "[####......] done/total text" in at most cols - 1 characters (the last column
// left free: some terminals wrap on it): the bar shrinks to 10 cells first, then
// goes, then the text is cut. Returns its length.
int progress_format(char *buf, size_t n, int cols, long done, long total, const char *text);
// redraws the line (text a printf format, may be NULL); nothing when p is off
void progress_draw(progress_t *p, long done, long total, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
// erases the bar, leaving the cursor at the start of an empty line
void progress_clear(progress_t *p);

#endif
