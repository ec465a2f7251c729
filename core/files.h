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

// ---- result files, written atomically and checked
// files_atomic_open: a temporary PATH.tmp.<pid> in PATH's own directory (so the
// rename stays on one file system), opened for writing ("wb"); NULL + err.
// files_atomic_commit: checks that every write went through (ferror), flushes,
// fsyncs and closes it, then renames it over PATH. On any failure the temporary
// file is removed, PATH keeps its old content (or stays absent), and err says
// "PATH: write failed: <strerror>". f is closed in every case.
// files_atomic_discard: close and remove the temporary file (an error path).
FILE *files_atomic_open(const char *path, char *err);
int files_atomic_commit(FILE *f, const char *path, char *err);
void files_atomic_discard(FILE *f, const char *path);
// how many atomic writes have failed in this process so far: lets a caller tell
// a file that could not be written (an error) from a picture that could not be
// drawn, say for want of a font (a warning, as before)
int files_write_failures(void);
// the whole of buf[0..n) as PATH, atomically: 0 or -1 + err
int files_write_atomic(const char *path, const void *buf, size_t n, char *err);

// Remove NAME.tmp.<pid> files in DIR (left by a process killed while writing
// NAME) whose process no longer exists. Returns how many were removed; a file
// whose pid is alive, or that cannot be parsed, is left alone.
int files_remove_stale_tmp(const char *dir);

#endif
