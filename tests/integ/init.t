#!/bin/bash
# `ward init`: the project type is detected, the starter ward.toml is
# narrow (build/test and git read-only commands allowed, the rest
# prompts, escalation and push denied) and it ends approved.
. "$(dirname "$0")/lib.sh"

check() {	# check DIR TYPE ALLOWED-COMMAND
	out=$(cd "$1" && "$WARD" init --yes 2>&1)
	is "$?" 0 "$2: ward init exits 0"
	like "$out" "for a $2 project" "$2: the type is detected"
	out=$(cd "$1" && "$WARD" approve </dev/null 2>&1)
	like "$out" 'already approved' "$2: the starter manifest is approved"
	pc() { (cd "$1" && "$WARD" policy check --command "$2" | head -1); }
	[ -n "$3" ] && is "$(pc "$1" "$3")" "decision: allow" "$2: '$3' is allowed"
	is "$(pc "$1" "git status")" "decision: allow" "$2: git status is allowed"
	is "$(pc "$1" "git push origin main")" "decision: deny" "$2: git push is denied"
	is "$(pc "$1" "sudo make")" "decision: deny" "$2: sudo is denied"
	is "$(pc "$1" "curl https://example.com")" "decision: prompt" "$2: anything else prompts"
}

mk() { mkdir -p "$T/$1"; touch "$T/$1/$2"; }
mk rust Cargo.toml;		check "$T/rust" rust "cargo test --all"
mk node package.json;		check "$T/node" node "npm test"
mk go go.mod;			check "$T/go" go "go test ./..."
mk python pyproject.toml;	check "$T/python" python "pytest -q"
mk c Makefile;			check "$T/c" c "make test"
mkdir -p "$T/generic";		check "$T/generic" generic ""

# --type overrides the detection.
mkdir -p "$T/forced"; touch "$T/forced/Cargo.toml"
out=$(cd "$T/forced" && "$WARD" init --type go --yes 2>&1)
like "$out" 'for a go project' "--type overrides the detected type"

# An existing ward.toml is never replaced.
before=$(cat "$T/rust/ward.toml")
(cd "$T/rust" && "$WARD" init --yes >/dev/null 2>&1)
is "$?" 1 "ward init refuses when ward.toml exists"
is "$(cat "$T/rust/ward.toml")" "$before" "and leaves it as it was"

# Without --yes the user is asked on the terminal (none here: it stays
# unapproved, and sessions refuse it).
mkdir -p "$T/ask"
out=$(cd "$T/ask" && echo y | "$WARD" init 2>&1)
like "$out" 'not approved: there is no terminal' "without --yes and no terminal ward init approves nothing"
out=$(cd "$T/ask" && "$WARD" run --provider script --model x "hi" 2>&1)
like "$out" 'approve' "a manifest the user did not approve is not used"

out=$("$WARD" init --type cobol 2>&1)
is "$?" 2 "an unknown type is a usage error"
done_testing
