#!/bin/bash
# ward replay: a recorded session shown from its audit log and re-run against it.
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

# 2b. A recorded model response changed by someone holding the audit key:
#     the forged log verifies, and re-running the agent against it shows
#     where it stops matching what was recorded.
fid=${sid%?}0; [ "$fid" = "$sid" ] && fid=${sid%?}1
mkdir -p "$XDG_STATE_HOME/ward/sessions/$fid"
"$WARD_BUILD/tests/test_audit" forge "$XDG_STATE_HOME/ward/sessions/$sid/audit.log" \
    "$XDG_STATE_HOME/ward/sessions/$fid/audit.log" llm_response 'README.md' 'src/main.c'
ok $? "(the first model response forged and the log re-signed)"
"$WARD" audit verify --session "$fid" --require-sealed >/dev/null 2>&1
is "$?" 0 "the forged log verifies"
R=$("$WARD" replay "$fid" 2>&1); rc=$?
is "$rc" 1 "replay of the forged log exits 1"
like "$R" '^replay: diverged at record [0-9]+: the agent called file_read \{"path":"src/main.c"\}.*README\.md' \
    "it names the call the forged response led to and the one the log recorded"

# 3. A log with one byte changed does not verify and is not replayed.
log="$XDG_STATE_HOME/ward/sessions/$sid/audit.log"
cp "$log" "$T/audit.bak"
sed -i 's/hello from the readme/hello from the Readme/' "$log"
cmp -l "$T/audit.bak" "$log" | wc -l | grep -qx 1; ok $? "(one byte of a record flipped)"
R=$("$WARD" replay "$sid" 2>"$T/err"); rc=$?
E=$(cat "$T/err")
is "$rc" 1 "a log with one byte edited: exit 1"
like "$E" 'does not verify: TAMPERED: record [0-9]+' "it does not verify, and says which record"
is "$R" "" "nothing of it is shown or replayed"
R=$("$WARD" replay --json "$sid" 2>/dev/null); rc=$?
is "$rc:$R" "1:" "nor with --json"
cp "$T/audit.bak" "$log"

# 4. Usage.
"$WARD" replay >/dev/null 2>&1; is "$?" 2 "no session: usage"
"$WARD" replay ../etc >/dev/null 2>&1; is "$?" 2 "a session id that is not one: usage"
"$WARD" replay --help | grep -q 'usage: ward replay'; ok $? "--help"
R=$("$WARD" replay 0123456789abcdef0123456789abcdef 2>&1); rc=$?
is "$rc" 1 "an unknown session: exit 1"
like "$R" '^ward replay: no session 0123456789abcdef0123456789abcdef' "and says so"

# 5. What replay shows: a session with a denied read, a prompted command,
# a long result and a model that writes escape sequences.
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.deny.read]
paths = ["secret.txt"]

[capabilities.allow.commands]
patterns = ["echo:*"]
TOML
printf 'x\n' > "$P/secret.txt"
seq 1 100 | sed 's/^/line /' > "$P/long.txt"
run_script <<'EOF'
{"text": "Reading \u001b[31mred\u001b]0;title\u0007 now.", "tool_calls": [{"id": "a", "name": "file_read", "arguments": {"path": "README.md"}}, {"id": "b", "name": "file_read", "arguments": {"path": "secret.txt"}}]}
{"text": "Running.", "tool_calls": [{"id": "c", "name": "command_run", "arguments": {"command": "curl x"}}, {"id": "d", "name": "command_run", "arguments": {"command": "echo replayed"}}, {"id": "e", "name": "file_read", "arguments": {"path": "long.txt"}}]}
{"text": "All done."}
EOF
is "$RC" 0 "the second session finishes"
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
R=$("$WARD" replay "$sid" 2>&1); rc=$?
is "$rc" 0 "ward replay shows it and replays it (exit 0)"
like "$R" 'audit.log: intact, [0-9]+ records, sealed$' "it verified the log first"
like "$R" '^ +[0-9]+  user: do the task$' "the user's message"
like "$R" '^ +[0-9]+  model: Reading .*now\.$' "the model's text"
like "$R" '^ +asks file_read \{"path":"secret.txt"\}$' "the calls the model asked for"
like "$R" '^ +[0-9]+  > file_read \{"path":"README.md"\}$' "each tool call"
like "$R" '^ +[0-9]+    allow read README.md \(granted by the manifest: allow.read paths "\*\*"\)$' "with its decision and rule"
like "$R" '^ +hello from the readme$' "the tool's result"
like "$R" '^ +[0-9]+    deny read secret.txt \(denied by the manifest: deny.read paths "secret.txt"\)$' "a denied read, with its rule"
like "$R" '^ +[0-9]+    ! file_read error$' "shown as an error"
like "$R" '^ +file_read secret.txt: denied by ward.toml' "with the reason the model got"
like "$R" '^ +[0-9]+    prompt curl x \(no pattern matches\): answer deny \(nobody to answer\)$' "a prompted command and its answer"
like "$R" '^ +[0-9]+    allow command echo replayed \(matches an allow pattern: echo:\*\)$' "a command with its decision and rule"
like "$R" '^ +ran: exit code 0, [0-9]+ ms, 9 bytes of output$' "and its exit code"
like "$R" '^ +replayed$' "and its output"
like "$R" '^ +line 12$' "a long result is shown"
unlike "$R" '^ +line 13$' "cut for the screen"
like "$R" '\[\.\.\. [0-9]+ more bytes in 88 more lines, not shown' "saying how much is left out"
like "$R" 'session end: finished, 3 turns, 5 tool calls' "the end of the session"
like "$R" '^replay: 3 model turns, 5 tool calls, no divergence$' "and the replay's verdict"
like "$R" 'Reading <U\+001B>\[31mred<U\+001B>\]0;title<U\+0007> now' "escape bytes from the model are shown visibly"
printf '%s' "$R" | LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')"
is "$?" 1 "and no control byte reaches the terminal"

