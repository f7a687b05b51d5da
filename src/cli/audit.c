/*
 * `ward audit verify|show|export|proof|key` (DESIGN §4): read a session's
 * audit log. Everything printed comes from the log through the verifier,
 * and records are printed in their canonical (ASCII-only, escaped) form,
 * so nothing in a log can drive the terminal.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../audit/audit.h"
#include "../lib/err.h"
#include "../lib/xdg.h"

#define AUDIT_CLI_NOTE_MAX	(64 * 1024)
#define AUDIT_CLI_ID_MAX	64

struct audit_cli {
	const char	*cmd;
	char		*path;		/* the log */
	const char	*trusted;	/* --trusted file */
	int		 json, sealed;
	unsigned char	 pk[32];
	int		 have_pk;
};

/* For `show` and `proof`: what the walk collects. */
struct audit_walk {
	int		 json;
	json_t		*arr;		/* show --json */
	unsigned char	(*rh)[AUDIT_HASH_BYTES];
	uint64_t	 n, cap;
	char		*note;		/* the last checkpoint */
};

static void
audit_cli_usage(FILE *f)
{
	fputs("usage: ward audit verify [--session ID | FILE] "
	    "[--require-sealed] [--trusted CHECKPOINT]\n"
	    "       ward audit show [--session ID | FILE] [--json]\n"
	    "       ward audit export [--session ID | FILE]\n"
	    "       ward audit proof [--session ID | FILE] SEQ\n"
	    "       ward audit key\n"
	    "\n"
	    "The tamper-evident audit log of a session (doc/AUDIT-FORMAT.md),"
	    " at\n"
	    "$XDG_STATE_HOME/ward/sessions/ID/audit.log. Checkpoint "
	    "signatures are checked\n"
	    "against the pinned key $XDG_CONFIG_HOME/ward/audit.pub.\n"
	    "\n"
	    "  verify   check encoding, sequence, chain, Merkle roots, "
	    "signatures and\n"
	    "           the .checkpoint mirror; print the first bad record "
	    "and why\n"
	    "  show     print the records (--json: one JSON document)\n"
	    "  export   JSON lines, one event per record, of an intact log\n"
	    "  proof    the inclusion proof of record SEQ in the last "
	    "checkpoint (JSON)\n"
	    "  key      print the pinned verifier key\n"
	    "\n"
	    "  --require-sealed      an unsealed tail is a failure (exit 2)\n"
	    "  --trusted CHECKPOINT  a signed checkpoint kept elsewhere: the "
	    "log must\n"
	    "                        extend it (detects rollback)\n"
	    "\n"
	    "Exit: 0 intact, 1 tampered or torn, 2 unsealed with "
	    "--require-sealed or\n"
	    "usage, 111 system error.\n", f);
}

static int
audit_cli_session(const char *id, char **path)
{
	char *state = NULL;
	size_t i;
	int rc;

	*path = NULL;
	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '-' ||
		    id[i] == '_'))
			return WARD_EINVAL;
	if (i == 0 || i > AUDIT_CLI_ID_MAX)
		return WARD_EINVAL;
	if ((rc = xdg_dir(XDG_STATE, &state)) != 0)
		return rc;
	if (asprintf(path, "%s/sessions/%s/audit.log", state, id) == -1) {
		*path = NULL;
		rc = WARD_ENOMEM;
	}
	free(state);
	return rc;
}

static char *
audit_cli_slurp(const char *path)
{
	FILE *f;
	char *s;
	size_t n;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	if ((s = calloc(1, AUDIT_CLI_NOTE_MAX + 1)) != NULL) {
		n = fread(s, 1, AUDIT_CLI_NOTE_MAX + 1, f);
		if (ferror(f) || n > AUDIT_CLI_NOTE_MAX) {
			free(s);
			s = NULL;
		}
	}
	fclose(f);
	return s;
}

static int
audit_cli_exit(int rc)
{
	switch (rc) {
	case 0:
		return WARD_EXIT_OK;
	case WARD_EPROTO:
		return WARD_EXIT_FAIL;
	case WARD_EINVAL:
		return WARD_EXIT_USAGE;
	default:
		return WARD_EXIT_SYSERR;
	}
}

