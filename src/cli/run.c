/*
 * `ward run`: one non-interactive session in the current directory, with
 * the transcript on stdout. Any decision that would prompt is a deny.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/err.h"
#include "../lib/utf8.h"
#include "cli.h"
#include "client.h"

static void
run_usage(FILE *f)
{
	fprintf(f,
	    "usage: ward run [--provider P] [--model M] [--max-turns N] "
	    "[--resume ID] PROMPT\n\n"
	    "Runs one session of the agent in the current directory and "
	    "streams the\ntranscript to stdout. Nobody is asked anything: a "
	    "decision that would\nprompt is a deny. The directory's ward.toml "
	    "decides every tool call; it\nmust be approved (`ward approve`) "
	    "as it is now.\n\n"
	    "  --provider P   model provider, instead of ward.toml's [model] "
	    "provider\n"
	    "                 (this build: script)\n"
	    "  --model M      model name, instead of [model] name; for "
	    "script, the\n"
	    "                 .jsonl file (doc/SCRIPT.md)\n"
	    "  --max-turns N  stop after N model turns (default 50)\n"
	    "  --resume ID    continue session ID of this project (its id is "
	    "printed\n"
	    "                 when it ends) with PROMPT as the next message\n\n"
	    "Exit: 0 the agent finished, 1 it failed or ran out of turns, "
	    "2 usage,\n111 the daemon could not be reached, 126 refused "
	    "(ward.toml missing approval).\n");
}

static int
run_utf8(const char *what, const char *s)
{
	if (utf8_valid_prefix(s, strlen(s)) == strlen(s))
		return 1;
	fprintf(stderr, "ward run: the %s is not valid UTF-8\n", what);
	return 0;
}

int
run_session(const char *root, const char *provider, const char *model,
    long max_turns, const char *resume, const char *prompt, char sid[33])
{
	struct buf err;
	json_t *req;
	int fd, code;

	/* Checked before connecting: JSON carries only UTF-8. */
	if (!run_utf8("project directory", root) ||
	    (provider != NULL && !run_utf8("--provider", provider)) ||
	    (model != NULL && !run_utf8("--model", model)) ||
	    !run_utf8("prompt", prompt))
		return WARD_EXIT_USAGE;
	buf_init(&err, 4096);
	if ((fd = client_connect(&err)) < 0) {
		fprintf(stderr, "ward: %s\n", err.data ? err.data :
		    ward_strerror(fd));
		buf_free(&err);
		return WARD_EXIT_SYSERR;
	}
	buf_free(&err);
	req = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:I, s:s*}", "type", "run",
	    "root", root, "prompt", prompt, "provider", provider, "model",
	    model, "max_turns", (json_int_t)max_turns, "resume", resume);
	if (req == NULL) {
		close(fd);
		fprintf(stderr, "ward: out of memory\n");
		return WARD_EXIT_SYSERR;
	}
	code = client_run_session(fd, req, stdout, sid);
	json_decref(req);
	close(fd);
	return code;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "provider",	required_argument, NULL, 'p' },
		{ "model",	required_argument, NULL, 'm' },
		{ "max-turns",	required_argument, NULL, 't' },
		{ "resume",	required_argument, NULL, 'r' },
		{ "help",	no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *provider = NULL, *model = NULL, *resume = NULL;
	char root[PATH_MAX], *end;
	long max_turns = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			provider = optarg;
			break;
		case 'm':
			model = optarg;
			break;
		case 't':
			max_turns = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || max_turns < 1 ||
			    max_turns > 10000) {
				fprintf(stderr, "ward run: --max-turns takes a "
				    "number from 1 to 10000\n");
				return WARD_EXIT_USAGE;
			}
			break;
		case 'r':
			resume = optarg;
			break;
		case 'h':
			run_usage(stdout);
			return WARD_EXIT_OK;
		default:
			run_usage(stderr);
			return WARD_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || argv[optind][0] == '\0') {
		fprintf(stderr, "ward run: give exactly one PROMPT (quote it)\n");
		run_usage(stderr);
		return WARD_EXIT_USAGE;
	}
	if (getcwd(root, sizeof(root)) == NULL) {
		perror("ward run: getcwd");
		return WARD_EXIT_SYSERR;
	}
	return run_session(root, provider, model, max_turns, resume,
	    argv[optind], NULL);
}
