/*
 * The audit log (issue 6): real logs written by audit_append and then
 * tampered with in every way the issue lists; each must fail verification
 * at the right record. Also group commit from threads, reopening, torn
 * tails and their recovery, an unwritable log refusing the append, and
 * the audit key's file checks. And the one-pass canonical-form checker
 * (canon.h) against jansson, the definition it stands in for.
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
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/canon.h"
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

/* The length of the records in path: a live log's reserve of NUL bytes
 * follows them. */
static size_t
content(const char *path)
{
	size_t n;
	char *s = slurp(path, &n);

	n = strlen(s);
	free(s);
	return n;
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
	size_t before;
	json_t *j;
	char *text, *p;
	size_t n;
	int k;

	unlink(logp);
	unlink(ckp);
	if (audit_open(logp, &key, &opts, &log, NULL) != 0)
		die("audit_open");
	j = json_pack("{s:s}", "step", "first");
	is_int(audit_append(log, "x", j), 0, "a durable append");
	json_decref(j);
	before = content(logp);
	j = json_pack("{s:s}", "step", "pending");
	is_int(audit_append_pending(log, "x", j), 0, "a pending append");
	json_decref(j);
	ok(content(logp) == before, "a pending record is not written yet");
	is_int(audit_sync(log), 0, "sync");
	ok(content(logp) > before, "sync writes it");
	before = content(logp);
	j = json_pack("{s:s}", "step", "second pending");
	is_int(audit_append_pending(log, "x", j), 0, "another pending append");
	json_decref(j);
	j = json_pack("{s:s}", "step", "durable");
	is_int(audit_append(log, "x", j), 0, "a durable append after it");
	json_decref(j);
	ok(content(logp) > before, "which writes the pending one with it");
	j = json_pack("{s:s}", "step", "pending at close");
	is_int(audit_append_pending(log, "x", j), 0, "a pending append last");
	json_decref(j);
	is_int(audit_close(log), 0, "close");
	is_int(verify(NULL), 0, "the log verifies");
	ok(rep.sealed, "sealed");
	text = slurp(logp, &n);
	for (p = text, k = 0; (p = strstr(p, "\"kind\":\"x\"")) != NULL; p++)
		k++;
	is_int(k, 5, "with every record");
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

/* A writer that dies without closing: its records and the reserve after
 * them, as a crash leaves them. */
static void
crash(int n)
{
	struct audit_log *log;
	pid_t pid;
	int i, st;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		if (audit_open(logp, &key, &opts, &log, NULL) != 0)
			_exit(2);
		for (i = 0; i < n; i++)
			if (audit_append(log, "command", NULL) != 0)
				_exit(1);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		die("crash");
}

/* The reserve of NUL bytes a live log keeps past its records. */
static void
test_reserve(void)
{
	struct audit_log *log;
	struct stat st;
	char *s, fifo[300];
	size_t n;
	int fd;

	unlink(logp);
	unlink(ckp);
	crash(3);
	n = content(logp);
	ok(stat(logp, &st) == 0 && (size_t)st.st_size > n && n > 0,
	    "a crashed writer leaves its reserve");
	s = slurp(logp, &n);
	ok(s[strlen(s) - 1] == '\n', "after whole records");
	free(s);
	is_int(verify(NULL), 0, "which is not damage");
	ok(!rep.torn && !rep.sealed && rep.records == 3, "three records, "
	    "unsealed, not torn");

	is_int(audit_open(logp, &key, &opts, &log, NULL), 0, "it reopens");
	is_int(audit_append(log, "late", NULL), 0, "appends after them");
	is_int(audit_close(log), 0, "and closes");
	is_int(verify(NULL), 0, "and verifies");
	ok(rep.sealed && rep.records == 5, "sealed, with no recovery record");
	ok(stat(logp, &st) == 0 && (size_t)st.st_size == content(logp),
	    "close trims the reserve");

	/* A partial line inside the reserve is torn; its NULs are not. */
	unlink(logp);
	unlink(ckp);
	crash(3);
	n = content(logp);
	if ((fd = open(logp, O_WRONLY)) == -1 ||
	    pwrite(fd, "{\"seq\":", 7, (off_t)n) != 7)
		die("tear");
	close(fd);
	is_int(verify(NULL), WARD_EPROTO, "a partial line in the reserve");
	ok(rep.torn && rep.torn_at == n, "is torn, where it starts");
	is_int(audit_open(logp, &key, &opts, &log, NULL), 0, "it reopens");
	is_int(audit_close(log), 0, "and closes");
	is_int(verify(NULL), 0, "and verifies");
	s = slurp(logp, &n);
	ok(strstr(s, "\"torn_bytes\":7,") != NULL, "its recovery counts the "
	    "7 bytes, not the reserve");
	free(s);

	/* NUL bytes that are not the tail are in a record: damage. */
	mklog(3, &key, "a");
	s = slurp(logp, &n);
	s[10] = '\0';
	spit(logp, s, n);
	free(s);
	is_int(verify(NULL), WARD_EPROTO, "a NUL byte in a record");
	ok(!rep.torn && rep.records == 0, "is a bad record, not a tear");
	mklog(3, &key, "a");
	s = slurp(logp, &n);
	if ((s = realloc(s, n + 16)) == NULL)
		die("realloc");
	memcpy(s + n, "\0\0\0\0\0\0xyz\n", 10);
	spit(logp, s, n + 10);
	free(s);
	is_int(verify(NULL), WARD_EPROTO, "NULs before another line");
	ok(!rep.torn && rep.records == 4, "are a bad record after the seal");
	s = slurp(logp, &n);
	spit(logp, s, n - 1);
	free(s);
	is_int(verify(NULL), WARD_EPROTO, "NULs before a partial line");
	ok(rep.torn, "are torn");

	/* The writer wants a regular file it owns the end of. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmp);
	if (mkfifo(fifo, 0600) == -1)
		die("mkfifo");
	is_int(audit_open(fifo, &key, &opts, &log, NULL), WARD_EINVAL,
	    "a FIFO is not a log");
	unlink(fifo);
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
	ok((size_t)st.st_size > content(logp), "a live log has a reserve");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	j = json_pack("{s:s}", "big", big);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	/* Under the reserve's end: the limit is on offsets, not growth. */
	rl.rlim_cur = (rlim_t)content(logp) + 100;
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

/* ---- the canonical-form checker against jansson ---- */

#define CANON_DUMP	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

static uint64_t rng = 0x2545f4914f6cdd1dULL;

/* xorshift64*: reproducible, so a failure can be replayed. */
static uint32_t
rnd(uint32_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

static int
has_real(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_real(j))
		return 1;
	json_object_foreach(j, k, v)
		if (has_real(v))
			return 1;
	if (json_is_array(j))
		json_array_foreach(j, i, v)
			if (has_real(v))
				return 1;
	return 0;
}

/* The definition: jansson takes it back unchanged, and it has no real. */
static int
ref_canon(const char *s, size_t len, int record)
{
	json_t *j, *d;
	char *out;
	int good;

	if ((j = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	out = json_dumps(j, CANON_DUMP);
	good = out != NULL && strlen(out) == len && memcmp(out, s, len) == 0 &&
	    !has_real(j);
	if (record) {
		d = json_object_get(j, "data");
		good = good && json_is_object(j) && json_object_size(j) == 5 &&
		    json_is_object(d) &&
		    json_is_string(json_object_get(j, "kind")) &&
		    json_is_string(json_object_get(j, "prev")) &&
		    json_is_integer(json_object_get(j, "seq")) &&
		    json_is_string(json_object_get(j, "ts"));
	}
	free(out);
	json_decref(j);
	return good;
}

static size_t
put_utf8(char *b, uint32_t cp)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | (cp >> 18));
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Random text: short, from a small alphabet (so keys collide and share
 * prefixes) plus every class of character the dump escapes. */
static size_t
gen_text(char *b)
{
	uint32_t cp;
	size_t n = 0;
	int i, k = (int)rnd(6);

	for (i = 0; i < k; i++) {
		switch (rnd(10)) {
		case 0:
			cp = 1 + rnd(0x1f);
			break;
		case 1:
			cp = (unsigned char)"\"\\/\x7f"[rnd(4)];
			break;
		case 2:
			cp = 0x80 + rnd(0x780);
			break;
		case 3:
			cp = 0x800 + rnd(0xf800);
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;
			break;
		case 4:
			cp = 0x10000 + rnd(0x100000);
			break;
		default:
			cp = (unsigned char)"ab_A0 "[rnd(6)];
			break;
		}
		n += put_utf8(b + n, cp);
	}
	return n;
}

static json_t *
gen_value(int depth)
{
	static const json_int_t ints[] = { 0, 1, -1, 9, 10, -10,
	    INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
	    1000000000000000000LL, -999999999999999999LL };
	char b[64];
	json_t *j;
	int i, n;

	switch (depth > 3 ? 2 + rnd(4) : rnd(6)) {
	case 0:
		j = json_object();
		n = (int)rnd(5);
		for (i = 0; i < n; i++) {
			size_t len = gen_text(b);

			json_object_setn_new(j, b, len, gen_value(depth + 1));
		}
		return j;
	case 1:
		j = json_array();
		n = (int)rnd(4);
		for (i = 0; i < n; i++)
			json_array_append_new(j, gen_value(depth + 1));
		return j;
	case 2:
		return json_stringn(b, gen_text(b));
	case 3:
		if (rnd(2))
			return json_integer(ints[rnd(sizeof(ints) /
			    sizeof(ints[0]))]);
		return json_integer((json_int_t)rnd(100000) - 50000);
	default:
		return rnd(3) == 0 ? json_true() : rnd(2) ? json_false() :
		    json_null();
	}
}

static json_t *
gen_record(void)
{
	char prev[65];
	json_t *data;
	int i;

	/* json_is_object evaluates its argument twice. */
	for (;;) {
		data = gen_value(1);
		if (json_is_object(data))
			break;
		json_decref(data);
	}
	for (i = 0; i < 64; i++)
		prev[i] = "0123456789abcdef"[rnd(16)];
	prev[64] = '\0';
	return json_pack("{s:o, s:s, s:s, s:I, s:s}", "data",
	    data, "kind",
	    rnd(2) ? "command" : "checkpoint", "prev", prev, "seq",
	    (json_int_t)rnd(1000), "ts", "2026-12-02T15:39:20.771Z");
}

/* One to three random edits of s (in place; cap bytes of room). */
static size_t
mutate(char *s, size_t len, size_t cap)
{
	static const char alpha[] = "{}[]\":,\\u0123456789abcdefABCDEF-+.eE "
	    "tfnrl/\x7f\x80\xc3\xa9\n";
	static const char *ins[] = { "\\u00", "\\uD83D", "\\uDE00",
	    "\\u0061", "\\/", "\\u0000", "\\u001F", "\\u007F", "\\u00e9",
	    "\\uD83D\\uDE00", ".0", "e1", "-0", "00", " ", "\"\":1,",
	    "\"a\":1,", "[]", "{}", ",null" };
	const char *m;
	size_t i, n, k;
	int e, edits = 1 + (int)rnd(3);

	for (e = 0; e < edits; e++) {
		i = len ? rnd((uint32_t)len + 1) : 0;
		switch (rnd(6)) {
		case 0:		/* replace one byte */
			if (i < len)
				s[i] = rnd(16) ? alpha[rnd(sizeof(alpha) - 1)] :
				    (char)rnd(256);
			break;
		case 1:		/* insert one byte */
			if (len + 1 < cap) {
				memmove(s + i + 1, s + i, len - i);
				s[i] = alpha[rnd(sizeof(alpha) - 1)];
				len++;
			}
			break;
		case 2:		/* delete a few bytes */
			n = 1 + rnd(4);
			if (i + n <= len) {
				memmove(s + i, s + i + n, len - i - n);
				len -= n;
			}
			break;
		case 3:		/* insert a telling piece */
			m = ins[rnd(sizeof(ins) / sizeof(ins[0]))];
			n = strlen(m);
			if (len + n < cap) {
				memmove(s + i + n, s + i, len - i);
				memcpy(s + i, m, n);
				len += n;
			}
			break;
		case 4:		/* copy a range elsewhere */
			k = rnd((uint32_t)len + 1);
			n = rnd(12);
			if (k + n <= len && len + n < cap) {
				char piece[16];

				memcpy(piece, s + k, n);
				memmove(s + i + n, s + i, len - i);
				memcpy(s + i, piece, n);
				len += n;
			}
			break;
		default:	/* swap two bytes */
			k = rnd((uint32_t)len + 1);
			if (i < len && k < len) {
				char t = s[i];

				s[i] = s[k];
				s[k] = t;
			}
			break;
		}
	}
	return len;
}

static void
show(const char *what, const char *s, size_t len)
{
	size_t i;

	printf("# %s: ", what);
	for (i = 0; i < len && i < 400; i++)
		printf(s[i] >= 0x20 && s[i] < 0x7f ? "%c" : "\\x%02x",
		    (unsigned char)s[i]);
	printf("\n");
}

static void
test_canon(void)
{
	static char m[8192];
	struct audit_canon *c;
	struct audit_canon_rec r;
	json_t *j;
	char *d, *deep;
	size_t len, mlen;
	int i, rec, bad = 0, badrec = 0, miss = 0, acc = 0, acc_rec = 0;
	int depth, wdiff = 0;
	struct buf w;

	buf_init(&w, 0);

	if ((c = malloc(sizeof(*c))) == NULL)
		die("malloc");
	for (i = 0; i < 60000; i++) {
		rec = i % 2;
		j = rec ? gen_record() : gen_value(0);
		if (!json_is_object(j) && !json_is_array(j)) {
			json_t *a = json_pack("[o]", j);

			j = a;
		}
		if ((d = json_dumps(j, CANON_DUMP)) == NULL)
			die("json_dumps");
		len = strlen(d);
		buf_reset(&w);
		if (audit_canon_dump(j, &w) != 0 || w.len != len ||
		    memcmp(w.data, d, len) != 0) {
			if (wdiff++ < 5) {
				show("jansson wrote", d, len);
				show("audit_canon_dump wrote", w.data ? w.data :
				    "", w.len);
			}
		}
		if (audit_canon_check(c, d, len) != 0 ||
		    (rec && audit_canon_record(c, d, len, &r) != 0)) {
			if (miss++ < 5)
				show("a dump the checker refused", d, len);
		}
		if (len < sizeof(m) / 2) {
			memcpy(m, d, len);
			mlen = mutate(m, len, sizeof(m));
			if ((audit_canon_check(c, m, mlen) == 0) !=
			    ref_canon(m, mlen, 0)) {
				if (bad++ < 5)
					show("checker and jansson disagree",
					    m, mlen);
			} else if (audit_canon_check(c, m, mlen) == 0)
				acc++;
			if ((audit_canon_record(c, m, mlen, &r) == 0) !=
			    ref_canon(m, mlen, 1)) {
				if (badrec++ < 5)
					show("record checker and jansson "
					    "disagree", m, mlen);
			} else if (audit_canon_record(c, m, mlen, &r) == 0)
				acc_rec++;
		}
		free(d);
		json_decref(j);
	}
	is_int(wdiff, 0, "60000 random values: the writer's bytes are "
	    "jansson's");
	buf_free(&w);
	is_int(miss, 0, "60000 random dumps are canonical to the checker");
	is_int(bad, 0, "60000 mutations: the checker agrees with jansson "
	    "(%d still canonical)", acc);
	is_int(badrec, 0, "... and the record checker too (%d still "
	    "records)", acc_rec);

	/* jansson parses 2048 levels, not 2049. */
	if ((deep = malloc(2 * 2050)) == NULL)
		die("malloc");
	for (depth = 2047; depth <= 2049; depth++) {
		memset(deep, '[', (size_t)depth);
		memset(deep + depth, ']', (size_t)depth);
		is_int(audit_canon_check(c, deep, 2 * (size_t)depth) == 0,
		    ref_canon(deep, 2 * (size_t)depth, 0),
		    "%d nested arrays: as jansson", depth);
		memcpy(deep + depth - 1, "00", 2);
		is_int(audit_canon_check(c, deep, 2 * (size_t)depth) == 0,
		    ref_canon(deep, 2 * (size_t)depth, 0),
		    "%d levels with a 0 innermost: as jansson", depth);
	}
	free(deep);

	/* By hand: what the prose of doc/AUDIT-FORMAT.md names. */
	ok(audit_canon_check(c, "{\"\\\"\":1,\"#\":2}", 14) == 0,
	    "keys sort by their decoded bytes, not their escapes");
	ok(audit_canon_check(c, "[\"\\u00e9\"]", 10) != 0,
	    "lowercase hex is refused");
	ok(audit_canon_check(c, "[\"\\u00E9\\uD83D\\uDE00\\u001F\x7f\"]",
	    29) == 0, "uppercase \\u escapes, a surrogate pair, DEL raw");
	ok(audit_canon_check(c, "[-9223372036854775808,9223372036854775807]",
	    42) == 0, "int64's ends");
	ok(audit_canon_check(c, "[9223372036854775808]", 21) != 0,
	    "past int64 is refused");
	ok(audit_canon_check(c, "[1.0]", 5) != 0, "a real is refused");
	ok(audit_canon_check(c, "{\"a\":1,\"a\":1}", 13) != 0,
	    "a duplicate key is refused");
	free(c);
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

/* The records of a log, as forge reads them. */
struct forge {
	json_t	*recs;
};

static int
forge_each(void *arg, json_t *rec, const unsigned char hash[AUDIT_HASH_BYTES])
{
	struct forge *f = arg;

	(void)hash;
	return json_array_append(f->recs, rec) == 0 ? 0 : WARD_ENOMEM;
}

/*
 * `forge IN OUT KIND FIND REPLACE`: what someone holding the audit key
 * could do. Writes OUT as a new, validly chained and signed session log
 * with IN's records, the first KIND record's data changed (FIND replaced
 * by REPLACE in its JSON text). For replay's tests: such a log verifies,
 * and only re-running the agent against it shows the lie.
 */
static int
forge(int argc, char **argv)
{
	const struct audit_opts o = { "ward-session", 0, 0 };
	struct forge f = { json_array() };
	unsigned char pk[32];
	struct audit_report r;
	struct audit_log *log;
	struct keyfile_key k;
	struct buf err, t;
	const char *kind;
	json_t *rec, *data;
	char *text, *at;
	size_t i;
	int done = 0, rc;

	buf_init(&err, 0);
	memset(&r, 0, sizeof(r));
	if (argc != 7 || audit_key_load(0, &k, &err) != 0) {
		fprintf(stderr, "forge: %s\n", err.data ? err.data : "usage");
		return 2;
	}
	memcpy(pk, k.pk, sizeof(pk));
	if (audit_verify(argv[2], pk, NULL, forge_each, &f, &r) != 0 ||
	    audit_open(argv[3], &k, &o, &log, &err) != 0) {
		fprintf(stderr, "forge: %s\n", err.data ? err.data :
		    r.why.data ? r.why.data : "cannot read or write");
		return 1;
	}
	json_array_foreach(f.recs, i, rec) {
		kind = json_string_value(json_object_get(rec, "kind"));
		if (strcmp(kind, "checkpoint") == 0)
			continue;
		data = json_incref(json_object_get(rec, "data"));
		if (!done && strcmp(kind, argv[4]) == 0) {
			text = json_dumps(data, JSON_COMPACT);
			if (text != NULL && (at = strstr(text, argv[5])) != NULL) {
				buf_init(&t, 0);
				buf_add(&t, text, (size_t)(at - text));
				buf_puts(&t, argv[6]);
				buf_puts(&t, at + strlen(argv[5]));
				json_decref(data);
				data = json_loads(t.data, 0, NULL);
				buf_free(&t);
				done = 1;
			}
			free(text);
		}
		rc = audit_append(log, kind, data);
		json_decref(data);
		if (rc != 0) {
			fprintf(stderr, "forge: append: %s\n",
			    ward_strerror(rc));
			return 1;
		}
	}
	keyfile_clear(&k);
	audit_report_free(&r);
	json_decref(f.recs);
	if (audit_close(log) != 0 || !done) {
		fprintf(stderr, "forge: %s\n", done ? "close failed" :
		    "nothing to change");
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char cfg[300];

	if (argc > 1 && strcmp(argv[1], "mklog") == 0)
		return helper(argc, argv);
	if (argc > 1 && strcmp(argv[1], "forge") == 0)
		return forge(argc, argv);

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
	test_reserve();
	test_unwritable();
	test_key();
	test_canon();

	audit_report_free(&rep);
	rm_tree(tmp);
	return done_testing();
}
