/*
 * The vault (DESIGN §2 invariant 7): values survive a reopen and a
 * rotation, and every way of tampering with the vault or its key that we
 * could think of is refused: flipped bytes, truncation, swapped or
 * un-revoked values, loose, symlinked or replaced keys, wrong passphrases.
 */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "vault/vault.h"
#include "tap.h"
#include "util.h"

#define V1	"ghp_0123456789abcdefXYZ"
#define V2	"hunter2-but-longer!"

static char tmp[] = "/tmp/ward-test-vault.XXXXXX";
static char vpath[PATH_MAX], kpath[PATH_MAX], npath[PATH_MAX];

static struct vault *
open_ok(const char *pw)
{
	struct vault *v;
	struct buf err;

	buf_init(&err, 0);
	if (vault_open(pw, &v, &err) != 0) {
		fprintf(stderr, "vault_open: %s\n", err.data);
		die("vault_open");
	}
	buf_free(&err);
	return v;
}

static int
open_rc(const char *pw)
{
	struct vault *v = NULL;
	int rc;

	rc = vault_open(pw, &v, NULL);
	vault_free(v);
	return rc;
}

static int
get_is(struct vault *v, const char *name, const char *want)
{
	unsigned char *val;
	size_t len;
	int same;

	if (vault_get(v, name, &val, &len, NULL) != 0)
		return 0;
	same = len == strlen(want) && memcmp(val, want, len) == 0 &&
	    val[len] == '\0';
	vault_value_free(val);
	return same;
}

static void
copy_file(const char *from, const char *to)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s'", from, to);
	if (system(cmd) != 0)
		die(cmd);
}

/* Rewrites the vault file through f(doc). */
static void
tamper(void (*f)(json_t *))
{
	json_t *doc;

	if ((doc = json_load_file(vpath, 0, NULL)) == NULL)
		die("json_load_file");
	f(doc);
	if (json_dump_file(doc, vpath, 0) != 0)
		die("json_dump_file");
	json_decref(doc);
}

static json_t *
secret(json_t *doc, size_t i)
{
	return json_array_get(json_object_get(doc, "secrets"), i);
}

static void
flip_byte(json_t *doc)
{
	char *box = strdup(json_string_value(json_object_get(secret(doc, 0),
	    "box")));

	box[60] = box[60] == '0' ? '1' : '0';
	json_object_set_new(secret(doc, 0), "box", json_string(box));
	free(box);
}

static void
swap_boxes(json_t *doc)
{
	json_t *a = json_object_get(secret(doc, 0), "box");
	json_t *b = json_object_get(secret(doc, 1), "box");

	json_incref(a);
	json_object_set(secret(doc, 0), "box", b);
	json_object_set_new(secret(doc, 1), "box", a);
}

static void
swap_names(json_t *doc)
{
	json_t *a = json_object_get(secret(doc, 0), "name");
	json_t *b = json_object_get(secret(doc, 1), "name");

	json_incref(a);
	json_object_set(secret(doc, 0), "name", b);
	json_object_set_new(secret(doc, 1), "name", a);
	/* Keep them sorted so only the binding is wrong. */
	a = json_incref(secret(doc, 0));
	json_array_remove(json_object_get(doc, "secrets"), 0);
	json_array_append_new(json_object_get(doc, "secrets"), a);
}

static void
unrevoke(json_t *doc)
{
	json_object_set_new(secret(doc, 1), "revoked", json_false());
}

