#!/bin/sh
# Fails unless the component imports only ward:agent/* interfaces (DESIGN §2
# invariant 1): no WASI, nothing else. Run by the build on every agent.wasm.
# Every line of the printed world that starts with `import` must be exactly
# `import ward:agent/NAME@VERSION;`: anything else (another package, a bare
# function, an inline interface spread over lines) fails.
# usage: check-imports.sh WASM_TOOLS COMPONENT
set -eu
tools=$1 wasm=$2

world=$("$tools" component wit "$wasm") || {
	echo "check-imports: $wasm is not a valid component" >&2; exit 1; }
imports=$(printf '%s\n' "$world" | grep -E '^[[:space:]]*import[[:space:]]' || true)
[ -n "$imports" ] || { echo "check-imports: $wasm imports nothing (expected ward:agent/*)" >&2; exit 1; }
bad=$(printf '%s\n' "$imports" |
    grep -Ev '^[[:space:]]*import ward:agent/[a-z][a-z-]*@[0-9]+\.[0-9]+\.[0-9]+;[[:space:]]*$' || true)
if [ -n "$bad" ]; then
	echo "check-imports: $wasm imports outside ward:agent:" >&2
	printf '%s\n' "$bad" | sed 's/^[[:space:]]*/  /' >&2
	exit 1
fi
echo "check-imports: $wasm imports only:" $(printf '%s\n' "$imports" | sed 's/^[[:space:]]*import //; s/;.*//') >&2
