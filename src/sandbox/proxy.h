/*
 * The egress proxy (DESIGN §2 invariant 3, issue 4 "Network"): a command
 * reaches the network only through this proxy, one instance per command,
 * and only the hosts its grant names. It speaks HTTP CONNECT (anything
 * tunnelled, TLS checked against the CONNECT host by its SNI) and plain
 * HTTP in absolute form (forwarded in origin form, one request per
 * connection). A name must pass the grant, then every address it resolves
 * to must be public unless the manifest names that address; the proxy then
 * connects to an address it vetted, never to a fresh resolution.
 *
 * Connections arrive over a control socket: the sandbox side writes one
 * byte on its end for each TCP connection its command opens to the proxy
 * port; for each byte the proxy makes a socketpair, sends one end back over
 * the control socket (SCM_RIGHTS, one data byte) and serves the other end
 * as one client connection.
 */
#ifndef WARD_PROXY_H
#define WARD_PROXY_H

#include <stddef.h>
#include <sys/socket.h>

#include "../lib/buf.h"

#define PROXY_MAXCONN	64	/* client connections served at once */
#define PROXY_HEAD_MAX	16384	/* bytes in a request head */
#define PROXY_MAXADDR	32	/* addresses a name may resolve to */

/*
 * What one command may reach. The callbacks run on the proxy's threads,
 * possibly several at once: they must be thread-safe. Every pointer must
 * stay valid until proxy_stop returns.
 */
struct proxy_policy {
	/* 1 when the command may reach host (canonical: lower case, ASCII,
	 * no trailing dot) on port, else 0; may put the deciding rule in
	 * why, which the refusal message carries. Required. */
	int	(*allow_host)(void *arg, const char *host, unsigned port,
		    struct buf *why);
	/* Resolves host into at most max addresses (the port is ignored),
	 * setting *n. Returns 0 or a negative WARD_E*; more addresses than
	 * max is WARD_ETOOBIG. NULL: getaddrinfo(3). Tests inject one. */
	int	(*resolve)(void *arg, const char *host,
		    struct sockaddr_storage *addrs, size_t max, size_t *n);
	/* Called once for every refusal with "network: HOST[:PORT]: reason"
	 * (for the audit log and the model). May be NULL. */
	void	(*denied)(void *arg, const char *what);
	void	*arg;
	/* IPv4/IPv6 literals the manifest names: they may be reached
	 * although they are private or loopback, and they are the only raw
	 * addresses a request may name. */
	const char *const *allow_addrs;
	size_t	 nallow_addrs;
	/* Milliseconds a client has for its whole request head, and the
	 * proxy for connecting upstream. 0: 10000. */
	int	 timeout_ms;
};

struct proxy;

/*
 * Starts serving ctrl_fd (a connected AF_UNIX stream socket) on its own
 * threads. pol is copied, not the things it points to. Returns 0 with *out
 * set, the proxy then owning ctrl_fd; or WARD_EINVAL (a bad allow_addrs
 * entry or no allow_host), WARD_ENOMEM, WARD_ESYS, with the reason in err
 * (may be NULL) and ctrl_fd still the caller's.
 */
int	proxy_start(const struct proxy_policy *pol, int ctrl_fd,
	    struct proxy **out, struct buf *err);

/*
 * Stops serving: every open connection is closed, every thread joined,
 * ctrl_fd closed, p freed. A resolver call in progress is waited for.
 * NULL is a no-op.
 */
void	proxy_stop(struct proxy *p);

/*
 * The other side of the control socket: asks the proxy behind ctrl_fd for
 * a new client connection (one byte out, one descriptor back). Returns the
 * connected socket (close-on-exec, blocking), or -1 with errno set.
 * Allocates nothing and takes no lock: the sandbox's pid 1 calls it.
 */
int	proxy_client(int ctrl_fd);

/*
 * NULL when sa (AF_INET or AF_INET6) is a public unicast address, else a
 * static name of the special range it is in ("loopback", "private",
 * "link-local", ...). IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 forms are
 * judged by the IPv4 address they carry, IPv4-compatible ones are always
 * special, and so is IPv6 outside 2000::/3; other families are "not IP".
 */
const char *proxy_addr_special(const struct sockaddr *sa);

#endif
