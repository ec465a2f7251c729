// files.h: guards for the files a run owns and reads: an exclusive lock on a
// run directory, so that two processes never write the same run, and an open
// for reading that refuses FIFOs, directories and devices instead of hanging.
#ifndef ARITHLAB_FILES_H
#define ARITHLAB_FILES_H

#include <stdio.h>

// Open PATH for reading ("rb") if it is a regular file. The open does not block
// (a FIFO with no writer would hang fopen forever); anything but a regular file
// is refused with -> NULL + err naming the path, what it is, and that a regular
// WHAT file (e.g. "checkpoint") is accepted.
FILE *files_open_regular(const char *path, const char *what, char *err);

// Lock DIR for this process: flock on DIR/lock, which holds the holder's pid.
// The kernel releases it when the process exits or is killed. Returns the
// lock's file descriptor (keep it open for the run), or -1 + err naming the
// directory and, when another process holds it, that process's pid.
int files_lock_dir(const char *dir, char *err);

// release a lock taken by files_lock_dir (fd < 0: nothing to do)
void files_unlock_dir(int fd);

#endif
