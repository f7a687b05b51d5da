#!/bin/bash
# The daemon's socket: permissions, and malformed or oversized frames close
# only their own connection (doc/PROTOCOL.md).
. "$(dirname "$0")/lib.sh"

"$WARD" daemon --idle-timeout 120 2>"$T/daemon.log" &
echo $! >> "$T/pids"
sock="$XDG_RUNTIME_DIR/ward/daemon.sock"
for i in $(seq 1 600); do [ -S "$sock" ] && break; sleep 0.1; done
ok "$( [ -S "$sock" ]; echo $?)" "the daemon serves a socket under XDG_RUNTIME_DIR"
is "$(stat -c %a "$sock")" 600 "the socket is mode 0600"
is "$(stat -c %a "$XDG_RUNTIME_DIR/ward")" 700 "its directory is mode 0700"

# A healthy connection stays open across all the bad ones below.
coproc HEALTHY { python3 -u -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
for line in sys.stdin:
    b = b"{\"type\":\"ping\"}"
    s.sendall(struct.pack(">I", len(b)) + b)
    n = struct.unpack(">I", s.recv(4))[0]
    print(s.recv(n).decode(), flush=True)
' "$sock"; }

is "$(frame_exchange "$sock" "$(frame '{"type":"hello","version":1}')" | head -1 | jq -r .type)" hello "hello is answered"
out=$(frame_exchange "$sock" "$(frame '{"type":"ping"}')")
like "$out" '"pong"' "ping is answered"

bad() {	# bad PYTHON-BYTES DESCRIPTION ERROR-REGEX
	out=$(frame_exchange "$sock" "$1")
	like "$out" "$3" "$2: an error naming the problem"
	like "$out" 'EOF$' "$2: the connection is closed"
}
bad "b'\\x7f\\xff\\xff\\xff' + b'x' * 100" "a frame over the size cap" 'over the 1048576-byte limit'
bad "b'\\x00\\x10\\x00\\x01' + b'{' * 1048577" "a frame one byte over the cap" 'over the'
bad "b'\\x00\\x00\\x00\\x00'" "an empty frame" 'empty frame'
bad "$(frame 'not json')" "a frame that is not JSON" 'not JSON'
bad "$(frame '[1,2]')" "a frame that is not an object" 'not an object'
bad "$(frame '{"kind":"ping"}')" "a frame without a type" 'string \\"type\\"'
bad "$(frame '{"type":"launch-missiles"}')" "an unknown type" 'unknown message type'
bad "$(frame '{"type":"ping","type":"run"}')" "duplicate keys" 'duplicate'
bad "b'\\x00\\x00\\x00\\x03\\xff\\xfe{'" "invalid UTF-8" 'not valid UTF-8'
bad "$(frame '{"type":"run"}')" "a run without root and prompt" 'absolute \\"root\\"'
out=$(frame_exchange "$sock" "b'\\x00\\x00\\x10\\x00{\"type\"'")
is "$out" EOF "a frame cut short just closes the connection"
out=$(frame_exchange "$sock" "b'\\x00\\x00'")
is "$out" EOF "a header cut short just closes the connection"

echo go >&"${HEALTHY[1]}"
read -r -t 10 reply <&"${HEALTHY[0]}"
like "$reply" pong "the healthy connection still works after the bad ones"
out=$(frame_exchange "$sock" "$(frame '{"type":"ping"}')")
like "$out" '"pong"' "and new connections are still served"

# Many connections at once do not take the daemon down.
pids=""
for i in $(seq 1 40); do
	frame_exchange "$sock" "$(frame '{"type":"ping"}')" >/dev/null 2>&1 &
	pids="$pids $!"
done
wait $pids
out=$(frame_exchange "$sock" "$(frame '{"type":"ping"}')")
like "$out" '"pong"' "the daemon survives 40 concurrent connections"
done_testing
