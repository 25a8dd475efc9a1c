package schema

import "testing"

// The collector must decode 30,000+ events/s on one core, about 33 µs per
// event; these measure the per-event cost. Run with
//
//	go test -run '^$' -bench . -benchmem ./internal/schema/

func BenchmarkDecodeMessage(b *testing.B) {
	ex := exampleOf(KindRating)
	payload, now := []byte(ex.payload), testNow()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := DecodeMessage(ex.topic, payload, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMessageKinds(b *testing.B) {
	now := testNow()
	for _, ex := range examples() {
		payload := []byte(ex.payload)
		b.Run(string(ex.kind), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := DecodeMessage(ex.topic, payload, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendLine(b *testing.B) {
	ex := exampleOf(KindRating)
	ev, err := DecodeMessage(ex.topic, []byte(ex.payload), testNow())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = ev.AppendLine(buf[:0])
	}
}

func BenchmarkAppendLineKinds(b *testing.B) {
	for _, ex := range examples() {
		ev, err := DecodeMessage(ex.topic, []byte(ex.payload), testNow())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(ex.kind), func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				buf = ev.AppendLine(buf[:0])
			}
		})
	}
}

// BenchmarkCheckKeys is the part of DecodeMessage that refuses a key given
// twice (issue 18), on the same payload, to compare in one run.
func BenchmarkCheckKeys(b *testing.B) {
	payload := []byte(exampleOf(KindRating).payload)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if err := CheckKeys(payload); err != nil {
			b.Fatal(err)
		}
	}
}
