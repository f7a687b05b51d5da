#!/bin/bash
# End-to-end sessions: the real ward binary, daemon and agent component,
# driven by the script provider.
. "$(dirname "$0")/lib.sh"
make_project

# 1. A session that lists, reads and searches, and whose results reach the
#    model (checked by the script's expect clauses).
run_script <<'EOF'
{"text": "Looking around.", "tool_calls": [{"name": "file_list", "arguments": {}}]}
{"text": "Reading.", "expect": {"tool_result_contains": "src/main.c"}, "tool_calls": [{"id": "r1", "name": "file_read", "arguments": {"path": "README.md"}}]}
{"text": "Searching.", "expect": {"tool_result_contains": "hello from the readme"}, "tool_calls": [{"name": "grep", "arguments": {"pattern": "TO+DO", "glob": "**/*.c"}}]}
{"text": "All done: one TODO.", "expect": {"tool_result_contains": "src/main.c:1:"}}
EOF
is "$RC" 0 "a read-only session finishes with exit 0"
like "$OUT" '^> file_list' "the transcript shows the tool calls"
like "$OUT" 'All done: one TODO\.' "the transcript shows the final answer"
like "$ERR" 'finished: 4 turns, 3 tool calls' "the summary counts turns and tool calls"
unlike "$OUT" '\.git' "file_list skips .git"
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
"$WARD" audit verify --session "$sid" --require-sealed >/dev/null 2>&1
is "$?" 0 "the session's audit log verifies and is sealed"
AUD=$("$WARD" audit show --session "$sid" --json 2>&1)
for k in session_start llm_request llm_response tool_call decision tool_result session_end; do
	like "$AUD" "\"kind\": *\"$k\"" "the audit log has $k records"
done
like "$AUD" 'hello from the readme|README.md' "it records what the tools were asked"
like "$AUD" "\"manifest_sha256\": *\"$(sha256sum "$P/ward.toml" | cut -c1-64)\"" "the start names the approved manifest by its hash"

# 2. Reads outside the project root are refused and the model is told why.
run_script <<EOF
{"tool_calls": [{"name": "file_read", "arguments": {"path": "$T/outside.txt"}}, {"name": "file_read", "arguments": {"path": "../outside.txt"}}]}
{"text": "refused", "expect": {"tool_error": true, "tool_result_contains": "denied by ward.toml"}}
EOF
is "$RC" 0 "a session with refused reads still finishes"
unlike "$OUT" 'secret' "nothing outside the root reaches the transcript"
like "$OUT" '! denied' "the refusal shows in the transcript"

# 3. Tools of later issues answer with a clear error, not a crash; a
#    command that would prompt is denied in `ward run`, and the model is
#    told why.
run_script <<'EOF'
{"tool_calls": [{"name": "command_run", "arguments": {"command": "touch pwned"}}]}
{"text": "ok", "expect": {"tool_error": true, "tool_result_contains": "nobody can answer"}}
EOF
is "$RC" 0 "a prompt in ward run is a deny the model sees"
[ ! -e "$P/pwned" ]; ok $? "a command that needs a prompt does not run in ward run"

# 4. Unknown tools and malformed arguments from the model (invariant 8).
run_script <<'EOF'
{"tool_calls": [{"name": "rm_rf", "arguments": {}}]}
{"expect": {"tool_error": true, "tool_result_contains": "unknown tool"}, "tool_calls": [{"name": "file_read", "arguments": {"offset": 3}}]}
{"expect": {"tool_error": true, "tool_result_contains": "path"}, "tool_calls": [{"name": "file_read", "arguments": {"path": 42}}]}
{"text": "survived", "expect": {"tool_error": true}}
EOF
is "$RC" 0 "unknown tools and bad arguments are errors fed back to the model"
like "$OUT" 'survived' "the session goes on after them"

# 5. max-turns stops a session that never finishes.
run_script --max-turns 2 <<'EOF'
{"tool_calls": [{"name": "file_list", "arguments": {}}]}
{"tool_calls": [{"name": "file_list", "arguments": {}}]}
{"tool_calls": [{"name": "file_list", "arguments": {}}]}
EOF
is "$RC" 1 "hitting --max-turns exits 1"
like "$ERR" 'max turns' "and says so"

