/*
 * The audit log (issue 6): real logs written by audit_append and then
 * tampered with in every way the issue lists; each must fail verification
 * at the right record. Also group commit from threads, reopening, torn
 * tails and their recovery, an unwritable log refusing the append, and
 * the audit key's file checks.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "lib/err.h"
#include "tap.h"
#include "util.h"

static char tmp[] = "/tmp/ward-audit-XXXXXX";
static char logp[256], ckp[256];
static struct keyfile_key key, other;
static struct audit_report rep;
static const struct audit_opts opts = { "ward.test/audit", 5, 0 };

/* Whole file in a malloc'd string; *n its length. */
static char *
slurp(const char *path, size_t *n)
{
	FILE *f;
	char *s;
	long len;

	if ((f = fopen(path, "rb")) == NULL)
		die(path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	if ((s = calloc(1, (size_t)len + 1)) == NULL ||
	    fread(s, 1, (size_t)len, f) != (size_t)len)
		die("read");
	fclose(f);
	*n = (size_t)len;
	return s;
}

static void
spit(const char *path, const char *s, size_t n)
{
	FILE *f;

	if ((f = fopen(path, "wb")) == NULL || fwrite(s, 1, n, f) != n ||
	    fclose(f) != 0)
		die(path);
}

static void
cp(const char *from, const char *to)
{
	size_t n;
	char *s = slurp(from, &n);

	spit(to, s, n);
	free(s);
}

/* A fresh log of n records (plus its checkpoints), sealed, under k. */
static void
mklog(int n, const struct keyfile_key *k, const char *tag)
{
	struct audit_log *log;
	json_t *j;
	int i;

	unlink(logp);
	unlink(ckp);
	if (audit_open(logp, k, &opts, &log, NULL) != 0)
		die("audit_open");
	for (i = 0; i < n; i++) {
		j = json_pack("{s:i, s:s, s:[s,s]}", "i", i, "tag", tag,
		    "argv", "git", "status");
		if (audit_append(log, "command", j) != 0)
			die("audit_append");
		json_decref(j);
	}
	if (audit_close(log) != 0)
		die("audit_close");
}

static int
verify(const char *trusted)
{
	int rc;

	audit_report_free(&rep);
	rc = audit_verify(logp, key.pk, trusted, NULL, NULL, &rep);
	if (rc != 0)
		printf("# %s\n", rep.why.data ? rep.why.data : "");
	return rc;
}

/* The log's lines, for editing; join() writes them back. */
static char *lines[256];
static int nlines;

static void
split(void)
{
	size_t n;
	char *s = slurp(logp, &n), *p, *nl;

	nlines = 0;
	for (p = s; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if ((lines[nlines++] = strdup(p)) == NULL)
			die("strdup");
	}
	free(s);
}

static void
join(void)
{
	FILE *f;
	int i;

	if ((f = fopen(logp, "wb")) == NULL)
		die(logp);
	for (i = 0; i < nlines; i++) {
		fprintf(f, "%s\n", lines[i]);
		free(lines[i]);
	}
	fclose(f);
	nlines = 0;
}

static void
set(int i, const char *s)
{
	free(lines[i]);
	if ((lines[i] = strdup(s)) == NULL)
		die("strdup");
}

/* Replaces the first `from` in line i with `to`. */
static void
edit(int i, const char *from, const char *to)
{
	char buf[8192], *p = strstr(lines[i], from);

	if (p == NULL)
		die(from);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - lines[i]), lines[i],
	    to, p + strlen(from));
	set(i, buf);
}