/* Runs the verifier; prints the verdict for `verify`, failures else. */
static int
audit_cli_run(struct audit_cli *c, audit_each_fn each, void *arg,
    struct audit_report *rep)
{
	char *trusted = NULL;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (c->trusted != NULL && (trusted = audit_cli_slurp(c->trusted))
	    == NULL) {
		fprintf(stderr, "ward audit: %s: cannot read it\n", c->trusted);
		return WARD_EXIT_SYSERR;
	}
	rc = audit_verify(c->path, c->have_pk ? c->pk : NULL, trusted, each,
	    arg, rep);
	free(trusted);
	if (rc == WARD_EPROTO) {
		fprintf(stderr, "ward audit: %s: %s: %s\n", c->path,
		    rep->torn ? "torn" : "TAMPERED", rep->why.data ?
		    rep->why.data : "");
		return WARD_EXIT_FAIL;
	}
	if (rc != 0) {
		fprintf(stderr, "ward audit: %s: %s\n", c->path,
		    rep->why.data ? rep->why.data : ward_strerror(rc));
		return audit_cli_exit(rc == WARD_EINVAL ? WARD_ESYS : rc);
	}
	return WARD_EXIT_OK;
}

static int
audit_cli_verify(struct audit_cli *c)
{
	struct audit_report rep;
	int ex;

	if ((ex = audit_cli_run(c, NULL, NULL, &rep)) != WARD_EXIT_OK)
		goto out;
	printf("%s: intact: %" PRIu64 " records, %" PRIu64 " checkpoints, "
	    "%s\n", c->path, rep.records, rep.checkpoints, rep.sealed ?
	    "sealed" : "unsealed tail (no seal after the last record)");
	if (!rep.sealed && c->sealed)
		ex = WARD_EXIT_USAGE;	/* DESIGN §4: 2, unsealed tail */
out:
	audit_report_free(&rep);
	return ex;
}

static int
audit_cli_show_one(void *arg, json_t *rec, const unsigned char *hash)
{
	struct audit_walk *w = arg;
	char *data;

	(void)hash;
	if (w->json)
		return json_array_append(w->arr, rec) == 0 ? 0 : WARD_ENOMEM;
	data = json_dumps(json_object_get(rec, "data"),
	    JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (data == NULL)
		return WARD_ENOMEM;
	printf("%6" JSON_INTEGER_FORMAT "  %s  %-12s %s\n",
	    json_integer_value(json_object_get(rec, "seq")),
	    json_string_value(json_object_get(rec, "ts")),
	    json_string_value(json_object_get(rec, "kind")), data);
	free(data);
	return 0;
}

static int
audit_cli_show(struct audit_cli *c)
{
	struct audit_walk w = { .json = c->json };
	struct audit_report rep;
	json_t *doc = NULL;
	int ex;

	if (w.json && (w.arr = json_array()) == NULL)
		return WARD_EXIT_SYSERR;
	ex = audit_cli_run(c, audit_cli_show_one, &w, &rep);
	if (w.json) {
		doc = json_pack("{s:s, s:O, s:b, s:b, s:s?}", "log", c->path,
		    "records", w.arr, "intact", ex == WARD_EXIT_OK, "sealed",
		    rep.sealed, "error", ex == WARD_EXIT_OK ? NULL :
		    rep.why.data);
		if (doc == NULL || json_dumpf(doc, stdout, JSON_INDENT(2) |
		    JSON_ENSURE_ASCII) != 0)
			ex = WARD_EXIT_SYSERR;
		putchar('\n');
	} else if (ex == WARD_EXIT_OK)
		printf("-- intact, %s\n", rep.sealed ? "sealed" : "unsealed");
	json_decref(doc);
	json_decref(w.arr);
	audit_report_free(&rep);
	return ex;
}

static int
audit_cli_export_one(void *arg, json_t *rec, const unsigned char *hash)
{
	char hex[2 * AUDIT_HASH_BYTES + 1];
	json_t *ev;
	int rc = WARD_ENOMEM;

	(void)arg;
	sodium_bin2hex(hex, sizeof(hex), hash, AUDIT_HASH_BYTES);
	if ((ev = json_deep_copy(rec)) == NULL ||
	    json_object_set_new(ev, "hash", json_string(hex)) != 0)
		goto out;
	if (json_dumpf(ev, stdout, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII) == 0 && putchar('\n') != EOF)
		rc = 0;
	else
		rc = WARD_EIO;
out:
	json_decref(ev);
	return rc;
}

/* Only an intact log is exported: a SIEM must not ingest forged events. */
static int
audit_cli_export(struct audit_cli *c)
{
	struct audit_report rep;
	int ex;

	if ((ex = audit_cli_run(c, NULL, NULL, &rep)) == WARD_EXIT_OK) {
		audit_report_free(&rep);
		ex = audit_cli_run(c, audit_cli_export_one, NULL, &rep);
	}
	audit_report_free(&rep);
	if (fflush(stdout) != 0)
		ex = WARD_EXIT_SYSERR;
	return ex;
}

static int
audit_cli_proof_one(void *arg, json_t *rec, const unsigned char *hash)
{
	struct audit_walk *w = arg;
	void *p;

	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 1024;
		if ((p = reallocarray(w->rh, w->cap, sizeof(*w->rh))) == NULL)
			return WARD_ENOMEM;
		w->rh = p;
	}
	memcpy(w->rh[w->n++], hash, AUDIT_HASH_BYTES);
	if (strcmp(json_string_value(json_object_get(rec, "kind")),
	    "checkpoint") == 0) {
		free(w->note);
		w->note = strdup(json_string_value(json_object_get(
		    json_object_get(rec, "data"), "note")));
		if (w->note == NULL)
			return WARD_ENOMEM;
	}
	return 0;
}