static void
test_basic(void)
{
	struct vault *v = open_ok(NULL);
	struct vault_pair *pairs;
	struct buf err;
	struct stat st;
	size_t n;

	buf_init(&err, 0);
	ok(stat(kpath, &st) == 0 && (st.st_mode & 07777) == 0600 &&
	    st.st_size == 32, "key file made on first use, 0600, 32 bytes");
	is_int(vault_set(v, "GH_TOKEN", (const unsigned char *)V1,
	    strlen(V1), &err), 0, "set");
	is_int(vault_set(v, "DB_PASS", (const unsigned char *)V2, strlen(V2),
	    &err), 0, "set another");
	is_int(vault_set(v, "bad-name", (const unsigned char *)V2,
	    strlen(V2), NULL), WARD_EINVAL, "a bad name refused");
	vault_free(v);
	v = open_ok(NULL);
	ok(get_is(v, "GH_TOKEN", V1) && get_is(v, "DB_PASS", V2),
	    "values survive a reopen");
	is_int(vault_count(v), 2, "two secrets");
	is_str(vault_name(v, 0), "DB_PASS", "names sorted");
	is_int(vault_rm(v, "DB_PASS", NULL), 0, "rm");
	is_int(vault_rm(v, "DB_PASS", NULL), WARD_ENOENT, "rm twice");
	is_int(vault_set(v, "DB_PASS", (const unsigned char *)V2, strlen(V2),
	    NULL), 0, "set again");
	is_int(vault_revoke(v, "GH_TOKEN", NULL), 0, "revoke");
	vault_free(v);
	v = open_ok(NULL);
	buf_reset(&err);
	{
		unsigned char *val;
		size_t len;

		is_int(vault_get(v, "GH_TOKEN", &val, &len, &err),
		    WARD_EDENIED, "a revoked secret refused");
		ok(val == NULL && strstr(err.data, "revoked") != NULL,
		    "... saying revoked");
	}
	is_int(vault_is_revoked(v, "GH_TOKEN"), 1, "is_revoked");
	is_int(vault_is_revoked(v, "DB_PASS"), 0, "the other is not");
	is_int(vault_is_revoked(v, "NOPE"), WARD_ENOENT, "absent");
	ok(vault_pairs(v, &pairs, &n) == 0 && n == 2 &&
	    strcmp(pairs[1].name, "GH_TOKEN") == 0 && pairs[1].len ==
	    strlen(V1), "revoked values still handed to the redactor");
	free(pairs);
	vault_free(v);
	buf_free(&err);
}

static void
test_weak(void)
{
	static const struct { const char *v; size_t len; const char *why; }
	    c[] = {
		{ "short12", 7, "shorter than 8" },
		{ "abcabcabcabc", 12, "fewer than 4 distinct" },
		{ "aaaaaaaaabcd", 12, "more than half" },
		{ "abcd\0efgh", 9, "NUL" },
	};
	struct vault *v = open_ok(NULL);
	struct buf err;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		buf_init(&err, 0);
		is_int(vault_set(v, "WEAK", (const unsigned char *)c[i].v,
		    c[i].len, &err), WARD_EINVAL, "weak value %zu refused", i);
		ok(err.data != NULL && strstr(err.data, c[i].why) != NULL,
		    "... saying %s", c[i].why);
		buf_free(&err);
	}
	is_int(vault_is_revoked(v, "WEAK"), WARD_ENOENT, "none stored");
	vault_free(v);
}

/* Each tampering is undone from a saved copy afterwards. */
static void
test_tamper(void)
{
	char saved[PATH_MAX + 8];
	int fd;

	snprintf(saved, sizeof(saved), "%s.saved", vpath);
	copy_file(vpath, saved);
	tamper(flip_byte);
	is_int(open_rc(NULL), WARD_EPROTO, "a flipped ciphertext byte refused");
	copy_file(saved, vpath);
	tamper(swap_boxes);
	is_int(open_rc(NULL), WARD_EPROTO, "two swapped ciphertexts refused");
	copy_file(saved, vpath);
	tamper(swap_names);
	is_int(open_rc(NULL), WARD_EPROTO, "two swapped names refused");
	copy_file(saved, vpath);
	tamper(unrevoke);
	is_int(open_rc(NULL), WARD_EPROTO, "an undone revocation refused");
	copy_file(saved, vpath);
	if (truncate(vpath, 200) != 0)
		die("truncate");
	is_int(open_rc(NULL), WARD_EPROTO, "a truncated vault refused");
	if ((fd = open(vpath, O_WRONLY | O_TRUNC)) == -1)
		die("open");
	close(fd);
	is_int(open_rc(NULL), WARD_EPROTO, "an emptied vault refused");
	copy_file(saved, vpath);
	is_int(open_rc(NULL), 0, "the saved vault opens again");
	unlink(saved);
}

static void
test_key(void)
{
	char saved[PATH_MAX + 8], other[PATH_MAX + 8];
	unsigned char k[32];
	int fd;

	snprintf(saved, sizeof(saved), "%s.saved", kpath);
	snprintf(other, sizeof(other), "%s.other", kpath);
	copy_file(kpath, saved);
	chmod(kpath, 0644);
	is_int(open_rc(NULL), WARD_EINVAL, "a loose key file refused");
	chmod(kpath, 0600);
	unlink(kpath);
	if (symlink(saved, kpath) != 0)
		die("symlink");
	is_int(open_rc(NULL), WARD_EINVAL, "a symlinked key file refused");
	unlink(kpath);
	randombytes_buf(k, sizeof(k));
	if ((fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, k, 16) != 16)
		die("other");
	close(fd);
	copy_file(other, kpath);
	is_int(open_rc(NULL), WARD_EINVAL, "a short key file refused");
	if ((fd = open(kpath, O_WRONLY | O_APPEND)) == -1 ||
	    write(fd, k, 16) != 16)
		die("kpath");
	close(fd);
	is_int(open_rc(NULL), WARD_EPROTO, "another key refused");
	unlink(kpath);
	is_int(open_rc(NULL), WARD_EPROTO, "a missing key refused, not remade");
	ok(access(kpath, F_OK) != 0, "... and no new key made");
	copy_file(saved, kpath);
	is_int(open_rc(NULL), 0, "the right key opens it again");
	unlink(saved);
	unlink(other);
}

