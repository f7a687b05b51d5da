// auditcheck: an independent check of ward's audit log (doc/AUDIT-FORMAT.md)
// with the Go checksum database's own note and tlog packages, for
// tests/integ/audit.t. It recomputes every record hash and the Merkle tree
// from the log with tlog, opens every checkpoint with note, and checks the
// inclusion proof `ward audit proof` printed.
//
//	auditcheck VKEY LOG PROOF.json
//
// Exit 0 when everything checks, 1 (with the reason) otherwise.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type record struct {
	Seq  int64           `json:"seq"`
	Prev string          `json:"prev"`
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

type proofDoc struct {
	Index      int64    `json:"index"`
	Size       int64    `json:"size"`
	RecordHash string   `json:"record_hash"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
	Vkey       string   `json:"vkey"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "auditcheck: "+format+"\n", args...)
	os.Exit(1)
}

// recordHash is ward's record hash, written from the format document.
func recordHash(seq int64, prev [32]byte, line []byte) [32]byte {
	var b bytes.Buffer
	b.WriteString("ward-audit-record-v1\x00")
	binary.Write(&b, binary.BigEndian, uint64(seq))
	b.Write(prev[:])
	binary.Write(&b, binary.BigEndian, uint64(len(line)))
	b.Write(line)
	return sha256.Sum256(b.Bytes())
}

// openCheckpoint verifies a signed note and parses its body.
func openCheckpoint(text string, v note.Verifiers) (string, int64, tlog.Hash) {
	n, err := note.Open([]byte(text), v)
	if err != nil {
		fail("checkpoint does not open: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint body is short")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root: %v", err)
	}
	return lines[0], size, root
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: auditcheck VKEY LOG PROOF.json")
	}
	verifier, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fail("verifier key: %v", err)
	}
	vs := note.VerifierList(verifier)
	log, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail("%v", err)
	}

	// Every record's hash, stored as tlog stores a tree.
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	var prev [32]byte
	var hashes [][32]byte
	checkpoints := 0
	lines := bytes.Split(log, []byte("\n"))
	if len(lines[len(lines)-1]) != 0 {
		fail("torn last line")
	}
	for i, line := range lines[:len(lines)-1] {
		var r record
		if err := json.Unmarshal(line, &r); err != nil {
			fail("record %d: %v", i, err)
		}
		if r.Seq != int64(i) || r.Prev != hex.EncodeToString(prev[:]) {
			fail("record %d: seq or prev is wrong", i)
		}
		if r.Kind == "checkpoint" {
			var d struct {
				Note string `json:"note"`
			}
			if err := json.Unmarshal(r.Data, &d); err != nil {
				fail("record %d: %v", i, err)
			}
			_, size, root := openCheckpoint(d.Note, vs)
			if size != int64(i) {
				fail("record %d: checkpoint size %d", i, size)
			}
			th, err := tlog.TreeHash(size, reader)
			if err != nil {
				fail("record %d: %v", i, err)
			}
			if th != root {
				fail("record %d: root %v, tlog computes %v", i,
					root, th)
			}
			checkpoints++
		}
		h := recordHash(r.Seq, prev, line)
		more, err := tlog.StoredHashes(int64(i), h[:], reader)
		if err != nil {
			fail("record %d: %v", i, err)
		}
		stored = append(stored, more...)
		hashes = append(hashes, h)
		prev = h
	}
	if checkpoints == 0 {
		fail("no checkpoints")
	}

	// The inclusion proof ward printed.
	raw, err := os.ReadFile(os.Args[3])
	if err != nil {
		fail("%v", err)
	}
	var p proofDoc
	if err := json.Unmarshal(raw, &p); err != nil {
		fail("proof: %v", err)
	}
	if p.Vkey != os.Args[1] {
		fail("proof names another key")
	}
	_, size, root := openCheckpoint(p.Checkpoint, vs)
	if size != p.Size || p.Index < 0 || p.Index >= size ||
		p.Index >= int64(len(hashes)) {
		fail("proof index or size is wrong")
	}
	rh, err := base64.StdEncoding.DecodeString(p.RecordHash)
	if err != nil || !bytes.Equal(rh, hashes[p.Index][:]) {
		fail("proof's record hash is not record %d's", p.Index)
	}
	var proof tlog.RecordProof
	for _, s := range p.Proof {
		h, err := tlog.ParseHash(s)
		if err != nil {
			fail("proof: %v", err)
		}
		proof = append(proof, h)
	}
	if err := tlog.CheckRecord(proof, size, root, p.Index,
		tlog.RecordHash(rh)); err != nil {
		fail("inclusion proof: %v", err)
	}
	mine, err := tlog.ProveRecord(size, p.Index, reader)
	if err != nil || len(mine) != len(proof) {
		fail("tlog's own proof differs: %v", err)
	}
	for i := range mine {
		if mine[i] != proof[i] {
			fail("tlog's own proof differs at %d", i)
		}
	}
	fmt.Printf("ok: %d records, %d checkpoints, record %d included in "+
		"tree of %d\n", len(hashes), checkpoints, p.Index, size)
}
