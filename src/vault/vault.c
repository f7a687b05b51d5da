/*
 * The credential vault; see vault.h and doc/VAULT.md. The file is JSON:
 *
 *   {"version":1, "kdf":"keyfile"|"argon2id", "salt":HEX, "ops":N,
 *    "mem":N, "check":HEX, "secrets":[{"name":S, "revoked":B, "box":HEX}]}
 *
 * where each box is nonce||ciphertext, "check" seals the empty string so a
 * wrong key or passphrase is told apart from a damaged value, and each
 * value's associated data is domain||name||NUL||revoked, so no value can be
 * moved to another name or have its revocation undone without the key.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/keyfile.h"
#include "../lib/xdg.h"
#include "vault.h"

#define VAULT_VERSION	1
#define VAULT_AD	"ward-vault-v1"
#define VAULT_CHECK_AD	"ward-vault-check-v1"
#define VAULT_KEYBYTES	crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define VAULT_NONCE	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define VAULT_TAG	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define VAULT_SALT	crypto_pwhash_SALTBYTES
#define VAULT_FILE_MAX	(16 * 1024 * 1024)

struct vault_entry {
	char		 name[VAULT_NAME_MAX + 1];
	int		 revoked;
	unsigned char	*val;		/* sodium_malloc'd, NUL-terminated */
	size_t		 len;
};

struct vault {
	unsigned char		*key;	/* sodium_malloc'd */
	int			 pw;	/* key derived from a passphrase */
	unsigned char		 salt[VAULT_SALT];
	unsigned long long	 ops;
	size_t			 mem;
	char			*dir;	/* $XDG_DATA_HOME/ward */
	int			 lockfd;
	struct vault_entry	*e;
	size_t			 n;
};

static int
vault_path(const struct vault *v, const char *leaf, char **out)
{
	if (asprintf(out, "%s/%s", v->dir, leaf) == -1) {
		*out = NULL;
		return WARD_ENOMEM;
	}
	return 0;
}

int
vault_name_ok(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || strlen(name) > VAULT_NAME_MAX)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (name[i] == '_' || (name[i] >= 'A' && name[i] <= 'Z'))
			continue;
		if (i > 0 && name[i] >= '0' && name[i] <= '9')
			continue;
		return 0;
	}
	return 1;
}

int
vault_value_ok(const unsigned char *val, size_t len, struct buf *err)
{
	size_t count[256], i, distinct = 0, most = 0;
	const char *why = NULL;

	memset(count, 0, sizeof(count));
	for (i = 0; i < len; i++)
		count[val[i]]++;
	for (i = 0; i < 256; i++) {
		distinct += count[i] != 0;
		if (count[i] > most)
			most = count[i];
	}
	/* A short or repetitive value also occurs in ordinary output, so
	 * redacting it would mangle that output and reveal where it is. */
	if (len < VAULT_VALUE_MIN)
		why = "it is shorter than 8 bytes, too short to redact safely";
	else if (len > VAULT_VALUE_MAX)
		why = "it is longer than 8192 bytes";
	else if (count[0] != 0)
		why = "it contains a NUL byte, which no environment variable "
		    "can carry";
	else if (distinct < 4)
		why = "it has fewer than 4 distinct bytes, too repetitive to "
		    "redact safely";
	else if (most * 2 > len)
		why = "one byte makes up more than half of it, too repetitive "
		    "to redact safely";
	if (why == NULL)
		return 0;
	if (err != NULL)
		buf_printf(err, "refusing the value: %s", why);
	return WARD_EINVAL;
}

static void
vault_entry_clear(struct vault_entry *e)
{
	if (e->val != NULL)
		sodium_free(e->val);
	e->val = NULL;
	e->len = 0;
}

void
vault_free(struct vault *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++)
		vault_entry_clear(&v->e[i]);
	free(v->e);
	if (v->key != NULL)
		sodium_free(v->key);
	if (v->lockfd != -1)
		close(v->lockfd);
	free(v->dir);
	free(v);
}

void
vault_value_free(unsigned char *val)
{
	if (val != NULL)
		sodium_free(val);
}


/* Creates a fresh key file at path with O_EXCL: a file that appears in
 * between is somebody else's and is never used. */
