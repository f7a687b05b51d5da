/*
 * The daemon: owns the wasm host and serves the CLI on a Unix socket
 * (doc/PROTOCOL.md). One thread per connection; a malformed frame closes
 * that connection and nothing else.
 */
#ifndef WARD_SERVER_H
#define WARD_SERVER_H

#include "host.h"

struct server_opts {
	const char		*socket_path;	/* NULL: server_socket_path() */
	const char		*agent_path;	/* the agent component */
	unsigned		 idle_timeout;	/* seconds; 0: never */
	int			 ready_fd;	/* -1, or gets "ready\n" once
						   serving, then is closed */
	struct host_limits	 limits;
};

/* Returns the default socket path (malloc'd) or NULL with err set. */
char	*server_socket_path(struct buf *err);

/*
 * Sends all the process writes on fds 1 and 2 (daemon.log) through the
 * vault's redactor, line by line, to where fd 2 went; a line that cannot
 * be redacted is replaced by a note saying so. Returns 0, or a WARD_E*
 * with a message in err (nothing changed). server_log_stop writes out
 * what is pending and puts fds 1 and 2 back; it is a no-op when the log
 * was not started. Neither is thread-safe: call them around server_run.
 */
int	server_log_start(struct buf *err);
void	server_log_stop(void);

/* Waits (up to a second) until what was written to fd 2 so far is in the
 * log: a line the client may look for once it hears back. Thread-safe. */
void	server_log_sync(void);

/* Loads the agent, binds the socket and serves until shutdown or idle
 * timeout. Returns 0, or a negative WARD_E* with a message in err
 * (WARD_EEXIST: another daemon is serving this socket). */
int	server_run(const struct server_opts *o, struct buf *err);

#endif
