/*
 * The streaming redactor (DESIGN §2 invariant 7): every value and each
 * encoding of it is replaced however the stream is cut into writes, at
 * any alignment, at the end of a long stream, and when values overlap.
 * Each case is an attempt to get a value (or enough of it) through.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "vault/redact.h"
#include "tap.h"
#include "util.h"

#define V1	"gh0_T0k3n+/=\"x\\y\n"	/* needs every encoding */
#define V2	"s3cr3t-Value.~42"

static struct redact *
mk(const char *const *names, const char *const *vals, size_t n)
{
	struct vault_pair p[8];
	struct redact *r;
	size_t i;

	for (i = 0; i < n; i++) {
		p[i].name = names[i];
		p[i].value = (const unsigned char *)vals[i];
		p[i].len = strlen(vals[i]);
	}
	if (redact_new(p, n, &r) != 0)
		die("redact_new");
	return r;
}

/* Redacts in[0..len) in pieces of `chunk` bytes (0: one write), flushes;
 * returns the output (caller frees). */
static char *
run(struct redact *r, const char *in, size_t len, size_t chunk)
{
	struct buf out;
	size_t i, k;

	buf_init(&out, 0);
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (i = 0; i < len; i += k) {
		k = len - i < chunk ? len - i : chunk;
		if (redact_write(r, in + i, k, &out) != 0)
			die("redact_write");
	}
	if (redact_flush(r, &out) != 0 || buf_add(&out, "", 0) != 0)
		die("redact_flush");
	return out.data != NULL ? buf_take(&out) : strdup("");
}

static void
expect(struct redact *r, const char *in, const char *want, const char *what)
{
	char *got;

	got = run(r, in, strlen(in), 0);
	is_str(got, want, "%s", what);
	free(got);
}

static void
test_raw_and_splits(void)
{
	static const char *const nm[] = { "GH_TOKEN", "DB_PASS" };
	static const char *const vl[] = { V1, V2 };
	const char *in = "token=" V1 " and " V2 ".";
	const char *want = "token=[REDACTED:GH_TOKEN] and [REDACTED:DB_PASS].";
	struct redact *r = mk(nm, vl, 2);
	size_t len = strlen(in), cut, bad = 0;
	struct buf out;
	char *got;

	expect(r, in, want, "raw values replaced, named");
	got = run(r, in, len, 1);
	is_str(got, want, "split byte by byte across writes");
	free(got);
	for (cut = 0; cut <= len; cut++) {
		buf_init(&out, 0);
		if (redact_write(r, in, cut, &out) != 0 ||
		    redact_write(r, in + cut, len - cut, &out) != 0 ||
		    redact_flush(r, &out) != 0 || buf_add(&out, "", 0) != 0)
			die("redact");
		bad += out.data == NULL || strcmp(out.data, want) != 0;
		buf_free(&out);
	}
	is_int(bad, 0, "split across two reads at each of %zu cuts", len + 1);
	expect(r, "nothing here", "nothing here", "clean text unchanged");
	expect(r, "", "", "empty stream");
	ok(redact_holdback(r) > strlen(V1), "holds back the longest pattern");
	redact_free(r);
}

/* Base64 of the value behind a (0..2) bytes of its group, and ahead of
 * 0..2 more, in both alphabets, padded and not. */
static void
test_base64(void)
{
	static const char *const nm[] = { "GH_TOKEN" };
	static const char *const vl[] = { V1 };
	static const int variants[] = { sodium_base64_VARIANT_ORIGINAL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	    sodium_base64_VARIANT_URLSAFE,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING };
	struct redact *r = mk(nm, vl, 1);
	unsigned char bin[64];
	char enc[128], *got;
	size_t a, t, k, vlen = strlen(V1), fails = 0, cases = 0;

	for (k = 0; k < 4; k++)
		for (a = 0; a < 3; a++)
			for (t = 0; t < 3; t++) {
				memset(bin, 0xA5, sizeof(bin));
				memcpy(bin + a, V1, vlen);
				sodium_bin2base64(enc, sizeof(enc), bin,
				    a + vlen + t, variants[k]);
				got = run(r, enc, strlen(enc), 3);
				fails += strstr(got, "[REDACTED:GH_TOKEN]") ==
				    NULL;
				cases++;
				free(got);
			}
	is_int(fails, 0, "base64 std/url, padded or not, %zu alignments "
	    "and tails", cases);
	redact_free(r);
}

