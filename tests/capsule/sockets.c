/*
 * A preview 2 guest for tests/integ/capsule.t that goes for the network
 * directly through wasi:sockets 0.2 (which wasi-libc's preview 1 target
 * cannot reach): it makes a TCP and a UDP socket and resolves a name, and
 * prints what each call returned; given a TCP socket, it connects to
 * 127.0.0.1 at the port in argv[1] (where the test listens). Its imports are declared by hand in the
 * canonical ABI (tests/capsule/sockets.wit is the world embedded with
 * them); the preview 1 adapter supplies stdio and exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(m, n) __attribute__((import_module("wasi:sockets/" m \
	"@0.2.0"), import_name(n)))

IMPORT("instance-network", "instance-network")
int32_t	instance_network(void);
IMPORT("tcp-create-socket", "create-tcp-socket")
void	create_tcp(int32_t family, void *ret);
IMPORT("udp-create-socket", "create-udp-socket")
void	create_udp(int32_t family, void *ret);
IMPORT("ip-name-lookup", "resolve-addresses")
void	resolve(int32_t net, const char *name, size_t len, void *ret);
/* self, network, then ip-socket-address flattened: the case and the
 * eleven slots of its widest payload (ipv4: port and four bytes). */
IMPORT("tcp", "[method]tcp-socket.start-connect")
void	start_connect(int32_t sock, int32_t net, int32_t v4, int32_t port,
	    int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t p5,
	    int32_t p6, int32_t p7, int32_t p8, int32_t p9, int32_t p10,
	    void *ret);

/* result<own<T>, error-code>: a tag byte, then the handle or the code. */
struct ret {
	uint8_t		 tag;
	uint32_t	 val;
};

static void
say(const char *what, const struct ret *r)
{
	if (r->tag == 0)
		printf("%s: got a handle\n", what);
	else
		printf("%s: error %u\n", what, (unsigned)(r->val & 0xff));
}

int
main(int argc, char **argv)
{
	unsigned char cr[2];
	struct ret r;
	int32_t net = instance_network();

	memset(&r, 0xff, sizeof(r));
	create_tcp(0, &r);		/* ipv4 */
	say("tcp", &r);
	if (r.tag == 0 && argc > 1) {
		/* result<_, error-code>: a tag byte, then the code byte. */
		start_connect((int32_t)r.val, net, 0, atoi(argv[1]), 127, 0,
		    0, 1, 0, 0, 0, 0, 0, 0, cr);
		if (cr[0] == 0)
			puts("connect: started");
		else
			printf("connect: error %u\n", cr[1]);
	}
	memset(&r, 0xff, sizeof(r));
	create_udp(0, &r);
	say("udp", &r);
	memset(&r, 0xff, sizeof(r));
	resolve(net, "localhost", 9, &r);
	say("lookup", &r);
	return 0;
}
