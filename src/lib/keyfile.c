/*
 * ward's Ed25519 key files; see keyfile.h. Factored out of the manifest
 * approval code so that the audit key gets exactly the same checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "keyfile.h"
#include "xdg.h"

#define KEYFILE_SEED_BYTES	crypto_sign_SEEDBYTES

void
keyfile_clear(struct keyfile_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

int
keyfile_fsync_dir(const char *dir)
{
	int fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return WARD_ESYS;
	if (fsync(fd) == -1)
		rc = WARD_ESYS;
	close(fd);
	return rc;
}

int
keyfile_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return WARD_EIO;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Creates the key file with O_EXCL: a file that appears between our open
 * and our create is somebody else's, so it is an error, never used. */
static int
keyfile_create(const char *dir, const char *path, const char *what,
    struct keyfile_key *k, struct buf *err)
{
	unsigned char seed[KEYFILE_SEED_BYTES];
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		rc = errno == EEXIST ? WARD_EINVAL : WARD_ESYS;
		if (err != NULL)
			buf_printf(err, "%s: cannot create the %s: %s",
			    path, what, errno == EEXIST ? "it appeared while "
			    "being created; check it and try again" :
			    strerror(errno));
		return rc;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	rc = WARD_EIO;
	if (fchmod(fd, 0600) == -1 ||
	    keyfile_write_all(fd, seed, sizeof(seed)) != 0 ||
	    fsync(fd) == -1)
		goto out;
	rc = keyfile_fsync_dir(dir);
out:
	sodium_memzero(seed, sizeof(seed));
	if (close(fd) == -1 && rc == 0)
		rc = WARD_EIO;
	if (rc != 0) {
		unlink(path);
		keyfile_clear(k);
		if (err != NULL)
			buf_printf(err, "%s: cannot write the %s", path, what);
	}
	return rc;
}

int
keyfile_load(const char *name, const char *what, int create,
    struct keyfile_key *k, struct buf *err)
{
	unsigned char seed[KEYFILE_SEED_BYTES];
	char *dir = NULL, *path = NULL;
	struct stat st;
	ssize_t n = 0;
	int fd = -1, rc;

	memset(k, 0, sizeof(*k));
	if ((rc = xdg_dir(XDG_CONFIG, &dir)) != 0) {
		if (err != NULL)
			buf_printf(err, "no usable config directory: %s",
			    ward_strerror(rc));
		goto out;
	}
	if (asprintf(&path, "%s/%s", dir, name) == -1) {
		path = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	/* O_NONBLOCK: a FIFO planted here must not hang us. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		rc = create ? keyfile_create(dir, path, what, k, err) :
		    WARD_ENOENT;
		goto out;
	}
	if (fd == -1) {
		rc = errno == ELOOP ? WARD_EINVAL : WARD_ESYS;
		if (err != NULL && rc == WARD_EINVAL)
			buf_printf(err, "%s: the %s is a symlink; refusing it",
			    path, what);
		else if (err != NULL)
			buf_printf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		rc = WARD_ESYS;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0600 || st.st_size != sizeof(seed)) {
		rc = WARD_EINVAL;
		if (err != NULL)
			buf_printf(err, "%s: the %s must be a %zu-byte "
			    "regular file of yours with mode 0600; refusing it",
			    path, what, sizeof(seed));
		goto out;
	}
	while ((n = read(fd, seed, sizeof(seed))) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(seed)) {
		rc = WARD_EIO;
		if (err != NULL)
			buf_printf(err, "%s: cannot read the %s", path, what);
		goto out;
	}
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	if (fd != -1)
		close(fd);
	free(path);
	free(dir);
	return rc;
}
