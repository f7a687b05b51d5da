/*
 * The tamper-evident audit log (DESIGN §1 "No audit record, no action";
 * doc/AUDIT-FORMAT.md is the format). One canonical JSON record per line,
 * each chained to the previous one by hash, an RFC 6962 Merkle tree over
 * the record hashes, and checkpoints signed with the daemon's audit key as
 * C2SP signed notes, written into the log itself every N records, every T
 * seconds and at close (the seal), and mirrored in <log>.checkpoint.
 *
 * A writer (struct audit_log) is safe to share between threads. Appends
 * from several threads share one fdatasync (group commit); each returns
 * only once its record is on disk. After any write error the log is
 * broken: every later append fails with the same error, so the caller
 * refuses the action it was about to record.
 */
#ifndef WARD_AUDIT_H
#define WARD_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "../lib/buf.h"
#include "../lib/keyfile.h"

#define AUDIT_KEY_NAME		"ward-audit"	/* the signed notes' key name */
#define AUDIT_HASH_BYTES	32
#define AUDIT_EVERY_RECORDS	1000
#define AUDIT_EVERY_SECONDS	60
#define AUDIT_LINE_MAX		(16u << 20)	/* longest record accepted */

struct audit_log;

struct audit_opts {
	const char	*origin;	/* checkpoint origin line (required):
					 * printable ASCII, no spaces */
	unsigned	 every_records;	/* 0: AUDIT_EVERY_RECORDS */
	unsigned	 every_seconds;	/* 0: AUDIT_EVERY_SECONDS */
};

/*
 * Loads the audit key $XDG_CONFIG_HOME/ward/audit.key (keyfile.h's checks),
 * creating it when create is set, and pins its public half: audit.pub
 * beside it holds the verifier key (audit_vkey) and is written when
 * missing; one that names another key is refused. Returns 0 and *k
 * (keyfile_clear it), or keyfile_load's errors (WARD_ENOENT: no key and
 * not create), WARD_EINVAL (audit.pub names another key), WARD_EPROTO
 * (audit.pub is not a verifier key); err may be NULL.
 */
int	audit_key_load(int create, struct keyfile_key *k, struct buf *err);

/*
 * Reads the pinned public key from $XDG_CONFIG_HOME/ward/audit.pub into
 * pk. Returns 0, WARD_ENOENT (none), WARD_EPROTO (not a verifier key for
 * AUDIT_KEY_NAME), WARD_ESYS; err (may be NULL) gets one message.
 */
int	audit_key_pinned(unsigned char pk[32], struct buf *err);

/* Appends pk's C2SP verifier key "ward-audit+<keyid hex>+<base64>" to out.
 * Returns 0 or buf_add's errors. */
int	audit_vkey(const unsigned char pk[32], struct buf *out);

/*
 * Opens the log at path for appending, creating it (0600, never through a
 * symlink) if needed; the file is locked against a second writer. An
 * existing log is verified first (audit_verify, under key's public half)
 * and is refused if it does not verify; a torn last line (a crash) is cut
 * off and a `recovery` record naming its length and hash is appended.
 * key is copied. Returns 0 and *out, or, with one message in err (may be
 * NULL): WARD_EINVAL (bad opts), WARD_EPROTO (the existing log is
 * tampered), WARD_EEXIST (another writer holds it), WARD_EIO, WARD_ESYS,
 * WARD_ENOMEM.
 */
int	audit_open(const char *path, const struct keyfile_key *key,
	    const struct audit_opts *opts, struct audit_log **out,
	    struct buf *err);

/*
 * Appends one record {kind, data: fields} and returns once it is durable.
 * kind is 1-32 of [a-z_] and not "checkpoint"; fields is a JSON object
 * (NULL: {}) without reals, borrowed, not modified. May write a checkpoint
 * after it. Returns 0, WARD_EINVAL (bad kind or fields; the log stays
 * usable), WARD_ETOOBIG (record over AUDIT_LINE_MAX), or the error that
 * broke the log (WARD_EIO, WARD_ESYS, WARD_ENOMEM): the record may not be
 * on disk, so the action must not happen.
 */
int	audit_append(struct audit_log *log, const char *kind, json_t *fields);

/*
 * Like audit_append, but returns once the record is in the chain, before it
 * is durable: it reaches the disk with the next audit_append, checkpoint or
 * close (one fdatasync for all). For records that describe no action about
 * to happen (an outcome, or a request whose decision record follows and is
 * synced before the action). A write error surfaces at that next sync.
 */
int	audit_append_pending(struct audit_log *log, const char *kind,
	    json_t *fields);

/* Returns once every record appended so far is durable: 0 or the error
 * that broke the log. */
int	audit_sync(struct audit_log *log);

/* Writes a checkpoint now if any record is not yet covered by one (for the
 * caller's idle timer), and returns once it is durable. Same errors. */
int	audit_checkpoint(struct audit_log *log);

/* Seals the log with a final signed checkpoint, closes and frees it (also
 * on error). Returns 0 or the error that kept the seal off the disk. NULL
 * is a no-op returning 0. */
int	audit_close(struct audit_log *log);

/* What audit_verify found. */
struct audit_report {
	uint64_t	 records;	/* good records before the first bad one */
	uint64_t	 checkpoints;	/* good checkpoints among them */
	int		 sealed;	/* the last record seals all before it */
	int		 torn;		/* the file ends in a partial record */
	uint64_t	 torn_at;	/* byte offset of the partial record */
	struct buf	 why;		/* on WARD_EPROTO: the first bad record
					 * and why; buf_free it */
};

/* Called for each good record in order, with the parsed record (borrowed)
 * and its hash; a non-zero return stops the walk and is returned. */
typedef int	(*audit_each_fn)(void *arg, json_t *rec,
		    const unsigned char hash[AUDIT_HASH_BYTES]);

/*
 * Verifies the log at path: canonical encoding, contiguous seq, the hash
 * chain, every checkpoint's signature under pk (NULL: refuse any
 * checkpoint), its size and Merkle root, one origin; and the log against
 * each trusted checkpoint (trusted: a signed note or NULL; and path's
 * .checkpoint file if present): same root at its size, and no fewer
 * records than it covers. rep is filled in (audit_report_free it).
 * Returns 0 (intact; a torn tail is WARD_EPROTO with rep->torn set),
 * WARD_EPROTO (the first bad record and why in rep->why), each's return,
 * WARD_ENOENT, WARD_ESYS, WARD_EIO, WARD_ENOMEM.
 */
int	audit_verify(const char *path, const unsigned char *pk,
	    const char *trusted, audit_each_fn each, void *arg,
	    struct audit_report *rep);

/* Frees rep's storage. */
void	audit_report_free(struct audit_report *rep);

/*
 * Appends to out the RFC 6962 inclusion proof (audit path) of record
 * index in the tree of the first size record hashes rh[0..size), one
 * base64 hash per line, leaf side first. Returns 0, WARD_EINVAL
 * (index >= size), buf_add's errors.
 */
int	audit_proof(const unsigned char (*rh)[AUDIT_HASH_BYTES], uint64_t size,
	    uint64_t index, struct buf *out);

#endif
