/*
 * The command envelope (DESIGN §2 invariants 2-4): every case is an attempt
 * to get out of it, asserting the effect did not happen, beside positive
 * controls proving that granted reads, writes, output and exit codes work.
 * A kernel feature the envelope needs that is missing makes envelope_run
 * fail, and with it every case here: nothing is skipped.
 *
 * The attacks that need a system call the shell cannot make run a small C
 * helper compiled by this test into a read-only granted directory.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "sandbox/envelope.h"
#include "tap.h"
#include "util.h"

#define SECRET	"s3cr3t-7f2a9c"

static const char helper_src[] =
"#define _GNU_SOURCE\n"
"#include <errno.h>\n#include <fcntl.h>\n#include <sched.h>\n"
"#include <signal.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
"#include <string.h>\n#include <unistd.h>\n#include <sys/ioctl.h>\n"
"#include <sys/mount.h>\n#include <sys/personality.h>\n"
"#include <sys/ptrace.h>\n#include <sys/socket.h>\n#include <sys/un.h>\n"
"#include <sys/syscall.h>\n#include <sys/wait.h>\n#include <sys/mman.h>\n"
"#include <netinet/in.h>\n#include <arpa/inet.h>\n#include <termios.h>\n"
"#include <linux/keyctl.h>\n"
"static int r(long v){ if (v < 0) { printf(\"DENIED %d\\n\", errno);"
"  return 1; } printf(\"DONE\\n\"); return 0; }\n"
"static int inet(int type, int port, int dobind){ struct sockaddr_in a;"
"  int s = socket(AF_INET, type, 0); if (s < 0) return r(-1);"
"  memset(&a, 0, sizeof(a)); a.sin_family = AF_INET;"
"  a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);"
"  if (dobind) return r(bind(s, (void *)&a, sizeof(a)));"
"  if (type == SOCK_DGRAM) return r(sendto(s, \"x\", 1, 0, (void *)&a,"
"  sizeof(a))); return r(connect(s, (void *)&a, sizeof(a))); }\n"
"static int relay(int n, int size){ int s[16], i; char b[65536];"
"  struct sockaddr_in a; memset(&a, 0, sizeof(a)); a.sin_family = AF_INET;"
"  a.sin_port = htons(3128); a.sin_addr.s_addr = htonl(0x7f000001);"
"  for (i = 0; i < n; i++) { s[i] = socket(AF_INET, SOCK_STREAM, 0);"
"  if (connect(s[i], (void *)&a, sizeof(a)) < 0) return r(-1); }"
"  for (i = 0; i < n; i++) { int left = size; memset(b, 'a' + i,"
"  sizeof(b)); while (left > 0) { int k = left < 65536 ? left : 65536;"
"  int w = write(s[i], b, k); if (w <= 0) return r(-1); left -= w; }"
"  shutdown(s[i], SHUT_WR); }"
"  for (i = 0; i < n; i++) { long got = 0; int k, bad = 0;"
"  while ((k = read(s[i], b, sizeof(b))) > 0) { for (int j = 0; j < k; j++)"
"  bad |= b[j] != 'a' + i; got += k; }"
"  if (got != size || bad) { printf(\"BAD %d %ld\\n\", i, got); return 1; } }"
"  printf(\"RELAY OK\\n\"); return 0; }\n"
"int main(int argc, char **argv){ const char *op = argv[1];"
"  long a = argc > 2 ? strtol(argv[2], NULL, 0) : 0;"
"  if (!strcmp(op, \"ptrace\")) return r(ptrace(PTRACE_ATTACH, a, 0, 0));"
"  if (!strcmp(op, \"keyctl\")) return r(syscall(SYS_keyctl,"
"  KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));"
"  if (!strcmp(op, \"add_key\")) return r(syscall(SYS_add_key, \"user\","
"  \"k\", \"v\", 1, KEY_SPEC_SESSION_KEYRING));"
"  if (!strcmp(op, \"bpf\")) { char at[128] = {0};"
"  return r(syscall(SYS_bpf, 0, at, sizeof(at))); }"
"  if (!strcmp(op, \"io_uring\")) { char p[120] = {0};"
"  return r(syscall(SYS_io_uring_setup, 4, p)); }"
"  if (!strcmp(op, \"perf\")) { char at[128] = {0};"
"  return r(syscall(SYS_perf_event_open, at, 0, -1, -1, 0)); }"
"  if (!strcmp(op, \"userns\")) return r(unshare(CLONE_NEWUSER));"
"  if (!strcmp(op, \"netns\")) return r(unshare(CLONE_NEWNET));"
"  if (!strcmp(op, \"clonens\")) { long p = syscall(SYS_clone,"
"  CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); if (p == 0) _exit(0);"
"  return r(p); }"
"  if (!strcmp(op, \"clone3\")) { char ca[88] = {0};"
"  return r(syscall(SYS_clone3, ca, sizeof(ca))); }"
"  if (!strcmp(op, \"mount\")) return r(mount(\"none\", \"/tmp\", \"tmpfs\","
"  0, NULL));"
"  if (!strcmp(op, \"setns\")) { int fd = open(\"/proc/1/ns/mnt\","
"  O_RDONLY); if (fd < 0) return r(-1); return r(setns(fd, 0)); }"
"  if (!strcmp(op, \"chroot\")) return r(chroot(\".\"));"
"  if (!strcmp(op, \"tiocsti\")) { int m = posix_openpt(O_RDWR);"
"  char c = 'x'; if (m < 0) return r(-1);"
"  return r(syscall(SYS_ioctl, m, (unsigned long)TIOCSTI | (a << 32), &c)); }"
"  if (!strcmp(op, \"personality\")) return r(personality(a));"
"  if (!strcmp(op, \"x32\")) return r(syscall(0x40000000 | SYS_getpid));"
"  if (!strcmp(op, \"socket\")) return r(socket(a, SOCK_STREAM, 0));"
"  if (!strcmp(op, \"unix\")) { struct sockaddr_un u; int s;"
"  memset(&u, 0, sizeof(u)); u.sun_family = AF_UNIX;"
"  strncpy(u.sun_path, argv[2], sizeof(u.sun_path) - 1);"
"  if (argv[2][0] == '@') u.sun_path[0] = 0;"
"  if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) return r(-1);"
"  return r(connect(s, (void *)&u, sizeof(u))); }"
"  if (!strcmp(op, \"socketpair\")) { int sv[2];"
"  return r(socketpair(AF_UNIX, SOCK_STREAM, 0, sv)); }"
"  if (!strcmp(op, \"tcp\")) return inet(SOCK_STREAM, a, 0);"
"  if (!strcmp(op, \"udp\")) return inet(SOCK_DGRAM, a, 0);"
"  if (!strcmp(op, \"bind\")) return inet(SOCK_STREAM, a, 1);"
"  if (!strcmp(op, \"kill\")) return r(kill(a, SIGKILL));"
"  if (!strcmp(op, \"fork\")) { long n = 0; for (long i = 0; i < a; i++) {"
"  pid_t p = fork(); if (p == 0) { pause(); _exit(0); } if (p < 0) break;"
"  n++; } printf(\"FORKED %ld\\n\", n); return 0; }"
"  if (!strcmp(op, \"alloc\")) { char *p = malloc(a); if (p == NULL)"
"  return r(-1); memset(p, 1, a); return r(0); }"
"  if (!strcmp(op, \"euid\")) { printf(\"EUID %d\\n\", (int)geteuid());"
"  return 0; }"
"  if (!strcmp(op, \"relay\")) return relay(a, atoi(argv[3]));"
"  if (!strcmp(op, \"vm_read\")) { char b[8]; struct iovec l = { b, 8 },"
"  rr = { (void *)0x400000, 8 };"
"  return r(syscall(SYS_process_vm_readv, a, &l, 1, &rr, 1, 0)); }"
"  return 2; }\n";

static char	 root[PATH_MAX], home[PATH_MAX], proj[PATH_MAX];
static char	 outside[PATH_MAX], bindir[PATH_MAX], helper[PATH_MAX];
static char	 envhome[PATH_MAX + 8];
static char	*envp[] = { "PATH=/usr/bin:/bin", envhome, "LANG=C", NULL };

static void
put(const char *dir, const char *name, const char *text)
{
	char	 p[PATH_MAX];
	FILE	*f;

	fmt(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0)
		die(p);
}

static void
sub(char *out, const char *dir, const char *name)
{
	fmt(out, PATH_MAX, "%s/%s", dir, name);
	if (mkdir(out, 0755) == -1 && errno != EEXIST)
		die(out);
}

static int
exists(const char *dir, const char *name)
{
	char	 p[PATH_MAX];
	struct stat st;

	fmt(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

static char *
slurp(const char *dir, const char *name)
{
	static char	 b[4096];
	char		 p[PATH_MAX];
	ssize_t		 n;
	int		 fd;

	fmt(p, sizeof(p), "%s/%s", dir, name);
	b[0] = '\0';
	if ((fd = open(p, O_RDONLY)) == -1)
		return b;
	n = read(fd, b, sizeof(b) - 1);
	b[n > 0 ? n : 0] = '\0';
	close(fd);
	return b;
}

static void
setup(void)
{
	char	 p[PATH_MAX], cmd[PATH_MAX * 2 + 64];
	char	 tmpl[] = "/tmp/ward-envelope-XXXXXX";

	if (mkdtemp(tmpl) == NULL || realpath(tmpl, root) == NULL)
		die("mkdtemp");
	sub(home, root, "home");
	sub(p, home, ".ssh");
	put(p, "id_ed25519", SECRET "-ssh\n");
	put(home, "notes", "home notes " SECRET "-home\n");
	sub(outside, root, "outside");
	put(outside, "secret", SECRET "-outside\n");
	sub(proj, root, "proj");
	put(proj, "ward.toml", "[sandbox]\n");
	put(proj, ".env", "TOKEN=" SECRET "-env\n");
	put(proj, "main.c", "int main;\n");
	sub(p, proj, ".git");
	put(p, "config", "[core]\n");
	sub(p, p, "hooks");
	sub(bindir, root, "bin");
	fmt(p, sizeof(p), "%s/helper.c", root);
	put(root, "helper.c", helper_src);
	fmt(helper, sizeof(helper), "%s/helper", bindir);
	fmt(cmd, sizeof(cmd), "cc -O1 -w -o %s %s", helper, p);
	if (system(cmd) != 0)
		die("cc helper");
	fmt(envhome, sizeof(envhome), "HOME=%s", home);
}

/* Runs cmd with the project read-write and the usual protections. */
static struct envelope_spec
spec(const char *cmd, int fs)
{
	static char	 rw0[PATH_MAX], hooks[PATH_MAX], gitcfg[PATH_MAX];
	static char	 toml[PATH_MAX], ssh[PATH_MAX], env[PATH_MAX];
	static const char *rw[1], *ro[1], *over[3], *hide[2];
	struct envelope_spec s;

	fmt(rw0, sizeof(rw0), "%s", proj);
	fmt(toml, sizeof(toml), "%s/ward.toml", proj);
	fmt(hooks, sizeof(hooks), "%s/.git/hooks", proj);
	fmt(gitcfg, sizeof(gitcfg), "%s/.git/config", proj);
	fmt(ssh, sizeof(ssh), "%s/.ssh", home);
	fmt(env, sizeof(env), "%s/.env", proj);
	rw[0] = rw0;
	ro[0] = bindir;
	over[0] = toml;
	over[1] = hooks;
	over[2] = gitcfg;
	hide[0] = ssh;
	hide[1] = env;
	memset(&s, 0, sizeof(s));
	s.cwd = proj;
	s.fs = fs;
	s.rw = rw;
	s.nrw = 1;
	s.ro = ro;
	s.nro = 1;
	s.ro_over = over;
	s.nro_over = 3;
	s.hide = hide;
	s.nhide = 2;
	s.envp = envp;
	s.command = cmd;
	s.timeout_ms = 20000;
	s.max_output = 65536;
	s.stdin_fd = -1;
	s.net_fd = -1;
	return s;
}