/* What someone without the key can do: recompute every prev after i. */
static void
rechain(void)
{
	unsigned char prev[32] = { 0 }, be[8], h[32];
	crypto_hash_sha256_state st;
	char hex[65], *p;
	uint64_t v;
	int i, j;

	for (i = 0; i < nlines; i++) {
		if ((p = strstr(lines[i], "\"prev\":\"")) == NULL)
			die("prev");
		sodium_bin2hex(hex, sizeof(hex), prev, 32);
		memcpy(p + 8, hex, 64);
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st,
		    (const unsigned char *)"ward-audit-record-v1", 21);
		for (j = 7, v = (uint64_t)i; j >= 0; j--, v >>= 8)
			be[j] = v & 0xff;
		crypto_hash_sha256_update(&st, be, 8);
		crypto_hash_sha256_update(&st, prev, 32);
		for (j = 7, v = strlen(lines[i]); j >= 0; j--, v >>= 8)
			be[j] = v & 0xff;
		crypto_hash_sha256_update(&st, be, 8);
		crypto_hash_sha256_update(&st, (unsigned char *)lines[i],
		    strlen(lines[i]));
		crypto_hash_sha256_final(&st, h);
		memcpy(prev, h, 32);
	}
}

static int
why(const char *s)
{
	return rep.why.data != NULL && strstr(rep.why.data, s) != NULL;
}

struct worker {
	struct audit_log	*log;
	int			 n, fails;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	json_t *j;
	int i;

	for (i = 0; i < w->n; i++) {
		j = json_pack("{s:i}", "i", i);
		if (audit_append(w->log, "file_read", j) != 0)
			w->fails++;
		json_decref(j);
	}
	return NULL;
}

static void
test_intact(void)
{
	struct audit_log *log;
	struct worker w[8];
	pthread_t th[8];
	char *note;
	size_t n;
	int i, fails = 0;

	mklog(12, &key, "a");
	is_int(verify(NULL), 0, "a sealed log of 12 records verifies");
	/* 12 records, a checkpoint after every 5 (5 + 1 + 4 + 1), a seal */
	is_int((int)rep.records, 15, "with its checkpoints: 15 records");
	is_int((int)rep.checkpoints, 3, "three checkpoints");
	ok(rep.sealed, "sealed");
	note = slurp(ckp, &n);
	ok(strstr(note, "ward.test/audit\n14\n") == note &&
	    strstr(note, "\nward-seal\n\n\xe2\x80\x94 ward-audit ") != NULL,
	    "the .checkpoint mirror is the seal, a C2SP signed note");
	free(note);
	ok(access(logp, F_OK) == 0, "log exists");

	/* Reopen and append from 8 threads: one chain, all durable. */
	if (audit_open(logp, &key, &opts, &log, NULL) != 0)
		die("reopen");
	for (i = 0; i < 8; i++) {
		w[i].log = log;
		w[i].n = 500;
		w[i].fails = 0;
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		fails += w[i].fails;
	}
	is_int(fails, 0, "4000 appends from 8 threads all succeed");
	is_int(audit_close(log), 0, "and the log seals");
	is_int(verify(NULL), 0, "the reopened, appended log verifies");
	ok(rep.records > 4015 && rep.sealed, "every record is there, sealed");
}

/* A pending record is in the chain but not on disk until the next durable
 * append, sync or close writes it with everything before it. */
static void
test_pending(void)
{
	struct audit_log *log;
	struct stat st;
	off_t before;
	json_t *j;
	char *text;
	size_t n;

	unlink(logp);
	unlink(ckp);
	if (audit_open(logp, &key, &opts, &log, NULL) != 0)
		die("audit_open");
	j = json_pack("{s:s}", "step", "first");
	is_int(audit_append(log, "x", j), 0, "a durable append");
	json_decref(j);
	stat(logp, &st);
	before = st.st_size;
	j = json_pack("{s:s}", "step", "pending");
	is_int(audit_append_pending(log, "x", j), 0, "a pending append");
	json_decref(j);
	stat(logp, &st);
	ok(st.st_size == before, "a pending record is not written yet");
	is_int(audit_sync(log), 0, "sync");
	stat(logp, &st);
	ok(st.st_size > before, "sync writes it");
	before = st.st_size;
	j = json_pack("{s:s}", "step", "second pending");
	is_int(audit_append_pending(log, "x", j), 0, "another pending append");
	json_decref(j);
	j = json_pack("{s:s}", "step", "durable");
	is_int(audit_append(log, "x", j), 0, "a durable append after it");
	json_decref(j);
	stat(logp, &st);
	ok(st.st_size > before, "which writes the pending one with it");
	j = json_pack("{s:s}", "step", "pending at close");
	is_int(audit_append_pending(log, "x", j), 0, "a pending append last");
	json_decref(j);
	is_int(audit_close(log), 0, "close");
	is_int(verify(NULL), 0, "the log verifies");
	/* Five records, the checkpoint every_records = 5 asks for after
	 * them, and the seal. */
	is_int((int)rep.records, 7, "with every record, a checkpoint and "
	    "the seal");
	ok(rep.sealed, "sealed");
	text = slurp(logp, &n);
	ok(strstr(text, "pending at close") != NULL,
	    "close wrote the last pending record before the seal");
	free(text);
}

