/*
 * libcurl by dlopen; see libcurl.h. The soname is the one Debian's
 * libcurl4 package installs and the headers ward builds against describe.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "../lib/err.h"
#include "libcurl.h"

#define LIBCURL_SONAME	"libcurl.so.4"

struct libcurl libcurl;

static pthread_once_t	 libcurl_once = PTHREAD_ONCE_INIT;
static int		 libcurl_rc;
static char		 libcurl_why[256];

/* *slot = the symbol name, or a message in libcurl_why. */
static int
libcurl_sym(void *h, const char *name, void *slot)
{
	void	*p;

	if ((p = dlsym(h, name)) == NULL) {
		snprintf(libcurl_why, sizeof(libcurl_why), "%s has no %s",
		    LIBCURL_SONAME, name);
		return -1;
	}
	/* POSIX: a function pointer and a void * have the same
	 * representation, which is what dlsym relies on. */
	*(void **)slot = p;
	return 0;
}

static void
libcurl_init(void)
{
	struct libcurl	 l;
	const char	*e;
	void		*h;

	libcurl_rc = WARD_EUNAVAIL;
	if ((h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(libcurl_why, sizeof(libcurl_why), "%s",
		    e != NULL ? e : LIBCURL_SONAME ": cannot be loaded");
		return;
	}
	if (libcurl_sym(h, "curl_global_init", &l.global_init) != 0 ||
	    libcurl_sym(h, "curl_easy_init", &l.easy_init) != 0 ||
	    libcurl_sym(h, "curl_easy_setopt", &l.easy_setopt) != 0 ||
	    libcurl_sym(h, "curl_easy_perform", &l.easy_perform) != 0 ||
	    libcurl_sym(h, "curl_easy_getinfo", &l.easy_getinfo) != 0 ||
	    libcurl_sym(h, "curl_easy_reset", &l.easy_reset) != 0 ||
	    libcurl_sym(h, "curl_easy_cleanup", &l.easy_cleanup) != 0 ||
	    libcurl_sym(h, "curl_easy_strerror", &l.easy_strerror) != 0 ||
	    libcurl_sym(h, "curl_slist_append", &l.slist_append) != 0 ||
	    libcurl_sym(h, "curl_slist_free_all", &l.slist_free_all) != 0)
		return;		/* the handle stays: nothing to gain */
	if (l.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(libcurl_why, sizeof(libcurl_why),
		    "curl_global_init failed");
		return;
	}
	libcurl = l;
	libcurl_rc = 0;
}

int
libcurl_load(const char *who, struct buf *err)
{
	pthread_once(&libcurl_once, libcurl_init);
	if (libcurl_rc != 0 && err != NULL)
		buf_printf(err, "%s: libcurl: %s (install Debian's libcurl4)",
		    who, libcurl_why);
	return libcurl_rc;
}