static void
test_rotate(void)
{
	char old[PATH_MAX + 8], cur[PATH_MAX + 8];
	struct vault *v;

	snprintf(old, sizeof(old), "%s.old", kpath);
	snprintf(cur, sizeof(cur), "%s.cur", kpath);
	copy_file(kpath, old);
	v = open_ok(NULL);
	is_int(vault_rotate(v, NULL, NULL), 0, "rotate");
	vault_free(v);
	v = open_ok(NULL);
	ok(get_is(v, "DB_PASS", V2), "values survive the rotation");
	vault_free(v);
	/* A rotate cut short after the vault was written: the new key is
	 * still vault.key.new and the old one in place. */
	if (rename(kpath, npath) != 0)
		die("rename");
	copy_file(old, kpath);
	v = open_ok(NULL);
	ok(get_is(v, "DB_PASS", V2) && access(npath, F_OK) != 0,
	    "a rotate cut short is completed at open");
	vault_free(v);
	if (rename(kpath, cur) != 0)
		die("rename");
	copy_file(old, kpath);
	copy_file(old, npath);
	is_int(open_rc(NULL), WARD_EPROTO, "the old key no longer opens it, "
	    "as vault.key or vault.key.new");
	unlink(npath);
	unlink(kpath);
	if (rename(cur, kpath) != 0)
		die("rename");
	unlink(old);
}

static void
test_passphrase(void)
{
	struct vault *v;

	is_int(vault_needs_passphrase(NULL), 0, "no passphrase yet");
	v = open_ok(NULL);
	is_int(vault_rotate(v, "", NULL), WARD_EINVAL, "empty passphrase");
	is_int(vault_rotate(v, "correct horse", NULL), 0, "set a passphrase");
	vault_free(v);
	ok(access(kpath, F_OK) != 0, "the key file is gone");
	is_int(vault_needs_passphrase(NULL), 1, "a passphrase is needed");
	is_int(open_rc(NULL), WARD_EDENIED, "no passphrase refused");
	is_int(open_rc("wrong horse"), WARD_EDENIED, "a wrong one refused");
	v = open_ok("correct horse");
	ok(get_is(v, "DB_PASS", V2), "the right one opens it");
	is_int(vault_rotate(v, NULL, NULL), 0, "back to a key file");
	vault_free(v);
	is_int(vault_needs_passphrase(NULL), 0, "no passphrase needed");
	v = open_ok(NULL);
	ok(get_is(v, "DB_PASS", V2), "values intact");
	vault_free(v);
}

int
main(void)
{
	char data[PATH_MAX];
	struct vault *v;

	if (sodium_init() < 0 || mkdtemp(tmp) == NULL)
		die("setup");
	snprintf(data, sizeof(data), "%s/data", tmp);
	setenv("XDG_DATA_HOME", data, 1);
	setenv("HOME", tmp, 1);
	snprintf(vpath, sizeof(vpath), "%s/data/ward/vault", tmp);
	snprintf(kpath, sizeof(kpath), "%s/data/ward/vault.key", tmp);
	snprintf(npath, sizeof(npath), "%s/data/ward/vault.key.new", tmp);
	ok(vault_name_ok("GH_TOKEN") && vault_name_ok("_X1") &&
	    !vault_name_ok("1X") && !vault_name_ok("gh") &&
	    !vault_name_ok("A-B") && !vault_name_ok("../X") &&
	    !vault_name_ok(""), "names are [A-Z_][A-Z0-9_]*");
	test_basic();
	test_weak();
	test_tamper();
	test_key();
	test_rotate();
	test_passphrase();
	unlink(vpath);
	v = open_ok(NULL);
	is_int(vault_set(v, "NEW", (const unsigned char *)V2, strlen(V2),
	    NULL), 0, "a vault removed, its key kept: starts afresh");
	vault_free(v);
	rm_tree(tmp);
	return done_testing();
}