static struct envelope_result res;

/* Runs s; returns its output ("" when it did not run) and sets rc. */
static const char *
run_spec(const struct envelope_spec *s, int *code)
{
	struct buf	 err;
	int		 rv;

	buf_init(&err, 0);
	envelope_result_clear(&res);
	rv = envelope_run(s, &res, &err);
	if (rv != 0)
		printf("# envelope_run: %d %s\n", rv, err.data ? err.data : "");
	buf_free(&err);
	if (code != NULL)
		*code = rv != 0 ? -1000 + rv : res.exit_code;
	return rv == 0 && res.out.data != NULL ? res.out.data : "";
}

/* envelope_run's return for s, with res released first. */
static int
run_rv(const struct envelope_spec *s)
{
	envelope_result_clear(&res);
	return envelope_run(s, &res, NULL);
}

static const char *
run(const char *cmd, int fs, int *code)
{
	struct envelope_spec s = spec(cmd, fs);

	return run_spec(&s, code);
}

/* Runs the helper with op and arg; returns its output. */
static const char *
hrun(const char *args, int *code)
{
	static char	 cmd[PATH_MAX + 256];

	fmt(cmd, sizeof(cmd), "%s %s", helper, args);
	return run(cmd, ENVELOPE_FS_SYSTEM, code);
}

