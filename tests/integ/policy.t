#!/bin/bash
# `ward policy check` (DESIGN §4): decides a command against ward.toml,
# part by part, never runs it; a bad manifest is an error at its line.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 2
cat > ward.toml <<'TOML'
schema_version = 1

[capabilities.allow.commands]
patterns = [
  "make test:*",
  { command = "git:*", prompt = true },
  "git status",
  "ls:*",
]

[capabilities.deny.commands]
patterns = ["sudo:*", "curl:*"]
TOML

out=$("$WARD" policy check --command 'git status' 2>&1); rc=$?
is "$rc" 0 "an allowed command exits 0"
like "$out" '^decision: allow' "and prints allow"
like "$out" 'rule: +git status' "with the deciding rule"

touch "$T/marker"
out=$("$WARD" policy check --command "ls && rm $T/marker && curl http://x" 2>&1); rc=$?
is "$rc" 0 "a denied command still exits 0 (the check worked)"
like "$out" '^decision: deny' "a chain ending in curl is denied"
like "$out" 'rule: +curl:\*' "by the curl pattern"
like "$out" 'allow +ls ' "the ls part is allowed"
like "$out" 'prompt +rm ' "the rm part prompts"
like "$out" 'deny +curl http://x' "the curl part is denied"
[ -e "$T/marker" ]; ok $? "nothing was run"

json=$("$WARD" policy check --json --command 'ls -l; curl x' 2>&1); rc=$?
is "$rc" 0 "--json exits 0"
is "$(printf '%s' "$json" | jq -r .decision)" deny "json decision"
is "$(printf '%s' "$json" | jq -r .rule)" 'curl:*' "json rule"
is "$(printf '%s' "$json" | jq -r .reason)" 'matches a deny pattern' "json reason"
is "$(printf '%s' "$json" | jq -c '[.parts[] | [.command, .decision, .rule]]')" \
    '[["ls -l","allow","ls:*"],["curl x","deny","curl:*"]]' "json parts"
is "$(printf '%s' "$json" | jq -c 'keys')" '["decision","parts","reason","rule"]' \
    "json has exactly the documented keys"

json=$("$WARD" policy check --json --command 'git log' 2>&1)
is "$(printf '%s' "$json" | jq -r .decision)" prompt "a prompt = true pattern prompts"
json=$("$WARD" policy check --json --command 'python3 x.py' 2>&1)
is "$(printf '%s' "$json" | jq -r '.rule | type')" null "no rule is JSON null"

mkdir -p sub
cat > sub/ward.toml <<'TOML'
schema_version = 1

[security]
allow_pipes = true
alow_compound = false
TOML
out=$("$WARD" policy check --manifest sub/ward.toml --command ls 2>&1); rc=$?
is "$rc" 1 "an unknown key exits 1"
like "$out" "sub/ward.toml:5:1: unknown key 'alow_compound' in \[security\]; did you mean 'allow_compound'\?" \
    "with file, line and suggestion"

out=$("$WARD" policy check --manifest nope.toml --command ls 2>&1); rc=$?
is "$rc" 1 "a missing manifest exits 1"
like "$out" 'nope.toml' "and names it"

for c in "policy" "policy check"; do
	out=$("$WARD" $c --help 2>&1); rc=$?
	is "$rc" 0 "ward $c --help exits 0"
	like "$out" 'usage: ward policy check' "ward $c --help prints usage"
done
out=$("$WARD" policy check --read src/x.c 2>&1); rc=$?
is "$rc" 2 "--read exits 2"
like "$out" 'not available in this build yet' "and says why"
"$WARD" policy check --host x.com --for ls >/dev/null 2>&1; is "$?" 2 "--host exits 2"
"$WARD" policy check >/dev/null 2>&1; is "$?" 2 "no --command exits 2"
"$WARD" policy frob >/dev/null 2>&1; is "$?" 2 "an unknown subcommand exits 2"
"$WARD" policy check --command ls extra >/dev/null 2>&1; is "$?" 2 "an extra argument exits 2"
# [security] switches: pipes off denies a piped line even of allowed parts.
mkdir -p "$T/sec" && cat > "$T/sec/ward.toml" <<'TOML'
schema_version = 1

[capabilities.allow.commands]
patterns = ["ls:*", "wc:*"]

[security]
allow_pipes = false
TOML
out=$(cd "$T/sec" && "$WARD" policy check --command 'ls | wc -l' 2>&1)
like "$out" '^decision: deny' "a pipe is denied when allow_pipes = false"
like "$out" 'allow_pipes' "naming the switch"
out=$(cd "$T/sec" && "$WARD" policy check --command 'echo $(ls)' 2>&1)
like "$out" '^decision: deny' "substitutions are denied by default (allow_subshells = false)"

done_testing
