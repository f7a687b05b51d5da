/*
 * The streaming redactor; see redact.h. The automaton is a full DFA over
 * byte classes (bytes that occur in no pattern share class 0), so the scan
 * is one table load per input byte. A cell holds the next state's row
 * offset with the top bit set when that state ends a pattern; each state
 * remembers only the longest pattern ending there, since every shorter one
 * ending at the same byte lies inside it.
 *
 * Stream positions are absolute. Bytes [emitted, pos) are held in `hold`;
 * a match [s, e) becomes a pending span (merged with those it overlaps),
 * replaced once no later match can reach back into it: once its end is at
 * least the longest pattern behind the scan.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "redact.h"

#define REDACT_ACCEPT	0x80000000u
#define REDACT_MAXCELLS	0x7fffffffu
#define REDACT_BLOOM_BITS 22			/* 512 KiB */
#define REDACT_H1	0x9e3779b97f4a7c15ull
#define REDACT_H2	0xc2b2ae3d27d4eb4full

/* Stream bytes [s, e) to be replaced, named after its longest match. */
struct redact_span {
	uint64_t	 s, e;
	uint32_t	 name, len;
};

struct redact {
	uint32_t	*delta;		/* nstates * ncls cells */
	uint32_t	*outlen;	/* longest pattern ending here */
	uint32_t	*outname;	/* its pair */
	char		**names;
	size_t		 nnames;
	size_t		 nstates, ncls;
	uint8_t		 cls[256];
	size_t		 maxlen;
	uint32_t	 state;		/* row offset */
	uint64_t	 pos, emitted;
	struct buf	 hold;		/* bytes [emitted, pos) */
	struct redact_span *span;	/* pending, sorted, disjoint */
	size_t		 nspan, spancap;
	uint64_t	*bloom;		/* q-grams of every pattern */
	size_t		 q;		/* block size, 4 or 8 */
	uint64_t	 qmask;
	uint64_t	 fpos;		/* next block to look at */
	uint64_t	 dfa_pos;	/* the automaton read up to here */
	uint64_t	 dfa_until;	/* and must read up to here */
	uint64_t	 floor;		/* the last flush */
};

/* The patterns of one value, each NUL-separated in b (a value holds no
 * NUL: vault_value_ok). */
static int
redact_b64(const unsigned char *v, size_t len, int variant, struct buf *b)
{
	unsigned char *tmp;
	char *enc;
	size_t a, elen, from, to;
	int rc = WARD_ENOMEM;

	if ((tmp = calloc(1, len + 2)) == NULL)
		return WARD_ENOMEM;
	elen = sodium_base64_encoded_len(len + 2, variant);
	if ((enc = malloc(elen)) == NULL)
		goto out;
	/* Behind a bytes of the same group, the value fills bits
	 * [8a, 8a + 8len): only the characters wholly inside are its own. */
	for (a = 0; a < 3; a++) {
		memcpy(tmp + a, v, len);
		sodium_bin2base64(enc, elen, tmp, a + len, variant);
		from = (8 * a + 5) / 6;
		to = (8 * a + 8 * len) / 6;
		if ((rc = buf_add(b, enc + from, to - from)) != 0 ||
		    (rc = buf_add(b, "", 1)) != 0)
			goto out;
	}
	rc = 0;
out:
	if (enc != NULL)
		sodium_memzero(enc, elen);
	sodium_memzero(tmp, len + 2);
	free(enc);
	free(tmp);
	return rc;
}