static int
denied(const char *args)
{
	int		 code;
	const char	*o = hrun(args, &code);

	if (strncmp(o, "DENIED", 6) != 0 || code != 1)
		printf("# %s: code %d, output '%s'\n", args, code, o);
	return strncmp(o, "DENIED", 6) == 0 && code == 1;
}

/* 1 when a process whose command line holds tag runs anywhere. */
static int
running(const char *tag)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[64], b[512];
	ssize_t		 n, i;
	int		 fd, found = 0;

	if ((d = opendir("/proc")) == NULL)
		die("/proc");
	while ((de = readdir(d)) != NULL && !found) {
		fmt(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(p, O_RDONLY)) == -1)
			continue;
		n = read(fd, b, sizeof(b) - 1);
		close(fd);
		for (i = 0; i < n; i++)
			if (b[i] == '\0')
				b[i] = ' ';
		b[n > 0 ? n : 0] = '\0';
		found = strstr(b, tag) != NULL;
	}
	closedir(d);
	return found;
}

/* ---- a fake egress proxy: each request gets an echoing socketpair ---- */

static void *
echo_conn(void *arg)
{
	char	 b[65536];
	ssize_t	 n;
	int	 fd = (int)(intptr_t)arg;

	while ((n = read(fd, b, sizeof(b))) > 0)
		if (write(fd, b, (size_t)n) != n)
			break;
	close(fd);
	return NULL;
}

static void *
fake_proxy(void *arg)
{
	int		 fd = (int)(intptr_t)arg, sv[2];
	char		 c, cb[CMSG_SPACE(sizeof(int))];
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	pthread_t	 t;

	while (read(fd, &c, 1) == 1) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)
		    == -1)
			break;
		memset(&mh, 0, sizeof(mh));
		memset(cb, 0, sizeof(cb));
		iov.iov_base = &c;
		iov.iov_len = 1;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cb;
		mh.msg_controllen = sizeof(cb);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &sv[1], sizeof(int));
		if (sendmsg(fd, &mh, 0) != 1)
			break;
		close(sv[1]);
		if (pthread_create(&t, NULL, echo_conn,
		    (void *)(intptr_t)sv[0]) != 0)
			break;
		pthread_detach(t);
	}
	close(fd);
	return NULL;
}

