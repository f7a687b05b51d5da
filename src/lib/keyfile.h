/*
 * ward's own Ed25519 keys (the user's approval key, the daemon's audit
 * key): a 32-byte seed in $XDG_CONFIG_HOME/ward/<name>, created on first
 * use with O_EXCL|O_NOFOLLOW and mode 0600. A key file that is a symlink,
 * not a regular file of ours with mode 0600, or the wrong size is refused,
 * never repaired: it may be someone else's.
 */
#ifndef WARD_KEYFILE_H
#define WARD_KEYFILE_H

#include <sodium.h>

#include "buf.h"

/* A key pair; keyfile_clear wipes it. */
struct keyfile_key {
	unsigned char	 pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	 sk[crypto_sign_SECRETKEYBYTES];
};

/*
 * Loads the key in file `name` of ward's config directory, creating it
 * when create is set and there is none. what names the key in messages
 * ("user key"). Returns 0 and *k, or, with one message appended to err
 * (may be NULL): WARD_ENOENT (none and not create; no message),
 * WARD_EINVAL (unsafe or malformed, or one appeared while it was being
 * created), WARD_EIO, WARD_ESYS, WARD_ENOMEM. *k is zero on failure.
 * The caller must have called sodium_init().
 */
int	keyfile_load(const char *name, const char *what, int create,
	    struct keyfile_key *k, struct buf *err);

/* Wipes k. */
void	keyfile_clear(struct keyfile_key *k);

/* fsync()s the directory dir (after creating or renaming in it). Returns 0
 * or WARD_ESYS. */
int	keyfile_fsync_dir(const char *dir);

/* Writes all n bytes of p to fd, retrying on EINTR. Returns 0 or
 * WARD_EIO. */
int	keyfile_write_all(int fd, const void *p, size_t n);

#endif
