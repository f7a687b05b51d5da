#!/bin/bash
# The command line: --help everywhere, usage errors exit 2 (DESIGN §4).
. "$(dirname "$0")/lib.sh"

for c in "" run daemon doctor demo policy; do
	out=$("$WARD" $c --help 2>&1); rc=$?
	is "$rc" 0 "ward $c --help exits 0"
	like "$out" 'usage: ward' "ward $c --help prints usage"
done
"$WARD" frobnicate >/dev/null 2>&1; is "$?" 2 "an unknown command exits 2"
"$WARD" >/dev/null 2>&1; is "$?" 2 "no command exits 2"
"$WARD" run >/dev/null 2>&1; is "$?" 2 "run without a prompt exits 2"
"$WARD" run a b >/dev/null 2>&1; is "$?" 2 "run with two prompts exits 2"
mkdir -p "$T/empty"
out=$(cd "$T/empty" && "$WARD" run "hi" 2>&1); rc=$?
is "$rc" 1 "run where there is no ward.toml exits 1"
like "$out" 'no ward.toml in .*ward approve' "and says what to do"
"$WARD" daemon stop >/dev/null 2>&1	# it started one; later tests want none
"$WARD" run --max-turns 0 --provider script --model x "hi" >/dev/null 2>&1
is "$?" 2 "--max-turns 0 is a usage error"
"$WARD" run --bogus "hi" >/dev/null 2>&1; is "$?" 2 "an unknown option exits 2"
"$WARD" daemon --agent-step-ms abc >/dev/null 2>&1; is "$?" 2 "a bad daemon number exits 2"
out=$("$WARD" daemon stop 2>&1); rc=$?
is "$rc" 0 "daemon stop with no daemon exits 0"
like "$out" 'not running' "and says it was not running"
"$WARD" --version | grep -q '^ward '; ok $? "--version prints the version"
done_testing