# 6. A model error and an exhausted script end the session cleanly.
run_script <<'EOF'
{"error": "upstream said 500"}
EOF
is "$RC" 1 "a failing model request exits 1"
like "$ERR" 'upstream said 500' "with the model's error"
run_script <<'EOF'
{"tool_calls": [{"name": "file_list", "arguments": {}}]}
EOF
is "$RC" 1 "running out of script exits 1"
like "$ERR" 'no more turns' "with a clear message"

# 7. A malformed script is refused before the session starts.
run_script <<'EOF'
{"text": "fine"}
{"txt": "typo"}
EOF
is "$RC" 1 "a malformed script fails"
like "$ERR" "line 2: unknown turn key 'txt'" "naming the line and the key"

# 8. The agent keeps per-session state through storage: the conversation is
#    saved under the session's directory in ward's state dir.
run_script <<'EOF'
{"text": "hi"}
EOF
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
ok "$( [ -n "$sid" ] && [ -d "$XDG_STATE_HOME/ward/sessions/$sid/storage" ]; echo $?)" "the session has its own storage directory"
ok "$( [ -s "$XDG_STATE_HOME/ward/sessions/$sid/storage/transcript" ]; echo $?)" "the agent saved its transcript there"

# 9. Control characters from the model cannot drive the terminal.
run_script <<'EOF'
{"text": "bell\u0007 and escape\u001b[31m red"}
EOF
unlike "$OUT" $'\e' "escape bytes from the model are not printed raw"
like "$OUT" '\^\[\[31m' "they are shown visibly"

# 10. Long texts are cut for the transcript on a character boundary, never
#     dropped, and never break the session.
python3 -c '
import json
ls = {"name": "file_list", "arguments": {}}
print(json.dumps({"text": "x" + "\u00e9" * 150000, "tool_calls": [ls]}))
print(json.dumps({"text": "\u0001" * 200000, "tool_calls": [ls]}))
print(json.dumps({"text": "end"}))' > "$T/long.jsonl"
OUT=$(cd "$P" && "$WARD" run --provider script --model "$T/long.jsonl" "go" 2>"$T/err"); RC=$?
is "$RC" 0 "a session with huge texts finishes"
is "$(printf '%s' "$OUT" | grep -c 'more bytes not shown')" 2 "both huge texts are shown cut, with a mark"

# 11. A NUL past the binary check does not cut what the model sees.
{ head -c 9000 /dev/zero | tr '\0' a; printf '\0after the nul\n'; } > "$P/nul.txt"
run_script <<'EOF'
{"tool_calls": [{"name": "file_read", "arguments": {"path": "nul.txt"}}]}
{"text": "ok", "expect": {"tool_result_contains": "\u2400after the nul"}}
EOF
is "$RC" 0 "text after a NUL byte reaches the model"

# 12. Invariant 4: a root that contains ward's own directories (here the
#     test's temp dir, holding its XDG dirs) or lies inside one is refused.
OUT=$(cd "$T" && "$WARD" run --provider script --model "$T/script.jsonl" "go" 2>&1); RC=$?
is "$RC" 126 "a session rooted at a directory holding ward's state is refused"
like "$OUT" "will not run a session in .*contains ward's own directory" "saying why"
OUT=$(cd "$XDG_STATE_HOME/ward" && "$WARD" run --provider script --model "$T/script.jsonl" "go" 2>&1); RC=$?
is "$RC" 126 "a session rooted inside ward's state dir is refused"
like "$OUT" "is inside ward's own directory" "saying why"

# 13. A session that fails still leaves its transcript behind.
run_script <<'EOF'
{"text": "reading", "tool_calls": [{"name": "file_read", "arguments": {"path": "README.md"}}]}
{"error": "the model went away"}
EOF
is "$RC" 1 "a failing session exits 1"
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
like "$(cat "$XDG_STATE_HOME/ward/sessions/$sid/storage/transcript" 2>/dev/null)" 'hello from the readme' "its transcript holds the turns so far"

# 14. ward.toml decides every tool call (DESIGN §3): what it does not grant
#     is neither read, listed nor searched.
printf 'TODO: the key\n' > "$P/src/id.key"
printf 'TODO: notes\n' > "$P/notes.txt"
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
default_files = ["*.c", "*.md"]
paths = ["**"]

