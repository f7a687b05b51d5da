/*
 * Tests for the confined file tools against a real temporary project: the
 * escapes (.., absolute paths, symlinks out) must be refused by the kernel
 * lookups, and the results must be sorted, capped and valid UTF-8.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/tools.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "tap.h"
#include "util.h"

#define REPL	"\xef\xbf\xbd"		/* U+FFFD */
#define ELLIP	"\xe2\x80\xa6"		/* U+2026 */
#define EACUTE	"\xc3\xa9"		/* U+00E9 */

static char root[PATH_MAX], outside[PATH_MAX], evil[PATH_MAX + 8];
static char root2[PATH_MAX];

static void
put(const char *dir, const char *rel, const char *data, size_t n)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((f = fopen(path, "wb")) == NULL)
		die(path);
	if (n > 0 && fwrite(data, 1, n, f) != n)
		die(path);
	if (fclose(f) != 0)
		die(path);
}

static void
puts_file(const char *dir, const char *rel, const char *s)
{
	put(dir, rel, s, strlen(s));
}

static void
mkdir_in(const char *dir, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (mkdir(path, 0755) == -1)
		die(path);
}

static void
symlink_in(const char *dir, const char *rel, const char *target)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (symlink(target, path) == -1)
		die(path);
}

static void
mkfifo_in_root(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (mkfifo(path, 0600) == -1)
		die(path);
}

static void
mktemp_dir(char *dst, const char *tmpl)
{
	char t[PATH_MAX];

	snprintf(t, sizeof(t), "%s", tmpl);
	if (mkdtemp(t) == NULL)
		die("mkdtemp");
	/* The tools compare absolute paths with the root's realpath. */
	if (realpath(t, dst) == NULL)
		die("realpath");
}


/* Every fd the tools open must be closed again, on every path. */
static int
count_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
setup(void)
{
	char path[PATH_MAX * 2], line[64], *big;
	size_t i, n;

	mktemp_dir(root, "/tmp/ward-tools-XXXXXX");
	mktemp_dir(outside, "/tmp/ward-outside-XXXXXX");
	mktemp_dir(root2, "/tmp/ward-tools2-XXXXXX");
	/* A sibling that shares the root's name as a string prefix. */
	snprintf(evil, sizeof(evil), "%s-evil", root);
	if (mkdir(evil, 0755) == -1)
		die(evil);
	puts_file(evil, "secret.txt", "SECRET\n");
	puts_file(outside, "secret.txt", "SECRET\n");

	puts_file(root, "a.txt", "one\ntwo\nthree\n");
	puts_file(root, "noeol.txt", "x\ny");
	puts_file(root, "empty.txt", "");
	mkdir_in(root, "src");
	puts_file(root, "src/main.c", "int main(void)\n{\n\treturn 0;\n}\n");
	puts_file(root, "src/util.c", "static int helper;\n// TODO fix\n");
	puts_file(root, "src/README.md", "# TODO readme\n");
	mkdir_in(root, "src/sub");
	puts_file(root, "src/sub/deep.h", "#define TODO 1\n");
	mkdir_in(root, "src/empty");
	mkdir_in(root, ".git");
	puts_file(root, ".git/config", "TODO in git\n");
	mkdir_in(root, "sub");
	puts_file(root, "sub/.git", "TODO gitdir\n");
	puts_file(root, "sub/x.txt", "TODO x\n");
	put(root, "bin.dat", "ab\0cd TODO\n", 11);
	puts_file(root, "bad.txt", "caf\xe9 TODO\n\xff\xfe end\n"
	    "\xed\xa0\x80 surrogate\nend\xe2\x82");
	puts_file(root, "bad\xffname.txt", "TODO name\n");
	puts_file(root, "caf" EACUTE ".md", "caf" EACUTE "\n");
	symlink_in(root, "link_in", "a.txt");
	snprintf(path, sizeof(path), "%s/a.txt", root);
	symlink_in(root, "link_abs_in", path);
	snprintf(path, sizeof(path), "%s/secret.txt", outside);
	symlink_in(root, "link_out", path);
	snprintf(path, sizeof(path), "../%s/secret.txt",
	    strrchr(outside, '/') + 1);
	symlink_in(root, "link_out_rel", path);
	symlink_in(root, "dirlink_out", outside);
	symlink_in(root, "dirlink_in", "src");
	snprintf(path, sizeof(path), "%s/fifo", root);
	if (mkfifo(path, 0644) == -1)
		die(path);

	/* "a" + 300 x U+00E9 + " NEEDLE", then 2000 'x' + "NEEDLE". */
	n = 0;
	big = malloc(8192);
	if (big == NULL)
		die("malloc");
	big[n++] = 'a';
	for (i = 0; i < 300; i++) {
		memcpy(big + n, EACUTE, 2);
		n += 2;
	}
	memcpy(big + n, " NEEDLE\n", 8);
	n += 8;
	memset(big + n, 'x', 2000);
	n += 2000;
	memcpy(big + n, "NEEDLE\n", 7);
	n += 7;
	put(root, "long.txt", big, n);
	free(big);

	/* root2 is opened with small caps. */
	big = malloc(100);
	if (big == NULL)
		die("malloc");
	for (i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "line-%04zu\n", i + 1);
		memcpy(big + i * 10, line, 10);
	}
	put(root2, "big.txt", big, 100);
	free(big);
	big = malloc(31);
	if (big == NULL)
		die("malloc");
	memset(big, 0xff, 30);
	big[30] = '\n';
	put(root2, "inv.txt", big, 31);
	free(big);
	mkdir_in(root2, "many");
	for (i = 1; i <= 5; i++) {
		snprintf(line, sizeof(line), "many/f%zu", i);
		puts_file(root2, line, "hit\n");
	}
	puts_file(root2, "m.txt", "hit 1\nhit 2\nhit 3\nhit 4\nhit 5\n");
	puts_file(root2, "two.txt", "two 1\ntwo 2\n");
	/* A line longer than the 1 MiB grep scans, ending in a needle. */
	n = 3 * 1024 * 1024 / 2;
	if ((big = malloc(n + 16)) == NULL)
		die("malloc");
	memset(big, 'y', n);
	memcpy(big + n, "NEEDLE2\n", 8);
	put(root2, "huge.txt", big, n + 8);
	free(big);
}