static int
audit_cli_proof(struct audit_cli *c, const char *seqs)
{
	char b64[sodium_base64_ENCODED_LEN(AUDIT_HASH_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];
	struct audit_walk w = { 0 };
	struct audit_report rep;
	struct buf proof, vkey;
	json_t *doc = NULL, *arr = NULL;
	char *end, *line, *save = NULL;
	unsigned long long seq, size = 0;
	int ex;

	buf_init(&proof, 0);
	buf_init(&vkey, 0);
	errno = 0;
	seq = strtoull(seqs, &end, 10);
	if (errno != 0 || *end != '\0' || end == seqs || seqs[0] == '-') {
		fprintf(stderr, "ward audit proof: SEQ is a record number\n");
		return WARD_EXIT_USAGE;
	}
	if ((ex = audit_cli_run(c, audit_cli_proof_one, &w, &rep)) != 0)
		goto out;
	/* The last checkpoint's size is its own seq: the records before it. */
	if (w.note != NULL)
		size = strtoull(strchr(w.note, '\n') + 1, NULL, 10);
	ex = WARD_EXIT_FAIL;
	if (w.note == NULL || seq >= size) {
		fprintf(stderr, "ward audit proof: record %llu is not under "
		    "a checkpoint\n", seq);
		goto out;
	}
	ex = WARD_EXIT_SYSERR;
	if (audit_proof(w.rh, size, seq, &proof) != 0 ||
	    audit_vkey(c->pk, &vkey) != 0 || (arr = json_array()) == NULL)
		goto out;
	for (line = strtok_r(proof.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (json_array_append_new(arr, json_string(line)) != 0)
			goto out;
	sodium_bin2base64(b64, sizeof(b64), w.rh[seq], AUDIT_HASH_BYTES,
	    sodium_base64_VARIANT_ORIGINAL);
	doc = json_pack("{s:I, s:I, s:s, s:O, s:s, s:s}", "index",
	    (json_int_t)seq, "size", (json_int_t)size, "record_hash", b64,
	    "proof", arr, "checkpoint", w.note, "vkey", vkey.data);
	if (doc == NULL || json_dumpf(doc, stdout, JSON_INDENT(2) |
	    JSON_SORT_KEYS) != 0)
		goto out;
	putchar('\n');
	ex = WARD_EXIT_OK;
out:
	json_decref(doc);
	json_decref(arr);
	free(w.rh);
	free(w.note);
	buf_free(&proof);
	buf_free(&vkey);
	audit_report_free(&rep);
	return ex;
}

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session",		required_argument,	NULL, 's' },
		{ "require-sealed",	no_argument,		NULL, 'r' },
		{ "trusted",		required_argument,	NULL, 't' },
		{ "json",		no_argument,		NULL, 'j' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 },
	};
	struct audit_cli c = { 0 };
	const char *session = NULL, *seq = NULL;
	struct buf err, vk;
	int ch, ex = WARD_EXIT_USAGE, rc, nargs;

	buf_init(&err, 0);
	buf_init(&vk, 0);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		audit_cli_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
	}
	c.cmd = argv[1];
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc - 1, argv + 1, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			session = optarg;
			break;
		case 'r':
			c.sealed = 1;
			break;
		case 't':
			c.trusted = optarg;
			break;
		case 'j':
			c.json = 1;
			break;
		case 'h':
			audit_cli_usage(stdout);
			return WARD_EXIT_OK;
		default:
			audit_cli_usage(stderr);
			return WARD_EXIT_USAGE;
		}
	}
	argc -= optind + 1;
	argv += optind + 1;
	nargs = strcmp(c.cmd, "proof") == 0 ? 1 : 0;
	if (nargs == 1 && argc > 0)
		seq = argv[--argc];
	if ((strcmp(c.cmd, "key") == 0 && argc + (session != NULL) > 0) ||
	    argc > 1 || (argc == 1 && session != NULL) ||
	    (nargs == 1 && seq == NULL) ||
	    (c.sealed && strcmp(c.cmd, "verify") != 0) ||
	    (c.trusted != NULL && strcmp(c.cmd, "verify") != 0) ||
	    (c.json && strcmp(c.cmd, "show") != 0)) {
		audit_cli_usage(stderr);
		return WARD_EXIT_USAGE;
	}
	rc = audit_key_pinned(c.pk, &err);
	c.have_pk = rc == 0;
	if (rc != 0 && rc != WARD_ENOENT) {
		fprintf(stderr, "ward audit: %s\n", err.data);
		ex = WARD_EXIT_SYSERR;
		goto out;
	}
	if (strcmp(c.cmd, "key") == 0) {
		if (!c.have_pk) {
			fprintf(stderr, "ward audit: %s\n", err.data);
			ex = WARD_EXIT_FAIL;
		} else if (audit_vkey(c.pk, &vk) == 0) {
			printf("%s\n", vk.data);
			ex = WARD_EXIT_OK;
		} else
			ex = WARD_EXIT_SYSERR;
		goto out;
	}
	if (session != NULL) {
		if ((rc = audit_cli_session(session, &c.path)) != 0) {
			fprintf(stderr, "ward audit: --session %s: %s\n",
			    session, rc == WARD_EINVAL ? "not a session ID" :
			    ward_strerror(rc));
			ex = audit_cli_exit(rc);
			goto out;
		}
	} else if (argc == 1) {
		if ((c.path = strdup(argv[0])) == NULL) {
			ex = WARD_EXIT_SYSERR;
			goto out;
		}
	} else {
		fprintf(stderr, "ward audit %s: name a log: --session ID or "
		    "FILE\n", c.cmd);
		goto out;
	}
	if (strcmp(c.cmd, "verify") == 0)
		ex = audit_cli_verify(&c);
	else if (strcmp(c.cmd, "show") == 0)
		ex = audit_cli_show(&c);
	else if (strcmp(c.cmd, "export") == 0)
		ex = audit_cli_export(&c);
	else if (strcmp(c.cmd, "proof") == 0)
		ex = audit_cli_proof(&c, seq);
	else {
		fprintf(stderr, "ward audit: unknown command '%s'\n", c.cmd);
		audit_cli_usage(stderr);
	}
out:
	free(c.path);
	buf_free(&err);
	buf_free(&vk);
	return ex;
}
