#!/bin/bash
# The daemon is started by ward run, reused, caches the compiled component,
# refuses a second daemon on the same socket, and stops on request.
. "$(dirname "$0")/lib.sh"
make_project
sock="$XDG_RUNTIME_DIR/ward/daemon.sock"

run_script <<'EOF'
{"text": "one"}
EOF
is "$RC" 0 "ward run starts a daemon when none is running"
ok "$( [ -S "$sock" ]; echo $?)" "the daemon is serving afterwards"
pid1=$(frame_exchange "$sock" "$(frame '{"type":"hello","version":1}')" | head -1 | jq -r .pid)
run_script <<'EOF'
{"text": "two"}
EOF
is "$RC" 0 "a second run succeeds"
pid2=$(frame_exchange "$sock" "$(frame '{"type":"hello","version":1}')" | head -1 | jq -r .pid)
is "$pid2" "$pid1" "and reuses the same daemon"
like "$(cat "$XDG_STATE_HOME/ward/daemon.log")" 'compiled' "the first daemon compiled the component"
ls "$XDG_STATE_HOME"/ward/cache/agent-*.cwasm >/dev/null 2>&1
ok $? "the compiled component is cached in the state dir"
is "$(stat -c %a "$XDG_STATE_HOME"/ward/cache/agent-*.cwasm)" 600 "the cache file is 0600"

out=$("$WARD" daemon 2>&1); rc=$?
is "$rc" 1 "a second daemon on the same socket refuses to start"
like "$out" 'another ward daemon' "and says why"

out=$("$WARD" daemon stop); rc=$?
is "$rc" 0 "ward daemon stop exits 0"
like "$out" stopped "and says stopped"
for i in $(seq 1 100); do kill -0 "$pid1" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid1" 2>/dev/null; is "$?" 1 "the daemon process is gone"

run_script <<'EOF'
{"text": "three"}
EOF
is "$RC" 0 "the next run starts a fresh daemon"
like "$(cat "$XDG_STATE_HOME/ward/daemon.log")" 'cached' "which loads the cached component instead of compiling"

# A cache file that others can write is native code nobody should trust.
"$WARD" daemon stop >/dev/null
chmod 666 "$XDG_STATE_HOME"/ward/cache/agent-*.cwasm
run_script <<'EOF'
{"text": "four"}
EOF
is "$RC" 0 "a run with a tampered-permission cache still works"
like "$(grep serving "$XDG_STATE_HOME/ward/daemon.log" | tail -1)" 'compiled' "by recompiling rather than loading it"
is "$(stat -c %a "$XDG_STATE_HOME"/ward/cache/agent-*.cwasm)" 600 "and the cache is rewritten 0600"

# ... nor one reached through a symlink, nor one in a directory others can write.
"$WARD" daemon stop >/dev/null
c=$(ls "$XDG_STATE_HOME"/ward/cache/agent-*.cwasm)
mv "$c" "$T/elsewhere.cwasm"; ln -s "$T/elsewhere.cwasm" "$c"
run_script <<'EOF'
{"text": "five"}
EOF
like "$(grep serving "$XDG_STATE_HOME/ward/daemon.log" | tail -1)" 'compiled' "a symlinked cache artifact is not loaded"
"$WARD" daemon stop >/dev/null
chmod 770 "$XDG_STATE_HOME/ward/cache"
run_script <<'EOF'
{"text": "six"}
EOF
is "$RC" 0 "a run with a group-writable cache directory still works"
like "$(grep serving "$XDG_STATE_HOME/ward/daemon.log" | tail -1)" 'compiled' "but compiles instead of trusting the cache"
chmod 700 "$XDG_STATE_HOME/ward/cache"

