#!/bin/bash
# `ward capsule run` (DESIGN §4, issue 8): an untrusted WASI program gets
# only the directories, variables and arguments it is given, and is stopped
# by its fuel, memory, time and stack limits with a clear error. The guest
# (tests/capsule/guest.c) is compiled here with clang-19 and wasi-libc, and
# run both as a WASI preview 1 module and, wrapped by wasmtime's adapter
# ($WASI_ADAPTER, which `make test-run` fetches), as a preview 2 component.
. "$(dirname "$0")/lib.sh"
: "${WASM_TOOLS:?run through make test}"
: "${WASI_ADAPTER:=$WARD_BUILD/wasi_snapshot_preview1.command.wasm}"
SRC=$(cd "$(dirname "$0")/../capsule" && pwd)
cd "$T" || exit 2

G="$T/guest.wasm"
if ! clang-19 --target=wasm32-wasi -O2 -o "$G" \
    "$SRC/guest.c" 2>"$T/cc.err"; then
	echo "Bail out! cannot build the guest: $(head -3 "$T/cc.err")"
	exit 1
fi

# cap ARGS...: runs ward capsule run; sets OUT, ERR and RC.
cap() {
	OUT=$("$WARD" capsule run "$@" 2>"$T/err" </dev/null); RC=$?
	ERR=$(cat "$T/err")
}

mkdir -p in out rw
printf 'granted\n' > in/data.txt
printf 'OUTSIDESECRET\n' > out/secret.txt
ln -s ../out/secret.txt in/link
export WARD_TEST_HOST_SECRET=HOSTSECRET

# --- running, arguments, exit codes ----------------------------------------
cap "$G" -- args one "two words" --three
is "$RC" 3 "the program's exit code is ward's"
is "$OUT" "[guest.wasm][args][one][two words][--three]" \
    "arguments after -- reach the program as given"
cap --help
is "$RC" 0 "--help exits 0"
like "$OUT" 'usage: ward capsule run MODULE' "and shows the usage"
cap "$G" --memory lots -- args
is "$RC" 2 "a bad --memory is a usage error"
cap "$G" --dir "" -- args
is "$RC" 2 "an empty --dir is a usage error"
cap
is "$RC" 2 "no module is a usage error"

# --- environment -----------------------------------------------------------
cap "$G" -- env
is "$RC" 0 "env runs"
is "$OUT" "" "the host environment is not visible"
cap --env A=1 --env B=x=y "$G" -- env
is "$OUT" "A=1
B=x=y" "only the --env variables are"

# --- files -----------------------------------------------------------------
cap --dir in "$G" -- cat in/data.txt
is "$OUT" granted "a granted file can be read"
cap --dir "$T/in:/data" "$G" -- cat /data/data.txt
is "$OUT" granted "under its guest name too"
cap --dir in "$G" -- cat out/secret.txt
unlike "$OUT" OUTSIDESECRET "a file outside every preopen cannot be read"
is "$RC" 4 "the open fails"
cap --dir in "$G" -- cat in/../out/secret.txt
unlike "$OUT" OUTSIDESECRET "nor through .."
cap --dir "$T/in:/data" "$G" -- cat /data/../out/secret.txt
unlike "$OUT" OUTSIDESECRET "nor through .. from a guest name"
cap --dir in "$G" -- cat in/link
unlike "$OUT" OUTSIDESECRET "nor through a symlink out of the preopen"
cap --dir in "$G" -- cat /etc/passwd
is "$RC" 4 "nor an absolute host path"
cap "$G" -- cat data.txt
is "$RC" 4 "with no --dir nothing can be opened"
cap --dir in "$G" -- write in/new.txt
is "$RC" 4 "a read-only directory cannot be written (default)"
[ ! -e in/new.txt ]; ok $? "and no file appeared"
cap --dir in:ro "$G" -- write in/data.txt
is "$(cat in/data.txt)" granted "an existing file in :ro is not overwritten"
cap --dir in "$G" -- mkdir in/sub
[ ! -e in/sub ]; ok $? "no directory is made in a read-only one"
cap --dir in "$G" -- unlink in/data.txt
[ -e in/data.txt ]; ok $? "nothing is removed from a read-only one"
cap --dir "$T/rw:/w:rw" "$G" -- write /w/new.txt
is "$RC" 0 "a :rw directory can be written"
is "$(cat rw/new.txt)" written "and the file is there"
cap --dir "$T/rw:/w:rw" "$G" -- write /w/../out/escape.txt
[ ! -e out/escape.txt ]; ok $? "writing through .. out of a :rw directory fails"

