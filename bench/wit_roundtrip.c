/*
 * The cost of one WIT call carrying a 4 KiB string, the transport part of
 * DESIGN §7's "file_read of 4 KiB through WIT -> policy -> audit ->
 * redaction and back, <= 100 us median". Policy, audit and redaction are
 * not in this build, so the row measures the WIT share of that budget.
 *
 * The bench agent (agents/rt.c) handles the message "N" by calling
 * tools.file-read N times; our `tool` callback answers each with the same
 * 4096 bytes. One handle-message call is one sample; ns per call is its
 * time divided by N (the export call's own fixed cost, printed on its own
 * row, is spread over the N calls). The baseline calls the same callback
 * directly from C N times and copies each answer into a fresh buffer, as
 * the glue copies it into the guest: the ratio between the two is what the
 * component boundary costs.
 *
 * usage: wit_roundtrip RT.wasm [CALLS [SAMPLES]]
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "daemon/host.h"
#include "lib/err.h"

#define RESULT_LEN	4096
#define WARMUP		3	/* untimed samples first */

struct rt {
	char		payload[RESULT_LEN];
	unsigned long	calls;
};

static void
rt_llm_info(void *ctx, struct llm_info *info)
{
	(void)ctx;
	memset(info, 0, sizeof(*info));
	info->provider = "bench";
	info->name = "none";
}

static int
rt_llm_chat(void *ctx, const struct llm_request *req, struct llm_reply *reply,
    struct buf *err)
{
	(void)ctx;
	(void)req;
	(void)reply;
	buf_puts(err, "the bench has no model");
	return WARD_EUNAVAIL;
}

/* The callback under test: every tool answers with the same 4 KiB. */
static int
rt_tool(void *ctx, const char *name, json_t *args, struct host_tool_out *out)
{
	struct rt *r = ctx;

	(void)name;
	(void)args;
	r->calls++;
	return buf_add(&out->text, r->payload, sizeof(r->payload));
}

static int
rt_storage_save(void *ctx, const char *key, const uint8_t *data, size_t len,
    struct buf *err)
{
	(void)ctx;
	(void)key;
	(void)data;
	(void)len;
	(void)err;
	return WARD_EUNAVAIL;
}

static int
rt_storage_load(void *ctx, const char *key, struct buf *data, struct buf *err)
{
	(void)ctx;
	(void)key;
	(void)data;
	(void)err;
	return WARD_ENOENT;
}

static int
rt_storage_delete(void *ctx, const char *key, struct buf *err)
{
	(void)ctx;
	(void)key;
	(void)err;
	return WARD_EUNAVAIL;
}

static int
rt_storage_list(void *ctx, struct buf *keys, size_t *nkeys, struct buf *err)
{
	(void)ctx;
	(void)keys;
	(void)err;
	*nkeys = 0;
	return 0;
}

static void
rt_print(void *ctx, const char *text, int warn)
{
	(void)ctx;
	(void)text;
	(void)warn;
}

static int
rt_ask(void *ctx, const char *question, char **answer)
{
	(void)ctx;
	(void)question;
	*answer = NULL;
	return WARD_ENOENT;
}

static const struct host_imports rt_imports = {
	.llm_info	= rt_llm_info,
	.llm_chat	= rt_llm_chat,
	.tool		= rt_tool,
	.storage_save	= rt_storage_save,
	.storage_load	= rt_storage_load,
	.storage_delete	= rt_storage_delete,
	.storage_list	= rt_storage_list,
	.print		= rt_print,
	.ask		= rt_ask,
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == -1 ? -1 : 0;
}

/* One sample of the WIT path: handle-message("calls"). Returns the
 * elapsed ns, or -1 (message on stderr). */
static double
wit_sample(struct host_instance *in, struct rt *r, const char *msg,
    unsigned long calls)
{
	struct host_turn turn;
	struct buf err;
	uint64_t t0, t1;
	int rc;

	buf_init(&err, 4096);
	r->calls = 0;
	t0 = bench_now_ns();
	rc = host_instance_handle(in, msg, &turn, &err);
	t1 = bench_now_ns();
	if (rc != 0 || r->calls != calls || turn.tool_calls != calls) {
		fprintf(stderr, "wit_roundtrip: handle-message: %s\n",
		    rc != 0 ? (err.len ? err.data : ward_strerror(rc)) :
		    "the agent made the wrong number of calls");
		buf_free(&err);
		free(turn.text);
		return -1;
	}
	buf_free(&err);
	free(turn.text);
	return (double)(t1 - t0);
}

/* One sample of the baseline: the same callback, called directly, with
 * the answer copied out as the glue does. Returns the elapsed ns. */
