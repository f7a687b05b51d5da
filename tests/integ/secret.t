#!/bin/bash
# `ward secret` (DESIGN §4, doc/VAULT.md): values go in on stdin only and
# never come out; weak values, bad names and argv values are refused; the
# vault and its key are private files; a passphrase locks it.
. "$(dirname "$0")/lib.sh"

V='ghp_Zq8xW2vN5mK1pL7rT3yU9o'
D="$XDG_DATA_HOME/ward"

out=$("$WARD" secret --help); rc=$?
is "$rc" 0 "--help exits 0"
like "$out" 'usage: ward secret set NAME' "and shows the usage"
"$WARD" secret bogus >/dev/null 2>&1
is "$?" 2 "an unknown command is a usage error"

err=$("$WARD" secret set GH_TOKEN "$V" 2>&1 </dev/null); rc=$?
is "$rc" 2 "a value in argv is a usage error"
like "$err" 'read from stdin, never from the command line' "saying why"
unlike "$err" "$V" "without echoing the value"
[ ! -e "$D/vault" ]; ok $? "and nothing is stored"

printf '%s\n' "$V" | "$WARD" secret set gh_token 2>/dev/null
is "$?" 2 "a lower-case name is a usage error"

printf '%s\n' "$V" | "$WARD" secret set GH_TOKEN
is "$?" 0 "set from stdin"
printf 'Sup3r-s3cret!' | "$WARD" secret set DB_PASS
is "$?" 0 "set another (no trailing newline)"
st=$(stat -c '%a %s' "$D/vault.key")
is "$st" "600 32" "the key file is 0600 and 32 bytes"
st=$(stat -c '%a' "$D/vault")
is "$st" "600" "the vault is 0600"
! grep -q "$V" "$D/vault"; ok $? "the vault file does not hold the value"

err=$(printf 'short' | "$WARD" secret set WEAK 2>&1); rc=$?
is "$rc" 1 "a short value refused"
like "$err" 'shorter than 8 bytes' "saying why"
err=$(printf 'abababababab' | "$WARD" secret set WEAK 2>&1); rc=$?
is "$rc" 1 "a repetitive value refused"
like "$err" 'too repetitive' "saying why"

out=$("$WARD" secret list 2>&1); rc=$?
is "$rc" 0 "list"
is "$out" "DB_PASS
GH_TOKEN" "list prints the names, sorted"
unlike "$out" "$V|Sup3r" "and never a value"

"$WARD" secret revoke GH_TOKEN
is "$?" 0 "revoke"
out=$("$WARD" secret list)
like "$out" '^GH_TOKEN \(revoked\)$' "list marks it revoked"
"$WARD" secret revoke NOPE 2>/dev/null
is "$?" 1 "revoking an unknown name fails"

cp "$D/vault.key" "$T/old.key"
"$WARD" secret rotate
is "$?" 0 "rotate"
! cmp -s "$D/vault.key" "$T/old.key"; ok $? "the key changed"
out=$("$WARD" secret list)
like "$out" 'DB_PASS' "the vault still opens"

"$WARD" secret rm DB_PASS
is "$?" 0 "rm"
out=$("$WARD" secret list)
unlike "$out" 'DB_PASS' "gone from the list"
"$WARD" secret rm DB_PASS 2>/dev/null
is "$?" 1 "rm twice fails"

mv "$D/vault.key" "$T/real.key"
ln -s "$T/real.key" "$D/vault.key"
err=$("$WARD" secret list 2>&1); rc=$?
is "$rc" 1 "a symlinked key is refused"
like "$err" 'symlink' "saying so"
rm "$D/vault.key"
cp -p "$T/real.key" "$D/vault.key"
chmod 644 "$D/vault.key"
err=$("$WARD" secret list 2>&1); rc=$?
is "$rc" 1 "a loose key is refused"
like "$err" 'mode 0600' "saying so"
chmod 600 "$D/vault.key"

head -c 100 "$D/vault" > "$T/trunc" && cat "$T/trunc" > "$D/vault"
err=$("$WARD" secret list 2>&1); rc=$?
is "$rc" 1 "a truncated vault is refused"
like "$err" 'damaged or truncated' "saying so"
rm "$D/vault"

