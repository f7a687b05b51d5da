/*
 * Policy decision time (DESIGN §7: a 20-part compound command against
 * 1,000 patterns, budget 5 us median), printed beside the shell parse of
 * the same line alone and the two together, so the share of each is
 * visible. The decision is what the budget is about; the parse is the
 * tree-sitter front end's cost, reported beside it as the issue asks.
 * Also the path decision a file_read makes (its share of the 100 us
 * file_read budget), beside a bare realpath() of the same file.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "policy/cmdpat.h"
#include "policy/policy.h"
#include "policy/shell.h"

#define NPAT	1000
#define NSAMP	2000

static const char bench_manifest[] =
	"schema_version = 1\n"
	"[capabilities.allow.read]\n"
	"default_files = [\"*.c\", \"*.h\", \"*.md\", \"Makefile\"]\n"
	"paths = [\"src/**\", \"tests/**\", { path = \".\", files = "
	"[\"README.md\"] }]\n"
	"[capabilities.deny.read]\n"
	"default_files = [\"*.key\", \"*.pem\", \".env\", \".env.*\"]\n"
	"paths = [\"**\"]\n";

/* policy_path for src/lib/a.c in a throwaway project, beside realpath(). */
static int
bench_paths(void)
{
	char dir[] = "/tmp/ward-bench-policy.XXXXXX", p[PATH_MAX];
	char real[PATH_MAX];
	struct manifest *m;
	struct policy *pol;
	struct pathpat_result res;
	struct bench_stats st;
	double *dec, *rp;
	uint64_t t0;
	int i, rc = 1;

	dec = calloc(NSAMP, sizeof(*dec));
	rp = calloc(NSAMP, sizeof(*rp));
	if (dec == NULL || rp == NULL || mkdtemp(dir) == NULL)
		return 1;
	snprintf(p, sizeof(p), "%s/src", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/src/lib", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/src/lib/a.c", dir);
	fclose(fopen(p, "w"));
	if (manifest_parse("ward.toml", bench_manifest,
	    strlen(bench_manifest), &m, NULL) != 0 ||
	    policy_new(dir, m, &pol) != 0)
		goto out;
	for (i = 0; i < NSAMP; i++) {
		t0 = bench_now_ns();
		if (policy_path(pol, "src/lib/a.c", PATHPAT_READ, &res,
		    NULL) != 0 || !res.allow)
			goto out;
		dec[i] = (double)(bench_now_ns() - t0);
		pathpat_result_clear(&res);
		t0 = bench_now_ns();
		if (realpath(p, real) == NULL)
			goto out;
		rp[i] = (double)(bench_now_ns() - t0);
	}
	bench_title("path decision for a file_read (share of the 100 us "
	    "file_read budget)");
	bench_columns();
	bench_stats(dec, NSAMP, &st);
	bench_row("policy_path(src/lib/a.c, read)", &st, 1000, "us", NULL);
	bench_stats(rp, NSAMP, &st);
	bench_row("baseline: realpath() of the same file", &st, 1000, "us",
	    NULL);
	policy_free(pol);
	rc = 0;
out:
	unlink(p);
	snprintf(p, sizeof(p), "%s/src/lib", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/src", dir);
	rmdir(p);
	rmdir(dir);
	free(dec);
	free(rp);
	return rc;
}

int
main(void)
{
	static struct cmdpat allow[NPAT], deny[2];
	struct cmdpat_rules r;
	struct cmdpat_result res;
	struct cmdpat_index *ix;
	struct shell_list *l;
	struct bench_stats st;
	struct buf err, line;
	double *parse, *decide, *total;
	char text[64];
	uint64_t t0;
	int i;

	buf_init(&err, 0);
	buf_init(&line, 0);
	for (i = 0; i < NPAT; i++) {
		snprintf(text, sizeof(text), "tool%d sub%d:*", i, i % 7);
		if (cmdpat_parse(text, 0, &allow[i], &err) != 0)
			return 1;
	}
	cmdpat_parse("rm:*", 0, &deny[0], &err);
	cmdpat_parse("curl:*", 0, &deny[1], &err);
	r.allow = allow;
	r.nallow = NPAT;
	r.deny = deny;
	r.ndeny = 2;
	r.runtime_expansion = 1;
	r.forbid = 0;
	r.redirects = CMDPAT_REDIR_MERGE;
	r.file = NULL;
	r.file_arg = NULL;
	if (cmdpat_index_new(allow, NPAT, deny, 2, &ix) != 0)
		return 1;
	r.index = ix;
	for (i = 0; i < 20; i++)
		buf_printf(&line, "%stool%d sub%d --flag value%d", i ? " && " : "",
		    i * 37, (i * 37) % 7, i);
	parse = calloc(NSAMP, sizeof(*parse));
	decide = calloc(NSAMP, sizeof(*decide));
	total = calloc(NSAMP, sizeof(*total));
	if (parse == NULL || decide == NULL || total == NULL)
		return 1;
	for (i = 0; i < NSAMP; i++) {
		t0 = bench_now_ns();
		if (shell_parse(line.data, line.len, &l, &err) != 0 ||
		    shell_unwrap(l, &err) != 0)
			return 1;
		parse[i] = (double)(bench_now_ns() - t0);
		t0 = bench_now_ns();
		if (cmdpat_decide_list(&r, l, &res) != 0)
			return 1;
		decide[i] = (double)(bench_now_ns() - t0);
		shell_list_free(l);
		if (res.decision != CMDPAT_ALLOW || res.nparts != 20) {
			fprintf(stderr, "policy bench: unexpected decision\n");
			return 1;
		}
		cmdpat_result_clear(&res);
		t0 = bench_now_ns();
		if (cmdpat_decide(&r, line.data, &res, &err) != 0)
			return 1;
		total[i] = (double)(bench_now_ns() - t0);
		cmdpat_result_clear(&res);
	}
	bench_title("policy decision: 20-part command, 1,000 patterns "
	    "(DESIGN §7, budget 5 us)");
	bench_columns();
	bench_stats(decide, NSAMP, &st);
	bench_row("decision of the parsed line (indexed patterns)", &st,
	    1000, "us", NULL);
	bench_stats(parse, NSAMP, &st);
	bench_row("shell parse + unwrap alone", &st, 1000, "us", NULL);
	bench_stats(total, NSAMP, &st);
	bench_row("parse + decision (cmdpat_decide)", &st, 1000, "us", NULL);
	bench_stats(decide, NSAMP, &st);
	bench_verdict("policy decision", st.median / 1000, 5, "us");
	cmdpat_index_free(ix);
	free(parse);
	free(decide);
	free(total);
	if (bench_paths() != 0) {
		fprintf(stderr, "policy bench: the path decision failed\n");
		return 1;
	}
	buf_free(&line);
	buf_free(&err);
	return 0;
}