static void
test_open(void)
{
	struct tools *t = (struct tools *)&t;
	char path[PATH_MAX * 2];

	is_int(tools_open(&t, "/nonexistent/ward/root", NULL), WARD_ENOENT,
	    "open: missing root");
	ok(t == NULL, "open: *out is NULL on failure");
	snprintf(path, sizeof(path), "%s/a.txt", root);
	is_int(tools_open(&t, path, NULL), WARD_EINVAL,
	    "open: a file is not a root");
	is_int(tools_open(&t, "", NULL), WARD_EINVAL, "open: empty root");
	tools_free(NULL);
	ok(1, "free(NULL) is a no-op");
}

static void
test_read(struct tools *t)
{
	struct buf out;
	char path[PATH_MAX * 4];

	buf_init(&out, 0);
	buf_puts(&out, "junk from before");

	is_int(tools_file_read(t, "a.txt", 0, 0, &out), 0, "read a.txt");
	is_str(out.data, "one\ntwo\nthree\n", "read: whole file, out reset");
	is_int(tools_file_read(t, "a.txt", 2, 0, &out), 0, "read offset 2");
	is_str(out.data, "two\nthree\n", "read: from line 2");
	is_int(tools_file_read(t, "a.txt", 2, 1, &out), 0, "read 2+1");
	is_str(out.data, "two\n", "read: one line");
	is_int(tools_file_read(t, "a.txt", 0, 1, &out), 0, "read 0+1");
	is_str(out.data, "one\n", "read: offset 0 is line 1");
	is_int(tools_file_read(t, "a.txt", 3, 100, &out), 0, "read 3+100");
	is_str(out.data, "three\n", "read: limit past the end");
	is_int(tools_file_read(t, "a.txt", 2, UINT64_MAX, &out), 0,
	    "read: huge limit does not overflow");
	is_str(out.data, "two\nthree\n", "read: huge limit");
	is_int(tools_file_read(t, "a.txt", 4, 0, &out), WARD_EINVAL,
	    "read: offset past the end");
	is_str(out.data, "offset 4 is past the end of a.txt (3 lines)",
	    "read: past-the-end message");
	is_int(tools_file_read(t, "a.txt", UINT64_MAX, 5, &out), WARD_EINVAL,
	    "read: huge offset");

	is_int(tools_file_read(t, "noeol.txt", 0, 0, &out), 0, "read noeol");
	is_str(out.data, "x\ny", "read: last line without newline");
	is_int(tools_file_read(t, "noeol.txt", 2, 0, &out), 0,
	    "read noeol line 2");
	is_str(out.data, "y", "read: unterminated last line");
	is_int(tools_file_read(t, "noeol.txt", 3, 0, &out), WARD_EINVAL,
	    "read noeol line 3");
	is_str(out.data, "offset 3 is past the end of noeol.txt (2 lines)",
	    "read: noeol line count");

	is_int(tools_file_read(t, "empty.txt", 0, 0, &out), 0, "read empty");
	is_int(out.len, 0, "read: empty file is empty");
	is_int(tools_file_read(t, "empty.txt", 1, 0, &out), 0,
	    "read empty at line 1");
	is_int(tools_file_read(t, "empty.txt", 2, 0, &out), WARD_EINVAL,
	    "read empty at line 2");
	is_str(out.data, "offset 2 is past the end of empty.txt (0 lines)",
	    "read: empty past-the-end message");

	is_int(tools_file_read(t, "bin.dat", 0, 0, &out), WARD_EINVAL,
	    "read binary");
	is_str(out.data, "binary file: bin.dat", "read: binary message");

	is_int(tools_file_read(t, "bad.txt", 0, 0, &out), 0, "read bad utf-8");
	is_str(out.data, "caf" REPL " TODO\n" REPL REPL " end\n"
	    REPL REPL REPL " surrogate\nend" REPL,
	    "read: invalid UTF-8 replaced");
	is_int(tools_file_read(t, "caf" EACUTE ".md", 0, 0, &out), 0,
	    "read utf-8 name");
	is_str(out.data, "caf" EACUTE "\n", "read: valid UTF-8 kept");

	is_int(tools_file_read(t, "src", 0, 0, &out), WARD_EINVAL,
	    "read a directory");
	is_str(out.data, "src is a directory; use file_list to see what it "
	    "contains", "read: directory message");
	is_int(tools_file_read(t, "fifo", 0, 0, &out), WARD_EINVAL,
	    "read a fifo (does not block)");
	is_str(out.data, "fifo is not a regular file", "read: fifo message");
	is_int(tools_file_read(t, "nope.txt", 0, 0, &out), WARD_ENOENT,
	    "read missing");
	is_str(out.data, "no such file or directory: nope.txt",
	    "read: missing message");
	is_int(tools_file_read(t, "a.txt/x", 0, 0, &out), WARD_ENOENT,
	    "read under a file");
	is_int(tools_file_read(t, "", 0, 0, &out), WARD_EINVAL, "read \"\"");
	is_str(out.data, "empty path", "read: empty path message");
	is_int(tools_file_read(t, NULL, 0, 0, &out), WARD_EINVAL, "read NULL");

	/* Paths that stay inside. */
	is_int(tools_file_read(t, "link_in", 0, 1, &out), 0,
	    "read symlink inside");
	is_str(out.data, "one\n", "read: symlink inside followed");
	is_int(tools_file_read(t, "dirlink_in/util.c", 2, 0, &out), 0,
	    "read via dir symlink inside");
	is_str(out.data, "// TODO fix\n", "read: via dir symlink inside");
	is_int(tools_file_read(t, "src/../a.txt", 0, 1, &out), 0,
	    "read src/../a.txt");
	is_str(out.data, "one\n", "read: .. that stays inside");
	is_int(tools_file_read(t, "./src//sub/./deep.h", 0, 0, &out), 0,
	    "read with . and //");
	is_str(out.data, "#define TODO 1\n", "read: normalised path");
	snprintf(path, sizeof(path), "%s/a.txt", root);
	is_int(tools_file_read(t, path, 0, 1, &out), 0,
	    "read absolute inside");
	is_str(out.data, "one\n", "read: absolute inside");
	snprintf(path, sizeof(path), "%s//src/main.c", root);
	is_int(tools_file_read(t, path, 4, 0, &out), 0,
	    "read absolute with //");
	is_str(out.data, "}\n", "read: absolute with //");
	is_int(tools_file_read(t, root, 0, 0, &out), WARD_EINVAL,
	    "read the root itself");

	/* Escapes. */
	is_int(tools_file_read(t, "../x", 0, 0, &out), WARD_EDENIED,
	    "read ../x");
	is_str(out.data, "path escapes the project root: ../x",
	    "read: ../ message");
	is_int(tools_file_read(t, "src/../../x", 0, 0, &out), WARD_EDENIED,
	    "read src/../../x");
	snprintf(path, sizeof(path), "../%s/secret.txt",
	    strrchr(outside, '/') + 1);
	is_int(tools_file_read(t, path, 0, 0, &out), WARD_EDENIED,
	    "read ../outside/secret.txt");
	ok(strstr(out.data, "SECRET") == NULL, "read: no secret leaked");
	is_int(tools_file_read(t, "link_out", 0, 0, &out), WARD_EDENIED,
	    "read absolute symlink out");
	is_str(out.data, "path escapes the project root: link_out",
	    "read: symlink out message");
	is_int(tools_file_read(t, "link_out_rel", 0, 0, &out), WARD_EDENIED,
	    "read relative symlink out");
	is_int(tools_file_read(t, "link_abs_in", 0, 0, &out), WARD_EDENIED,
	    "read absolute symlink, even to inside");
	is_int(tools_file_read(t, "dirlink_out/secret.txt", 0, 0, &out),
	    WARD_EDENIED, "read through dir symlink out");
	ok(strstr(out.data, "SECRET") == NULL, "read: no secret leaked");
	is_int(tools_file_read(t, "/etc/passwd", 0, 0, &out), WARD_EDENIED,
	    "read /etc/passwd");
	is_str(out.data, "path escapes the project root: /etc/passwd",
	    "read: absolute outside message");
	snprintf(path, sizeof(path), "%s/secret.txt", evil);
	is_int(tools_file_read(t, path, 0, 0, &out), WARD_EDENIED,
	    "read root-prefixed sibling");
	snprintf(path, sizeof(path), "%s/../%s/secret.txt", root,
	    strrchr(outside, '/') + 1);
	is_int(tools_file_read(t, path, 0, 0, &out), WARD_EDENIED,
	    "read absolute root/../outside");
	snprintf(path, sizeof(path), "%s/secret.txt", outside);
	is_int(tools_file_read(t, path, 0, 0, &out), WARD_EDENIED,
	    "read absolute outside");
	buf_free(&out);
}

