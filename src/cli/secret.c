/*
 * `ward secret` (DESIGN §4, doc/VAULT.md): the vault from the command line.
 * Values come in on stdin only, never through argv (which every process on
 * the machine can read in /proc), with echo off on a terminal, and are
 * never printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "../daemon/server.h"
#include "../lib/err.h"
#include "../lib/proto.h"
#include "../vault/vault.h"

#define SECRET_IN_MAX	(VAULT_VALUE_MAX + 2)	/* room for a CR LF */

static void
secret_usage(FILE *f)
{
	fputs("usage: ward secret set NAME      (the value is read from "
	    "stdin)\n"
	    "       ward secret list\n"
	    "       ward secret rm NAME\n"
	    "       ward secret revoke NAME\n"
	    "       ward secret rotate\n"
	    "       ward secret passphrase [--remove]\n"
	    "\n"
	    "The vault holds credentials that grants inject into commands; "
	    "values are\n"
	    "never printed and never taken from the command line. NAME is "
	    "[A-Z_][A-Z0-9_]*.\n"
	    "On a terminal the value is read with echo off; otherwise stdin is "
	    "read to its\n"
	    "end and one trailing newline is dropped. Values shorter than 8 "
	    "bytes or too\n"
	    "repetitive to redact safely are refused.\n"
	    "\n"
	    "  list        names, never values; revoked ones are marked\n"
	    "  revoke      keep the name (and go on redacting the value) but "
	    "never hand it\n"
	    "              out again; running commands that hold it are "
	    "stopped\n"
	    "  rotate      re-encrypt every value under a new key\n"
	    "  passphrase  lock the vault with a passphrase (read like a "
	    "value) through\n"
	    "              argon2id instead of the key file; --remove goes "
	    "back to a key file\n"
	    "\n"
	    "A locked vault takes its passphrase from WARD_VAULT_PASSPHRASE or "
	    "the terminal.\n"
	    "Exit status: 0 done, 1 failed (no such secret, refused value, "
	    "damaged vault),\n"
	    "2 usage error, 111 system error.\n", f);
}

static int
secret_exit(int rc)
{
	if (rc == 0)
		return WARD_EXIT_OK;
	return rc == WARD_ENOMEM || rc == WARD_ESYS || rc == WARD_EIO ?
	    WARD_EXIT_SYSERR : WARD_EXIT_FAIL;
}

/*
 * Reads a value from fd into *out (sodium_malloc'd, free with sodium_free)
 * and *len: one line with echo off on a terminal (prompt on stderr), else
 * everything up to EOF less one trailing newline. Returns 0, WARD_ETOOBIG,
 * WARD_EIO, WARD_ENOMEM.
 */
static int
secret_read(int fd, const char *prompt, unsigned char **out, size_t *len)
{
	struct termios old, quiet;
	unsigned char *v;
	size_t n = 0;
	ssize_t r;
	int tty, rc = 0;

	*out = NULL;
	*len = 0;
	if ((v = sodium_malloc(SECRET_IN_MAX + 1)) == NULL)
		return WARD_ENOMEM;
	tty = isatty(fd) && tcgetattr(fd, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
			rc = WARD_EIO;
			goto out;
		}
		fprintf(stderr, "%s: ", prompt);
	}
	for (;;) {
		if (n == SECRET_IN_MAX + 1) {
			rc = WARD_ETOOBIG;
			break;
		}
		r = read(fd, v + n, tty ? 1 : SECRET_IN_MAX + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			rc = WARD_EIO;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (tty && v[n - 1] == '\n')
			break;
	}
	if (tty) {
		tcsetattr(fd, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n > 0 && v[n - 1] == '\n')
		n--;
	if (n > 0 && v[n - 1] == '\r')
		n--;
out:
	if (rc != 0) {
		sodium_free(v);
		return rc;
	}
	v[n] = '\0';
	*out = v;
	*len = n;
	return 0;
}

/* Opens the vault, asking for the passphrase if it has one; *pwp is then
 * a copy of it (for rotate; free with sodium_free), else NULL. */
static int
secret_open(struct vault **vp, unsigned char **pwp, struct buf *err)
{
	const char *env;
	size_t len;
	int rc, fd;

	*vp = NULL;
	*pwp = NULL;
	if ((rc = vault_needs_passphrase(err)) <= 0)
		return rc < 0 ? rc : vault_open(NULL, vp, err);
	if ((env = getenv("WARD_VAULT_PASSPHRASE")) != NULL) {
		len = strlen(env);
		if ((*pwp = sodium_malloc(len + 1)) == NULL)
			return WARD_ENOMEM;
		memcpy(*pwp, env, len + 1);
	} else if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) != -1) {
		rc = secret_read(fd, "vault passphrase", pwp, &len);
		close(fd);
		if (rc != 0)
			return rc;
	} else {
		buf_printf(err, "the vault is locked with a passphrase: set "
		    "WARD_VAULT_PASSPHRASE or run on a terminal");
		return WARD_EDENIED;
	}
	return vault_open((const char *)*pwp, vp, err);
}

