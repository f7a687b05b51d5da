/*
 * Redaction throughput (DESIGN §7: 100 secrets with their encodings, at
 * least 1 GB/s on one core), beside memchr() and memcpy() over the same
 * data. The text is log-like (words, hex and base64 runs) with a few
 * values of the set planted in it, written in 64 KiB pieces as a command's
 * output would be. Results are in ns per byte, so the 1 GB/s budget is
 * 1.0 ns/B.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "lib/buf.h"
#include "vault/redact.h"

#define NSECRET	100
#define DATALEN	(32u << 20)
#define PIECE	(64u << 10)
#define NSAMP	15

static const char bench_alnum[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static void
bench_fill(char *d, size_t len, char vals[][41])
{
	static const char *const words[] = { "the ", "build ", "failed ",
	    "at ", "src/lib/buf.c:42 ", "GET /api/v1/repos ", "200 ", "OK\n",
	    "sha256=", "token: ", "{\"id\":", "\"name\":\"x\"}\n" };
	size_t i = 0, k, n;
	const char *w;

	while (i < len) {
		k = randombytes_uniform(16);
		if (k < 12) {
			w = words[k];
			n = strlen(w);
		} else {
			/* A hex or base64-looking run, as in real logs. */
			for (n = 0; n < 40 && i + n < len; n++)
				d[i + n] = k == 12 ? "0123456789abcdef"
				    [randombytes_uniform(16)] :
				    bench_alnum[randombytes_uniform(62)];
			i += n;
			continue;
		}
		if (i + n > len)
			n = len - i;
		memcpy(d + i, w, n);
		i += n;
	}
	for (k = 0; k < 8; k++)
		memcpy(d + randombytes_uniform((uint32_t)(len - 64)),
		    vals[k * 11], 40);
}

/* Counts and drops the placeholders in out. */
static size_t
bench_count(struct buf *out)
{
	const char *p = out->data, *end = out->data + out->len;
	size_t n = 0;

	while (p != NULL && (p = memmem(p, (size_t)(end - p), "[REDACTED:",
	    10)) != NULL) {
		n++;
		p += 10;
	}
	buf_reset(out);
	return n;
}

int
main(void)
{
	static char vals[NSECRET][41], names[NSECRET][16];
	struct vault_pair pairs[NSECRET];
	double red[NSAMP], cpy[NSAMP], chr[NSAMP];
	struct bench_stats st;
	struct redact *r;
	struct buf out;
	char *data, *dst;
	uint64_t t0;
	size_t i, j, hits = 0;
	volatile size_t sink = 0;

	if (sodium_init() < 0)
		return 1;
	for (i = 0; i < NSECRET; i++) {
		for (j = 0; j < 40; j++)
			vals[i][j] = bench_alnum[randombytes_uniform(62)];
		snprintf(names[i], sizeof(names[i]), "SECRET_%zu", i);
		pairs[i].name = names[i];
		pairs[i].value = (const unsigned char *)vals[i];
		pairs[i].len = 40;
	}
	t0 = bench_now_ns();
	if (redact_new(pairs, NSECRET, &r) != 0)
		return 1;
	printf("automaton for %d secrets x 12 encodings built in %.1f ms\n",
	    NSECRET, (double)(bench_now_ns() - t0) / 1e6);
	data = malloc(DATALEN);
	dst = malloc(DATALEN);
	if (data == NULL || dst == NULL)
		return 1;
	bench_fill(data, DATALEN, vals);
	buf_init(&out, 0);
	/* Untimed: the planted values are all caught. */
	for (j = 0; j < DATALEN; j += PIECE) {
		if (redact_write(r, data + j, PIECE, &out) != 0)
			return 1;
		hits += bench_count(&out);
	}
	redact_flush(r, &out);
	hits += bench_count(&out);
	printf("placeholders in the output: %zu (8 values planted)\n", hits);
	for (i = 0; i < NSAMP + 2; i++) {
		buf_reset(&out);
		t0 = bench_now_ns();
		for (j = 0; j < DATALEN; j += PIECE) {
			if (redact_write(r, data + j, PIECE, &out) != 0)
				return 1;
			sink += out.len;
			buf_reset(&out);
		}
		redact_flush(r, &out);
		if (i >= 2)
			red[i - 2] = (double)(bench_now_ns() - t0) / DATALEN;
		hits = 0;
		t0 = bench_now_ns();
		for (j = 0; j < DATALEN; j += PIECE) {
			memcpy(dst + j, data + j, PIECE);
			sink += dst[j];
		}
		if (i >= 2)
			cpy[i - 2] = (double)(bench_now_ns() - t0) / DATALEN;
		t0 = bench_now_ns();
		for (j = 0; j < DATALEN; j += PIECE)
			hits += memchr(data + j, '\1', PIECE) != NULL;
		if (i >= 2)
			chr[i - 2] = (double)(bench_now_ns() - t0) / DATALEN;
	}
	sink += hits;
	bench_title("redaction: 100 secrets and their encodings, 32 MiB of "
	    "log-like text in 64 KiB writes");
	bench_columns();
	bench_stats(red, NSAMP, &st);
	bench_row("redact_write", &st, 1, "ns/B", NULL);
	printf("  = %.2f GB/s\n", 1 / st.median);
	bench_verdict("redaction", st.median, 1.0, "ns/B");
	bench_stats(chr, NSAMP, &st);
	bench_row("baseline: memchr of the same data", &st, 1, "ns/B", NULL);
	bench_stats(cpy, NSAMP, &st);
	bench_row("baseline: memcpy of the same data", &st, 1, "ns/B", NULL);
	redact_free(r);
	buf_free(&out);
	free(data);
	free(dst);
	return sink == 0;
}
