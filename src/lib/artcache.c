/*
 * The compiled-artifact cache (see artcache.h). A cached artifact is native
 * code, so every check errs on the side of recompiling.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "artcache.h"
#include "err.h"

#define ARTCACHE_STALE_SEC	3600

int
artcache_path(const char *dir, const char *kind, const char *tag,
    const void *data, size_t len, char *out, size_t n)
{
	crypto_generichash_state st;
	unsigned char hash[32];
	char hex[65];
	int w;

	crypto_generichash_init(&st, NULL, 0, sizeof(hash));
	/* The tag's NUL keeps tag and data from running into each other. */
	crypto_generichash_update(&st, (const unsigned char *)tag,
	    strlen(tag) + 1);
	crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, hash, sizeof(hash));
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	w = snprintf(out, n, "%s/%s-%s.cwasm", dir, kind, hex);
	if (w < 0 || (size_t)w >= n)
		return WARD_EINVAL;
	return 0;
}

/* Only a directory this user owns and nobody else can write is used: its
 * artifacts are trusted native code, and its temp files are swept. */
static int
artcache_dir_ok(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && (st.st_mode & 022) == 0;
}

int
artcache_read(const char *dir, const char *path, struct buf *bytes)
{
	struct stat st;
	char chunk[65536];
	ssize_t got;
	int fd, ok = 0;

	if (!artcache_dir_ok(dir))
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022) != 0)
		goto out;
	for (;;) {
		got = read(fd, chunk, sizeof(chunk));
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1 || (got > 0 &&
		    buf_add(bytes, chunk, (size_t)got) != 0))
			goto out;
		if (got == 0)
			break;
	}
	ok = 1;
out:
	if (!ok)
		buf_reset(bytes);
	close(fd);
	return ok;
}

/* Whether name is a named temp file of artcache_write_named:
 * "<anything>.cwasm.<digits>.tmp". */
static int
artcache_is_tmp(const char *name)
{
	const char *p = strstr(name, ".cwasm."), *d;

	if (p == NULL)
		return 0;
	for (d = p + 7; *d >= '0' && *d <= '9'; d++)
		;
	return d > p + 7 && strcmp(d, ".tmp") == 0;
}

/*
 * Removes this user's named temp files in dir that are older than
 * ARTCACHE_STALE_SEC. A writer SIGKILLed mid-write (a capsule child at its
 * deadline) leaves one behind, possibly hundreds of MiB, and no later
 * writer has its pid. An hour is far longer than any write takes, so a
 * live writer's file is never taken from under it.
 */
static void
artcache_sweep(const char *dir)
{
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!artcache_is_tmp(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    st.st_mtime < now - ARTCACHE_STALE_SEC)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static int
artcache_put(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return fsync(fd);
}

/* For a filesystem without O_TMPFILE (or no /proc to link it from): a
 * named temp file, renamed into place. Killed in between, it is left for
 * artcache_sweep. */
static void
artcache_write_named(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return;
	unlink(tmp);	/* a leftover of a crashed writer with our pid */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1)
		return;
	if (artcache_put(fd, data, len) != 0) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, path) == -1)
		unlink(tmp);
}

/*
 * The artifact is written into an unnamed O_TMPFILE file and linked into
 * place only once complete, so a writer killed at any point leaves nothing
 * behind (the kernel frees an unlinked file with its last descriptor).
 * linkat cannot replace, so a stale artifact at path is unlinked first: a
 * reader in between finds none and recompiles, which is all a cache owes.
 */
void
artcache_write(const char *path, const void *data, size_t len)
{
	char dir[4096], proc[64];
	const char *slash;
	int fd;

	if ((slash = strrchr(path, '/')) == NULL || slash == path ||
	    (size_t)(slash - path) >= sizeof(dir))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	/* What artcache_read would not trust is not worth writing. */
	if (!artcache_dir_ok(dir))
		return;
	artcache_sweep(dir);
	if ((fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) == -1) {
		/* EISDIR: a kernel older than O_TMPFILE. */
		if (errno == EOPNOTSUPP || errno == EISDIR)
			artcache_write_named(path, data, len);
		return;
	}
	if (artcache_put(fd, data, len) != 0)
		goto out;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		goto out;
	if (errno == EEXIST) {
		/* Lost to a concurrent writer: its artifact is as good. */
		if (unlink(path) == 0 && linkat(AT_FDCWD, proc, AT_FDCWD,
		    path, AT_SYMLINK_FOLLOW) == -1)
			goto out;
	} else if (errno == ENOENT && access("/proc/self/fd", X_OK) == -1)
		artcache_write_named(path, data, len);
out:
	close(fd);
}