static void
test_read_caps(struct tools *t)
{
	struct buf out;

	buf_init(&out, 0);
	is_int(tools_file_read(t, "big.txt", 0, 0, &out), WARD_ETOOBIG,
	    "read over the cap");
	is_str(out.data, "big.txt is 100 bytes (10 lines); read at most 64 "
	    "bytes at a time with offset and limit (lines)",
	    "read: too-big message");
	is_int(tools_file_read(t, "big.txt", 3, 6, &out), 0,
	    "read 60 bytes of a big file");
	is_str(out.data, "line-0003\nline-0004\nline-0005\nline-0006\n"
	    "line-0007\nline-0008\n", "read: paged");
	is_int(tools_file_read(t, "big.txt", 3, 7, &out), WARD_ETOOBIG,
	    "read 70 bytes of a big file");
	is_int(tools_file_read(t, "big.txt", 5, 0, &out), 0,
	    "read the tail of a big file");
	is_str(out.data, "line-0005\nline-0006\nline-0007\nline-0008\n"
	    "line-0009\nline-0010\n", "read: tail");
	is_int(tools_file_read(t, "inv.txt", 0, 0, &out), WARD_ETOOBIG,
	    "read: replacement characters count against the cap");
	is_str(out.data, "inv.txt is 31 bytes (1 line); read at most 64 "
	    "bytes at a time with offset and limit (lines)",
	    "read: expansion message");
	buf_free(&out);
}

