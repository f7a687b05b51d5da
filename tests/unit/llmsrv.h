/*
 * The loopback model server for the provider tests: starts
 * tests/integ/llm_server.py in a temp dir, queues its answers and reads
 * back the requests it received (JSON lines; see the script's docstring).
 */
#ifndef WARD_TEST_LLMSRV_H
#define WARD_TEST_LLMSRV_H

#include <sys/wait.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"

static char srv_dir[PATH_MAX];
static pid_t srv_pid = -1;
static int srv_port;

static inline void
srv_path(char *dst, const char *name)
{
	if ((size_t)snprintf(dst, PATH_MAX, "%s/%s", srv_dir, name) >=
	    PATH_MAX)
		die("path too long");
}

/* Starts the server and points the provider variables at it; the caller
 * sets the API keys. Proxies are cleared so loopback stays direct. */
static inline void
srv_start(void)
{
	char port[PATH_MAX], url[64];
	FILE *f;
	int i;

	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	snprintf(srv_dir, sizeof(srv_dir), "/tmp/ward-llmsrv.XXXXXX");
	if (mkdtemp(srv_dir) == NULL)
		die("mkdtemp");
	if ((srv_pid = fork()) == -1)
		die("fork");
	if (srv_pid == 0) {
		execlp("python3", "python3", "tests/integ/llm_server.py",
		    srv_dir, (char *)NULL);
		_exit(127);
	}
	srv_path(port, "port");
	/* Bounded in tries, not in time a test asserts on. */
	for (i = 0; i < 3000 && (f = fopen(port, "r")) == NULL; i++)
		usleep(10000);
	if (f == NULL || fscanf(f, "%d", &srv_port) != 1)
		die("llm_server.py did not start");
	fclose(f);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv_port);
	setenv("ANTHROPIC_BASE_URL", url, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", srv_port);
	setenv("OPENAI_BASE_URL", url, 1);
	setenv("WARD_LLM_RETRY_MS", "5", 1);
}

static inline void
srv_stop(void)
{
	if (srv_pid > 0) {
		kill(srv_pid, SIGTERM);
		waitpid(srv_pid, NULL, 0);
		srv_pid = -1;
	}
	rm_tree(srv_dir);
}

/* Replaces the queue of answers with these JSON lines. Clears the
 * request log too, so each case sees only its own requests. */
static inline void
srv_queue(const char *lines)
{
	char p[PATH_MAX];
	FILE *f;

	srv_path(p, "requests");
	unlink(p);
	srv_path(p, "queue");
	if ((f = fopen(p, "w")) == NULL || fputs(lines, f) == EOF ||
	    fclose(f) != 0)
		die(p);
}

/* The requests received since srv_queue: a JSON array (caller decrefs). */
static inline json_t *
srv_requests(void)
{
	char p[PATH_MAX];
	json_t *a = json_array(), *r;
	char *big = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	srv_path(p, "requests");
	if ((f = fopen(p, "r")) == NULL)
		return a;
	while ((n = getline(&big, &cap, f)) > 0) {
		if ((r = json_loads(big, 0, NULL)) == NULL)
			die("bad request log");
		json_array_append_new(a, r);
	}
	free(big);
	fclose(f);
	return a;
}

/* The body of request i as JSON (caller decrefs; NULL if not JSON). */
static inline json_t *
srv_body(json_t *reqs, size_t i)
{
	return json_loads(json_string_value(json_object_get(
	    json_array_get(reqs, i), "body")), 0, NULL);
}

static inline const char *
srv_header(json_t *reqs, size_t i, const char *name)
{
	return json_string_value(json_object_get(json_object_get(
	    json_array_get(reqs, i), "headers"), name));
}

#endif
