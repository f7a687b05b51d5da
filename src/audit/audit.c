/*
 * The tamper-evident audit log; see audit.h and doc/AUDIT-FORMAT.md.
 * The writer and the verifier share one scanner (struct audit_scan), so
 * a log is reopened by exactly the checks `ward audit verify` makes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <linux/futex.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../lib/err.h"
#include "../lib/xdg.h"
#include "audit.h"
#include "canon.h"

#define AUDIT_DOMAIN	"ward-audit-record-v1"	/* sizeof counts its NUL */
#define AUDIT_DUMP	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
#define AUDIT_SEAL	"ward-seal"
#define AUDIT_KIND_MAX	32
#define AUDIT_CHUNK	(1u << 20)
#define AUDIT_B64	sodium_base64_VARIANT_ORIGINAL
#define AUDIT_SIG_B64	92	/* base64 of 4-byte key ID + 64-byte sig */
#define AUDIT_DASH	"\xe2\x80\x94 "	/* U+2014, the signature line mark */
#define AUDIT_WORDS	2	/* batches alive: one being written, one
				 * filling up */
#define AUDIT_RESERVE	(1 << 20)	/* zeroed bytes kept past the end */
#define AUDIT_ZEROS	(64 * 1024)

/* What the reserve is made of, and what it is compared against. */
static const char audit_zeros[AUDIT_ZEROS];

/*
 * SHA-256 for the chain and the tree, from OpenSSL's libcrypto: it uses
 * the CPU's SHA extensions where there are any, and libsodium's portable
 * C was a fifth of verify's time and much of what append does under the
 * log's lock (bench/README.md). One context per thread of use: the
 * writer's is used under its lock, each scan and proof has its own.
 */
struct audit_sha {
	EVP_MD_CTX	*ctx;
};

/* The Merkle tree as its compact range: the roots of the perfect subtrees
 * that the bits of n name, largest first. */
struct audit_tree {
	uint64_t	 n;
	unsigned char	 prev[AUDIT_HASH_BYTES];	/* last record hash */
	unsigned char	 stack[64][AUDIT_HASH_BYTES];
	int		 sp;
};

/* A checkpoint the log must agree with. */
struct audit_trust {
	uint64_t	 size;
	unsigned char	 root[AUDIT_HASH_BYTES];
	int		 seal;		/* the record at size is its seal */
	const char	*what;
};

/* A signed note, parsed. */
struct audit_note {
	char		 origin[256];
	uint64_t	 size;
	unsigned char	 root[AUDIT_HASH_BYTES];
	int		 seal;
};

/* The verifier's state, also the writer's at open. */
struct audit_scan {
	struct audit_tree	 t;
	const unsigned char	*pk;
	unsigned char		 keyid[4];
	char			 origin[256];	/* of the first checkpoint */
	struct audit_trust	 trust[2];
	int			 ntrust;
	uint64_t		 last_ckpt;	/* size of the last one */
	off_t			 end;		/* of the records and a torn
						 * tail: the reserve starts
						 * here (-1: not a file) */
	int			 want_seal;	/* this record must be a seal */
	struct buf		 dump;		/* scratch: re-encoding */
	struct audit_canon	*canon;		/* the one-pass checker */
	struct audit_sha	 sha;
	struct audit_report	*rep;
	audit_each_fn		 each;
	void			*arg;
};

/*
 * The writer. Records are added to pending under mu, and written in
 * batches: the thread that finds no write in progress writes everything
 * pending with one write and one fdatasync (group commit) while the
 * others add to the next batch. Waiters do not sleep on mu: each sleeps
 * on its batch's futex word, which is bumped when that batch is on disk,
 * so a finished write wakes only its own waiters, and they return
 * without taking mu again. (A condition variable on mu woke all 64 of
 * the bench's threads at every write and had each take mu in turn: on 2
 * cores that was most of append's time.) One waiter of the next batch is
 * then woken to write it.
 */
struct audit_log {
	pthread_mutex_t		 mu;
	int			 fd;
	char			*ckpath;	/* <path>.checkpoint */
	char			*origin;
	unsigned		 every_records;
	unsigned		 every_seconds;
	struct keyfile_key	 key;
	unsigned char		 keyid[4];
	struct audit_tree	 t;
	struct audit_sha	 sha;		/* under mu */
	uint64_t		 ckpt_size;	/* records the last one covers */
	struct timespec		 ckpt_time;
	struct buf		 pending;	/* lines not yet written */
	struct buf		 spare;		/* the flusher's empty buffer */
	/* The flusher's (or, with no flusher, the opener's and closer's): */
	off_t			 end;		/* where the next batch goes */
	off_t			 alloc;		/* file size: end + reserve */
	int			 noreserve;	/* growing it failed */
	char			*note;		/* newest note in pending */
	uint64_t		 batch;		/* number of the batch pending
						 * fills; its word is
						 * word[batch % AUDIT_WORDS] */
	uint64_t		 flight;	/* records the batch being
						 * written ends at */
	uint64_t		 wanted;	/* highest record waited for */
	int			 flushing;
	time_t			 ts_sec;	/* the second ts_text spells */
	char			 ts_text[64];
	/* Read without mu by waiters woken on their word: */
	_Atomic uint64_t	 durable;	/* records on disk */
	_Atomic int		 broken;	/* sticky WARD_E* */
	_Atomic uint32_t	 word[AUDIT_WORDS];
};

static EVP_MD *audit_md;		/* fetched once: a fetch per hash costs
					 * more than the hash */
static pthread_once_t audit_once = PTHREAD_ONCE_INIT;

