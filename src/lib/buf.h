/*
 * A growable byte buffer with a hard cap. Untrusted bytes (frames, model
 * responses, files read for the agent) are collected through it so that no
 * caller does its own size arithmetic.
 */
#ifndef WARD_BUF_H
#define WARD_BUF_H

#include <stddef.h>

struct buf {
	char	*data;		/* always NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 cap;		/* allocated bytes, excluding the NUL */
	size_t	 max;		/* hard cap on len; 0 means SIZE_MAX/2 */
};

/* Initialises b empty with hard cap max (0: no cap). Never fails. */
void	buf_init(struct buf *b, size_t max);

/* Appends n bytes. Returns 0, WARD_ETOOBIG past the cap (b unchanged),
 * WARD_ENOMEM. */
int	buf_add(struct buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string. Same returns as buf_add. */
int	buf_puts(struct buf *b, const char *s);

/* Appends printf-formatted text. Same returns as buf_add. */
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Empties b but keeps its storage. */
void	buf_reset(struct buf *b);

/* Detaches and returns the data (caller frees; never NULL on success,
 * NULL on ENOMEM); b becomes empty. */
char	*buf_take(struct buf *b);

/* Frees the storage, wiping it first (buffers may hold secrets). NULL ok. */
void	buf_free(struct buf *b);

#endif