static int
redact_encodings(const unsigned char *v, size_t len, struct buf *b)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *hex;
	size_t i, k;
	int rc = 0;

	rc |= buf_add(b, v, len) | buf_add(b, "", 1);
	rc |= redact_b64(v, len, sodium_base64_VARIANT_ORIGINAL, b);
	rc |= redact_b64(v, len, sodium_base64_VARIANT_URLSAFE, b);
	for (k = 0; k < 2; k++) {
		hex = k ? up : lo;
		for (i = 0; i < len; i++)
			rc |= buf_add(b, &hex[v[i] >> 4], 1) |
			    buf_add(b, &hex[v[i] & 15], 1);
		rc |= buf_add(b, "", 1);
		for (i = 0; i < len; i++) {
			if ((v[i] >= 'a' && v[i] <= 'z') ||
			    (v[i] >= 'A' && v[i] <= 'Z') ||
			    (v[i] >= '0' && v[i] <= '9') ||
			    strchr("-._~", v[i]) != NULL)
				rc |= buf_add(b, &v[i], 1);
			else
				rc |= buf_printf(b, "%%%c%c", hex[v[i] >> 4],
				    hex[v[i] & 15]);
		}
		rc |= buf_add(b, "", 1);
	}
	for (i = 0; i < len; i++) {
		switch (v[i]) {
		case '"':  rc |= buf_puts(b, "\\\""); break;
		case '\\': rc |= buf_puts(b, "\\\\"); break;
		case '\b': rc |= buf_puts(b, "\\b"); break;
		case '\f': rc |= buf_puts(b, "\\f"); break;
		case '\n': rc |= buf_puts(b, "\\n"); break;
		case '\r': rc |= buf_puts(b, "\\r"); break;
		case '\t': rc |= buf_puts(b, "\\t"); break;
		default:
			if (v[i] < 0x20)
				rc |= buf_printf(b, "\\u%04x", v[i]);
			else
				rc |= buf_add(b, &v[i], 1);
		}
	}
	rc |= buf_add(b, "", 1);
	return rc != 0 ? WARD_ENOMEM : 0;
}

/* Adds pattern p (len bytes) for pair `name` to the trie. */
static void
redact_insert(struct redact *r, const char *p, size_t len, uint32_t name)
{
	uint32_t s = 0, *cell;
	size_t i;

	for (i = 0; i < len; i++) {
		cell = &r->delta[s * r->ncls + r->cls[(uint8_t)p[i]]];
		if (*cell == 0)
			*cell = (uint32_t)r->nstates++;
		s = *cell;
	}
	/* The same spelling for two values: the first keeps it. */
	if (r->outlen[s] == 0) {
		r->outlen[s] = (uint32_t)len;
		r->outname[s] = name;
	}
	if (len > r->maxlen)
		r->maxlen = len;
}

static void
redact_gram(struct redact *r, const char *p)
{
	uint64_t g = 0, h1, h2;

	memcpy(&g, p, r->q);
	h1 = (g * REDACT_H1) >> (64 - REDACT_BLOOM_BITS);
	h2 = (g * REDACT_H2) >> (64 - REDACT_BLOOM_BITS);
	r->bloom[h1 >> 6] |= 1ull << (h1 & 63);
	r->bloom[h2 >> 6] |= 1ull << (h2 & 63);
}

/* Turns the trie into the DFA (breadth first: every state's failure state
 * is shallower, so finished) and marks the accepting cells. */
static int
redact_build(struct redact *r)
{
	uint32_t *fail, *queue, s, t, f;
	size_t head = 0, tail = 0, c, i;

	fail = calloc(r->nstates, sizeof(*fail));
	queue = calloc(r->nstates, sizeof(*queue));
	if (fail == NULL || queue == NULL) {
		free(fail);
		free(queue);
		return WARD_ENOMEM;
	}
	queue[tail++] = 0;
	while (head < tail) {
		s = queue[head++];
		f = fail[s];
		if (s != 0 && r->outlen[s] == 0) {
			r->outlen[s] = r->outlen[f];
			r->outname[s] = r->outname[f];
		}
		for (c = 0; c < r->ncls; c++) {
			t = r->delta[s * r->ncls + c];
			if (t != 0) {
				fail[t] = s == 0 ? 0 :
				    r->delta[f * r->ncls + c];
				queue[tail++] = t;
			} else if (s != 0)
				r->delta[s * r->ncls + c] =
				    r->delta[f * r->ncls + c];
		}
	}
	/* Now cells are states; make them row offsets with the flag. */
	for (i = 0; i < r->nstates * r->ncls; i++) {
		t = r->delta[i];
		r->delta[i] = (uint32_t)(t * r->ncls) |
		    (r->outlen[t] != 0 ? REDACT_ACCEPT : 0);
	}
	free(fail);
	free(queue);
	return 0;
}

