/*
 * Manifest approval; see approval.h and doc/MANIFEST.md "Approval". The
 * signature is checked against the key in the user's own config directory,
 * never against the public key stored beside it, so an approval file that
 * anyone else wrote (or copied from another machine) does not verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/keyfile.h"
#include "../lib/xdg.h"
#include "approval.h"
#include "manifest.h"
#include "toml.h"

#define APPROVAL_DOMAIN		"ward-approval-v1"	/* sizeof counts its NUL */
#define APPROVAL_VERSION	1
/* The stored text is at most MANIFEST_MAX_BYTES; JSON at most doubles the
 * bytes TOML allows raw (tab, newline, quote, backslash). */
#define APPROVAL_FILE_MAX	(3 * MANIFEST_MAX_BYTES)

/* A verified approval file. */
struct approval_rec {
	char		*text;		/* the approved manifest */
	size_t		 len;
	struct buf	 canon;		/* its canonical form */
};

static int approval_canon_node(const struct toml_node *, struct buf *);

static int
approval_init(struct buf *err)
{
	if (sodium_init() < 0) {
		if (err != NULL)
			buf_puts(err, "cannot initialise libsodium");
		return WARD_ESYS;
	}
	return 0;
}

/* A quoted string: only '"', '\\' and the C0 controls and DEL are escaped,
 * so the form has exactly one spelling for each byte string. */
static int
approval_canon_str(struct buf *out, const char *s, size_t len)
{
	unsigned char c;
	size_t i;
	int rc;

	if ((rc = buf_add(out, "\"", 1)) != 0)
		return rc;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			rc = buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			rc = buf_printf(out, "\\u%04x", c);
		else
			rc = buf_add(out, &s[i], 1);
		if (rc != 0)
			return rc;
	}
	return buf_add(out, "\"", 1);
}

/* A table entry, for sorting by key. */
struct approval_entry {
	const struct toml_key	*k;
	const struct toml_node	*v;
};

static int
approval_keycmp(const void *a, const void *b)
{
	const struct toml_key *ka = ((const struct approval_entry *)a)->k;
	const struct toml_key *kb = ((const struct approval_entry *)b)->k;
	size_t n = ka->len < kb->len ? ka->len : kb->len;
	int c;

	if ((c = memcmp(ka->name, kb->name, n)) != 0)
		return c;
	return ka->len < kb->len ? -1 : ka->len > kb->len;
}

static int
approval_canon_table(const struct toml_node *n, struct buf *out)
{
	struct approval_entry *e = NULL;
	size_t i, count = toml_len(n);
	int rc;

	if (count > 0 && (e = calloc(count, sizeof(*e))) == NULL)
		return WARD_ENOMEM;
	for (i = 0; i < count; i++) {
		e[i].k = toml_key(n, i);
		e[i].v = toml_value(n, i);
	}
	if (count > 0)
		qsort(e, count, sizeof(*e), approval_keycmp);
	if ((rc = buf_add(out, "{", 1)) != 0)
		goto out;
	for (i = 0; i < count; i++)
		if ((rc = approval_canon_str(out, e[i].k->name,
		    e[i].k->len)) != 0 ||
		    (rc = buf_add(out, "=", 1)) != 0 ||
		    (rc = approval_canon_node(e[i].v, out)) != 0 ||
		    (rc = buf_add(out, ";", 1)) != 0)
			goto out;
	rc = buf_add(out, "}", 1);
out:
	free(e);
	return rc;
}

static int
approval_canon_float(const struct toml_node *n, struct buf *out)
{
	uint64_t bits;
	double d;

	if (toml_float(n, &d) != 0)
		return WARD_EINVAL;
	/* TOML leaves the sign and payload of nan to the implementation. */
	if (d != d)
		return buf_puts(out, "fnan");
	memcpy(&bits, &d, sizeof(bits));
	return buf_printf(out, "f%016" PRIx64, bits);
}

