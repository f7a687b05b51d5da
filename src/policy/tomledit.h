/*
 * Write-back of permission answers into ward.toml (DESIGN §3 "The four
 * answers"). The file is edited as text at the byte spans the TOML parser
 * recorded, never re-serialised: comments, blank lines, key order and line
 * endings stay as the user wrote them and only the new entry differs. The
 * result is loaded again as a manifest before it is handed back.
 */
#ifndef WARD_TOMLEDIT_H
#define WARD_TOMLEDIT_H

#include <stddef.h>

#include "../lib/buf.h"

enum tomledit_list { TOMLEDIT_ALLOW, TOMLEDIT_DENY };

/*
 * Adds the command pattern (cmdpat.h syntax) to the manifest in
 * data[0..len):
 *  - TOMLEDIT_ALLOW, prompt 1 ("Allow"): { command = "PAT", prompt = true }
 *    in [capabilities.allow.commands] patterns;
 *  - TOMLEDIT_ALLOW, prompt 0 ("Allow always"): "PAT", a silent allow; an
 *    existing entry for PAT with prompt = true is made silent instead
 *    (replaced by "PAT" when that is all it says, its prompt set to false
 *    when it also grants paths, domains, secrets, ...);
 *  - TOMLEDIT_DENY ("Deny always"): "PAT" in [capabilities.deny.commands]
 *    patterns; prompt is ignored.
 * A list that already says the same about PAT is left alone: the text comes
 * back unchanged. Patterns are compared by their words, so "git  status"
 * is "git status".
 *
 * Returns 0 and sets *out (malloc'd, NUL-terminated, the caller frees) and
 * *outlen. The result has been loaded with manifest_parse and checked to
 * hold the entry in the right list. Returns WARD_EINVAL with a message in
 * err (may be NULL) when the pattern is not valid, data is not a valid
 * manifest, or the edit cannot be made safely; WARD_ENOMEM. On failure *out
 * is NULL and *outlen 0. data is never modified.
 */
int	tomledit_add_pattern(const char *data, size_t len,
	    enum tomledit_list list, const char *pattern, int prompt,
	    char **out, size_t *outlen, struct buf *err);

#endif
