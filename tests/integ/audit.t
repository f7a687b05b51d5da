#!/bin/sh
# `ward audit` (DESIGN §4, issue 6) on real logs written by the audit module
# (through test_audit's mklog helper): an intact log verifies, and every
# kind of tampering the issue lists fails with the first bad record; a log
# that cannot be written refuses the append; an independent checker in Go
# (golang.org/x/mod/sumdb/note and tlog) accepts ward's signed checkpoints
# and inclusion proofs.
_home=$HOME
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MKLOG="$WARD_BUILD/tests/test_audit"
S="$XDG_STATE_HOME/ward/sessions/s1"
L="$S/audit.log"
mkdir -p "$S"

fresh() {	# fresh [N]: a new sealed log of N records in session s1
	rm -f "$L" "$L.checkpoint"
	"$MKLOG" mklog "$L" "${1:-20}" >/dev/null || echo "# mklog failed"
}
verify() {	# verify ARGS...: sets OUT (stdout+stderr) and RC
	OUT=$("$WARD" audit verify "$@" 2>&1); RC=$?
}
line() {	# line N: the Nth record (1-based)
	sed -n "${1}p" "$L"
}

out=$("$WARD" audit --help); is "$?" 0 "--help exits 0"
like "$out" 'usage: ward audit verify' "and shows the usage"
"$WARD" audit verify --bogus >/dev/null 2>&1; is "$?" 2 "unknown option: 2"
"$WARD" audit verify --session ../../etc >/dev/null 2>&1
is "$?" 2 "a session ID is not a path"

fresh 20
verify --session s1
is "$RC" 0 "an intact log verifies"
like "$OUT" 'intact: 25 records, 5 checkpoints, sealed' "and says so"
verify --require-sealed "$L"; is "$RC" 0 "by FILE, sealed"
out=$("$WARD" audit show --session s1)
like "$out" '^ +3  [0-9T:.-]+Z  command +\{"command":"git status","i":3' \
    "show: one line per record"
out=$("$WARD" audit show --session s1 --json)
is "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["records"]), d["intact"], d["sealed"])')" \
    "25 True True" "show --json: one document"
out=$("$WARD" audit export --session s1)
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 25 "export: one event per record"
is "$(printf '%s\n' "$out" | python3 -c 'import json,sys; print(all(len(json.loads(l)["hash"]) == 64 for l in sys.stdin))')" \
    True "each a JSON object with its hash"
like "$("$WARD" audit key)" '^ward-audit\+[0-9a-f]{8}\+' "key: the pinned verifier key"

# Tampering, each on a fresh log.
fresh; sed -i '4s/"i":3/"i":4/' "$L"; verify --session s1
is "$RC" 1 "one byte edited: exit 1"
like "$OUT" 'TAMPERED: record 4: prev does not match' "first bad record and why"

fresh; sed -i '3d' "$L"; verify --session s1
is "$RC" 1 "a record deleted: exit 1"
like "$OUT" 'record 2: seq is 3' "found where it is missing"

fresh; { sed -n '1,2p' "$L"; line 4; line 3; sed -n '5,$p' "$L"; } > "$T/x" && mv "$T/x" "$L"
verify --session s1; is "$RC" 1 "two records reordered: exit 1"

fresh; { sed -n '1,3p' "$L"; line 3; sed -n '4,$p' "$L"; } > "$T/x" && mv "$T/x" "$L"
verify --session s1; is "$RC" 1 "a record duplicated: exit 1"
like "$OUT" 'record 3: seq is 2' "found at the copy"

fresh; sed -i '4s/"seq":3,/"seq": 3,/' "$L"; verify --session s1
is "$RC" 1 "a re-encoded record: exit 1"
like "$OUT" 'record 3: not in canonical form' "as not canonical"

fresh; head -n 9 "$L" > "$T/x" && mv "$T/x" "$L"; verify --session s1
is "$RC" 1 "truncated under a checkpoint: exit 1"
like "$OUT" 'ends before the checkpoint file' "says so"

fresh; head -c -9 "$L" > "$T/x" && mv "$T/x" "$L"; rm "$L.checkpoint"
verify --session s1; is "$RC" 1 "a torn write: exit 1"
like "$OUT" 'torn: record 24: torn write' "reported as torn"
"$MKLOG" mklog "$L" 1 >/dev/null
verify --session s1; is "$RC" 0 "reopening recovers it"
like "$(grep -c '"kind":"recovery"' "$L")" '^1$' "with a recovery record"

fresh; sed -i '$d' "$L"; rm "$L.checkpoint"; verify --session s1
is "$RC" 0 "the seal removed: intact ..."
like "$OUT" 'unsealed tail' "... but unsealed"
verify --session s1 --require-sealed; is "$RC" 2 "--require-sealed: exit 2"
"$MKLOG" mklog "$L" 3 open >/dev/null
verify --session s1 --require-sealed; is "$RC" 2 "a crashed session: exit 2"
size() { stat -c %s "$1"; }
n=$(tr -d '\0' < "$L" | wc -c)
[ "$(size "$L")" -gt "$n" ]; ok $? "a crashed writer leaves its reserve of NUL bytes"
verify --session s1; is "$RC" 0 "which is not damage"
"$MKLOG" mklog "$L" 1 >/dev/null
verify --session s1 --require-sealed; is "$RC" 0 "reopened and closed: sealed"
is "$(size "$L")" "$(tr -d '\0' < "$L" | wc -c)" "and the reserve is gone"

