#!/bin/bash
# `ward sandbox run` (DESIGN §4, §2 invariants 2-4): every attack below runs
# through the real CLI, in the real envelope, and each asserts that its
# effect did not happen; the positive controls prove that granted reads,
# writes, exit codes and output still work. The scripts live in the project
# (t/*.sh), so the policy sees only `sh t/NAME.sh`: the sandbox alone has
# to stop what they do.
. "$(dirname "$0")/lib.sh"
make_project
cd "$P" || exit 2

mkdir -p t out src/sub "$HOME/.ssh" "$HOME/.aws" .git/hooks
printf 'HOMESECRET-ssh\n' > "$HOME/.ssh/id_rsa"
printf 'HOMESECRET-aws\n' > "$HOME/.aws/credentials"
printf 'OUTSIDESECRET\n' > "$T/outside.txt"
printf 'KEYSECRET\n' > src/id.key
printf '[core]\n' > .git/config
printf 'int x;\n' > src/main.c
export WARD_TEST_PARENT_SECRET=PARENTSECRET
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.write]
paths = ["out/**"]

[capabilities.deny.read]
default_files = ["*.key"]
paths = ["**"]

[capabilities.allow.commands]
patterns = ["sh:*", "true", "false", "echo:*"]

[capabilities.deny.commands]
patterns = ["curl:*"]

[command_run]
command_timeout = 20
max_output_bytes = 4096
TOML

# sb NAME SCRIPT: writes t/NAME.sh and runs it; sets OUT (stdout+stderr)
# and RC. An attack that never ran proves nothing, so each one first
# checks that the script started inside the sandbox.
sb() {
	printf 'echo SB-STARTED\n%s\n' "$2" > "t/$1.sh"
	OUT=$("$WARD" sandbox run -- sh "t/$1.sh" 2>&1 | strip_asan; exit "${PIPESTATUS[0]}"); RC=$?
	like "$OUT" '^SB-STARTED' "$1: the script ran in the sandbox"
	OUT=$(printf '%s' "$OUT" | sed '1{/^SB-STARTED$/d}')
}

# --- positive controls ----------------------------------------------------
sb ok 'echo hello; cat src/main.c; exit 7'
is "$RC" 7 "the command's exit code is ward's"
like "$OUT" 'hello' "its output is printed"
like "$OUT" 'int x;' "a granted file can be read"
unlike "$OUT" 'sandbox denied' "and nothing is reported refused"
sb write 'echo made > out/new.txt'
is "$(cat out/new.txt 2>/dev/null)" made "a granted directory can be written"
sb cwd 'pwd'
is "$OUT" "$(pwd -P)" "the command starts in the project root"

