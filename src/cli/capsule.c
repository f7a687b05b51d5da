/*
 * `ward capsule run` (DESIGN §4): runs an untrusted WASI program (a preview
 * 1 module or a preview 2 component) through the capsule with only the directories, variables and arguments
 * named on the command line. Exit status: the program's own; 124 timeout;
 * 1 a trap or a quota stop (fuel, memory, stack) or a module that cannot
 * run; 2 usage; 111 system error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "../capsule/capsule.h"
#include "../lib/err.h"
#include "../lib/utf8.h"
#include "../lib/xdg.h"

#define CAPSULE_STDIN_MAX	(16u << 20)
#define CAPSULE_CLI_DIRS	64
#define CAPSULE_CLI_ENV		256

static void
capsule_usage(FILE *f)
{
	fputs("usage: ward capsule run MODULE.wasm [--dir HOST[:GUEST][:ro|:rw]]"
	    "...\n"
	    "           [--env K=V]... [--fuel N] [--memory BYTES] "
	    "[--timeout SECONDS]\n"
	    "           [--json] [-- ARGS...]\n"
	    "\n"
	    "Run an untrusted WASI program (a preview 1 command module or "
	    "a preview 2\n"
	    "command component) with only what is granted: no files but "
	    "the directories\n"
	    "given, no environment but the variables given, no network, "
	    "and hard limits\n"
	    "on CPU, memory, time and output.\n"
	    "\n"
	    "  --dir HOST[:GUEST][:ro|:rw]  preopen HOST as GUEST (default: "
	    "the same\n"
	    "                  name), read-only unless :rw\n"
	    "  --env K=V       set one variable (nothing is inherited)\n"
	    "  --fuel N        CPU budget in wasm fuel units (default 10^11)\n"
	    "  --memory BYTES  linear memory cap, with an optional K, M or G "
	    "suffix\n"
	    "                  (binary; default 256M, at most 4G)\n"
	    "  --timeout S     wall-clock seconds, decimals allowed "
	    "(default 10)\n"
	    "  --json          print one JSON object instead of the output\n"
	    "  -h, --help      show this help\n"
	    "\n"
	    "stdin is passed (at most 16 MiB, read before the program "
	    "starts) unless it\n"
	    "is a terminal; stdout and stderr are kept up to 1 MiB each and "
	    "the rest is\n"
	    "dropped (ward says so). Compiled modules are cached in "
	    "$XDG_STATE_HOME/ward/cache.\n"
	    "Exit status: the program's; 124 timeout; 1 a trap, a quota "
	    "stop (fuel,\n"
	    "memory, stack) or a module that cannot run; 2 usage; 111 system "
	    "error.\n", f);
}

/* Prints s to f; on a terminal nothing in it can act on the terminal. */
static void
capsule_put(FILE *f, const char *s, size_t n)
{
	struct buf b;

	if (n == 0)
		return;
	if (!isatty(fileno(f))) {
		fwrite(s, 1, n, f);
		return;
	}
	buf_init(&b, 0);
	if (utf8_visible(&b, s, n, UTF8_KEEP_LF | UTF8_KEEP_TAB) == 0 &&
	    b.data != NULL)
		fwrite(b.data, 1, b.len, f);
	buf_free(&b);
}

/* Parses HOST[:GUEST][:ro|:rw] in place (s is the caller's copy). */
static int
capsule_parse_dir(char *s, struct capsule_dir *d)
{
	char *c;

	memset(d, 0, sizeof(*d));
	if ((c = strrchr(s, ':')) != NULL &&
	    (strcmp(c, ":ro") == 0 || strcmp(c, ":rw") == 0)) {
		d->writable = c[2] == 'w';
		*c = '\0';
	}
	if ((c = strchr(s, ':')) != NULL) {
		*c = '\0';
		d->guest = c + 1;
		if (*d->guest == '\0' || strchr(d->guest, ':') != NULL)
			return WARD_EINVAL;
	}
	d->host = s;
	return *s == '\0' ? WARD_EINVAL : 0;
}

/* Parses BYTES with an optional binary K, M or G suffix. */
static int
capsule_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return WARD_EINVAL;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return WARD_EINVAL;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift != 0)
		end++;
	if (*end != '\0' || v == 0 || v > (CAPSULE_MEMORY_MAX >> shift))
		return WARD_EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/*
 * Reads stdin whole, before the program starts: the capsule takes stdin as
 * bytes in its spec (the child's own stdin is the spec's memfd, and no
 * descriptor of ours reaches the guest). A guest blocked in a host call is
 * stopped at its deadline all the same; it is a writer that never closes
 * the pipe that this read must not wait on forever, so it gives up a
 * second after the timeout.
 */