[capabilities.deny.read]
default_files = ["*.key"]
paths = ["**"]
TOML
run_script <<'EOF'
{"tool_calls": [{"name": "file_read", "arguments": {"path": "src/id.key"}}]}
{"expect": {"tool_error": true, "tool_result_contains": "deny.read paths \"**\" default_files \"*.key\""}, "tool_calls": [{"name": "file_read", "arguments": {"path": "notes.txt"}}]}
{"expect": {"tool_error": true, "tool_result_contains": "denied by ward.toml"}, "tool_calls": [{"name": "file_list", "arguments": {}}]}
{"expect": {"tool_result_contains": "src/main.c", "tool_result_lacks": "id.key"}, "tool_calls": [{"name": "grep", "arguments": {"pattern": "TODO"}}]}
{"text": "done", "expect": {"tool_result_contains": "src/main.c:1:", "tool_result_lacks": "TODO: notes"}}
EOF
is "$RC" 0 "a session under a narrower manifest finishes"
unlike "$OUT" 'TODO: (the key|notes)' "denied files reach neither the listing nor the search"
run_script <<'EOF'
{"tool_calls": [{"name": "file_list", "arguments": {"path": "src/id.key"}}, {"name": "grep", "arguments": {"pattern": "TODO", "path": "src/id.key"}}]}
{"text": "done", "expect": {"tool_error": true, "tool_result_contains": "does not let the agent read it"}}
EOF
is "$RC" 0 "a denied file named to file_list or grep is an error the model sees"
unlike "$OUT" 'the key' "and its contents stay out"
ln -s id.key "$P/src/key.c"; ln -s main.c "$P/src/alias.c"
run_script <<'EOF'
{"tool_calls": [{"name": "file_read", "arguments": {"path": "src/key.c"}}]}
{"expect": {"tool_error": true, "tool_result_contains": "*.key", "tool_result_lacks": "TODO: the key"}, "tool_calls": [{"name": "file_read", "arguments": {"path": "src/alias.c"}}]}
{"text": "done", "expect": {"tool_error": false, "tool_result_contains": "TODO: more"}}
EOF
is "$RC" 0 "a symlink is decided on its real target: to a denied file refused, to a granted one read"
rm -f "$P/src/key.c" "$P/src/alias.c"

# 14b. A symlink cannot carry a walk into a denied directory: grep and
#      file_list start from the decided real path and follow no link.
saved=$P P="$T/p2"
mkdir -p "$P/src" "$P/secrets/sub" && printf 'password=hunter2\n' > "$P/secrets/token"
ln -s ../secrets/sub "$P/src/link"
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["src/**"]

[capabilities.deny.read]
paths = ["secrets/**"]
TOML
run_script <<'EOF'
{"tool_calls": [{"name": "grep", "arguments": {"pattern": "password", "path": "src/link/../token"}}, {"name": "grep", "arguments": {"pattern": "password", "path": "src/link/.."}}, {"name": "file_list", "arguments": {"path": "src/link/.."}}, {"name": "file_read", "arguments": {"path": "src/link/../../secrets/token"}}]}
{"text": "done", "expect": {"tool_result_lacks": "hunter2"}}
EOF
is "$RC" 0 "symlink-and-.. walks end without the denied file"
unlike "$OUT" 'hunter2' "nothing from the denied directory reaches the transcript"
P=$saved

