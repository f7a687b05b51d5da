/*
 * `ward policy check` (DESIGN §4): shows what ward.toml decides for a
 * command line, a path or a host, and why, part by part. It only decides:
 * nothing is ever run, read or written, so the user can try a dangerous
 * line safely. Exit 0 means the check worked, whatever the decision;
 * scripts read the decision from the output.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/err.h"
#include "../lib/utf8.h"
#include "../policy/policy.h"

static void
policy_usage(FILE *f)
{
	fputs("usage: ward policy check [--manifest F] [--json]\n"
	    "           (--command CMD | --read PATH | --write PATH | "
	    "--host HOST --for CMD)\n"
	    "\n"
	    "Decide against the manifest and print the decision (allow, "
	    "prompt or deny),\n"
	    "the rule that decided it and why. Nothing is ever run, read or "
	    "written.\n"
	    "\n"
	    "  --manifest F   the manifest to read (default ./ward.toml); its "
	    "directory\n"
	    "                 is the project root paths are resolved against\n"
	    "  --command CMD  a shell command line: also the decision of each "
	    "simple\n"
	    "                 command in it and, for a prompt, the patterns "
	    "the user\n"
	    "                 could answer with (broadest first) and the "
	    "recommended one\n"
	    "  --read PATH    may the agent read PATH (relative to the root "
	    "or absolute)\n"
	    "  --write PATH   may the agent write PATH\n"
	    "  --host HOST --for CMD\n"
	    "                 may the command line CMD reach HOST through the "
	    "egress proxy\n"
	    "  --json         print one JSON object: {\"decision\", \"rule\", "
	    "\"reason\"},\n"
	    "                 plus \"parts\": [{\"command\", \"decision\", "
	    "\"rule\", \"reason\",\n"
	    "                 \"detail\", \"suggestion\"}] and \"suggestion\": "
	    "{\"levels\",\n"
	    "                 \"recommended\"} for a command, \"path\" (the "
	    "real target)\n"
	    "                 for a path; rule is null when no rule decided\n"
	    "  -h, --help     show this help\n"
	    "\n"
	    "Exit status: 0 the check worked (whatever the decision), 1 the "
	    "manifest\n"
	    "could not be read or is invalid, 2 usage error, 111 system "
	    "error.\n", f);
}

/* Prints fmt with each %s argument made visible (utf8_visible), so that
 * nothing from a command line, path or rule can act on the terminal. The
 * arguments are strings; NULL prints "(none)". */
static void
policy_show(FILE *out, const char *fmt, ...)
{
	struct buf b;
	const char *f, *s;
	va_list ap;

	buf_init(&b, 0);
	va_start(ap, fmt);
	for (f = fmt; *f != '\0'; f++) {
		if (f[0] == '%' && f[1] == 's') {
			s = va_arg(ap, const char *);
			if (s == NULL)
				s = "(none)";
			(void)utf8_visible(&b, s, strlen(s), 0);
			f++;
		} else
			(void)buf_add(&b, f, 1);
	}
	va_end(ap);
	if (b.data != NULL)
		fputs(b.data, out);
	buf_free(&b);
}

static int
policy_badarg(const char *what, const char *arg)
{
	policy_show(stderr, "ward policy: %s%s%s\nsee ward policy --help\n",
	    what, arg ? " " : "", arg ? arg : "");
	return WARD_EXIT_USAGE;
}

/* {"levels": [...], "recommended": "..."} or null. */
static json_t *
policy_json_suggest(const struct cmdpat_suggest *sg)
{
	json_t *o, *levels;
	size_t i;

	if (sg->nlevels == 0)
		return json_null();
	if ((levels = json_array()) == NULL)
		return NULL;
	for (i = 0; i < sg->nlevels; i++)
		if (json_array_append_new(levels,
		    json_string(sg->levels[i])) != 0) {
			json_decref(levels);
			return NULL;
		}
	o = json_pack("{s:o, s:s}", "levels", levels, "recommended",
	    sg->levels[sg->recommended]);
	return o;
}

/* Prints doc and frees it. jansson refuses invalid UTF-8, and a command
 * line or path may hold any bytes: say so rather than print a partial
 * document. */