static int
vault_key_create(const char *path, unsigned char *key, struct buf *err)
{
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		if (err != NULL)
			buf_printf(err, "%s: cannot create the vault key: %s",
			    path, strerror(errno));
		return errno == EEXIST ? WARD_EINVAL : WARD_ESYS;
	}
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	rc = WARD_EIO;
	if (fchmod(fd, 0600) == -1 ||
	    keyfile_write_all(fd, key, VAULT_KEYBYTES) != 0 || fsync(fd) == -1)
		goto out;
	rc = 0;
out:
	if (close(fd) == -1 && rc == 0)
		rc = WARD_EIO;
	if (rc != 0) {
		unlink(path);
		sodium_memzero(key, VAULT_KEYBYTES);
		if (err != NULL)
			buf_printf(err, "%s: cannot write the vault key", path);
	}
	return rc;
}

/* Loads a key file, refusing symlinks, FIFOs, other owners, loose modes
 * and wrong sizes. Returns 0, WARD_ENOENT, WARD_EINVAL, WARD_ESYS. */
static int
vault_key_load(const char *path, unsigned char *key, struct buf *err)
{
	struct stat st;
	ssize_t r;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return WARD_ENOENT;
		if (err != NULL)
			buf_printf(err, "%s: %s", path, errno == ELOOP ?
			    "the vault key is a symlink; refusing it" :
			    strerror(errno));
		return errno == ELOOP ? WARD_EINVAL : WARD_ESYS;
	}
	rc = WARD_ESYS;
	if (fstat(fd, &st) == -1)
		goto out;
	rc = WARD_EINVAL;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0600 || st.st_size != VAULT_KEYBYTES) {
		if (err != NULL)
			buf_printf(err, "%s: the vault key must be a 32-byte "
			    "regular file of yours with mode 0600; refusing "
			    "it", path);
		goto out;
	}
	while ((r = read(fd, key, VAULT_KEYBYTES)) == -1 && errno == EINTR)
		;
	rc = r == VAULT_KEYBYTES ? 0 : WARD_EIO;
	if (rc != 0 && err != NULL)
		buf_printf(err, "%s: cannot read the vault key", path);
out:
	close(fd);
	return rc;
}

/* Associated data of one value: domain, name, NUL, revoked flag. */
static size_t
vault_ad(const char *name, int revoked, unsigned char *ad)
{
	size_t dl = sizeof(VAULT_AD), nl = strlen(name);

	memcpy(ad, VAULT_AD, dl);
	memcpy(ad + dl, name, nl + 1);
	ad[dl + nl + 1] = revoked ? '1' : '0';
	return dl + nl + 2;
}

/* Seals m under key; returns the hex of nonce||ciphertext (caller frees)
 * or NULL. */
static char *
vault_seal(const unsigned char *key, const unsigned char *m, size_t mlen,
    const unsigned char *ad, size_t adlen)
{
	unsigned char *box;
	size_t blen = VAULT_NONCE + mlen + VAULT_TAG;
	char *hex = NULL;

	if ((box = malloc(blen)) == NULL)
		return NULL;
	randombytes_buf(box, VAULT_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + VAULT_NONCE, NULL, m,
	    mlen, ad, adlen, NULL, box, key);
	if ((hex = malloc(2 * blen + 1)) != NULL)
		sodium_bin2hex(hex, 2 * blen + 1, box, blen);
	free(box);
	return hex;
}

/* Opens a hex box into *out (sodium_malloc'd, NUL-terminated, *outlen
 * bytes; NULL out for the check). Returns 0, WARD_EPROTO, WARD_ENOMEM. */
static int
vault_unseal(const unsigned char *key, const char *hex, const unsigned char *ad,
    size_t adlen, unsigned char **out, size_t *outlen)
{
	unsigned char *box = NULL, *m = NULL;
	size_t hl = strlen(hex), blen, mlen;
	int rc = WARD_EPROTO;

	if (hl % 2 != 0 || hl / 2 < VAULT_NONCE + VAULT_TAG ||
	    hl / 2 > VAULT_NONCE + VAULT_TAG + VAULT_VALUE_MAX)
		return WARD_EPROTO;
	if ((box = malloc(hl / 2)) == NULL)
		return WARD_ENOMEM;
	if (sodium_hex2bin(box, hl / 2, hex, hl, NULL, &blen, NULL) != 0 ||
	    blen != hl / 2)
		goto out;
	mlen = blen - VAULT_NONCE - VAULT_TAG;
	if ((m = sodium_malloc(mlen + 1)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, NULL, NULL,
	    box + VAULT_NONCE, blen - VAULT_NONCE, ad, adlen, box, key) != 0)
		goto out;
	m[mlen] = '\0';
	rc = 0;
	if (out != NULL) {
		*out = m;
		*outlen = mlen;
		m = NULL;
	}
out:
	if (m != NULL)
		sodium_free(m);
	free(box);
	return rc;
}