static void
test_other_encodings(void)
{
	static const char *const nm[] = { "GH_TOKEN" };
	static const char *const vl[] = { V1 };
	struct redact *r = mk(nm, vl, 1);
	char hex[128], *js, *got;
	json_t *doc;
	size_t i;

	sodium_bin2hex(hex, sizeof(hex), (const unsigned char *)V1,
	    strlen(V1));
	got = run(r, hex, strlen(hex), 5);
	is_str(got, "[REDACTED:GH_TOKEN]", "hex lower");
	free(got);
	for (i = 0; hex[i] != '\0'; i++)
		if (hex[i] >= 'a' && hex[i] <= 'f')
			hex[i] -= 'a' - 'A';
	got = run(r, hex, strlen(hex), 5);
	is_str(got, "[REDACTED:GH_TOKEN]", "hex upper");
	free(got);
	expect(r, "q=gh0_T0k3n%2B%2F%3D%22x%5Cy%0A&z",
	    "q=[REDACTED:GH_TOKEN]&z", "percent-encoding, upper hex");
	expect(r, "q=gh0_T0k3n%2b%2f%3d%22x%5cy%0a&z",
	    "q=[REDACTED:GH_TOKEN]&z", "percent-encoding, lower hex");
	doc = json_pack("{s:s}", "v", V1);
	js = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	got = run(r, js, strlen(js), 2);
	is_str(got, "{\"v\":\"[REDACTED:GH_TOKEN]\"}",
	    "JSON string escaping (as jansson writes it)");
	free(got);
	free(js);
	redact_free(r);
}

static void
test_overlap(void)
{
	static const char *const nm[] = { "SHORT", "LONG" };
	static const char *const v1[] = { "abcdefgh12", "cdefgh12345678" };
	static const char *const v2[] = { "ETVALUE9", "SECRETVALUE99" };
	struct redact *r;

	r = mk(nm, v1, 2);
	expect(r, "xxabcdefgh12345678yy", "xx[REDACTED:LONG]yy",
	    "overlapping values: one placeholder, longest names it");
	expect(r, "abcdefgh12 then cdefgh12345678",
	    "[REDACTED:SHORT] then [REDACTED:LONG]",
	    "separate values stay separate");
	redact_free(r);
	r = mk(nm, v2, 2);
	expect(r, "<SECRETVALUE99>", "<[REDACTED:LONG]>",
	    "a value inside a longer one: the longer wins");
	expect(r, "<ETVALUE9>", "<[REDACTED:SHORT]>", "the inner one alone");
	redact_free(r);
}

/* Random text with values dropped in, cut at random: the output never
 * holds a value and never depends on the cuts. With long values the
 * filter looks at 8-byte blocks, with an 8-byte one at 4-byte blocks. */
static void
test_random(const char *const *vl, const char *what)
{
	static const char *const nm[] = { "GH_TOKEN", "DB_PASS" };
	struct redact *r = mk(nm, vl, 2);
	char in[4096], hex[40], *one, *many;
	size_t i, k, pos, bad = 0, leak = 0, found = 0;

	sodium_bin2hex(hex, sizeof(hex), (const unsigned char *)vl[1],
	    strlen(vl[1]));
	for (k = 0; k < 200; k++) {
		for (i = 0; i < sizeof(in) - 1; i++)
			in[i] = "abcdefgh0123+/=%\"\\ \n"
			    [randombytes_uniform(20)];
		in[sizeof(in) - 1] = '\0';
		for (i = 0; i < 4; i++) {
			pos = randombytes_uniform(sizeof(in) - 40);
			memcpy(in + pos, vl[i & 1], strlen(vl[i & 1]));
		}
		pos = randombytes_uniform(sizeof(in) - sizeof(hex));
		memcpy(in + pos, hex, strlen(hex));
		one = run(r, in, sizeof(in) - 1, 0);
		many = run(r, in, sizeof(in) - 1,
		    1 + randombytes_uniform(64));
		bad += strcmp(one, many) != 0;
		leak += strstr(many, vl[0]) != NULL ||
		    strstr(many, vl[1]) != NULL || strstr(many, hex) != NULL;
		found += strstr(many, "[REDACTED:") != NULL;
		free(one);
		free(many);
	}
	is_int(bad, 0, "200 random streams, %s: the cuts change nothing",
	    what);
	is_int(leak, 0, "... and no value gets through");
	is_int(found, 200, "... and every stream had a placeholder");
	redact_free(r);
}

