/*
 * Framing of the CLI <-> daemon protocol (doc/PROTOCOL.md): a 4-byte
 * big-endian length, then that many bytes of one JSON object in UTF-8.
 */
#ifndef WARD_PROTO_H
#define WARD_PROTO_H

#include <jansson.h>

#include "buf.h"

#define PROTO_VERSION	1
#define PROTO_MAX_FRAME	(1u << 20)	/* bytes of JSON in one frame */

/* Sends msg (not consumed). Returns 0, WARD_ETOOBIG (over the frame cap;
 * nothing sent), WARD_ENOMEM, WARD_EIO (peer gone). */
int	proto_send(int fd, const json_t *msg);

/* Appends msg's frame to out, to be sent later with others in one write
 * (proto_send_frames). Same errors as proto_send; out is unchanged on
 * error. */
int	proto_frame(const json_t *msg, struct buf *out);

/* Writes the frames in b and empties it. Returns 0 or WARD_EIO. */
int	proto_send_frames(int fd, struct buf *b);

/* Receives one frame. Returns 0 and *msg (a JSON object with a string
 * "type"; caller decrefs), WARD_ENOENT on a clean EOF before a frame,
 * WARD_ETOOBIG for a length over the cap, WARD_EPROTO for anything
 * malformed (message in err), WARD_EIO. */
int	proto_recv(int fd, json_t **msg, struct buf *err);

/* Writes an identity of the running binary (device, inode, size and mtime
 * of /proc/self/exe) to out, so a client can tell a daemon of another build
 * of ward from its own. Returns 0 or WARD_ESYS. */
int	proto_build_id(char *out, size_t n);

/* The "type" of a received message (never NULL after proto_recv). */
const char *proto_type(const json_t *msg);

#endif
