#!/bin/sh
# Installs what ward needs on a fresh Debian machine and builds the pinned
# tools from crates.io. Idempotent and quick when everything is present, so
# `make demo` and `make test` call it every time.
#
#   apt packages     deps/apt-packages.txt (needs root for apt-get)
#   wasmtime C API   deps/wasmtime (wrapper crate, Cargo.lock) -> $WASMTIME_DIR
#   wasm-tools       component wrapping and the import check
#   wit-bindgen      C bindings for the agent guest
#   tree-sitter-bash the bash grammar (generated C) from npm, checksummed,
#                    -> $TS_BASH_DIR; built against Debian's libtree-sitter
#
# Builds go to $WARD_CACHE (default ~/.cache/ward), outside the clone, so a
# second clone on the same machine reuses them.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
: "${WARD_CACHE:=$HOME/.cache/ward}"
: "${WASMTIME_DIR:=$WARD_CACHE/wasmtime}"
WASM_TOOLS_VERSION=1.254.2
WIT_BINDGEN_VERSION=0.63.0
TS_BASH_VERSION=0.23.3
# sha512 of `npm pack tree-sitter-bash@0.23.3` (the registry's integrity
# sha512-36cg/GQ2...AfoCZg==, in hex).
TS_BASH_SHA512=dfa720fc643662621b7a205ea9eba1e1f049ea2e24815a2e0daa93c6a8a1e72b0f6a0fb31ee7f221ac4c38578cf027a997000afcbba3d68e571ea81d01fa0266
: "${TS_BASH_DIR:=$WARD_CACHE/tree-sitter-bash-$TS_BASH_VERSION}"

say() { printf 'deps: %s\n' "$*" >&2; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# --- Debian packages ------------------------------------------------------
missing=""
for p in $(grep -v '^#' "$here/apt-packages.txt"); do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		die "missing Debian packages:$missing
    run as root: apt-get update && apt-get install -y$missing"
	fi
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >&2
fi

# --- tree-sitter-bash grammar (npm tarball, verified) ----------------------
# Only its generated src/parser.c, src/scanner.c and src/tree_sitter/*.h are
# used; the Makefile compiles them against libtree-sitter-dev (ABI 14).
if [ "$(cat "$TS_BASH_DIR/.stamp" 2>/dev/null || true)" != "$TS_BASH_SHA512" ]; then
	if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
		say "installing npm (Debian) to fetch tree-sitter-bash"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >&2
	fi
	command -v npm >/dev/null 2>&1 ||
		die "npm not found: it fetches tree-sitter-bash $TS_BASH_VERSION (apt-get install npm)"
	say "fetching tree-sitter-bash $TS_BASH_VERSION"
	mkdir -p "$WARD_CACHE"
	tmp=$(mktemp -d "$WARD_CACHE/ts-bash.XXXXXX")
	(cd "$tmp" && npm pack --silent "tree-sitter-bash@$TS_BASH_VERSION") >&2 ||
		{ rm -rf "$tmp"; die "npm pack tree-sitter-bash@$TS_BASH_VERSION failed"; }
	tgz="$tmp/tree-sitter-bash-$TS_BASH_VERSION.tgz"
	got=$(sha512sum "$tgz" 2>/dev/null | cut -d' ' -f1)
	if [ "$got" != "$TS_BASH_SHA512" ]; then
		rm -rf "$tmp"
		die "tree-sitter-bash-$TS_BASH_VERSION.tgz: sha512 mismatch (got ${got:-nothing})"
	fi
	mkdir "$tmp/x"
	tar -xzf "$tgz" -C "$tmp/x" ||
		{ rm -rf "$tmp"; die "cannot extract tree-sitter-bash"; }
	for f in parser.c scanner.c tree_sitter/parser.h; do
		[ -f "$tmp/x/package/src/$f" ] ||
			{ rm -rf "$tmp"; die "tree-sitter-bash: package/src/$f missing"; }
	done
	echo "$TS_BASH_SHA512" > "$tmp/x/.stamp"
	rm -rf "$TS_BASH_DIR"
	mv "$tmp/x" "$TS_BASH_DIR"
	rm -rf "$tmp"
fi

# --- Rust toolchain -------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
	PATH="$HOME/.cargo/bin:$PATH"; export PATH
fi
command -v cargo >/dev/null 2>&1 ||
	die "cargo not found: install Rust 1.95 with rustup (Debian's rustc is too old for wasmtime 48)"

mkdir -p "$WARD_CACHE"

# --- wasmtime C API (static library + headers) ----------------------------
stamp=$(cat "$here/wasmtime/Cargo.toml" "$here/wasmtime/Cargo.lock" "$here/wasmtime/src/lib.rs" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$WASMTIME_DIR/.stamp" 2>/dev/null || true)" != "$stamp" ]; then
	say "building wasmtime's C API (the first time takes tens of minutes)"
	target="$WARD_CACHE/cargo"
	json="$WARD_CACHE/wasmtime-build.json"
	(cd "$here/wasmtime" && CARGO_TARGET_DIR="$target" \
	    cargo build --release --locked --message-format=json-render-diagnostics) > "$json"
	out=$(jq -r 'select(.reason=="build-script-executed" and (.package_id|test("wasmtime-c-api-impl"))) | .out_dir' "$json" | tail -n1)
	[ -n "$out" ] && [ -f "$out/include/wasmtime.h" ] ||
		die "wasmtime's headers were not found in the build output"
	rm -rf "$WASMTIME_DIR.new"
	mkdir -p "$WASMTIME_DIR.new/lib"
	cp -R "$out/include" "$WASMTIME_DIR.new/include"
	cp "$target/release/libward_wasmtime.a" "$WASMTIME_DIR.new/lib/"
	echo "$stamp" > "$WASMTIME_DIR.new/.stamp"
	rm -rf "$WASMTIME_DIR"
	mv "$WASMTIME_DIR.new" "$WASMTIME_DIR"
fi

# --- wasm-tools and wit-bindgen ---------------------------------------------
tools="$WARD_CACHE/tools"
have() { "$tools/bin/$1" --version 2>/dev/null | grep -q " $2\\b"; }
if ! have wasm-tools "$WASM_TOOLS_VERSION"; then
	say "building wasm-tools $WASM_TOOLS_VERSION"
	CARGO_TARGET_DIR="$WARD_CACHE/cargo-tools" cargo install -q --locked \
	    wasm-tools --version "$WASM_TOOLS_VERSION" --no-default-features \
	    --features component,validate,print,parse --root "$tools" >&2
fi
if ! have wit-bindgen "$WIT_BINDGEN_VERSION"; then
	say "building wit-bindgen $WIT_BINDGEN_VERSION"
	CARGO_TARGET_DIR="$WARD_CACHE/cargo-tools" cargo install -q --locked \
	    wit-bindgen-cli --version "$WIT_BINDGEN_VERSION" --root "$tools" >&2
fi