# 15. Only an approved manifest is used (DESIGN §3 "Approval").
cp "$P/ward.toml" "$T/approved.toml"
sed -i 's/"\*\.key"/"*.kex"/' "$P/ward.toml"
run_script <<'EOF'
{"text": "should not run"}
EOF
is "$RC" 126 "a manifest edited after approval is refused (exit 126)"
like "$ERR" 'changed since' "saying it changed"
like "$ERR" 'ward approve' "and how to fix it"
unlike "$OUT" 'should not run' "the agent never ran"
cp "$T/approved.toml" "$P/ward.toml"
printf '\n# a comment added later\n' >> "$P/ward.toml"
run_script <<'EOF'
{"text": "comments are not policy"}
EOF
is "$RC" 0 "a comment-only edit keeps the approval (the canonical form is signed)"
mkdir -p "$T/clone" && cp "$P/ward.toml" "$P/README.md" "$T/clone/"
OUT=$(cd "$T/clone" && "$WARD" run --provider script --model "$T/script.jsonl" "go" 2>&1); RC=$?
is "$RC" 126 "the same manifest in another directory (a clone) is not approved"
like "$OUT" 'never been approved' "saying so"
mkdir -p "$T/linked/conf" && cp "$T/approved.toml" "$T/linked/conf/w.toml"
ln -s conf/w.toml "$T/linked/ward.toml"
OUT=$(cd "$T/linked" && "$WARD" run --provider script --model "$T/script.jsonl" "go" 2>&1); RC=$?
is "$RC" 1 "a ward.toml that is a symlink is refused"
like "$OUT" 'a symbolic link' "saying so"
mkdir -p "$T/bare"
OUT=$(cd "$T/bare" && "$WARD" run --provider script --model "$T/script.jsonl" "go" 2>&1); RC=$?
is "$RC" 1 "no ward.toml is an error"
like "$OUT" 'no ward.toml in .*ward approve' "that says what to do"

# 15b. command_run: an allowed command runs in the sandbox and its output,
#      capped, reaches the model; a denied one does not run.
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.commands]
patterns = ["echo:*", "seq:*", "cat:*"]

[capabilities.deny.commands]
patterns = ["touch:*"]

[command_run]
max_output_bytes = 200
TOML
run_script <<'EOF'
{"tool_calls": [{"name": "command_run", "arguments": {"command": "echo hi-from-the-sandbox; echo $HOME"}}]}
{"expect": {"tool_error": false, "tool_result_contains": "hi-from-the-sandbox"}, "tool_calls": [{"name": "command_run", "arguments": {"command": "seq 1 10000"}}]}
{"expect": {"tool_result_contains": "more bytes of output; read them with file_read", "tool_result_lacks": "9999"}, "tool_calls": [{"name": "command_run", "arguments": {"command": "cat ../outside.txt"}}]}
{"expect": {"tool_result_contains": "sandbox denied read: ", "tool_result_lacks": "secret"}, "tool_calls": [{"name": "command_run", "arguments": {"command": "echo a && touch pwned"}}]}
{"text": "done", "expect": {"tool_error": true, "tool_result_contains": "denied by ward.toml"}}
EOF
is "$RC" 0 "command_run runs an allowed command and reports a denied one"
[ ! -e "$P/pwned" ]; ok $? "the denied line did not run"
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
like "$("$WARD" audit show --session "$sid" --json 2>&1)" \
    "\"denials\": *\"sandbox denied read: $(cd "$P/.." && pwd -P)/outside\.txt" \
    "the read the sandbox refused is in the audit log, by name"

# 15c. file_write, file_edit, file_delete: decided as writes on the real
#      target, done atomically.
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.write]
paths = ["src/**"]
TOML
printf 'a TODO here\nand a TODO there\nonce\n' > "$P/src/edit.txt"
cp "$P/ward.toml" "$T/ward.toml.w"
run_script <<'EOF'
{"tool_calls": [{"name": "file_write", "arguments": {"path": "src/new/deep.c", "content": "int made;\n"}}]}
{"expect": {"tool_error": false, "tool_result_contains": "wrote 10 bytes"}, "tool_calls": [{"name": "file_write", "arguments": {"path": "ward.toml", "content": "x"}}, {"name": "file_write", "arguments": {"path": ".git/hooks/pre-commit", "content": "x"}}, {"name": "file_write", "arguments": {"path": "../pwned", "content": "x"}}, {"name": "file_write", "arguments": {"path": "README.md", "content": "x"}}]}
{"expect": {"tool_error": true, "tool_result_contains": "denied by ward.toml"}, "tool_calls": [{"name": "file_edit", "arguments": {"path": "src/edit.txt", "old_string": "once", "new_string": "twice"}}]}
{"expect": {"tool_error": false, "tool_result_contains": "replaced 1 occurrence"}, "tool_calls": [{"name": "file_edit", "arguments": {"path": "src/edit.txt", "old_string": "TODO", "new_string": "DONE"}}]}
{"expect": {"tool_error": true, "tool_result_contains": "occurs 2 times"}, "tool_calls": [{"name": "file_edit", "arguments": {"path": "src/edit.txt", "old_string": "TODO", "new_string": "DONE", "replace_all": true}}]}
{"expect": {"tool_error": false, "tool_result_contains": "replaced 2 occurrences"}, "tool_calls": [{"name": "file_edit", "arguments": {"path": "src/edit.txt", "old_string": "absent", "new_string": "x"}}]}
{"expect": {"tool_error": true, "tool_result_contains": "was not found"}, "tool_calls": [{"name": "file_delete", "arguments": {"path": "src/new/deep.c"}}, {"name": "file_delete", "arguments": {"path": "README.md"}}]}
{"text": "done", "expect": {"tool_result_contains": "deleted"}}
EOF
is "$RC" 0 "a session that writes, edits and deletes finishes"
[ ! -e "$P/src/new/deep.c" ] && [ -d "$P/src/new" ]; ok $? "file_write created the file and its directory; file_delete removed it"
is "$(cat "$P/src/edit.txt")" "$(printf 'a DONE here\nand a DONE there\ntwice')" "file_edit replaced once, then all"
cmp -s "$P/ward.toml" "$T/ward.toml.w" && [ ! -e "$P/.git/hooks/pre-commit" ] && [ ! -e "$T/pwned" ] && [ -f "$P/README.md" ] && grep -q readme "$P/README.md"; ok $? "the manifest, .git/hooks, outside the project and ungranted files were not touched"
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.write]
paths = ["src/**"]

