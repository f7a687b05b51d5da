#!/bin/bash
# The interactive session under tmux: the permission prompt and its four
# answers, the pattern levels, Esc, Ctrl-C, NO_COLOR and visible control
# characters. The script provider plays the model.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || { echo "1..0 # SKIP tmux not installed"; exit 0; }
make_project
n_tm=0

# manifest: the project's starting ward.toml (model = the script s.jsonl).
manifest() {
	approve_project "$P" <<'TOML'
schema_version = 1

# the user's comment
[model]
provider = "script"
name = "s.jsonl"

[capabilities.allow.read]
paths = ["**"]
TOML
}

# start [ENV=VALUE...]: ward in a fresh 100x40 tmux window in $P.
start() {
	[ "$n_tm" -gt 0 ] && $TM kill-server 2>/dev/null
	n_tm=$((n_tm + 1))
	TM="tmux -S $T/tmux.$n_tm.sock"
	$TM new-session -d -x 100 -y 40 -c "$P" \
	    -e HOME="$HOME" -e XDG_CONFIG_HOME="$XDG_CONFIG_HOME" \
	    -e XDG_STATE_HOME="$XDG_STATE_HOME" -e XDG_DATA_HOME="$XDG_DATA_HOME" \
	    -e XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$@" \
	    "$WARD; echo WARD-EXIT \$?; sleep 600"
	wait_for 'type a message'
}
keys() { $TM send-keys -t 0 "$@"; }
screen() { $TM capture-pane -p -t 0 "$@"; }
# wait_for ERE: polls the screen until it matches (gives up after ~20 s,
# and the check that follows then fails).
wait_for() {
	for _i in $(seq 200); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	echo "# wait_for: no /$1/ on the screen:"; screen | sed 's/^/#   /'
	return 1
}
# ask COMMAND: a script whose model runs COMMAND, then checks the result.
ask() {
	printf '{"text": "Running it.", "tool_calls": [{"name": "command_run", "arguments": {"command": %s}}]}\n{"text": "all done", "expect": {"tool_result_contains": "%s"}}\n' "$1" "$2" > "$P/s.jsonl"
}

# 1. Right narrows the pattern; 2 (Allow always) writes it, re-signed.
manifest
ask '"echo hi-from-agent"' 'hi-from-agent'
start
keys go Enter
wait_for 'ward asks'; ok $? "a prompt appears for a command ward.toml does not allow"
like "$(screen)" 'pattern: echo hi-from-agent:\*' "it suggests the recommended pattern"
keys Right
wait_for 'pattern: echo hi-from-agent  '; ok $? "Right narrows the pattern to the exact command"
keys Left Left
wait_for 'pattern: echo:\*'; ok $? "Left walks it broader"
keys Tab
wait_for 'pattern: echo hi-from-agent:\*'; ok $? "Tab returns to the recommended level"
keys End
wait_for 'pattern: echo hi-from-agent  '; ok $? "End jumps to the narrowest"
keys 2
wait_for 'daemon idle'
like "$(screen)" 'all done' "the command ran and its output reached the model"
like "$(cat "$P/ward.toml")" '"echo hi-from-agent"' "Allow always wrote the narrowed pattern"
like "$(cat "$P/ward.toml")" '# the user.s comment' "the user's comment is kept"
out=$(cd "$P" && "$WARD" approve </dev/null 2>&1)
like "$out" 'already approved' "the manifest is still approved (re-signed)"

# 2. A second message in the same TUI: now allowed silently, in the same
#    session (the conversation carries over).
sid1=$(screen | sed -n 's/.*ward | .*| session \([0-9a-f]\{8\}\).*/\1/p' | head -1)
keys go Enter
for _i in $(seq 200); do
	[ "$(screen | grep -c 'all done')" -ge 2 ] && break
	screen | grep -q 'ward asks' && break
	sleep 0.1
done
unlike "$(screen)" 'ward asks' "a second message in the same TUI: the Allow always command runs silently"
is "$(screen | grep -c 'all done')" 2 "the second message finished"
sid2=$(screen | sed -n 's/.*ward | .*| session \([0-9a-f]\{8\}\).*/\1/p' | head -1)
[ -n "$sid1" ] && [ "$sid1" = "$sid2" ]; ok $? "the second message continued the same session ($sid1)"

# 3. 1 (Allow) runs it once and writes prompt = true.
manifest
ask '"echo once-only"' 'once-only'
start
keys go Enter
wait_for 'ward asks'
keys 1
wait_for 'daemon idle'
like "$(screen)" 'all done' "Allow runs the command"
like "$(cat "$P/ward.toml")" 'command = "echo once-only:\*", prompt = true' \
    "Allow writes the pattern with prompt = true"

# 4. Down Down Down Enter (Deny always) writes a deny; nothing runs.
manifest
ask '"touch denied-file"' 'the user denied'
start
keys go Enter
wait_for 'ward asks'
keys Down Down Down Enter
wait_for 'daemon idle'
like "$(screen)" 'all done' "the model is told the user denied it"
like "$(sed -n '/deny.commands/,$p' "$P/ward.toml")" '"touch denied-file:\*"' \
    "Deny always writes the pattern under deny.commands"
[ ! -e "$P/denied-file" ]; ok $? "a denied command does not run"