static void
test_append_rules(void)
{
	struct audit_log *log, *second;
	json_t *j;
	size_t n;
	char *s;

	unlink(logp);
	unlink(ckp);
	if (audit_open(logp, &key, &opts, &log, NULL) != 0)
		die("audit_open");
	is_int(audit_append(log, "checkpoint", NULL), WARD_EINVAL,
	    "nobody appends a forged checkpoint");
	is_int(audit_append(log, "Bad-Kind", NULL), WARD_EINVAL,
	    "kinds are [a-z_]");
	j = json_pack("{s:f}", "x", 1.5);
	is_int(audit_append(log, "x", j), WARD_EINVAL, "reals are refused");
	json_decref(j);
	j = json_pack("[i]", 1);
	is_int(audit_append(log, "x", j), WARD_EINVAL, "fields is an object");
	json_decref(j);
	j = json_pack("{s:s}", "s", "caf\xc3\xa9 \"q\" \n");
	is_int(audit_append(log, "x", j), 0, "escapes and UTF-8 are fine");
	json_decref(j);
	is_int(audit_open(logp, &key, &opts, &second, NULL), WARD_EEXIST,
	    "a second writer is refused");
	is_int(audit_close(log), 0, "close");
	is_int(verify(NULL), 0, "verifies");
	s = slurp(logp, &n);
	ok(strstr(s, "caf\\u00E9") != NULL, "non-ASCII is escaped");
	free(s);
}