/*
 * After a revoke: the daemon, if one is serving, stops every command it
 * runs that was given name (doc/PROTOCOL.md `revoke`). With no daemon no
 * agent command is running. Returns 0 (*stopped set), or WARD_EIO with a
 * message when a daemon serves but did not confirm: commands holding the
 * secret may still run.
 */
static int
secret_stop_holders(const char *name, int *stopped, struct buf *err)
{
	json_t *m = NULL, *r = NULL;
	char *path;
	int fd = -1, rc = WARD_EIO;

	*stopped = 0;
	if ((path = server_socket_path(err)) == NULL)
		return WARD_ESYS;
	if ((fd = client_dial_existing(path)) < 0) {
		rc = 0;
		goto out;
	}
	if ((m = json_pack("{s:s, s:s}", "type", "revoke", "name",
	    name)) == NULL || proto_send(fd, m) != 0 ||
	    proto_recv(fd, &r, err) != 0 ||
	    strcmp(proto_type(r), "revoked") != 0) {
		buf_reset(err);
		buf_printf(err, "%s is revoked, but the daemon serving %s did "
		    "not confirm that it stopped the commands holding it%s%s",
		    name, path, r != NULL ? ": " : "", r != NULL &&
		    json_string_value(json_object_get(r, "message")) != NULL ?
		    json_string_value(json_object_get(r, "message")) : "");
		goto out;
	}
	*stopped = (int)json_integer_value(json_object_get(r, "stopped"));
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	json_decref(m);
	json_decref(r);
	free(path);
	return rc;
}

static int
secret_set(struct vault *v, const char *name, struct buf *err)
{
	unsigned char *val = NULL;
	size_t len;
	int rc;

	if ((rc = secret_read(STDIN_FILENO, "value", &val, &len)) != 0) {
		buf_printf(err, "cannot read the value from stdin: %s",
		    rc == WARD_ETOOBIG ? "longer than 8192 bytes" :
		    ward_strerror(rc));
		return rc == WARD_ETOOBIG ? WARD_EINVAL : rc;
	}
	rc = vault_set(v, name, val, len, err);
	sodium_free(val);
	return rc;
}

static int
secret_passphrase(struct vault *v, int remove, struct buf *err)
{
	unsigned char *pw = NULL;
	size_t len;
	int rc;

	if (remove)
		return vault_rotate(v, NULL, err);
	if ((rc = secret_read(STDIN_FILENO, "new vault passphrase", &pw,
	    &len)) != 0) {
		buf_printf(err, "cannot read the passphrase from stdin");
		return rc == WARD_ETOOBIG ? WARD_EINVAL : rc;
	}
	if (len == 0 || strlen((char *)pw) != len) {
		buf_printf(err, "the passphrase is empty or holds a NUL byte");
		rc = WARD_EINVAL;
	} else
		rc = vault_rotate(v, (const char *)pw, err);
	sodium_free(pw);
	return rc;
}

