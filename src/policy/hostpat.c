/*
 * Host pattern matching for the egress allowlist; see hostpat.h. Every
 * comparison is made between canonical forms so case, a trailing dot or an
 * embedded NUL cannot make two spellings of one host disagree.
 */
#include <string.h>

#include "../lib/err.h"
#include "hostpat.h"

static int
hostpat_fail(struct buf *err, const char *why)
{
	if (err != NULL)
		buf_puts(err, why);
	return WARD_EINVAL;
}

int
hostpat_canon(const char *in, size_t len, char *out, struct buf *err)
{
	size_t i, label = 0;
	unsigned char c;

	if (len > 0 && in[len - 1] == '.')
		len--;		/* "example.com." is "example.com" */
	if (len == 0)
		return hostpat_fail(err, "empty host name");
	if (len > HOSTPAT_MAX)
		return hostpat_fail(err, "host name longer than 253 bytes");
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c == '\0')
			return hostpat_fail(err, "NUL byte in host name");
		if (c >= 0x80)
			return hostpat_fail(err, "non-ASCII host name: use "
			    "its punycode (xn--) form");
		if (c == '.') {
			if (label == 0)
				return hostpat_fail(err, "empty label in host "
				    "name");
			if (in[i - 1] == '-')
				return hostpat_fail(err, "label ends with '-'");
			label = 0;
			out[i] = '.';
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return hostpat_fail(err, "invalid character in host "
			    "name");
		if (c == '-' && label == 0)
			return hostpat_fail(err, "label starts with '-'");
		if (++label > 63)
			return hostpat_fail(err, "label longer than 63 bytes");
		out[i] = (char)c;
	}
	if (in[len - 1] == '-')
		return hostpat_fail(err, "label ends with '-'");
	out[len] = '\0';
	return 0;
}

int
hostpat_valid(const char *pattern, struct buf *err)
{
	char canon[HOSTPAT_MAX + 1];
	const char *name = pattern;
	size_t n;

	if (strncmp(pattern, "*.", 2) == 0)
		name = pattern + 2;
	if (strchr(name, '*') != NULL)
		return hostpat_fail(err, "'*' is only allowed as a leading "
		    "\"*.\"");
	n = strlen(name);
	if (hostpat_canon(name, n, canon, err) != 0)
		return WARD_EINVAL;
	/* A pattern is written in canonical form, so it means one thing. */
	if (strcmp(canon, name) != 0)
		return hostpat_fail(err, "write host patterns in lower case "
		    "without a trailing dot");
	if (name != pattern && strchr(canon, '.') == NULL)
		return hostpat_fail(err, "\"*.\" must be followed by a domain "
		    "with at least two labels");
	return 0;
}

int
hostpat_match(const char *pattern, const char *host, size_t len)
{
	char canon[HOSTPAT_MAX + 1];
	size_t hn, sn;

	if (hostpat_valid(pattern, NULL) != 0 ||
	    hostpat_canon(host, len, canon, NULL) != 0)
		return 0;
	if (strncmp(pattern, "*.", 2) != 0)
		return strcmp(canon, pattern) == 0;
	/* "*.example.com": strictly below, at a label boundary. */
	hn = strlen(canon);
	sn = strlen(pattern + 1);	/* ".example.com" */
	return hn > sn && strcmp(canon + hn - sn, pattern + 1) == 0;
}