[capabilities.deny.read]
default_files = ["*.key"]
paths = ["**"]
TOML
printf 'password=hunter2\n' > "$P/src/w.key"
run_script <<'EOF'
{"tool_calls": [{"name": "file_edit", "arguments": {"path": "src/w.key", "old_string": "hunter2", "new_string": "x"}}]}
{"text": "done", "expect": {"tool_error": true, "tool_result_contains": "denied by ward.toml", "tool_result_lacks": "replaced"}}
EOF
is "$RC" 0 "file_edit of a file the manifest lets be written but not read is refused (no content oracle)"
is "$(cat "$P/src/w.key")" 'password=hunter2' "  and the file is unchanged"
rm -f "$P/src/w.key"
ln -s ../README.md "$P/src/readme-link"
run_script <<'EOF'
{"tool_calls": [{"name": "file_write", "arguments": {"path": "src/readme-link", "content": "pwned"}}]}
{"text": "done", "expect": {"tool_error": true}}
EOF
grep -q readme "$P/README.md"; ok $? "writing through a symlink to an ungranted file is refused"
rm -f "$P/src/readme-link"

# 15d. The task list.
run_script <<'EOF'
{"tool_calls": [{"name": "task_create", "arguments": {"title": "write the parser"}}, {"name": "task_create", "arguments": {"title": "test it"}}, {"name": "task_update", "arguments": {"id": "1", "status": "done"}}, {"name": "task_list", "arguments": {}}]}
{"expect": {"tool_result_contains": "1 [done] write the parser\n2 [pending] test it"}, "tool_calls": [{"name": "task_update", "arguments": {"id": "9", "status": "done"}}, {"name": "task_update", "arguments": {"id": "2", "status": "finished"}}]}
{"text": "done", "expect": {"tool_error": true, "tool_result_contains": "status is pending, in_progress or done"}}
EOF
is "$RC" 0 "task_create, task_update and task_list work, and bad ids and statuses are errors"

# 15e. code_run: a module of the project in the capsule, with the granted
#      directories and nothing hidden.
mkdir -p "$P/wasm" "$P/data" "$P/keys"
if clang-19 --target=wasm32-wasi -O2 -o "$P/wasm/guest.wasm" "$(cd "$(dirname "$0")/../capsule" && pwd)/guest.c" 2>"$T/cc.err"; then
	printf 'DATA-OK\n' > "$P/data/in.txt"; printf 'KEY-SECRET\n' > "$P/keys/id.key"
	approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["wasm/**", "data/**", "keys/**"]

[capabilities.allow.write]
paths = ["data/**"]