#define ROOT_LIST							\
	"a.txt\n"							\
	"bad.txt\n"							\
	"bad" REPL "name.txt\n"						\
	"bin.dat\n"							\
	"caf" EACUTE ".md\n"						\
	"dirlink_in\n"							\
	"dirlink_out\n"							\
	"empty.txt\n"							\
	"fifo\n"							\
	"link_abs_in\n"							\
	"link_in\n"							\
	"link_out\n"							\
	"link_out_rel\n"						\
	"long.txt\n"							\
	"noeol.txt\n"							\
	"src/\n"							\
	"src/README.md\n"						\
	"src/empty/\n"							\
	"src/main.c\n"							\
	"src/sub/\n"							\
	"src/sub/deep.h\n"						\
	"src/util.c\n"							\
	"sub/\n"							\
	"sub/x.txt\n"

#define SRC_LIST(p)							\
	p "/README.md\n" p "/empty/\n" p "/main.c\n" p "/sub/\n"	\
	p "/sub/deep.h\n" p "/util.c\n"

static void
test_list(struct tools *t)
{
	struct buf out;
	char path[PATH_MAX * 4];

	buf_init(&out, 0);
	buf_puts(&out, "junk");
	is_int(tools_file_list(t, NULL, NULL, &out), 0, "list root");
	is_str(out.data, ROOT_LIST, "list: whole tree, sorted, no .git");
	is_int(tools_file_list(t, "", "", &out), 0, "list \"\"");
	is_str(out.data, ROOT_LIST, "list: \"\" is the root");
	is_int(tools_file_list(t, root, NULL, &out), 0, "list absolute root");
	is_str(out.data, ROOT_LIST, "list: absolute root");
	is_int(tools_file_list(t, ".", "**", &out), 0, "list . **");
	is_str(out.data, ROOT_LIST, "list: ** matches everything");

	is_int(tools_file_list(t, "src", NULL, &out), 0, "list src");
	is_str(out.data, SRC_LIST("src"), "list: subdirectory");
	is_int(tools_file_list(t, "./src/", NULL, &out), 0, "list ./src/");
	is_str(out.data, SRC_LIST("src"), "list: ./src/ normalised");
	snprintf(path, sizeof(path), "%s/src", root);
	is_int(tools_file_list(t, path, NULL, &out), 0, "list absolute src");
	is_str(out.data, SRC_LIST("src"), "list: absolute made relative");
	is_int(tools_file_list(t, "dirlink_in", NULL, &out), 0,
	    "list a dir symlink inside");
	is_str(out.data, SRC_LIST("dirlink_in"),
	    "list: dir symlink as the start is followed");
	is_int(tools_file_list(t, "a.txt", NULL, &out), 0, "list a file");
	is_str(out.data, "a.txt\n", "list: a file lists itself");
	is_int(tools_file_list(t, "src/main.c", "*.c", &out), 0,
	    "list a file with a pattern");
	is_str(out.data, "src/main.c\n", "list: file pattern sees its name");
	is_int(tools_file_list(t, ".git", NULL, &out), 0,
	    "list .git when asked for");
	is_str(out.data, ".git/config\n", "list: explicit .git");
	is_int(tools_file_list(t, "src/empty", NULL, &out), 0,
	    "list an empty dir");
	is_int(out.len, 0, "list: empty dir is empty");

	/* Globs. */
	is_int(tools_file_list(t, NULL, "*.c", &out), 0, "list *.c");
	is_int(out.len, 0, "list: * does not cross /");
	is_int(tools_file_list(t, NULL, "**/*.c", &out), 0, "list **/*.c");
	is_str(out.data, "src/main.c\nsrc/util.c\n", "list: **/*.c");
	is_int(tools_file_list(t, NULL, "src/*.c", &out), 0, "list src/*.c");
	is_str(out.data, "src/main.c\nsrc/util.c\n", "list: src/*.c");
	is_int(tools_file_list(t, "src", "*.c", &out), 0, "list src *.c");
	is_str(out.data, "src/main.c\nsrc/util.c\n",
	    "list: pattern is relative to path");
	is_int(tools_file_list(t, NULL, "**/*.[ch]", &out), 0, "list [ch]");
	is_str(out.data, "src/main.c\nsrc/sub/deep.h\nsrc/util.c\n",
	    "list: class");
	is_int(tools_file_list(t, NULL, "**/[!a-z]*", &out), 0,
	    "list negated range");
	is_str(out.data, "src/README.md\n", "list: [!a-z]");
	is_int(tools_file_list(t, NULL, "**/?.txt", &out), 0, "list ?.txt");
	is_str(out.data, "a.txt\nsub/x.txt\n", "list: **/ matches zero dirs");
	is_int(tools_file_list(t, NULL, "src/**/*.h", &out), 0,
	    "list src/**/*.h");
	is_str(out.data, "src/sub/deep.h\n", "list: ** in the middle");
	is_int(tools_file_list(t, NULL, "src/**/sub/**", &out), 0,
	    "list two **");
	is_str(out.data, "src/sub/\nsrc/sub/deep.h\n", "list: two **");
	is_int(tools_file_list(t, NULL, "*/", &out), 0, "list */");
	is_str(out.data, "src/\nsub/\n", "list: trailing / means dirs");
	is_int(tools_file_list(t, NULL, "**/*m*/", &out), 0, "list **/*m*/");
	is_str(out.data, "src/empty/\n", "list: dirs anywhere");
	is_int(tools_file_list(t, NULL, "bad*", &out), 0, "list bad*");
	is_str(out.data, "bad.txt\nbad" REPL "name.txt\n",
	    "list: invalid UTF-8 names replaced");
	is_int(tools_file_list(t, NULL, "bad?name.txt", &out), 0,
	    "list bad?name");
	is_str(out.data, "bad" REPL "name.txt\n", "list: ? on a stray byte");
	is_int(tools_file_list(t, NULL, "caf?.md", &out), 0, "list caf?.md");
	is_str(out.data, "caf" EACUTE ".md\n",
	    "list: ? takes a whole character");
	is_int(tools_file_list(t, NULL, "caf[" EACUTE "x].md", &out), 0,
	    "list UTF-8 class");
	is_str(out.data, "caf" EACUTE ".md\n", "list: UTF-8 class");
	is_int(tools_file_list(t, NULL, "a\\.tx[t", &out), 0,
	    "list escape and unclosed [");
	is_int(out.len, 0, "list: unclosed [ is literal");
	is_int(tools_file_list(t, NULL, "a\\.txt", &out), 0, "list escape");
	is_str(out.data, "a.txt\n", "list: \\. is a literal dot");
	is_int(tools_file_list(t, NULL, "link_*", &out), 0, "list link_*");
	is_str(out.data, "link_abs_in\nlink_in\nlink_out\nlink_out_rel\n",
	    "list: symlinks are plain entries");
	is_int(tools_file_list(t, NULL, "*l*n*", &out), 0, "list *l*n*");
	is_str(out.data, "dirlink_in\ndirlink_out\nlink_abs_in\nlink_in\n"
	    "link_out\nlink_out_rel\nlong.txt\n",
	    "list: several stars backtrack");

	/* Escapes and errors. */
	is_int(tools_file_list(t, "dirlink_out", NULL, &out), WARD_EDENIED,
	    "list dir symlink out");
	is_str(out.data, "path escapes the project root: dirlink_out",
	    "list: dir symlink out message");
	is_int(tools_file_list(t, "..", NULL, &out), WARD_EDENIED, "list ..");
	is_int(tools_file_list(t, "src/../..", NULL, &out), WARD_EDENIED,
	    "list src/../..");
	is_int(tools_file_list(t, "/etc", NULL, &out), WARD_EDENIED,
	    "list /etc");
	is_int(tools_file_list(t, "/", NULL, &out), WARD_EDENIED, "list /");
	is_int(tools_file_list(t, evil, NULL, &out), WARD_EDENIED,
	    "list root-prefixed sibling");
	is_int(tools_file_list(t, "nope", NULL, &out), WARD_ENOENT,
	    "list missing");
	is_str(out.data, "no such file or directory: nope",
	    "list: missing message");
	buf_free(&out);
}

