#!/bin/bash
# A runaway or memory-hungry agent is stopped with a clear error and the
# daemon keeps serving (DESIGN §1, issue 2).
. "$(dirname "$0")/lib.sh"
make_project
sock="$XDG_RUNTIME_DIR/ward/daemon.sock"

start_daemon() {	# start_daemon ARGS...
	"$WARD" daemon "$@" 2>>"$T/daemon.log" &
	echo $! >> "$T/pids"
	for i in $(seq 1 600); do [ -S "$sock" ] && break; sleep 0.1; done
}
stop_daemon() {
	"$WARD" daemon stop >/dev/null 2>&1
	for i in $(seq 1 100); do [ -S "$sock" ] || break; sleep 0.05; done
}

start_daemon --agent "$WARD_BUILD/tests/loop.wasm" --agent-step-ms 300
run_script <<'EOF'
{"text": "unused"}
EOF
is "$RC" 1 "a session whose agent loops forever ends with exit 1"
like "$ERR" 'ran for more than 300 ms without returning to the host' "with a clear error"
out=$(frame_exchange "$sock" "$(frame '{"type":"ping"}')")
like "$out" '"pong"' "the daemon still answers after stopping the agent"
run_script <<'EOF'
{"text": "unused"}
EOF
like "$ERR" 'ran for more than 300 ms' "and stops a second runaway session the same way"
# Two runaway sessions at once: both are stopped, the daemon survives.
(cd "$P" && "$WARD" run --provider script --model "$T/script.jsonl" x >/dev/null 2>"$T/e1") &
r1=$!
(cd "$P" && "$WARD" run --provider script --model "$T/script.jsonl" x >/dev/null 2>"$T/e2") &
r2=$!
wait "$r1" "$r2"
like "$(cat "$T/e1")" 'ran for more than 300 ms' "concurrent runaway sessions are stopped (first)"
like "$(cat "$T/e2")" 'ran for more than 300 ms' "concurrent runaway sessions are stopped (second)"
out=$(frame_exchange "$sock" "$(frame '{"type":"ping"}')")
like "$out" '"pong"' "and the daemon is still serving"
stop_daemon

start_daemon --agent "$WARD_BUILD/tests/hog.wasm" --agent-memory 33554432
run_script <<'EOF'
{"text": "unused"}
EOF
is "$RC" 1 "an agent that allocates without bound fails its session"
like "$ERR" 'allocation failed after [0-9]+ MiB' "memory.grow past the cap fails inside the guest"
mib=$(printf '%s' "$ERR" | sed -n 's/.*after \([0-9]*\) MiB.*/\1/p')
ok "$( [ -n "$mib" ] && [ "$mib" -lt 32 ]; echo $?)" "it got less than the 32 MiB cap ($mib MiB)"
out=$(frame_exchange "$sock" "$(frame '{"type":"ping"}')")
like "$out" '"pong"' "the daemon survives the memory hog"
stop_daemon

# A session whose client goes away is stopped, even if its agent keeps
# calling the host (so the step deadline never fires).
start_daemon --agent "$WARD_BUILD/tests/chatty.wasm"
(cd "$P" && exec "$WARD" run --provider script --model "$T/script.jsonl" x >/dev/null 2>&1) &
client=$!
sleep 0.5
kill "$client"; wait "$client" 2>/dev/null
for i in $(seq 1 100); do grep -q 'cancelled' "$T/daemon.log" && break; sleep 0.05; done
like "$(cat "$T/daemon.log")" 'session [0-9a-f]+ failed: the session was cancelled: its client went away' "a session whose client left is cancelled"
out=$(frame_exchange "$sock" "$(frame '{"type":"ping"}')")
like "$out" '"pong"' "and the daemon goes on serving"
stop_daemon

# The session store is the agent's only way to write to the disk: keys
# cannot name paths, and the store is bounded.
start_daemon --agent "$WARD_BUILD/tests/filler.wasm"
run_script <<'EOF'
{"text": "unused"}
EOF
like "$ERR" "badkey: storage keys are 1-128 characters" "a path-like storage key is refused"
like "$ERR" "full: the session store is full" "filling the store stops at its quota"
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
n=$(ls "$XDG_STATE_HOME/ward/sessions/$sid/storage" | wc -l)
sz=$(du -sb "$XDG_STATE_HOME/ward/sessions/$sid/storage" | cut -f1)
ok "$( [ "$n" -le 256 ] && [ "$sz" -le $((17 * 1024 * 1024)) ]; echo $?)" "the store holds at most 256 keys and about 16 MiB ($n keys, $sz bytes)"
ok "$( [ ! -e "$XDG_STATE_HOME/ward/sessions/$sid/escape" ]; echo $?)" "nothing was written outside the store"
stop_daemon

# The real agent still works with the same limits.
start_daemon --agent-step-ms 300 --agent-memory 33554432
run_script <<'EOF'
{"text": "fine"}
EOF
is "$RC" 0 "the real agent runs within the same limits"
stop_daemon
done_testing