/* Date and time from their fields, not as written: 'T' or ' ', 'Z' or
 * '+00:00' and trailing zeros of the fraction are spellings of one value. */
static int
approval_canon_datetime(const struct toml_node *n, struct buf *out)
{
	const struct toml_datetime *dt = toml_datetime(n);
	enum toml_type t = toml_type(n);
	int rc = 0, off;

	if (dt == NULL)
		return WARD_EINVAL;
	rc = buf_puts(out, t == TOML_DATETIME ? "o" :
	    t == TOML_DATETIME_LOCAL ? "l" : t == TOML_DATE_LOCAL ? "d" : "t");
	if (rc == 0 && t != TOML_TIME_LOCAL)
		rc = buf_printf(out, "%04d-%02d-%02d", dt->year, dt->month,
		    dt->day);
	if (rc == 0 && (t == TOML_DATETIME || t == TOML_DATETIME_LOCAL))
		rc = buf_puts(out, "T");
	if (rc == 0 && t != TOML_DATE_LOCAL)
		rc = buf_printf(out, "%02d:%02d:%02d.%09" PRId32, dt->hour,
		    dt->minute, dt->second, dt->nanosecond);
	if (rc == 0 && t == TOML_DATETIME) {
		off = dt->offset < 0 ? -dt->offset : dt->offset;
		rc = buf_printf(out, "%c%02d:%02d", dt->offset < 0 ? '-' : '+',
		    off / 60, off % 60);
	}
	return rc;
}

static int
approval_canon_node(const struct toml_node *n, struct buf *out)
{
	const char *s;
	size_t i, len;
	int64_t iv;
	int b, rc;

	switch (toml_type(n)) {
	case TOML_TABLE:
		return approval_canon_table(n, out);
	case TOML_ARRAY:
		if ((rc = buf_add(out, "[", 1)) != 0)
			return rc;
		for (i = 0; i < toml_len(n); i++)
			if ((rc = approval_canon_node(toml_at(n, i), out)) != 0 ||
			    (rc = buf_add(out, ";", 1)) != 0)
				return rc;
		return buf_add(out, "]", 1);
	case TOML_STRING:
		s = toml_str(n, &len);
		if ((rc = buf_add(out, "s", 1)) != 0)
			return rc;
		return approval_canon_str(out, s, len);
	case TOML_INTEGER:
		if ((rc = toml_int(n, &iv)) != 0)
			return rc;
		return buf_printf(out, "i%" PRId64, iv);
	case TOML_FLOAT:
		return approval_canon_float(n, out);
	case TOML_BOOL:
		if ((rc = toml_bool(n, &b)) != 0)
			return rc;
		return buf_puts(out, b ? "btrue" : "bfalse");
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		return approval_canon_datetime(n, out);
	}
	return WARD_EINVAL;
}

int
approval_canonical(const char *text, size_t len, struct buf *out,
    struct buf *err)
{
	struct toml *doc = NULL;
	int rc;

	if ((rc = toml_parse(text, len, &doc, err)) != 0)
		return rc;
	/* The parser caps nesting, so this recursion is bounded. */
	rc = approval_canon_node(toml_root(doc), out);
	toml_free(doc);
	return rc;
}

/* The signed message: the domain with its NUL, then the real path and the
 * canonical form, each after its length as 8 bytes big-endian. */
static int
approval_message(const char *real, const struct buf *canon, struct buf *msg)
{
	const char *f[2] = { real, canon->data ? canon->data : "" };
	size_t flen[2] = { strlen(real), canon->len };
	unsigned char be[8];
	uint64_t v;
	int i, j, rc;

	if ((rc = buf_add(msg, APPROVAL_DOMAIN, sizeof(APPROVAL_DOMAIN))) != 0)
		return rc;
	for (i = 0; i < 2; i++) {
		v = flen[i];
		for (j = 7; j >= 0; j--, v >>= 8)
			be[j] = v & 0xff;
		if ((rc = buf_add(msg, be, sizeof(be))) != 0 ||
		    (rc = buf_add(msg, f[i], flen[i])) != 0)
			return rc;
	}
	return 0;
}

