/*
 * Manifest approval (DESIGN §3 "Approval", invariant 5): the canonical form
 * ignores layout but nothing else; an approval holds only for the exact
 * manifest, directory and user key it was made with, and every way of
 * editing, moving or forging the approval file, or swapping or loosening
 * the user key, leaves the manifest unapproved.
 */
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "policy/approval.h"
#include "tap.h"
#include "util.h"

#define HDR "schema_version = 1\n"

static const char manifest[] =
	"# the project's grant\n"
	HDR
	"\n"
	"[capabilities.allow.commands]\n"
	"patterns = [\"make test:*\", { command = \"git:*\", prompt = true }]\n"
	"\n"
	"[security]\n"
	"allow_pipes = true\n";

/* Same values: comments, blank lines, key order, inline vs header tables. */
static const char relaid[] =
	HDR
	"security = { allow_pipes = true }   # moved\n"
	"[capabilities.allow.commands]\n"
	"patterns = [ 'make test:*',\n"
	"  { prompt = true, command = \"git:*\" } ]\n";

/* One byte of a value differs. */
static const char edited[] =
	"# the project's grant\n"
	HDR
	"\n"
	"[capabilities.allow.commands]\n"
	"patterns = [\"make test:*\", { command = \"git:*\", prompt = true }]\n"
	"\n"
	"[security]\n"
	"allow_pipes = false\n";

static char tmp[] = "/tmp/ward-approval.XXXXXX";
static char p1[64], p2[64], keyfile[128];
static struct buf errb, canonb;

static int
check(const char *root, const char *text)
{
	buf_reset(&errb);
	return approval_check(root, text, strlen(text), &errb);
}

static int
sign(const char *root, const char *text)
{
	buf_reset(&errb);
	return approval_sign(root, text, strlen(text), &errb);
}

/* The canonical form of text, or "ERROR". Static storage. */
static const char *
canon(const char *text)
{
	buf_reset(&canonb);
	if (approval_canonical(text, strlen(text), &canonb, NULL) != 0)
		return "ERROR";
	return canonb.data;
}

static int
same(const char *a, const char *b)
{
	char *ca = strdup(canon(a));
	int r;

	if (ca == NULL)
		die("strdup");
	r = strcmp(ca, canon(b)) == 0 && strcmp(ca, "ERROR") != 0;
	free(ca);
	return r;
}

/* The approval file of directory dir (by its real path). */
static void
approval_path(const char *dir, char *out, size_t size)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1], *real = realpath(dir, NULL);

	if (real == NULL)
		die(dir);
	crypto_hash_sha256(h, (unsigned char *)real, strlen(real));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, size, "%s/state/ward/approvals/%s.json", tmp, hex);
	free(real);
}

static void
copy_file(const char *from, const char *to)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s'", from, to);
	if (system(cmd) != 0)
		die(cmd);
}

/* Replaces field key of p1's approval file with val (a JSON value). */
static void
edit_approval(const char *key, json_t *val)
{
	char path[256];
	json_t *doc;

	approval_path(p1, path, sizeof(path));
	if ((doc = json_load_file(path, 0, NULL)) == NULL ||
	    json_object_set_new(doc, key, val) != 0 ||
	    json_dump_file(doc, path, JSON_COMPACT) != 0)
		die(path);
	json_decref(doc);
}

static void
test_canonical(void)
{
	ok(same(manifest, relaid), "comments, layout, key order and table "
	    "syntax do not change the canonical form");
	ok(!same(manifest, edited), "one changed value does");
	is_str(canon("b = [1, \"x\", 1.0]\na = true\n[c]\n"),
	    "{\"a\"=btrue;\"b\"=[i1;s\"x\";f3ff0000000000000;];\"c\"={};}",
	    "the documented form, keys sorted");
	ok(!same("a = 1", "a = \"1\""), "every value is tagged with its type");
	ok(!same("a = 1", "a = 1.0"), "an integer is not a float");
	ok(!same("a = [1]", "a = 1"), "nor an array of it");
	ok(same("a = 'x\"y'", "a = \"x\\\"y\""), "string spellings agree");
	ok(same("a = \"\\u00e9\"", "a = \"\xc3\xa9\""), "escapes are decoded");
	ok(!same("\"a\\\"=i1;\\\"b\" = 2", "a = 1\nb = 2"),
	    "a key cannot forge the form's own separators");
	ok(!same("a = \"x\\n\"", "a = \"x\\\\n\""), "control characters are "
	    "escaped unambiguously");
	is_str(canon("\"\\u0000\" = \"\\u001b[31m\\u007f\""),
	    "{\"\\u0000\"=s\"\\u001b[31m\\u007f\";}", "NUL, ESC and DEL "
	    "escaped");
	ok(same("a = 1979-05-27T07:32:00Z", "a = 1979-05-27 07:32:00.000+00:00"),
	    "date-time spellings agree");
	ok(!same("a = 1979-05-27T07:32:00Z", "a = 1979-05-27T07:32:00"),
	    "an offset date-time is not a local one");
	ok(!same("a = 1979-05-27T07:32:00Z", "a = 1979-05-27T08:32:00+01:00"),
	    "nor is the same instant written with another offset");
	ok(same("a = 0x10", "a = 16") && same("a = 1_000", "a = 1000"),
	    "integer spellings agree");
	ok(same("a = nan", "a = -nan"), "nan is nan");
	ok(!same("a = 0.0", "a = -0.0"), "-0.0 is not 0.0");
	ok(same("a.b = 1", "[a]\nb = 1"), "dotted keys are tables");
	ok(same("[[t]]\nx = 1\n[[t]]\n", "t = [{x = 1}, {}]"),
	    "arrays of tables are arrays");
	is_str(canon("a = "), "ERROR", "not TOML: an error");
}