# --- stdin, sockets ----------------------------------------------------------
OUT=$(printf 'abcde' | "$WARD" capsule run "$G" -- stdin 2>/dev/null)
is "$OUT" "5 bytes" "stdin is passed"
cap "$G" -- stdin
is "$OUT" "0 bytes" "an empty stdin reads as EOF"
cap --dir in "$G" -- sockets
is "$OUT" "no sockets" "no descriptor is a socket"

# --- quotas ----------------------------------------------------------------
cap --timeout 1 "$G" -- loop
is "$RC" 124 "an infinite loop is stopped by --timeout with 124"
like "$ERR" 'ward capsule: timeout after 1s' "with a clear error"
cap --fuel 1000000 "$G" -- loop
is "$RC" 1 "an infinite loop is stopped by --fuel with 1"
like "$ERR" 'out of fuel \(1000000 units\)' "with a clear error"
cap --memory 32M "$G" -- hog
is "$RC" 1 "a memory hog is stopped by --memory with 1"
like "$ERR" 'memory limit 32 MiB reached' "with a clear error"
like "$ERR" 'malloc failed' "its allocation failed inside the guest"
cap "$G" -- recurse
is "$RC" 1 "unbounded recursion ends with 1"
like "$ERR" 'ward capsule: stack overflow' "as a stack overflow"
cap "$G" -- flood
is "$RC" 0 "a flood of output does not stop the program"
is "${#OUT}" 1048576 "stdout is kept to 1 MiB"
like "$ERR" 'output truncated: stdout kept to 1048576 bytes' \
    "and the truncation is reported"
like "$ERR" 'done' "stderr is kept separately"

# --- the deadline outside wasm code ----------------------------------------
# Each run is a child process that is killed at the deadline, so a guest
# blocked in a host call or a module still compiling is stopped too. The
# bounds are coarse on purpose: shared machines are noisy.
cat > sleep.c <<'EOF2'
#include <unistd.h>
int main(void) { sleep(30); return 0; }
EOF2
clang-19 --target=wasm32-wasi -O2 -o sleep.wasm sleep.c
s0=$(date +%s)
cap --timeout 1 sleep.wasm
s1=$(date +%s)
is "$RC" 124 "a guest sleeping 30 s is stopped by --timeout 1 with 124"
[ $((s1 - s0)) -lt 20 ]; ok $? "well before its sleep ends ($((s1 - s0)) s)"
mkfifo in/fifo
s0=$(date +%s)
cap --timeout 1 --dir in "$G" -- cat in/fifo
s1=$(date +%s)
is "$RC" 124 "a guest blocked on a FIFO in a granted dir is stopped by --timeout"
[ $((s1 - s0)) -lt 20 ]; ok $? "well before anyone writes ($((s1 - s0)) s)"
rm -f in/fifo
# A module that takes seconds to compile: 3000 functions of 600 adds.
python3 - > huge.wat <<'EOF2'
body = "local.get 0 i32.const 7 i32.add local.set 0\n" * 600
print("(module")
for i in range(3000):
    print("(func $f%d (param i32) (result i32) %s local.get 0)" % (i, body))