static int
policy_emit(json_t *doc)
{
	int rc = WARD_EXIT_SYSERR;

	if (doc != NULL && json_dumpf(doc, stdout, JSON_COMPACT) == 0) {
		putchar('\n');
		rc = WARD_EXIT_OK;
	} else
		fputs("ward policy: cannot encode the result as JSON "
		    "(not UTF-8?)\n", stderr);
	json_decref(doc);
	return rc;
}

static int
policy_json_command(const struct cmdpat_result *res)
{
	const struct cmdpat_part *pt;
	json_t *doc, *parts, *p;
	size_t i;

	doc = json_pack("{s:s, s:s?, s:s?, s:o}", "decision",
	    cmdpat_name(res->decision), "rule", res->rule ? res->rule->text :
	    NULL, "reason", res->reason, "suggestion", res->part != NULL ?
	    policy_json_suggest(&res->part->suggest) : json_null());
	if (doc == NULL || (parts = json_array()) == NULL ||
	    json_object_set_new(doc, "parts", parts) != 0)
		goto fail;
	for (i = 0; i < res->nparts; i++) {
		pt = &res->parts[i];
		p = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:o}", "command",
		    pt->command, "decision", cmdpat_name(pt->decision), "rule",
		    pt->rule ? pt->rule->text : NULL, "reason", pt->reason,
		    "detail", pt->detail, "suggestion",
		    policy_json_suggest(&pt->suggest));
		if (p == NULL || json_array_append_new(parts, p) != 0)
			goto fail;
	}
	return policy_emit(doc);
fail:
	json_decref(doc);
	return policy_emit(NULL);
}

static void
policy_print_suggest(const struct cmdpat_suggest *sg)
{
	size_t i;

	if (sg->nlevels == 0)
		return;
	printf("suggested patterns (broadest first, * recommended):\n");
	for (i = 0; i < sg->nlevels; i++)
		policy_show(stdout, i == sg->recommended ? "  * %s\n" :
		    "    %s\n", sg->levels[i]);
}

static void
policy_print_command(const struct cmdpat_result *res)
{
	const struct cmdpat_part *pt;
	size_t i;

	printf("decision: %s\n", cmdpat_name(res->decision));
	policy_show(stdout, "rule:     %s\n", res->rule ? res->rule->text :
	    NULL);
	printf("reason:   %s\n", res->reason ? res->reason : "");
	if (res->part != NULL)
		policy_print_suggest(&res->part->suggest);
	printf("parts:\n");
	for (i = 0; i < res->nparts; i++) {
		pt = &res->parts[i];
		printf("  %-6s  ", cmdpat_name(pt->decision));
		policy_show(stdout, "%s  [rule: %s; %s]\n", pt->command,
		    pt->rule ? pt->rule->text : "none",
		    pt->reason ? pt->reason : "");
		if (pt->detail != NULL)
			policy_show(stdout, "          %s\n", pt->detail);
	}
}

/* A decision with a rule and a reason: paths and hosts. */
static int
policy_out(int json, const char *decision, const char *rule,
    const char *reason, const char *path)
{
	if (json)
		return policy_emit(json_pack("{s:s, s:s?, s:s, s:s*}",
		    "decision", decision, "rule", rule, "reason", reason,
		    "path", path));
	printf("decision: %s\n", decision);
	policy_show(stdout, "rule:     %s\n", rule);
	printf("reason:   %s\n", reason);
	if (path != NULL)
		policy_show(stdout, "path:     %s\n", path);
	return WARD_EXIT_OK;
}

/* The project root: the real directory the manifest is in. */
static int
policy_root(const char *manifest, char *root)
{
	char *copy;
	int rc = 0;

	if ((copy = strdup(manifest)) == NULL)
		return WARD_ENOMEM;
	if (realpath(dirname(copy), root) == NULL) {
		policy_show(stderr, "ward policy: %s: cannot find its "
		    "directory: %s\n", manifest, strerror(errno));
		rc = WARD_EIO;
	}
	free(copy);
	return rc;
}