static void
test_sign_check(void)
{
	char *text = NULL, dir[128];
	struct stat st;
	size_t len = 0;
	int rc;

	is_int(check(p1, manifest), WARD_ENOENT, "never approved");
	ok(strstr(errb.data, "never been approved") != NULL,
	    "and says so: %s", errb.data);
	is_int(approval_last(p1, &text, &len, NULL), WARD_ENOENT,
	    "no last approved text");
	ok(text == NULL, "and no text");
	ok(lstat(keyfile, &st) == -1, "checking creates no key");

	rc = sign(p1, manifest);
	is_int(rc, 0, "sign: %s", errb.data ? errb.data : "");
	ok(lstat(keyfile, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 07777) == 0600 && st.st_size == 32,
	    "the user key is made, 0600");
	snprintf(dir, sizeof(dir), "%s/config/ward", tmp);
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700,
	    "in a 0700 directory");
	is_int(check(p1, manifest), 0, "signed, then approved");
	is_int(check(p1, relaid), 0, "a comment or layout change is still "
	    "approved");
	is_int(check(p1, edited), WARD_EDENIED, "a changed value is not");
	ok(strstr(errb.data, "changed since") != NULL, "and says so: %s",
	    errb.data);
	is_int(check(p1, "schema_version = "), WARD_EINVAL,
	    "broken TOML is not");
	is_int(approval_last(p1, &text, &len, NULL), 0, "the last approved "
	    "text");
	ok(text != NULL && len == strlen(manifest) &&
	    strcmp(text, manifest) == 0, "is the signed one, byte for byte");
	free(text);

	is_int(sign(p1, HDR "[security]\nallow_pipe = true\n"), WARD_EINVAL,
	    "a manifest with an unknown key cannot be signed");
	ok(strstr(errb.data, "allow_pipe") != NULL, "the manifest error: %s",
	    errb.data);
	is_int(check(p1, manifest), 0, "and the approval stands");
	is_int(sign(p1, "not toml"), WARD_EINVAL, "nor can a non-TOML one");
}

static void
test_tamper(void)
{
	char path[256], saved[300], other[256], link[300];
	char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	json_t *doc;
	const char *sig;
	char *flipped;
	FILE *f;

	approval_path(p1, path, sizeof(path));
	snprintf(saved, sizeof(saved), "%s.saved", path);
	copy_file(path, saved);
	is_int(check(p1, manifest), 0, "the approval verifies");

	if ((doc = json_load_file(path, 0, NULL)) == NULL ||
	    (sig = json_string_value(json_object_get(doc, "signature"))) ==
	    NULL || (flipped = strdup(sig)) == NULL)
		die(path);
	flipped[10] = flipped[10] == '0' ? '1' : '0';
	json_decref(doc);
	edit_approval("signature", json_string(flipped));
	free(flipped);
	is_int(check(p1, manifest), WARD_EPROTO, "one signature nibble flipped: "
	    "invalid");
	ok(strstr(errb.data, "does not verify") != NULL, "says why: %s",
	    errb.data);

	copy_file(saved, path);
	crypto_sign_keypair(pk, sk);
	sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
	edit_approval("public_key", json_string(hex));
	is_int(check(p1, manifest), WARD_EPROTO, "another public key: invalid");
	ok(strstr(errb.data, "another key") != NULL, "says why: %s",
	    errb.data);

	copy_file(saved, path);
	edit_approval("path", json_string(p2));
	is_int(check(p1, manifest), WARD_EPROTO, "another path: invalid");

	copy_file(saved, path);
	edit_approval("manifest", json_string(edited));
	is_int(check(p1, edited), WARD_EPROTO, "the stored text edited to "
	    "match an edited manifest: invalid");

	copy_file(saved, path);
	edit_approval("extra", json_true());
	is_int(check(p1, manifest), WARD_EPROTO, "an unknown field: invalid");

	copy_file(saved, path);
	edit_approval("version", json_integer(2));
	is_int(check(p1, manifest), WARD_EPROTO, "another version: invalid");

	if ((f = fopen(path, "w")) == NULL)
		die(path);
	fputs("{\"version\":1,", f);
	fclose(f);
	is_int(check(p1, manifest), WARD_EPROTO, "a truncated file: invalid");

	unlink(path);
	snprintf(link, sizeof(link), "%s.link", path);
	copy_file(saved, link);
	if (symlink(link, path) == -1)
		die("symlink");
	is_int(check(p1, manifest), WARD_EPROTO, "a symlink to a good "
	    "approval: invalid");
	unlink(path);
	unlink(link);

	copy_file(saved, path);
	is_int(check(p1, manifest), 0, "restored: approved again");

	/* Moving the manifest, or copying the approval along with it. */
	is_int(check(p2, manifest), WARD_ENOENT, "the same manifest in another "
	    "directory: never approved");
	approval_path(p2, other, sizeof(other));
	copy_file(saved, other);
	is_int(check(p2, manifest), WARD_EPROTO, "with p1's approval copied "
	    "to p2's name: invalid");
	unlink(other);
	snprintf(link, sizeof(link), "%s/p1link", tmp);
	if (symlink(p1, link) == -1)
		die("symlink");
	is_int(check(link, manifest), 0, "the project named through a "
	    "symlink is the same project");
	unlink(saved);
}