static int
vault_check_ok(const unsigned char *key, const char *check)
{
	return vault_unseal(key, check, (const unsigned char *)VAULT_CHECK_AD,
	    sizeof(VAULT_CHECK_AD), NULL, NULL) == 0;
}

static int
vault_derive(struct vault *v, const char *passphrase)
{
	if (crypto_pwhash(v->key, VAULT_KEYBYTES, passphrase,
	    strlen(passphrase), v->salt, v->ops, v->mem,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		return WARD_ENOMEM;
	return 0;
}

/* Writes the vault file: temporary file, fsync, rename, fsync dir. */
static int
vault_save(struct vault *v, struct buf *err)
{
	unsigned char ad[sizeof(VAULT_AD) + VAULT_NAME_MAX + 2];
	char salt[2 * VAULT_SALT + 1];
	char *path = NULL, *tmp = NULL, *js = NULL, *hex;
	json_t *doc, *arr;
	size_t i, adlen;
	int fd = -1, rc = WARD_ENOMEM;

	sodium_bin2hex(salt, sizeof(salt), v->salt, VAULT_SALT);
	doc = json_pack("{s:i, s:s, s:s, s:I, s:I, s:[]}", "version",
	    VAULT_VERSION, "kdf", v->pw ? "argon2id" : "keyfile", "salt", salt,
	    "ops", (json_int_t)v->ops, "mem", (json_int_t)v->mem, "secrets");
	if (doc == NULL)
		goto out;
	arr = json_object_get(doc, "secrets");
	if ((hex = vault_seal(v->key, NULL, 0,
	    (const unsigned char *)VAULT_CHECK_AD,
	    sizeof(VAULT_CHECK_AD))) == NULL ||
	    json_object_set_new(doc, "check", json_string(hex)) != 0) {
		free(hex);
		goto out;
	}
	free(hex);
	for (i = 0; i < v->n; i++) {
		adlen = vault_ad(v->e[i].name, v->e[i].revoked, ad);
		if ((hex = vault_seal(v->key, v->e[i].val, v->e[i].len, ad,
		    adlen)) == NULL)
			goto out;
		(void)json_array_append_new(arr, json_pack("{s:s, s:b, s:s}",
		    "name", v->e[i].name, "revoked", v->e[i].revoked, "box",
		    hex));
		free(hex);
		if (json_array_size(arr) != i + 1)
			goto out;
	}
	if ((js = json_dumps(doc, JSON_INDENT(1))) == NULL ||
	    vault_path(v, "vault", &path) != 0 ||
	    asprintf(&tmp, "%s.XXXXXX", path) == -1) {
		tmp = NULL;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		free(tmp);
		tmp = NULL;
		rc = WARD_ESYS;
		goto out;
	}
	rc = WARD_EIO;
	if (fchmod(fd, 0600) == -1 ||
	    keyfile_write_all(fd, js, strlen(js)) != 0 || fsync(fd) == -1)
		goto out;
	rc = close(fd) == -1 ? WARD_EIO : 0;
	fd = -1;
	if (rc != 0 || rename(tmp, path) == -1) {
		rc = WARD_EIO;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = keyfile_fsync_dir(v->dir);
out:
	if (rc != 0 && err != NULL)
		buf_printf(err, "cannot write the vault: %s",
		    ward_strerror(rc));
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(js);
	free(path);
	json_decref(doc);
	return rc;
}

/* Reads the vault file (at most VAULT_FILE_MAX) into *doc; WARD_ENOENT
 * if there is none. */
static int
vault_read(const struct vault *v, json_t **doc, struct buf *err)
{
	json_error_t je;
	char *path = NULL;
	int fd, rc;

	*doc = NULL;
	if ((rc = vault_path(v, "vault", &path)) != 0)
		return rc;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		rc = errno == ENOENT ? WARD_ENOENT : WARD_ESYS;
		if (rc != WARD_ENOENT && err != NULL)
			buf_printf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	*doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	if (*doc == NULL || !json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		rc = WARD_EPROTO;
		if (err != NULL)
			buf_printf(err, "%s: the vault is damaged or truncated "
			    "(%s); refusing it", path, je.text);
	}
out:
	free(path);
	return rc;
}

/* The key of a keyfile vault: vault.key, or vault.key.new when a rotate
 * was cut short after writing the vault (then it is moved into place). */
static int
vault_key_find(struct vault *v, const char *check, struct buf *err)
{
	char *path = NULL, *pend = NULL;
	int rc;

	if ((rc = vault_path(v, "vault.key", &path)) != 0 ||
	    (rc = vault_path(v, "vault.key.new", &pend)) != 0)
		goto out;
	rc = vault_key_load(path, v->key, err);
	if (rc == WARD_ENOENT && check == NULL) {
		rc = vault_key_create(path, v->key, err);
		goto out;
	}
	if ((rc != 0 && rc != WARD_ENOENT) || (rc == 0 && check == NULL))
		goto out;
	if (rc == 0 && vault_check_ok(v->key, check))
		goto out;
	if (vault_key_load(pend, v->key, err) == 0 &&
	    vault_check_ok(v->key, check)) {
		rc = rename(pend, path) == 0 ? keyfile_fsync_dir(v->dir) :
		    WARD_ESYS;
		goto out;
	}
	rc = WARD_EPROTO;
	if (err != NULL)
		buf_printf(err, "%s: the vault key does not open the vault "
		    "(missing, replaced, or the vault was tampered with); "
		    "refusing it", path);
out:
	free(pend);
	free(path);
	return rc;
}

static int
vault_hex(const char *hex, unsigned char *bin, size_t want)
{
	size_t got;

	if (hex == NULL || strlen(hex) != 2 * want ||
	    sodium_hex2bin(bin, want, hex, 2 * want, NULL, &got, NULL) != 0 ||
	    got != want)
		return WARD_EPROTO;
	return 0;
}

static int
vault_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vault_entry *)a)->name,
	    ((const struct vault_entry *)b)->name);
}