printf '%s' "$V" | "$WARD" secret set GH_TOKEN
printf 'correct horse battery' | "$WARD" secret passphrase
is "$?" 0 "set a passphrase"
[ ! -e "$D/vault.key" ]; ok $? "the key file is gone"
err=$("$WARD" secret list 2>&1 </dev/null); rc=$?
is "$rc" 1 "without the passphrase the vault stays shut"
like "$err" 'WARD_VAULT_PASSPHRASE' "saying how to give it"
err=$(WARD_VAULT_PASSPHRASE=wrong "$WARD" secret list 2>&1); rc=$?
is "$rc" 1 "a wrong passphrase is refused"
like "$err" 'wrong vault passphrase' "saying so"
out=$(WARD_VAULT_PASSPHRASE='correct horse battery' "$WARD" secret list)
is "$out" "GH_TOKEN" "the right passphrase opens it"
WARD_VAULT_PASSPHRASE='correct horse battery' "$WARD" secret passphrase \
    --remove
is "$?" 0 "back to a key file"
out=$("$WARD" secret list)
is "$out" "GH_TOKEN" "which opens it"

# --- revoking a secret stops the commands that hold it ----------------------
make_project
mkdir -p "$P/out"
printf 'echo holding >out/started; sleep 60; echo not-stopped\n' > "$P/hold.sh"
printf 'echo second-ran\n' > "$P/second.sh"
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.write]
paths = ["out/**"]

[capabilities.allow.commands]
patterns = [{ command = "sh:*", secrets = ["GH_TOKEN"] }]

[command_run]
command_timeout = 120
TOML
printf '%s' "$V" | "$WARD" secret set GH_TOKEN
start=$(date +%s)
(
	run_script <<'EOF2'
{"tool_calls": [{"name": "command_run", "arguments": {"command": "sh hold.sh"}}]}
{"expect": {"tool_error": true, "tool_result_contains": "stopped, the secret GH_TOKEN it was given was revoked", "tool_result_lacks": "not-stopped"}, "tool_calls": [{"name": "command_run", "arguments": {"command": "sh second.sh"}}]}
{"text": "done", "expect": {"tool_error": true, "tool_result_contains": "revoked", "tool_result_lacks": "second-ran"}}
EOF2
	echo "$RC" > "$T/hold.rc"
	printf '%s\n%s\n' "$OUT" "$ERR" > "$T/hold.out"
) &
for i in $(seq 1 600); do [ -e "$P/out/started" ] && break; sleep 0.1; done
[ -e "$P/out/started" ]; ok $? "a session runs a command holding GH_TOKEN"
out=$("$WARD" secret revoke GH_TOKEN 2>&1); rc=$?
is "$rc" 0 "revoke while it runs"
like "$out" 'stopped 1 running command holding GH_TOKEN' "says it stopped it"
wait
took=$(( $(date +%s) - start ))
[ "$took" -lt 40 ]; ok $? "the command ended well before its 60 s sleep (${took}s)"
is "$(cat "$T/hold.rc")" 0 "the model was told it was stopped for the revoked secret, and the next command was refused"
[ "$(cat "$T/hold.rc")" = 0 ] || sed 's/^/# /' "$T/hold.out" | tail -15
rec=$(grep -rh '"kind":"command"' "$XDG_STATE_HOME/ward/sessions" | grep 'hold.sh')
like "$rec" '"revoked":"GH_TOKEN"' "the audit log's command record says it was revoked"
rec=$(grep -rh '"kind":"command"' "$XDG_STATE_HOME/ward/sessions" | grep 'second.sh')
like "$rec" '"ran":false' "and the next command did not run"
! grep -rqa "$V" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR" "$P"; ok $? "no file holds the value"
"$WARD" daemon stop >/dev/null 2>&1
out=$("$WARD" secret revoke GH_TOKEN 2>&1); rc=$?
is "$rc" 0 "with no daemon, revoke just revokes"
is "$out" "" "quietly"

# --- the daemon's own log is redacted ----------------------------------------
L='lg_R7mQ2xV9kP4wZ8nT1'
L64=$(printf %s "$L" | base64)
printf '%s' "$L" | "$WARD" secret set LOG_TOKEN
# A failure the daemon reports itself, quoting what it failed on.
mkdir -p "$T/sock" && chmod 700 "$T/sock"
"$WARD" daemon --socket "$T/sock/$L/d.sock" 2>"$T/dlog"
is "$?" 111 "a daemon that cannot serve its socket fails"
log=$(cat "$T/dlog")
like "$log" "directory $T/sock/\[REDACTED:LOG_TOKEN\] must exist" "its own error message is redacted on its way to the log"
unlike "$log" "$L" "and does not hold the value"
# A provider's error that echoes the request back.
run_script <<EOF
{"error": "upstream 400: invalid request near '$L' ($L64)"}
EOF
"$WARD" daemon stop >/dev/null 2>&1
log=$(cat "$XDG_STATE_HOME/ward/daemon.log")
like "$log" "session [0-9a-f]+ failed: .*near '\[REDACTED:LOG_TOKEN\]'" "daemon.log has the failure, redacted"
! grep -qaF -e "$L" -e "${L64%??????}" "$XDG_STATE_HOME/ward/daemon.log"; ok $? "daemon.log holds neither the value nor its base64"
like "$ERR" "near '\[REDACTED:LOG_TOKEN\]'" "the error the client prints is redacted"
unlike "$ERR$OUT" "$L" "the client never prints the value"
! grep -rqaF -e "$L" -e "${L64%??????}" "$XDG_STATE_HOME"; ok $? "nor does the audit log or the transcript"

