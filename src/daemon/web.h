/*
 * The agent's web_fetch (DESIGN §5): one GET of an http or https URL,
 * through ward's egress proxy (src/sandbox/proxy.c) like any command's
 * traffic, so the same checks apply (allowlisted names only; private,
 * loopback and metadata addresses refused unless named; Host and SNI
 * checked; every redirect target checked again). The allowlist is the
 * manifest's default_domains minus its denied domains: the hosts every
 * allowed command may reach. HTML is reduced to text.
 */
#ifndef WARD_WEB_H
#define WARD_WEB_H

#include "../lib/buf.h"
#include "../policy/manifest.h"

#define WEB_MAX_BODY	(4u << 20)	/* bytes fetched at most */

/*
 * Fetches url and puts its text in out (HTML reduced to text; other text
 * as it is; binary refused), at most max_text bytes with a note when cut.
 * Returns 0, or with the reason in out: WARD_EINVAL (not an http(s) URL),
 * WARD_EDENIED (the proxy refused the host: not allowlisted, or a private
 * address), WARD_EIO (the fetch failed or the server answered an error),
 * WARD_ETOOBIG, WARD_ENOMEM.
 */
int	web_fetch(const struct manifest *m, const char *url, size_t max_text,
	    struct buf *out);

/* Appends the text of html[0..len) to out: tags dropped, script and style
 * skipped, entities decoded, whitespace collapsed, blocks on new lines.
 * Returns 0 or buf_add's errors. */
int	web_text(const char *html, size_t len, struct buf *out);

#endif
