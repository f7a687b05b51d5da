/*
 * ward's entry point: one binary for the CLI and the daemon. Dispatches to
 * the subcommands of DESIGN §4 that this build has.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define WARD_VERSION	"0.1.0"

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*help;
} cmds[] = {
	{ "run",	cmd_run,	"run one non-interactive session" },
	{ "daemon",	cmd_daemon,	"run (or stop) the daemon that hosts "
	    "the agent" },
	{ "doctor",	cmd_doctor,	"check the kernel features the sandbox "
	    "needs" },
	{ "demo",	cmd_demo,	"an offline session with the scripted "
	    "model" },
	{ "policy",	cmd_policy,	"decide commands against ward.toml "
	    "(policy check)" },
	{ "init",	cmd_init,	"write a starter ward.toml and approve "
	    "it" },
	{ "approve",	cmd_approve,	"review and sign ward.toml" },
	{ "sandbox",	cmd_sandbox,	"run a command in the sandbox "
	    "(sandbox run)" },
	{ "capsule",	cmd_capsule,	"run an untrusted WASI program with "
	    "quotas (capsule run)" },
	{ "audit",	cmd_audit,	"verify, show or export a session's "
	    "audit log" },
	{ "secret",	cmd_secret,	"the credential vault (secret set, list)" },
	{ "replay",	cmd_replay,	"show a session from its audit log and "
	    "re-run it" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: ward [--provider P] [--model M]\n"
	    "       ward <command> [options]\n\n"
	    "With no command: the interactive session in this project.\n\n"
	    "commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'ward <command> --help' describes each command.\n"
	    "Exit codes: 0 success, 1 failure, 2 usage, 111 system error,\n"
	    "124 timeout, 126 refused by policy.\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	/* No command (options only): the interactive session. */
	if (argc < 2 || (strncmp(argv[1], "--", 2) == 0 &&
	    strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "--version") != 0))
		return cmd_tui(argc, argv);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return WARD_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ward %s\n", WARD_VERSION);
		return WARD_EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ward: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return WARD_EXIT_USAGE;
}