# Rollback: a newer checkpoint kept elsewhere, then the older copy restored.
fresh; cp "$L" "$T/old.log"; cp "$L.checkpoint" "$T/old.ckpt"
"$MKLOG" mklog "$L" 4 >/dev/null; cp "$L.checkpoint" "$T/trusted"
verify --session s1 --trusted "$T/trusted"; is "$RC" 0 "the log extends the trusted checkpoint"
cp "$T/old.log" "$L"; cp "$T/old.ckpt" "$L.checkpoint"
verify --session s1; is "$RC" 0 "the older copy looks intact alone"
verify --session s1 --trusted "$T/trusted"; is "$RC" 1 "rolled back under --trusted: exit 1"
like "$OUT" 'ends before the trusted checkpoint' "says so"

# Two checkpoints of one size with different roots (a fork).
mkdir -p "$T/fork"; L2="$T/fork/audit.log"
"$MKLOG" mklog "$L2" 19 >/dev/null; "$MKLOG" mklog "$L2" 0 >/dev/null
fresh 20
verify --session s1 --trusted "$L2.checkpoint"
is "$RC" 1 "a same-size checkpoint with another root: exit 1"
like "$OUT" 'differs from the trusted checkpoint' "as a rewrite"
fresh 20
prev=$(line 25 | grep -o '"prev":"[0-9a-f]*"')
sed -n '$p' "$L2" | sed "s/\"prev\":\"[0-9a-f]*\"/$prev/" > "$T/seal"
{ sed '$d' "$L"; cat "$T/seal"; } > "$T/x" && mv "$T/x" "$L"; rm "$L.checkpoint"
verify --session s1; is "$RC" 1 "another history's seal of the same size: exit 1"
like "$OUT" 'record 24: Merkle root differs' "at the seal"

# Edit and re-chain without the key.
fresh
python3 - "$L" <<'PY'
import hashlib, struct, sys
p = sys.argv[1]
lines = open(p, 'rb').read().split(b'\n')[:-1]
lines[2] = lines[2].replace(b'"i":2', b'"i":7')
prev = bytes(32)
out = []
for i, l in enumerate(lines):
    a = l.index(b'"prev":"') + 8
    l = l[:a] + prev.hex().encode() + l[a + 64:]
    prev = hashlib.sha256(b'ward-audit-record-v1\0' + struct.pack('>Q', i) +
        prev + struct.pack('>Q', len(l)) + l).digest()
    out.append(l)
open(p, 'wb').write(b'\n'.join(out) + b'\n')
PY
rm "$L.checkpoint"; verify --session s1
is "$RC" 1 "edited and re-chained without the key: exit 1"
like "$OUT" 'record 5: Merkle root differs' "at the next checkpoint"

# Keys: another key's log; a bad signature under the pinned key.
fresh
XDG_CONFIG_HOME="$T/other" "$MKLOG" mklog "$L2.x" 20 >/dev/null
verify "$L2.x"; is "$RC" 1 "a log signed by an unknown key: exit 1"
like "$OUT" 'signed by an unknown key' "says so"
python3 - "$L" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.rindex(b'ward-audit ') + 11 + 30
b[i] = ord('A') if b[i] != ord('A') else ord('B')
open(p, 'wb').write(b)
PY
rm "$L.checkpoint"
verify --session s1; is "$RC" 1 "a bad signature by the pinned key: exit 1"
like "$OUT" 'does not verify under the pinned key' "says so"

# A log that cannot be written refuses the append (a file size limit).
fresh
out=$(ulimit -f 12; "$MKLOG" mklog "$L" 50 big 2>&1); rc=$?
is "$rc" 1 "an unwritable log refuses the append"
like "$out" 'append refused' "says so"

# A full disk (a 256 KiB tmpfs in a mount namespace of our own): the
# writer's reserve gives back what it could not keep, so the log holds
# every record there was room for (without that, 6); then the append is
# refused.
mkdir -p "$T/full"
out=$(unshare -r -m sh -c 'mount -t tmpfs -o size=256k tmpfs "$1" &&
	"$2" mklog "$1/audit.log" 80 big 2>&1; echo "rc=$?";
	"$3" audit verify "$1/audit.log" 2>&1' sh "$T/full" "$MKLOG" "$WARD" 2>&1)
like "$out" 'append refused' "a full disk refuses the append (needs unshare -r -m and tmpfs)"
like "$out" 'rc=1' "with exit 1"
# The refused batch got as far as the disk let it: a torn tail, as after
# a crash, behind every record before it.
n=$(printf '%s\n' "$out" | sed -n 's/.*torn: record \([0-9]*\): torn write.*/\1/p')
[ "${n:-0}" -ge 40 ]; ok $? "the log holds every record that fit, then a torn tail ($n records)"

# The independent checker.
if command -v go >/dev/null 2>&1; then
	fresh 37
	out=$(cd "$SRC/tests/audit-go" && GOFLAGS="-mod=mod -buildvcs=false" \
	    GOMODCACHE="$_home/.cache/ward/go/mod" GOCACHE="$_home/.cache/ward/go/build" \
	    go build -o "$T/auditcheck" . 2>&1); rc=$?
	is "$rc" 0 "the Go checker builds"
	[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
	vkey=$("$WARD" audit key)
	for i in 0 17 39; do
		"$WARD" audit proof --session s1 "$i" > "$T/proof.json"
		out=$("$T/auditcheck" "$vkey" "$L" "$T/proof.json" 2>&1)
		is "$?" 0 "x/mod note+tlog accept the checkpoints and the proof of record $i"
	done
	like "$out" 'ok: 47 records, 10 checkpoints, record 39 included in tree of 46' \
	    "checked every record"
	sed -i 's/"i":3/"i":4/' "$L"
	"$T/auditcheck" "$vkey" "$L" "$T/proof.json" >/dev/null 2>&1
	is "$?" 1 "and refuse a tampered log"
else
	ok 0 "the Go checker # SKIP no go toolchain"
fi

done_testing