static void
audit_init_once(void)
{
	if (sodium_init() >= 0)
		audit_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static int
audit_init(void)
{
	pthread_once(&audit_once, audit_init_once);
	return audit_md == NULL ? WARD_ESYS : 0;
}

static int
audit_sha_new(struct audit_sha *h)
{
	if ((h->ctx = EVP_MD_CTX_new()) == NULL)
		return WARD_ENOMEM;
	return 0;
}

static void
audit_sha_free(struct audit_sha *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

/* out = SHA-256(a || b || c); b and c may be NULL. */
static int
audit_sha(struct audit_sha *h, const void *a, size_t alen, const void *b,
    size_t blen, const void *c, size_t clen, unsigned char out[AUDIT_HASH_BYTES])
{
	unsigned int n;

	if (EVP_DigestInit_ex2(h->ctx, audit_md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, a, alen) != 1 ||
	    (b != NULL && EVP_DigestUpdate(h->ctx, b, blen) != 1) ||
	    (c != NULL && EVP_DigestUpdate(h->ctx, c, clen) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != AUDIT_HASH_BYTES)
		return WARD_ESYS;
	return 0;
}

static void
audit_be64(uint64_t v, unsigned char be[8])
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		be[i] = v & 0xff;
}

/* The record hash: domain, seq, previous hash, then the line, each of
 * fixed size or length-prefixed so no two inputs share an encoding. */
static int
audit_record_hash(struct audit_sha *h, uint64_t seq,
    const unsigned char prev[AUDIT_HASH_BYTES], const char *line, size_t len,
    unsigned char out[AUDIT_HASH_BYTES])
{
	unsigned char pre[sizeof(AUDIT_DOMAIN) + 8 + AUDIT_HASH_BYTES + 8];
	unsigned char *p = pre;

	memcpy(p, AUDIT_DOMAIN, sizeof(AUDIT_DOMAIN));
	p += sizeof(AUDIT_DOMAIN);
	audit_be64(seq, p);
	p += 8;
	memcpy(p, prev, AUDIT_HASH_BYTES);
	p += AUDIT_HASH_BYTES;
	audit_be64(len, p);
	return audit_sha(h, pre, sizeof(pre), line, len, NULL, 0, out);
}

/* RFC 6962: leaf = H(0x00 || data), node = H(0x01 || left || right). */
static int
audit_leaf(struct audit_sha *h, const unsigned char rh[AUDIT_HASH_BYTES],
    unsigned char out[AUDIT_HASH_BYTES])
{
	const unsigned char z = 0;

	return audit_sha(h, &z, 1, rh, AUDIT_HASH_BYTES, NULL, 0, out);
}

static int
audit_node(struct audit_sha *h, const unsigned char l[AUDIT_HASH_BYTES],
    const unsigned char r[AUDIT_HASH_BYTES], unsigned char out[AUDIT_HASH_BYTES])
{
	const unsigned char one = 1;

	return audit_sha(h, &one, 1, l, AUDIT_HASH_BYTES, r, AUDIT_HASH_BYTES,
	    out);
}

/* Adds a record hash; on error t is unchanged. */
static int
audit_tree_add(struct audit_sha *h, struct audit_tree *t,
    const unsigned char rh[AUDIT_HASH_BYTES])
{
	unsigned char x[AUDIT_HASH_BYTES];
	uint64_t m;
	int sp = t->sp, rc;

	if ((rc = audit_leaf(h, rh, x)) != 0)
		return rc;
	for (m = t->n; m & 1; m >>= 1)
		if ((rc = audit_node(h, t->stack[--sp], x, x)) != 0)
			return rc;
	memcpy(t->stack[sp++], x, sizeof(x));
	t->sp = sp;
	memcpy(t->prev, rh, AUDIT_HASH_BYTES);
	t->n++;
	return 0;
}

/* The root of the tree of all t->n records; the empty tree's is H(""). */
static int
audit_tree_root(struct audit_sha *h, const struct audit_tree *t,
    unsigned char out[AUDIT_HASH_BYTES])
{
	int i, rc;

	if (t->sp == 0)
		return audit_sha(h, "", 0, NULL, 0, NULL, 0, out);
	memcpy(out, t->stack[t->sp - 1], AUDIT_HASH_BYTES);
	for (i = t->sp - 2; i >= 0; i--)
		if ((rc = audit_node(h, t->stack[i], out, out)) != 0)
			return rc;
	return 0;
}

/* The C2SP key ID: SHA-256(name || 0x0A || 0x01 || pk)[:4]. */
static void
audit_keyid(const unsigned char pk[32], unsigned char id[4])
{
	crypto_hash_sha256_state st;
	unsigned char h[32];
	const unsigned char sep[2] = { 0x0a, 0x01 };

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)AUDIT_KEY_NAME,
	    strlen(AUDIT_KEY_NAME));
	crypto_hash_sha256_update(&st, sep, sizeof(sep));
	crypto_hash_sha256_update(&st, pk, 32);
	crypto_hash_sha256_final(&st, h);
	memcpy(id, h, 4);
}

int
audit_vkey(const unsigned char pk[32], struct buf *out)
{
	unsigned char id[4], raw[33];
	char b64[sodium_base64_ENCODED_LEN(33, AUDIT_B64)];

	audit_keyid(pk, id);
	raw[0] = 0x01;
	memcpy(raw + 1, pk, 32);
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), AUDIT_B64);
	return buf_printf(out, "%s+%02x%02x%02x%02x+%s", AUDIT_KEY_NAME,
	    id[0], id[1], id[2], id[3], b64);
}

/* Parses a verifier key for AUDIT_KEY_NAME. */
static int
audit_vkey_parse(const char *s, size_t len, unsigned char pk[32])
{
	struct buf want;
	unsigned char raw[33];
	size_t n, pre = strlen(AUDIT_KEY_NAME) + 1 + 8 + 1;
	int rc = WARD_EPROTO;

	buf_init(&want, 0);
	while (len > 0 && (s[len - 1] == '\n'))
		len--;
	if (len <= pre || strncmp(s, AUDIT_KEY_NAME "+", pre - 9) != 0 ||
	    sodium_base642bin(raw, sizeof(raw), s + pre, len - pre, NULL, &n,
	    NULL, AUDIT_B64) != 0 || n != sizeof(raw) || raw[0] != 0x01)
		goto out;
	/* Re-encode: the key ID and spelling must be exactly ours. */
	if ((rc = audit_vkey(raw + 1, &want)) != 0)
		goto out;
	rc = WARD_EPROTO;
	if (want.len != len || memcmp(want.data, s, len) != 0)
		goto out;
	memcpy(pk, raw + 1, 32);
	rc = 0;
out:
	buf_free(&want);
	return rc;
}

/* Reads a small file (at most max bytes) into b. */
static int
audit_slurp(const char *path, size_t max, struct buf *b)
{
	char chunk[4096];
	ssize_t n;
	int fd, rc = 0;

	buf_init(b, max);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC))
	    == -1)
		return errno == ENOENT ? WARD_ENOENT : WARD_ESYS;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = WARD_EIO;
			break;
		}
		if ((rc = buf_add(b, chunk, (size_t)n)) != 0)
			break;
	}
	close(fd);
	return rc;
}

static int
audit_pub_path(char **out)
{
	char *dir = NULL;
	int rc;

	*out = NULL;
	if ((rc = xdg_dir(XDG_CONFIG, &dir)) != 0)
		return rc;
	if (asprintf(out, "%s/audit.pub", dir) == -1) {
		*out = NULL;
		rc = WARD_ENOMEM;
	}
	free(dir);
	return rc;
}

int
audit_key_pinned(unsigned char pk[32], struct buf *err)
{
	struct buf b;
	char *path = NULL;
	int rc;

	buf_init(&b, 0);
	if ((rc = audit_init()) != 0 || (rc = audit_pub_path(&path)) != 0)
		goto out;
	if ((rc = audit_slurp(path, 4096, &b)) != 0) {
		if (err != NULL)
			buf_printf(err, "%s: %s", path, rc == WARD_ENOENT ?
			    "no pinned audit key" : ward_strerror(rc));
		goto out;
	}
	if ((rc = audit_vkey_parse(b.data ? b.data : "", b.len, pk)) != 0 &&
	    err != NULL)
		buf_printf(err, "%s: not a ward audit verifier key", path);
out:
	buf_free(&b);
	free(path);
	return rc;
}

int
audit_key_load(int create, struct keyfile_key *k, struct buf *err)
{
	unsigned char pinned[32];
	struct buf vk;
	char *path = NULL;
	int fd = -1, rc;

	buf_init(&vk, 0);
	if ((rc = audit_init()) != 0 ||
	    (rc = keyfile_load("audit.key", "audit key", create, k, err)) != 0)
		goto out;
	rc = audit_key_pinned(pinned, NULL);
	if (rc == 0 && sodium_memcmp(pinned, k->pk, 32) != 0) {
		rc = WARD_EINVAL;
		if (err != NULL)
			buf_puts(err, "audit.pub does not match audit.key; "
			    "refusing both");
		goto out;
	}
	if (rc != WARD_ENOENT)
		goto out;
	if ((rc = audit_pub_path(&path)) != 0 ||
	    (rc = audit_vkey(k->pk, &vk)) != 0 || (rc = buf_puts(&vk, "\n")))
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1) {
		rc = WARD_ESYS;
		if (err != NULL)
			buf_printf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((rc = keyfile_write_all(fd, vk.data, vk.len)) == 0 &&
	    fsync(fd) == -1)
		rc = WARD_EIO;
out:
	if (fd != -1 && close(fd) == -1 && rc == 0)
		rc = WARD_EIO;
	if (rc != 0)
		keyfile_clear(k);
	buf_free(&vk);
	free(path);
	return rc;
}

