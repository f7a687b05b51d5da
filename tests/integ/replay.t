#!/bin/bash
# ward replay: a recorded session re-run against its audit log.
. "$(dirname "$0")/lib.sh"
make_project
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.write]
paths = ["**"]

[capabilities.allow.commands]
patterns = ["echo:*"]
TOML

# 1. A session that reads, searches, runs a command and edits a file.
run_script <<'EOF'
{"text": "Reading.", "tool_calls": [{"id": "a", "name": "file_read", "arguments": {"path": "README.md"}}]}
{"text": "Searching.", "tool_calls": [{"id": "b", "name": "grep", "arguments": {"pattern": "TODO"}}, {"id": "c", "name": "file_read", "arguments": {"path": "missing.txt"}}]}
{"text": "Running.", "tool_calls": [{"id": "d", "name": "command_run", "arguments": {"command": "echo replayed"}}]}
{"text": "Editing.", "tool_calls": [{"id": "e", "name": "file_edit", "arguments": {"path": "src/main.c", "old_string": "TODO", "new_string": "DONE"}}]}
{"text": "All done."}
EOF
is "$RC" 0 "the recorded session finishes"
grep -q DONE "$P/src/main.c"; ok $? "it edited the file"
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
AUD=$("$WARD" audit show --session "$sid" --json 2>&1)
like "$AUD" '"kind": *"user_message"' "the log records the user's message"
like "$AUD" 'hello from the readme' "and the tools' full results"
like "$AUD" 'replayed' "including a command's output"

R=$("$WARD" replay "$sid" 2>&1); rc=$?
is "$rc" 0 "ward replay of an unchanged agent exits 0"
like "$R" '^replay: 5 model turns, 5 tool calls, no divergence$' "and reports no divergence"

# 2. Another agent component makes other calls: the first one differs.
R=$("$WARD" replay --agent "$WARD_BUILD/tests/exercise.wasm" "$sid" 2>&1); rc=$?
is "$rc" 1 "replay against another agent exits 1"
like "$R" '^replay: diverged at record [0-9]+: the agent called file_read \{.*\} where the log has a model request$' "and names the record and the call where it diverged"

# 3. A log with one byte changed does not verify and is not replayed.
log="$XDG_STATE_HOME/ward/sessions/$sid/audit.log"
cp "$log" "$T/audit.bak"
sed -i 's/hello from the readme/hello from the README/' "$log"
R=$("$WARD" replay "$sid" 2>&1); rc=$?
is "$rc" 1 "a log with one byte edited: exit 1"
like "$R" 'does not verify' "it does not verify"
unlike "$R" 'no divergence' "and is not replayed"
cp "$T/audit.bak" "$log"

# 4. Usage.
"$WARD" replay >/dev/null 2>&1; is "$?" 2 "no session: usage"
"$WARD" replay ../etc >/dev/null 2>&1; is "$?" 2 "a session id that is not one: usage"
"$WARD" replay --help | grep -q 'usage: ward replay'; ok $? "--help"
"$WARD" replay 0123456789abcdef0123456789abcdef >/dev/null 2>&1
is "$?" 1 "an unknown session: exit 1"

done_testing
