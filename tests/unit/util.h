/*
 * Helpers shared by the unit tests: give up on a broken fixture, and remove
 * a temporary tree.
 */
#ifndef WARD_TEST_UTIL_H
#define WARD_TEST_UTIL_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* A fixture that cannot be set up is not a test failure: stop loudly. */
static inline void
die(const char *what)
{
	perror(what);
	exit(2);
}

/* snprintf that gives up on truncation: a fixture path too long. */
static inline void __attribute__((format(printf, 3, 4)))
fmt(char *b, size_t n, const char *f, ...)
{
	va_list	 ap;
	int	 len;

	va_start(ap, f);
	len = vsnprintf(b, n, f, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= n)
		die("path too long");
}

static inline int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) == -1)
		perror(path);
	return 0;
}

/* Removes dir and everything under it, never following symlinks. */
static inline void
rm_tree(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