/* Reals have no single spelling across encoders, so records hold none. */
static int
audit_no_reals(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_REAL:
		return WARD_EINVAL;
	case JSON_OBJECT:
		json_object_foreach(j, key, v)
			if (audit_no_reals(v) != 0)
				return WARD_EINVAL;
		return 0;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			if (audit_no_reals(v) != 0)
				return WARD_EINVAL;
		return 0;
	default:
		return 0;
	}
}

static int
audit_kind_okn(const char *k, size_t len)
{
	size_t i;

	if (len == 0 || len > AUDIT_KIND_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((k[i] < 'a' || k[i] > 'z') && k[i] != '_')
			return 0;
	return 1;
}

static int
audit_kind_ok(const char *k)
{
	return audit_kind_okn(k, strnlen(k, AUDIT_KIND_MAX + 1));
}

/* Appends the canonical encoding of j to out (canon.h; the same bytes as
 * jansson's AUDIT_DUMP, which verify's slow path re-encodes with). */
static int
audit_dump(json_t *j, struct buf *out)
{
	size_t at = out->len;
	int rc;

	if ((rc = audit_canon_dump(j, out)) != 0 && out->data != NULL) {
		out->len = at;
		out->data[at] = '\0';
	}
	return rc;
}

/* ---- signed notes ---- */

/* Appends a signed checkpoint note for (origin, size, root) to out. */
static int
audit_note_sign(const struct keyfile_key *k, const unsigned char id[4],
    const char *origin, uint64_t size, const unsigned char root[32], int seal,
    struct buf *out)
{
	char r64[sodium_base64_ENCODED_LEN(32, AUDIT_B64)];
	char s64[sodium_base64_ENCODED_LEN(68, AUDIT_B64)];
	unsigned char sig[68];
	size_t body;
	int rc;

	sodium_bin2base64(r64, sizeof(r64), root, 32, AUDIT_B64);
	if ((rc = buf_printf(out, "%s\n%" PRIu64 "\n%s\n%s", origin, size, r64,
	    seal ? AUDIT_SEAL "\n" : "")) != 0)
		return rc;
	body = out->len;
	memcpy(sig, id, 4);
	crypto_sign_detached(sig + 4, NULL, (const unsigned char *)out->data,
	    body, k->sk);
	sodium_bin2base64(s64, sizeof(s64), sig, sizeof(sig), AUDIT_B64);
	return buf_printf(out, "\n" AUDIT_DASH "%s %s\n", AUDIT_KEY_NAME, s64);
}

static int
audit_u64(const char *s, size_t len, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return WARD_EPROTO;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return WARD_EPROTO;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return 0;
}

/* Decodes exactly n bytes of canonical base64. */
static int
audit_b64(const char *s, size_t len, unsigned char *out, size_t n)
{
	char again[sodium_base64_ENCODED_LEN(68, AUDIT_B64)];
	size_t got;

	if (len != sodium_base64_ENCODED_LEN(n, AUDIT_B64) - 1 ||
	    sodium_base642bin(out, n, s, len, NULL, &got, NULL, AUDIT_B64) != 0
	    || got != n)
		return WARD_EPROTO;
	sodium_bin2base64(again, sizeof(again), out, n, AUDIT_B64);
	return memcmp(again, s, len) == 0 ? 0 : WARD_EPROTO;
}

/*
 * Opens a note: exactly one signature, by AUDIT_KEY_NAME, with pk's key
 * ID, that verifies; then the checkpoint body. Appends why to why.
 */
static int
audit_note_open(const char *text, size_t len, const unsigned char *pk,
    struct audit_note *nt, struct buf *why)
{
	const char *sep, *sl, *p, *nl, *line[4];
	size_t llen[4], body, pre;
	unsigned char sig[68], id[4];
	int nl_count = 0, i;

	memset(nt, 0, sizeof(*nt));
	if (len == 0 || memchr(text, '\0', len) != NULL ||
	    (sep = memmem(text, len, "\n\n", 2)) == NULL) {
		buf_puts(why, "checkpoint is not a signed note");
		return WARD_EPROTO;
	}
	body = (size_t)(sep - text) + 1;
	sl = sep + 2;
	pre = strlen(AUDIT_DASH AUDIT_KEY_NAME " ");
	if ((size_t)(text + len - sl) < strlen(AUDIT_DASH) ||
	    memcmp(sl, AUDIT_DASH, strlen(AUDIT_DASH)) != 0) {
		buf_puts(why, "checkpoint has no signature line");
		return WARD_EPROTO;
	}
	if ((size_t)(text + len - sl) != pre + AUDIT_SIG_B64 + 1 ||
	    memcmp(sl, AUDIT_DASH AUDIT_KEY_NAME " ", pre) != 0 ||
	    text[len - 1] != '\n') {
		buf_puts(why, "checkpoint is signed by an unknown key "
		    "(not exactly one " AUDIT_KEY_NAME " signature)");
		return WARD_EPROTO;
	}
	if (audit_b64(sl + pre, AUDIT_SIG_B64, sig, sizeof(sig)) != 0) {
		buf_puts(why, "checkpoint signature is not base64");
		return WARD_EPROTO;
	}
	if (pk == NULL) {
		buf_puts(why, "checkpoint found but no audit key is pinned");
		return WARD_EPROTO;
	}
	audit_keyid(pk, id);
	if (memcmp(id, sig, 4) != 0) {
		buf_puts(why, "checkpoint is signed by an unknown key "
		    "(key ID is not the pinned key's)");
		return WARD_EPROTO;
	}
	if (crypto_sign_verify_detached(sig + 4, (const unsigned char *)text,
	    body, pk) != 0) {
		buf_puts(why, "checkpoint signature does not verify under "
		    "the pinned key");
		return WARD_EPROTO;
	}
	/* A signed body is ours, but parse it strictly all the same. */
	for (p = text; p < text + body && nl_count < 4; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + body - p));
		line[nl_count] = p;
		llen[nl_count++] = (size_t)(nl - p);
	}
	if (p != text + body || nl_count < 3 ||
	    llen[0] == 0 || llen[0] >= sizeof(nt->origin) ||
	    audit_u64(line[1], llen[1], &nt->size) != 0 ||
	    audit_b64(line[2], llen[2], nt->root, 32) != 0 ||
	    (nl_count == 4 && (llen[3] != strlen(AUDIT_SEAL) ||
	    memcmp(line[3], AUDIT_SEAL, llen[3]) != 0))) {
		buf_puts(why, "checkpoint body is malformed");
		return WARD_EPROTO;
	}
	for (i = 0; i < (int)llen[0]; i++)
		if (line[0][i] <= ' ' || line[0][i] > '~') {
			buf_puts(why, "checkpoint origin is malformed");
			return WARD_EPROTO;
		}
	memcpy(nt->origin, line[0], llen[0]);
	nt->seal = nl_count == 4;
	return 0;
}

/* ---- the scanner ---- */

static int
audit_bad(struct audit_scan *s, const char *why)
{
	buf_printf(&s->rep->why, "record %" PRIu64 ": %s", s->t.n, why);
	return WARD_EPROTO;
}

