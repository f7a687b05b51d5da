/* XDG base directories for ward; see xdg.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "xdg.h"

int
xdg_mkdirs(const char *path)
{
	char tmp[PATH_MAX], *p;
	struct stat st;

	if (strlen(path) >= sizeof(tmp))
		return WARD_EINVAL;
	strcpy(tmp, path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
			return WARD_ESYS;
		*p = '/';
	}
	if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
		return WARD_ESYS;
	/* EEXIST is only fine when what exists is a directory. */
	if (stat(tmp, &st) == -1 || !S_ISDIR(st.st_mode))
		return WARD_ESYS;
	return 0;
}

/* $VAR if set and absolute (the spec says relative values are ignored),
 * else $HOME/fallback. */
static int
xdg_base(const char *var, const char *fallback, char **out)
{
	const char *v = getenv(var), *home;

	if (v != NULL && v[0] == '/')
		return asprintf(out, "%s", v) == -1 ? WARD_ENOMEM : 0;
	if (fallback == NULL)
		return WARD_ENOENT;
	home = getenv("HOME");
	if (home == NULL || home[0] != '/')
		return WARD_EINVAL;
	return asprintf(out, "%s/%s", home, fallback) == -1 ? WARD_ENOMEM : 0;
}

int
xdg_dir(enum xdg_kind kind, char **out)
{
	char *base = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	switch (kind) {
	case XDG_CONFIG:
		rc = xdg_base("XDG_CONFIG_HOME", ".config", &base);
		break;
	case XDG_STATE:
		rc = xdg_base("XDG_STATE_HOME", ".local/state", &base);
		break;
	case XDG_DATA:
		rc = xdg_base("XDG_DATA_HOME", ".local/share", &base);
		break;
	case XDG_RUNTIME:
		rc = xdg_base("XDG_RUNTIME_DIR", NULL, &base);
		if (rc == WARD_ENOENT) {
			if ((rc = xdg_dir(XDG_STATE, &base)) != 0)
				return rc;
			rc = asprintf(out, "%s/run", base) == -1 ?
			    WARD_ENOMEM : 0;
			free(base);
			base = NULL;
			if (rc != 0)
				return rc;
			goto made;
		}
		break;
	default:
		return WARD_EINVAL;
	}
	if (rc != 0)
		return rc;
	rc = asprintf(out, "%s/ward", base) == -1 ? WARD_ENOMEM : 0;
	free(base);
	if (rc != 0)
		return rc;
made:
	/* Usually there already: a stat, not a mkdir per component (the
	 * policy asks for these on every path decision). */
	if ((stat(*out, &st) == -1 || !S_ISDIR(st.st_mode)) &&
	    (rc = xdg_mkdirs(*out)) != 0)
		goto fail;
	if (stat(*out, &st) == -1) {
		rc = WARD_ESYS;
		goto fail;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0) {
		rc = WARD_EDENIED;
		goto fail;
	}
	return 0;
fail:
	free(*out);
	*out = NULL;
	return rc;
}