[capabilities.deny.read]
default_files = ["*.key"]
paths = ["**"]
TOML
	run_script <<EOF
{"tool_calls": [{"name": "code_run", "arguments": {"module": "wasm/guest.wasm", "args": ["cat", "$P/data/in.txt"]}}]}
{"expect": {"tool_result_contains": "DATA-OK"}, "tool_calls": [{"name": "code_run", "arguments": {"module": "wasm/guest.wasm", "args": ["cat", "$P/keys/id.key"]}}]}
{"expect": {"tool_result_lacks": "KEY-SECRET", "tool_result_contains": "not given to the module"}, "tool_calls": [{"name": "code_run", "arguments": {"module": "wasm/guest.wasm", "args": ["write", "$P/data/out.txt"]}}]}
{"expect": {"tool_result_contains": "[exit code 0]"}, "tool_calls": [{"name": "code_run", "arguments": {"module": "wasm/guest.wasm", "args": ["loop"]}}]}
{"expect": {"tool_result_contains": "stopped"}, "tool_calls": [{"name": "code_run", "arguments": {"module": "keys/id.key"}}]}
{"text": "done", "expect": {"tool_error": true, "tool_result_contains": "denied by ward.toml"}}
EOF
	is "$RC" 0 "code_run runs a project module with the granted directories"; [ "$RC" = 0 ] || { echo "$OUT" | tail -20; echo "$ERR" | tail -5; } | sed "s/^/# /"
	is "$(cat "$P/data/out.txt" 2>/dev/null)" written "a writable grant is writable to the module"

	# A module whose compiling outlasts code_run's 10 s (20000 locals
	# all live around a loop: over a minute of register allocation) is
	# killed while compiling; the session goes on, and is told why.
	WT=${WASM_TOOLS:-$HOME/.cache/ward/tools/bin/wasm-tools}
	if [ -x "$WT" ] && python3 - > "$T/slow.wat" <<'PY' && "$WT" parse "$T/slow.wat" -o "$P/wasm/slow.wasm"
n = 20000
o = ['(module (func (export "_start") (local i32) (local %s) (loop $l' % ' '.join(['i64'] * n)]
for r in range(3):
    for i in range(1, n + 1):
        o.append('(local.set %d (i64.add (local.get %d) (local.get %d)))' % (i, i, (i * 7 + r) % n + 1))
o.append('(br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))')
print('\n'.join(o) + ')')
PY
	then
		t0=$(date +%s)
		run_script <<EOF
{"tool_calls": [{"name": "code_run", "arguments": {"module": "wasm/slow.wasm"}}]}
{"expect": {"tool_result_contains": "the module was still compiling"}, "tool_calls": [{"name": "code_run", "arguments": {"module": "wasm/guest.wasm", "args": ["cat", "$P/data/in.txt"]}}]}
{"text": "done", "expect": {"tool_result_contains": "DATA-OK"}}
EOF
		is "$RC" 0 "a module still compiling at code_run's deadline is stopped and says so, and the session's next code_run works ($(( $(date +%s) - t0 )) s)"; [ "$RC" = 0 ] || { echo "$OUT" | tail -20; echo "$ERR" | tail -5; } | sed "s/^/# /"
		is "$(ls "$XDG_STATE_HOME/ward/cache" 2>/dev/null | grep -c '\.tmp$')" 0 "no temp file is left in the module cache"
	else
		ok 1 "no wasm-tools at $WT: the slow-compiling module not tested"
		ok 1 "(no wasm-tools)"
	fi
else
	ok 1 "clang-19 cannot build the capsule guest: $(head -1 "$T/cc.err")"
	ok 1 "(code_run not tested)"
	ok 1 "(code_run not tested)"
	ok 1 "(code_run not tested)"
fi