/* At each trusted checkpoint's size, the roots must agree. */
static int
audit_scan_trust(struct audit_scan *s)
{
	unsigned char root[AUDIT_HASH_BYTES];
	int i, rc;

	for (i = 0; i < s->ntrust; i++) {
		if (s->trust[i].size != s->t.n)
			continue;
		s->want_seal |= s->trust[i].seal;
		if ((rc = audit_tree_root(&s->sha, &s->t, root)) != 0)
			return rc;
		if (sodium_memcmp(root, s->trust[i].root, 32) != 0) {
			buf_printf(&s->rep->why, "record %" PRIu64 ": the "
			    "log differs from the %s (Merkle root at its "
			    "size): rewritten", s->t.n, s->trust[i].what);
			return WARD_EPROTO;
		}
	}
	return 0;
}

static int
audit_scan_checkpoint(struct audit_scan *s, json_t *data)
{
	unsigned char root[AUDIT_HASH_BYTES];
	struct audit_note nt;
	struct buf why;
	json_t *note;
	int rc;

	note = json_object_get(data, "note");
	if (json_object_size(data) != 1 || !json_is_string(note))
		return audit_bad(s, "checkpoint record is malformed");
	buf_init(&why, 0);
	rc = audit_note_open(json_string_value(note), json_string_length(note),
	    s->pk, &nt, &why);
	if (rc != 0) {
		rc = audit_bad(s, why.data ? why.data : "bad note");
		goto out;
	}
	if (s->origin[0] == '\0')
		memcpy(s->origin, nt.origin, sizeof(s->origin));
	else if (strcmp(s->origin, nt.origin) != 0) {
		rc = audit_bad(s, "checkpoint origin differs from the "
		    "first checkpoint's");
		goto out;
	}
	if (nt.size != s->t.n || (s->rep->checkpoints > 0 &&
	    nt.size <= s->last_ckpt)) {
		rc = audit_bad(s, "checkpoint size is not the number of "
		    "records before it (inconsistent checkpoints)");
		goto out;
	}
	if ((rc = audit_tree_root(&s->sha, &s->t, root)) != 0)
		goto out;
	if (sodium_memcmp(root, nt.root, 32) != 0) {
		rc = audit_bad(s, "Merkle root differs from the signed "
		    "checkpoint (records before it were changed)");
		goto out;
	}
	if (s->want_seal && !nt.seal) {
		rc = audit_bad(s, "the seal the checkpoint file names was "
		    "replaced");
		goto out;
	}
	s->last_ckpt = nt.size;
	s->rep->checkpoints++;
	s->rep->sealed = nt.seal;
out:
	buf_free(&why);
	return rc;
}

/*
 * A record that is canonical, in sequence and chained: its hash, then
 * the checkpoint or seal rules and the caller's callback. rec is the
 * parsed record; it may be NULL unless ckpt or s->each.
 */
static int
audit_scan_accept(struct audit_scan *s, const char *line, size_t len,
    int ckpt, json_t *rec)
{
	unsigned char rh[AUDIT_HASH_BYTES];
	int rc;

	if ((rc = audit_record_hash(&s->sha, s->t.n, s->t.prev, line, len,
	    rh)) != 0)
		return rc;
	if (ckpt) {
		if ((rc = audit_scan_checkpoint(s, json_object_get(rec,
		    "data"))) != 0)
			return rc;
	} else if (s->want_seal)
		return audit_bad(s, "the seal a checkpoint names was removed");
	s->want_seal = 0;
	if (s->each != NULL && (rc = s->each(s->arg, rec, rh)) != 0)
		return rc;
	if ((rc = audit_tree_add(&s->sha, &s->t, rh)) != 0)
		return rc;
	s->rep->records = s->t.n;
	return 0;
}

/*
 * The definition of a good record, through jansson: parse, check the
 * members, re-encode and compare. Slow, so it runs only for what the
 * one-pass checker did not accept, and it says why the line is bad.
 */
static int
audit_scan_slow(struct audit_scan *s, const char *line, size_t len)
{
	char hex[2 * AUDIT_HASH_BYTES + 1];
	json_t *rec, *seq, *kind, *prev, *ts, *data;
	char *text;
	json_error_t jerr;
	int rc = WARD_EPROTO;

	rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (rec == NULL)
		return audit_bad(s, "not JSON");
	seq = json_object_get(rec, "seq");
	kind = json_object_get(rec, "kind");
	prev = json_object_get(rec, "prev");
	ts = json_object_get(rec, "ts");
	data = json_object_get(rec, "data");
	if (!json_is_object(rec) || json_object_size(rec) != 5 ||
	    !json_is_integer(seq) || !json_is_string(kind) ||
	    !json_is_string(prev) || !json_is_string(ts) ||
	    !json_is_object(data) || !audit_kind_ok(json_string_value(kind))) {
		rc = audit_bad(s, "not a record (fields or their types)");
		goto out;
	}
	/* jansson's own dump is the reference the writer and the one-pass
	 * checker are tested against (test_audit.c): it decides here. */
	buf_reset(&s->dump);
	if ((text = json_dumps(rec, AUDIT_DUMP)) == NULL) {
		rc = WARD_ENOMEM;
		goto out;
	}
	rc = buf_puts(&s->dump, text);
	free(text);
	if (rc != 0)
		goto out;
	if (s->dump.len != len || memcmp(s->dump.data, line, len) != 0 ||
	    audit_no_reals(data) != 0) {
		rc = audit_bad(s, "not in canonical form (re-encoded)");
		goto out;
	}
	if (json_integer_value(seq) < 0 ||
	    (uint64_t)json_integer_value(seq) != s->t.n) {
		rc = WARD_EPROTO;
		buf_printf(&s->rep->why, "record %" PRIu64 ": seq is %"
		    JSON_INTEGER_FORMAT " (records deleted, reordered or "
		    "duplicated)", s->t.n, json_integer_value(seq));
		goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), s->t.prev, sizeof(s->t.prev));
	if (strcmp(json_string_value(prev), hex) != 0) {
		rc = audit_bad(s, "prev does not match the previous "
		    "record's hash (chain broken)");
		goto out;
	}
	rc = audit_scan_accept(s, line, len,
	    strcmp(json_string_value(kind), "checkpoint") == 0, rec);
out:
	json_decref(rec);
	return rc;
}

/*
 * One line (without its newline). The one-pass checker (canon.h) decides
 * only in the line's favour: whatever it refuses, and a record whose seq
 * or prev is off, goes through audit_scan_slow, which is what verify has
 * always done, so the verdict and the reason are that path's. A tree is
 * built only where one is needed: a checkpoint's note, and the caller's
 * callback (show, export, replay).
 */
