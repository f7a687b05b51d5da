#!/bin/bash
# Invariant 1: the agent component imports ward:agent/* and nothing else,
# checked on the built component, and refused by the daemon at load time.
. "$(dirname "$0")/lib.sh"
: "${WASM_TOOLS:?run through make test}"
root=$(cd "$(dirname "$0")/../.." && pwd)

out=$(sh "$root/tests/check-imports.sh" "$WASM_TOOLS" "$WARD_BUILD/agent.wasm" 2>&1)
ok $? "build/agent.wasm passes the import check"
like "$out" 'ward:agent/llm@0.1.0' "it imports ward:agent/llm"
unlike "$out" 'wasi' "and nothing from WASI"

core=$("$WASM_TOOLS" print "$WARD_BUILD/agent.core.wasm" | grep '(import')
unlike "$core" 'wasi_snapshot_preview1|wasi:' "the core module has zero WASI imports"
like "$core" '"ward:agent/tools@0.1.0"' "its imports are the ward:agent functions"
ok "$(printf '%s\n' "$core" | grep -vc '"ward:agent/' | grep -qx 0; echo $?)" "every core import is from ward:agent"

for w in wasi-import bare-func-import inline-interface-import; do
	"$WASM_TOOLS" parse "$root/tests/wat/$w.wat" -o "$T/$w.wasm"
	sh "$root/tests/check-imports.sh" "$WASM_TOOLS" "$T/$w.wasm" 2>"$T/err"
	is "$?" 1 "the import check fails a component with a $w"
	like "$(cat "$T/err")" 'imports outside ward:agent' "and names the import ($w)"
	out=$("$WARD" daemon --agent "$T/$w.wasm" --socket "$T/d.sock" 2>&1); rc=$?
	is "$rc" 111 "the daemon refuses to load a component with a $w"
	like "$out" 'is not a ward:agent interface; refusing' "saying why ($w)"
done

# A module that is not a component at all.
out=$("$WARD" daemon --agent "$WARD_BUILD/agent.core.wasm" --socket "$T/d.sock" 2>&1); rc=$?
is "$rc" 111 "the daemon refuses a core module"
like "$out" 'cannot compile agent component' "with the compiler's reason"
done_testing