/* The approval file's directory (made if create is set) and name. */
static int
approval_file(const char *real, int create, char **dirp, char **pathp)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1], *state = NULL;
	int rc;

	*dirp = *pathp = NULL;
	if ((rc = xdg_dir(XDG_STATE, &state)) != 0)
		return rc;
	crypto_hash_sha256(h, (const unsigned char *)real, strlen(real));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	rc = WARD_ENOMEM;
	if (asprintf(dirp, "%s/approvals", state) == -1) {
		*dirp = NULL;
		goto out;
	}
	if (asprintf(pathp, "%s/%s.json", *dirp, hex) == -1) {
		*pathp = NULL;
		goto out;
	}
	rc = create ? xdg_mkdirs(*dirp) : 0;
out:
	free(state);
	if (rc != 0) {
		free(*dirp);
		free(*pathp);
		*dirp = *pathp = NULL;
	}
	return rc;
}

static int
approval_realpath(const char *root, char **real, struct buf *err)
{
	if ((*real = realpath(root, NULL)) != NULL)
		return 0;
	if (err != NULL)
		buf_printf(err, "%s: %s", root, strerror(errno));
	return errno == ENOMEM ? WARD_ENOMEM : WARD_ESYS;
}

/* Reads the approval file at path into data (capped). */
static int
approval_slurp(const char *path, struct buf *data)
{
	char chunk[8192];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? WARD_ENOENT :
		    errno == ELOOP ? WARD_EPROTO : WARD_ESYS;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		rc = WARD_EPROTO;
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = WARD_EIO;
			break;
		}
		if (n == 0 || (rc = buf_add(data, chunk, (size_t)n)) != 0)
			break;
	}
out:
	close(fd);
	return rc == WARD_ETOOBIG ? WARD_EPROTO : rc;
}

static int
approval_hex(const char *hex, unsigned char *bin, size_t want)
{
	const char *end;
	size_t got;

	if (strlen(hex) != 2 * want ||
	    sodium_hex2bin(bin, want, hex, 2 * want, NULL, &got, &end) != 0 ||
	    got != want || *end != '\0')
		return WARD_EPROTO;
	return 0;
}

/*
 * Reads and verifies root's approval file (real is root's realpath): it
 * must name real, carry the user's public key, and its signature must
 * verify with that key over the stored text. Fills *r (free with
 * approval_rec_free). Returns 0 or approval_check's errors.
 */