static int
audit_scan_line(struct audit_scan *s, const char *line, size_t len)
{
	char hex[2 * AUDIT_HASH_BYTES + 1];
	struct audit_canon_rec r;
	json_t *rec = NULL;
	int ckpt, rc;

	s->rep->sealed = 0;
	if ((rc = audit_scan_trust(s)) != 0)
		return rc;
	if (s->canon == NULL &&
	    (s->canon = malloc(sizeof(*s->canon))) == NULL)
		return WARD_ENOMEM;
	sodium_bin2hex(hex, sizeof(hex), s->t.prev, sizeof(s->t.prev));
	if (audit_canon_record(s->canon, line, len, &r) != 0 ||
	    !audit_kind_okn(r.kind, r.kindlen) || r.seq < 0 ||
	    (uint64_t)r.seq != s->t.n || r.prevlen != 2 * AUDIT_HASH_BYTES ||
	    memcmp(r.prev, hex, r.prevlen) != 0)
		return audit_scan_slow(s, line, len);
	ckpt = r.kindlen == strlen("checkpoint") &&
	    memcmp(r.kind, "checkpoint", r.kindlen) == 0;
	if ((ckpt || s->each != NULL) && (rec = json_loadb(line, len,
	    JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return audit_scan_slow(s, line, len);
	rc = audit_scan_accept(s, line, len, ckpt, rec);
	json_decref(rec);
	return rc;
}

/*
 * Sets s->end: where the file's trailing run of NUL bytes
 * (the writer's reserve) starts. No record holds a NUL byte, so that run
 * is never part of one. Not a regular file: end is -1 and it is read to
 * its end. A file cut shorter meanwhile (a writer closing) just ends
 * sooner. chunk is scratch of AUDIT_CHUNK bytes.
 */
static int
audit_scan_end(struct audit_scan *s, int fd, char *chunk)
{
	struct stat st;
	off_t pos;
	ssize_t n;

	s->end = -1;
	if (fstat(fd, &st) == -1)
		return WARD_EIO;
	if (!S_ISREG(st.st_mode))
		return 0;
	for (pos = st.st_size; pos > 0; pos -= AUDIT_ZEROS) {
		n = pread(fd, chunk, AUDIT_ZEROS, pos > AUDIT_ZEROS ?
		    pos - AUDIT_ZEROS : 0);
		if (n == -1 && errno == EINTR) {
			pos += AUDIT_ZEROS;
			continue;
		}
		if (n == -1)
			return WARD_EIO;
		if (pos < AUDIT_ZEROS && n > pos)
			n = pos;
		if (memcmp(chunk, audit_zeros, (size_t)n) == 0)
			continue;
		while (chunk[n - 1] == '\0')
			n--;
		s->end = (pos > AUDIT_ZEROS ? pos - AUDIT_ZEROS : 0) + n;
		return 0;
	}
	s->end = 0;
	return 0;
}

/*
 * Reads fd from the start, line by line, up to the reserve. Returns 0
 * (*good is the length of the good prefix; a torn tail is reported in
 * rep, not as an error) or the first error.
 */
static int
audit_scan_fd(struct audit_scan *s, int fd, off_t *good)
{
	struct buf in;
	char *chunk = NULL, *nl;
	size_t at, want;
	off_t off = 0, pos = 0;
	ssize_t n;
	int rc = 0;

	buf_init(&in, AUDIT_LINE_MAX + AUDIT_CHUNK);
	*good = 0;
	if ((chunk = malloc(AUDIT_CHUNK)) == NULL)
		return WARD_ENOMEM;
	if ((rc = audit_scan_end(s, fd, chunk)) != 0)
		goto out;
	for (;;) {
		want = AUDIT_CHUNK;
		if (s->end != -1 && s->end - pos < (off_t)want)
			want = (size_t)(s->end - pos);
		if (want == 0)
			break;
		n = read(fd, chunk, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = WARD_EIO;
			goto out;
		}
		if (n == 0)
			break;
		pos += n;
		if ((rc = buf_add(&in, chunk, (size_t)n)) != 0)
			goto out;
		for (at = 0; (nl = memchr(in.data + at, '\n', in.len - at))
		    != NULL; at = (size_t)(nl - in.data) + 1) {
			if ((rc = audit_scan_line(s, in.data + at,
			    (size_t)(nl - in.data) - at)) != 0)
				goto out;
			off += (nl - in.data) + 1 - (off_t)at;
		}
		memmove(in.data, in.data + at, in.len - at);
		in.len -= at;
		if (in.len > AUDIT_LINE_MAX) {
			rc = audit_bad(s, "longer than any record may be");
			goto out;
		}
	}
	*good = off;
	if (in.len > 0) {
		s->rep->torn = 1;
		s->rep->torn_at = (uint64_t)off;
		s->rep->sealed = 0;
	}
	if ((rc = audit_scan_trust(s)) == 0 && s->want_seal)
		rc = audit_bad(s, "the seal a checkpoint names was removed");
out:
	free(chunk);
	buf_free(&in);
	return rc;
}

/* Adds a trusted note: its signature must verify. */
static int
audit_scan_trusted(struct audit_scan *s, const char *text, size_t len,
    const char *what)
{
	struct audit_note nt;
	struct buf why;
	int rc;

	buf_init(&why, 0);
	if ((rc = audit_note_open(text, len, s->pk, &nt, &why)) != 0) {
		buf_printf(&s->rep->why, "the %s is invalid: %s", what,
		    why.data ? why.data : "");
		goto out;
	}
	s->trust[s->ntrust].size = nt.size;
	memcpy(s->trust[s->ntrust].root, nt.root, 32);
	s->trust[s->ntrust].seal = nt.seal;
	s->trust[s->ntrust++].what = what;
out:
	buf_free(&why);
	return rc;
}

/* Sets s up; audit_scan_free it whatever this returns. */
static int
audit_scan_init(struct audit_scan *s, const unsigned char *pk,
    struct audit_report *rep)
{
	memset(s, 0, sizeof(*s));
	memset(rep, 0, sizeof(*rep));
	buf_init(&rep->why, 0);
	buf_init(&s->dump, AUDIT_LINE_MAX + 1);
	s->pk = pk;
	s->rep = rep;
	return audit_sha_new(&s->sha);
}

static void
audit_scan_free(struct audit_scan *s)
{
	buf_free(&s->dump);
	free(s->canon);
	s->canon = NULL;
	audit_sha_free(&s->sha);
}

/* Loads path's .checkpoint mirror and trusted, then reads fd. */
static int
audit_scan_run(struct audit_scan *s, const char *path, int fd,
    const char *trusted, off_t *good)
{
	struct buf ck;
	char *ckpath = NULL;
	int rc, i;

	buf_init(&ck, 0);
	if (asprintf(&ckpath, "%s.checkpoint", path) == -1) {
		ckpath = NULL;
		rc = WARD_ENOMEM;
		goto out;
	}
	rc = audit_slurp(ckpath, 64 * 1024, &ck);
	if (rc == 0)
		rc = audit_scan_trusted(s, ck.data ? ck.data : "", ck.len,
		    "checkpoint file");
	else if (rc == WARD_ENOENT)
		rc = 0;
	if (rc != 0)
		goto out;
	if (trusted != NULL && (rc = audit_scan_trusted(s, trusted,
	    strlen(trusted), "trusted checkpoint")) != 0)
		goto out;
	if ((rc = audit_scan_fd(s, fd, good)) != 0)
		goto out;
	for (i = 0; i < s->ntrust; i++)
		if (s->trust[i].size > s->t.n) {
			buf_printf(&s->rep->why, "record %" PRIu64 ": the log "
			    "ends before the %s's %" PRIu64 " records "
			    "(truncated or rolled back)", s->t.n,
			    s->trust[i].what, s->trust[i].size);
			rc = WARD_EPROTO;
			goto out;
		}
out:
	buf_free(&ck);
	free(ckpath);
	return rc;
}

int
audit_verify(const char *path, const unsigned char *pk, const char *trusted,
    audit_each_fn each, void *arg, struct audit_report *rep)
{
	struct audit_scan s;
	off_t good;
	int fd = -1, rc;

	rc = audit_scan_init(&s, pk, rep);
	s.each = each;
	s.arg = arg;
	if (rc != 0 || (rc = audit_init()) != 0)
		goto out;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		rc = errno == ENOENT ? WARD_ENOENT : WARD_ESYS;
		buf_printf(&rep->why, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((rc = audit_scan_run(&s, path, fd, trusted, &good)) == 0 &&
	    rep->torn) {
		buf_printf(&rep->why, "record %" PRIu64 ": torn write: the "
		    "file ends in a partial record at byte %" PRIu64
		    " (a crash, or a cut)", s.t.n, rep->torn_at);
		rc = WARD_EPROTO;
	}
out:
	if (fd != -1)
		close(fd);
	audit_scan_free(&s);
	return rc;
}

void
audit_report_free(struct audit_report *rep)
{
	if (rep != NULL)
		buf_free(&rep->why);
}

/* ---- the writer ---- */

static double
audit_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Writes v in decimal to out (at least 21 bytes); returns its length. */
static size_t
audit_utoa(uint64_t v, char *out)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/*
 * The record's ts, "YYYY-MM-DDTHH:MM:SS.mmmZ", appended to out. The part
 * up to the second is formatted once a second: gmtime_r and snprintf
 * cost more than the rest of an append's work under the lock. Lock held.
 */
static int
audit_ts(struct audit_log *log, struct buf *out)
{
	struct timespec now;
	struct tm tm;
	char ms[6];
	long m;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != log->ts_sec || log->ts_text[0] == '\0') {
		if (gmtime_r(&now.tv_sec, &tm) == NULL)
			return WARD_ESYS;
		snprintf(log->ts_text, sizeof(log->ts_text),
		    "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		log->ts_sec = now.tv_sec;
	}
	m = now.tv_nsec / 1000000;
	ms[0] = '.';
	ms[1] = (char)('0' + m / 100);
	ms[2] = (char)('0' + m / 10 % 10);
	ms[3] = (char)('0' + m % 10);
	ms[4] = 'Z';
	ms[5] = '"';
	if (buf_puts(out, log->ts_text) != 0)
		return WARD_ENOMEM;
	return buf_add(out, ms, sizeof(ms));
}

/* Adds one record (data already canonical) to pending. Lock held. */
static int
audit_add(struct audit_log *log, const char *kind, const char *data,
    size_t dlen)
{
	unsigned char rh[AUDIT_HASH_BYTES];
	char mid[AUDIT_KIND_MAX + 2 * AUDIT_HASH_BYTES + 64];
	size_t at = log->pending.len, n, klen = strlen(kind);
	int rc;

	if (dlen > AUDIT_LINE_MAX - 256 || klen > AUDIT_KIND_MAX)
		return WARD_ETOOBIG;
	/* Keys in sorted order: this is the canonical form by
	 * construction. Everything between data and ts is of bounded
	 * size, so it is put together in mid. */
	n = 0;
	memcpy(mid + n, ",\"kind\":\"", 9);
	n += 9;
	memcpy(mid + n, kind, klen);
	n += klen;
	memcpy(mid + n, "\",\"prev\":\"", 10);
	n += 10;
	sodium_bin2hex(mid + n, 2 * AUDIT_HASH_BYTES + 1, log->t.prev,
	    sizeof(log->t.prev));
	n += 2 * AUDIT_HASH_BYTES;
	memcpy(mid + n, "\",\"seq\":", 8);
	n += 8;
	n += audit_utoa(log->t.n, mid + n);
	memcpy(mid + n, ",\"ts\":\"", 7);
	n += 7;
	if ((rc = buf_add(&log->pending, "{\"data\":", 8)) != 0 ||
	    (rc = buf_add(&log->pending, data, dlen)) != 0 ||
	    (rc = buf_add(&log->pending, mid, n)) != 0 ||
	    (rc = audit_ts(log, &log->pending)) != 0 ||
	    (rc = buf_add(&log->pending, "}", 1)) != 0)
		goto out;
	if ((rc = audit_record_hash(&log->sha, log->t.n, log->t.prev,
	    log->pending.data + at, log->pending.len - at, rh)) != 0 ||
	    (rc = buf_add(&log->pending, "\n", 1)) != 0 ||
	    (rc = audit_tree_add(&log->sha, &log->t, rh)) != 0)
		goto out;
out:
	if (rc != 0) {
		log->pending.len = at;
		if (log->pending.data != NULL)
			log->pending.data[at] = '\0';
	}
	return rc;
}

/* Adds a checkpoint record over every record so far. Lock held. */
static int
audit_add_checkpoint(struct audit_log *log, int seal)
{
	unsigned char root[AUDIT_HASH_BYTES];
	struct buf note, data;
	json_t *j = NULL;
	int rc;

	buf_init(&note, 0);
	buf_init(&data, 0);
	if ((rc = audit_tree_root(&log->sha, &log->t, root)) != 0)
		goto out;
	if ((rc = audit_note_sign(&log->key, log->keyid, log->origin,
	    log->t.n, root, seal, &note)) != 0)
		goto out;
	rc = WARD_ENOMEM;
	if ((j = json_pack("{s:s}", "note", note.data)) == NULL)
		goto out;
	if ((rc = audit_dump(j, &data)) != 0 ||
	    (rc = audit_add(log, "checkpoint", data.data, data.len)) != 0)
		goto out;
	free(log->note);
	log->note = buf_take(&note);
	log->ckpt_size = log->t.n - 1;
	clock_gettime(CLOCK_MONOTONIC, &log->ckpt_time);
	rc = log->note == NULL ? WARD_ENOMEM : 0;
out:
	json_decref(j);
	buf_free(&note);
	buf_free(&data);
	return rc;
}

/* Replaces <log>.checkpoint atomically with note. */
static int
audit_write_mirror(const char *ckpath, const char *note)
{
	char *tmp = NULL, *dir = NULL, *slash;
	int fd = -1, rc = WARD_ENOMEM;

	if (asprintf(&tmp, "%s.tmp", ckpath) == -1) {
		tmp = NULL;
		goto out;
	}
	if ((dir = strdup(ckpath)) == NULL)
		goto out;
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	unlink(tmp);
	rc = WARD_EIO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || keyfile_write_all(fd, note, strlen(note)) != 0 ||
	    fdatasync(fd) == -1 || rename(tmp, ckpath) == -1)
		goto out;
	rc = keyfile_fsync_dir(dir);
out:
	if (fd != -1)
		close(fd);
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

/* Sleeps while *w is v; a spurious return is harmless (callers loop). */
static void
audit_futex_wait(_Atomic uint32_t *w, uint32_t v)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

/* Wakes up to n sleepers on *w, after bumping it so that a thread about
 * to sleep on the old value does not. */
static void
audit_futex_wake(_Atomic uint32_t *w, int n)
{
	atomic_fetch_add(w, 1);
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Breaks the log (sticky) and wakes every waiter to see it. Lock held. */
static int
audit_break(struct audit_log *log, int rc)
{
	int i;

	log->broken = rc;
	for (i = 0; i < AUDIT_WORDS; i++)
		audit_futex_wake(&log->word[i], INT_MAX);
	return rc;
}

/* Writes all of p at off. */
static int
audit_pwrite(int fd, const char *p, size_t n, off_t off)
{
	ssize_t w;

	while (n > 0) {
		if ((w = pwrite(fd, p, n, off)) == -1) {
			if (errno == EINTR)
				continue;
			return WARD_EIO;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/*
 * Keeps about AUDIT_RESERVE zeroed bytes written past the end, so that a
 * batch overwrites blocks the file already has: its fdatasync then has
 * no size or extent change to commit to the journal, which on ext4 takes
 * it from about 250 to 140 us (bench/README.md). Growing writes zeros;
 * fallocate would leave unwritten extents, whose conversion costs what
 * an append does. Best effort: a full disk only costs that speed, so a
 * failure gives back what it took, for the records and the checkpoint
 * mirror, and is not tried again; and it stays under the file size
 * limit, whose signal would otherwise end the process early.
 */
static void
audit_reserve(struct audit_log *log)
{
	struct rlimit rl;
	off_t want, had;
	ssize_t w;

	if (log->noreserve || log->alloc - log->end >= AUDIT_RESERVE / 2)
		return;
	if (log->alloc < log->end)
		log->alloc = log->end;
	had = log->alloc;
	want = log->end + AUDIT_RESERVE;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && (rlim_t)want > rl.rlim_cur)
		want = (off_t)rl.rlim_cur;
	while (log->alloc < want) {
		w = pwrite(log->fd, audit_zeros, want - log->alloc < AUDIT_ZEROS ?
		    (size_t)(want - log->alloc) : AUDIT_ZEROS, log->alloc);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (ftruncate(log->fd, had) == 0)
				log->alloc = had;
			log->noreserve = 1;
			return;
		}
		log->alloc += w;
	}
}

/*
 * Writes everything pending with one write and one fdatasync, then the
 * checkpoint mirror if a checkpoint is among it. Lock held; released
 * during the I/O.
 */
static void
audit_flush(struct audit_log *log)
{
	struct buf out;
	_Atomic uint32_t *next;
	char *note;
	uint64_t upto, b;
	int rc;

	log->flushing = 1;
	b = log->batch++;
	out = log->pending;
	log->pending = log->spare;
	buf_init(&log->spare, 0);
	upto = log->flight = log->t.n;
	note = log->note;
	log->note = NULL;
	pthread_mutex_unlock(&log->mu);

	if ((rc = audit_pwrite(log->fd, out.data, out.len, log->end)) == 0) {
		log->end += (off_t)out.len;
		audit_reserve(log);
	}
	if (rc == 0 && fdatasync(log->fd) == -1)
		rc = WARD_EIO;
	if (rc == 0 && note != NULL)
		rc = audit_write_mirror(log->ckpath, note);
	free(note);
	buf_reset(&out);

	pthread_mutex_lock(&log->mu);
	if (log->spare.data == NULL)
		log->spare = out;
	else
		buf_free(&out);
	log->flushing = 0;
	if (rc != 0) {
		audit_break(log, rc);
		return;
	}
	log->durable = upto;
	/* Wake outside mu: waking a batch's threads takes a while, and the
	 * appenders need mu meanwhile. Words are bumped first, under mu,
	 * so no waiter can sleep through it. */
	next = log->wanted > upto ? &log->word[log->batch % AUDIT_WORDS] :
	    NULL;
	atomic_fetch_add(&log->word[b % AUDIT_WORDS], 1);
	if (next != NULL)
		atomic_fetch_add(next, 1);
	pthread_mutex_unlock(&log->mu);
	syscall(SYS_futex, &log->word[b % AUDIT_WORDS], FUTEX_WAKE_PRIVATE,
	    INT_MAX, NULL, NULL, 0);
	/* Someone waits for the next batch: one of them writes it. */
	if (next != NULL)
		syscall(SYS_futex, next, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	pthread_mutex_lock(&log->mu);
}

/*
 * Waits until the first `want` records are durable, writing pending
 * itself when no other thread is writing. Lock held on entry, released
 * on return.
 */
static int
audit_wait(struct audit_log *log, uint64_t want)
{
	_Atomic uint32_t *w;
	uint32_t v;
	int rc;

	for (;;) {
		if ((rc = log->broken) != 0 || log->durable >= want)
			break;
		if (!log->flushing) {
			audit_flush(log);
			continue;
		}
		if (want > log->wanted)
			log->wanted = want;
		/* In the batch being written, or in the next one. */
		w = &log->word[(want <= log->flight ? log->batch - 1 :
		    log->batch) % AUDIT_WORDS];
		v = *w;
		pthread_mutex_unlock(&log->mu);
		audit_futex_wait(w, v);
		if (log->durable >= want && log->broken == 0)
			return 0;
		pthread_mutex_lock(&log->mu);
	}
	pthread_mutex_unlock(&log->mu);
	return rc;
}

/* Checkpoints due by count or time. Lock held. */
static int
audit_maybe_checkpoint(struct audit_log *log)
{
	if (log->t.n - log->ckpt_size < log->every_records &&
	    (log->t.n == log->ckpt_size + 1 ||
	    audit_since(&log->ckpt_time) < log->every_seconds))
		return 0;
	return audit_add_checkpoint(log, 0);
}

static int
audit_append1(struct audit_log *log, const char *kind, json_t *fields,
    int wait)
{
	struct buf data;
	uint64_t want;
	int rc;

	buf_init(&data, 0);
	if (kind == NULL || !audit_kind_ok(kind) ||
	    strcmp(kind, "checkpoint") == 0 ||
	    (fields != NULL && (!json_is_object(fields) ||
	    audit_no_reals(fields) != 0)))
		return WARD_EINVAL;
	if (fields == NULL)
		rc = buf_puts(&data, "{}");
	else
		rc = audit_dump(fields, &data);
	if (rc != 0)
		goto out;
	pthread_mutex_lock(&log->mu);
	if ((rc = log->broken) == 0 &&
	    (rc = audit_add(log, kind, data.data, data.len)) == 0) {
		want = log->t.n;
		if ((rc = audit_maybe_checkpoint(log)) != 0)
			audit_break(log, rc);
		else if (wait) {
			rc = audit_wait(log, want);	/* unlocks */
			goto out;
		}
	}
	pthread_mutex_unlock(&log->mu);
out:
	buf_free(&data);
	return rc;
}

int
audit_append(struct audit_log *log, const char *kind, json_t *fields)
{
	return audit_append1(log, kind, fields, 1);
}

int
audit_append_pending(struct audit_log *log, const char *kind,
    json_t *fields)
{
	return audit_append1(log, kind, fields, 0);
}

int
audit_sync(struct audit_log *log)
{
	pthread_mutex_lock(&log->mu);
	return audit_wait(log, log->t.n);	/* unlocks */
}

/* Lock held on entry, released on return. */
static int
audit_checkpoint1(struct audit_log *log, int seal)
{
	int rc;

	if ((rc = log->broken) == 0 && (seal ||
	    log->t.n > log->ckpt_size + 1 || log->t.n == 0) &&
	    (rc = audit_add_checkpoint(log, seal)) != 0)
		audit_break(log, rc);
	if (rc != 0) {
		pthread_mutex_unlock(&log->mu);
		return rc;
	}
	return audit_wait(log, log->t.n);
}

int
audit_checkpoint(struct audit_log *log)
{
	pthread_mutex_lock(&log->mu);
	return audit_checkpoint1(log, 0);
}

static void
audit_free(struct audit_log *log)
{
	if (log->fd != -1)
		close(log->fd);
	keyfile_clear(&log->key);
	audit_sha_free(&log->sha);
	buf_free(&log->pending);
	buf_free(&log->spare);
	free(log->note);
	free(log->ckpath);
	free(log->origin);
	pthread_mutex_destroy(&log->mu);
	free(log);
}

int
audit_close(struct audit_log *log)
{
	int rc;

	if (log == NULL)
		return 0;
	pthread_mutex_lock(&log->mu);
	rc = audit_checkpoint1(log, 1);
	/* The reserve goes: a log at rest ends in its seal. Not synced: a
	 * crash that brings it back is harmless. A broken log keeps what
	 * it has, for the next open to record as torn. */
	if (rc == 0 && log->alloc > log->end &&
	    ftruncate(log->fd, log->end) == -1)
		rc = WARD_EIO;
	if (close(log->fd) == -1 && rc == 0)
		rc = WARD_EIO;
	log->fd = -1;
	audit_free(log);
	return rc;
}

/* Cuts a torn tail (good to end) and the reserve after it off, and
 * records that it did: the tail's length and hash, never its bytes. */
static int
audit_recover(struct audit_log *log, off_t good, off_t end,
    struct buf *err)
{
	unsigned char h[AUDIT_HASH_BYTES];
	char hex[2 * AUDIT_HASH_BYTES + 1];
	json_t *j = NULL;
	char *tail = NULL;
	size_t n = 0;
	int rc = WARD_EIO;

	if (end < good || (n = (size_t)(end - good)) > AUDIT_LINE_MAX)
		goto out;
	rc = WARD_ENOMEM;
	if ((tail = malloc(n)) == NULL)
		goto out;
	rc = WARD_EIO;
	if (pread(log->fd, tail, n, good) != (ssize_t)n)
		goto out;
	crypto_hash_sha256(h, (unsigned char *)tail, n);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if (ftruncate(log->fd, good) == -1 || fdatasync(log->fd) == -1)
		goto out;
	log->end = log->alloc = good;
	rc = WARD_ENOMEM;
	if ((j = json_pack("{s:I, s:I, s:s}", "torn_at", (json_int_t)good,
	    "torn_bytes", (json_int_t)n, "torn_sha256", hex)) == NULL)
		goto out;
	rc = audit_append(log, "recovery", j);
out:
	if (rc != 0 && err != NULL)
		buf_printf(err, "cannot recover the torn tail: %s",
		    ward_strerror(rc));
	json_decref(j);
	free(tail);
	return rc;
}

int
audit_open(const char *path, const struct keyfile_key *key,
    const struct audit_opts *opts, struct audit_log **out, struct buf *err)
{
	struct audit_log *log = NULL;
	struct audit_report rep;
	pthread_mutexattr_t ma;
	struct audit_scan s;
	struct stat st;
	off_t good = 0;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = audit_scan_init(&s, key->pk, &rep)) != 0 ||
	    (rc = audit_init()) != 0)
		goto out;
	rc = WARD_EINVAL;
	if (opts == NULL || opts->origin == NULL || opts->origin[0] == '\0' ||
	    strlen(opts->origin) >= sizeof(s.origin)) {
		if (err != NULL)
			buf_puts(err, "audit: no or overlong origin");
		goto out;
	}
	for (i = 0; opts->origin[i] != '\0'; i++)
		if (opts->origin[i] <= ' ' || opts->origin[i] > '~') {
			if (err != NULL)
				buf_puts(err, "audit: origin must be "
				    "printable ASCII without spaces");
			goto out;
		}
	rc = WARD_ENOMEM;
	if ((log = calloc(1, sizeof(*log))) == NULL)
		goto out;
	log->fd = -1;
	/* Adaptive: mu is held for a microsecond or two per record, so a
	 * thread that finds it taken spins briefly before it sleeps; with
	 * many appenders on few cores, sleeping and waking on it cost more
	 * than the work it guards. */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&log->mu, &ma);
	pthread_mutexattr_destroy(&ma);
	buf_init(&log->pending, 0);
	buf_init(&log->spare, 0);
	if ((rc = audit_sha_new(&log->sha)) != 0)
		goto out;
	rc = WARD_ENOMEM;
	log->key = *key;
	audit_keyid(key->pk, log->keyid);
	log->every_records = opts->every_records ? opts->every_records :
	    AUDIT_EVERY_RECORDS;
	log->every_seconds = opts->every_seconds ? opts->every_seconds :
	    AUDIT_EVERY_SECONDS;
	clock_gettime(CLOCK_MONOTONIC, &log->ckpt_time);
	if ((log->origin = strdup(opts->origin)) == NULL ||
	    asprintf(&log->ckpath, "%s.checkpoint", path) == -1) {
		log->ckpath = NULL;
		goto out;
	}
	log->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (log->fd == -1) {
		rc = WARD_ESYS;
		if (err != NULL)
			buf_printf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (flock(log->fd, LOCK_EX | LOCK_NB) == -1) {
		rc = errno == EWOULDBLOCK ? WARD_EEXIST : WARD_ESYS;
		if (err != NULL)
			buf_printf(err, "%s: another writer has it open", path);
		goto out;
	}
	/* Locked: its size, the reserve included, is ours from here on. */
	if (fstat(log->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		rc = WARD_EINVAL;
		if (err != NULL)
			buf_printf(err, "%s: not a regular file", path);
		goto out;
	}
	if ((rc = audit_scan_run(&s, path, log->fd, NULL, &good)) != 0) {
		if (err != NULL)
			buf_printf(err, "%s: %s", path, rep.why.data ?
			    rep.why.data : ward_strerror(rc));
		goto out;
	}
	if (s.origin[0] != '\0' && strcmp(s.origin, log->origin) != 0) {
		rc = WARD_EINVAL;
		if (err != NULL)
			buf_printf(err, "%s: the log's origin is %s", path,
			    s.origin);
		goto out;
	}
	log->t = s.t;
	log->durable = s.t.n;
	log->end = good;
	log->alloc = st.st_size;
	/* The last checkpoint record (when last) covers all before it. */
	log->ckpt_size = s.last_ckpt;
	if (rep.torn && (rc = audit_recover(log, good, s.end, err)) != 0)
		goto out;
	*out = log;
	log = NULL;
	rc = 0;
out:
	if (log != NULL)
		audit_free(log);
	audit_scan_free(&s);
	audit_report_free(&rep);
	return rc;
}

/* ---- inclusion proofs ---- */

static uint64_t
audit_split(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

static int
audit_mth(struct audit_sha *sh, const unsigned char (*rh)[AUDIT_HASH_BYTES],
    uint64_t lo, uint64_t hi, unsigned char out[AUDIT_HASH_BYTES])
{
	unsigned char l[AUDIT_HASH_BYTES], r[AUDIT_HASH_BYTES];
	uint64_t k;
	int rc;

	if (hi - lo == 1)
		return audit_leaf(sh, rh[lo], out);
	k = audit_split(hi - lo);
	if ((rc = audit_mth(sh, rh, lo, lo + k, l)) != 0 ||
	    (rc = audit_mth(sh, rh, lo + k, hi, r)) != 0)
		return rc;
	return audit_node(sh, l, r, out);
}

static int
audit_path(struct audit_sha *sh, const unsigned char (*rh)[AUDIT_HASH_BYTES],
    uint64_t m, uint64_t lo, uint64_t hi, struct buf *out)
{
	unsigned char h[AUDIT_HASH_BYTES];
	char b64[sodium_base64_ENCODED_LEN(AUDIT_HASH_BYTES, AUDIT_B64)];
	uint64_t k;
	int rc;

	if (hi - lo == 1)
		return 0;
	k = audit_split(hi - lo);
	if (m < lo + k) {
		if ((rc = audit_path(sh, rh, m, lo, lo + k, out)) != 0 ||
		    (rc = audit_mth(sh, rh, lo + k, hi, h)) != 0)
			return rc;
	} else {
		if ((rc = audit_path(sh, rh, m, lo + k, hi, out)) != 0 ||
		    (rc = audit_mth(sh, rh, lo, lo + k, h)) != 0)
			return rc;
	}
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h), AUDIT_B64);
	return buf_printf(out, "%s\n", b64);
}

int
audit_proof(const unsigned char (*rh)[AUDIT_HASH_BYTES], uint64_t size,
    uint64_t index, struct buf *out)
{
	struct audit_sha sh = { NULL };
	int rc;

	if (index >= size)
		return WARD_EINVAL;
	if ((rc = audit_init()) == 0 && (rc = audit_sha_new(&sh)) == 0)
		rc = audit_path(&sh, rh, index, 0, size, out);
	audit_sha_free(&sh);
	return rc;
}
