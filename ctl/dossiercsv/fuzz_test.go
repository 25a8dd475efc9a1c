package dossiercsv

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. Whatever the file, Parse must
// not panic, every row it accepts must pass the contract's validation and
// carry the identity its code gives it, lines must ascend, codes must be
// unique, and no line may be both accepted and refused.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"vi-semicolon-bom.csv", "en-comma.csv", "bad-rows.csv"} {
		if b, err := readTestdata(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("dossier;procedure;received;due;resolved\nX;p;1/6/2026;2/6/2026;3/6/2026\n"))
	f.Add([]byte("\"dossier\",procedure,received,due,resolved\n\"a\"\"b\",p,2026-06-01T00:00:00Z,01-06-2026 00:00,01/06/2026 23:59:59\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data), Options{Site: "anlao", Loc: ict, Now: now, MaxRows: 1000})
		if err != nil {
			if res != nil {
				t.Fatal("result with an error")
			}
			return
		}
		codes := map[string]bool{}
		refused := map[int]bool{}
		for _, e := range res.Errors {
			if e.Line < 2 || strings.TrimSpace(e.Reason) == "" {
				t.Fatalf("error %+v: no line or reason", e)
			}
			refused[e.Line] = true
		}
		last := 1
		for _, r := range res.Rows {
			if r.Line <= last || refused[r.Line] {
				t.Fatalf("row on line %d after line %d, or also refused", r.Line, last)
			}
			last = r.Line
			d := r.Dossier
			if err := d.Validate(now); err != nil {
				t.Fatalf("line %d accepted but invalid: %v", r.Line, err)
			}
			if codes[d.Dossier] {
				t.Fatalf("dossier %q accepted twice", d.Dossier)
			}
			codes[d.Dossier] = true
			if d.Site != "anlao" || d.ID != ID("anlao", d.Dossier) || !d.TS.Equal(Timestamp("anlao", d.Dossier, d.Resolved)) {
				t.Fatalf("line %d: identity %q %v", r.Line, d.ID, d.TS)
			}
			if d.AppendLine(nil)[len(d.AppendLine(nil))-1] != '\n' {
				t.Fatal("line protocol without newline")
			}
		}
	})
}
