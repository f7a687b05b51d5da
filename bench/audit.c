/*
 * Audit log throughput (DESIGN §7: appends >= 100,000 records/s with group
 * commit, verification >= 500,000 records/s), as time per record beside
 * the same bytes written raw (sequential write, one fdatasync) and read
 * raw (sequential read), measured in the same run. THREADS writers share
 * one log, as a session's host calls would; each append returns only once
 * its record is on disk.
 *
 *	audit [RECORDS [THREADS [RUNS]]]
 */
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "bench.h"

static struct audit_log *blog;
static int per_thread;

static void *
bench_writer(void *arg)
{
	json_t *j;
	int i;

	/* The caller's record, built once: its cost is not the log's. */
	j = json_pack("{s:s, s:s, s:i, s:s, s:s}", "tool", "file_read",
	    "path", "src/lib/buf.c", "bytes", 4096, "decision", "allow",
	    "rule", "capabilities.allow.read.paths[0]");
	for (i = 0; i < per_thread; i++) {
		if (j == NULL || audit_append(blog, "host_call", j) != 0) {
			fprintf(stderr, "bench: append failed\n");
			exit(1);
		}
	}
	json_decref(j);
	(void)arg;
	return NULL;
}

static char *
bench_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0)
		exit(1);
	rewind(f);
	if ((s = malloc((size_t)len)) == NULL ||
	    fread(s, 1, (size_t)len, f) != (size_t)len)
		exit(1);
	fclose(f);
	*n = (size_t)len;
	return s;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/ward-bench-audit.XXXXXX", path[128], raw[128];
	const struct audit_opts o = { "ward.bench/audit", 0, 0 };
	int records = argc > 1 ? atoi(argv[1]) : 200000;
	int threads = argc > 2 ? atoi(argv[2]) : 64;
	int runs = argc > 3 ? atoi(argv[3]) : 5;
	double *app, *wr, *ver, *rd;
	struct audit_report rep;
	struct keyfile_key k;
	struct bench_stats st;
	pthread_t *th;
	uint64_t t0, nrec = 0;
	char *bytes, chunk[1 << 16];
	size_t n, off;
	int r, i, fd;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL || records < threads ||
	    threads < 1 || runs < 1)
		return 1;
	per_thread = records / threads;
	crypto_sign_keypair(k.pk, k.sk);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(raw, sizeof(raw), "%s/raw", dir);
	app = calloc((size_t)runs, sizeof(double));
	wr = calloc((size_t)runs, sizeof(double));
	ver = calloc((size_t)runs, sizeof(double));
	rd = calloc((size_t)runs, sizeof(double));
	th = calloc((size_t)threads, sizeof(*th));
	if (app == NULL || wr == NULL || ver == NULL || rd == NULL ||
	    th == NULL)
		return 1;
	for (r = 0; r < runs; r++) {
		unlink(path);
		snprintf(chunk, sizeof(chunk), "%s.checkpoint", path);
		unlink(chunk);
		if (audit_open(path, &k, &o, &blog, NULL) != 0)
			return 1;
		t0 = bench_now_ns();
		for (i = 0; i < threads; i++)
			pthread_create(&th[i], NULL, bench_writer, NULL);
		for (i = 0; i < threads; i++)
			pthread_join(th[i], NULL);
		if (audit_close(blog) != 0)
			return 1;
		app[r] = (double)(bench_now_ns() - t0) /
		    ((double)per_thread * threads);

		/* The same bytes, raw: sequential writes, one fdatasync. */
		bytes = bench_slurp(path, &n);
		unlink(raw);
		if ((fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
			return 1;
		t0 = bench_now_ns();
		for (off = 0; off < n; off += sizeof(chunk))
			if (write(fd, bytes + off, n - off < sizeof(chunk) ?
			    n - off : sizeof(chunk)) == -1)
				return 1;
		fdatasync(fd);
		wr[r] = (double)(bench_now_ns() - t0) /
		    ((double)per_thread * threads);
		close(fd);
		free(bytes);

		t0 = bench_now_ns();
		if (audit_verify(path, k.pk, NULL, NULL, NULL, &rep) != 0) {
			fprintf(stderr, "bench: %s\n", rep.why.data);
			return 1;
		}
		nrec = rep.records;
		ver[r] = (double)(bench_now_ns() - t0) / (double)nrec;
		audit_report_free(&rep);

		if ((fd = open(path, O_RDONLY)) == -1)
			return 1;
		t0 = bench_now_ns();
		while (read(fd, chunk, sizeof(chunk)) > 0)
			;
		rd[r] = (double)(bench_now_ns() - t0) / (double)nrec;
		close(fd);
	}

	bench_title("audit log: time per record");
	printf("  %d records from %d threads, %llu with checkpoints, %d runs\n",
	    per_thread * threads, threads, (unsigned long long)nrec, runs);
	bench_columns();
	bench_stats(app, (size_t)runs, &st);
	bench_row("append (group commit, durable)", &st, 1e3, "us", NULL);
	printf("    = %.0f records/s\n", 1e9 / st.median);
	bench_verdict("append", st.median / 1e3, 10.0, "us/record");
	bench_stats(wr, (size_t)runs, &st);
	bench_row("raw write of the same bytes", &st, 1e3, "us", "baseline");
	bench_stats(ver, (size_t)runs, &st);
	bench_row("verify", &st, 1e3, "us", NULL);
	printf("    = %.0f records/s\n", 1e9 / st.median);
	bench_verdict("verify", st.median / 1e3, 2.0, "us/record");
	bench_stats(rd, (size_t)runs, &st);
	bench_row("raw read of the same bytes", &st, 1e3, "us", "baseline");

	unlink(path);
	unlink(raw);
	snprintf(chunk, sizeof(chunk), "%s.checkpoint", path);
	unlink(chunk);
	rmdir(dir);
	keyfile_clear(&k);
	return 0;
}