/* Checks and decrypts every value of doc into v. */
static int
vault_load(struct vault *v, json_t *doc, struct buf *err)
{
	unsigned char ad[sizeof(VAULT_AD) + VAULT_NAME_MAX + 2];
	json_t *arr, *it;
	const char *name, *box;
	size_t i, adlen;
	int revoked, rc;

	arr = json_object_get(doc, "secrets");
	if (!json_is_array(arr))
		return WARD_EPROTO;
	if ((v->e = calloc(json_array_size(arr) + 1, sizeof(*v->e))) == NULL)
		return WARD_ENOMEM;
	json_array_foreach(arr, i, it) {
		name = box = NULL;
		revoked = 0;
		if (json_unpack(it, "{s:s, s:b, s:s !}", "name", &name,
		    "revoked", &revoked, "box", &box) != 0 ||
		    !vault_name_ok(name))
			return WARD_EPROTO;
		if (i > 0 && strcmp(v->e[i - 1].name, name) >= 0)
			return WARD_EPROTO;
		adlen = vault_ad(name, revoked, ad);
		if ((rc = vault_unseal(v->key, box, ad, adlen, &v->e[i].val,
		    &v->e[i].len)) != 0) {
			if (err != NULL && rc == WARD_EPROTO)
				buf_printf(err, "%s: the vault value fails its "
				    "integrity check; refusing the vault",
				    name);
			return rc;
		}
		snprintf(v->e[i].name, sizeof(v->e[i].name), "%s", name);
		v->e[i].revoked = revoked;
		v->n++;
	}
	return 0;
}

int
vault_needs_passphrase(struct buf *err)
{
	struct vault v;
	json_t *doc = NULL;
	const char *kdf;
	int rc;

	memset(&v, 0, sizeof(v));
	if ((rc = xdg_dir(XDG_DATA, &v.dir)) != 0) {
		if (err != NULL)
			buf_printf(err, "no usable data directory: %s",
			    ward_strerror(rc));
		return rc;
	}
	rc = vault_read(&v, &doc, err);
	if (rc == 0) {
		kdf = json_string_value(json_object_get(doc, "kdf"));
		rc = kdf != NULL && strcmp(kdf, "argon2id") == 0;
	} else if (rc == WARD_ENOENT)
		rc = 0;
	json_decref(doc);
	free(v.dir);
	return rc;
}