static void
test_tamper(void)
{
	char *p, *s;
	size_t n;

	mklog(12, &key, "a");
	split();
	edit(2, "\"tag\":\"a\"", "\"tag\":\"b\"");
	join();
	is_int(verify(NULL), WARD_EPROTO, "one byte edited: tampered");
	ok(why("record 3: prev"), "found at the next record's chain link");

	mklog(12, &key, "a");
	split();
	edit(2, "\"tag\":\"a\"", "\"tag\":\"b\"");
	rechain();
	join();
	is_int(verify(NULL), WARD_EPROTO, "edited and re-chained: tampered");
	ok(why("record 5: Merkle root differs"), "found at the checkpoint");

	mklog(12, &key, "a");
	split();
	free(lines[3]);
	memmove(&lines[3], &lines[4], sizeof(char *) * (size_t)(nlines - 4));
	nlines--;
	join();
	is_int(verify(NULL), WARD_EPROTO, "a record deleted: tampered");
	ok(why("record 3: seq is 4"), "found where it is missing");

	mklog(12, &key, "a");
	split();
	p = lines[3];
	lines[3] = lines[2];
	lines[2] = p;
	join();
	is_int(verify(NULL), WARD_EPROTO, "two records reordered: tampered");
	ok(why("record 2: seq is 3"), "found at the first");

	mklog(12, &key, "a");
	split();
	memmove(&lines[4], &lines[3], sizeof(char *) * (size_t)(nlines - 3));
	nlines++;
	lines[3] = strdup(lines[4]);
	join();
	is_int(verify(NULL), WARD_EPROTO, "a record duplicated: tampered");
	ok(why("record 4: seq is 3"), "found at the copy");

	mklog(12, &key, "a");
	split();
	edit(3, "\"seq\":3", "\"seq\": 3");
	join();
	is_int(verify(NULL), WARD_EPROTO, "re-encoded (whitespace): tampered");
	ok(why("record 3: not in canonical"), "as not canonical");
	mklog(12, &key, "a");
	split();
	edit(3, "\"tag\":\"a\"", "\"tag\":\"\\u0061\"");
	join();
	is_int(verify(NULL), WARD_EPROTO, "re-encoded (escape): tampered");
	mklog(12, &key, "a");
	split();
	edit(3, "{\"data\":{\"argv\"", "{\"kind\":\"command\",\"data\":{\"argv\"");
	edit(3, ",\"kind\":\"command\",\"prev\"", ",\"prev\"");
	join();
	is_int(verify(NULL), WARD_EPROTO, "re-encoded (key order): tampered");
	ok(why("record 3: not in canonical"), "as not canonical");

	/* Truncated under a checkpoint: whole records cut, mirror left. */
	mklog(12, &key, "a");
	split();
	while (nlines > 8)
		free(lines[--nlines]);
	join();
	is_int(verify(NULL), WARD_EPROTO, "truncated under a checkpoint");
	ok(why("ends before the checkpoint file's 14"), "says so");

	/* The seal removed, the mirror too: intact but unsealed. */
	mklog(12, &key, "a");
	split();
	free(lines[--nlines]);
	join();
	is_int(verify(NULL), WARD_EPROTO, "the seal removed: the mirror "
	    "names it");
	ok(why("seal a checkpoint names was removed"), "says so");
	unlink(ckp);
	is_int(verify(NULL), 0, "seal and mirror removed: intact ...");
	ok(!rep.sealed, "... but unsealed");

	/* Torn write: a partial last line. */
	mklog(12, &key, "a");
	s = slurp(logp, &n);
	spit(logp, s, n - 7);
	free(s);
	unlink(ckp);
	is_int(verify(NULL), WARD_EPROTO, "a torn write is reported");
	ok(rep.torn && why("torn write"), "as torn");
}

static void
test_signatures(void)
{
	char *s, *p, *q;

	/* A log signed entirely by a key that is not the pinned one. */
	mklog(12, &other, "a");
	is_int(verify(NULL), WARD_EPROTO, "another key's log: refused");
	ok(why("checkpoint file is invalid: checkpoint is signed by an "
	    "unknown key"), "its mirror first, as an unknown key");
	unlink(ckp);
	is_int(verify(NULL), WARD_EPROTO, "without the mirror: refused");
	ok(why("record 5: checkpoint is signed by an unknown key"),
	    "at the first checkpoint, as an unknown key");
	audit_report_free(&rep);
	is_int(audit_verify(logp, NULL, NULL, NULL, NULL, &rep), WARD_EPROTO,
	    "no pinned key: checkpoints cannot be trusted");

	/* The seal's signature with one base64 character changed. */
	mklog(12, &key, "a");
	split();
	p = strstr(lines[nlines - 1], "ward-audit ") + 11 + 40;
	*p = *p == 'A' ? 'B' : 'A';
	join();
	unlink(ckp);
	is_int(verify(NULL), WARD_EPROTO, "a bad signature, known key");
	ok(why("does not verify under the pinned key"), "says so");

	/* Two checkpoints of one size with different roots: B's seal, with
	 * A's chain link, in A. */
	mklog(12, &key, "b");
	split();
	s = strdup(lines[nlines - 1]);
	join();
	mklog(12, &key, "a");
	split();
	p = strstr(lines[nlines - 1], "\"prev\":\"");
	q = strstr(s, "\"prev\":\"");
	memcpy(q, p, 72);
	set(nlines - 1, s);
	join();
	free(s);
	unlink(ckp);
	is_int(verify(NULL), WARD_EPROTO, "another log's seal of the same "
	    "size: tampered");
	ok(why("record 14: Merkle root differs"), "at the seal");
}