print('(func (export "_start")))')
EOF2
"$WASM_TOOLS" parse huge.wat -o huge.wasm
"$WARD" capsule run --timeout 0.5 --memory 1M huge.wasm </dev/null \
    >/dev/null 2>"$T/err" & pid=$!
hwm=0
while kill -0 "$pid" 2>/dev/null; do
	h=$(awk '/^VmHWM/ { print $2 }' /proc/$pid/status 2>/dev/null)
	[ -n "$h" ] && hwm=$h
	sleep 0.05
done
wait "$pid"; RC=$?
is "$RC" 124 "a module still compiling at --timeout 0.5 is stopped with 124 ($(wc -c < huge.wasm) bytes)"
like "$(cat "$T/err")" 'timeout after 500ms' "as a timeout"
[ "$hwm" -gt 0 ] && [ "$hwm" -lt 65536 ]
ok $? "the caller's memory stays small while the child compiles (${hwm} KiB)"

# --- bad modules ----------------------------------------------------------
head -c 4096 /dev/urandom > random.wasm
cap random.wasm
is "$RC" 1 "random bytes as a module: exit 1"
like "$ERR" 'not a WebAssembly module' "with a clear error"
printf '\000asm\001\000\000\000\001\377' > trunc.wasm
cap trunc.wasm
is "$RC" 1 "a truncated module: exit 1"
like "$ERR" 'cannot be loaded as a WebAssembly module' "with wasmtime's reason"
printf '\000asm\015\000\001\000' > comp.wasm
cap comp.wasm
is "$RC" 1 "an empty component: exit 1"
like "$ERR" 'comp.wasm is not a WASI command component \(it exports no wasi:cli/run' \
    "it is read as a component and refused for exporting no wasi:cli/run"
printf '\000asm\002\000\000\000' > v2.wasm
cap v2.wasm
like "$ERR" 'a WebAssembly binary of an unknown version' \
    "an unknown binary version is named as one"
cat > imp.c <<'EOF'
__attribute__((import_module("env"), import_name("evil"))) int evil(void);
int main(void) { return evil(); }
EOF
clang-19 --target=wasm32-wasi -O2 -o imp.wasm imp.c -Wl,--allow-undefined
cap imp.wasm
is "$RC" 1 "a module with a foreign import: exit 1"
like "$ERR" "imports 'env.evil', which the capsule does not provide" \
    "naming the import"
printf 'int f(void) { return 1; }\n' > lib.c
clang-19 --target=wasm32-wasi -O2 -mexec-model=reactor -o lib.wasm lib.c
cap lib.wasm
like "$ERR" 'not a WASI command module' "a reactor module is refused"
mkfifo fifo.wasm
cap fifo.wasm
like "$ERR" 'not a regular file' "a FIFO is refused without blocking"
cap nonexistent.wasm
is "$RC" 1 "a missing module: exit 1"

# --- JSON ------------------------------------------------------------------
cap --json "$G" -- args x
shape=$(printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sorted(d), d["success"], d["exit_code"], repr(d["stdout"]), d["error"],
      d["fuel_consumed"] > 0, d["peak_memory_bytes"] > 0,
      isinstance(d["duration_ms"], int))')
is "$shape" "['duration_ms', 'error', 'exit_code', 'fuel_consumed', 'peak_memory_bytes', 'stderr', 'stderr_truncated', 'stdout', 'stdout_truncated', 'success'] False 3 '[guest.wasm][args][x]\\n' None True True True" \
    "--json prints one object with every field"
cap --json "$G" -- env
like "$OUT" '"success":true' "success is true for exit 0"
cap --json --timeout 1 "$G" -- loop
is "$RC" 124 "--json keeps the exit code"
like "$OUT" '"exit_code":null' "a stopped program has no exit code"
like "$OUT" '"error":\{"type":"timeout","message":"timeout after 1s"\}' \
    "and an error object"
cap --json random.wasm
like "$OUT" '"error":\{"type":"module","message":"random.wasm is not a' \
    "a bad module is a JSON error too"

