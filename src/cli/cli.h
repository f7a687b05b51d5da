/*
 * The subcommands of the `ward` binary. Each takes the arguments after its
 * own name (argv[0] is the subcommand name) and returns the process exit
 * code of DESIGN §4.
 */
#ifndef WARD_CLI_H
#define WARD_CLI_H

#define WARD_EXIT_OK		0
#define WARD_EXIT_FAIL		1	/* the thing asked for failed */
#define WARD_EXIT_USAGE		2
#define WARD_EXIT_SYSERR	111
#define WARD_EXIT_TIMEOUT	124
#define WARD_EXIT_POLICY	126

int	cmd_run(int argc, char **argv);
int	cmd_daemon(int argc, char **argv);
int	cmd_doctor(int argc, char **argv);
int	cmd_demo(int argc, char **argv);
int	cmd_policy(int argc, char **argv);
int	cmd_approve(int argc, char **argv);
int	cmd_sandbox(int argc, char **argv);
int	cmd_capsule(int argc, char **argv);
int	cmd_tui(int argc, char **argv);
int	cmd_init(int argc, char **argv);
int	cmd_audit(int argc, char **argv);
int	cmd_secret(int argc, char **argv);
int	cmd_replay(int argc, char **argv);

/* Runs one session at root (absolute) with the given model and prints its
 * transcript; returns the exit code (shared by `ward run` and `ward demo`).
 * max_turns 0 means the default; resume is NULL or the id of a session of
 * this project to continue; sid (may be NULL) gets the session's id. */
int	run_session(const char *root, const char *provider, const char *model,
	    long max_turns, const char *resume, const char *prompt,
	    char sid[33]);

#endif
