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
is "$(printf '%s' "$json" | jq -c 'keys')" '["decision","parts","reason","rule","suggestion"]' \
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
"$WARD" policy check >/dev/null 2>&1; is "$?" 2 "no question exits 2"
"$WARD" policy check --command ls --read x >/dev/null 2>&1; is "$?" 2 "two questions exit 2"
"$WARD" policy check --host x.com >/dev/null 2>&1; is "$?" 2 "--host without --for exits 2"
"$WARD" policy check --command ls --for ls >/dev/null 2>&1; is "$?" 2 "--for without --host exits 2"
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

# Suggested patterns for a prompt (DESIGN §3): broadest first, program +
# subcommand recommended.
json=$("$WARD" policy check --json --command 'cargo nextest run -p x' 2>&1)
is "$(printf '%s' "$json" | jq -r .decision)" prompt "an unmatched command prompts"
is "$(printf '%s' "$json" | jq -c .suggestion.levels)" \
    '["cargo:*","cargo nextest:*","cargo nextest run:*","cargo nextest run -p:*","cargo nextest run -p x:*","cargo nextest run -p x"]' \
    "the levels run from the program to the exact command"
is "$(printf '%s' "$json" | jq -r .suggestion.recommended)" 'cargo nextest:*' \
    "program + subcommand is recommended"
is "$(printf '%s' "$json" | jq -r .parts[0].suggestion.recommended)" 'cargo nextest:*' \
    "each prompted part carries its suggestion"
out=$("$WARD" policy check --command 'cargo nextest run -p x' 2>&1)
like "$out" '^  \* cargo nextest:\*$' "the human output marks the recommended level"
json=$("$WARD" policy check --json --command 'ls -l' 2>&1)
is "$(printf '%s' "$json" | jq -c .suggestion)" null "an allowed command has no suggestion"

# What a person reads cannot carry terminal escapes or hidden characters.
out=$("$WARD" policy check --command "$(printf 'rm\342\200\256 x; printf \033[2J')" 2>&1)
unlike "$out" "$(printf '\033')" "no raw escape reaches the terminal"
like "$out" '<U\+202E>' "a right-to-left override is shown"
like "$out" '<U\+001B>' "an escape is shown"

# Paths and hosts, and redirects to files as writes.
mkdir -p "$T/p/src" "$T/p/.git/hooks" && cd "$T/p" || exit 2
cat > ward.toml <<'TOML'
schema_version = 1

[capabilities.allow.read]
default_files = ["*.c", "*.md"]
paths = ["src/**", { path = ".", files = ["README.md"] }]

[capabilities.allow.write]
default_files = ["*.c"]
paths = ["src/**", ".git/**"]

[capabilities.deny.read]
default_files = ["*.key"]
paths = ["**"]

[capabilities.allow.commands]
default_domains = ["pypi.org"]
patterns = [
  "ls:*", "make:*",
  { command = "gh:*", domains = ["api.github.com"], inherit_default_domains = false },
]

[capabilities.deny.commands]
patterns = ["curl:*"]
domains = ["*.evil.com"]

[security]
redirects = "files"
TOML
echo 'int x;' > src/a.c; echo k > src/id.key; ln -s id.key src/link.c
ln -s ../../etc src/etc
check() { "$WARD" policy check --json "$@" 2>&1; }
is "$(check --read src/a.c | jq -r .decision)" allow "--read of an allowed file"
is "$(check --read src/a.c | jq -r .path)" "$(cd src && pwd -P)/a.c" "with its real path"
is "$(check --read README.md | jq -r .decision)" allow "a { path, files } entry"
is "$(check --read notes.txt | jq -r .decision)" deny "a file no entry covers"
is "$(check --read src/id.key | jq -r .rule)" 'deny.read paths "**" default_files "*.key"' \
    "deny beats allow, naming the rule"
is "$(check --read src/link.c | jq -r .decision)" deny "a symlink to a denied file is denied"
is "$(check --read src/etc/passwd | jq -r .decision)" deny "a symlink out of the project is denied"
is "$(check --read ../../../../etc/passwd | jq -r .decision)" deny ".. out of the project is denied"
is "$(check --read /etc/passwd | jq -r .decision)" deny "an absolute path outside is denied"
is "$(check --write src/b.c | jq -r .decision)" allow "--write of a new file"
is "$(check --write ward.toml | jq -r .decision)" deny "the manifest is never writable"
is "$(check --write .git/hooks/pre-commit | jq -r .decision)" deny ".git/hooks is never writable"
is "$(check --write .git/config | jq -r .decision)" deny ".git/config is never writable"
is "$(check --command 'ls > src/out.c' | jq -r .decision)" allow "a redirect to a writable file"
is "$(check --command 'ls > src/out.c && ls > ward.toml' | jq -r .decision)" deny \
    "a redirect to the manifest is denied"