static void
test_list_caps(struct tools *t)
{
	struct buf out;

	buf_init(&out, 0);
	is_int(tools_file_list(t, "many", NULL, &out), 0,
	    "list over the cap is not an error");
	is_str(out.data, "many/f1\nmany/f2\nmany/f3\n[2 more entries not "
	    "shown; narrow the listing with path or pattern]\n",
	    "list: truncated with a note");
	is_int(tools_file_list(t, NULL, "many/f[1-4]", &out), 0,
	    "list one over the cap");
	is_str(out.data, "many/f1\nmany/f2\nmany/f3\n[1 more entry not "
	    "shown; narrow the listing with path or pattern]\n",
	    "list: singular note");
	is_int(tools_file_list(t, "many", "f[45]", &out), 0,
	    "list narrowed by pattern");
	is_str(out.data, "many/f4\nmany/f5\n", "list: narrowed");
	buf_free(&out);
}

static void
test_grep(struct tools *t)
{
	struct buf out, want;
	char path[PATH_MAX * 4];
	int i;

	buf_init(&out, 0);
	buf_init(&want, 0);
	buf_puts(&out, "junk");
	is_int(tools_grep(t, "TODO", NULL, NULL, &out), 0, "grep TODO");
	is_str(out.data,
	    "bad.txt:1:caf" REPL " TODO\n"
	    "bad" REPL "name.txt:1:TODO name\n"
	    "src/README.md:1:# TODO readme\n"
	    "src/sub/deep.h:1:#define TODO 1\n"
	    "src/util.c:2:// TODO fix\n"
	    "sub/x.txt:1:TODO x\n",
	    "grep: sorted, no .git, no binary, no symlinks");
	snprintf(path, sizeof(path), "%s/", root);
	is_int(tools_grep(t, "TODO", path, "**/*.h", &out), 0,
	    "grep absolute root with glob");
	is_str(out.data, "src/sub/deep.h:1:#define TODO 1\n",
	    "grep: glob over the tree");
	is_int(tools_grep(t, "TODO", "src", "*.c", &out), 0, "grep src *.c");
	is_str(out.data, "src/util.c:2:// TODO fix\n",
	    "grep: glob relative to path");
	is_int(tools_grep(t, "TODO", "dirlink_in", "*.c", &out), 0,
	    "grep via dir symlink inside");
	is_str(out.data, "dirlink_in/util.c:2:// TODO fix\n",
	    "grep: dir symlink as the start");
	is_int(tools_grep(t, "^\\}$", "src/main.c", NULL, &out), 0,
	    "grep one file");
	is_str(out.data, "src/main.c:4:}\n", "grep: a file as the path");
	is_int(tools_grep(t, "TODO", "src/main.c", "*.h", &out), 0,
	    "grep one file, glob excludes it");
	is_int(out.len, 0, "grep: glob applies to a file path");
	is_int(tools_grep(t, "one", "link_in", NULL, &out), 0,
	    "grep a symlink inside");
	is_str(out.data, "link_in:1:one\n", "grep: symlink as the path");
	is_int(tools_grep(t, "end", "bad.txt", NULL, &out), 0,
	    "grep invalid UTF-8 file");
	is_str(out.data, "bad.txt:2:" REPL REPL " end\n"
	    "bad.txt:4:end" REPL "\n",
	    "grep: invalid bytes do not fail, last line without newline");
	is_int(tools_grep(t, "\xff\xfe", NULL, NULL, &out), 0,
	    "grep non-UTF-8 pattern");
	is_str(out.data, "bad.txt:2:" REPL REPL " end\n",
	    "grep: byte pattern matches bytes");
	is_int(tools_grep(t, "caf" EACUTE "$", NULL, NULL, &out), 0,
	    "grep UTF-8 pattern");
	is_str(out.data, "caf" EACUTE ".md:1:caf" EACUTE "\n",
	    "grep: UTF-8 pattern");
	is_int(tools_grep(t, "^caf.$", NULL, NULL, &out), 0, "grep . on é");
	is_str(out.data, "caf" EACUTE ".md:1:caf" EACUTE "\n",
	    "grep: . is one character in UTF mode");
	is_int(tools_grep(t, "SECRET", NULL, NULL, &out), 0, "grep SECRET");
	is_int(out.len, 0, "grep: symlinks out are not followed");
	is_int(tools_grep(t, "^$", "src", NULL, &out), 0, "grep ^$");
	is_int(out.len, 0, "grep: no empty lines invented");

	/* Long lines are cut at a character boundary. */
	is_int(tools_grep(t, "NEEDLE", "long.txt", NULL, &out), 0,
	    "grep long lines");
	buf_puts(&want, "long.txt:1:a");
	for (i = 0; i < 255; i++)
		buf_puts(&want, EACUTE);
	buf_puts(&want, ELLIP "\nlong.txt:2:");
	for (i = 0; i < 512; i++)
		buf_puts(&want, "x");
	buf_puts(&want, ELLIP "\n");
	is_str(out.data, want.data, "grep: lines cut with an ellipsis");

	/* Errors. */
	is_int(tools_grep(t, "(", NULL, NULL, &out), WARD_EINVAL, "grep (");
	is_str(out.data, "bad regular expression at offset 1: missing "
	    "closing parenthesis", "grep: PCRE2 message and offset");
	is_int(tools_grep(t, "", NULL, NULL, &out), WARD_EINVAL, "grep \"\"");
	is_int(tools_grep(t, NULL, NULL, NULL, &out), WARD_EINVAL, "grep NULL");
	is_int(tools_grep(t, "TODO", "bin.dat", NULL, &out), WARD_EINVAL,
	    "grep a binary file by name");
	is_str(out.data, "binary file: bin.dat", "grep: binary message");
	is_int(tools_grep(t, "x", "fifo", NULL, &out), WARD_EINVAL,
	    "grep a fifo by name");
	is_int(tools_grep(t, "x", "nope", NULL, &out), WARD_ENOENT,
	    "grep missing");
	is_int(tools_grep(t, "SECRET", "link_out", NULL, &out), WARD_EDENIED,
	    "grep symlink out");
	is_str(out.data, "path escapes the project root: link_out",
	    "grep: symlink out message");
	is_int(tools_grep(t, "SECRET", "dirlink_out", NULL, &out),
	    WARD_EDENIED, "grep dir symlink out");
	is_int(tools_grep(t, "SECRET", "..", NULL, &out), WARD_EDENIED,
	    "grep ..");
	is_int(tools_grep(t, "SECRET", outside, NULL, &out), WARD_EDENIED,
	    "grep absolute outside");
	ok(strstr(out.data, "SECRET") == NULL, "grep: no secret leaked");
	buf_free(&out);
	buf_free(&want);
}