static void
t_controls(void)
{
	struct envelope_spec s;
	struct buf	 err;
	struct stat	 st;
	char		 p[PATH_MAX], cmd[PATH_MAX + 64];
	int		 code, pfd[2];

	is_str(run("echo hello", ENVELOPE_FS_SYSTEM, &code), "hello\n",
	    "control: output comes back");
	is_int(code, 0, "control: exit 0");
	run("exit 7", ENVELOPE_FS_SYSTEM, &code);
	is_int(code, 7, "control: exit code 7");
	run("kill -9 $$", ENVELOPE_FS_SYSTEM, &code);
	is_int(code, 137, "control: killed by a signal is 128+N");
	fmt(p, sizeof(p), "%s\n", proj);
	is_str(run("pwd", ENVELOPE_FS_SYSTEM, &code), p,
	    "control: starts in cwd");
	run("echo made > new.txt", ENVELOPE_FS_SYSTEM, &code);
	ok(code == 0 && strcmp(slurp(proj, "new.txt"), "made\n") == 0,
	    "control: a write in the rw grant lands on the host");
	is_str(run("cat main.c", ENVELOPE_FS_SYSTEM, &code), "int main;\n",
	    "control: a granted file reads");
	is_str(run("cat ward.toml", ENVELOPE_FS_SYSTEM, &code), "[sandbox]\n",
	    "control: a ro_over file still reads");
	is_str(run("echo $LANG; echo x > /tmp/t && cat /tmp/t",
	    ENVELOPE_FS_SYSTEM, &code), "C\nx\n",
	    "control: the given environment and a private /tmp");
	ok(strstr(run("cat ~/notes", ENVELOPE_FS_PERMISSIVE, &code),
	    SECRET "-home") != NULL, "control: permissive shows $HOME");
	hrun("nop", &code);
	is_int(code, 2, "control: the read-only helper runs");
	ok(strncmp(hrun("socketpair", &code), "DONE", 4) == 0,
	    "control: socketpair stays allowed");
	ok(strncmp(hrun("personality 0xffffffff", &code), "DONE", 4) == 0,
	    "control: personality can be queried");

	s = spec("head -c 100000 /dev/zero | tr '\\0' a", ENVELOPE_FS_SYSTEM);
	s.max_output = 1000;
	fmt(p, sizeof(p), "%s/spill", root);
	s.spill_path = p;
	run_spec(&s, &code);
	ok(res.out.len == 1000 && res.total == 100000 && stat(p, &st) == 0 &&
	    st.st_size == 100000 && (st.st_mode & 0777) == 0600,
	    "control: output capped at max_output, all of it spilled 0600");
	is_int(run_rv(&s), WARD_EEXIST,
	    "control: an existing spill file is refused");

	if (pipe(pfd) == -1)
		die("pipe");
	if (write(pfd[1], "from stdin\n", 11) != 11)
		die("write");
	close(pfd[1]);
	s = spec("cat", ENVELOPE_FS_SYSTEM);
	s.stdin_fd = pfd[0];
	is_str(run_spec(&s, &code), "from stdin\n", "control: stdin_fd");
	close(pfd[0]);

	s = spec("true", ENVELOPE_FS_NONE);
	s.nro = 0;
	buf_init(&err, 0);
	envelope_result_clear(&res);
	ok(envelope_run(&s, &res, &err) == WARD_EINVAL && err.data != NULL &&
	    strstr(err.data, "sandbox: cannot run /bin/sh") != NULL,
	    "fail closed: no /bin/sh visible is an error naming it");
	buf_free(&err);
	s = spec("true", ENVELOPE_FS_SYSTEM);
	s.cwd = "relative";
	is_int(run_rv(&s), WARD_EINVAL,
	    "fail closed: a relative cwd is refused");
	s = spec("true", ENVELOPE_FS_SYSTEM);
	fmt(cmd, sizeof(cmd), "%s/../outside", proj);
	s.rw = (const char *const[]){ cmd };
	is_int(run_rv(&s), WARD_EINVAL,
	    "fail closed: a path with .. is refused");

	/* A symlink planted where a ro_over path goes must not redirect it. */
	fmt(p, sizeof(p), "%s/.git/hooks", proj);
	rm_tree(p);
	fmt(cmd, sizeof(cmd), "%s", outside);
	if (symlink(cmd, p) == -1)
		die("symlink");
	s = spec("cat .git/hooks/secret; echo x > .git/hooks/x",
	    ENVELOPE_FS_SYSTEM);
	ok(run_rv(&s) < 0 && !exists(outside, "x"),
	    "attack: symlink planted at a ro_over path fails closed");
	unlink(p);
	if (mkdir(p, 0755) == -1)
		die("mkdir");
}

static void
t_files(void)
{
	struct stat	 st;
	off_t		 hsize;
	char		 cmd[PATH_MAX * 2 + 128];
	const char	*o;
	int		 code;

	if (stat(helper, &st) == -1)
		die(helper);
	hsize = st.st_size;
	ok(strstr(run("cat ~/.ssh/id_ed25519; ls -a ~/.ssh",
	    ENVELOPE_FS_PERMISSIVE, &code), SECRET) == NULL,
	    "attack: read a hidden ~/.ssh key under permissive");
	ok(strstr(run("cat ~/.ssh/id_ed25519 ~/notes", ENVELOPE_FS_SYSTEM,
	    &code), SECRET) == NULL, "attack: read $HOME under system");
	ok(strstr(run("cat ~/.ssh/id_ed25519", ENVELOPE_FS_ALL, &code),
	    SECRET) == NULL, "attack: read a hidden key even under all");
	ok(strstr(run("cat .env", ENVELOPE_FS_ALL, &code), SECRET) == NULL,
	    "attack: read a hidden file inside the rw project");
	fmt(cmd, sizeof(cmd), "cat %s/secret", outside);
	ok(strstr(run(cmd, ENVELOPE_FS_SYSTEM, &code), SECRET) == NULL,
	    "attack: read a file outside the project");
	fmt(cmd, sizeof(cmd), "ln -s %s/secret lnk; cat lnk", outside);
	ok(strstr(run(cmd, ENVELOPE_FS_SYSTEM, &code), SECRET) == NULL,
	    "attack: symlink out of the rw dir");
	fmt(cmd, sizeof(cmd), "ln -s %s dlnk; cat dlnk/secret; "
	    "ln -s / rlnk; cat rlnk%s/secret", root, outside);
	ok(strstr(run(cmd, ENVELOPE_FS_SYSTEM, &code), SECRET) == NULL,
	    "attack: directory symlink out of the rw dir");
	fmt(cmd, sizeof(cmd), "ln %s/helper hl; echo x >> hl",
	    bindir);
	run(cmd, ENVELOPE_FS_SYSTEM, &code);
	ok(stat(helper, &st) == 0 && st.st_nlink == 1 &&
	    st.st_size == hsize, "attack: hardlink a read-only file into the "
	    "rw dir and write it");
	fmt(cmd, sizeof(cmd), "cat /proc/self/root%s/secret "
	    "/proc/1/root%s/secret", outside, outside);
	ok(strstr(run(cmd, ENVELOPE_FS_SYSTEM, &code), SECRET) == NULL,
	    "attack: /proc/self/root and /proc/1/root");
	o = run("echo x >> ward.toml; rm -f ward.toml; mv ward.toml w2; "
	    "ln ward.toml w3", ENVELOPE_FS_SYSTEM, &code);
	ok(strcmp(slurp(proj, "ward.toml"), "[sandbox]\n") == 0 &&
	    !exists(proj, "w2") && !exists(proj, "w3"),
	    "attack: write, remove, rename or link the manifest");
	run("echo evil > .git/hooks/pre-commit; echo x >> .git/config",
	    ENVELOPE_FS_SYSTEM, &code);
	ok(!exists(proj, ".git/hooks/pre-commit") &&
	    strcmp(slurp(proj, ".git/config"), "[core]\n") == 0,
	    "attack: write .git/hooks and .git/config");
	run("mv .git/hooks .git/h2; mkdir .git/hooks; "
	    "echo evil > .git/hooks/pre-commit", ENVELOPE_FS_SYSTEM, &code);
	ok(!exists(proj, ".git/h2") &&
	    !exists(proj, ".git/hooks/pre-commit"),
	    "attack: move .git/hooks away and recreate it");
	fmt(cmd, sizeof(cmd), "cd /; mv %s %s/moved; mv %s/.git "
	    "%s/g2", proj, root, proj, proj);
	run(cmd, ENVELOPE_FS_SYSTEM, &code);
	ok(!exists(root, "moved") && exists(proj, ".git/config"),
	    "attack: rename the granted directory away");
	run("echo x > /usr/evil; echo x >> /etc/passwd", ENVELOPE_FS_ALL,
	    &code);
	ok(access("/usr/evil", F_OK) == -1 && code != 0,
	    "attack: write the system baseline");
	fmt(cmd, sizeof(cmd), "echo x > %s/x", outside);
	run(cmd, ENVELOPE_FS_ALL, &code);
	ok(!exists(outside, "x"), "attack: write outside under all");
	o = run("ls / 2>&1", ENVELOPE_FS_SYSTEM, &code);
	ok(code != 0 && strstr(o, "denied") != NULL,
	    "attack: list the new root (Landlock refuses)");
	o = run("grep -v nosuid /proc/self/mountinfo", ENVELOPE_FS_ALL, &code);
	ok(code == 1 && o[0] == '\0',
	    "attack: setuid binaries: every mount is nosuid");
	fmt(cmd, sizeof(cmd), "cp %s suid && chown 1:1 suid && "
	    "chmod 4755 suid; ./suid euid", helper);
	o = run(cmd, ENVELOPE_FS_SYSTEM, &code);
	ok(strstr(o, "EUID 0") != NULL, "attack: a setuid binary does not "
	    "change the euid");
	o = run("ls /dev/vda /dev/sda /dev/mem /dev/kmem /dev/kmsg 2>/dev/null;"
	    " mknod b b 254 0 2>/dev/null && echo MADE", ENVELOPE_FS_SYSTEM,
	    &code);
	ok(o[0] == '\0', "attack: block devices absent, mknod refused");
	o = run("echo 1 > /proc/sys/kernel/sysrq && echo W; "
	    "echo c > /proc/sysrq-trigger && echo W", ENVELOPE_FS_SYSTEM,
	    &code);
	ok(strstr(o, "W") == NULL, "attack: write /proc/sys");
}

