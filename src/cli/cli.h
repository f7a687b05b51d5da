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

#endif
