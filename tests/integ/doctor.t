#!/bin/bash
# ward doctor reports kernel features; a missing required one exits 1.
. "$(dirname "$0")/lib.sh"

out=$("$WARD" doctor 2>&1); rc=$?
# This machine is expected to have what the sandbox needs; if it does not,
# the test fails and says so rather than passing quietly.
is "$rc" 0 "ward doctor exits 0 on a machine with every required feature"
like "$out" 'userns' "reports user namespaces"
like "$out" 'landlock' "reports Landlock"
like "$out" 'seccomp' "reports seccomp"
like "$out" 'cgroup' "reports cgroup v2"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'

json=$("$WARD" doctor --json); rc=$?
is "$rc" 0 "--json exits 0 too"
is "$(printf '%s' "$json" | jq -r '.ok')" true "--json says ok"
is "$(printf '%s' "$json" | jq -r '[.features[].name] | length >= 5')" true "--json lists the features"

out=$(WARD_PROBE_DISABLE=landlock "$WARD" doctor 2>&1); rc=$?
is "$rc" 1 "a missing Landlock makes doctor exit 1"
like "$out" 'refuse to run commands: missing landlock' "and says what is missing"
json=$(WARD_PROBE_DISABLE=userns,seccomp "$WARD" doctor --json)
is "$(printf '%s' "$json" | jq -r '.ok')" false "--json reports not ok"
is "$(printf '%s' "$json" | jq -r '.features[] | select(.name=="userns") | .status')" missing "userns shows as missing"

out=$(NO_COLOR=1 "$WARD" doctor 2>&1)
unlike "$out" $'\e' "no colour with NO_COLOR"
out=$("$WARD" doctor | cat)
unlike "$out" $'\e' "no colour when stdout is not a TTY"
"$WARD" doctor --frob >/dev/null 2>&1; is "$?" 2 "an unknown option exits 2"
done_testing
