/*
 * The user's answer to a permission prompt, written back (DESIGN §3 "The
 * four answers"):
 *
 *   Allow         runs; asks again   { command = "PAT", prompt = true }
 *   Allow always  runs silently      "PAT" under allow.commands
 *   Deny          refused; asks again  nothing
 *   Deny always   refused silently   "PAT" under deny.commands
 *
 * The edit keeps the user's comments and layout (tomledit.h) and the
 * result is re-signed: the user is present, they just answered. An answer
 * never approves anything the user did not see: the manifest on disk must
 * be the approved one before the edit, or nothing is written.
 */
#ifndef WARD_ANSWER_H
#define WARD_ANSWER_H

#include "../lib/buf.h"

enum answer {
	ANSWER_ALLOW,
	ANSWER_ALLOW_ALWAYS,
	ANSWER_DENY,
	ANSWER_DENY_ALWAYS,
};

/*
 * Records answer a for the command pattern pat in root's ward.toml (root
 * absolute). The new text replaces the file atomically (same mode) and is
 * signed with approval_sign. Returns 0 (also when the manifest already
 * said so, and for ANSWER_DENY, which writes nothing), or with one message
 * appended to err (may be NULL):
 *   WARD_EDENIED  the manifest on disk is not the approved one (nothing
 *                 written);
 *   WARD_EINVAL   a bad pattern, or an edit that cannot be made safely;
 *   WARD_ENOENT   no ward.toml; WARD_EIO, WARD_ESYS, WARD_ENOMEM.
 * If signing fails after the file was replaced, the manifest is left
 * unapproved (sessions refuse it) and the error says so.
 */
int	answer_record(const char *root, enum answer a, const char *pat,
	    struct buf *err);

/* "allow", "allow-always", "deny" or "deny-always"; for messages. */
const char *answer_name(enum answer a);

#endif
