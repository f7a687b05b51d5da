/*
 * Filesystem refusals read from a command's messages (src/sandbox/denial.c)
 * against views of a real mkdtemp tree: each usual tool's wording, relative
 * and ".." paths, masks, read-only grants, what must not be reported
 * (missing files inside a grant, the sandbox's own /tmp and /proc, the
 * program's name), and lines made to mislead the scanner (control bytes,
 * apostrophes, unclosed quotes, floods).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "sandbox/denial.h"
#include "sandbox/envelope.h"
#include "tap.h"
#include "util.h"

static char tmp[PATH_MAX];
static char proj[PATH_MAX], data[PATH_MAX], out[PATH_MAX], envf[PATH_MAX];
static char home[PATH_MAX], ssh[PATH_MAX];
static struct envelope_spec spec;
static struct buf got;

static void
mk(char *dst, const char *rel)
{
	fmt(dst, PATH_MAX, "%s/%s", tmp, rel);
	if (mkdir(dst, 0700) == -1 && errno != EEXIST)
		die(dst);
}

/* What one scan of text reports, as one string. */
static const char *
scan(const char *text)
{
	int n;

	buf_reset(&got);
	n = denial_scan(&spec, text, strlen(text), &got);
	if (n < 0)
		return "(error)";
	return got.len > 0 ? got.data : "";
}

