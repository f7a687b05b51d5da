/*
 * Manifest approval (DESIGN §3 "Approval", invariant 5). The user approves
 * a project's ward.toml by signing its canonical form with their own
 * Ed25519 key; the signature lives in ward's state directory, keyed by the
 * project's real path, so nothing inside a project directory (a copied or
 * cloned approval, a planted key) ever counts. doc/MANIFEST.md "Approval"
 * gives the canonical form, the signed message and the file formats.
 *
 * root is the project directory (any path naming it; its realpath is what
 * is bound into the signature); text[0..len) is the manifest's bytes.
 */
#ifndef WARD_APPROVAL_H
#define WARD_APPROVAL_H

#include <stddef.h>

#include "../lib/buf.h"

/*
 * Appends the canonical form of the TOML document text[0..len) to out:
 * comments, layout, key order and the way a value is spelled do not change
 * it; any change of a key, a value or a type does. Returns 0, WARD_EPROTO
 * (not TOML; the parser's message is appended to err, which may be NULL),
 * WARD_ETOOBIG (past out's cap) or WARD_ENOMEM; out may hold a partial form
 * on failure.
 */
int	approval_canonical(const char *text, size_t len, struct buf *out,
	    struct buf *err);

/*
 * Approves text as root's manifest: the user's key is created if there is
 * none, and the approval file is replaced atomically. text must be a
 * manifest that manifest_parse accepts. Returns 0 or, with one message
 * appended to err (may be NULL): WARD_EINVAL (text is not a valid manifest;
 * the user key file is unsafe: a symlink, not 0600, not the user's, the
 * wrong size, or one appeared while it was being created), WARD_ESYS,
 * WARD_EIO, WARD_ENOMEM.
 */
int	approval_sign(const char *root, const char *text, size_t len,
	    struct buf *err);

/*
 * Is text the manifest the user last approved for root? Returns 0 when it
 * is (its canonical form is the approved one), otherwise, with one message
 * appended to err (may be NULL):
 *   WARD_ENOENT   never approved (no approval for root's real path);
 *   WARD_EDENIED  changed since it was approved;
 *   WARD_EPROTO   the approval is invalid: unreadable, edited, for another
 *                 path or made with another key (the user has none, too);
 *   WARD_EINVAL   text is not TOML, or the user key file is unsafe;
 *   WARD_ESYS, WARD_EIO, WARD_ENOMEM.
 * Anything but 0 means not approved.
 */
int	approval_check(const char *root, const char *text, size_t len,
	    struct buf *err);

/*
 * The text last approved for root, for showing what changed; only a text
 * whose signature verifies with the user's key is returned. Returns 0 and
 * sets *text (caller frees; NUL-terminated) and *len, or approval_check's
 * errors but WARD_EDENIED (WARD_EINVAL only for an unsafe key); *text is
 * NULL on failure. err may be NULL.
 */
int	approval_last(const char *root, char **text, size_t *len,
	    struct buf *err);

#endif
