#!/bin/sh
# Copies wasmtime's WASI preview 1 command adapter
# (wasi_snapshot_preview1.command.wasm, from the crates.io crate
# wasi-preview1-component-adapter-provider pinned by deps/adapter/Cargo.lock)
# to $1. The capsule's tests wrap preview 1 modules with it into preview 2
# components (`wasm-tools component new --adapt`). cargo fetches the crate
# and checks it against the lock file's checksum; the adapter's own sha256
# is checked too, so a changed crate cannot slip in a different adapter.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: adapter.sh OUT}
case $out in /*) ;; *) out="$(pwd)/$out" ;; esac
ADAPTER_SHA256=e1eef9af604db37b1f69fb8c7bbf7d5d0f9c0684d36afea7e5873b30e281fa13

die() { printf 'adapter: error: %s\n' "$*" >&2; exit 1; }

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
	PATH="$HOME/.cargo/bin:$PATH"; export PATH
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found (see deps/install.sh)"

cd "$here/adapter"
cargo fetch --locked -q >&2 || die "cargo fetch of the adapter crate failed"
manifest=$(cargo metadata --locked --offline --format-version 1 |
    jq -r '.packages[] | select(.name == "wasi-preview1-component-adapter-provider") | .manifest_path')
[ -n "$manifest" ] || die "the adapter crate is not in deps/adapter's metadata"
src="$(dirname "$manifest")/artefacts/wasi_snapshot_preview1.command.wasm"
[ -f "$src" ] || die "$src is missing"
got=$(sha256sum < "$src" | cut -d' ' -f1)
[ "$got" = "$ADAPTER_SHA256" ] || die "$src: sha256 mismatch (got $got)"
mkdir -p "$(dirname "$out")"
cp "$src" "$out.tmp"
mv "$out.tmp" "$out"
