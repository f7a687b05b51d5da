#!/bin/bash
# The permit frames on the wire: the daemon trusts no pattern it did not
# offer, and a client that leaves (or cancels) mid-prompt stops the session.
. "$(dirname "$0")/lib.sh"
make_project
approve_project "$P" <<'TOML'
schema_version = 1

[model]
provider = "script"
name = "s.jsonl"

[capabilities.allow.read]
paths = ["**"]
TOML
cat > "$P/s.jsonl" <<'EOF2'
{"tool_calls": [{"name": "command_run", "arguments": {"command": "echo permit-ran"}}]}
{"text": "end"}
EOF2
"$WARD" daemon status >/dev/null 2>&1
(cd "$P" && "$WARD" run "warm up" >/dev/null 2>&1)	# starts the daemon
sock="$XDG_RUNTIME_DIR/ward/daemon.sock"

# client REPLY: runs a session and answers its permit with REPLY (JSON, or
# "close" to hang up); prints every frame type received, and the tool
# result the model saw.
client() {
	python3 -u - "$sock" "$P" "$1" <<'PY'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
def send(o):
    b = json.dumps(o).encode(); s.sendall(struct.pack(">I", len(b)) + b)
def recv():
    h = b""
    while len(h) < 4:
        c = s.recv(4 - len(h))
        if not c: return None
        h += c
    n = struct.unpack(">I", h)[0]; b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: return None
        b += c
    return json.loads(b)
send({"type": "hello", "version": 1}); recv()
send({"type": "run", "root": sys.argv[2], "prompt": "go"})
while True:
    m = recv()
    if m is None: print("closed"); break
    t = m["type"]
    if t == "event": t += ":" + m.get("kind") + ":" + m.get("summary", m.get("answer", ""))
    print(t)
    if m["type"] == "permit":
        print("levels", json.dumps(m["levels"]), m["recommended"])
        if sys.argv[3] == "close": break
        send(json.loads(sys.argv[3]))
    if m["type"] in ("done", "error"): break
PY
}

out=$(client '{"type":"permit_answer","answer":"allow-always","pattern":"echo:*"}')
like "$out" 'levels \["echo:\*", "echo permit-ran:\*", "echo permit-ran"\] 1' \
    "permit offers the levels broadest first and the recommended one"
like "$out" 'event:tool_result:3 lines' "an offered pattern: allowed, the command ran"
like "$(cat "$P/ward.toml")" '"echo:\*"' "and it is written to ward.toml"
(cd "$P" && "$WARD" approve </dev/null 2>&1 | grep -q 'already approved'); ok $? "ward.toml is re-signed"

# Widening: a pattern ward did not offer is refused and not written.
sed '/allow.commands/,$d' "$P/ward.toml" > "$T/narrow.toml"
approve_project "$P" < "$T/narrow.toml"
before=$(cat "$P/ward.toml")
out=$(client '{"type":"permit_answer","answer":"allow-always","pattern":"*"}')
like "$out" 'tool_error:.*not offered' "a pattern that was not offered is refused"
is "$(cat "$P/ward.toml")" "$before" "and nothing is written"
out=$(client '{"type":"permit_answer","answer":"allow-always","pattern":"echo:* ; rm -rf /"}')
like "$out" 'tool_error:.*not offered' "a pattern with extra text is refused"
out=$(client '{"type":"permit_answer","answer":"allow","pattern":null}')
like "$out" 'tool_error:.*not offered' "Allow without a pattern, when levels were offered, is refused"
out=$(client '{"type":"permit_answer","answer":"maybe","pattern":"echo:*"}')
like "$out" '^error' "an unknown answer is a protocol error"
is "$(cat "$P/ward.toml")" "$before" "still nothing written"

# Deny (once) writes nothing and the model is told.
out=$(client '{"type":"permit_answer","answer":"deny","pattern":"echo:*"}')
like "$out" 'tool_error:.*the user denied' "Deny refuses and tells the model"
is "$(cat "$P/ward.toml")" "$before" "Deny writes nothing"

# Unattended (ward run's answer).
out=$(client '{"type":"permit_answer","answer":"allow-always","pattern":"echo:*","unattended":true}')
like "$out" 'tool_error:.*nobody can answer' "an unattended answer is a deny whatever it says"
is "$(cat "$P/ward.toml")" "$before" "and writes nothing"

# Cancel in place of an answer, and hanging up mid-prompt.
out=$(client '{"type":"cancel"}')
like "$out" 'tool_error' "cancel at the prompt refuses the command"
like "$out" '"?done' "and the session ends"
unlike "$out" 'event:tool_result' "the command did not run"
client close >/dev/null
sleep 1
like "$(tail -1 "$XDG_STATE_HOME/ward/daemon.log")" 'session .* (failed|finished)' \
    "a client that hangs up mid-prompt ends its session"
out=$(cd "$P" && "$WARD" run "again" 2>&1)
like "$out" 'nobody can answer' "the daemon goes on serving; ward run still denies prompts"

# Every prompt and its answer are in the sessions' audit logs.
PR=$(grep -h '"kind":"prompt"' "$XDG_STATE_HOME"/ward/sessions/*/audit.log)
like "$PR" '\{"data":\{"answer":"allow-always","command":"echo permit-ran","line":"echo permit-ran","pattern":"echo:\*","reason":"[^"]+","rule":null\},"kind":"prompt"' \
    "the audit log records a prompt, the answer and the pattern it wrote"
like "$PR" '"answer":"deny","command":"echo permit-ran"' "a Deny"
like "$PR" '"answer":"unattended","command":"echo permit-ran"' "and an answer nobody gave"
done_testing