int
vault_open(const char *passphrase, struct vault **vp, struct buf *err)
{
	struct vault *v;
	json_t *doc = NULL;
	json_int_t ops = 0, mem = 0, ver = 0;
	const char *kdf = NULL, *salt = NULL, *check = NULL;
	char *lock = NULL;
	int rc;

	*vp = NULL;
	if (sodium_init() < 0)
		return WARD_ESYS;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return WARD_ENOMEM;
	v->lockfd = -1;
	if ((v->key = sodium_malloc(VAULT_KEYBYTES)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((rc = xdg_dir(XDG_DATA, &v->dir)) != 0) {
		if (err != NULL)
			buf_printf(err, "no usable data directory: %s",
			    ward_strerror(rc));
		goto out;
	}
	/* Changes are read-modify-write of one file: one writer at a time. */
	if ((rc = vault_path(v, "vault.lock", &lock)) != 0)
		goto out;
	v->lockfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (v->lockfd == -1 || flock(v->lockfd, LOCK_EX) == -1) {
		rc = WARD_ESYS;
		if (err != NULL)
			buf_printf(err, "%s: %s", lock, strerror(errno));
		goto out;
	}
	v->ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	v->mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	if ((rc = vault_read(v, &doc, err)) == WARD_ENOENT) {
		rc = vault_key_find(v, NULL, err);
		goto out;
	}
	if (rc != 0)
		goto out;
	rc = WARD_EPROTO;
	if (json_unpack(doc, "{s:I, s:s, s:s, s:I, s:I, s:s}", "version",
	    &ver, "kdf", &kdf, "salt", &salt, "ops", &ops, "mem", &mem,
	    "check", &check) != 0 || ver != VAULT_VERSION ||
	    vault_hex(salt, v->salt, VAULT_SALT) != 0) {
		if (err != NULL)
			buf_printf(err, "the vault file is malformed; "
			    "refusing it");
		goto out;
	}
	if (strcmp(kdf, "argon2id") == 0) {
		/* Bounded, so a planted file cannot make us spin or swap. */
		if (ops < (json_int_t)crypto_pwhash_OPSLIMIT_MIN ||
		    ops > (json_int_t)crypto_pwhash_OPSLIMIT_SENSITIVE ||
		    mem < (json_int_t)crypto_pwhash_MEMLIMIT_MIN ||
		    mem > (json_int_t)crypto_pwhash_MEMLIMIT_SENSITIVE)
			goto out;
		v->pw = 1;
		v->ops = (unsigned long long)ops;
		v->mem = (size_t)mem;
		rc = WARD_EDENIED;
		if (passphrase == NULL || passphrase[0] == '\0') {
			if (err != NULL)
				buf_printf(err, "the vault is locked with a "
				    "passphrase and none was given");
			goto out;
		}
		if ((rc = vault_derive(v, passphrase)) != 0)
			goto out;
		if (!vault_check_ok(v->key, check)) {
			rc = WARD_EDENIED;
			if (err != NULL)
				buf_printf(err, "wrong vault passphrase (or "
				    "the vault was tampered with)");
			goto out;
		}
	} else if (strcmp(kdf, "keyfile") == 0) {
		if ((rc = vault_key_find(v, check, err)) != 0)
			goto out;
	} else
		goto out;
	rc = vault_load(v, doc, err);
	if (rc == WARD_EPROTO && err != NULL && err->len == 0)
		buf_printf(err, "the vault file is malformed; refusing it");
out:
	json_decref(doc);
	free(lock);
	if (rc != 0)
		vault_free(v);
	else
		*vp = v;
	return rc;
}

static struct vault_entry *
vault_find(const struct vault *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->e[i].name, name) == 0)
			return &v->e[i];
	return NULL;
}