static int
capsule_read_stdin(struct buf *b, unsigned timeout_ms)
{
	struct timespec now, end;
	struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
	char chunk[65536];
	long left;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000 + 1;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (long)(end.tv_sec - now.tv_sec) * 1000 +
		    (end.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			return WARD_ETIMEOUT;
		if (poll(&p, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return WARD_EIO;
		}
		if (p.revents == 0)
			continue;
		if ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return WARD_EIO;
		}
		if (n == 0)
			return 0;
		if (buf_add(b, chunk, (size_t)n) != 0)
			return WARD_ETOOBIG;
	}
}

static json_t *
capsule_json_text(const struct buf *b)
{
	struct buf s;
	json_t *j;

	buf_init(&s, 0);
	if (utf8_sanitize(&s, b->data ? b->data : "", b->len) != 0) {
		buf_free(&s);
		return NULL;
	}
	j = json_stringn(s.data ? s.data : "", s.len);
	buf_free(&s);
	return j;
}

static int
capsule_json(const struct capsule_result *r)
{
	json_t *doc, *error;
	int ok = r->stop == CAPSULE_EXITED && r->exit_code == 0;

	if (r->message[0] != '\0' && !(r->stop == CAPSULE_EXITED))
		error = json_pack("{s:s, s:s}", "type",
		    capsule_stop_name(r->stop), "message", r->message);
	else
		error = json_null();
	doc = json_pack("{s:b, s:o, s:o, s:o, s:b, s:b, s:o, s:I, s:I, s:I}",
	    "success", ok,
	    "exit_code", r->exit_code >= 0 ? json_integer(r->exit_code) :
	    json_null(),
	    "stdout", capsule_json_text(&r->out),
	    "stderr", capsule_json_text(&r->err),
	    "stdout_truncated", r->out_truncated,
	    "stderr_truncated", r->err_truncated,
	    "error", error,
	    "fuel_consumed", (json_int_t)r->fuel_consumed,
	    "peak_memory_bytes", (json_int_t)r->peak_memory,
	    "duration_ms", (json_int_t)(r->duration_us / 1000));
	if (doc == NULL || json_dumpf(doc, stdout, JSON_COMPACT) != 0) {
		json_decref(doc);
		return WARD_ENOMEM;
	}
	json_decref(doc);
	putchar('\n');
	return 0;
}

/* The JSON error object for a module that could not run. */
static void
capsule_json_fail(const char *type, const char *msg)
{
	json_t *doc;

	doc = json_pack("{s:b, s:n, s:s, s:s, s:b, s:b, s:{s:s, s:s}, s:i, "
	    "s:i, s:i}", "success", 0, "exit_code", "stdout", "", "stderr", "",
	    "stdout_truncated", 0, "stderr_truncated", 0,
	    "error", "type", type, "message", msg,
	    "fuel_consumed", 0, "peak_memory_bytes", 0, "duration_ms", 0);
	if (doc != NULL && json_dumpf(doc, stdout, JSON_COMPACT) == 0)
		putchar('\n');
	json_decref(doc);
}