int
redact_new(const struct vault_pair *pairs, size_t n, struct redact **rp)
{
	struct redact *r;
	struct buf pats;
	size_t i, j, total = 0, cells, plen, minlen = SIZE_MAX;
	const char *p, *end;
	uint8_t ones[8];
	int used[256], rc;

	*rp = NULL;
	buf_init(&pats, 0);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return WARD_ENOMEM;
	buf_init(&r->hold, 0);
	r->maxlen = 1;
	rc = WARD_EINVAL;
	for (i = 0; i < n; i++)
		if (pairs[i].len < VAULT_VALUE_MIN ||
		    memchr(pairs[i].value, 0, pairs[i].len) != NULL ||
		    !vault_name_ok(pairs[i].name))
			goto out;
	rc = WARD_ENOMEM;
	if ((r->names = calloc(n + 1, sizeof(*r->names))) == NULL)
		goto out;
	memset(used, 0, sizeof(used));
	for (i = 0; i < n; i++) {
		if ((r->names[i] = strdup(pairs[i].name)) == NULL)
			goto out;
		r->nnames++;
		if (redact_encodings(pairs[i].value, pairs[i].len, &pats) != 0)
			goto out;
	}
	for (i = 0; i < pats.len; i++)
		used[(uint8_t)pats.data[i]] = 1;
	used[0] = 0;
	r->ncls = 1;
	for (i = 0; i < 256; i++)
		r->cls[i] = used[i] ? (uint8_t)r->ncls++ : 0;
	total = pats.len + 1;
	rc = WARD_ETOOBIG;
	if (total > REDACT_MAXCELLS / r->ncls)
		goto out;
	cells = total * r->ncls;
	rc = WARD_ENOMEM;
	r->delta = calloc(cells, sizeof(*r->delta));
	r->outlen = calloc(total, sizeof(*r->outlen));
	r->outname = calloc(total, sizeof(*r->outname));
	r->bloom = calloc((1u << REDACT_BLOOM_BITS) / 64, sizeof(*r->bloom));
	if (r->delta == NULL || r->outlen == NULL || r->outname == NULL ||
	    r->bloom == NULL)
		goto out;
	r->nstates = 1;
	end = pats.data + pats.len;
	for (p = pats.data; p != NULL && p < end; p += strlen(p) + 1)
		if (strlen(p) < minlen)
			minlen = strlen(p);
	/* Blocks of q bytes with every pattern at least 2q - 1 long. */
	r->q = minlen >= 15 ? 8 : 4;
	memset(ones, 0, sizeof(ones));
	memset(ones, 0xff, r->q);
	memcpy(&r->qmask, ones, sizeof(r->qmask));
	for (i = 0, p = pats.data; p != NULL && p < end; i++) {
		/* Each pair contributed exactly 12 patterns, in order. */
		plen = strlen(p);
		redact_insert(r, p, plen, (uint32_t)(i / 12));
		for (j = 0; j + r->q <= plen; j++)
			redact_gram(r, p + j);
		p += plen + 1;
	}
	if ((rc = redact_build(r)) != 0)
		goto out;
	*rp = r;
	r = NULL;
out:
	buf_free(&pats);
	redact_free(r);
	return rc;
}

size_t
redact_holdback(const struct redact *r)
{
	return r->maxlen - 1;
}