# --- files: secrets, outside, denied, protected ---------------------------
sb home 'cat ~/.ssh/id_rsa; cat '"$HOME"'/.aws/credentials; ls -la '"$HOME"''
unlike "$OUT" 'HOMESECRET' "secrets in \$HOME are not readable"
like "$OUT" "sandbox denied read: $HOME/\.ssh/id_rsa" "the refused read is reported by name"
like "$OUT" "sandbox denied read: $HOME/\.aws/credentials" "each of them"
sb outside 'cat '"$T"'/outside.txt'
unlike "$OUT" 'OUTSIDESECRET' "a file outside the project is not readable"
like "$OUT" "sandbox denied read: $T/outside\.txt" "and that is reported"
sb denied 'cat src/id.key'
unlike "$OUT" 'KEYSECRET' "a file the manifest denies is not readable"
sb shadow 'cat /etc/shadow; cat /etc/gshadow'
unlike "$OUT" 'root:' "/etc/shadow is masked"
sb wardstate 'ls -R '"$XDG_STATE_HOME"' '"$XDG_CONFIG_HOME"' 2>/dev/null; od -c '"$XDG_CONFIG_HOME"'/ward/user.key 2>/dev/null'
unlike "$OUT" 'approvals|^0000000' "ward's own state and key are not visible"
sb writesrc 'echo pwned >> src/main.c; echo pwned > src/new.c'
is "$(cat src/main.c)" 'int x;' "a file outside allow.write is not changed"
[ ! -e src/new.c ]; ok $? "nor created"
like "$OUT" "sandbox denied write: $(pwd -P)/src/main\.c" "the refused write is reported by name"
like "$OUT" "sandbox denied write: $(pwd -P)/src/new\.c" "and the refused create"
sb writeout 'echo pwned > '"$T"'/pwned'
[ ! -e "$T/pwned" ]; ok $? "nothing is written outside the project"
cp ward.toml "$T/ward.toml.before"
sb manifest 'echo "[x]" >> ward.toml; chmod 777 ward.toml; mv ward.toml out/w.toml; rm -f ward.toml'
cmp -s ward.toml "$T/ward.toml.before"; ok $? "ward.toml cannot be changed, moved or removed"
like "$OUT" "sandbox denied write: $(pwd -P)/ward\.toml" "which is reported"
rm -f out/w.toml
sb hooks 'mkdir -p .git/hooks; echo "echo pwned" > .git/hooks/pre-commit; echo "[alias]" >> .git/config'
[ ! -e .git/hooks/pre-commit ]; ok $? ".git/hooks cannot be written"
like "$OUT" "sandbox denied write: $(pwd -P)/\.git/hooks/pre-commit" "which is reported"
is "$(cat .git/config)" '[core]' ".git/config cannot be written"
sb usr 'echo x > /usr/pwned; echo x >> /etc/passwd; touch /bin/pwned'
[ ! -e /usr/pwned ] && [ ! -e /bin/pwned ] && ! grep -q '^x$' /etc/passwd; ok $? "the system baseline is read-only"
like "$OUT" 'sandbox denied write: /usr/pwned' "reported: the redirect"
like "$OUT" 'sandbox denied write: /etc/passwd' "the append"
like "$OUT" 'sandbox denied write: /bin/pwned' "and the touch"
sb blockdev 'cat /dev/sda; echo x > out/made; cat nothere.txt; cat /tmp/mine 2>/dev/null; echo y > /tmp/mine'
like "$OUT" 'sandbox denied read: /dev/sda' "a block device read is reported"
unlike "$OUT" 'denied (read|write): .*(nothere|made|/tmp/mine)' "a missing project file and the sandbox's own /tmp are not refusals"
rm -f out/made
sb tmp 'echo in-sandbox > /tmp/ward-sandbox-tmp-probe'
[ ! -e /tmp/ward-sandbox-tmp-probe ]; ok $? "/tmp is private"

# --- links and moves ------------------------------------------------------
sb symw 'ln -s ../src/main.c out/l; echo pwned > out/l'
is "$(cat src/main.c)" 'int x;' "writing through a symlink in a writable dir does not reach a read-only file"
rm -f out/l
sb symr 'ln -s '"$T"'/outside.txt out/o; cat out/o'
unlike "$OUT" 'OUTSIDESECRET' "a symlink to a file outside reads nothing"
rm -f out/o
sb symk 'ln -s ../src/id.key out/k; cat out/k'
unlike "$OUT" 'KEYSECRET' "a symlink to a denied file reads nothing"
rm -f out/k
sb symd 'ln -s / out/root; cat out/root'"$T"'/outside.txt; cat out/root/etc/shadow'
unlike "$OUT" 'OUTSIDESECRET|root:' "a directory symlink to / reads nothing outside"
rm -f out/root
sb hard 'ln src/main.c out/h && echo pwned > out/h; ln '"$T"'/outside.txt out/h2; cat out/h2'
is "$(cat src/main.c)" 'int x;' "a hard link into a writable dir does not make a file writable"
unlike "$OUT" 'OUTSIDESECRET' "nor does one to an outside file read it"
sb mvdir 'mv out out-moved; mv src src-moved'
[ -d out ] && [ -d src ] && [ ! -e out-moved ] && [ ! -e src-moved ]; ok $? "granted directories cannot be moved away"
sb procroot 'cat /proc/self/root'"$T"'/outside.txt; cat /proc/1/root'"$T"'/outside.txt'
unlike "$OUT" 'OUTSIDESECRET' "/proc/self/root and /proc/1/root lead nowhere outside"

