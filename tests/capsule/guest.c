/*
 * The guest for tests/integ/capsule.t, compiled at test time with
 * clang-19 --target=wasm32-wasi. argv[1] picks what it does; each mode is
 * one thing an untrusted program might try.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;
char *volatile sink;	/* keeps allocations and loops from being elided */

static int
depth(int n)
{
	volatile int x = n;

	return x == -1 ? 0 : depth(n + 1) + 1;
}

static int
cat(const char *path)
{
	char b[256];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		printf("open %s: %s\n", path, strerror(errno));
		return 4;
	}
	n = fread(b, 1, sizeof(b) - 1, f);
	b[n] = '\0';
	fputs(b, stdout);
	fclose(f);
	return 0;
}

static int
put(const char *path)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL) {
		printf("open %s: %s\n", path, strerror(errno));
		return 4;
	}
	fputs("written\n", f);
	return fclose(f) != 0 ? 5 : 0;
}

int
main(int argc, char **argv)
{
	static char block[65536];
	const char *m = argc > 1 ? argv[1] : "";
	volatile unsigned long i = 0;
	char **e;
	int c, n = 0, fd;

	if (strcmp(m, "args") == 0) {
		for (c = 0; c < argc; c++)
			printf("[%s]", argv[c]);
		putchar('\n');
		return 3;
	}
	if (strcmp(m, "env") == 0) {
		for (e = environ; *e != NULL; e++)
			puts(*e);
		return 0;
	}
	if (strcmp(m, "cat") == 0 && argc > 2)
		return cat(argv[2]);
	if (strcmp(m, "write") == 0 && argc > 2)
		return put(argv[2]);
	if (strcmp(m, "mkdir") == 0 && argc > 2)
		return mkdir(argv[2], 0700) == 0 ? 0 : 4;
	if (strcmp(m, "unlink") == 0 && argc > 2)
		return unlink(argv[2]) == 0 ? 0 : 4;
	if (strcmp(m, "stdin") == 0) {
		while (getchar() != EOF)
			n++;
		printf("%d bytes\n", n);
		return 0;
	}
	if (strcmp(m, "loop") == 0)
		for (;;)
			i++;
	if (strcmp(m, "hog") == 0)
		for (;;) {
			if ((sink = malloc(1 << 20)) == NULL) {
				fputs("malloc failed\n", stderr);
				return 1;
			}
			memset(sink, 1, 1 << 20);
		}
	if (strcmp(m, "recurse") == 0)
		return depth(0);
	if (strcmp(m, "flood") == 0) {
		memset(block, 'x', sizeof(block));
		for (c = 0; c < 1024; c++)	/* 64 MiB */
			fwrite(block, 1, sizeof(block), stdout);
		fputs("done\n", stderr);
		return 0;
	}
	if (strcmp(m, "sockets") == 0) {
		/* Every descriptor a socket call could use: none is one. */
		for (fd = 0; fd < 64; fd++)
			if (accept(fd, NULL, NULL) >= 0 ||
			    shutdown(fd, SHUT_RDWR) == 0)
				printf("socket on fd %d\n", fd);
		puts("no sockets");
		return 0;
	}
	fprintf(stderr, "unknown mode '%s'\n", m);
	return 2;
}