static int
approval_load(const char *real, struct approval_rec *r, struct buf *err)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	const char *path_s, *pk_s, *sig_s, *text_s, *why = NULL;
	size_t path_len, text_len;
	char *dir = NULL, *path = NULL;
	struct keyfile_key k;
	struct buf data, msg;
	json_error_t jerr;
	json_t *doc = NULL;
	int version, rc;

	memset(r, 0, sizeof(*r));
	memset(&k, 0, sizeof(k));
	buf_init(&r->canon, 0);
	buf_init(&data, APPROVAL_FILE_MAX);
	buf_init(&msg, 0);
	if ((rc = approval_file(real, 0, &dir, &path)) != 0) {
		if (err != NULL)
			buf_printf(err, "no usable state directory: %s",
			    ward_strerror(rc));
		goto out;
	}
	if ((rc = approval_slurp(path, &data)) != 0) {
		if (rc == WARD_ENOENT)
			why = "the manifest has never been approved";
		else if (rc == WARD_EPROTO)
			why = "the approval file is not a regular file or is "
			    "too large";
		else
			why = "cannot read the approval file";
		goto out;
	}
	rc = WARD_EPROTO;
	doc = json_loadb(data.data ? data.data : "", data.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL || json_unpack_ex(doc, &jerr, JSON_STRICT,
	    "{s:i, s:s%, s:s, s:s, s:s%}", "version", &version,
	    "path", &path_s, &path_len, "public_key", &pk_s,
	    "signature", &sig_s, "manifest", &text_s, &text_len) != 0 ||
	    version != APPROVAL_VERSION || approval_hex(pk_s, pk,
	    sizeof(pk)) != 0 || approval_hex(sig_s, sig, sizeof(sig)) != 0) {
		why = "the approval file is malformed";
		goto out;
	}
	if (path_len != strlen(real) || memcmp(path_s, real, path_len) != 0) {
		why = "the approval file is for another directory";
		goto out;
	}
	if ((rc = keyfile_load("user.key", "user key", 0, &k, err)) != 0) {
		if (rc == WARD_ENOENT) {
			rc = WARD_EPROTO;
			why = "it was made with another key (you have no user "
			    "key)";
		}
		goto out;
	}
	if (sodium_memcmp(pk, k.pk, sizeof(pk)) != 0) {
		rc = WARD_EPROTO;
		why = "it was made with another key";
		goto out;
	}
	if ((rc = approval_canonical(text_s, text_len, &r->canon,
	    NULL)) != 0 || (rc = approval_message(real, &r->canon,
	    &msg)) != 0) {
		if (rc != WARD_ENOMEM) {
			rc = WARD_EPROTO;
			why = "the approved text is not TOML";
		}
		goto out;
	}
	if (crypto_sign_verify_detached(sig, (const unsigned char *)msg.data,
	    msg.len, k.pk) != 0) {
		rc = WARD_EPROTO;
		why = "the signature does not verify (the approval file was "
		    "edited)";
		goto out;
	}
	if ((r->text = malloc(text_len + 1)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	memcpy(r->text, text_s, text_len);
	r->text[text_len] = '\0';
	r->len = text_len;
	rc = 0;
out:
	if (why != NULL && err != NULL)
		buf_printf(err, "%s: %s%s", real, rc == WARD_EPROTO ?
		    "the approval is invalid: " : "", why);
	if (rc != 0)
		buf_free(&r->canon);
	keyfile_clear(&k);
	json_decref(doc);
	buf_free(&data);
	buf_free(&msg);
	free(path);
	free(dir);
	return rc;
}

static void
approval_rec_free(struct approval_rec *r)
{
	free(r->text);
	r->text = NULL;
	buf_free(&r->canon);
}

/* Writes the approval file: a temporary file, fsync, rename, so a crash
 * leaves the old approval or the new one. */
static int
approval_store(const char *real, const struct keyfile_key *k,
    const unsigned char *sig, const char *text, size_t len, struct buf *err)
{
	char pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
	char sig_hex[2 * crypto_sign_BYTES + 1];
	char *dir = NULL, *path = NULL, *tmp = NULL, *js = NULL;
	json_t *doc = NULL;
	int fd = -1, rc;

	if ((rc = approval_file(real, 1, &dir, &path)) != 0) {
		if (err != NULL)
			buf_printf(err, "no usable state directory: %s",
			    ward_strerror(rc));
		return rc;
	}
	sodium_bin2hex(pk_hex, sizeof(pk_hex), k->pk, sizeof(k->pk));
	sodium_bin2hex(sig_hex, sizeof(sig_hex), sig, crypto_sign_BYTES);
	doc = json_pack("{s:i, s:s, s:s, s:s, s:s%}", "version",
	    APPROVAL_VERSION, "path", real, "public_key", pk_hex, "signature",
	    sig_hex, "manifest", text, len);
	if (doc == NULL || (js = json_dumps(doc, JSON_COMPACT)) == NULL) {
		rc = WARD_EINVAL;
		if (err != NULL)
			buf_printf(err, "%s: cannot record the approval (is "
			    "the path UTF-8?)", real);
		goto out;
	}
	if (asprintf(&tmp, "%s.XXXXXX", path) == -1) {
		tmp = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		free(tmp);
		tmp = NULL;
		rc = WARD_ESYS;
		goto fail;
	}
	rc = WARD_EIO;
	if (fchmod(fd, 0600) == -1 ||
	    keyfile_write_all(fd, js, strlen(js)) != 0 ||
	    keyfile_write_all(fd, "\n", 1) != 0 || fsync(fd) == -1)
		goto fail;
	rc = close(fd) == -1 ? WARD_EIO : 0;
	fd = -1;
	if (rc != 0)
		goto fail;
	if (rename(tmp, path) == -1) {
		rc = WARD_ESYS;
		goto fail;
	}
	free(tmp);
	tmp = NULL;
	rc = keyfile_fsync_dir(dir);
fail:
	if (rc != 0 && err != NULL)
		buf_printf(err, "%s: cannot write the approval: %s", path,
		    strerror(errno));
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(js);
	json_decref(doc);
	free(path);
	free(dir);
	return rc;
}

int
approval_sign(const char *root, const char *text, size_t len,
    struct buf *err)
{
	unsigned char sig[crypto_sign_BYTES];
	struct manifest *m = NULL;
	struct keyfile_key k;
	struct buf canon, msg;
	char *real = NULL;
	int rc;

	memset(&k, 0, sizeof(k));
	buf_init(&canon, 0);
	buf_init(&msg, 0);
	if ((rc = approval_init(err)) != 0)
		goto out;
	/* Only a manifest ward would use can be approved. */
	if ((rc = manifest_parse("ward.toml", text, len, &m, err)) != 0)
		goto out;
	if ((rc = approval_realpath(root, &real, err)) != 0 ||
	    (rc = approval_canonical(text, len, &canon, err)) != 0 ||
	    (rc = approval_message(real, &canon, &msg)) != 0 ||
	    (rc = keyfile_load("user.key", "user key", 1, &k, err)) != 0)
		goto out;
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg.data,
	    msg.len, k.sk);
	sodium_memzero(k.sk, sizeof(k.sk));
	rc = approval_store(real, &k, sig, text, len, err);
out:
	keyfile_clear(&k);
	manifest_free(m);
	buf_free(&canon);
	buf_free(&msg);
	free(real);
	return rc;
}