# --- processes and the environment ----------------------------------------
sb env 'env; cat /proc/*/environ 2>/dev/null | tr "\0" "\n"'
unlike "$OUT" 'PARENTSECRET' "the parent's environment is not visible"
like "$OUT" 'PATH=' "the minimal environment is"
sleep 300 & victim=$!
echo "$victim" >> "$T/pids"
sb kill 'kill -9 '"$victim"'; kill -9 -1; ls /proc | grep -c "^[0-9]"'
kill -0 "$victim" 2>/dev/null; ok $? "a host process cannot be killed"
sb pids 'ls /proc | grep "^[0-9]" | wc -l'
[ "$(printf '%s' "$OUT" | tr -d ' \n')" -lt 10 ]; ok $? "only the sandbox's own processes are visible"
marker="ward-orphan-$$-$RANDOM"
sb orphan 'setsid sh -c "exec -a '"$marker"' sleep 300" & nohup sh -c "exec -a '"$marker"'x sleep 300" >/dev/null 2>&1 & sleep 1; echo started'
sleep 1
! pgrep -f "$marker" >/dev/null; ok $? "nothing the command started outlives it (setsid, nohup)"
sb ptrace 'python3 -c "import ctypes,os; l=ctypes.CDLL(None,use_errno=True); print(\"ptrace\", l.ptrace(16, '"$victim"', 0, 0), ctypes.get_errno())"'
unlike "$OUT" 'ptrace 0 ' "ptrace of a host process fails"
sb caps 'grep -E "^Cap(Eff|Prm|Bnd|Amb)" /proc/self/status'
unlike "$OUT" 'Cap(Eff|Prm):[[:space:]]*0*[1-9a-f]' "the command has no capabilities"
sb nnp 'grep NoNewPrivs /proc/self/status'
like "$OUT" 'NoNewPrivs:[[:space:]]*1' "no_new_privs is set"
sb seccomp 'grep Seccomp: /proc/self/status'
like "$OUT" 'Seccomp:[[:space:]]*2' "a seccomp filter is on"
sb userns 'unshare -U -r true && echo NESTED-OK'
unlike "$OUT" 'NESTED-OK' "a nested user namespace cannot be made"
sb mount 'mount -t tmpfs none /tmp && echo MOUNT-OK; mount --bind / /mnt && echo MOUNT-OK'
unlike "$OUT" 'MOUNT-OK' "mount is refused"
sb hostname 'hostname pwned-host && echo HOST-OK; hostname'
[ "$(hostname)" != pwned-host ]; ok $? "the host's name is not changed"
sb dev 'ls /dev; cat /dev/sda /dev/vda /dev/nvme0n1 /dev/mem /dev/kmsg 2>&1 | head -c 100 | od -c | head -2'
unlike "$OUT" '(^|[[:space:]])(sd[a-z]|vd[a-z]|nvme|mem|kmsg|loop[0-9])' "no block devices, /dev/mem or /dev/kmsg"
sb syscalls 'python3 - <<PY
import ctypes
l = ctypes.CDLL(None, use_errno=True)
for name, nr, args in (("bpf", 321, (0, 0, 0)), ("keyctl", 250, (0, 0, 0)), ("io_uring_setup", 425, (1, 0)), ("perf_event_open", 298, (0, 0, -1, -1, 0)), ("kexec_load", 246, (0, 0, 0, 0)), ("init_module", 175, (0, 0, 0))):
    r = l.syscall(nr, *args)
    print(name, "OK" if r >= 0 else "refused")
