/*
 * Host patterns for egress: the attacks are spelling tricks (case, trailing
 * dots, NUL, look-alike suffixes, raw Unicode) that must not widen a grant.
 */
#include <string.h>

#include "lib/err.h"
#include "policy/hostpat.h"
#include "tap.h"

#define M(p, h)	hostpat_match((p), (h), strlen(h))

int
main(void)
{
	char out[HOSTPAT_MAX + 1], big[400];

	ok(M("api.github.com", "api.github.com"), "exact match");
	ok(M("api.github.com", "API.GitHub.COM"), "case-insensitive host");
	ok(M("api.github.com", "api.github.com."), "trailing dot ignored");
	ok(!M("api.github.com", "api.github.com.."), "two trailing dots: "
	    "empty label");
	ok(!M("api.github.com", "xapi.github.com"), "no prefix match");
	ok(!M("api.github.com", "api.github.com.evil.net"), "no suffix "
	    "trick");

	ok(M("*.github.com", "api.github.com"), "wildcard: one label");
	ok(M("*.github.com", "a.b.github.com"), "wildcard: several labels");
	ok(!M("*.github.com", "github.com"), "wildcard: not the apex");
	ok(!M("*.github.com", "evil-github.com"), "wildcard: label boundary");
	ok(!M("*.github.com", "evilgithub.com"), "wildcard: no glued suffix");
	ok(!M("*.github.com", "github.com.evil.net"), "wildcard: no suffix "
	    "trick");
	ok(M("*.github.com", "API.GITHUB.COM."), "wildcard: case and dot");

	ok(!hostpat_match("api.github.com", "api.github.com\0.evil.net", 24),
	    "embedded NUL never matches");
	ok(!M("*.github.com", "\xd0\xb0pi.github.com"), "raw Unicode "
	    "(Cyrillic a) never matches");
	ok(M("xn--80ak6aa92e.com", "xn--80ak6aa92e.com"), "punycode names "
	    "match themselves");
	ok(!M("*.github.com", "api.github.com:443"), "a port is not part of "
	    "a host");
	ok(!M("*.github.com", "api github.com"), "spaces are invalid");
	ok(!M("*.github.com", ""), "empty host");
	ok(!M("*.github.com", "."), "lone dot");
	ok(!M("*.github.com", "-a.github.com"), "label starting with '-'");

	is_int(hostpat_valid("*.github.com", NULL), 0, "valid wildcard");
	is_int(hostpat_valid("github.com", NULL), 0, "valid name");
	is_int(hostpat_valid("*", NULL), WARD_EINVAL, "bare * refused");
	is_int(hostpat_valid("*.com", NULL), WARD_EINVAL, "*.TLD refused");
	is_int(hostpat_valid("foo.*.com", NULL), WARD_EINVAL, "inner * "
	    "refused");
	is_int(hostpat_valid("**.github.com", NULL), WARD_EINVAL, "** "
	    "refused");
	is_int(hostpat_valid("GitHub.com", NULL), WARD_EINVAL, "patterns "
	    "are written canonically");
	is_int(hostpat_valid("github.com.", NULL), WARD_EINVAL, "no trailing "
	    "dot in patterns");
	ok(!M("GitHub.com", "github.com"), "an invalid pattern matches "
	    "nothing");

	is_int(hostpat_canon("Example.COM.", 12, out, NULL), 0, "canon");
	is_str(out, "example.com", "canonical form");
	memset(big, 'a', sizeof(big));
	is_int(hostpat_canon(big, 254, out, NULL), WARD_EINVAL, "254 bytes "
	    "refused");
	memset(big, 'a', 64);
	is_int(hostpat_canon(big, 64, out, NULL), WARD_EINVAL, "64-byte "
	    "label refused");
	is_int(hostpat_canon(big, 63, out, NULL), 0, "63-byte label fine");
	return done_testing();
}