static int
policy_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "manifest",	required_argument,	NULL, 'm' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "command",	required_argument,	NULL, 'c' },
		{ "read",	required_argument,	NULL, 'r' },
		{ "write",	required_argument,	NULL, 'w' },
		{ "host",	required_argument,	NULL, 'H' },
		{ "for",	required_argument,	NULL, 'f' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *path = "ward.toml", *command = NULL, *file = NULL;
	const char *host = NULL, *forcmd = NULL;
	char root[PATH_MAX];
	struct manifest *m = NULL;
	struct policy *pol = NULL;
	struct cmdpat_result res;
	struct pathpat_result pres;
	struct policy_host_result hres;
	struct buf err;
	enum pathpat_op op = PATHPAT_READ;
	int c, json = 0, rc, ret, nq = 0;

	memset(&res, 0, sizeof(res));
	memset(&pres, 0, sizeof(pres));
	memset(&hres, 0, sizeof(hres));
	buf_init(&err, 0);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'c':
			command = optarg;
			nq++;
			break;
		case 'r':
		case 'w':
			file = optarg;
			op = c == 'w' ? PATHPAT_WRITE : PATHPAT_READ;
			nq++;
			break;
		case 'H':
			host = optarg;
			nq++;
			break;
		case 'f':
			forcmd = optarg;
			break;
		case 'h':
			policy_usage(stdout);
			ret = WARD_EXIT_OK;
			goto out;
		default:
			ret = policy_badarg("unknown or incomplete option",
			    argv[optind - 1]);
			goto out;
		}
	}
	if (optind != argc) {
		ret = policy_badarg("unexpected argument", argv[optind]);
		goto out;
	}
	if (nq != 1) {
		ret = policy_badarg("give exactly one of --command, --read, "
		    "--write or --host", NULL);
		goto out;
	}
	if ((host != NULL) != (forcmd != NULL)) {
		ret = policy_badarg("--host HOST and --for CMD go together",
		    NULL);
		goto out;
	}
	if ((rc = manifest_load(path, &m, &err)) != 0) {
		policy_show(stderr, "ward policy: %s\n", err.data ? err.data :
		    ward_strerror(rc));
		ret = rc == WARD_ENOMEM ? WARD_EXIT_SYSERR : WARD_EXIT_FAIL;
		goto out;
	}
	if ((rc = policy_root(path, root)) != 0 ||
	    (rc = policy_new(root, m, &pol)) != 0) {
		m = NULL;
		ret = WARD_EXIT_SYSERR;
		goto out;
	}
	m = NULL;
	buf_reset(&err);
	if (command != NULL) {
		if ((rc = policy_command(pol, command, &res, &err)) != 0)
			goto fail;
		if (json)
			ret = policy_json_command(&res);
		else {
			policy_print_command(&res);
			ret = WARD_EXIT_OK;
		}
	} else if (file != NULL) {
		if ((rc = policy_path(pol, file, op, &pres, &err)) != 0)
			goto fail;
		ret = policy_out(json, pres.allow ? "allow" : "deny",
		    pres.rule, pres.reason, pres.real);
	} else {
		if ((rc = policy_host(pol, host, forcmd, &hres, &err)) != 0)
			goto fail;
		ret = policy_out(json, cmdpat_name(hres.decision), hres.rule,
		    hres.reason, NULL);
	}
	goto out;
fail:
	policy_show(stderr, "ward policy: cannot decide: %s\n",
	    err.data ? err.data : ward_strerror(rc));
	ret = rc == WARD_ENOMEM || rc == WARD_ESYS ? WARD_EXIT_SYSERR :
	    WARD_EXIT_FAIL;
out:
	cmdpat_result_clear(&res);
	pathpat_result_clear(&pres);
	policy_host_result_clear(&hres);
	policy_free(pol);
	manifest_free(m);
	buf_free(&err);
	return ret;
}

int
cmd_policy(int argc, char **argv)
{
	if (argc < 2) {
		policy_usage(stderr);
		return WARD_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		policy_usage(stdout);
		return WARD_EXIT_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return policy_check(argc - 1, argv + 1);
	return policy_badarg("unknown subcommand", argv[1]);
}