static void
t_proc(void)
{
	char		 cmd[256];
	const char	*o;
	int		 code;

	if (setenv("WARD_TEST_PARENT", SECRET "-parent", 1) == -1)
		die("setenv");
	o = run("env; cat /proc/1/environ /proc/self/environ", ENVELOPE_FS_ALL,
	    &code);
	ok(strstr(o, SECRET) == NULL && strstr(o, "WARD_TEST_PARENT") == NULL,
	    "attack: the parent's environment, /proc/1/environ");
	fmt(cmd, sizeof(cmd), "cat /proc/%d/environ; cat /proc/*/environ",
	    (int)getpid());
	o = run(cmd, ENVELOPE_FS_ALL, &code);
	ok(strstr(o, SECRET) == NULL, "attack: /proc/<host pid>/environ");
	o = run("head -c 64 /proc/1/mem 2>/dev/null | wc -c; "
	    "cat /proc/1/maps 2>/dev/null | wc -c", ENVELOPE_FS_ALL, &code);
	is_str(o, "0\n0\n", "attack: read pid 1's memory (it is the "
	    "caller's)");
	o = run("ps -e -o pid= | wc -l", ENVELOPE_FS_ALL, &code);
	ok(atoi(o) <= 4, "attack: host processes are not visible (%d)",
	    atoi(o));
	o = run("grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "
	    "/proc/self/status | tr -d '\\t'", ENVELOPE_FS_SYSTEM, &code);
	is_str(o, "CapEff:0000000000000000\nCapBnd:0000000000000000\n"
	    "CapAmb:0000000000000000\nNoNewPrivs:1\nSeccomp:2\n",
	    "attack: no capabilities; no_new_privs and seccomp on");
	unsetenv("WARD_TEST_PARENT");
}

static void
t_syscalls(void)
{
	int	 code;

	ok(denied("ptrace 1"), "attack: ptrace pid 1");
	ok(denied("vm_read 1"), "attack: process_vm_readv pid 1");
	ok(denied("keyctl"), "attack: keyctl");
	ok(denied("add_key"), "attack: add_key");
	ok(denied("bpf"), "attack: bpf");
	ok(denied("io_uring"), "attack: io_uring_setup");
	ok(denied("perf"), "attack: perf_event_open");
	ok(denied("userns"), "attack: nested unshare(CLONE_NEWUSER)");
	ok(denied("netns"), "attack: unshare(CLONE_NEWNET)");
	ok(denied("clonens"), "attack: clone(CLONE_NEWUSER)");
	ok(denied("clone3"), "attack: clone3");
	ok(strstr(run("unshare -U true && echo NESTED", ENVELOPE_FS_SYSTEM,
	    &code), "NESTED") == NULL, "attack: unshare -U from the shell");
	ok(denied("mount"), "attack: mount tmpfs");
	ok(strstr(run("mount -t tmpfs none /tmp && echo MOUNTED",
	    ENVELOPE_FS_SYSTEM, &code), "MOUNTED") == NULL,
	    "attack: mount from the shell");
	ok(denied("setns"), "attack: setns into pid 1's mount namespace");
	ok(denied("chroot"), "attack: chroot");
	ok(denied("tiocsti 0"), "attack: TIOCSTI");
	ok(denied("tiocsti 1"), "attack: TIOCSTI with high bits set");
	ok(denied("personality 0x40000"), "attack: personality(ADDR_NO_"
	    "RANDOMIZE)");
	ok(denied("personality 0x80040000"), "attack: personality with "
	    "ADDR_NO_RANDOMIZE and bit 31");
	hrun("x32", &code);
	is_int(code, 128 + SIGSYS, "attack: an x32 system call kills");
	ok(denied("socket 16"), "attack: socket(AF_NETLINK)");
	ok(denied("socket 17"), "attack: socket(AF_PACKET)");
	ok(denied("socket 0x100000001"), "attack: socket(AF_UNIX) with "
	    "high bits");
}