static void
test_rollback(void)
{
	char old[300], oldck[300], *note, *fork;
	struct audit_log *log;
	size_t n;

	snprintf(old, sizeof(old), "%s/old.log", tmp);
	snprintf(oldck, sizeof(oldck), "%s/old.log.checkpoint", tmp);
	mklog(12, &key, "a");
	cp(logp, old);
	cp(ckp, oldck);
	if (audit_open(logp, &key, &opts, &log, NULL) != 0 ||
	    audit_append(log, "late", NULL) != 0 || audit_close(log) != 0)
		die("more");
	note = slurp(ckp, &n);
	is_int(verify(note), 0, "the newer log verifies against its own "
	    "checkpoint");
	cp(old, logp);
	cp(oldck, ckp);
	is_int(verify(NULL), 0, "the older copy alone looks intact");
	is_int(verify(note), WARD_EPROTO, "... but not against the newer "
	    "trusted checkpoint");
	ok(why("ends before the trusted checkpoint"), "rolled back");

	/* A fork: a different log of the same size. */
	mklog(12, &key, "b");
	fork = slurp(ckp, &n);
	mklog(12, &key, "a");
	is_int(verify(fork), WARD_EPROTO, "a same-size checkpoint of "
	    "another history: refused");
	ok(why("differs from the trusted checkpoint"), "as rewritten");
	fork[5] ^= 1;
	is_int(verify(fork), WARD_EPROTO, "an unsigned trusted checkpoint "
	    "is refused");
	free(fork);
	free(note);
}

static void
test_recovery(void)
{
	struct audit_log *log;
	char *s;
	size_t n;

	mklog(12, &key, "a");
	s = slurp(logp, &n);
	spit(logp, s, n - 7);
	free(s);
	unlink(ckp);
	is_int(audit_open(logp, &key, &opts, &log, NULL), 0,
	    "a torn log reopens");
	is_int(audit_close(log), 0, "and closes");
	is_int(verify(NULL), 0, "and verifies");
	s = slurp(logp, &n);
	ok(strstr(s, "\"kind\":\"recovery\"") != NULL &&
	    strstr(s, "\"torn_bytes\":") != NULL, "with a recovery record");
	free(s);

	/* A tampered log is never appended to. */
	split();
	edit(2, "\"tag\":\"a\"", "\"tag\":\"b\"");
	join();
	is_int(audit_open(logp, &key, &opts, &log, NULL), WARD_EPROTO,
	    "a tampered log is refused by the writer");
}

static void
test_unwritable(void)
{
	struct audit_log *log;
	struct rlimit rl, old;
	struct stat st;
	json_t *j;
	char big[2048];

	unlink(logp);
	unlink(ckp);
	if (audit_open(logp, &key, &opts, &log, NULL) != 0 ||
	    audit_append(log, "start", NULL) != 0 || stat(logp, &st) != 0)
		die("open");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	j = json_pack("{s:s}", "big", big);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = (rlim_t)st.st_size + 100;
	setrlimit(RLIMIT_FSIZE, &rl);
	is_int(audit_append(log, "command", j), WARD_EIO,
	    "a record that cannot be written fails the append");
	setrlimit(RLIMIT_FSIZE, &old);
	is_int(audit_append(log, "command", NULL), WARD_EIO,
	    "and every append after it: the log is broken");
	ok(audit_close(log) != 0, "close reports it too");
	json_decref(j);
}