# A daemon that speaks another protocol version is not half-understood.
"$WARD" daemon stop >/dev/null
python3 - "$sock" <<'PY' &
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
n = struct.unpack(">I", c.recv(4))[0]; c.recv(n)
b = b'{"type":"hello","version":99}'
c.sendall(struct.pack(">I", len(b)) + b)
c.close(); os.unlink(sys.argv[1])
PY
fake=$!
for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
out=$(cd "$P" && "$WARD" run --provider script --model x "hi" 2>&1); rc=$?
wait "$fake"
is "$rc" 111 "a daemon of another protocol version makes ward run exit 111"
like "$out" 'protocol version 99, this ward speaks 1' "and says how to fix it"

# A daemon of another build of ward is replaced, not used.
mkdir -p "$T/bin2"; cp "$WARD" "$T/bin2/ward"; cp "$WARD_BUILD/agent.wasm" "$T/bin2/"
run_script <<'EOF'
{"text": "old build"}
EOF
old=$(frame_exchange "$sock" "$(frame '{"type":"hello","version":1}')" | head -1 | jq -r .pid)
out=$(cd "$P" && "$T/bin2/ward" run --provider script --model "$T/script.jsonl" go 2>&1); rc=$?
is "$rc" 0 "a run from another build of ward succeeds"
like "$out" 'replacing a daemon that runs another build' "after replacing the old daemon"
new=$(frame_exchange "$sock" "$(frame '{"type":"hello","version":1}')" | head -1 | jq -r .pid)
ok "$( [ -n "$new" ] && [ "$new" != "$old" ]; echo $?)" "the daemon serving now is a new process"
"$T/bin2/ward" daemon stop >/dev/null

# A broken agent is reported by ward run at once, with the daemon's reason.
"$WARD" daemon stop >/dev/null
mkdir -p "$T/bin"; cp "$WARD" "$T/bin/ward"; echo garbage > "$T/bin/agent.wasm"
out=$(cd "$P" && "$T/bin/ward" run --provider script --model x "hi" 2>&1); rc=$?
is "$rc" 111 "a daemon that cannot load its agent makes ward run exit 111"
like "$out" 'cannot compile agent component' "with the daemon's reason"
# Several runs starting at once share one daemon: the losers of the start
# race wait for the winner instead of failing.
"$WARD" daemon stop >/dev/null 2>&1
printf '{"text": "same"}\n' > "$T/one.jsonl"
pids=""
for i in 1 2 3; do
	(cd "$P" && "$WARD" run --provider script --model "$T/one.jsonl" go >/dev/null 2>"$T/race$i") &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "three concurrent first runs all succeed"
[ "$fails" -eq 0 ] || cat "$T"/race* | sed 's/^/# /'

# --socket never deletes what is not a socket, nor serves from a shared dir.
echo keep > "$T/notes.txt"
out=$("$WARD" daemon --socket "$T/notes.txt" 2>&1); rc=$?
ok "$( [ "$rc" -ne 0 ] && [ "$(cat "$T/notes.txt")" = keep ]; echo $?)" "--socket on a regular file refuses and leaves the file"
mkdir -m 777 "$T/shared"
out=$("$WARD" daemon --socket "$T/shared/d.sock" 2>&1); rc=$?
is "$rc" 111 "--socket in a world-writable directory is refused"
like "$out" 'writable by nobody else' "and says why"

# A virtual memory limit too small for the wasm engine's instance pool is
# a clear error, not an abort inside wasmtime.
if grep -q __asan_init "$WARD"; then
	# ASan maps terabytes of shadow memory before main: under ulimit -v
	# it stops at its own start. The normal build runs these two.
	for _k in 1 2; do
		_n=$((_n + 1))
		echo "ok $_n # SKIP ulimit -v: an ASan build cannot start under it"
	done
else
	OUT=$( (ulimit -v 8000000; "$WARD" daemon --socket "$T/vm.sock") 2>&1); RC=$?
	is "$RC" 111 "a daemon under ulimit -v exits 111"
	like "$OUT" 'cannot reserve the [0-9]+ GiB of address space .*ulimit -v' "saying what it needs and why"
fi

done_testing
