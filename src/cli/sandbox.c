/*
 * `ward sandbox run` (DESIGN §4): runs one shell command exactly as the
 * agent's command_run would after the user answered Allow: under the
 * approved manifest, in the same envelope, through the same code
 * (cmdrun.c). A denied command is refused with exit 126; otherwise the exit
 * code is the command's.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli.h"
#include "../lib/err.h"
#include "../lib/utf8.h"
#include "../lib/xdg.h"
#include "../policy/approval.h"
#include "../sandbox/cmdrun.h"
#include "../vault/vault.h"

extern char **environ;

static void
sandbox_usage(FILE *f)
{
	fputs("usage: ward sandbox run [--manifest F] [--timeout S] -- CMD\n"
	    "\n"
	    "Run the shell command CMD as the agent's command_run would after "
	    "an Allow\n"
	    "(several words after -- are joined with spaces into one command "
	    "line):\n"
	    "the manifest must be approved (`ward approve`), a command it "
	    "denies is\n"
	    "refused, and the command runs in the same sandbox, with only "
	    "what its grant\n"
	    "names: the project paths, environment variables and hosts.\n"
	    "\n"
	    "  --manifest F  the manifest (default ./ward.toml); the project "
	    "is its\n"
	    "                directory and the command starts there\n"
	    "  --timeout S   seconds before the whole command is killed "
	    "(default:\n"
	    "                [command_run] command_timeout)\n"
	    "  -h, --help    show this help\n"
	    "\n"
	    "Output: what the command wrote (stdout and stderr merged), up to "
	    "[command_run]\n"
	    "max_output_bytes; the rest is kept in a file named on stderr. On "
	    "a terminal,\n"
	    "control characters are shown, not sent. stdin is passed on unless "
	    "it is a\n"
	    "terminal (the command then reads /dev/null).\n"
	    "Exit status: the command's; 124 timeout, 126 refused (denied, "
	    "the manifest\n"
	    "is not approved, or a secret it holds was revoked while it ran), 1 invalid manifest, 2 usage, 111 the sandbox "
	    "could not be\n"
	    "built (the message says which layer and how to fix it).\n", f);
}

/* Prints s to f with nothing in it able to act on the terminal. */
static void
sandbox_put(FILE *f, const char *s, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	if (utf8_visible(&b, s, n, UTF8_KEEP_LF | UTF8_KEEP_TAB) == 0 &&
	    b.data != NULL)
		fwrite(b.data, 1, b.len, f);
	buf_free(&b);
}

/* A new file name for the output past the cap, in ward's state dir. */
static int
sandbox_spill(char **out)
{
	unsigned char r[8];
	char *dir = NULL;
	int rc;

	*out = NULL;
	if ((rc = xdg_dir(XDG_STATE, &dir)) != 0)
		return rc;
	if (asprintf(out, "%s/spill", dir) == -1 ||
	    (rc = xdg_mkdirs(*out)) != 0) {
		free(*out);
		*out = NULL;
		free(dir);
		return rc != 0 ? rc : WARD_ENOMEM;
	}
	free(*out);
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r) ||
	    asprintf(out, "%s/spill/%02x%02x%02x%02x%02x%02x%02x%02x.out",
	    dir, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) == -1) {
		*out = NULL;
		free(dir);
		return WARD_ESYS;
	}
	free(dir);
	return 0;
}

/*
 * No daemon tells this process about a revoke (doc/VAULT.md), so while
 * the command runs it watches the vault itself: each time the file is
 * replaced it is read again and every revoked secret goes to
 * cmdrun_revoke, which stops the command if it holds that one. It watches
 * from before cmdrun reads the vault, so no revoke between the two is
 * missed (cmdrun lists the command before it lets the vault's lock go).
 */
struct sandbox_watch {
	pthread_t	 t;
	int		 in;		/* inotify on the vault's directory */
	int		 stop[2];	/* closed: stop watching */
};

static void
sandbox_revoked(void)
{
	struct vault *v = NULL;
	struct buf err;
	size_t i;

	buf_init(&err, 0);
	/* A vault that does not open now cannot hand out secrets either;
	 * what already runs goes on (it opened when the command started). */
	if (vault_open(getenv("WARD_VAULT_PASSPHRASE"), &v, &err) == 0)
		for (i = 0; i < vault_count(v); i++)
			if (vault_is_revoked(v, vault_name(v, i)) == 1)
				(void)cmdrun_revoke(vault_name(v, i));
	vault_free(v);
	buf_free(&err);
}

