/*
 * The four answers (DESIGN §3): each is written into ward.toml keeping the
 * user's comments, the result is re-signed and decides as the table says;
 * and an answer never signs a manifest someone changed behind the user's
 * back.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "policy/answer.h"
#include "policy/approval.h"
#include "policy/policy.h"
#include "tap.h"
#include "util.h"

static const char manifest[] =
	"# our grant, reviewed 2026-11-30\n"
	"schema_version = 1\n"
	"\n"
	"[capabilities.allow.commands]\n"
	"patterns = [\n"
	"  \"make test:*\",   # the test suite\n"
	"]\n";

static char tmp[] = "/tmp/ward-answer.XXXXXX";
static char root[128], path[160];

static void
put(const char *text)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    close(fd) == -1)
		die("write ward.toml");
}

/* The file's text (static storage). */
static const char *
get(void)
{
	static char b[8192];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 ||
	    (n = read(fd, b, sizeof(b) - 1)) < 0)
		die("read ward.toml");
	close(fd);
	b[n] = '\0';
	return b;
}

static int
approved(void)
{
	const char *t = get();

	return approval_check(root, t, strlen(t), NULL) == 0;
}

/* What the manifest on disk decides for cmd. */
static const char *
decide(const char *cmd)
{
	struct manifest *m;
	struct policy *p;
	struct cmdpat_result r;
	const char *t = get(), *d;

	if (manifest_parse("ward.toml", t, strlen(t), &m, NULL) != 0 ||
	    policy_new(root, m, &p) != 0)
		return "(bad manifest)";
	if (policy_command(p, cmd, &r, NULL) != 0)
		d = "(failed)";
	else
		d = cmdpat_name(r.decision);
	cmdpat_result_clear(&r);
	policy_free(p);
	return d;
}

static int
answer(enum answer a, const char *pat, struct buf *err)
{
	buf_reset(err);
	return answer_record(root, a, pat, err);
}

int
main(void)
{
	struct buf err;
	struct stat st;
	char before[8192];

	if (mkdtemp(tmp) == NULL)
		die("mkdtemp");
	snprintf(root, sizeof(root), "%s/proj", tmp);
	snprintf(path, sizeof(path), "%s/ward.toml", root);
	if (mkdir(root, 0700) == -1)
		die("mkdir");
	setenv("HOME", tmp, 1);
	setenv("XDG_CONFIG_HOME", tmp, 1);
	setenv("XDG_STATE_HOME", tmp, 1);
	setenv("XDG_DATA_HOME", tmp, 1);
	buf_init(&err, 0);

	put(manifest);
	is_int(answer(ANSWER_ALLOW_ALWAYS, "cargo nextest:*", &err),
	    WARD_EDENIED, "a never-approved manifest gets no answer written");
	is_str(get(), manifest, "  and is left as it was");
	ok(err.data != NULL && strstr(err.data, "ward approve") != NULL,
	    "  the message says how to fix it");

	if (approval_sign(root, manifest, strlen(manifest), NULL) != 0)
		die("approval_sign");
	is_str(decide("cargo nextest run"), "prompt", "before: unmatched "
	    "prompts");

	/* Allow always: a bare pattern, silent from now on, still signed. */
	is_int(answer(ANSWER_ALLOW_ALWAYS, "cargo nextest:*", &err), 0,
	    "Allow always is written");
	is_str(get(), "# our grant, reviewed 2026-11-30\n"
	    "schema_version = 1\n"
	    "\n"
	    "[capabilities.allow.commands]\n"
	    "patterns = [\n"
	    "  \"make test:*\",   # the test suite\n"
	    "  \"cargo nextest:*\",\n"
	    "]\n", "  as a bare pattern, comments and layout kept");
	ok(approved(), "  and re-signed");
	is_str(decide("cargo nextest run -p x"), "allow", "  later matching "
	    "calls run silently");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640,
	    "  the file keeps its mode");

	/* Allow: a prompt = true entry, asked again. */
	is_int(answer(ANSWER_ALLOW, "npm run:*", &err), 0, "Allow is written");
	ok(strstr(get(), "{ command = \"npm run:*\", prompt = true }") !=
	    NULL, "  with prompt = true");
	ok(approved(), "  and re-signed");
	is_str(decide("npm run build"), "prompt", "  later calls ask again");

	/* Deny always: under deny, refused silently, beating any allow. */
	is_int(answer(ANSWER_DENY_ALWAYS, "cargo nextest run:*", &err), 0,
	    "Deny always is written");
	ok(strstr(get(), "[capabilities.deny.commands]\npatterns = "
	    "[\"cargo nextest run:*\"]") != NULL, "  under "
	    "[capabilities.deny.commands]");
	ok(approved(), "  and re-signed");
	is_str(decide("cargo nextest run"), "deny", "  refused, over the "
	    "broader allow");

	/* Deny: nothing written. */
	snprintf(before, sizeof(before), "%s", get());
	is_int(answer(ANSWER_DENY, "rm:*", &err), 0, "Deny is accepted");
	is_str(get(), before, "  and writes nothing");

	/* The same answer twice changes nothing. */
	is_int(answer(ANSWER_ALLOW_ALWAYS, "cargo nextest:*", &err), 0,
	    "a repeated answer is accepted");
	is_str(get(), before, "  and changes nothing");

	/* Someone edits ward.toml behind the user's back: an answer must not
	 * sign their change. */
	put("# our grant, reviewed 2026-11-30\nschema_version = 1\n"
	    "[capabilities.allow.commands]\npatterns = [\"curl:*\"]\n");
	is_int(answer(ANSWER_ALLOW_ALWAYS, "ls:*", &err), WARD_EDENIED,
	    "a manifest changed since approval gets no answer");
	ok(!approved(), "  and stays unapproved");
	ok(strstr(get(), "ls:*") == NULL, "  nothing was written");

	/* A symlinked ward.toml is not followed. */
	put(before);
	if (approval_sign(root, before, strlen(before), NULL) != 0 ||
	    rename(path, "/tmp/ward-answer-elsewhere.toml") == -1 ||
	    symlink("/tmp/ward-answer-elsewhere.toml", path) == -1)
		die("symlink setup");
	ok(answer(ANSWER_ALLOW_ALWAYS, "ls:*", &err) != 0,
	    "a ward.toml that is a symlink is refused");
	unlink(path);
	unlink("/tmp/ward-answer-elsewhere.toml");

	is_int(answer(ANSWER_ALLOW_ALWAYS, "ls:*", &err), WARD_ENOENT,
	    "no ward.toml: ENOENT");
	put(before);
	if (approval_sign(root, before, strlen(before), NULL) != 0)
		die("approval_sign");
	is_int(answer(ANSWER_ALLOW_ALWAYS, "ls; rm", &err), WARD_EINVAL,
	    "a pattern with shell syntax is refused");
	is_str(get(), before, "  and nothing is written");
	ok(approved(), "  the manifest stays approved");
	is_str(answer_name(ANSWER_DENY_ALWAYS), "deny-always", "answer_name");

	buf_free(&err);
	rm_tree(tmp);
	return done_testing();
}