int
cmd_secret(int argc, char **argv)
{
	struct vault *v = NULL;
	unsigned char *pw = NULL;
	struct buf err;
	const char *op, *name = NULL;
	size_t i;
	int rc, want, remove = 0, stopped;

	buf_init(&err, 0);
	if (argc < 2) {
		secret_usage(stderr);
		return WARD_EXIT_USAGE;
	}
	op = argv[1];
	if (strcmp(op, "--help") == 0 || strcmp(op, "-h") == 0 ||
	    strcmp(op, "help") == 0) {
		secret_usage(stdout);
		return WARD_EXIT_OK;
	}
	if (strcmp(op, "set") == 0 || strcmp(op, "rm") == 0 ||
	    strcmp(op, "revoke") == 0)
		want = 3;
	else if (strcmp(op, "list") == 0 || strcmp(op, "rotate") == 0)
		want = 2;
	else if (strcmp(op, "passphrase") == 0) {
		remove = argc == 3 && strcmp(argv[2], "--remove") == 0;
		want = remove ? 3 : 2;
	} else {
		fprintf(stderr, "ward secret: unknown command '%s'\n", op);
		secret_usage(stderr);
		return WARD_EXIT_USAGE;
	}
	if (argc != want) {
		/* Never echo the extra words back: one may be a value. */
		if (strcmp(op, "set") == 0 && argc > want)
			fprintf(stderr, "ward secret set: the value is read "
			    "from stdin, never from the command line\n");
		else
			secret_usage(stderr);
		return WARD_EXIT_USAGE;
	}
	if (want == 3 && !remove) {
		name = argv[2];
		if (!vault_name_ok(name)) {
			fprintf(stderr, "ward secret: bad name (want "
			    "[A-Z_][A-Z0-9_]*, at most %d bytes)\n",
			    VAULT_NAME_MAX);
			return WARD_EXIT_USAGE;
		}
	}
	if (sodium_init() < 0) {
		rc = WARD_ESYS;
		goto out;
	}
	if ((rc = secret_open(&v, &pw, &err)) != 0)
		goto out;
	if (strcmp(op, "set") == 0)
		rc = secret_set(v, name, &err);
	else if (strcmp(op, "rm") == 0)
		rc = vault_rm(v, name, &err);
	else if (strcmp(op, "revoke") == 0) {
		if ((rc = vault_revoke(v, name, &err)) != 0)
			goto out;
		/* Written: no command gets it from now on. Let the lock go
		 * first, then stop the ones that have it. */
		vault_free(v);
		v = NULL;
		if ((rc = secret_stop_holders(name, &stopped, &err)) == 0 &&
		    stopped > 0)
			printf("ward secret: stopped %d running command%s "
			    "holding %s\n", stopped, stopped == 1 ? "" : "s",
			    name);
	}
	else if (strcmp(op, "rotate") == 0) {
		/* The same kind of lock: the passphrase with a fresh salt,
		 * or a fresh key file. */
		rc = vault_rotate(v, vault_has_passphrase(v) ?
		    (const char *)pw : NULL, &err);
	} else if (strcmp(op, "passphrase") == 0)
		rc = secret_passphrase(v, remove, &err);
	else {
		for (i = 0; i < vault_count(v); i++)
			printf("%s%s\n", vault_name(v, i),
			    vault_is_revoked(v, vault_name(v, i)) == 1 ?
			    " (revoked)" : "");
		rc = fflush(stdout) == 0 ? 0 : WARD_EIO;
	}
out:
	if (rc != 0)
		fprintf(stderr, "ward secret: %s\n", err.len > 0 ? err.data :
		    ward_strerror(rc));
	vault_free(v);
	if (pw != NULL)
		sodium_free(pw);
	buf_free(&err);
	return secret_exit(rc);
}
