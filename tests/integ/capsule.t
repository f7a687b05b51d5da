#!/bin/bash
# `ward capsule run` (DESIGN §4, issue 8): an untrusted WASI program gets
# only the directories, variables and arguments it is given, and is stopped
# by its fuel, memory, time and stack limits with a clear error. The guest
# (tests/capsule/guest.c) is compiled here with clang-19 and wasi-libc.
. "$(dirname "$0")/lib.sh"
: "${WASM_TOOLS:?run through make test}"
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
like "$ERR" 'not a valid WebAssembly module' "with wasmtime's reason"
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

done_testing