static int
capsule_run_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir",	required_argument, NULL, 'd' },
		{ "env",	required_argument, NULL, 'e' },
		{ "fuel",	required_argument, NULL, 'f' },
		{ "memory",	required_argument, NULL, 'm' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "json",	no_argument, NULL, 'j' },
		{ "help",	no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct capsule_dir dirs[CAPSULE_CLI_DIRS];
	const char *env[CAPSULE_CLI_ENV];
	char *copies[CAPSULE_CLI_DIRS], *state = NULL, *cache = NULL, *end;
	struct capsule_spec spec;
	struct capsule_result r;
	struct buf err, in;
	unsigned long long fuel;
	double secs;
	size_t i, ndirs = 0;
	int c, rc, json = 0, ret = WARD_EXIT_USAGE;

	memset(&spec, 0, sizeof(spec));
	memset(&r, 0, sizeof(r));
	buf_init(&err, 0);
	buf_init(&in, CAPSULE_STDIN_MAX);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (ndirs == CAPSULE_CLI_DIRS) {
				fprintf(stderr, "ward capsule: at most %d "
				    "--dir\n", CAPSULE_CLI_DIRS);
				goto out;
			}
			if ((copies[ndirs] = strdup(optarg)) == NULL) {
				ret = WARD_EXIT_SYSERR;
				goto out;
			}
			ndirs++;
			if (capsule_parse_dir(copies[ndirs - 1],
			    &dirs[ndirs - 1]) != 0) {
				fprintf(stderr, "ward capsule: --dir takes "
				    "HOST[:GUEST][:ro|:rw]\n");
				goto out;
			}
			break;
		case 'e':
			if (spec.nenv == CAPSULE_CLI_ENV ||
			    strchr(optarg, '=') == NULL || *optarg == '=') {
				fprintf(stderr, "ward capsule: --env takes "
				    "K=V (at most %d)\n", CAPSULE_CLI_ENV);
				goto out;
			}
			env[spec.nenv++] = optarg;
			break;
		case 'f':
			errno = 0;
			fuel = strtoull(optarg, &end, 10);
			if (*optarg < '1' || *optarg > '9' || *end != '\0' ||
			    errno != 0) {
				fprintf(stderr, "ward capsule: --fuel takes a "
				    "positive integer\n");
				goto out;
			}
			spec.fuel = fuel;
			break;
		case 'm':
			if (capsule_parse_size(optarg, &spec.memory) != 0) {
				fprintf(stderr, "ward capsule: --memory takes "
				    "bytes (K, M, G suffixes) up to 4G\n");
				goto out;
			}
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(secs >= 0.001) ||
			    secs > CAPSULE_TIMEOUT_MAX / 1000) {
				fprintf(stderr, "ward capsule: --timeout takes "
				    "seconds from 0.001 to 86400\n");
				goto out;
			}
			spec.timeout_ms = (unsigned)(secs * 1000 + 0.5);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			capsule_usage(stdout);
			ret = WARD_EXIT_OK;
			goto out;
		default:
			capsule_usage(stderr);
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ward capsule: give the module to run\n");
		capsule_usage(stderr);
		goto out;
	}
	spec.module = argv[optind];
	spec.argv = (const char *const *)argv + optind + 1;
	spec.argc = (size_t)(argc - optind - 1);
	spec.env = env;
	spec.dirs = dirs;
	spec.ndirs = ndirs;
	if (spec.timeout_ms == 0)
		spec.timeout_ms = CAPSULE_TIMEOUT_DEFAULT;
	/* A terminal is not handed over: the program would wait on it. */
	if (!isatty(STDIN_FILENO)) {
		if ((rc = capsule_read_stdin(&in, spec.timeout_ms)) != 0) {
			fprintf(stderr, "ward capsule: cannot read stdin: %s\n",
			    rc == WARD_ETOOBIG ? "more than 16 MiB" :
			    ward_strerror(rc));
			ret = rc == WARD_ETIMEOUT ? WARD_EXIT_TIMEOUT :
			    WARD_EXIT_FAIL;
			goto out;
		}
		spec.stdin_data = in.data != NULL ? in.data : "";
		spec.stdin_len = in.len;
	}
	/* No cache is better than an unsafe one: the run goes on without. */
	if (xdg_dir(XDG_STATE, &state) == 0 &&
	    asprintf(&cache, "%s/cache", state) == -1)
		cache = NULL;
	if (cache != NULL && xdg_mkdirs(cache) == 0)
		spec.cache_dir = cache;
	if ((rc = capsule_run(&spec, &r, &err)) != 0) {
		if (json)
			capsule_json_fail(rc == WARD_EINVAL || rc == WARD_ENOENT ||
			    rc == WARD_ETOOBIG ? "module" : "system",
			    err.data ? err.data : ward_strerror(rc));
		fputs("ward capsule: ", stderr);
		capsule_put(stderr, err.data ? err.data : ward_strerror(rc),
		    err.data ? err.len : strlen(ward_strerror(rc)));
		fputc('\n', stderr);
		ret = rc == WARD_EINVAL || rc == WARD_ENOENT ||
		    rc == WARD_ETOOBIG ? WARD_EXIT_FAIL : WARD_EXIT_SYSERR;
		goto out;
	}
	if (json) {
		if (capsule_json(&r) != 0) {
			ret = WARD_EXIT_SYSERR;
			goto out;
		}
	} else {
		capsule_put(stdout, r.out.data, r.out.len);
		fflush(stdout);
		capsule_put(stderr, r.err.data, r.err.len);
		if (r.out_truncated || r.err_truncated)
			fprintf(stderr, "\nward capsule: output truncated: "
			    "%s%s%s kept to %zu bytes, the rest dropped\n",
			    r.out_truncated ? "stdout" : "",
			    r.out_truncated && r.err_truncated ? " and " : "",
			    r.err_truncated ? "stderr" : "",
			    (size_t)CAPSULE_OUTPUT_DEFAULT);
		if (r.stop != CAPSULE_EXITED)
			fprintf(stderr, "ward capsule: %s\n", r.message);
	}
	if (r.stop == CAPSULE_EXITED)
		ret = r.exit_code;
	else if (r.stop == CAPSULE_TIMEOUT)
		ret = WARD_EXIT_TIMEOUT;
	else
		ret = WARD_EXIT_FAIL;
out:
	for (i = 0; i < ndirs; i++)
		free(copies[i]);
	capsule_result_clear(&r);
	buf_free(&err);
	buf_free(&in);
	free(state);
	free(cache);
	return ret;
}

int
cmd_capsule(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return capsule_run_cmd(argc - 1, argv + 1);
	/* capsule_run's child: not a user command. */
	if (argc == 2 && strcmp(argv[1], CAPSULE_CHILD_ARG) == 0)
		return capsule_child_main();
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		capsule_usage(stdout);
		return WARD_EXIT_OK;
	}
	capsule_usage(stderr);
	return WARD_EXIT_USAGE;
}
