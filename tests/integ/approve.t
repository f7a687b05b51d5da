#!/bin/bash
# `ward approve` (DESIGN §3 "Approval", §4): shows the manifest or what
# changed, asks on the terminal (never on a pipe), signs with the user's
# key; an approval holds only for the directory and text it was made for,
# and the manifest's bytes cannot drive the terminal.
. "$(dirname "$0")/lib.sh"

P="$T/project"
mkdir -p "$P"
cd "$P" || exit 2

out=$("$WARD" approve --help); rc=$?
is "$rc" 0 "--help exits 0"
like "$out" 'usage: ward approve' "and shows the usage"
"$WARD" approve --bogus >/dev/null 2>&1
is "$?" 2 "an unknown option is a usage error"

err=$("$WARD" approve --yes 2>&1 </dev/null); rc=$?
is "$rc" 1 "no ward.toml: exit 1"
like "$err" 'ward.toml: No such file' "and says so"

printf 'schema_version = 1\n[security]\nallow_pipe = true\n' > ward.toml
err=$("$WARD" approve --yes 2>&1 </dev/null); rc=$?
is "$rc" 1 "an invalid manifest: exit 1"
like "$err" "ward.toml:3:1: unknown key 'allow_pipe'" "with the manifest error"
[ ! -e "$XDG_CONFIG_HOME/ward/user.key" ]; ok $? "and no key is made for it"

cat > ward.toml <<'TOML'
schema_version = 1
# the grant

[security]
allow_pipes = true
allow_compound = true

[command_run]
command_timeout = 120
max_output_bytes = 30000

[capabilities.allow.commands]
patterns = ["make test:*", "git status"]
TOML

out=$("$WARD" approve 2>"$T/err" </dev/null); rc=$?
is "$rc" 2 "no terminal and no --yes: exit 2"
like "$(cat "$T/err")" "ward approve --yes" "and says to use --yes"
like "$out" 'has not been approved' "the manifest is shown as never approved"
like "$out" '  patterns = \["make test:\*", "git status"\]' "in full"
[ ! -e "$XDG_STATE_HOME/ward/approvals" ]; ok $? "nothing was signed"