PY'
unlike "$OUT" ' OK' "bpf, keyctl, io_uring, perf_event_open, kexec and module loading are refused"
sb tiocsti 'python3 -c "import fcntl,termios,os; fd=os.open(\"/dev/tty\",os.O_RDWR); fcntl.ioctl(fd, termios.TIOCSTI, b\"x\"); print(\"TIOCSTI-OK\")"'
unlike "$OUT" 'TIOCSTI-OK' "TIOCSTI is refused"

# --- network ---------------------------------------------------------------
python3 - "$T" <<'PY' &
import socket, sys, os, threading
t = sys.argv[1]
tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 0)); tcp.listen(8)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
ux = socket.socket(socket.AF_UNIX); ux.bind(t + "/host.sock"); ux.listen(8)
open(t + "/ports", "w").write("%d %d\n" % (tcp.getsockname()[1], udp.getsockname()[1]))
def serve(s, name):
    while True:
        c, _ = s.accept(); open(t + "/hit-" + name, "a").write("x"); c.close()
def serve_udp():
    while True:
        udp.recv(100); open(t + "/hit-udp", "a").write("x")
threading.Thread(target=serve, args=(tcp, "tcp"), daemon=True).start()
threading.Thread(target=serve, args=(ux, "unix"), daemon=True).start()
threading.Thread(target=serve_udp, daemon=True).start()
threading.Event().wait(600)
PY
echo $! >> "$T/pids"
for i in $(seq 50); do [ -s "$T/ports" ] && break; sleep 0.1; done
read -r tport uport < "$T/ports"
sb tcp 'python3 -c "import socket; s=socket.create_connection((\"127.0.0.1\", '"$tport"'), 3); print(\"TCP-OK\")"'
unlike "$OUT" 'TCP-OK' "TCP to a loopback server on the host fails"
sb udp 'python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b\"x\", (\"127.0.0.1\", '"$uport"')) for i in range(3)]"'
sb unix 'python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect(\"'"$T"'/host.sock\"); print(\"UNIX-OK\")"'
unlike "$OUT" 'UNIX-OK' "an AF_UNIX socket on the host cannot be reached"
sleep 0.5
[ ! -e "$T/hit-tcp" ] && [ ! -e "$T/hit-udp" ] && [ ! -e "$T/hit-unix" ]; ok $? "the host servers saw nothing (TCP, UDP, AF_UNIX)"
sb ext 'python3 -c "import socket; s=socket.create_connection((\"1.1.1.1\", 80), 3); print(\"EXT-OK\")"'
unlike "$OUT" 'EXT-OK' "an outside address is not reachable"
sb lo 'python3 -c "
import socket
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(1)
c = socket.create_connection(s.getsockname()); print(\"LOOPBACK-OK\")"'
like "$OUT" 'LOOPBACK-OK' "the command's own loopback works"

# --- limits ----------------------------------------------------------------
OUT=$("$WARD" sandbox run --timeout 1 -- sleep 300 2>&1); RC=$?
is "$RC" 124 "a timeout kills the command (exit 124)"
like "$OUT" 'timed out' "and says so"
printf '%s\n' 'trap "" TERM; while :; do :; done' > t/spin.sh
OUT=$("$WARD" sandbox run --timeout 1 -- sh t/spin.sh 2>&1); RC=$?
is "$RC" 124 "a loop that ignores SIGTERM is killed too"
sb forkbomb 'f() { f | f & }; f; sleep 3; echo survived'
ok 0 "a fork bomb returns (exit $RC)"
kill -0 "$victim" 2>/dev/null; ok $? "and the host is fine"
sb memory 'python3 -c "x = bytearray(64 << 30); print(\"ALLOC-OK\")"'
unlike "$OUT" 'ALLOC-OK' "a 64 GiB allocation fails"
sb flood 'yes 0123456789 | head -c 200000'
[ "${#OUT}" -le 8192 ]; ok $? "output past max_output_bytes is not printed (${#OUT} chars)"
like "$OUT" 'more bytes of output are in' "the rest is kept in a file, named"
spill=$(printf '%s' "$OUT" | sed -n 's/.*more bytes of output are in \(.*\)$/\1/p')
[ -f "$spill" ] && [ "$(wc -c < "$spill")" -eq 200011 ]; ok $? "and the file has all of it (200,000 bytes after SB-STARTED)"

# --- policy ---------------------------------------------------------------
touch "$T/curl-marker"
OUT=$("$WARD" sandbox run -- sh -c "rm $T/curl-marker; curl http://x" 2>&1); RC=$?
is "$RC" 126 "a command the manifest denies is refused (exit 126)"
[ -e "$T/curl-marker" ]; ok $? "and nothing of it ran"
like "$OUT" 'curl:\*' "naming the rule"
printf '\n[security]\nallow_pipes = false\n' >> ward.toml
OUT=$("$WARD" sandbox run -- true 2>&1); RC=$?
is "$RC" 126 "a manifest changed since approval is refused (exit 126)"
like "$OUT" 'ward approve' "saying how to fix it"

# --- egress through the proxy ------------------------------------------------
mkdir -p "$T/www" && printf 'PROXY-HELLO\n' > "$T/www/ok.txt"
python3 -m http.server --bind 127.0.0.1 0 --directory "$T/www" > "$T/http.log" 2>&1 &
echo $! >> "$T/pids"
for i in $(seq 50); do hport=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/http.log" | head -1); [ -n "$hport" ] && break; sleep 0.1; done
# fetch URL: a plain HTTP request through $HTTP_PROXY, printing the body or
# the error; tunnel HOST PORT: a CONNECT, then a GET inside the tunnel.
cat > t/net.py <<'PY'
import os, socket, sys, urllib.request
mode, a = sys.argv[1], sys.argv[2:]
try:
    if mode == "fetch":
        print("BODY", urllib.request.urlopen(a[0], timeout=5).read().decode().strip())
    else:
        p = os.environ["HTTP_PROXY"].rsplit(":", 1)
        s = socket.create_connection((p[0].split("//")[1], int(p[1])), 5)
        s.sendall(("CONNECT %s:%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (a[0], a[1], a[0])).encode())
        head = s.recv(4096).decode()
        print("CONNECT", head.split("\r\n")[0])
        if " 200" in head:
            s.sendall(b"GET /ok.txt HTTP/1.0\r\n\r\n")
            body = b""
            while True:
                c = s.recv(4096)
                if not c:
                    break
                body += c
            print("TUNNEL", body.decode().strip().splitlines()[-1])
except Exception as e:
    print("ERR", type(e).__name__, e)
PY
netgrant() {	# netgrant DOMAINS-TOML-ARRAY
	approve_project "$P" <<TOML
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.commands]
patterns = [{ command = "sh:*", domains = $1 }]
TOML
}
netgrant '["127.0.0.1"]'
sb proxyok 'echo "proxy=$HTTP_PROXY"; python3 t/net.py fetch http://127.0.0.1:'"$hport"'/ok.txt; python3 t/net.py tunnel 127.0.0.1 '"$hport"
like "$OUT" 'proxy=http://127\.0\.0\.1:3128' "a grant with domains gets HTTP_PROXY"
like "$OUT" 'BODY PROXY-HELLO' "an allowlisted host is reached through the proxy (plain HTTP)"
like "$OUT" 'TUNNEL PROXY-HELLO' "and through a CONNECT tunnel"
sb proxyno 'python3 t/net.py fetch http://example.com/; python3 t/net.py fetch http://10.1.2.3/; python3 t/net.py tunnel 10.1.2.3 80; python3 t/net.py tunnel 2130706433 '"$hport"
unlike "$OUT" 'BODY|TUNNEL' "a host the grant does not name, an unnamed raw IP and a decimal spelling of a named one are refused"
like "$OUT" 'sandbox denied network: example\.com' "the refusal is reported for the audit log and the model"
like "$OUT" 'sandbox denied network: 10\.1\.2\.3' "for the raw IP too"
netgrant '["localhost"]'
sb proxypriv 'python3 t/net.py fetch http://localhost:'"$hport"'/ok.txt; python3 t/net.py tunnel localhost '"$hport"'; python3 t/net.py tunnel "localhost%00.evil.com" 80; python3 t/net.py fetch "http://localhost%00.evil.com/"'
unlike "$OUT" 'BODY|TUNNEL' "a granted name that resolves to loopback is refused unless the address is named, and a NUL trick too"
like "$OUT" 'sandbox denied network: localhost' "naming the host"
netgrant '[]'
sb nonet 'echo "proxy=${HTTP_PROXY:-none}"; python3 -c "import socket; socket.create_connection((\"127.0.0.1\", 3128), 3); print(\"PROXY-PORT-OK\")"'
like "$OUT" 'proxy=none' "a grant without domains gets no proxy"
unlike "$OUT" 'PROXY-PORT-OK' "and no network at all"

# --- a writable project root still protects the manifest and git -----------
rm -rf .git/hooks
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.write]
paths = ["**"]
TOML
cp ward.toml "$T/ward.toml.rw"
sb rwroot 'mkdir -p .git/hooks; echo "echo pwned" > .git/hooks/post-checkout; echo "[core] hooksPath = /tmp" >> .git/config; mv .git .git-moved; echo "[x]" >> ward.toml; echo ok > rw-works.txt'
[ ! -e .git/hooks/post-checkout ] && [ -d .git ] && [ ! -e .git-moved ]; ok $? "with the root writable, .git/hooks (even when it was missing) cannot be written and .git not moved"
is "$(cat .git/config)" '[core]' "nor .git/config"
cmp -s ward.toml "$T/ward.toml.rw"; ok $? "nor ward.toml"
is "$(cat rw-works.txt 2>/dev/null)" ok "while the rest of the project is writable"

# --- attacks found in review -------------------------------------------------
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.write]
paths = ["**"]

