/*
 * `ward policy check` (DESIGN §4): shows what ward.toml decides for a
 * command line, and why, part by part. It only decides: nothing is ever
 * run, so the user can try a dangerous line safely. Exit 0 means the check
 * worked, whatever the decision; scripts read the decision from the output.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../lib/err.h"
#include "../policy/cmdpat.h"
#include "../policy/manifest.h"

static void
policy_usage(FILE *f)
{
	fputs("usage: ward policy check [--manifest F] [--json] "
	    "--command CMD\n"
	    "\n"
	    "Decide the shell command CMD against the manifest and print the "
	    "decision\n"
	    "(allow, prompt or deny), the rule that decided it and why, and "
	    "the decision\n"
	    "of each simple command in it. Nothing is ever run.\n"
	    "\n"
	    "  --manifest F  the manifest to read (default ./ward.toml)\n"
	    "  --json        print one JSON object: {\"decision\", \"rule\", "
	    "\"reason\",\n"
	    "                \"parts\": [{\"command\", \"decision\", "
	    "\"rule\"}]} (rule is null\n"
	    "                when no rule decided)\n"
	    "  --command CMD the shell command line to decide\n"
	    "  -h, --help    show this help\n"
	    "\n"
	    "--read, --write and --host are not available in this build yet.\n"
	    "Exit status: 0 the check worked (whatever the decision), 1 the "
	    "manifest\n"
	    "could not be read or is invalid, 2 usage error, 111 system "
	    "error.\n", f);
}

static int
policy_badarg(const char *what, const char *arg)
{
	fprintf(stderr, "ward policy: %s%s%s\nsee ward policy --help\n",
	    what, arg ? " " : "", arg ? arg : "");
	return WARD_EXIT_USAGE;
}

static int
policy_json(const struct cmdpat_result *res)
{
	json_t *doc, *parts, *p;
	size_t i;
	int rc = WARD_EXIT_SYSERR;

	if ((doc = json_object()) == NULL ||
	    (parts = json_array()) == NULL)
		goto out;
	if (json_object_set_new(doc, "decision",
	    json_string(cmdpat_name(res->decision))) != 0 ||
	    json_object_set_new(doc, "rule", res->rule != NULL ?
	    json_string(res->rule->text) : json_null()) != 0 ||
	    json_object_set_new(doc, "reason", res->reason != NULL ?
	    json_string(res->reason) : json_null()) != 0 ||
	    json_object_set_new(doc, "parts", parts) != 0)
		goto out;
	for (i = 0; i < res->nparts; i++) {
		/* jansson rejects invalid UTF-8; a command line may hold any
		 * bytes, so say so rather than print a partial document. */
		p = json_pack("{s:s?, s:s, s:s?}", "command",
		    res->parts[i].command, "decision",
		    cmdpat_name(res->parts[i].decision), "rule",
		    res->parts[i].rule ? res->parts[i].rule->text : NULL);
		if (p == NULL || json_array_append_new(parts, p) != 0)
			goto out;
	}
	if (json_dumpf(doc, stdout, JSON_COMPACT) != 0)
		goto out;
	putchar('\n');
	rc = WARD_EXIT_OK;
out:
	if (rc != WARD_EXIT_OK)
		fputs("ward policy: cannot encode the result as JSON "
		    "(not UTF-8?)\n", stderr);
	json_decref(doc);
	return rc;
}

static void
policy_print(const struct cmdpat_result *res)
{
	size_t i;

	printf("decision: %s\n", cmdpat_name(res->decision));
	printf("rule:     %s\n", res->rule ? res->rule->text : "(none)");
	printf("reason:   %s\n", res->reason ? res->reason : "");
	printf("parts:\n");
	for (i = 0; i < res->nparts; i++)
		printf("  %-6s  %s  [rule: %s; %s]\n",
		    cmdpat_name(res->parts[i].decision),
		    res->parts[i].command ? res->parts[i].command : "",
		    res->parts[i].rule ? res->parts[i].rule->text : "none",
		    res->parts[i].reason ? res->parts[i].reason : "");
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
	const char *path = "ward.toml", *command = NULL;
	struct manifest *m = NULL;
	struct cmdpat_result res;
	struct cmdpat_rules rules;
	struct buf err;
	int c, json = 0, rc, ret;

	memset(&res, 0, sizeof(res));
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
			break;
		case 'r':
		case 'w':
		case 'H':
		case 'f':
			ret = policy_badarg("--read, --write, --host and --for "
			    "are not available in this build yet", NULL);
			goto out;
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
	if (command == NULL) {
		ret = policy_badarg("--command CMD is required", NULL);
		goto out;
	}
	if ((rc = manifest_load(path, &m, &err)) != 0) {
		fprintf(stderr, "ward policy: %s\n", err.data ? err.data :
		    ward_strerror(rc));
		ret = rc == WARD_ENOMEM ? WARD_EXIT_SYSERR : WARD_EXIT_FAIL;
		goto out;
	}
	manifest_cmdrules(m, &rules);
	buf_reset(&err);
	if ((rc = cmdpat_decide(&rules, command, &res, &err)) != 0) {
		fprintf(stderr, "ward policy: cannot decide: %s\n",
		    err.data ? err.data : ward_strerror(rc));
		ret = rc == WARD_ENOMEM ? WARD_EXIT_SYSERR : WARD_EXIT_FAIL;
		goto out;
	}
	if (json)
		ret = policy_json(&res);
	else {
		policy_print(&res);
		ret = WARD_EXIT_OK;
	}
out:
	cmdpat_result_clear(&res);
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