static void *
sandbox_watch_main(void *arg)
{
	struct sandbox_watch *w = arg;
	struct pollfd pf[2];
	char ev[4096] __attribute__((aligned(__alignof__(struct
	    inotify_event))));
	const struct inotify_event *e;
	ssize_t n, off;
	int changed;

	for (;;) {
		pf[0].fd = w->in;
		pf[0].events = POLLIN;
		pf[1].fd = w->stop[0];
		pf[1].events = POLLIN;
		if (poll(pf, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents != 0)
			break;
		if ((n = read(w->in, ev, sizeof(ev))) <= 0) {
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			break;
		}
		for (changed = 0, off = 0; off < n; off += (ssize_t)sizeof(*e) +
		    e->len) {
			e = (const struct inotify_event *)(ev + off);
			if ((e->mask & IN_Q_OVERFLOW) != 0 || (e->len > 0 &&
			    strcmp(e->name, "vault") == 0))
				changed = 1;
		}
		if (changed)
			sandbox_revoked();
	}
	return NULL;
}

/* Returns 0 watching, or -1 (errno set) when the vault's directory
 * cannot be watched. It is created if missing: a vault made while the
 * command starts must be watched too. */
static int
sandbox_watch_start(struct sandbox_watch *w)
{
	char *dir = NULL;
	int rc = -1, e;

	w->stop[0] = w->stop[1] = -1;
	if ((w->in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1)
		return -1;
	if (xdg_dir(XDG_DATA, &dir) != 0 || xdg_mkdirs(dir) != 0 ||
	    inotify_add_watch(w->in, dir, IN_MOVED_TO | IN_CLOSE_WRITE) == -1 ||
	    pipe2(w->stop, O_CLOEXEC) == -1 ||
	    pthread_create(&w->t, NULL, sandbox_watch_main, w) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		e = errno;
		close(w->in);
		if (w->stop[0] != -1) {
			close(w->stop[0]);
			close(w->stop[1]);
		}
		errno = e;
	}
	free(dir);
	return rc;
}

static void
sandbox_watch_stop(struct sandbox_watch *w)
{
	close(w->stop[1]);
	pthread_join(w->t, NULL);
	close(w->stop[0]);
	close(w->in);
}

static int
sandbox_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "manifest",	required_argument, NULL, 'm' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "help",	no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = "ward.toml";
	char root[PATH_MAX], *copy = NULL, *spill = NULL, *end;
	struct manifest *m = NULL;
	struct policy *pol = NULL;
	struct cmdrun_opts o;
	struct cmdrun_result r;
	struct sandbox_watch watch;
	struct buf text, err, line;
	long timeout = 0;
	int c, rc, ret = WARD_EXIT_SYSERR;

	memset(&r, 0, sizeof(r));
	buf_init(&text, MANIFEST_MAX_BYTES);
	buf_init(&err, 0);
	buf_init(&line, 0);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			path = optarg;
			break;
		case 't':
			timeout = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || timeout < 1 ||
			    timeout > 86400) {
				fprintf(stderr, "ward sandbox: --timeout takes "
				    "seconds from 1 to 86400\n");
				ret = WARD_EXIT_USAGE;
				goto out;
			}
			break;
		case 'h':
			sandbox_usage(stdout);
			ret = WARD_EXIT_OK;
			goto out;
		default:
			sandbox_usage(stderr);
			ret = WARD_EXIT_USAGE;
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ward sandbox: give the command after --\n");
		sandbox_usage(stderr);
		ret = WARD_EXIT_USAGE;
		goto out;
	}
	/* Several words are one command line, joined as ssh joins them. */
	for (c = optind; c < argc; c++)
		if ((c > optind && buf_puts(&line, " ") != 0) ||
		    buf_puts(&line, argv[c]) != 0)
			goto out;
	if (line.len == 0) {
		fprintf(stderr, "ward sandbox: the command is empty\n");
		ret = WARD_EXIT_USAGE;
		goto out;
	}
	if ((copy = strdup(path)) == NULL)
		goto out;
	if (realpath(dirname(copy), root) == NULL) {
		fprintf(stderr, "ward sandbox: ");
		sandbox_put(stderr, path, strlen(path));
		fprintf(stderr, ": cannot find its directory: %m\n");
		ret = WARD_EXIT_FAIL;
		goto out;
	}
	if ((rc = manifest_read(path, &text, &err)) != 0 ||
	    (rc = manifest_parse(path, text.data ? text.data : "", text.len,
	    &m, &err)) != 0) {
		fputs("ward sandbox: ", stderr);
		sandbox_put(stderr, err.data ? err.data : ward_strerror(rc),
		    err.data ? err.len : strlen(ward_strerror(rc)));
		fputc('\n', stderr);
		ret = rc == WARD_ENOMEM ? WARD_EXIT_SYSERR : WARD_EXIT_FAIL;
		goto out;
	}
	if ((rc = approval_check(root, text.data ? text.data : "", text.len,
	    &err)) != 0) {
		fputs("ward sandbox: ", stderr);
		sandbox_put(stderr, err.data ? err.data : "not approved",
		    err.data ? err.len : 12);
		fputs("; commands run only under an approved manifest: "
		    "review and approve it with `ward approve`\n", stderr);
		ret = WARD_EXIT_POLICY;
		goto out;
	}
	if ((rc = policy_new(root, m, &pol)) != 0) {
		m = NULL;
		goto out;
	}
	m = NULL;
	if (sandbox_spill(&spill) != 0) {
		fprintf(stderr, "ward sandbox: cannot create ward's spill "
		    "directory\n");
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.timeout_s = (unsigned)timeout;
	o.prompt_ok = 1;	/* as after an Allow: the user typed it */
	o.spill_path = spill;
	/* A terminal is not handed to the command: it could type into it
	 * (the shell after ward exits) or change its modes for good. */
	o.stdin_fd = isatty(STDIN_FILENO) ? -1 : STDIN_FILENO;
	o.envp = environ;
	buf_reset(&err);
	/* Fail closed: a command that could not be stopped by a revoke
	 * does not get secrets. */
	if (sandbox_watch_start(&watch) != 0) {
		fprintf(stderr, "ward sandbox: cannot watch the vault for "
		    "revocations: %m\n");
		ret = WARD_EXIT_SYSERR;
		goto out;
	}
	rc = cmdrun(pol, root, line.data, &o, &r, &err);
	sandbox_watch_stop(&watch);
	if (rc != 0) {
		fputs("ward sandbox: ", stderr);
		sandbox_put(stderr, err.data ? err.data : ward_strerror(rc),
		    err.data ? err.len : strlen(ward_strerror(rc)));
		fputc('\n', stderr);
		ret = rc == WARD_EINVAL ? WARD_EXIT_FAIL : WARD_EXIT_SYSERR;
		goto out;
	}
	if (!r.ran) {
		fprintf(stderr, "ward sandbox: refused by ward.toml: %s",
		    r.reason != NULL ? r.reason : "denied");
		if (r.rule != NULL) {
			fputs(" (", stderr);
			sandbox_put(stderr, r.rule, strlen(r.rule));
			fputc(')', stderr);
		}
		fputc('\n', stderr);
		ret = WARD_EXIT_POLICY;
		goto out;
	}
	/* On a terminal what the command wrote is shown, not obeyed. */
	if (r.env.out.len > 0 && isatty(STDOUT_FILENO))
		sandbox_put(stdout, r.env.out.data, r.env.out.len);
	else if (r.env.out.len > 0)
		fwrite(r.env.out.data, 1, r.env.out.len, stdout);
	fflush(stdout);
	if (r.denials.len > 0)
		sandbox_put(stderr, r.denials.data, r.denials.len);
	if (r.env.total > r.env.out.len)
		fprintf(stderr, "\nward sandbox: %zu more bytes of output are "
		    "in %s\n", r.env.total - r.env.out.len, spill);
	if (r.env.timed_out)
		fprintf(stderr, "ward sandbox: timed out; the command and "
		    "everything it started were killed\n");
	ret = r.env.exit_code;
	if (r.revoked != NULL) {
		fprintf(stderr, "ward sandbox: stopped: the secret %s it was "
		    "given was revoked; the command and everything it "
		    "started were killed\n", r.revoked);
		ret = WARD_EXIT_POLICY;
	}
out:
	/* Keep the spill file only when it holds what was not printed. */
	if (spill != NULL && (!r.ran || r.env.total <= r.env.out.len))
		(void)unlink(spill);
	cmdrun_result_clear(&r);
	policy_free(pol);
	manifest_free(m);
	buf_free(&text);
	buf_free(&err);
	buf_free(&line);
	free(copy);
	free(spill);
	return ret;
}

int
cmd_sandbox(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return sandbox_run(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		sandbox_usage(stdout);
		return WARD_EXIT_OK;
	}
	sandbox_usage(stderr);
	return WARD_EXIT_USAGE;
}
