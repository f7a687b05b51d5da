/* Human-readable names for the WARD_E* codes. */
#include "err.h"

const char *
ward_strerror(int err)
{
	switch (err) {
	case WARD_OK:		return "success";
	case WARD_EINVAL:	return "invalid argument";
	case WARD_ENOMEM:	return "out of memory";
	case WARD_EIO:		return "input/output error";
	case WARD_ENOENT:	return "not found";
	case WARD_EDENIED:	return "denied";
	case WARD_ETOOBIG:	return "too large";
	case WARD_EPROTO:	return "malformed data";
	case WARD_ETIMEOUT:	return "timed out";
	case WARD_EUNAVAIL:	return "not available";
	case WARD_ESYS:		return "system error";
	case WARD_ETRAP:	return "agent trapped";
	case WARD_EEXIST:	return "already exists";
	}
	return "unknown error";
}