# 5. Esc at the prompt cancels the turn.
manifest
ask '"touch esc-file"' 'x'
start
keys go Enter
wait_for 'ward asks'
keys Escape
wait_for 'daemon idle'; ok $? "Esc cancels the running turn"
unlike "$(screen)" 'ward asks' "the prompt is gone"
[ ! -e "$P/esc-file" ]; ok $? "the cancelled command did not run"

# 6. Ctrl-C once warns, twice on an empty composer quits.
keys abc C-c
sleep 0.3
unlike "$(screen)" 'WARD-EXIT' "Ctrl-C on a non-empty composer clears it"
keys C-c
wait_for 'Ctrl-C again'; ok $? "one Ctrl-C on an empty composer asks for another"
keys C-c
wait_for 'WARD-EXIT 0'; ok $? "the second Ctrl-C quits"

# 7. Control characters in a command are shown visibly; NO_COLOR has no
#    colour codes.
manifest
ask '"echo \u001b[31mred\u0007 \u202eevil"' 'x'
start -e NO_COLOR=1
keys go Enter
wait_for 'ward asks'
like "$(screen)" 'command: echo <U\+001B>\[31mred<U\+0007> <U\+202E>evil' \
    "control and bidi characters in the command are made visible"
unlike "$(screen -e)" $'\033\\[[0-9;]*m' "NO_COLOR: no colour escape codes"
keys 3
wait_for 'daemon idle'
start
like "$(screen -e)" $'\033\\[' "without NO_COLOR there are colour codes"

# 8. The task list and the context the model has used show under the
#    transcript and in the status line.
manifest
cat > "$P/s.jsonl" <<'EOF'
{"text": "Planning.", "usage": {"input_tokens": 900, "output_tokens": 20}, "tool_calls": [{"name": "task_create", "arguments": {"title": "write the tests"}}, {"name": "task_create", "arguments": {"title": "fix the \u001b[31mbug"}}, {"name": "task_update", "arguments": {"id": "1", "status": "done"}}, {"name": "task_update", "arguments": {"id": "2", "status": "in_progress"}}]}
{"text": "tasks noted", "usage": {"input_tokens": 12345, "output_tokens": 55}}
EOF
start
like "$(screen)" 'context - ' "no context figure before the first reply"
keys go Enter
wait_for 'tasks noted'
like "$(screen)" 'context 12\.4k/200k tokens \(6%\)' "the status line shows the context used of the model's"
like "$(screen)" 'tasks: 1 of 2 done' "the task list shows how many are done"
like "$(screen)" '\[>\] 2 fix the <U\+001B>\[31mbug' "an unfinished task first, marked in progress, shown visibly"
like "$(screen)" '\[x\] 1 write the tests' "a done task is marked"

# 9. The model's text shows while it streams in, then once, whole.
mkdir "$T/srv"
python3 "$(dirname "$0")/llm_server.py" "$T/srv" & echo $! >> "$T/pids"
for _i in $(seq 1000); do [ -e "$T/srv/port" ] && break; sleep 0.01; done
cat > "$T/srv/queue" <<'Q'
{"stream": true, "split": 4, "chunk": 560, "stall": 4, "anthropic": {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Streaming hello from the model"}], "stop_reason": "end_turn", "usage": {"input_tokens": 10, "output_tokens": 5}}}
Q
approve_project "$P" <<'TOML'
schema_version = 1

[model]
provider = "anthropic"
name = "claude-tui"

[capabilities.allow.read]
paths = ["**"]
TOML
# The daemon talks to the model: one started from this environment.
"$WARD" daemon stop >/dev/null 2>&1
start -e ANTHROPIC_API_KEY=sk-tui-test -e ANTHROPIC_BASE_URL=http://127.0.0.1:$(cat "$T/srv/port") \
    -e http_proxy= -e https_proxy= -e HTTP_PROXY= -e HTTPS_PROXY= -e ALL_PROXY=
keys go Enter
wait_for 'Stre'; ok $? "the first words show while the reply is still streaming"
unlike "$(screen)" "hello from the model" "the rest is not there yet"
wait_for 'daemon idle'
is "$(screen | grep -c 'Streaming hello from the model')" 1 "the whole reply shows once when it is complete"
cat > "$T/srv/queue" <<'Q'
{"stream": true, "split": 4, "chunk": 520, "stall": 4, "openai": {"content": "Chunked words from gpt", "finish_reason": "stop"}}
Q
approve_project "$P" <<'TOML'
schema_version = 1

[model]
provider = "openai"
name = "gpt-tui"
TOML
"$WARD" daemon stop >/dev/null 2>&1
start -e OPENAI_API_KEY=sk-tui-test -e OPENAI_BASE_URL=http://127.0.0.1:$(cat "$T/srv/port")/v1 \
    -e http_proxy= -e https_proxy= -e HTTP_PROXY= -e HTTPS_PROXY= -e ALL_PROXY=
keys go Enter
wait_for 'Chun'; ok $? "openai: the first words show while the reply streams"
unlike "$(screen)" "words from gpt" "openai: the rest is not there yet"
wait_for 'daemon idle'
is "$(screen | grep -c 'Chunked words from gpt')" 1 "openai: the whole reply shows once"

$TM kill-server 2>/dev/null
done_testing