static void
t_net(void)
{
	struct sockaddr_in	 a;
	struct sockaddr_un	 u;
	socklen_t		 al = sizeof(a);
	char			 args[PATH_MAX + 16], b[8];
	int			 ts, us, xs, as, code, sv[2];
	pthread_t		 t;
	struct envelope_spec	 s;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ts = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(ts, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(ts, 8) == -1 ||
	    getsockname(ts, (struct sockaddr *)&a, &al) == -1)
		die("tcp server");
	fmt(args, sizeof(args), "tcp %d", ntohs(a.sin_port));
	ok(denied(args) && accept(ts, NULL, NULL) == -1,
	    "attack: TCP to a host loopback server");
	if ((us = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(us, (struct sockaddr *)&a, sizeof(a)) == -1)
		die("udp server");
	fmt(args, sizeof(args), "udp %d", ntohs(a.sin_port));
	hrun(args, &code);
	ok(recv(us, b, sizeof(b), 0) == -1, "attack: UDP to a host loopback "
	    "server");
	memset(&u, 0, sizeof(u));
	u.sun_family = AF_UNIX;
	fmt(u.sun_path, sizeof(u.sun_path), "%s/sock", proj);
	if ((xs = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(xs, (struct sockaddr *)&u, sizeof(u)) == -1 ||
	    listen(xs, 8) == -1)
		die("unix server");
	fmt(args, sizeof(args), "unix %s", u.sun_path);
	ok(denied(args) && accept(xs, NULL, NULL) == -1,
	    "attack: AF_UNIX connect to a host socket in the rw dir");
	memset(&u, 0, sizeof(u));
	u.sun_family = AF_UNIX;
	memcpy(u.sun_path, "\0ward-envelope-test", 19);
	if ((as = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(as, (struct sockaddr *)&u, sizeof(u)) == -1 ||
	    listen(as, 8) == -1)
		die("abstract server");
	ok(denied("unix @ward-envelope-test") && accept(as, NULL, NULL) == -1,
	    "attack: connect to a host abstract socket");
	close(ts);
	close(us);
	close(xs);
	close(as);
	fmt(args, sizeof(args), "%s/sock", proj);
	unlink(args);

	/* The relay, with a fake proxy answering with echoing pairs. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pthread_create(&t, NULL, fake_proxy, (void *)(intptr_t)sv[1]) != 0)
		die("fake proxy");
	fmt(args, sizeof(args), "%s relay 4 300000", helper);
	s = spec(args, ENVELOPE_FS_SYSTEM);
	s.net_fd = sv[0];
	is_str(run_spec(&s, &code), "RELAY OK\n",
	    "control: 4 concurrent connections relayed through the proxy");
	fmt(args, sizeof(args), "%s bind 8080; %s tcp 3129", helper,
	    helper);
	s.command = args;
	/* The command's own loopback is its own (DESIGN §2): it may listen
	 * there, and a port nobody listens on inside is simply closed --
	 * the host's loopback is another namespace. */
	ok(strncmp(run_spec(&s, &code), "DONE\nDENIED 111\n", 16) == 0,
	    "control: the sandbox's own loopback works; another port there "
	    "is closed (ECONNREFUSED), not the host's");
	close(sv[0]);
	pthread_join(t, NULL);
}

static void
t_procs(void)
{
	struct envelope_spec s;
	char		 cmd[PATH_MAX + 64];
	const char	*o;
	struct stat	 sb;
	pid_t		 victim;
	int		 code, st;

	if ((victim = fork()) == -1)
		die("fork");
	if (victim == 0) {
		pause();
		_exit(0);
	}
	fmt(cmd, sizeof(cmd), "kill -9 %d; %s kill %d", (int)victim,
	    helper, (int)victim);
	run(cmd, ENVELOPE_FS_SYSTEM, &code);
	ok(waitpid(victim, &st, WNOHANG) == 0, "attack: kill a host process");
	kill(victim, SIGKILL);
	waitpid(victim, &st, 0);

	run("setsid sleep 987651 & nohup sleep 987652 >/dev/null 2>&1 & "
	    "(sleep 987653 &) ; exit 0", ENVELOPE_FS_SYSTEM, &code);
	ok(code == 0 && !running("98765"),
	    "attack: setsid, nohup and double-fork orphans do not survive");

	s = spec("while :; do :; done", ENVELOPE_FS_SYSTEM);
	s.timeout_ms = 300;
	run_spec(&s, &code);
	ok(code == 124 && res.timed_out, "attack: a busy loop times out 124");
	s = spec("trap '' TERM INT HUP; sleep 987654 & sleep 987655",
	    ENVELOPE_FS_SYSTEM);
	s.timeout_ms = 300;
	run_spec(&s, &code);
	ok(code == 124 && !running("98765"),
	    "attack: a tree ignoring SIGTERM is killed on timeout");

	fmt(cmd, sizeof(cmd), "%s fork 500", helper);
	s = spec(cmd, ENVELOPE_FS_SYSTEM);
	s.lim.nproc = 40;
	o = run_spec(&s, &code);
	/* Root is exempt from RLIMIT_NPROC; pid_max (>= 301) caps it. */
	ok(strncmp(o, "FORKED ", 7) == 0 &&
	    atoi(o + 7) < (getuid() == 0 ? 300 : 40),
	    "attack: fork bomb stopped by the process cap (%d)", atoi(o + 7));
	fmt(cmd, sizeof(cmd), "%s alloc 1073741824", helper);
	s = spec(cmd, ENVELOPE_FS_SYSTEM);
	s.lim.as = 256 << 20;
	ok(strncmp(run_spec(&s, &code), "DENIED", 6) == 0,
	    "attack: memory hog stopped by RLIMIT_AS");
	s = spec("head -c 3000000 /dev/zero > big", ENVELOPE_FS_SYSTEM);
	s.lim.fsize = 1 << 20;
	run_spec(&s, &code);
	fmt(cmd, sizeof(cmd), "%s/big", proj);
	ok(stat(cmd, &sb) == 0 && sb.st_size <= 1 << 20 && code != 0,
	    "attack: a file past RLIMIT_FSIZE");
	unlink(cmd);
}

/* ---- kept templates: no state crosses from one command to the next ---- */

struct par {
	struct envelope_spec	 s;
	struct envelope_result	 r;
	int			 rv;
};

static void *
par_run(void *arg)
{
	struct par	*p = arg;

	p->rv = envelope_run(&p->s, &p->r, NULL);
	return NULL;
}

static void
t_template(void)
{
	struct envelope_spec s;
	struct par	 pa[2];
	pthread_t	 th[2];
	char		 p[PATH_MAX], q[PATH_MAX], cmd[PATH_MAX + 64];
	const char	*ro[1], *o;
	int		 code, i;

	/* The first run builds the template, the second goes through it. */
	envelope_flush();
	o = run("echo a > /tmp/left; echo b > /dev/shm/left; "
	    "ipcmk -M 4096 >/dev/null; sleep 987661 & echo $$", ENVELOPE_FS_SYSTEM,
	    &code);
	ok(code == 0 && o[0] != '\0', "template: first command ran");
	o = run("ls -A /tmp /dev/shm | grep -c left; ipcs -m | grep -c '^0x'; "
	    "ps -e -o args | grep -c 98766[1]", ENVELOPE_FS_SYSTEM, &code);
	is_str(o, "0\n0\n0\n", "template: a second command "
	    "sees none of the first's /tmp, /dev/shm, SysV shm or processes");
	run("chmod 0700 /dev; touch -h -d @1 /dev /dev/fd", ENVELOPE_FS_SYSTEM,
	    &code);
	is_str(run("stat -c %a /dev; stat -c %Y /dev/fd | grep -cx 1",
	    ENVELOPE_FS_SYSTEM, &code), "755\n0\n", "attack: a command leaves "
	    "no mode or time on the kept /dev");
	o = run("ls /proc | grep -c '^[0-9]'", ENVELOPE_FS_SYSTEM, &code);
	ok(atoi(o) <= 4, "template: a fresh pid namespace each time (%d)",
	    atoi(o));

	/* Another plan is another view; the first is unchanged after. */
	s = spec("echo w > tw.txt", ENVELOPE_FS_SYSTEM);
	ro[0] = proj;
	s.rw = NULL;
	s.nrw = 0;
	s.ro = ro;
	s.nro = 1;
	run_spec(&s, &code);
	ok(code != 0 && !exists(proj, "tw.txt"),
	    "template: the project read-only in another spec");
	run("echo w > tw.txt", ENVELOPE_FS_SYSTEM, &code);
	ok(code == 0 && exists(proj, "tw.txt"),
	    "template: and read-write again in the first");
	fmt(p, sizeof(p), "%s/tw.txt", proj);
	unlink(p);
	s = spec("cat .env", ENVELOPE_FS_SYSTEM);
	s.nhide = 1;
	ok(strstr(run_spec(&s, &code), SECRET) != NULL,
	    "template: control: .env readable when not hidden");
	ok(strstr(run("cat .env", ENVELOPE_FS_SYSTEM, &code), SECRET) == NULL,
	    "template: hidden again with the hiding spec");

	/*
	 * The host replaces what a mask covers, as an editor saving .env or
	 * a checkout recreating .git/hooks would: the kept view must not
	 * show the new file or a writable directory.
	 */
	fmt(p, sizeof(p), "%s/.env.new", proj);
	fmt(q, sizeof(q), "%s/.env", proj);
	put(proj, ".env.new", "TOKEN=" SECRET "-new\n");
	if (rename(p, q) == -1)
		die("rename");
	ok(strstr(run("cat .env", ENVELOPE_FS_SYSTEM, &code), SECRET) == NULL,
	    "attack: a hidden file replaced on the host stays hidden");
	fmt(p, sizeof(p), "%s/.git/hooks", proj);
	if (rmdir(p) == -1 || mkdir(p, 0755) == -1)
		die(p);
	run("echo evil > .git/hooks/pre-commit", ENVELOPE_FS_SYSTEM, &code);
	ok(!exists(proj, ".git/hooks/pre-commit"),
	    "attack: a read-only directory recreated on the host stays "
	    "read-only");
	fmt(p, sizeof(p), "%s/late", root);
	if (mkdir(p, 0755) == -1)
		die(p);
	s = spec("ls -d ", ENVELOPE_FS_SYSTEM);
	ro[0] = p;
	s.ro = ro;
	fmt(cmd, sizeof(cmd), "ls -d %s", p);
	s.command = cmd;
	if (rmdir(p) == -1)
		die(p);
	run_spec(&s, &code);
	ok(code != 0, "template: control: a missing grant is absent");
	if (mkdir(p, 0755) == -1)
		die(p);
	run_spec(&s, &code);
	ok(code == 0, "template: a grant created later is seen");
	rmdir(p);

	/* Concurrent runs of one plan: one through the template, one cold. */
	for (i = 0; i < 2; i++) {
		pa[i].s = spec("[ -e /tmp/c ] && echo shared; echo x > /tmp/c; "
		    "sleep 0.2; ls -A /tmp | grep -cx c", ENVELOPE_FS_SYSTEM);
		if (pthread_create(&th[i], NULL, par_run, &pa[i]) != 0)
			die("pthread_create");
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ok(pa[0].rv == 0 && pa[1].rv == 0 && pa[0].r.out.data != NULL &&
	    pa[1].r.out.data != NULL &&
	    strcmp(pa[0].r.out.data, "1\n") == 0 &&
	    strcmp(pa[1].r.out.data, "1\n") == 0,
	    "template: two concurrent runs of one plan, each its own /tmp");
	for (i = 0; i < 2; i++)
		envelope_result_clear(&pa[i].r);
	envelope_flush();
	is_str(run("echo again", ENVELOPE_FS_SYSTEM, &code), "again\n",
	    "template: a run after envelope_flush builds anew");
}

/* ---- the template's zygote ---- */

/* The pids of this process's children (all its threads'), at most max. */
static int
children(pid_t *kids, int max)
{
	char		 p[PATH_MAX], b[4096], *q, *e;
	DIR		*d;
	struct dirent	*de;
	ssize_t		 n;
	long		 v;
	int		 fd, k = 0;

	if ((d = opendir("/proc/self/task")) == NULL)
		die("opendir /proc/self/task");
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fmt(p, sizeof(p), "/proc/self/task/%s/children", de->d_name);
		if ((fd = open(p, O_RDONLY)) == -1)
			continue;
		n = read(fd, b, sizeof(b) - 1);
		close(fd);
		b[n > 0 ? n : 0] = '\0';
		for (q = b; k < max; q = e) {
			v = strtol(q, &e, 10);
			if (e == q)
				break;
			kids[k++] = (pid_t)v;
		}
	}
	closedir(d);
	return k;
}

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Entries in /proc/PID/fd that are not sockets, or -1 when it cannot be
 * read; *total gets all of them. */
static int
fd_others(pid_t pid, int *total)
{
	char		 p[PATH_MAX], l[128];
	DIR		*d;
	struct dirent	*de;
	ssize_t		 n;
	int		 k = 0;

	*total = 0;
	fmt(p, sizeof(p), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(*total)++;
		fmt(p, sizeof(p), "/proc/%ld/fd/%s", (long)pid, de->d_name);
		if ((n = readlink(p, l, sizeof(l) - 1)) < 0)
			n = 0;
		l[n] = '\0';
		if (strncmp(l, "socket:", 7) != 0)
			k++;
	}
	closedir(d);
	return k;
}

static void
t_zygote(void)
{
	static char	 one[] = "WARD_T_ONE=" SECRET "-env1";
	static char	*envx[] = { "PATH=/usr/bin:/bin", envhome, "LANG=C", one,
	    NULL };
	struct envelope_spec s;
	pid_t		 kids[16], pid, z;
	char		 want[PATH_MAX + 2], *big;
	uint64_t	 t0;
	int		 n, i, st, fds[2], code, gone;

	/* One command's environment, cwd and limits are its own. */
	envelope_flush();
	s = spec("echo ${WARD_T_ONE-unset}; ulimit -n", ENVELOPE_FS_SYSTEM);
	s.envp = envx;
	s.lim.nofile = 77;
	is_str(run_spec(&s, &code), SECRET "-env1\n77\n",
	    "zygote: control: a command gets its environment and limits");
	is_str(run("echo ${WARD_T_ONE-unset}; ulimit -n", ENVELOPE_FS_SYSTEM,
	    &code), "unset\n4096\n", "zygote: the next command through the "
	    "same template gets neither");
	/* A command too big for one message goes in a memfd. */
	big = malloc(200064);
	if (big == NULL)
		die("malloc");
	memcpy(big, "x=", 2);
	memset(big + 2, 'a', 100000);
	fmt(big + 100002, 64, "; echo ${#x}");
	is_str(run(big, ENVELOPE_FS_SYSTEM, &code), "100000\n",
	    "zygote: a 100 KB command line arrives whole");
	free(big);
	s = spec("pwd", ENVELOPE_FS_SYSTEM);
	s.cwd = bindir;
	fmt(want, sizeof(want), "%s\n", bindir);
	is_str(run_spec(&s, &code), want,
	    "zygote: a command starts in its own cwd");

	/* A caller that ignores SIGCHLD: pid 1 and the zygote must not. */
	signal(SIGCHLD, SIG_IGN);
	envelope_flush();
	s = spec("exit 3", ENVELOPE_FS_SYSTEM);
	s.timeout_ms = 20000;
	run_spec(&s, &code);
	ok(code == 3, "zygote: a caller that ignores SIGCHLD gets the exit "
	    "code (%d, first run)", code);
	run_spec(&s, &code);
	ok(code == 3, "zygote: and through the template (%d)", code);
	signal(SIGCHLD, SIG_DFL);

	/* A template is kept by one process, holding one descriptor. */
	envelope_flush();
	run("true", ENVELOPE_FS_SYSTEM, &code);
	n = children(kids, 16);
	ok(n == 1, "zygote: one process keeps the template (%d)", n);
	z = n == 1 ? kids[0] : -1;
	i = z != -1 ? fd_others(z, &st) : -1;
	ok((i == 0 && st <= 3) || (i == -1 && getuid() != 0), "zygote: it "
	    "holds its own sockets and no other descriptor (%d of %d)", i, st);

	/* Killed from outside, it is replaced: the run still works. */
	for (i = 0; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], &st, 0);
	}
	is_str(run("echo back", ENVELOPE_FS_SYSTEM, &code), "back\n",
	    "zygote: a zygote killed from outside is replaced");

	/* It ends with the process that made it, without envelope_flush. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1 || pipe(fds) == -1)
		die("subreaper");
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		run("true", ENVELOPE_FS_SYSTEM, &code);
		n = children(kids, 16);
		z = n == 1 && code == 0 ? kids[0] : -1;
		(void)!write(fds[1], &z, sizeof(z));
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &z, sizeof(z)) != sizeof(z))
		z = -1;
	close(fds[0]);
	waitpid(pid, &st, 0);
	/* Orphans come to us (subreaper): reap until the zygote is gone. */
	gone = 0;
	for (t0 = now_ms(); z != -1 && !gone && now_ms() - t0 < 10000;) {
		if ((pid = waitpid(-1, &st, WNOHANG)) == z)
			gone = 1;
		else if (pid <= 0)
			usleep(10000);
	}
	while (waitpid(-1, &st, WNOHANG) > 0)
		;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	ok(z != -1 && gone, "zygote: it ends when the process that made it "
	    "exits");
}

int
main(void)
{
	setup();
	t_controls();
	t_files();
	t_proc();
	t_syscalls();
	t_net();
	t_procs();
	t_template();
	t_zygote();
	envelope_result_clear(&res);
	rm_tree(root);
	return done_testing();
}
