#!/bin/sh
# Fails unless the component imports only ward:agent/* interfaces (DESIGN §2
# invariant 1): no WASI, nothing else. Run by the build on every agent.wasm.
# usage: check-imports.sh WASM_TOOLS COMPONENT
set -eu
tools=$1 wasm=$2

world=$("$tools" component wit "$wasm") || {
	echo "check-imports: $wasm is not a valid component" >&2; exit 1; }
imports=$(printf '%s\n' "$world" | sed -n 's/^[[:space:]]*import[[:space:]]\{1,\}\([^;]*\);.*/\1/p')
[ -n "$imports" ] || { echo "check-imports: $wasm imports nothing (expected ward:agent/*)" >&2; exit 1; }
bad=$(printf '%s\n' "$imports" | grep -v '^ward:agent/[a-z-]*@' || true)
if [ -n "$bad" ]; then
	echo "check-imports: $wasm imports outside ward:agent:" >&2
	printf '%s\n' "$bad" | sed 's/^/  /' >&2
	exit 1
fi
echo "check-imports: $wasm imports only:" $imports >&2
