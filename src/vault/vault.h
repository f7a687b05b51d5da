/*
 * The credential vault (DESIGN §2 invariant 7, doc/VAULT.md): one file,
 * $XDG_DATA_HOME/ward/vault, whose values are each sealed with
 * XChaCha20-Poly1305 under the vault key, with the secret's name and its
 * revoked flag bound as associated data. The key is the 32-byte file
 * $XDG_DATA_HOME/ward/vault.key, or derived with argon2id from a passphrase
 * once the user sets one. A vault is opened whole: every value is checked
 * (and decrypted into guarded, locked memory) at open, so any integrity
 * error refuses the whole vault. Each change is written back at once
 * (temporary file, fsync, rename); an open vault holds an exclusive lock,
 * so open, act and free promptly.
 */
#ifndef WARD_VAULT_H
#define WARD_VAULT_H

#include <stddef.h>

#include "../lib/buf.h"

#define VAULT_NAME_MAX		64	/* bytes, [A-Z_][A-Z0-9_]* */
#define VAULT_VALUE_MIN		8	/* shorter values cannot be redacted */
#define VAULT_VALUE_MAX		8192

struct vault;

/* One secret as the redactor wants it (see redact.h). */
struct vault_pair {
	const char		*name;
	const unsigned char	*value;
	size_t			 len;
};

/* Returns 1 if name is a valid secret name, else 0. */
int	vault_name_ok(const char *name);

/* Returns 0 if val can be stored and redacted safely, else WARD_EINVAL
 * with the reason in err (too short, too long, a NUL byte, too few
 * distinct bytes, one byte over half of it). */
int	vault_value_ok(const unsigned char *val, size_t len, struct buf *err);

/* Returns 1 if the existing vault needs a passphrase, 0 if not (or there
 * is no vault yet), or a negative WARD_E* (message in err). */
int	vault_needs_passphrase(struct buf *err);

/*
 * Opens (and on first use creates the key for) the user's vault.
 * passphrase is used only if the vault is locked with one (NULL then is
 * WARD_EDENIED). Returns 0 and *vp (free with vault_free), WARD_EDENIED
 * (wrong or missing passphrase), WARD_EPROTO (malformed, truncated or
 * tampered vault), WARD_EINVAL (unsafe key file), WARD_ESYS/EIO; the
 * message is in err (may be NULL).
 */
int	vault_open(const char *passphrase, struct vault **vp, struct buf *err);

/* Wipes and frees v and releases its lock. NULL ok. */
void	vault_free(struct vault *v);

/* Stores (or replaces, clearing any revocation) name's value after
 * vault_value_ok. Returns 0, WARD_EINVAL, WARD_EIO/ESYS. */
int	vault_set(struct vault *v, const char *name, const unsigned char *val,
	    size_t len, struct buf *err);

/* Copies name's value into guarded, locked memory: *val (NUL-terminated,
 * *len bytes) is freed and wiped with vault_value_free. Returns 0,
 * WARD_ENOENT, WARD_EDENIED if revoked ("revoked" in err), WARD_ENOMEM. */
int	vault_get(struct vault *v, const char *name, unsigned char **val,
	    size_t *len, struct buf *err);

/* Wipes and frees a value from vault_get. NULL ok. */
void	vault_value_free(unsigned char *val);

/* Number of secrets, and the i-th name (sorted; valid until the next
 * change or vault_free), revoked ones included. */
size_t	vault_count(const struct vault *v);
const char *vault_name(const struct vault *v, size_t i);

/* Returns 1 if name is revoked, 0 if not, WARD_ENOENT if absent. */
int	vault_is_revoked(const struct vault *v, const char *name);

/* Removes name. Returns 0, WARD_ENOENT, WARD_EIO/ESYS. */
int	vault_rm(struct vault *v, const char *name, struct buf *err);

/* Marks name revoked: vault_get refuses it from now on, its value is kept
 * only so that it is still redacted. Returns 0, WARD_ENOENT, WARD_EIO. */
int	vault_revoke(struct vault *v, const char *name, struct buf *err);

/* Re-encrypts every value under a new key: a fresh random key file if
 * passphrase is NULL (dropping any passphrase), else a key derived from
 * passphrase with a fresh salt. A rotate cut short is completed by the
 * next vault_open. Returns 0, WARD_EINVAL (empty passphrase), WARD_EIO. */
int	vault_rotate(struct vault *v, const char *passphrase, struct buf *err);

/* Returns 1 if v is locked with a passphrase, else 0. */
int	vault_has_passphrase(const struct vault *v);

/* Every secret, revoked ones included, for redact_new: *pairs (free with
 * free(); it points into v, valid until the next change or vault_free)
 * and *n. Returns 0 or WARD_ENOMEM. */
int	vault_pairs(const struct vault *v, struct vault_pair **pairs,
	    size_t *n);

#endif