static double
direct_sample(struct rt *r, json_t *args, unsigned long calls)
{
	struct host_tool_out out;
	unsigned long i;
	uint64_t t0;
	char *copy;

	t0 = bench_now_ns();
	for (i = 0; i < calls; i++) {
		buf_init(&out.text, 0);
		out.exit_code = 0;
		out.truncated = 0;
		if (rt_imports.tool(r, "file_read", args, &out) != 0 ||
		    (copy = malloc(out.text.len)) == NULL) {
			fprintf(stderr, "wit_roundtrip: out of memory\n");
			exit(1);
		}
		memcpy(copy, out.text.data, out.text.len);
		/* Keeps the compiler from dropping the copy as dead. */
		__asm__ __volatile__("" : : "r"(copy) : "memory");
		free(copy);
		buf_free(&out.text);
	}
	return (double)(bench_now_ns() - t0);
}

int
main(int argc, char **argv)
{
	static struct rt r;
	char cache[] = "/tmp/ward-bench-wit.XXXXXX", msg[24], *end, note[64];
	struct host_limits lim = { 0, 0 };
	struct host_project proj = { "bench", 1, "" };
	struct host *h = NULL;
	struct host_instance *in = NULL;
	struct bench_stats s_wit, s_dir, s_empty;
	struct buf err;
	double *t_wit = NULL, *t_dir = NULL, *t_empty = NULL;
	unsigned long calls = 1000, samples = 200, i;
	json_t *args = NULL;
	int rc, status = 1, have_cache = 0;

	buf_init(&err, 4096);
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: wit_roundtrip RT.wasm [CALLS "
		    "[SAMPLES]]\n");
		return 2;
	}
	if (argc >= 3 && ((calls = strtoul(argv[2], &end, 10)) < 1 ||
	    calls > 1000000 || *end != '\0')) {
		fprintf(stderr, "wit_roundtrip: bad CALLS '%s'\n", argv[2]);
		return 2;
	}
	if (argc == 4 && ((samples = strtoul(argv[3], &end, 10)) < 1 ||
	    samples > 1000000 || *end != '\0')) {
		fprintf(stderr, "wit_roundtrip: bad SAMPLES '%s'\n", argv[3]);
		return 2;
	}
	memset(r.payload, 'x', sizeof(r.payload));
	snprintf(msg, sizeof(msg), "%lu", calls);
	t_wit = calloc(samples, sizeof(double));
	t_dir = calloc(samples, sizeof(double));
	t_empty = calloc(samples, sizeof(double));
	args = json_pack("{s:s}", "path", "bench.txt");
	if (t_wit == NULL || t_dir == NULL || t_empty == NULL ||
	    args == NULL) {
		fprintf(stderr, "wit_roundtrip: out of memory\n");
		goto out;
	}
	/* A private cache: never the user's, and removed at the end. */
	if (mkdtemp(cache) == NULL) {
		perror("wit_roundtrip: mkdtemp");
		goto out;
	}
	have_cache = 1;
	if ((rc = host_new(&h, argv[1], cache, &lim, &err)) != 0 ||
	    (rc = host_instance_new(h, &rt_imports, &r, &in, &err)) != 0 ||
	    (rc = host_instance_init(in, "0123456789abcdef0123456789abcdef",
	    &proj, &err)) != 0) {
		fprintf(stderr, "wit_roundtrip: %s\n", err.len ? err.data :
		    ward_strerror(rc));
		goto out;
	}
	for (i = 0; i < WARMUP; i++) {
		if (wit_sample(in, &r, msg, calls) < 0 ||
		    wit_sample(in, &r, "0", 0) < 0)
			goto out;
		direct_sample(&r, args, calls);
	}
	/* Interleaved, so that drift (frequency, other load) hits both. */
	for (i = 0; i < samples; i++) {
		if ((t_wit[i] = wit_sample(in, &r, msg, calls)) < 0 ||
		    (t_empty[i] = wit_sample(in, &r, "0", 0)) < 0)
			goto out;
		t_dir[i] = direct_sample(&r, args, calls);
	}
	bench_stats(t_wit, samples, &s_wit);
	bench_stats(t_dir, samples, &s_dir);
	bench_stats(t_empty, samples, &s_empty);
	bench_title("WIT round trip: tools.file-read returning 4 KiB "
	    "(DESIGN §7, budget 100 us)");
	printf("  %lu calls a sample; per-call times are sample / %lu\n",
	    calls, calls);
	bench_columns();
	bench_row("file-read through WIT, per call", &s_wit,
	    (double)calls, "ns", NULL);
	snprintf(note, sizeof(note), "WIT = %.1fx this",
	    s_wit.median / s_dir.median);
	bench_row("baseline: callback + 4 KiB copy in C, per call", &s_dir,
	    (double)calls, "ns", note);
	bench_row("export call with 0 file-reads (whole call)", &s_empty,
	    1, "ns", NULL);
	printf("  the budget covers WIT -> policy -> audit -> redaction; this "
	    "build has\n  only the WIT part, so the verdict is for that "
	    "share\n");
	bench_verdict("WIT file-read", s_wit.median / (double)calls / 1000, 100, "us");
	status = 0;
out:
	host_instance_free(in);
	host_free(h);
	if (have_cache)
		nftw(cache, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	json_decref(args);
	buf_free(&err);
	free(t_wit);
	free(t_dir);
	free(t_empty);
	return status;
}
