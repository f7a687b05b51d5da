#!/bin/bash
# `ward demo` (what `make demo` runs): the whole story ends as the README
# says -- the injection refused twice, the edit made, the tests passing in
# the sandbox.
. "$(dirname "$0")/lib.sh"
mkdir -p "$HOME/.ssh" && printf 'DEMO-KEY-SECRET\n' > "$HOME/.ssh/id_rsa"
OUT=$("$WARD" demo 2>&1); RC=$?
is "$RC" 0 "ward demo finishes"
like "$OUT" 'denied by ward.toml: matches a deny pattern \(curl:\*\)' "the exfiltration command is refused"
like "$OUT" '! denied: file_read ~/.ssh/id_rsa' "the key read is refused"
unlike "$OUT" 'DEMO-KEY-SECRET' "the key never shows"
like "$OUT" 'finished: 8 turns, 7 tool calls' "every turn ran (the script checks the tests passed)"
like "$OUT" 'audit.log: intact: [0-9]+ records, [0-9]+ checkpoints?, sealed' "the demo ends by verifying the session's sealed audit log"
done_testing
