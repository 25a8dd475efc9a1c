package spool

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeRecord feeds the record decoder what a damaged disk might hold.
// Seeds beyond testdata/fuzz/FuzzDecodeRecord: a record of each flag
// combination and the damage recovery meets most (cut short, zero-filled).
func FuzzDecodeRecord(f *testing.F) {
	for flags := range byte(knownFlags + 1) {
		f.Add(encoded(flags, 7, `{"id":"01JDX8K3Q7A1","level":"satisfied"}`))
	}
	two := append(encoded(flagCommitStart, 1, "a"), encoded(flagUnitEnd, 2, "b")...)
	f.Add(two)
	f.Add(encoded(flagUnitEnd, 1, "cut")[:headerSize+1])
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, flags, n, err := decodeRecord(b)
		if err != nil {
			if n != 0 || rec.Data != nil {
				t.Fatalf("error %v with n %d and data", err, n)
			}
			return
		}
		if n > len(b) || n != headerSize+len(rec.Data) || len(rec.Data) > maxDataLimit {
			t.Fatalf("n %d, %d data bytes, from %d bytes", n, len(rec.Data), len(b))
		}
		if cap(rec.Data) != len(rec.Data) {
			t.Fatal("Data may be appended into the bytes after it")
		}
		// What decodes, encodes back to the same bytes.
		again := encoded(flags, rec.Seq, string(rec.Data))
		putNanos(again, rec.Appended.UnixNano())
		seal(again)
		if !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoded\n%x\nwant\n%x", again, b[:n])
		}
	})
}

func putNanos(rec []byte, nanos int64) {
	for i := range 8 {
		rec[20+i] = byte(uint64(nanos) >> (8 * i))
	}
}

// TestDecodeRecordAllocs: decoding never allocates, whatever the length
// field claims, so a damaged length cannot exhaust memory.
func TestDecodeRecordAllocs(t *testing.T) {
	huge := encoded(flagUnitEnd, 1, "x")
	huge[4], huge[5], huge[6], huge[7] = 0xFF, 0xFF, 0xFF, 0x00 // 16 MiB - 1
	for _, tc := range []struct {
		name    string
		b       []byte
		wantErr error
	}{
		{"valid", encoded(flagUnitEnd, 1, "some data"), nil},
		{"length far beyond the bytes", huge, errTruncated},
		{"cut short", encoded(flagUnitEnd, 1, "some data")[:30], errTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := decodeRecord(tc.b)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return // the error message itself allocates
			}
			if a := testing.AllocsPerRun(100, func() { _, _, _, _ = decodeRecord(tc.b) }); a != 0 {
				t.Fatalf("%v allocations per decode", a)
			}
		})
	}
}
