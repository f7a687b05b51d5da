/*
 * The CLI's side of the daemon protocol: connect (starting the daemon when
 * none is serving) and run one session, printing its transcript.
 */
#ifndef WARD_CLIENT_H
#define WARD_CLIENT_H

#include <stdio.h>

#include <jansson.h>

#include "../lib/buf.h"

/* Connects to the daemon on the default socket, starting `ward daemon` in
 * the background if nobody is serving it, and replacing one that runs
 * another build of ward or another state directory. Returns a connected fd
 * (>= 0, hello done) or a negative WARD_E* with a message in err. */
int	client_connect(struct buf *err);

/* Waits (up to 10 s) until no daemon holds the lock of `path`. Returns 0,
 * or -1 if one still does. */
int	client_wait_gone(const char *path);

/* Connects to a daemon already serving `path`; -1 if none. */
int	client_dial_existing(const char *path);

/* Sends the "run" request req (not consumed) on fd and prints the
 * transcript to out until the session ends. Every question the daemon
 * sends is answered "no answer" and every permit "deny, unattended"
 * (non-interactive). sid (may be NULL) gets the session's id. Returns the
 * exit code of DESIGN §4: 0 finished, 1 the agent failed or hit max
 * turns, 111 the daemon went away. */
int	client_run_session(int fd, const json_t *req, FILE *out,
	    char sid[33]);

/* Writes text to out with terminal control characters made visible, so
 * nothing the model says can drive the terminal. */
void	client_put_safe(FILE *out, const char *text);

#endif