# --- the compiled-module cache ---------------------------------------------
cache="$XDG_STATE_HOME/ward/cache"
n=$(ls "$cache"/capsule-*.cwasm 2>/dev/null | wc -l)
[ "$n" -ge 2 ]; ok $? "compiled modules are cached ($n artifacts)"
rm -f "$cache"/capsule-*
cap "$G" -- args
art=$(ls "$cache"/capsule-*.cwasm)
is "$(stat -c %a "$art")" 600 "one artifact, mode 0600"
ino=$(stat -c %i "$art")
cap "$G" -- args
is "$RC" 3 "the cached module runs"
is "$(stat -c %i "$art")" "$ino" \
    "a second run loads the artifact instead of recompiling"
printf 'garbage' > "$art"
cap "$G" -- args
is "$RC" 3 "a corrupt artifact is recompiled, not run"
[ "$(stat -c %s "$art")" -gt 7 ]; ok $? "and replaced"
chmod 0620 "$art"
ino=$(stat -c %i "$art")
cap "$G" -- args
is "$RC" 3 "a group-writable artifact is not trusted"
[ "$(stat -c %i "$art")" != "$ino" ] && [ "$(stat -c %a "$art")" = 600 ]
ok $? "and is replaced by a fresh one"


# --- preview 2 components ----------------------------------------------------
# The same guest as a component: the same grants and limits must hold
# through WASI 0.2. wasi:cli/exit@0.2 carries only ok or err, so the
# program's exit status 3 arrives as 1.
if [ ! -f "$WASI_ADAPTER" ]; then
	echo "Bail out! no WASI adapter at $WASI_ADAPTER (make $WARD_BUILD/wasi_snapshot_preview1.command.wasm)"
	exit 1
fi
G2="$T/guest2.wasm"
"$WASM_TOOLS" component new "$G" \
    --adapt wasi_snapshot_preview1="$WASI_ADAPTER" -o "$G2"
ok $? "the guest is wrapped into a preview 2 component"

cap "$G2" -- args one "two words" --three
is "$OUT" "[guest2.wasm][args][one][two words][--three]" \
    "p2: arguments after -- reach the component as given"
is "$RC" 1 "p2: its exit status 3 is err through wasi:cli/exit, so 1"
cap "$G2" -- env
is "$RC" 0 "p2: a component that returns ok exits 0"
is "$OUT" "" "p2: the host environment is not visible"
cap --env A=1 --env B=x=y "$G2" -- env
is "$OUT" "A=1
B=x=y" "p2: only the --env variables are"

cap --dir in "$G2" -- cat in/data.txt
is "$OUT" granted "p2: a granted file can be read"
cap --dir "$T/in:/data" "$G2" -- cat /data/data.txt
is "$OUT" granted "p2: under its guest name too"
cap --dir in "$G2" -- cat out/secret.txt
unlike "$OUT" OUTSIDESECRET "p2: a file outside every preopen cannot be read"
cap --dir in "$G2" -- cat in/../out/secret.txt
unlike "$OUT" OUTSIDESECRET "p2: nor through .."
cap --dir in "$G2" -- cat in/link
unlike "$OUT" OUTSIDESECRET "p2: nor through a symlink out of the preopen"
cap --dir in "$G2" -- cat /etc/passwd
like "$OUT" '^open /etc/passwd: ' "p2: nor an absolute host path"
cap "$G2" -- cat data.txt
like "$OUT" '^open data.txt: ' "p2: with no --dir nothing can be opened"
cap --dir in "$G2" -- write in/new2.txt
[ ! -e in/new2.txt ]; ok $? "p2: a read-only directory cannot be written (default)"
cap --dir in:ro "$G2" -- write in/data.txt
is "$(cat in/data.txt)" granted "p2: an existing file in :ro is not overwritten"
cap --dir in "$G2" -- mkdir in/sub2
[ ! -e in/sub2 ]; ok $? "p2: no directory is made in a read-only one"
cap --dir in "$G2" -- unlink in/data.txt
[ -e in/data.txt ]; ok $? "p2: nothing is removed from a read-only one"
cap --dir "$T/rw:/w:rw" "$G2" -- write /w/new2.txt
is "$RC" 0 "p2: a :rw directory can be written"
is "$(cat rw/new2.txt)" written "p2: and the file is there"
cap --dir "$T/rw:/w:rw" "$G2" -- write /w/../out/escape2.txt
[ ! -e out/escape2.txt ]; ok $? "p2: writing through .. out of a :rw directory fails"