int
vault_set(struct vault *v, const char *name, const unsigned char *val,
    size_t len, struct buf *err)
{
	struct vault_entry *e, *ne;
	unsigned char *copy;

	if (!vault_name_ok(name)) {
		if (err != NULL)
			buf_printf(err, "bad secret name (want "
			    "[A-Z_][A-Z0-9_]*, at most %d bytes)",
			    VAULT_NAME_MAX);
		return WARD_EINVAL;
	}
	if (vault_value_ok(val, len, err) != 0)
		return WARD_EINVAL;
	if ((copy = sodium_malloc(len + 1)) == NULL)
		return WARD_ENOMEM;
	memcpy(copy, val, len);
	copy[len] = '\0';
	if ((e = vault_find(v, name)) == NULL) {
		if ((ne = realloc(v->e, (v->n + 1) * sizeof(*ne))) == NULL) {
			sodium_free(copy);
			return WARD_ENOMEM;
		}
		v->e = ne;
		e = &v->e[v->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", name);
	}
	vault_entry_clear(e);
	e->val = copy;
	e->len = len;
	e->revoked = 0;
	qsort(v->e, v->n, sizeof(*v->e), vault_entry_cmp);
	return vault_save(v, err);
}

int
vault_get(struct vault *v, const char *name, unsigned char **val,
    size_t *len, struct buf *err)
{
	struct vault_entry *e;

	*val = NULL;
	*len = 0;
	if ((e = vault_find(v, name)) == NULL) {
		if (err != NULL)
			buf_printf(err, "%s: no such secret", name);
		return WARD_ENOENT;
	}
	if (e->revoked) {
		if (err != NULL)
			buf_printf(err, "%s: the secret is revoked", name);
		return WARD_EDENIED;
	}
	if ((*val = sodium_malloc(e->len + 1)) == NULL)
		return WARD_ENOMEM;
	memcpy(*val, e->val, e->len + 1);
	*len = e->len;
	return 0;
}

size_t
vault_count(const struct vault *v)
{
	return v->n;
}

const char *
vault_name(const struct vault *v, size_t i)
{
	return i < v->n ? v->e[i].name : NULL;
}

int
vault_is_revoked(const struct vault *v, const char *name)
{
	const struct vault_entry *e;

	if ((e = vault_find(v, name)) == NULL)
		return WARD_ENOENT;
	return e->revoked;
}

int
vault_has_passphrase(const struct vault *v)
{
	return v->pw;
}

int
vault_rm(struct vault *v, const char *name, struct buf *err)
{
	struct vault_entry *e;
	size_t i;

	if ((e = vault_find(v, name)) == NULL) {
		if (err != NULL)
			buf_printf(err, "%s: no such secret", name);
		return WARD_ENOENT;
	}
	vault_entry_clear(e);
	i = (size_t)(e - v->e);
	memmove(e, e + 1, (v->n - i - 1) * sizeof(*e));
	v->n--;
	return vault_save(v, err);
}

int
vault_revoke(struct vault *v, const char *name, struct buf *err)
{
	struct vault_entry *e;

	if ((e = vault_find(v, name)) == NULL) {
		if (err != NULL)
			buf_printf(err, "%s: no such secret", name);
		return WARD_ENOENT;
	}
	e->revoked = 1;
	return vault_save(v, err);
}

/*
 * Key file: vault.key.new is written first, then the vault under it, then
 * the new key is renamed over the old; vault_key_find completes a rotate
 * cut short between the last two. Passphrase: the vault (with its salt) is
 * one rename, after which any key file is no longer needed.
 */
int
vault_rotate(struct vault *v, const char *passphrase, struct buf *err)
{
	char *path = NULL, *pend = NULL;
	int rc;

	if (passphrase != NULL && passphrase[0] == '\0') {
		if (err != NULL)
			buf_printf(err, "the passphrase is empty");
		return WARD_EINVAL;
	}
	if ((rc = vault_path(v, "vault.key", &path)) != 0 ||
	    (rc = vault_path(v, "vault.key.new", &pend)) != 0)
		goto out;
	if (passphrase != NULL) {
		randombytes_buf(v->salt, sizeof(v->salt));
		v->pw = 1;
		v->ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		v->mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		if ((rc = vault_derive(v, passphrase)) != 0 ||
		    (rc = vault_save(v, err)) != 0)
			goto out;
		if (unlink(path) == -1 && errno != ENOENT)
			rc = WARD_ESYS;
		goto out;
	}
	/* A leftover from an earlier rotate never opened this vault. */
	if (unlink(pend) == -1 && errno != ENOENT) {
		rc = WARD_ESYS;
		goto out;
	}
	v->pw = 0;
	if ((rc = vault_key_create(pend, v->key, err)) != 0 ||
	    (rc = vault_save(v, err)) != 0)
		goto out;
	rc = rename(pend, path) == 0 ? keyfile_fsync_dir(v->dir) : WARD_ESYS;
out:
	free(pend);
	free(path);
	return rc;
}

int
vault_pairs(const struct vault *v, struct vault_pair **pairs, size_t *n)
{
	size_t i;

	*n = 0;
	if ((*pairs = calloc(v->n + 1, sizeof(**pairs))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < v->n; i++) {
		(*pairs)[i].name = v->e[i].name;
		(*pairs)[i].value = v->e[i].val;
		(*pairs)[i].len = v->e[i].len;
	}
	*n = v->n;
	return 0;
}