# --- five secrets in one session: no value in any encoding in any file -------
names="FIVE_A FIVE_B FIVE_C FIVE_D FIVE_E"
vals="fA9q-Zt3xW7p/Lm2 fB8r+Yu4vX6o?Kn1 fC7s~Xv5uY5n>Jo0 fD6t_Wy6tZ4m<Ip9 fE5u=Vz7sA3l}Hq8"
set -- $vals
for n in $names; do printf '%s' "$1" | "$WARD" secret set "$n"; shift; done
"$WARD" secret list | grep -c '^FIVE_' | grep -qx 5; ok $? "five secrets stored"
cat > "$P/show.sh" <<'SH'
for n in FIVE_A FIVE_B FIVE_C FIVE_D FIVE_E; do
	eval v=\$$n
	printf 'raw=%s\n' "$v"
	printf %s "$v" | base64
	printf %s "$v" | base64 | tr '+/' '-_'
	printf 'x%s' "$v" | base64
	printf 'xy%s' "$v" | base64
	printf %s "$v" | od -An -tx1 | tr -d ' \n'; echo
	printf %s "$v" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; echo
done
SH
printf 'seq 1 200000; sh show.sh >&2\n' > "$P/spill.sh"
printf 'sh show.sh >&2; exit 3\n' > "$P/fail.sh"
approve_project "$P" <<'TOML'
schema_version = 1

[capabilities.allow.read]
paths = ["**"]

[capabilities.allow.commands]
patterns = [{ command = "sh:*", secrets = ["FIVE_A", "FIVE_B", "FIVE_C", "FIVE_D", "FIVE_E"] }]
TOML
run_script <<'EOF'
{"tool_calls": [{"name": "command_run", "arguments": {"command": "sh show.sh"}}]}
{"expect": {"tool_error": false, "tool_result_contains": "raw=[REDACTED:FIVE_E]", "tool_result_lacks": "fE5u"}, "tool_calls": [{"name": "command_run", "arguments": {"command": "sh spill.sh"}}]}
{"expect": {"tool_result_contains": "more bytes of output"}, "tool_calls": [{"name": "command_run", "arguments": {"command": "sh fail.sh"}}]}
{"text": "done", "expect": {"tool_result_contains": "[REDACTED:FIVE_C]"}}
EOF
is "$RC" 0 "a session runs commands holding five secrets, each redacted"
[ "$RC" = 0 ] || printf '%s\n%s\n' "$OUT" "$ERR" | tail -12 | sed 's/^/# /'
"$WARD" daemon stop >/dev/null 2>&1
ls "$XDG_STATE_HOME"/ward/sessions/*/* >/dev/null 2>&1; ok $? "the session left its files"
found=
for v in $vals; do
	b=$(printf %s "$v" | base64 -w0)
	u=$(printf %s "$b" | tr '+/' '-_')
	h=$(printf %s "$v" | od -An -tx1 | tr -d ' \n')
	H=$(printf %s "$h" | tr a-f A-F)
	# base64's first and last characters mix in neighbouring bits
	# (doc/VAULT.md): look for the part that is the value's alone.
	for pat in "$v" "${b:1:16}" "${u:1:16}" "$h" "$H"; do
		hit=$(grep -rlaF -e "$pat" "$XDG_STATE_HOME" "$XDG_DATA_HOME" \
		    "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR" "$P" 2>/dev/null)
		[ -z "$hit" ] || found="$found $pat in $hit;"
	done
done
is "$found" "" "no file under the state, data, config and runtime dirs or the project holds any value or encoding"
[ -s "$XDG_DATA_HOME/ward/vault" ] && ! grep -qaF -e fA9q -e fE5u "$XDG_DATA_HOME/ward/vault"; ok $? "the vault file holds only ciphertext"

cleanup
done_testing