/* An 8-byte value at each offset of a 32-byte stream, cut at each point,
 * and again after a flush (which restarts the block grid). */
static void
test_offsets(void)
{
	static const char *const nm[] = { "PIN" };
	static const char *const vl[] = { "k3Y!z9Qw" };
	struct redact *r = mk(nm, vl, 1);
	char in[33], want[64], *got;
	size_t off, cut, bad = 0;
	struct buf out;

	for (off = 0; off + 8 <= 32; off++) {
		memset(in, '.', 32);
		in[32] = '\0';
		memcpy(in + off, vl[0], 8);
		snprintf(want, sizeof(want), "%.*s[REDACTED:PIN]%s",
		    (int)off, in, in + off + 8);
		for (cut = 0; cut <= 32; cut++) {
			buf_init(&out, 0);
			if (redact_write(r, "xyz", (off + cut) % 4,
			    &out) != 0 ||
			    redact_flush(r, &out) != 0)
				die("redact");
			buf_reset(&out);
			if (redact_write(r, in, cut, &out) != 0 ||
			    redact_write(r, in + cut, 32 - cut, &out) != 0 ||
			    redact_flush(r, &out) != 0 ||
			    buf_add(&out, "", 0) != 0)
				die("redact");
			bad += strcmp(out.data, want) != 0;
			buf_free(&out);
		}
	}
	is_int(bad, 0, "an 8-byte value at 25 offsets x 33 cuts, after "
	    "flushes of 0-3 bytes");
	got = run(r, vl[0], 8, 1);
	is_str(got, "[REDACTED:PIN]", "the value alone, byte by byte");
	free(got);
	redact_free(r);
}

/* A value as the last bytes of a 64 MiB stream, cut by the last write. */
static void
test_long_stream(void)
{
	static const char *const nm[] = { "GH_TOKEN" };
	static const char *const vl[] = { V2 };
	struct redact *r = mk(nm, vl, 1);
	size_t chunk = 1 << 20, total = 64u << 20, vlen = strlen(V2), i;
	size_t emitted = 0;
	struct buf out;
	char *data;
	int rc = 0;

	if ((data = malloc(chunk)) == NULL)
		die("malloc");
	for (i = 0; i < chunk; i++)
		data[i] = "s3cr3t-Value.~4"[i % 15];
	buf_init(&out, 0);
	for (i = 0; i + chunk < total; i += chunk) {
		rc |= redact_write(r, data, chunk, &out);
		emitted += out.len;
		buf_reset(&out);
	}
	memcpy(data + chunk - vlen, V2, vlen);
	rc |= redact_write(r, data, chunk - vlen / 2, &out);
	rc |= redact_write(r, data + chunk - vlen / 2, vlen / 2, &out);
	rc |= redact_flush(r, &out);
	rc |= buf_add(&out, "", 0);
	emitted += out.len;
	is_int(rc, 0, "64 MiB stream written");
	ok(out.len >= 19 && strcmp(out.data + out.len - 19,
	    "[REDACTED:GH_TOKEN]") == 0, "the value at its very end caught");
	is_int(emitted, total - vlen + 19, "every other byte passed through");
	buf_free(&out);
	free(data);
	redact_free(r);
}

static void
test_refusals(void)
{
	struct vault_pair p = { "X", (const unsigned char *)"short", 5 };
	struct redact *r = NULL;
	struct buf out;

	is_int(redact_new(&p, 1, &r), WARD_EINVAL, "a short value refused");
	p.name = "bad name";
	p.value = (const unsigned char *)V2;
	p.len = strlen(V2);
	is_int(redact_new(&p, 1, &r), WARD_EINVAL, "a bad name refused");
	is_int(redact_new(NULL, 0, &r), 0, "no values: a pass-through");
	buf_init(&out, 0);
	redact_write(r, "abc", 3, &out);
	is_int(out.len, 3, "pass-through holds nothing back");
	buf_free(&out);
	redact_free(r);
	redact_free(NULL);
}

int
main(void)
{
	static const char *const vl_long[] = { V1, V2 };
	static const char *const vl_short[] = { "Pa55w0rd", "x%Y\"z\\q/" };

	if (sodium_init() < 0)
		die("sodium_init");
	test_raw_and_splits();
	test_base64();
	test_other_encodings();
	test_overlap();
	test_random(vl_long, "long values");
	test_random(vl_short, "8-byte values");
	test_offsets();
	test_long_stream();
	test_refusals();
	return done_testing();
}