# 15f. web_fetch: through the egress proxy, default_domains only, HTML as
#      text.
mkdir -p "$T/www"
cat > "$T/www/page.html" <<'HTML'
<html><head><title>The page</title><style>body { color: red }</style>
<script>var secret = "SCRIPT-BODY";</script></head>
<body><h1>Hello &amp; welcome</h1><p>caf&#233; &lt;ok&gt;</p><!-- COMMENT --></body></html>
HTML
python3 -m http.server --bind 127.0.0.1 0 --directory "$T/www" > "$T/www.log" 2>&1 &
echo $! >> "$T/pids"
for i in $(seq 50); do wport=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/www.log" | head -1); [ -n "$wport" ] && break; sleep 0.1; done
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.commands]
default_domains = ["127.0.0.1"]
TOML
run_script <<EOF
{"tool_calls": [{"name": "web_fetch", "arguments": {"url": "http://127.0.0.1:$wport/page.html"}}]}
{"expect": {"tool_error": false, "tool_result_contains": "Hello & welcome\ncaf\u00e9 <ok>", "tool_result_lacks": "SCRIPT-BODY"}, "tool_calls": [{"name": "web_fetch", "arguments": {"url": "http://example.com/"}}]}
{"expect": {"tool_error": true, "tool_result_contains": "sandbox denied network: example.com"}, "tool_calls": [{"name": "web_fetch", "arguments": {"url": "http://localhost:$wport/page.html"}}]}
{"expect": {"tool_error": true, "tool_result_contains": "sandbox denied network: localhost"}, "tool_calls": [{"name": "web_fetch", "arguments": {"url": "file:///etc/passwd"}}]}
{"text": "done", "expect": {"tool_error": true, "tool_result_contains": "http:// or https://"}}
EOF
is "$RC" 0 "web_fetch reaches an allowlisted host through the proxy and refuses the rest"; [ "$RC" = 0 ] || printf '%s\n%s\n' "$OUT" "$ERR" | tail -12 | sed 's/^/# /'
unlike "$OUT" 'COMMENT|SCRIPT-BODY' "scripts and comments do not reach the transcript"
"$WARD" daemon stop >/dev/null 2>&1
export no_proxy='*' NO_PROXY='*'	# the daemon inherits these
run_script <<EOF
{"tool_calls": [{"name": "web_fetch", "arguments": {"url": "http://localhost:$wport/page.html"}}]}
{"text": "done", "expect": {"tool_error": true, "tool_result_contains": "sandbox denied network: localhost", "tool_result_lacks": "Hello"}}
EOF
is "$RC" 0 "no_proxy in the daemon's environment does not route web_fetch around the proxy"
unset no_proxy NO_PROXY
"$WARD" daemon stop >/dev/null 2>&1

# 15g. No vault value reaches the model through any tool.
printf '%s' 'sk_live_W4rdS3ss10nK3y_8812' | "$WARD" secret set STRIPE_KEY >/dev/null 2>&1
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]
TOML
printf 'key = "sk_live_W4rdS3ss10nK3y_8812"\n' > "$P/config.txt"
run_script <<'EOF'
{"tool_calls": [{"name": "file_read", "arguments": {"path": "config.txt"}}, {"name": "grep", "arguments": {"pattern": "sk_live"}}]}
{"text": "done", "expect": {"tool_result_contains": "[REDACTED:STRIPE_KEY]", "tool_result_lacks": "W4rdS3ss10nK3y"}}
EOF
is "$RC" 0 "file_read and grep results are redacted"
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
! grep -rqa 'W4rdS3ss10nK3y' "$XDG_STATE_HOME/ward/sessions/$sid"; ok $? "nor is it in the session's transcript or audit log"
rm -f "$P/config.txt"; "$WARD" secret rm STRIPE_KEY >/dev/null 2>&1

# 15h. approve = "each": asked every time; in ward run a deny, and the
#      secret is never fetched before an answer.
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.commands]
patterns = [{ command = "echo deploy:*", approve = "each", secrets = ["NOT_IN_VAULT"] }]
TOML
run_script <<'EOF'
{"tool_calls": [{"name": "command_run", "arguments": {"command": "echo deploy now"}}]}
{"text": "done", "expect": {"tool_error": true, "tool_result_contains": "nobody can answer", "tool_result_lacks": "vault"}}
EOF
is "$RC" 0 "an approve = each command is denied in ward run, before any secret is looked up"

# 16. The model comes from ward.toml's [model] unless the command line says.
cat > "$P/model.jsonl" <<'EOF'
{"text": "from the manifest's model"}
EOF
approve_project "$P" <<'TOML'
schema_version = 1

[model]
provider = "script"
name = "model.jsonl"

[capabilities.allow.read]
paths = ["**"]
TOML
OUT=$(cd "$P" && "$WARD" run "go" 2>"$T/err"); RC=$?
is "$RC" 0 "ward run with no --provider/--model uses [model]"
like "$OUT" "from the manifest's model" "the manifest's script ran"
approve_project "$P" <<'TOML'
schema_version = 1
TOML
OUT=$(cd "$P" && "$WARD" run "go" 2>&1); RC=$?
is "$RC" 1 "no model anywhere is an error"
like "$OUT" 'no model: set \[model\]' "that says where to set one"

