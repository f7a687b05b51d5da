/*
 * libcurl, loaded the first time something makes an HTTP request (a model
 * provider, web_fetch) instead of when ward starts. Linked in, it brings
 * some thirty libraries with it (GnuTLS, Kerberos, LDAP, SASL, SSH, ...)
 * whose loading and relocation cost every ward process about 5 ms on the
 * reference machine, while most of them (`ward run`, `ward sandbox run`,
 * `ward capsule run`, `ward --version`) never make a request.
 */
#ifndef WARD_LIBCURL_H
#define WARD_LIBCURL_H

#include <curl/curl.h>

#include "../lib/buf.h"

/* The functions ward calls, with their declared types. */
struct libcurl {
	__typeof__(curl_global_init)	 *global_init;
	__typeof__(curl_easy_init)	 *easy_init;
	__typeof__(curl_easy_setopt)	 *easy_setopt;
	__typeof__(curl_easy_perform)	 *easy_perform;
	__typeof__(curl_easy_getinfo)	 *easy_getinfo;
	__typeof__(curl_easy_reset)	 *easy_reset;
	__typeof__(curl_easy_cleanup)	 *easy_cleanup;
	__typeof__(curl_easy_strerror)	 *easy_strerror;
	__typeof__(curl_slist_append)	 *slist_append;
	__typeof__(curl_slist_free_all)	 *slist_free_all;
};

/* Valid once libcurl_load returned 0; never written after that. */
extern struct libcurl libcurl;

/*
 * Loads libcurl.so.4 and runs curl_global_init, once per process; later
 * calls return the first one's result. Returns 0, or WARD_EUNAVAIL with
 * "WHO: libcurl: what is missing" in err (if not NULL). Thread-safe.
 */
int	libcurl_load(const char *who, struct buf *err);

#endif