OUT=$(printf 'abcde' | "$WARD" capsule run "$G2" -- stdin 2>/dev/null)
is "$OUT" "5 bytes" "p2: stdin is passed"
cap "$G2" -- stdin
is "$OUT" "0 bytes" "p2: an empty stdin reads as EOF"
# The adapter has no preview 1 socket calls: sock_accept traps in it.
cap --dir in "$G2" -- sockets
unlike "$OUT" 'socket on fd' "p2: no descriptor is a socket"
like "$ERR" 'trap: wasm trap: wasm `unreachable`' \
    "p2: the adapter's preview 1 socket calls trap"

# wasi:sockets directly: every socket and lookup is refused (access-denied
# is error-code 1). Had it got a TCP socket, the guest would connect to the
# listener here; nothing may reach it.
S2="$T/sockets2.wasm"
clang-19 --target=wasm32-wasi -O2 -o sockets.core.wasm "$SRC/sockets.c" \
    -Wl,--allow-undefined &&
"$WASM_TOOLS" component embed "$SRC/sockets.wit" --world sockets \
    sockets.core.wasm -o sockets.embed.wasm &&
"$WASM_TOOLS" component new sockets.embed.wasm \
    --adapt wasi_snapshot_preview1="$WASI_ADAPTER" -o "$S2"
ok $? "the wasi:sockets guest is built"
python3 - > listen.txt <<'EOF2' & lpid=$!
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
s.settimeout(3)
try:
    s.accept(); print("CONNECTED", flush=True)
except OSError:
    pass
EOF2
for _ in $(seq 100); do [ -s listen.txt ] && break; sleep 0.05; done
cap "$S2" -- "$(head -1 listen.txt)"
is "$OUT" "tcp: error 1
udp: error 1
lookup: error 1" "p2: a TCP socket, a UDP socket and a name lookup are refused (access-denied)"
is "$RC" 0 "p2: and the component ran to its end"
wait "$lpid"
unlike "$(cat listen.txt)" CONNECTED "p2: nothing connected to the local listener"

cap --timeout 1 "$G2" -- loop
is "$RC" 124 "p2: an infinite loop is stopped by --timeout with 124"
like "$ERR" 'ward capsule: timeout after 1s' "p2: with a clear error"
cap --fuel 1000000 "$G2" -- loop
is "$RC" 1 "p2: an infinite loop is stopped by --fuel with 1"
like "$ERR" 'out of fuel \(1000000 units\)' "p2: with a clear error"
cap --memory 32M "$G2" -- hog
is "$RC" 1 "p2: a memory hog is stopped by --memory with 1"
like "$ERR" 'memory limit 32 MiB reached' "p2: with a clear error"
cap "$G2" -- recurse
is "$RC" 1 "p2: unbounded recursion ends with 1"
like "$ERR" 'ward capsule: stack overflow' "p2: as a stack overflow"
cap "$G2" -- flood
is "$RC" 0 "p2: a flood of output does not stop the component"
is "${#OUT}" 1048576 "p2: stdout is kept to 1 MiB"
like "$ERR" 'output truncated: stdout kept to 1048576 bytes' \
    "p2: and the truncation is reported"
"$WASM_TOOLS" component new sleep.wasm \
    --adapt wasi_snapshot_preview1="$WASI_ADAPTER" -o sleep2.wasm
