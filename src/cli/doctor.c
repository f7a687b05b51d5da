/*
 * `ward doctor` (DESIGN §4): reports the kernel features the command
 * sandbox needs and whether ward will run commands at all. ward refuses to
 * run a command it cannot sandbox (§2 invariant 2); this is where the user
 * learns exactly what is missing and how to fix it.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../lib/err.h"
#include "../sandbox/probe.h"

#define DOCTOR_GREEN	"\033[32m"
#define DOCTOR_RED	"\033[1;31m"
#define DOCTOR_YELLOW	"\033[33m"
#define DOCTOR_RESET	"\033[0m"

static void
doctor_usage(FILE *f)
{
	fputs("usage: ward doctor [--json]\n"
	    "\n"
	    "Probe the kernel features ward's command sandbox needs and say "
	    "what is missing.\n"
	    "Required: userns, landlock, seccomp, no_new_privs; without them "
	    "ward refuses to\n"
	    "run commands. Optional: cgroup2 (rlimits are the fallback), "
	    "pidfd.\n"
	    "\n"
	    "  --json      print one JSON object: {\"ok\": bool, \"features\": "
	    "[{\"name\",\n"
	    "              \"status\", \"required\", \"detail\", \"fix\"}]} "
	    "(fix is null when ok)\n"
	    "  -h, --help  show this help\n"
	    "\n"
	    "Environment: NO_COLOR disables colour; WARD_PROBE_DISABLE=a,b "
	    "reports the named\n"
	    "features as missing (a test hook).\n"
	    "Exit status: 0 every required feature present, 1 some missing, "
	    "2 usage error,\n"
	    "111 a probe could not be run.\n", f);
}

/* Reports a usage error; returns the exit code for it. */
static int
doctor_badarg(const char *what, const char *arg)
{
	fprintf(stderr, "ward doctor: %s '%s'\nsee ward doctor --help\n",
	    what, arg);
	return WARD_EXIT_USAGE;
}

static const char *
doctor_colour(enum probe_status s)
{
	switch (s) {
	case PROBE_OK:			return DOCTOR_GREEN;
	case PROBE_OPTIONAL_MISSING:	return DOCTOR_YELLOW;
	default:			return DOCTOR_RED;
	}
}

static void
doctor_print(const struct probe_report *r, int colour)
{
	const struct probe_entry *e;
	const char *sep = "";
	int i;

	for (i = 0; i < PROBE_NFEATURES; i++) {
		e = &r->feat[i];
		/* Pad outside the escape codes so columns line up either way. */
		printf("%s%s%s%*s %-13s %s", colour ? doctor_colour(e->status) :
		    "", probe_status_name(e->status), colour ? DOCTOR_RESET : "",
		    (int)(16 - strlen(probe_status_name(e->status))), "",
		    e->name, e->detail);
		if (e->fix[0] != '\0')
			printf("; fix: %s", e->fix);
		putchar('\n');
	}
	if (probe_ok(r)) {
		printf("ward can run commands\n");
		return;
	}
	printf("ward will refuse to run commands: missing ");
	for (i = 0; i < PROBE_NFEATURES; i++) {
		e = &r->feat[i];
		if (e->required && e->status != PROBE_OK) {
			printf("%s%s", sep, e->name);
			sep = ", ";
		}
	}
	putchar('\n');
}

/* Builds the --json document. Returns NULL on allocation failure. */
static json_t *
doctor_json(const struct probe_report *r)
{
	const struct probe_entry *e;
	json_t *root = NULL, *feats, *f;
	int i;

	if ((root = json_object()) == NULL ||
	    json_object_set_new(root, "ok", json_boolean(probe_ok(r))) == -1 ||
	    (feats = json_array()) == NULL ||
	    json_object_set_new(root, "features", feats) == -1)
		goto fail;
	for (i = 0; i < PROBE_NFEATURES; i++) {
		e = &r->feat[i];
		if ((f = json_object()) == NULL ||
		    json_array_append_new(feats, f) == -1)
			goto fail;
		if (json_object_set_new(f, "name", json_string(e->name)) == -1 ||
		    json_object_set_new(f, "status",
		    json_string(probe_status_name(e->status))) == -1 ||
		    json_object_set_new(f, "required",
		    json_boolean(e->required)) == -1 ||
		    json_object_set_new(f, "detail", json_string(e->detail)) == -1 ||
		    json_object_set_new(f, "fix", e->fix[0] != '\0' ?
		    json_string(e->fix) : json_null()) == -1)
			goto fail;
	}
	return root;
fail:
	json_decref(root);
	return NULL;
}

int
cmd_doctor(int argc, char **argv)
{
	struct probe_report *r = NULL;
	json_t *doc = NULL;
	int i, json = 0, rc, colour, ret = WARD_EXIT_SYSERR;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			doctor_usage(stdout);
			return WARD_EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			continue;
		}
		/* doctor takes no operands, so "--" may only end the line. */
		if (strcmp(argv[i], "--") == 0) {
			if (i + 1 < argc)
				return doctor_badarg("unexpected argument",
				    argv[i + 1]);
			break;
		}
		return doctor_badarg(argv[i][0] == '-' ? "unknown option" :
		    "unexpected argument", argv[i]);
	}

	/* The report holds a PATH_MAX buffer: keep it off the stack. */
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		fprintf(stderr, "ward doctor: %s\n", ward_strerror(WARD_ENOMEM));
		goto out;
	}
	rc = probe_run(r);

	if (json) {
		if ((doc = doctor_json(r)) == NULL ||
		    json_dumpf(doc, stdout, JSON_INDENT(2)) == -1) {
			fprintf(stderr, "ward doctor: cannot write JSON\n");
			goto out;
		}
		putchar('\n');
	} else {
		colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
		doctor_print(r, colour);
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "ward doctor: %s writing output\n",
		    ward_strerror(WARD_EIO));
		goto out;
	}
	/* A probe that never ran answers nothing: that is not a "no". */
	if (rc < 0) {
		fprintf(stderr, "ward doctor: some probes could not run: %s\n",
		    ward_strerror(rc));
		goto out;
	}
	ret = probe_ok(r) ? WARD_EXIT_OK : WARD_EXIT_FAIL;
out:
	json_decref(doc);
	free(r);
	return ret;
}