void
redact_free(struct redact *r)
{
	size_t i;

	if (r == NULL)
		return;
	/* The table spells out every value. */
	if (r->delta != NULL)
		sodium_memzero(r->delta, r->nstates * r->ncls *
		    sizeof(*r->delta));
	free(r->delta);
	free(r->outlen);
	free(r->outname);
	for (i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	free(r->span);
	free(r->bloom);
	buf_free(&r->hold);
	sodium_memzero(r, sizeof(*r));
	free(r);
}

/* The bytes the current write can see: hold from hstart, then data from
 * base, and where the output goes. */
struct redact_io {
	const uint8_t	*data;
	uint64_t	 base, hstart, end;
	struct buf	*out;
};

static const uint8_t *
redact_at(const struct redact *r, const struct redact_io *io, uint64_t a)
{
	return a < io->base ? (const uint8_t *)r->hold.data + (a - io->hstart) :
	    io->data + (a - io->base);
}

/* Appends stream bytes [a, b). */
static int
redact_emit(struct redact *r, const struct redact_io *io, uint64_t a,
    uint64_t b)
{
	uint64_t m;
	int rc;

	if (a < b && a < io->base) {
		m = b < io->base ? b : io->base;
		if ((rc = buf_add(io->out, redact_at(r, io, a),
		    (size_t)(m - a))) != 0)
			return rc;
		a = m;
	}
	if (a < b)
		return buf_add(io->out, redact_at(r, io, a), (size_t)(b - a));
	return 0;
}

/* Replaces the first pending span. */
static int
redact_close(struct redact *r, const struct redact_io *io)
{
	struct redact_span *sp = &r->span[0];
	int rc;

	if ((rc = redact_emit(r, io, r->emitted, sp->s)) != 0 ||
	    (rc = buf_printf(io->out, "[REDACTED:%s]",
	    r->names[sp->name])) != 0)
		return rc;
	r->emitted = sp->e;
	memmove(sp, sp + 1, --r->nspan * sizeof(*sp));
	return 0;
}

/* A match of the longest pattern of state row ending at e: spans that no
 * later match can reach back into are replaced, and the spans it overlaps
 * are merged with it. */
static int
redact_match(struct redact *r, const struct redact_io *io, uint64_t e,
    uint32_t row)
{
	struct redact_span *sp;
	uint32_t st = row / (uint32_t)r->ncls, len = r->outlen[st];
	uint64_t s = e - len;
	size_t k;
	int rc;

	while (r->nspan > 0 && r->span[0].e + r->maxlen <= e + 1)
		if ((rc = redact_close(r, io)) != 0)
			return rc;
	for (k = r->nspan; k > 0 && r->span[k - 1].e > s; k--)
		;
	if (k == r->nspan) {
		if (r->nspan == r->spancap) {
			sp = reallocarray(r->span, r->spancap * 2 + 4,
			    sizeof(*sp));
			if (sp == NULL)
				return WARD_ENOMEM;
			r->span = sp;
			r->spancap = r->spancap * 2 + 4;
		}
		sp = &r->span[r->nspan++];
		sp->s = s;
		sp->len = 0;
	} else {
		sp = &r->span[k];
		for (; k < r->nspan; k++) {
			if (r->span[k].s < sp->s)
				sp->s = r->span[k].s;
			if (r->span[k].len > sp->len) {
				sp->len = r->span[k].len;
				sp->name = r->span[k].name;
			}
		}
		r->nspan = (size_t)(sp - r->span) + 1;
		if (s < sp->s)
			sp->s = s;
	}
	sp->e = e;
	if (len > sp->len) {
		sp->len = len;
		sp->name = r->outname[st];
	}
	return 0;
}

/* Runs the automaton from dfa_pos to `to` (within what io can see). */
static int
redact_run(struct redact *r, const struct redact_io *io, uint64_t to)
{
	const uint32_t *delta = r->delta;
	const uint8_t *p;
	uint64_t a, seg;
	uint32_t s = r->state, c;
	size_t i, n;
	int rc;

	while ((a = r->dfa_pos) < to) {
		seg = a < io->base && to > io->base ? io->base : to;
		p = redact_at(r, io, a);
		n = (size_t)(seg - a);
		for (i = 0; i < n; i++) {
			c = delta[s + r->cls[p[i]]];
			s = c & ~REDACT_ACCEPT;
			if ((c & REDACT_ACCEPT) &&
			    (rc = redact_match(r, io, a + i + 1, s)) != 0)
				return rc;
		}
		r->dfa_pos = seg;
	}
	r->state = s;
	return 0;
}

static int
redact_hit(const struct redact *r, uint64_t g)
{
	uint64_t h1 = (g * REDACT_H1) >> (64 - REDACT_BLOOM_BITS);
	uint64_t h2 = (g * REDACT_H2) >> (64 - REDACT_BLOOM_BITS);

	return (r->bloom[h1 >> 6] >> (h1 & 63) & 1) &&
	    (r->bloom[h2 >> 6] >> (h2 & 63) & 1);
}

/*
 * The filter: every pattern is at least 2q - 1 bytes, so every occurrence
 * holds a whole block [b, b + q) with b on the block grid, and that block
 * is one of the pattern's q-grams. Only around blocks whose q-gram may be
 * one (a Bloom filter) does the automaton run: from root at the earliest
 * start of a pattern holding the block to its latest end.
 */
static int
redact_scan(struct redact *r, const struct redact_io *io)
{
	uint64_t b, g, x;
	uint8_t tmp[8];
	size_t j;
	int rc;

	if ((rc = redact_run(r, io, r->dfa_until < io->end ? r->dfa_until :
	    io->end)) != 0)
		return rc;
	for (b = r->fpos; b + r->q <= io->end; b += r->q) {
		if (b >= io->base && b + 8 <= io->end)
			memcpy(&g, io->data + (b - io->base), 8);
		else {
			memset(tmp, 0, sizeof(tmp));
			for (j = 0; j < r->q; j++)
				tmp[j] = *redact_at(r, io, b + j);
			memcpy(&g, tmp, 8);
		}
		if (!redact_hit(r, g & r->qmask))
			continue;
		x = b + r->q >= r->floor + r->maxlen ? b + r->q - r->maxlen :
		    r->floor;
		if (r->dfa_pos < x) {
			r->state = 0;
			r->dfa_pos = x;
		}
		if (b + r->maxlen > r->dfa_until)
			r->dfa_until = b + r->maxlen;
		if ((rc = redact_run(r, io, r->dfa_until < io->end ?
		    r->dfa_until : io->end)) != 0)
			return rc;
	}
	r->fpos = b;
	return 0;
}

int
redact_write(struct redact *r, const void *data, size_t len,
    struct buf *out)
{
	struct redact_io io = { data, r->pos, r->emitted, r->pos + len, out };
	uint64_t safe, lim;
	size_t keep;
	int rc;

	if (r->nstates > 1 && (rc = redact_scan(r, &io)) != 0)
		return rc;
	r->pos = io.end;
	safe = r->pos + 1 >= r->maxlen ? r->pos + 1 - r->maxlen : 0;
	while (r->nspan > 0 && r->span[0].e <= safe)
		if ((rc = redact_close(r, &io)) != 0)
			return rc;
	lim = r->nspan > 0 && r->span[0].s < safe ? r->span[0].s : safe;
	if (lim > r->emitted) {
		if ((rc = redact_emit(r, &io, r->emitted, lim)) != 0)
			return rc;
		r->emitted = lim;
	}
	/* Keep [emitted, pos): a tail of hold, then a tail of data. */
	if (r->emitted < io.base) {
		keep = (size_t)(io.base - r->emitted);
		memmove(r->hold.data, r->hold.data + (r->emitted - io.hstart),
		    keep);
		r->hold.len = keep;
		return buf_add(&r->hold, data, len);
	}
	if (r->hold.len > 0)
		sodium_memzero(r->hold.data, r->hold.len);
	buf_reset(&r->hold);
	return buf_add(&r->hold, io.data + (r->emitted - io.base),
	    (size_t)(r->pos - r->emitted));
}

int
redact_flush(struct redact *r, struct buf *out)
{
	struct redact_io io = { NULL, r->pos, r->emitted, r->pos, out };
	int rc;

	while (r->nspan > 0)
		if ((rc = redact_close(r, &io)) != 0)
			return rc;
	if ((rc = redact_emit(r, &io, r->emitted, r->pos)) != 0)
		return rc;
	/* Start afresh: nothing before here is looked at again. */
	r->emitted = r->floor = r->fpos = r->dfa_pos = r->dfa_until = r->pos;
	r->state = 0;
	if (r->hold.len > 0)
		sodium_memzero(r->hold.data, r->hold.len);
	buf_reset(&r->hold);
	return 0;
}