is "$(check --command 'make 2> .git/hooks/post-merge' | jq -r '.parts[0].detail')" \
    'write .git/hooks/post-merge: built-in: git metadata (.git) is never writable' \
    "the part says which write and which rule"
is "$(check --command 'cat < src/a.c' | jq -r '.parts[0].decision')" prompt \
    "a read redirect is checked (cat itself is unmatched)"
is "$(check --command 'ls < src/id.key' | jq -r .decision)" deny "a read redirect of a denied file"
is "$(check --host api.github.com --for 'gh api /user' | jq -r .decision)" allow \
    "a grant's domain"
is "$(check --host api.github.com --for 'gh api /user' | jq -r .rule)" \
    'allow.commands "gh:*" domains "api.github.com"' "naming the grant"
is "$(check --host pypi.org --for 'gh api /user' | jq -r .decision)" deny \
    "inherit_default_domains = false drops default_domains"
is "$(check --host pypi.org --for 'make dist' | jq -r .decision)" allow "default_domains"
is "$(check --host API.GitHub.com. --for 'gh api x' | jq -r .decision)" allow \
    "case and a trailing dot are the same host"
is "$(check --host evil-github.com --for 'gh api x' | jq -r .decision)" deny "a look-alike host"
is "$(check --host x.evil.com --for 'make' | jq -r .decision)" deny "a denied domain"
is "$(check --host api.github.com --for 'gh x; curl y' | jq -r .reason)" "the command is denied" \
    "a denied command reaches nothing"
is "$(check --host 'bücher.de' --for make | jq -r .decision)" deny "raw Unicode is refused (punycode only)"
is "$(check --host pypi.org --for make | jq -c keys)" '["decision","reason","rule"]' \
    "host JSON has the documented keys"

# The manifest is read only from a regular file, and what it says in an
# error cannot drive the terminal.
mkdir -p "$T/ln/conf" && cp "$T/p/ward.toml" "$T/ln/conf/real.toml" && ln -s conf/real.toml "$T/ln/ward.toml"
out=$(cd "$T/ln" && "$WARD" policy check --command ls 2>&1); rc=$?
is "$rc" 1 "a symlinked ward.toml is refused"
like "$out" 'a symbolic link' "saying why"
mkfifo "$T/ln/fifo.toml"
out=$(timeout 10 "$WARD" policy check --manifest "$T/ln/fifo.toml" --command ls 2>&1); rc=$?
is "$rc" 1 "a FIFO is refused without hanging"
printf 'schema_version = 1\n"x\\u001b]0;PWNED\\u0007\\u001b[31mRED" = 1\n' > "$T/ln/esc.toml"
out=$("$WARD" policy check --manifest "$T/ln/esc.toml" --command ls 2>&1); rc=$?
is "$rc" 1 "a manifest with an unknown key is refused"
unlike "$out" "$(printf '\033')" "its escape sequences are not printed raw"
like "$out" '<U\+001B>' "they are shown"

# approve = "each": asked every time, even though the pattern allows it.
mkdir -p "$T/each" && cat > "$T/each/ward.toml" <<'TOML'
schema_version = 1

[capabilities.allow.commands]
patterns = ["git status", { command = "git push:*", approve = "each", secrets = ["GH_TOKEN"] }]
TOML
json=$("$WARD" policy check --manifest "$T/each/ward.toml" --json --command 'git status && git push origin main' 2>&1)
is "$(printf '%s' "$json" | jq -r .decision)" prompt "an approve = \"each\" grant prompts though its pattern allows"
like "$(printf '%s' "$json" | jq -r .reason)" 'approve = "each"' "saying why"
is "$(printf '%s' "$json" | jq -r '.parts[0].decision')" allow "the other part is still allowed"
printf 'schema_version = 1\n[capabilities.allow.commands]\npatterns = [{ command = "x", approve = "always" }]\n' > "$T/each/bad.toml"
out=$("$WARD" policy check --manifest "$T/each/bad.toml" --command x 2>&1); rc=$?
is "$rc" 1 "approve takes only \"each\""
like "$out" "'always' is not one of each" "saying what it takes"

done_testing