J=$("$WARD" replay --json "$sid" 2>&1); rc=$?
is "$rc" 0 "--json: exit 0"
EV=$(printf '%s\n' "$J" | python3 -c '
import json, sys
evs = [json.loads(l) for l in sys.stdin]
assert all(isinstance(e, dict) for e in evs)
seqs = [e["seq"] for e in evs if "seq" in e]
assert seqs == sorted(seqs), "in order"
print(" ".join(e["event"] for e in evs if e["event"] != "llm_request"))
for e in evs:
    if e["event"] == "tool_result" and e["name"] == "file_read" and "line 100\n" in e["text"]:
        print("full-result")
    if e["event"] == "decision" and e["decision"] == "deny":
        print("deny", e["path"], e["rule"], e["reason"])
    if e["event"] == "llm_response" and "\x1b[31m" in e["content"]:
        print("escape-kept")
    if e["event"] == "replay":
        print("diverged", e["diverged"], e["turns"], e["tool_calls"])
'); rc=$?
is "$rc" 0 "every line of --json is a JSON object, in the log's order"
is "$(printf '%s\n' "$EV" | head -1)" "session_start user_message llm_response tool_call decision tool_result tool_call decision tool_error llm_response tool_call prompt tool_error tool_call command tool_result tool_call decision tool_result llm_response session_end replay" "the events in the order they happened, the verdict last"
like "$EV" '^full-result$' "a result in full"
like "$EV" '^deny secret.txt deny.read paths "secret.txt" denied by the manifest$' "the denied read with its rule and reason"
like "$EV" '^escape-kept$' "the model's text as it was (JSON-escaped)"
like "$EV" '^diverged False 3 5$' "and the verdict"
printf '%s' "$J" | LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')"
is "$?" 1 "--json writes no control byte either"

# 6. A resumed session: tasks, a write and a delete, on top of the
#    conversation it continues; replay re-runs both parts in order.
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.write]
paths = ["notes/**"]
TOML
run_script <<'EOF'
{"text": "Planning.", "tool_calls": [{"id": "a", "name": "task_create", "arguments": {"title": "write notes"}}, {"id": "b", "name": "file_write", "arguments": {"path": "notes/a.txt", "content": "first\n"}}]}
{"text": "Planned."}
EOF
is "$RC" 0 "a session to resume finishes"
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
run_script --resume "$sid" <<'EOF'
{"text": "Going on.", "tool_calls": [{"id": "c", "name": "task_update", "arguments": {"id": "1", "status": "done"}}, {"id": "d", "name": "task_list", "arguments": {}}, {"id": "e", "name": "file_delete", "arguments": {"path": "notes/a.txt"}}, {"id": "f", "name": "file_write", "arguments": {"path": "README.md", "content": "no"}}]}
{"text": "Finished."}
EOF
is "$RC" 0 "the resumed session finishes"
[ ! -e "$P/notes/a.txt" ]; ok $? "it deleted the file"
R=$("$WARD" replay "$sid" 2>&1); rc=$?
is "$rc" 0 "a resumed session replays with no divergence"
like "$R" '^replay: 4 model turns, 6 tool calls, no divergence$' "both parts, every call"
like "$R" 'session_resume|resumed' "the resume shows"
like "$R" '1 \[done\] write notes' "the task list as the agent saw it"
like "$R" 'deny write README.md' "a denied write with its decision"

done_testing