[capabilities.deny.read]
default_files = ["*.key"]
paths = ["**", "secret.txt", "config/secrets"]

[capabilities.allow.commands]
patterns = [{ command = "true", env_vars = ["WARD_TEST_PARENT_SECRET"], domains = ["127.0.0.1"] }, "sh:*"]

[capabilities.deny.commands]
patterns = ["curl:*"]
TOML
printf 'FILE-SECRET\n' > secret.txt
mkdir -p config/secrets && printf 'DIR-SECRET\n' > config/secrets/token
sb named 'cat secret.txt config/secrets/token'
unlike "$OUT" 'FILE-SECRET|DIR-SECRET' "a deny entry naming a file or directory hides it, whatever default_files says"
sb mvparent 'mv config config-moved; cat config-moved/secrets/token'
sb mvparent2 'cat config-moved/secrets/token config/secrets/token'
unlike "$OUT" 'DIR-SECRET' "moving the parent of a hidden directory does not carry it out from under its mask"
[ -d config/secrets ] && [ ! -e config-moved ]; ok $? "the parent could not be moved"
sb dgram 'python3 -c "
import socket
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
a.sendto(b\"x\", \"'"$T"'/host.sock\"); print(\"DGRAM-SENT\")"'
unlike "$OUT" 'DGRAM-SENT' "a datagram socketpair cannot send to a host unix socket"
sb plant 'ln -s /nonexistent out/x.key; mkfifo out/y.key; echo planted'
OUT=$(timeout 60 "$WARD" sandbox run -- echo still-works 2>&1); RC=$?
is "$RC" 0 "a planted symlink or FIFO named like a denied file does not break later commands"
like "$OUT" 'still-works' "  (the command ran)"
rm -f out/x.key out/y.key
sb deep 'mkdir -p out/d && cd out/d && for i in $(seq 70); do mkdir d; cd d; done && echo KEY-SECRET > id.key && echo deep-made'
OUT=$("$WARD" sandbox run -- true 2>&1); RC=$?
is "$RC" 1 "a tree too deep to check for denied files is refused, not skipped"
like "$OUT" 'nested too deep' "saying why"
rm -rf out/d
mkdir -p "$T/hostdir" && printf 'original\n' > "$T/hostdir/file"
ln -s "$T/hostdir" build-link
sb symgrant 'echo PWNED > build-link/file'
is "$(cat "$T/hostdir/file")" original "a symlink in the project does not choose what host directory gets bound"
rm -f build-link
export WARD_TEST_PARENT_SECRET=only-for-true
sb shared 'echo "token=${WARD_TEST_PARENT_SECRET:-none} proxy=${HTTP_PROXY:-none}"'
OUT=$("$WARD" sandbox run -- "true; sh t/shared.sh" 2>&1)
like "$OUT" 'token=none proxy=none' "a grant's variables and hosts do not reach the other parts of a line"
OUT=$("$WARD" sandbox run -- /usr/bin/curl --version 2>&1); RC=$?
is "$RC" 126 "a denied program named by its path is refused"
git init -q gitrepo 2>/dev/null || mkdir -p gitrepo/.git
cp ward.toml gitrepo/ && ( cd gitrepo && "$WARD" approve --yes >/dev/null )
printf 'echo SB-STARTED; echo ../.evil > .git/commondir; mkdir -p .evil; echo "[core]" > .git/config.worktree; echo x > .git/HEAD; echo done\n' > gitrepo/g.sh
OUT=$(cd gitrepo && "$WARD" sandbox run -- sh g.sh 2>&1)
like "$OUT" 'SB-STARTED' "git metadata attack: the script ran"
[ ! -e gitrepo/.git/commondir ] && [ ! -e gitrepo/.git/config.worktree ] && [ "$(cat gitrepo/.git/HEAD)" != x ]; ok $? "nothing in .git can be written (commondir, config.worktree, HEAD)"

# --- secrets from the vault ----------------------------------------------------
SECRET_VALUE='ghp_w4rdT3stS3cr3t_Zq9xL2mV'
printf '%s' "$SECRET_VALUE" | "$WARD" secret set GH_TOKEN >/dev/null 2>&1; ok $? "a secret is stored (value on stdin)"
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.write]
paths = ["out/**"]