s0=$(date +%s)
cap --timeout 1 sleep2.wasm
s1=$(date +%s)
is "$RC" 124 "p2: a component sleeping 30 s is stopped by --timeout 1 with 124"
[ $((s1 - s0)) -lt 20 ]; ok $? "p2: well before its sleep ends ($((s1 - s0)) s)"

cap --json "$G2" -- args x
shape=$(printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sorted(d), d["success"], d["exit_code"], repr(d["stdout"]), d["error"],
      d["fuel_consumed"] > 0, d["peak_memory_bytes"] > 0,
      isinstance(d["duration_ms"], int))')
is "$shape" "['duration_ms', 'error', 'exit_code', 'fuel_consumed', 'peak_memory_bytes', 'stderr', 'stderr_truncated', 'stdout', 'stdout_truncated', 'success'] False 1 '[guest2.wasm][args][x]\\n' None True True True" \
    "p2: --json prints one object with every field"
cap --json --memory 32M "$G2" -- hog
like "$OUT" '"error":\{"type":"memory","message":"memory limit 32 MiB reached"\}' \
    "p2: a memory stop is a JSON error"
peak=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["peak_memory_bytes"])')
[ "$peak" -gt $((28 << 20)) ] && [ "$peak" -le $((32 << 20)) ]
ok $? "p2: its peak memory is near the limit and within it ($peak bytes)"

# Bad components: wrong world, foreign imports, no wasi:cli/run.
cat > http.wat <<'EOF2'
(component (import "wasi:http/types@0.2.0" (instance)))
EOF2
"$WASM_TOOLS" parse http.wat -o http.wasm
cap http.wasm
is "$RC" 1 "p2: a component importing wasi:http: exit 1"
like "$ERR" "imports 'wasi:http/types@0.2.0', which the capsule does not provide" \
    "p2: naming the import"
cat > evil.wat <<'EOF2'
(component (import "evil:host/api" (instance)))
EOF2
"$WASM_TOOLS" parse evil.wat -o evil.wasm
cap evil.wasm
like "$ERR" "imports 'evil:host/api', which the capsule does not provide" \
    "p2: a foreign import is named and refused"
cat > nope.wat <<'EOF2'
(component
  (import "wasi:cli/nope@0.2.0" (instance (export "f" (func))))
  (core module $m (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $r (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $r)))
EOF2
"$WASM_TOOLS" parse nope.wat -o nope.wasm
cap nope.wasm
is "$RC" 1 "p2: an unknown WASI interface: exit 1"
like "$ERR" 'cannot instantiate .*wasi:cli/nope@0.2.0' \
    "p2: the linker names it"
"$WASM_TOOLS" component new lib.wasm -o lib2.wasm
cap lib2.wasm
like "$ERR" 'lib2.wasm is not a WASI command component \(it exports no wasi:cli/run' \
    "p2: a component without wasi:cli/run is refused"
head -c 4096 /dev/urandom > junk.wasm
printf '\000asm\015\000\001\000' | cat - junk.wasm > junk2.wasm
cap junk2.wasm
is "$RC" 1 "p2: a component header and random bytes: exit 1"
like "$ERR" 'cannot be loaded as a WebAssembly component' "p2: with wasmtime's reason"

# The compiled component is cached like a module.
rm -f "$cache"/capsule-*
cap "$G2" -- args
art=$(ls "$cache"/capsule-*.cwasm)
is "$(stat -c %a "$art")" 600 "p2: one artifact for the component, mode 0600"
ino=$(stat -c %i "$art")
cap "$G2" -- args
is "$RC" 1 "p2: the cached component runs"
is "$(stat -c %i "$art")" "$ino" \
    "p2: a second run loads the artifact instead of recompiling"
printf 'garbage' > "$art"
cap "$G2" -- args
is "$OUT" "[guest2.wasm][args]" "p2: a corrupt artifact is recompiled, not run"

done_testing
