# Shared helpers for the integration tests (TAP for `prove`). Each test gets
# its own HOME and XDG directories under a temp dir, so it starts its own
# daemon and never touches the user's; everything is removed at exit.
# Source it, then call the ok/is/like functions and finally done_testing.
set -u

: "${WARD:?run through make test (WARD=path to build/ward)}"
: "${WARD_BUILD:?run through make test}"

T=$(mktemp -d /tmp/ward-test.XXXXXX)
export HOME="$T/home" XDG_CONFIG_HOME="$T/config" XDG_STATE_HOME="$T/state" \
    XDG_DATA_HOME="$T/data" XDG_RUNTIME_DIR="$T/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
unset NO_COLOR WARD_PROBE_DISABLE

_n=0 _failed=0
ok() {	# ok CONDITION-EXIT-CODE DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2"
	else echo "not ok $_n - $2"; _failed=$((_failed + 1)); fi
}
is() {	# is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then ok 0 "$3"
	else ok 1 "$3"; echo "#   got: '$1'"; echo "#  want: '$2'"; fi
}
like() {	# like TEXT GREP-ERE DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"
	else ok 1 "$3"; echo "#   no match for /$2/ in:"; printf '%s\n' "$1" | head -20 | sed 's/^/#     /'; fi
}
unlike() {	# unlike TEXT GREP-ERE DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 1 "$3"; echo "#   unexpected /$2/"
	else ok 0 "$3"; fi
}
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# Drops ASan's warning about clone()d children on their own stacks (it
# prints three lines on stderr and changes nothing): test-asan output
# must compare like the normal build's.
strip_asan() {
	sed -e '/==[0-9]*==WARNING: ASan is ignoring requested __asan_handle_no_return/,/sanitizers\/issues\/189/d'
}

# Stops every daemon this test started and removes the temp dir.
cleanup() {
	for s in "$XDG_RUNTIME_DIR"/ward/*.sock "$T"/*.sock; do
		[ -S "$s" ] || continue
		"$WARD" daemon stop >/dev/null 2>&1 || true
	done
	for p in $(cat "$T"/pids 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	pkill -f -- "$T" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

# A small project with a script; writes $P (project dir) and an approved
# ward.toml that lets the agent read everything in it.
make_project() {
	P="$T/project"
	mkdir -p "$P/src" "$P/.git"
	printf '# demo\nhello from the readme\n' > "$P/README.md"
	printf 'int main(void) { return 0; } /* TODO: more */\n' > "$P/src/main.c"
	printf 'secret\n' > "$T/outside.txt"
	approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]
TOML
}

# Writes stdin as DIR/ward.toml and approves it (ward approve --yes).
approve_project() {
	cat > "$1/ward.toml"
	"$WARD" approve --yes --manifest "$1/ward.toml" >/dev/null ||
		echo "# approve_project: ward approve failed in $1"
}

# Runs ward with a script file (JSON lines on stdin) in $P; sets OUT (stdout),
# ERR (stderr) and RC.
run_script() {
	cat > "$T/script.jsonl"
	OUT=$(cd "$P" && "$WARD" run --provider script --model "$T/script.jsonl" "$@" "do the task" 2>"$T/err")
	RC=$?
	ERR=$(cat "$T/err")
}

# Sends raw bytes (Python bytes literal expression) to a socket and prints
# what comes back, one JSON frame per line; "EOF" when the daemon closes.
frame_exchange() {
	python3 - "$1" "$2" <<'PY'
import signal, socket, struct, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)	# `| head -1` is fine
path, payload = sys.argv[1], eval(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(path)
try:
    s.sendall(payload, socket.MSG_NOSIGNAL)
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass    # the daemon may close on us mid-send; read what it said
def recvn(n):
    b = b""
    while len(b) < n:
        try:
            c = s.recv(n - len(b))
        except ConnectionResetError:
            return None
        if not c:
            return None
        b += c
    return b
while True:
    h = recvn(4)
    if h is None:
        print("EOF"); break
    n = struct.unpack(">I", h)[0]
    body = recvn(n)
    if body is None:
        print("EOF"); break
    print(body.decode())
PY
}

frame() {	# frame JSON-TEXT -> Python bytes expression of one frame
	python3 -c 'import struct,sys; b=sys.argv[1].encode(); print(repr(struct.pack(">I",len(b))+b))' "$1"
}