[capabilities.allow.commands]
patterns = [{ command = "sh:*", secrets = ["GH_TOKEN"] }, "echo:*"]
TOML
sb secret 'echo "raw=$GH_TOKEN"; printf %s "$GH_TOKEN" | base64; printf %s "$GH_TOKEN" | od -An -tx1 | tr -d " \n"; echo; tr "\0" " " < /proc/self/cmdline; yes line | head -c 300000; echo "tail=$GH_TOKEN"'
unlike "$OUT" "$SECRET_VALUE" "the granted command's output never shows the secret"
like "$OUT" 'raw=\[REDACTED:GH_TOKEN\]' "it is redacted by name"
unlike "$OUT" "$(printf '%s' "$SECRET_VALUE" | base64)" "nor its base64"
spill=$(printf '%s' "$OUT" | sed -n 's/.*more bytes of output are in \(.*\)$/\1/p')
[ -f "$spill" ] && ! grep -q "$SECRET_VALUE" "$spill" && grep -q 'tail=\[REDACTED:GH_TOKEN\]' "$spill"; ok $? "the spill file is redacted to its end"
OUT=$("$WARD" sandbox run -- 'echo "token=${GH_TOKEN:-none}"' 2>&1)
like "$OUT" 'token=none' "a command whose grant does not name the secret does not get it"
# The value is in the environment only: no process's argv holds it, in
# the sandbox or on the host, while the command runs. (The pattern goes
# to grep through a file, so grep's own argv does not hold it.)
sb argv 'echo "err=$GH_TOKEN" >&2; printenv GH_TOKEN > /tmp/pat; echo "in-sandbox=$(grep -lF -f /tmp/pat /proc/[0-9]*/cmdline 2>/dev/null | wc -l)"; echo x > out/argv-running; sleep 2'
like "$OUT" 'err=\[REDACTED:GH_TOKEN\]' "a secret on stderr is redacted too"
like "$OUT" 'in-sandbox=0' "no process in the sandbox has the value in its argv"
printf '%s' "$SECRET_VALUE" > "$T/pat"
rm -f out/argv-running
"$WARD" sandbox run -- sh t/argv.sh >/dev/null 2>&1 &
argvpid=$!
for i in $(seq 1 100); do [ -e out/argv-running ] && break; sleep 0.1; done
n=$(grep -lF -f "$T/pat" /proc/[0-9]*/cmdline 2>/dev/null | wc -l)
wait "$argvpid"
is "$n" 0 "no host process (ward, the CLI, the sandbox) has it in its argv either"
! grep -rqa "$SECRET_VALUE" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" 2>/dev/null; ok $? "no file under ward's directories holds the value"
"$WARD" secret revoke GH_TOKEN >/dev/null 2>&1
printf 'echo SB-STARTED\n' > t/rev.sh
OUT=$("$WARD" sandbox run -- sh t/rev.sh 2>&1); RC=$?
is "$RC" 126 "a command whose grant names a revoked secret is refused"
like "$OUT" 'revoked' "saying so"
unlike "$OUT" 'SB-STARTED' "and it did not run"

