/*
 * Writing a permission answer into ward.toml and re-signing it; see
 * answer.h. The order is: check the approval of what is on disk, edit the
 * text, replace the file (temp file, fsync, rename, fsync the directory),
 * sign. A crash between the rename and the signature leaves a manifest
 * that is not approved: sessions refuse it, which is the safe way to fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/err.h"
#include "answer.h"
#include "approval.h"
#include "manifest.h"
#include "tomledit.h"

const char *
answer_name(enum answer a)
{
	switch (a) {
	case ANSWER_ALLOW:
		return "allow";
	case ANSWER_ALLOW_ALWAYS:
		return "allow-always";
	case ANSWER_DENY:
		return "deny";
	case ANSWER_DENY_ALWAYS:
		return "deny-always";
	}
	return "?";
}

/* Replaces path with data[0..len) through a temporary file beside it,
 * with the given mode. */
static int
answer_replace(const char *dir, const char *path, const char *data,
    size_t len, mode_t mode, struct buf *err)
{
	char *tmp = NULL;
	size_t off = 0;
	ssize_t n;
	int fd = -1, dfd = -1, rc = 0;

	if (asprintf(&tmp, "%s/.ward.toml.XXXXXX", dir) == -1) {
		tmp = NULL;
		return WARD_ENOMEM;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		buf_printf(err, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		rc = WARD_EIO;
		goto out;
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < len || fchmod(fd, mode & 07777) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1) {
		fd = -1;
		buf_printf(err, "cannot write %s: %s", tmp, strerror(errno));
		rc = WARD_EIO;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		buf_printf(err, "cannot replace %s: %s", path,
		    strerror(errno));
		rc = WARD_EIO;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	return rc;
}

int
answer_record(const char *root, enum answer a, const char *pat,
    struct buf *err)
{
	struct buf text, why;
	struct stat st;
	char *path = NULL, *out = NULL;
	size_t outlen = 0;
	int rc;

	buf_init(&text, MANIFEST_MAX_BYTES);
	buf_init(&why, 0);
	if (a == ANSWER_DENY)
		return 0;
	if (a != ANSWER_ALLOW && a != ANSWER_ALLOW_ALWAYS &&
	    a != ANSWER_DENY_ALWAYS)
		return WARD_EINVAL;
	if (asprintf(&path, "%s/ward.toml", root) == -1) {
		path = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	/* A regular file, not through a symlink: the file the approval is
	 * about is the one that gets replaced. */
	if ((rc = manifest_read(path, &text, &why)) != 0 ||
	    stat(path, &st) == -1) {
		if (rc == 0) {
			rc = WARD_EIO;
			buf_printf(&why, "%s: %s", path, strerror(errno));
		}
		goto out;
	}
	if ((rc = approval_check(root, text.data ? text.data : "", text.len,
	    &why)) != 0) {
		buf_printf(&why, "; the answer was not written: approve the "
		    "manifest as it is first (`ward approve`)");
		rc = WARD_EDENIED;
		goto out;
	}
	if ((rc = tomledit_add_pattern(text.data ? text.data : "", text.len,
	    a == ANSWER_DENY_ALWAYS ? TOMLEDIT_DENY : TOMLEDIT_ALLOW, pat,
	    a == ANSWER_ALLOW, &out, &outlen, &why)) != 0)
		goto out;
	if (outlen == text.len && memcmp(out, text.data, outlen) == 0)
		goto out;	/* it already said so */
	if ((rc = answer_replace(root, path, out, outlen, st.st_mode,
	    &why)) != 0)
		goto out;
	if ((rc = approval_sign(root, out, outlen, &why)) != 0)
		buf_printf(&why, "; %s was changed but could not be "
		    "re-signed: review it with `ward approve`", path);
out:
	if (rc != 0 && err != NULL)
		buf_printf(err, "%s", why.data ? why.data : ward_strerror(rc));
	free(out);
	free(path);
	buf_free(&text);
	buf_free(&why);
	return rc;
}
