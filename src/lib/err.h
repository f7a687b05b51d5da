/*
 * ward's one error idiom: functions return 0 (or a non-negative count) on
 * success and a negative WARD_E* code on failure. ward_strerror() names it.
 */
#ifndef WARD_ERR_H
#define WARD_ERR_H

enum {
	WARD_OK = 0,
	WARD_EINVAL = -1,	/* bad argument or bad input */
	WARD_ENOMEM = -2,
	WARD_EIO = -3,		/* read/write failed */
	WARD_ENOENT = -4,	/* no such file, key or object */
	WARD_EDENIED = -5,	/* refused by policy or confinement */
	WARD_ETOOBIG = -6,	/* over a size cap */
	WARD_EPROTO = -7,	/* malformed frame, response or record */
	WARD_ETIMEOUT = -8,
	WARD_EUNAVAIL = -9,	/* not provided by this build or machine */
	WARD_ESYS = -10,	/* a system call failed; errno was logged */
	WARD_ETRAP = -11,	/* the guest trapped or ran out of budget */
	WARD_EEXIST = -12,
	/* The most negative code: a code read from elsewhere (a child
	 * process, a log) is one of ours only in [WARD_E_LAST, -1]. A new
	 * code goes above this line and moves it. */
	WARD_E_LAST = WARD_EEXIST,
};

/* Returns a static, human-readable string for a WARD_E* code (never NULL). */
const char *ward_strerror(int err);

#endif