# A revoke while `ward sandbox run` holds the secret stops it (no daemon:
# the CLI watches the vault itself).
printf '%s' "$SECRET_VALUE" | "$WARD" secret set GH_TOKEN >/dev/null 2>&1
printf 'echo x > out/rev-started; sleep 60; echo not-stopped\n' > t/hold.sh
rm -f out/rev-started
start=$(date +%s)
"$WARD" sandbox run -- sh t/hold.sh > "$T/hold.out" 2>&1 &
hold=$!
for i in $(seq 1 600); do [ -e out/rev-started ] && break; sleep 0.1; done
[ -e out/rev-started ]; ok $? "sandbox run: a command holding GH_TOKEN runs"
"$WARD" secret revoke GH_TOKEN >/dev/null 2>&1
wait "$hold"; RC=$?
took=$(( $(date +%s) - start ))
is "$RC" 126 "a revoke stops it (exit 126)"
[ "$took" -lt 40 ]; ok $? "well before its 60 s sleep (${took}s)"
OUT=$(cat "$T/hold.out")
like "$OUT" 'stopped: the secret GH_TOKEN it was given was revoked' "saying why"
unlike "$OUT" 'not-stopped' "and it did not go on"

# --- fail closed -----------------------------------------------------------
for layer in userns landlock seccomp; do
	rm -f "$T/layer-ran"
	OUT=$(WARD_PROBE_DISABLE=$layer "$WARD" sandbox run -- "touch $T/layer-ran" 2>&1); RC=$?
	is "$RC" 111 "without $layer the command does not run (exit 111)"
	[ ! -e "$T/layer-ran" ]; ok $? "  and nothing ran"
	like "$OUT" "$( [ $layer = userns ] && echo 'user namespaces' || echo $layer)" "  and the error names the layer"
done

"$WARD" sandbox run --help | grep -q 'usage: ward sandbox run'; ok $? "--help"
"$WARD" sandbox run >/dev/null 2>&1; is "$?" 2 "no command is a usage error"
done_testing