static void
test_grep_caps(struct tools *t)
{
	struct buf out;

	buf_init(&out, 0);
	is_int(tools_grep(t, "^hit", "m.txt", NULL, &out), 0,
	    "grep over the cap is not an error");
	is_str(out.data, "m.txt:1:hit 1\nm.txt:2:hit 2\n[stopped after 2 "
	    "matching lines; narrow the search with path, glob or a more "
	    "specific pattern]\n", "grep: truncated with a note");
	is_int(tools_grep(t, "two", "two.txt", NULL, &out), 0,
	    "grep exactly at the cap");
	is_str(out.data, "two.txt:1:two 1\ntwo.txt:2:two 2\n",
	    "grep: no note at the cap");
	is_int(tools_grep(t, "NEEDLE2", NULL, NULL, &out), 0,
	    "grep past the scanned part of a huge line");
	is_int(out.len, 0, "grep: only the first MiB of a line is searched");
	is_int(tools_grep(t, "^yyy", "huge.txt", NULL, &out), 0,
	    "grep a huge line");
	ok(out.len > 0 && strncmp(out.data, "huge.txt:1:yyy", 14) == 0 &&
	    strcmp(out.data + out.len - 4, ELLIP "\n") == 0,
	    "grep: huge line shown cut");
	buf_free(&out);
}

