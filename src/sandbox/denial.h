/*
 * Filesystem refusals by name (issue 4 item 5, doc/SANDBOX.md "Denials").
 * When the view or Landlock refuses a read or a write, the kernel tells
 * the command (ENOENT, EACCES, EROFS), not ward. What ward has is the
 * command's own error messages: a line that names a path next to one of
 * those errors is reported as `sandbox denied read: PATH` or `... write:
 * PATH` when the command's grant indeed does not allow that access to
 * that path. The report is the policy's answer about a path the command
 * named; it is only as complete as the command's messages (a program that
 * fails silently is not reported), and a command can print such a line
 * without having tried: the report then says what the grant would have
 * refused, nothing about the host.
 */
#ifndef WARD_DENIAL_H
#define WARD_DENIAL_H

#include <stddef.h>

#include "../lib/buf.h"
#include "envelope.h"

/* At most this many lines are added per command. */
#define DENIAL_MAX	32

/*
 * Scans text (len bytes, the command's merged output; need not be
 * NUL-terminated) for refused paths under s and appends one line per
 * distinct refusal to out, "sandbox denied read: PATH\n" or "... write:
 * PATH\n". Relative paths are taken from s->cwd, lexically. Returns how
 * many lines it added, or WARD_ENOMEM.
 */
int	denial_scan(const struct envelope_spec *s, const char *text,
	    size_t len, struct buf *out);

#endif
