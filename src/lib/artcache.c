/*
 * The compiled-artifact cache (see artcache.h). A cached artifact is native
 * code, so every check errs on the side of recompiling.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "artcache.h"
#include "err.h"

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

int
artcache_read(const char *dir, const char *path, struct buf *bytes)
{
	struct stat st;
	char chunk[65536];
	ssize_t got;
	int fd, ok = 0;

	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022) != 0)
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

void
artcache_write(const char *path, const void *data, size_t len)
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
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, path) == -1)
		unlink(tmp);
}