/* A line of output, formatted. */
static const char * __attribute__((format(printf, 1, 2)))
line(const char *fmt, ...)
{
	static char l[3 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(l, sizeof(l), fmt, ap);
	va_end(ap);
	return l;
}

/* What the view of spec allows at path. */
static int
acc(const char *path)
{
	struct envelope_map *v;
	int a;

	if (envelope_map_new(&spec, &v) != 0)
		die("envelope_map_new");
	a = envelope_map_access(v, path);
	envelope_map_free(v);
	return a;
}

static const char *
want(const char *what, const char *path)
{
	static char w[2][PATH_MAX + 64];
	static int i;

	i ^= 1;
	snprintf(w[i], sizeof(w[i]), "sandbox denied %s: %s\n", what, path);
	return w[i];
}

static const char *
under(const char *dir, const char *rel)
{
	static char p[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, rel);
	return p[i];
}

int
main(void)
{
	const char *ro[1], *rw[1], *hide[2];
	char big[64 * 1024], *b;
	char *envp[2], henv[PATH_MAX + 8];
	int i;

	/* Not under /tmp: there the sandbox's own /tmp would answer. The
	 * tests run from the top of the tree, where build/ is. */
	snprintf(tmp, sizeof(tmp), "build/denial-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		die("mkdtemp");
	/* Grants must be canonical. */
	if (realpath(tmp, big) == NULL)
		die("realpath");
	fmt(tmp, sizeof(tmp), "%s", big);
	mk(proj, "proj");
	mk(data, "data");
	mk(out, "outside");
	mk(home, "home");
	mk(ssh, "home/.ssh");
	fmt(envf, sizeof(envf), "%s/.env", proj);
	buf_init(&got, 0);

	ro[0] = data;
	rw[0] = proj;
	hide[0] = envf;
	hide[1] = ssh;
	memset(&spec, 0, sizeof(spec));
	spec.cwd = proj;
	spec.fs = ENVELOPE_FS_NONE;
	spec.ro = ro;
	spec.nro = 1;
	spec.rw = rw;
	spec.nrw = 1;
	spec.hide = hide;
	spec.nhide = 2;

	/* envelope_map_access: the view as the mounts make it. */
	is_int(acc(proj), ENVELOPE_ACC_RW, "project rw");
	is_int(acc(under(proj, "a/b")), ENVELOPE_ACC_RW,
	    "below the project rw");
	is_int(acc(under(data, "x")), ENVELOPE_ACC_RO,
	    "a read grant is ro");
	is_int(acc(envf), ENVELOPE_ACC_NONE,
	    "a masked file is not there");
	is_int(acc(under(out, "x")), ENVELOPE_ACC_NONE,
	    "outside every grant");
	is_int(acc("/etc/passwd"), ENVELOPE_ACC_NONE,
	    "no system baseline: /etc is not there");
	is_int(acc("/tmp/x"), ENVELOPE_ACC_TMP,
	    "the sandbox's own /tmp");
	is_int(acc("/dev/null"), ENVELOPE_ACC_RW,
	    "/dev/null");
	is_int(acc("/dev/pts/0"), ENVELOPE_ACC_RW,
	    "a pty");
	is_int(acc("/dev/sda"), ENVELOPE_ACC_NONE,
	    "no block devices");
	is_int(acc("/dev/nullx"), ENVELOPE_ACC_NONE,
	    "nullx is not null");
	is_int(acc("relative"), WARD_EINVAL,
	    "a relative path is refused");
	{
		char pre[PATH_MAX];

		/* A sibling whose name starts with a grant's is not in it. */
		fmt(pre, sizeof(pre), "%s2/x", proj);
		is_int(acc(pre), ENVELOPE_ACC_NONE,
		    "proj2 is not under proj");
	}

	/* What each tool prints when the view refuses it. */
	is_str(scan("cat: /etc/passwd: No such file or directory\n"),
	    want("read", "/etc/passwd"), "cat, absolute, not in the view");
	is_str(scan(line("touch: cannot touch '%s/x': Read-only file system\n",
	    data)), want("write", under(data, "x")),
	    "touch into a read grant (coreutils quotes)");
	is_str(scan(line("bash: line 1: %s/y: Read-only file system\n", data)),
	    want("write", under(data, "y")), "a bash redirect");
	is_str(scan(line("/bin/sh: 1: cannot create %s/z: Read-only file "
	    "system\n", data)), want("write", under(data, "z")),
	    "a dash redirect");
	is_str(scan(line("PermissionError: [Errno 13] Permission denied: "
	    "'%s/f'\n", out)), want("read", under(out, "f")), "Python");
	is_str(scan(line("Error: open %s/g: permission denied\n", out)),
	    want("read", under(out, "g")), "Go, lower case");
	is_str(scan(line("python3: can't open file '%s/h.py': [Errno 2] No such "
	    "file or directory\n", out)), want("read", under(out, "h.py")),
	    "an apostrophe in a word opens no quote");
	is_str(scan(line("ls: cannot access \xe2\x80\x98%s/u\xe2\x80\x99: No "
	    "such file or directory\n", out)), want("read", under(out, "u")),
	    "typographic quotes");
	is_str(scan(line("mkdir: cannot create directory '%s/d': No such file "
	    "or directory\n", out)), want("write", under(out, "d")),
	    "creating outside the view is a write");
	is_str(scan("cat: ../outside/k: No such file or directory\n"),
	    want("read", under(out, "k")), "relative, through ..");
	is_str(scan("cat: ./../../../../../../../../etc/shadow: Permission "
	    "denied\n"), want("read", "/etc/shadow"),
	    "more .. than there are levels stops at /");
	is_str(scan("cat: .env: Permission denied\n"), want("read", envf),
	    "a masked file in the project");
	is_str(scan(line("cp: cannot create regular file '%s/.env': Read-only "
	    "file system\n", proj)), want("write", envf),
	    "writing over a masked file");
	is_str(scan(line("cat: %s/id_rsa: No such file or directory\n", ssh)),
	    want("read", under(ssh, "id_rsa")),
	    "a mask over a path nothing grants: not in the view either");

	/* What is not a refusal of the sandbox. */
	is_str(scan("cat: missing.txt: No such file or directory\n"), "",
	    "a missing file in the project");
	is_str(scan(line("ls: cannot access '%s/nope': No such file or "
	    "directory\n", data)), "", "a missing file in a read grant");
	is_str(scan(line("cat: %s/secret: Permission denied\n", data)), "",
	    "a file the host itself does not let us read");
	is_str(scan("cat: /tmp/x: No such file or directory\n"),
	    want("read", "/tmp/x"), "the host's /tmp is not the sandbox's");
	is_str(scan("bash: /tmp/x: Permission denied\n"), "",
	    "but what it does in its own /tmp is its own");
	is_str(scan("dd: failed to open '/dev/sda': No such file or "
	    "directory\n"), want("read", "/dev/sda"), "a block device");
	is_str(scan("sh: 1: cannot create /dev/null: Permission denied\n"),
	    "", "/dev/null is there");
	is_str(scan("cat: /proc/1/environ: Permission denied\n"), "",
	    "the sandbox's /proc");
	is_str(scan("Permission denied\n"), "", "no path");
	is_str(scan("touch: Permission denied\n"), "",
	    "the program's name is not a path");
	is_str(scan("all good: nothing failed\n"), "", "no message");
	is_str(scan(""), "", "no output");

	/* Lines made to mislead. */
	is_str(scan("cat: /etc/pa\x1bsswd: No such file or directory\n"), "",
	    "control bytes: not a path worth naming");
	is_str(scan("cat: '/etc/passwd: No such file or directory\n"),
	    "", "an unclosed quote");
	{
		static const char t[] = "a\0cat: /etc/hosts: No such file or "
		    "directory\n";

		buf_reset(&got);
		is_int(denial_scan(&spec, t, sizeof(t) - 1, &got), 1,
		    "a NUL before the message hides nothing");
	}
	is_str(scan("cat: /etc/passwd: No such file or directory\n"
	    "cat: /etc/passwd: No such file or directory\n"),
	    want("read", "/etc/passwd"), "said once");
	for (b = big, i = 0; i < 200; i++)
		b += sprintf(b, "cat: /nowhere/%d: No such file or "
		    "directory\n", i);
	buf_reset(&got);
	is_int(denial_scan(&spec, big, strlen(big), &got), DENIAL_MAX,
	    "a flood is cut at DENIAL_MAX lines");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + sizeof(big) - 64, ": /etc/passwd: Permission denied",
	    32);
	is_str(scan(big), "", "past the first 4 KiB of a line nothing is "
	    "read");
	{
		static const char t[] = "cat: /etc/group: No such file or "
		    "directory";

		buf_reset(&got);
		is_int(denial_scan(&spec, t, sizeof(t) - 1, &got), 1,
		    "a last line without a newline is read");
	}

	/* The system baseline, and $HOME's masks under permissive. */
	spec.fs = ENVELOPE_FS_SYSTEM;
	is_str(scan("touch: cannot touch '/usr/bin/x': Read-only file "
	    "system\n"), want("write", "/usr/bin/x"), "system is read-only");
	is_str(scan("ls: cannot access '/etc/nope': No such file or "
	    "directory\n"), "", "a missing file under the baseline");
	is_str(scan("cat: /root/x: No such file or directory\n"),
	    want("read", "/root/x"), "outside the system baseline");
	snprintf(henv, sizeof(henv), "HOME=%s", home);
	envp[0] = henv;
	envp[1] = NULL;
	spec.envp = envp;
	spec.fs = ENVELOPE_FS_PERMISSIVE;
	is_str(scan(line("cat: %s/.ssh/id_rsa: No such file or directory\n",
	    home)), want("read", under(ssh, "id_rsa")),
	    "~/.ssh is masked under permissive");
	is_str(scan(line("cat: %s/notes: No such file or directory\n", home)),
	    "", "the rest of $HOME is there");
	spec.fs = ENVELOPE_FS_ALL;
	is_str(scan("cat: /etc/passwd: No such file or directory\n"), "",
	    "all: / is there");
	is_str(scan(line("cat: %s/.ssh/id_rsa: Permission denied\n", home)),
	    want("read", under(ssh, "id_rsa")), "the mask holds under all");

	buf_free(&got);
	rm_tree(tmp);
	return done_testing();
}