/* The writing tools: atomic, beneath the root, following no link. */
static void
test_write(struct tools *t)
{
	struct buf out;
	struct stat st;
	char path[PATH_MAX * 2], data[64];
	FILE *f;

	buf_init(&out, 0);
	is_int(tools_file_write(t, "w/a/b/new.txt", "hello\n", 6, &out), 0,
	    "write: a new file, its directories made");
	snprintf(path, sizeof(path), "%s/w/a/b/new.txt", root);
	ok((f = fopen(path, "r")) != NULL && fgets(data, sizeof(data), f) !=
	    NULL && strcmp(data, "hello\n") == 0, "write: the content landed");
	if (f != NULL)
		fclose(f);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
	    "write: a new file is 0644");
	chmod(path, 0600);
	is_int(tools_file_write(t, "w/a/b/new.txt", "x", 1, &out), 0,
	    "write: over an existing file");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	    st.st_size == 1, "write: the mode is kept");
	symlink_in(root, "w/lnk", outside);
	is_int(tools_file_write(t, "w/lnk/x.txt", "x", 1, &out), WARD_EINVAL,
	    "write: through a symlinked directory is refused");
	snprintf(path, sizeof(path), "%s/x.txt", outside);
	ok(access(path, F_OK) == -1, "write: nothing landed outside");
	symlink_in(root, "w/flink", "../README.md");
	ok(tools_file_write(t, "w/flink", "x", 1, &out) != 0,
	    "write: over a symlink is refused");
	is_int(tools_file_write(t, "w/..", "x", 1, &out), WARD_EINVAL,
	    "write: a path naming no file");
	ok(tools_file_write(t, "../escape.txt", "x", 1, &out) != 0,
	    "write: out of the root is refused");
	mkfifo_in_root("w/fifo");
	is_int(tools_file_write(t, "w/fifo", "x", 1, &out), WARD_EINVAL,
	    "write: a FIFO is not a regular file");
	is_int(tools_file_edit(t, "w/a/b/new.txt", "x", "yy", 0, &out), 0,
	    "edit: once");
	is_int(tools_file_edit(t, "w/a/b/new.txt", "zz", "y", 0, &out),
	    WARD_EINVAL, "edit: not found");
	tools_file_write(t, "w/e.txt", "aXbXc", 5, &out);
	is_int(tools_file_edit(t, "w/e.txt", "X", "-", 0, &out), WARD_EINVAL,
	    "edit: twice without replace_all");
	ok(out.data != NULL && strstr(out.data, "occurs 2 times") != NULL,
	    "edit: says how many");
	is_int(tools_file_edit(t, "w/e.txt", "X", "--", 1, &out), 0,
	    "edit: replace_all");
	snprintf(path, sizeof(path), "%s/w/e.txt", root);
	ok((f = fopen(path, "r")) != NULL && fgets(data, sizeof(data), f) !=
	    NULL && strcmp(data, "a--b--c") == 0, "edit: the result");
	if (f != NULL)
		fclose(f);
	is_int(tools_file_edit(t, "w/e.txt", "", "x", 0, &out), WARD_EINVAL,
	    "edit: an empty old_string");
	is_int(tools_file_delete(t, "w/e.txt", &out), 0, "delete: a file");
	ok(access(path, F_OK) == -1, "delete: it is gone");
	is_int(tools_file_delete(t, "w/a", &out), WARD_EINVAL,
	    "delete: not a directory");
	ok(tools_file_delete(t, "w/lnk/x", &out) != 0,
	    "delete: through a symlinked directory is refused");
	buf_free(&out);
}

int
main(void)
{
	struct tools_limits small = { 64, 3, 2, 16 };
	struct tools *t = NULL, *t2 = NULL;
	int rc, fds;

	setup();
	fds = count_fds();
	test_open();
	rc = tools_open(&t, root, NULL);
	is_int(rc, 0, "open the project root");
	rc = tools_open(&t2, root2, &small);
	is_int(rc, 0, "open the second root with small caps");
	if (t != NULL && t2 != NULL) {
		test_read(t);
		test_read_caps(t2);
		test_list(t);
		test_list_caps(t2);
		test_grep(t);
		test_grep_caps(t2);
		test_write(t);
	}
	tools_free(t);
	tools_free(t2);
	is_int(count_fds(), fds, "no file descriptors leaked");
	rm_tree(root);
	rm_tree(root2);
	rm_tree(outside);
	rm_tree(evil);
	return done_testing();
}