static void
test_key(void)
{
	struct keyfile_key k, k2;
	unsigned char pk[32];
	char path[300], pub[300];
	struct stat st;
	struct buf err;
	size_t n;
	char *s;

	buf_init(&err, 0);
	snprintf(path, sizeof(path), "%s/config/ward/audit.key", tmp);
	snprintf(pub, sizeof(pub), "%s/config/ward/audit.pub", tmp);
	is_int(audit_key_load(0, &k, NULL), WARD_ENOENT, "no key yet");
	is_int(audit_key_load(1, &k, NULL), 0, "created on first use");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "0600");
	is_int(audit_key_pinned(pk, NULL), 0, "its public key is pinned");
	ok(memcmp(pk, k.pk, 32) == 0, "the same key");
	is_int(audit_key_load(0, &k2, NULL), 0, "loads again");
	ok(memcmp(k2.pk, k.pk, 32) == 0, "the same key again");
	s = slurp(pub, &n);
	ok(strncmp(s, "ward-audit+", 11) == 0, "audit.pub: a C2SP verifier "
	    "key");
	spit(pub, "ward-audit+00000000+AQ==\n", 25);
	is_int(audit_key_pinned(pk, NULL), WARD_EPROTO, "a malformed pin");
	spit(pub, s, n);
	free(s);
	chmod(path, 0644);
	is_int(audit_key_load(0, &k2, &err), WARD_EINVAL, "a loose key is "
	    "refused");
	chmod(path, 0600);
	rename(path, pub);	/* (pub is gone for the next check) */
	if (symlink(pub, path) != 0)
		die("symlink");
	is_int(audit_key_load(0, &k2, NULL), WARD_EINVAL,
	    "a symlinked key is refused");
	unlink(path);
	unlink(pub);
	is_int(audit_key_load(1, &k2, NULL), 0, "a new key");
	spit(pub, "", 0);
	is_int(audit_key_load(0, &k2, NULL), WARD_EPROTO,
	    "an unreadable pin is refused");
	keyfile_clear(&k);
	keyfile_clear(&k2);
	buf_free(&err);
}

/*
 * For tests/integ/audit.t, which needs real logs: `test_audit mklog PATH N
 * [open|big]` appends N records to PATH under the audit key of
 * $XDG_CONFIG_HOME (created if needed) and seals it, or with `open` leaves
 * it unsealed, or with `big` appends 4 KiB records (ignoring SIGXFSZ, so a
 * file size limit shows as a refused append). Exit 0, or 1 when an append
 * was refused.
 */
static int
helper(int argc, char **argv)
{
	static char big[4096];
	const struct audit_opts o = { "ward.test/integ", 5, 0 };
	struct audit_log *log;
	struct keyfile_key k;
	struct buf err;
	json_t *j;
	int i, n, rc;

	buf_init(&err, 0);
	signal(SIGXFSZ, SIG_IGN);
	memset(big, 'x', sizeof(big) - 1);
	if (argc < 4 || audit_key_load(1, &k, &err) != 0 ||
	    audit_open(argv[2], &k, &o, &log, &err) != 0) {
		fprintf(stderr, "mklog: %s\n", err.data ? err.data : "usage");
		return 2;
	}
	n = atoi(argv[3]);
	for (i = 0; i < n; i++) {
		j = json_pack("{s:i, s:s, s:s}", "i", i, "command",
		    "git status", "pad", argc > 4 &&
		    strcmp(argv[4], "big") == 0 ? big : "");
		rc = audit_append(log, i % 2 ? "command" : "file_read", j);
		json_decref(j);
		if (rc != 0) {
			fprintf(stderr, "mklog: append refused: %s\n",
			    ward_strerror(rc));
			return 1;
		}
	}
	if (argc > 4 && strcmp(argv[4], "open") == 0)
		_exit(0);	/* a crash after the last append */
	if (audit_close(log) != 0)
		return 1;
	keyfile_clear(&k);
	return 0;
}

int
main(int argc, char **argv)
{
	char cfg[300];

	if (argc > 1 && strcmp(argv[1], "mklog") == 0)
		return helper(argc, argv);

	if (sodium_init() < 0 || mkdtemp(tmp) == NULL)
		die("setup");
	snprintf(cfg, sizeof(cfg), "%s/config", tmp);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	snprintf(logp, sizeof(logp), "%s/audit.log", tmp);
	snprintf(ckp, sizeof(ckp), "%s/audit.log.checkpoint", tmp);
	crypto_sign_keypair(key.pk, key.sk);
	crypto_sign_keypair(other.pk, other.sk);

	test_intact();
	test_append_rules();
	test_pending();
	test_tamper();
	test_signatures();
	test_rollback();
	test_recovery();
	test_unwritable();
	test_key();

	audit_report_free(&rep);
	rm_tree(tmp);
	return done_testing();
}