out=$("$WARD" approve --yes </dev/null 2>&1); rc=$?
is "$rc" 0 "--yes approves"
like "$out" 'ward.toml approved' "and says so"
is "$(stat -c %a "$XDG_CONFIG_HOME/ward/user.key")" 600 "the user key is 0600"
is "$(stat -c %a "$XDG_CONFIG_HOME/ward")" 700 "in a 0700 directory"
f=$(ls "$XDG_STATE_HOME"/ward/approvals/*.json)
is "$(stat -c %a "$f")" 600 "the approval file is 0600"
is "$(basename "$f" .json)" "$(printf '%s' "$P" | sha256sum | cut -d' ' -f1)" \
    "named by the sha256 of the project path"
is "$(jq -r .path "$f")" "$P" "and records the path"
ls "$P" | grep -vq '^ward.toml$'; is "$?" 1 "nothing was written in the project"

out=$("$WARD" approve </dev/null 2>&1); rc=$?
is "$rc" 0 "approved and unchanged: exit 0 without a terminal"
like "$out" 'already approved' "and says so"

sed -i 's/# the grant/# the grant, reworded/; s/^allow_pipes = true/allow_pipes   =   true   # yes/' ward.toml
out=$("$WARD" approve </dev/null 2>&1); rc=$?
is "$rc" 0 "a comment and layout change is still approved"

sed -i 's/^allow_pipes   =   true/allow_pipes = false/' ward.toml
out=$("$WARD" approve 2>/dev/null </dev/null); rc=$?
is "$rc" 2 "a changed value needs approval again"
like "$out" 'changed since you approved' "it is shown as changed"
like "$out" '^--- approved' "as a unified diff"
like "$out" '^@@ -1,8 \+1,8 @@$' "with a hunk header"
like "$out" '-allow_pipes = true' "the old line"
like "$out" '\+allow_pipes = false   # yes' "the new line"
like "$out" '^ \[security\]' "and context"
unlike "$out" 'git status' "but not the far lines"

# Asking on a terminal: the answer comes through script's pty.
out=$(echo n | script -qec "$WARD approve" /dev/null 2>&1)
like "$out" 'Approve this manifest\? \[y/N\]' "on a terminal it asks"
like "$out" 'Not approved' "'n' declines"
"$WARD" approve </dev/null >/dev/null 2>&1
is "$?" 2 "and nothing was signed"
out=$(echo y | script -qec "$WARD approve" /dev/null 2>&1)
like "$out" 'ward.toml approved' "'y' approves"
"$WARD" approve </dev/null >/dev/null 2>&1
is "$?" 0 "and it is approved"

# The same manifest elsewhere: a copy, a clone, a move.
cp -a "$P" "$T/copy"
out=$(cd "$T/copy" && "$WARD" approve 2>/dev/null </dev/null); rc=$?
is "$rc" 2 "a copy of the project is not approved"
like "$out" 'has not been approved' "(never approved there)"
cp "$f" "$XDG_STATE_HOME/ward/approvals/$(printf '%s' "$T/copy" | sha256sum | cut -d' ' -f1).json"
err=$(cd "$T/copy" && "$WARD" approve 2>&1 >/dev/null </dev/null); rc=$?
is "$rc" 2 "nor with the original's approval copied to its name"
like "$err" 'invalid: the approval file is for another directory' "which is invalid"
mkdir -p "$T/copy/sub"
cp ward.toml "$T/copy/sub/"
out=$("$WARD" approve --manifest "$T/copy/sub/ward.toml" 2>/dev/null </dev/null); rc=$?
is "$rc" 2 "--manifest: the project is the manifest's directory"
"$WARD" approve --yes --manifest "$T/copy/sub/ward.toml" >/dev/null 2>&1
(cd "$T/copy/sub" && "$WARD" approve </dev/null >/dev/null 2>&1)
is "$?" 0 "approved there, it is approved from inside"

# A forged or edited approval file.
cp "$f" "$T/saved.json"
jq -c '.signature |= (if .[0:1] == "0" then "1" else "0" end) + .[1:]' "$T/saved.json" > "$f"
out=$("$WARD" approve 2>"$T/err" </dev/null); rc=$?
is "$rc" 2 "a flipped signature is not approved"
like "$(cat "$T/err")" 'signature does not verify' "it says why"
like "$out" 'has not been approved' "and the whole manifest is shown"
jq -c --arg m "$(cat ward.toml)" '.manifest = "schema_version = 1\n"' "$T/saved.json" > "$f"
out=$("$WARD" approve 2>"$T/err" </dev/null); rc=$?
is "$rc" 2 "an edited stored text is not trusted for the diff"
unlike "$out" '^--- approved' "(no diff against it)"
cp "$T/saved.json" "$f"

# A second user key does not honour the first one's approvals.
mv "$XDG_CONFIG_HOME/ward/user.key" "$T/user.key"
err=$("$WARD" approve 2>&1 >/dev/null </dev/null); rc=$?
is "$rc" 2 "with another user key, not approved"
like "$err" 'another key' "it says why"
"$WARD" approve --yes --manifest "$T/copy/ward.toml" >/dev/null 2>&1
"$WARD" approve </dev/null >/dev/null 2>&1
is "$?" 2 "a new key is made, and still does not honour it"
mv "$T/user.key" "$XDG_CONFIG_HOME/ward/user.key"
"$WARD" approve </dev/null >/dev/null 2>&1
is "$?" 0 "the original key back: approved"

chmod 644 "$XDG_CONFIG_HOME/ward/user.key"
err=$("$WARD" approve --yes 2>&1 </dev/null); rc=$?
is "$rc" 1 "a 0644 user key is refused"
like "$err" 'mode 0600' "and says why"
chmod 600 "$XDG_CONFIG_HOME/ward/user.key"
mv "$XDG_CONFIG_HOME/ward/user.key" "$T/user.key"
ln -s "$T/user.key" "$XDG_CONFIG_HOME/ward/user.key"
err=$("$WARD" approve --yes 2>&1 </dev/null); rc=$?
is "$rc" 1 "a symlinked user key is refused"
like "$err" 'symlink' "and says why"
rm "$XDG_CONFIG_HOME/ward/user.key"
mv "$T/user.key" "$XDG_CONFIG_HOME/ward/user.key"

# What is shown cannot drive the terminal: C1 controls (CSI) and bidi
# overrides are valid TOML in comments and strings.
printf '# \xc2\x9b2J cleared \xe2\x80\xae desrever\n' >> ward.toml
sed -i 's/command_timeout = 120/command_timeout = 60/' ward.toml
out=$("$WARD" approve 2>&1 </dev/null)
like "$out" '<U\+009B>2J cleared <U\+202E> desrever' "controls are shown as <U+XXXX>"
printf '%s' "$out" | LC_ALL=C grep -q "$(printf '\xc2\x9b\|\xe2\x80\xae')"
is "$?" 1 "and never written raw"
printf 'schema_version = 1\n"\\u001b[2J\\u202e" = 1\n' > "$T/bad.toml"
err=$("$WARD" approve --manifest "$T/bad.toml" 2>&1 </dev/null)
like "$err" "unknown key '<U\\+001B>\\[2J<U\\+202E>'" "nor in the manifest's error message"
printf '%s' "$err" | LC_ALL=C grep -q "$(printf '\033\\|\xe2\x80\xae')"
is "$?" 1 "(no raw ESC or bidi override)"

done_testing
