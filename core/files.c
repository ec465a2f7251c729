// files.c: the run-directory lock (files.h). flock, not fcntl locks: an flock
// belongs to the open file, so a stray close elsewhere in the process cannot drop it.
#include "core/files.h"
#include "core/common.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

int files_lock_dir(const char *dir, char *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return err_set(err, "%s: cannot create the run lock: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        char holder[32] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        close(fd);
        if (e == EWOULDBLOCK)
            return err_set(err, "run directory %s is in use by process %s (lock %s): "
                           "wait for that run to finish or stop it, or train into another --out",
                           dir, holder[0] ? holder : "(unknown)", path);
        return err_set(err, "%s: cannot lock: %s", path, strerror(e));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, len, 0) != len) {
        int e = errno;
        close(fd);
        return err_set(err, "%s: cannot write the run lock: %s", path, strerror(e));
    }
    return fd;
}

void files_unlock_dir(int fd)
{
    if (fd >= 0) close(fd);
}

static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    return "not a regular file";
}

FILE *files_open_regular(const char *path, const char *what, char *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { err_set(err, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    struct stat sb;
    if (fstat(fd, &sb)) {
        err_set(err, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        err_set(err, "%s: is %s: accepted only a regular %s file", path, file_kind(sb.st_mode), what);
        close(fd);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) { err_set(err, "%s: cannot open: %s", path, strerror(errno)); close(fd); }
    return f;
}

// ---------------------------------------------------------------- atomic result files

static int n_write_failures;   // files_write_failures()

int files_write_failures(void) { return n_write_failures; }

static void tmp_name(char *tmp, size_t cap, const char *path)
{
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
}

FILE *files_atomic_open(const char *path, char *err)
{
    char tmp[4200];
    tmp_name(tmp, sizeof tmp, path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        n_write_failures++;
        err_set(err, "%s: cannot write (temporary file %s): %s", path, tmp, strerror(errno));
    }
    return f;
}

void files_atomic_discard(FILE *f, const char *path)
{
    char tmp[4200];
    tmp_name(tmp, sizeof tmp, path);
    if (f) fclose(f);
    remove(tmp);
}

int files_atomic_commit(FILE *f, const char *path, char *err)
{
    char tmp[4200];
    tmp_name(tmp, sizeof tmp, path);
    // ferror: some fprintf/fwrite failed already; errno still holds why (successful calls leave it)
    int e = ferror(f) ? (errno ? errno : EIO) : 0;
    if (fflush(f) && !e) e = errno ? errno : EIO;
    if (!e && fsync(fileno(f)) && errno != EINVAL && errno != EROFS) e = errno;
    if (fclose(f) && !e) e = errno ? errno : EIO;
    if (e) {
        n_write_failures++;
        remove(tmp);
        return err_set(err, "%s: write failed: %s", path, strerror(e));
    }
    if (rename(tmp, path)) {
        e = errno;
        n_write_failures++;
        remove(tmp);
        return err_set(err, "%s: cannot rename %s into place: %s", path, tmp, strerror(e));
    }
    return 0;
}

int files_write_atomic(const char *path, const void *buf, size_t n, char *err)
{
    FILE *f = files_atomic_open(path, err);
    if (!f) return -1;
    if (n && fwrite(buf, 1, n, f) != n) {
        int e = errno ? errno : EIO;
        n_write_failures++;
        files_atomic_discard(f, path);
        return err_set(err, "%s: write failed: %s", path, strerror(e));
    }
    return files_atomic_commit(f, path, err);
}

int files_remove_stale_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || t == e->d_name) continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (*end || end == t + 5 || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   // alive (or not ours to ask): keep
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) removed++;
    }
    closedir(d);
    return removed;
}