# 17. A conversation that outgrows the model's context is compacted: the
#     model summarises the older turns and the summary replaces them.
python3 -c 'print("filler line for compaction\n" * 400, end="")' > "$P/big.txt"
approve_project "$P" <<'TOML'
schema_version = 1

[model]
provider = "script"
name = "unused.jsonl"
context_length = 2000
max_tokens = 200

[capabilities.allow.read]
paths = ["**"]
TOML
run_script <<'EOF'
{"tool_calls": [{"name": "file_read", "arguments": {"path": "big.txt"}}]}
{"expect": {"tool_result_contains": "filler line"}, "tool_calls": [{"name": "file_read", "arguments": {"path": "README.md"}}]}
{"text": "SUMMARY-7Q: read big.txt and README.md"}
{"text": "finished after compaction", "expect": {"tool_result_contains": "hello from the readme"}}
EOF
is "$RC" 0 "a session that outgrows its context finishes"
like "$ERR$OUT" 'compacted into a summary' "the user is told the conversation was compacted"
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
TR=$(cat "$XDG_STATE_HOME/ward/sessions/$sid/storage/transcript" 2>/dev/null)
like "$TR" 'Summary of the session so far.*SUMMARY-7Q' "the saved conversation starts from the summary"
unlike "$TR" 'filler line' "the big tool result is gone from it"
like "$TR" 'hello from the readme' "the latest tool call and its result are kept"
like "$OUT" 'finished after compaction' "the session goes on from the summary"

# 18. After the conversation sat idle (its saved state older than 15
#     minutes), big tool results from before the last three model turns
#     are trimmed when it resumes; the calls stay.
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]
TOML
run_script <<'EOF'
{"tool_calls": [{"name": "file_read", "arguments": {"path": "big.txt"}}]}
{"tool_calls": [{"name": "file_read", "arguments": {"path": "README.md"}}]}
{"tool_calls": [{"name": "file_read", "arguments": {"path": "README.md"}}]}
{"text": "read them"}
EOF
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
store="$XDG_STATE_HOME/ward/sessions/$sid/storage"
run_script --resume "$sid" <<'EOF'
{"text": "back soon"}
EOF
is "$RC" 0 "a resumed session right away finishes"
like "$(cat "$store/transcript")" 'filler line' "without an idle gap the old results are kept"
touch -d '2 hours ago' "$store"/*
run_script --resume "$sid" <<'EOF'
{"text": "back after lunch"}
EOF
is "$RC" 0 "a session resumed after an idle gap finishes"
like "$ERR$OUT" 'trimmed 1 old tool result after an idle gap of 1[0-9][0-9] minutes' "the user is told what was trimmed"
TR=$(cat "$store/transcript")
unlike "$TR" 'filler line' "the old big result is gone from the conversation"
like "$TR" 'a result of 10800 bytes, trimmed after the session sat idle' "a note stands in for it"
like "$TR" 'big\.txt' "the call that produced it is kept"
like "$TR" 'hello from the readme' "recent small results are kept"

# 19. The task list is kept with the session: a resumed session goes on
#     with it; a kept list that is not one stops the session.
run_script <<'EOF'
{"tool_calls": [{"name": "task_create", "arguments": {"title": "kept task"}}]}
{"text": "made"}
EOF
sid=$(printf '%s' "$ERR" | sed -n 's/.*session \([0-9a-f]\{32\}\).*/\1/p')
run_script --resume "$sid" <<'EOF'
{"tool_calls": [{"name": "task_list", "arguments": {}}]}
{"text": "listed", "expect": {"tool_result_contains": "1 [pending] kept task"}}
EOF
is "$RC" 0 "a resumed session has the task list it left"
printf '[{"title": 5}]' > "$XDG_STATE_HOME/ward/sessions/$sid/tasks.json"
run_script --resume "$sid" <<'EOF'
{"text": "never"}
EOF
is "$RC" 1 "a kept task list that is not one stops the session"
like "$ERR" 'tasks.json: not a task list' "saying which file"

done_testing