static void
test_keys(void)
{
	char saved[160], target[160];
	int fd;

	snprintf(saved, sizeof(saved), "%s.saved", keyfile);
	copy_file(keyfile, saved);

	/* A second user key: the first one's approvals do not verify. */
	unlink(keyfile);
	is_int(check(p1, manifest), WARD_EPROTO, "no user key: invalid");
	is_int(sign(p2, manifest), 0, "a second key signs p2");
	is_int(check(p2, manifest), 0, "p2 approved under it");
	is_int(check(p1, manifest), WARD_EPROTO, "p1 not approved under it");
	ok(strstr(errb.data, "another key") != NULL, "says why: %s",
	    errb.data);
	copy_file(saved, keyfile);
	is_int(check(p1, manifest), 0, "the first key back: p1 approved");
	is_int(check(p2, manifest), WARD_EPROTO, "and p2 not");

	chmod(keyfile, 0644);
	is_int(check(p1, manifest), WARD_EINVAL, "a 0644 key is refused");
	ok(strstr(errb.data, "0600") != NULL, "says why: %s", errb.data);
	is_int(sign(p1, manifest), WARD_EINVAL, "also for signing");
	chmod(keyfile, 0400);
	is_int(check(p1, manifest), WARD_EINVAL, "so is a 0400 one");
	chmod(keyfile, 0600);
	is_int(check(p1, manifest), 0, "0600 again: fine");

	snprintf(target, sizeof(target), "%s/elsewhere.key", tmp);
	if (rename(keyfile, target) == -1 || symlink(target, keyfile) == -1)
		die("symlink");
	is_int(check(p1, manifest), WARD_EINVAL, "a symlinked key is refused");
	ok(strstr(errb.data, "symlink") != NULL, "says why: %s", errb.data);
	is_int(sign(p1, manifest), WARD_EINVAL, "and not replaced by signing");
	unlink(keyfile);

	if ((fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, "short", 5) != 5)
		die(keyfile);
	close(fd);
	is_int(sign(p1, manifest), WARD_EINVAL, "a key of the wrong size is "
	    "refused");
	unlink(keyfile);

	if (mkfifo(keyfile, 0600) == -1)
		die("mkfifo");
	is_int(sign(p1, manifest), WARD_EINVAL, "so is a FIFO, without "
	    "hanging");
	unlink(keyfile);

	copy_file(saved, keyfile);
	unlink(saved);
	unlink(target);
	is_int(check(p1, manifest), 0, "the real key back: approved");
}

int
main(void)
{
	char dir[128];

	if (sodium_init() < 0 || mkdtemp(tmp) == NULL)
		die("setup");
	snprintf(p1, sizeof(p1), "%s/p1", tmp);
	snprintf(p2, sizeof(p2), "%s/p2", tmp);
	snprintf(keyfile, sizeof(keyfile), "%s/config/ward/user.key", tmp);
	snprintf(dir, sizeof(dir), "%s/home", tmp);
	if (mkdir(p1, 0755) == -1 || mkdir(p2, 0755) == -1 ||
	    mkdir(dir, 0700) == -1 || setenv("HOME", dir, 1) == -1)
		die("setup");
	snprintf(dir, sizeof(dir), "%s/config", tmp);
	setenv("XDG_CONFIG_HOME", dir, 1);
	snprintf(dir, sizeof(dir), "%s/state", tmp);
	setenv("XDG_STATE_HOME", dir, 1);
	buf_init(&errb, 0);
	buf_init(&canonb, 0);

	test_canonical();
	test_sign_check();
	test_tamper();
	test_keys();

	buf_free(&errb);
	buf_free(&canonb);
	rm_tree(tmp);
	return done_testing();
}