int
approval_check(const char *root, const char *text, size_t len,
    struct buf *err)
{
	struct approval_rec r;
	struct buf canon;
	char *real = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	buf_init(&canon, 0);
	if ((rc = approval_init(err)) != 0 ||
	    (rc = approval_realpath(root, &real, err)) != 0)
		goto out;
	if ((rc = approval_canonical(text, len, &canon, err)) != 0) {
		if (rc == WARD_EPROTO)
			rc = WARD_EINVAL;
		goto out;
	}
	if ((rc = approval_load(real, &r, err)) != 0)
		goto out;
	/* The stored text verified, so equal canonical forms mean the
	 * signature covers this text too. */
	if (canon.len != r.canon.len ||
	    memcmp(canon.data, r.canon.data, canon.len) != 0) {
		rc = WARD_EDENIED;
		if (err != NULL)
			buf_printf(err, "%s: the manifest has changed since it "
			    "was approved", real);
	}
out:
	approval_rec_free(&r);
	buf_free(&canon);
	free(real);
	return rc;
}

int
approval_last(const char *root, char **text, size_t *len, struct buf *err)
{
	struct approval_rec r;
	char *real = NULL;
	int rc;

	*text = NULL;
	*len = 0;
	memset(&r, 0, sizeof(r));
	if ((rc = approval_init(err)) != 0 ||
	    (rc = approval_realpath(root, &real, err)) != 0 ||
	    (rc = approval_load(real, &r, err)) != 0)
		goto out;
	*text = r.text;
	*len = r.len;
	r.text = NULL;
out:
	approval_rec_free(&r);
	free(real);
	return rc;
}
