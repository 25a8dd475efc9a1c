package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testConfig(t *testing.T) Config {
	c := Defaults()
	c.Dir = t.TempDir()
	c.RetainAcked = 0 // retention has its own tests (retain_test.go)
	return c
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// open opens cfg and closes the spool at the end of the test.
func open(t *testing.T, cfg Config) *Spool {
	t.Helper()
	s, err := Open(cfg, testLogger(t), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func appendOK(t *testing.T, s *Spool, data ...[]byte) uint64 {
	t.Helper()
	seq, err := s.Append(context.Background(), data...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

// readAll reads every unacknowledged record.
func readAll(t *testing.T, s *Spool) []Record {
	t.Helper()
	n, _, _ := s.Stats()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []Record
	var after uint64
	for len(out) < n {
		recs, err := s.Read(ctx, after, 1000)
		if err != nil {
			t.Fatalf("Read after %d (have %d of %d): %v", after, len(out), n, err)
		}
		out = append(out, recs...)
		after = recs[len(recs)-1].Seq
	}
	return out
}

func payload(i int) []byte {
	return []byte(fmt.Sprintf("event %d %s", i, strings.Repeat("x", i%97)))
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults: %v", err)
	}
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no dir", func(c *Config) { c.Dir = "" }, "dir: must be set"},
		{"zero max records", func(c *Config) { c.MaxRecords = 0 }, "max_records: 0 outside 1..10000000"},
		{"huge max records", func(c *Config) { c.MaxRecords = 20_000_000 }, "max_records: 20000000 outside"},
		{"max bytes below a record", func(c *Config) { c.MaxBytes = 1000 }, "max_bytes: 1000 below one largest record (65564 bytes"},
		{"tiny segments", func(c *Config) { c.SegmentBytes = 100 }, "segment_bytes: 100 outside 1024..1073741824"},
		{"huge segments", func(c *Config) { c.SegmentBytes = 2 << 30 }, "segment_bytes: 2147483648 outside"},
		{"no record size", func(c *Config) { c.MaxRecordBytes = 0 }, "max_record_bytes: 0 outside 1..16777216"},
		{"record size above the format bound", func(c *Config) { c.MaxRecordBytes = 32 << 20 }, "max_record_bytes: 33554432 outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.modify(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error starting %q", err, tc.want)
			}
			if _, err := Open(c, nil, nil); err == nil {
				t.Fatal("Open accepted an invalid config")
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	cfg := testConfig(t)
	s := open(t, cfg)
	big := bytes.Repeat([]byte{0xAB}, cfg.MaxRecordBytes)
	units := [][][]byte{
		{[]byte("one")},
		{{}},
		{[]byte("two"), []byte("three"), []byte("four")},
		{big},
		{[]byte("{\"id\":\"01JDX8K3Q7A1\",\"level\":\"satisfied\"}"), big, {}},
	}
	before := time.Now()
	var want [][]byte
	next := uint64(1)
	for _, u := range units {
		seq := appendOK(t, s, u...)
		if seq != next {
			t.Fatalf("first seq %d, want %d", seq, next)
		}
		next += uint64(len(u))
		want = append(want, u...)
	}
	after := time.Now()
	n, size, oldest := s.Stats()
	if n != len(want) || oldest.Before(before.Add(-time.Second)) || oldest.After(after) {
		t.Fatalf("Stats = %d, %d, %v; want %d records appended between %v and %v", n, size, oldest, len(want), before, after)
	}
	var wantSize int64
	for _, d := range want {
		wantSize += int64(headerSize + len(d))
	}
	if size != wantSize {
		t.Fatalf("Stats bytes = %d, want %d", size, wantSize)
	}
	got := readAll(t, s)
	for i, r := range got {
		if r.Seq != uint64(i+1) || !bytes.Equal(r.Data, want[i]) {
			t.Fatalf("record %d: seq %d data %.20q, want seq %d data %.20q", i, r.Seq, r.Data, i+1, want[i])
		}
		if r.Appended.Before(before.Add(-time.Second)) || r.Appended.After(after) {
			t.Fatalf("record %d appended at %v, not between %v and %v", i, r.Appended, before, after)
		}
	}
}

func TestReadMax(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 4 << 10
	s := open(t, cfg)
	for i := range 200 {
		appendOK(t, s, payload(i))
	}
	for _, max := range []int{1, 7, 100, 1000} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			var after uint64
			for after < 200 {
				recs, err := s.Read(context.Background(), after, max)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) == 0 || len(recs) > max {
					t.Fatalf("Read(%d, %d) returned %d records", after, max, len(recs))
				}
				for _, r := range recs {
					if r.Seq != after+1 || !bytes.Equal(r.Data, payload(int(r.Seq-1))) {
						t.Fatalf("got seq %d %q after %d", r.Seq, r.Data, after)
					}
					after = r.Seq
				}
			}
		})
	}
	if _, err := s.Read(context.Background(), 0, 0); err == nil {
		t.Fatal("Read with max 0 succeeded")
	}
}

// TestReadBudget: a Read stops at about 1 MiB of data, whatever max says,
// but always returns at least one record.
func TestReadBudget(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 64 << 20
	s := open(t, cfg)
	big := bytes.Repeat([]byte("b"), cfg.MaxRecordBytes)
	for range 40 {
		appendOK(t, s, big)
	}
	recs, err := s.Read(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(recs); n < 1 || n*len(big) > readBudget {
		t.Fatalf("Read returned %d records of %d bytes, budget %d", n, len(big), readBudget)
	}
}

func TestReopenContinuesSeq(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(cfg, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		appendOK(t, s, payload(i))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s, err = Open(cfg, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, s)
	if len(got) != 10 || got[0].Seq != 1 || got[9].Seq != 10 || !bytes.Equal(got[9].Data, payload(9)) {
		t.Fatalf("after reopen: %d records", len(got))
	}
	if seq := appendOK(t, s, payload(10)); seq != 11 {
		t.Fatalf("seq after reopen %d, want 11", seq)
	}
	// Everything acknowledged: Close removes every segment, and the seq
	// must still not go back.
	if err := s.Ack(11); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if files := segFiles(t, cfg.Dir); len(files) != 0 {
		t.Fatalf("segments left after all were acknowledged: %v", files)
	}

	s = open(t, cfg)
	if n, b, oldest := s.Stats(); n != 0 || b != 0 || !oldest.IsZero() {
		t.Fatalf("Stats = %d, %d, %v on an acknowledged spool", n, b, oldest)
	}
	if seq := appendOK(t, s, payload(11)); seq != 12 {
		t.Fatalf("seq after reopening an empty spool %d, want 12", seq)
	}
}

func TestReadBlocksUntilAppend(t *testing.T) {
	s := open(t, testConfig(t))
	type result struct {
		recs []Record
		err  error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		recs, err := s.Read(ctx, 0, 10)
		done <- result{recs, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("Read returned %v, %v on an empty spool", r.recs, r.err)
	default:
	}
	appendOK(t, s, []byte("hello"))
	select {
	case r := <-done:
		if r.err != nil || len(r.recs) != 1 || string(r.recs[0].Data) != "hello" {
			t.Fatalf("Read = %v, %v", r.recs, r.err)
		}
	case <-ctx.Done():
		t.Fatal("Read still blocked after Append")
	}

	// Read after the last record blocks too, until ctx ends.
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := s.Read(short, 1, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read past the end: %v, want DeadlineExceeded", err)
	}
}

func TestCloseWakesRead(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(context.Background(), 0, 1)
		done <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Read after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read still blocked after Close")
	}
	if _, err := s.Append(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if err := s.Ack(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ack after Close: %v", err)
	}
}

func TestAckPersistsCursorAndRemovesSegments(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 1 << 10 // about 8 records of ~100 bytes each
	s, err := Open(cfg, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		appendOK(t, s, bytes.Repeat([]byte{byte(i)}, 100))
	}
	nsegs := len(segFiles(t, cfg.Dir))
	if nsegs < 10 {
		t.Fatalf("%d segments, want many", nsegs)
	}
	if err := s.Ack(101); err == nil {
		t.Fatal("Ack past the last record succeeded")
	}
	if err := s.Ack(50); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(20); err != nil {
		t.Fatalf("Ack of an earlier seq: %v", err)
	}
	if n, b, _ := s.Stats(); n != 50 || b != 50*(headerSize+100) {
		t.Fatalf("Stats after Ack(50) = %d records, %d bytes", n, b)
	}
	// Saved lazily, within 100 ms.
	waitFor(t, "the cursor on disk", func() bool {
		c, ok, err := readCursor(cfg.Dir)
		return err == nil && ok && c == 50
	})
	// Then the segments it covers go: the first left is the one holding 51.
	seg51 := fmt.Sprintf("%020d.seg", 51)
	waitFor(t, "acknowledged segments removed", func() bool {
		files := segFiles(t, cfg.Dir)
		return filepath.Base(files[0]) <= seg51 && filepath.Base(files[1]) > seg51
	})
	recs, err := s.Read(context.Background(), 0, 1)
	if err != nil || recs[0].Seq != 51 {
		t.Fatalf("Read(0) after Ack(50) = %v, %v; want seq 51", recs, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, cfg)
	got := readAll(t, s)
	if len(got) != 50 || got[0].Seq != 51 || got[0].Data[0] != 50 {
		t.Fatalf("after reopen: %d records from seq %d", len(got), got[0].Seq)
	}
}

// TestAckSavedOnClose: an ack made just before Close is on disk after it,
// without waiting for the lazy save.
func TestAckSavedOnClose(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		appendOK(t, s, payload(i))
	}
	if err := s.Ack(3); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if c, ok, err := readCursor(cfg.Dir); err != nil || !ok || c != 3 {
		t.Fatalf("cursor = %d, %v, %v; want 3", c, ok, err)
	}
}

func TestFull(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"records", func(c *Config) { c.MaxRecords = 10 }, "spool: full: 10 records / 256 MiB limit reached (holding 8 records / 288 B)"},
		{"bytes", func(c *Config) { c.MaxRecordBytes = 8; c.MaxBytes = 10 * (headerSize + 8) }, "spool: full: 1000000 records / 360 B limit reached (holding 8 records / 288 B)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.modify(&cfg)
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			s, err := Open(cfg, testLogger(t), m)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rec := []byte("8 bytes!")
			for range 8 {
				appendOK(t, s, rec)
			}
			_, err = s.Append(context.Background(), rec, rec, rec)
			if !errors.Is(err, ErrFull) || err.Error() != tc.want {
				t.Fatalf("Append over the limit: %v\nwant %s", err, tc.want)
			}
			if n, _, _ := s.Stats(); n != 8 {
				t.Fatalf("refused Append left %d records, want 8", n)
			}
			if seq := appendOK(t, s, rec, rec); seq != 9 {
				t.Fatalf("seq after a refused Append %d, want 9", seq)
			}
			if _, err := s.Append(context.Background(), rec); !errors.Is(err, ErrFull) {
				t.Fatalf("Append to a full spool: %v", err)
			}
			if got := testutil.ToFloat64(m.refusedFull); got != 2 {
				t.Fatalf("refused full = %v, want 2", got)
			}
			// The uplink catches up: room again.
			if err := s.Ack(3); err != nil {
				t.Fatal(err)
			}
			if seq := appendOK(t, s, rec, rec, rec); seq != 11 {
				t.Fatalf("seq after Ack %d, want 11", seq)
			}
			got := readAll(t, s)
			if len(got) != 10 || got[0].Seq != 4 || got[9].Seq != 13 {
				t.Fatalf("stored %d records %d..%d, want 4..13", len(got), got[0].Seq, got[len(got)-1].Seq)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxRecords = 5
	m := NewMetrics(nil)
	s, err := Open(cfg, nil, m)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		name string
		data [][]byte
		want string
	}{
		{"one record", [][]byte{make([]byte, cfg.MaxRecordBytes+1)}, "spool: too large: record of 65537 bytes, limit 65536"},
		{"one too large among small", [][]byte{[]byte("ok"), make([]byte, cfg.MaxRecordBytes+1)}, "spool: too large: record of 65537 bytes"},
		{"more records than the limit", make([][]byte, 6), "spool: too large: 6 records / 168 B in one append can never fit the 5 records / 256 MiB limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Append(context.Background(), tc.data...)
			if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
	if n, _, _ := s.Stats(); n != 0 {
		t.Fatalf("refused appends stored %d records", n)
	}
	if got := testutil.ToFloat64(m.refusedLarge); got != 3 {
		t.Fatalf("refused too_large = %v, want 3", got)
	}
	if seq := appendOK(t, s, make([]byte, cfg.MaxRecordBytes)); seq != 1 {
		t.Fatalf("seq after refusals %d, want 1", seq)
	}
	if _, err := s.Append(context.Background()); err == nil {
		t.Fatal("Append of nothing succeeded")
	}
}

// TestConcurrentAppends: every acknowledged record is stored exactly once,
// each appender's records in the order it appended them, all in one total
// order of consecutive seqs.
func TestConcurrentAppends(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 64 << 10
	s := open(t, cfg)
	const goroutines, appends = 32, 60
	type acked struct {
		seq  uint64
		data []byte
	}
	results := make([][]acked, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range appends {
				var data [][]byte
				for j := range 1 + (g+i)%3 {
					data = append(data, []byte(fmt.Sprintf("g%d i%d j%d", g, i, j)))
				}
				seq, err := s.Append(context.Background(), data...)
				if err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
				for j, d := range data {
					results[g] = append(results[g], acked{seq + uint64(j), d})
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	got := readAll(t, s)
	bySeq := map[uint64][]byte{}
	for i, r := range got {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		bySeq[r.Seq] = r.Data
	}
	total := 0
	for g, rs := range results {
		for i, a := range rs {
			if !bytes.Equal(bySeq[a.seq], a.data) {
				t.Fatalf("seq %d holds %q, want %q", a.seq, bySeq[a.seq], a.data)
			}
			if i > 0 && a.seq <= rs[i-1].seq {
				t.Fatalf("goroutine %d: seq %d after %d", g, a.seq, rs[i-1].seq)
			}
		}
		total += len(rs)
	}
	if total != len(got) {
		t.Fatalf("%d records stored, %d acknowledged", len(got), total)
	}
	t.Logf("%d appends of %d records shared %d fsyncs", goroutines*appends, total, s.fsyncs.Load())
}

func TestInUse(t *testing.T) {
	cfg := testConfig(t)
	open(t, cfg)
	if _, err := Open(cfg, nil, nil); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: %v, want ErrInUse", err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	cfg := testConfig(t)
	s, err := Open(cfg, nil, m)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 4 {
		appendOK(t, s, payload(i))
	}
	if err := s.Ack(1); err != nil {
		t.Fatal(err)
	}
	_, b, _ := s.Stats()
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"records", testutil.ToFloat64(m.records), 3},
		{"bytes", testutil.ToFloat64(m.bytes), float64(b)},
		{"appended", testutil.ToFloat64(m.appended), 4},
		{"acked", testutil.ToFloat64(m.acked), 1},
		{"limit records", testutil.ToFloat64(m.limitRecords), float64(cfg.MaxRecords)},
		{"limit bytes", testutil.ToFloat64(m.limitBytes), float64(cfg.MaxBytes)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	names := []string{
		"pscm_agent_spool_records", "pscm_agent_spool_bytes", "pscm_agent_spool_oldest_age_seconds",
		"pscm_agent_spool_appended_total", "pscm_agent_spool_refused_total", "pscm_agent_spool_acked_total",
		"pscm_agent_spool_fsync_duration_seconds", "pscm_agent_spool_limit_records", "pscm_agent_spool_limit_bytes",
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var gathered []string
	for _, mf := range mfs {
		gathered = append(gathered, mf.GetName())
		if mf.GetName() == "pscm_agent_spool_oldest_age_seconds" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v < 0 || v > 60 {
				t.Errorf("oldest age %v s", v)
			}
		}
		if mf.GetName() == "pscm_agent_spool_fsync_duration_seconds" {
			if n := mf.GetMetric()[0].GetHistogram().GetSampleCount(); n < 4 {
				t.Errorf("%d fsyncs observed for 4 sequential appends", n)
			}
		}
	}
	slices.Sort(names)
	if !slices.Equal(gathered, names) {
		t.Errorf("metrics %v, want %v", gathered, names)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KiB"}, {1536, "1.5 KiB"},
		{256 << 20, "256 MiB"}, {3 << 30, "3 GiB"}, {5 << 40, "5 TiB"}, {5 << 50, "5120 TiB"},
	} {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestAppendCancelled: an Append whose context has already ended writes
// nothing.
func TestAppendCancelled(t *testing.T) {
	s := open(t, testConfig(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, []byte("late")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context: %v", err)
	}
	if seq := appendOK(t, s, []byte("on time")); seq != 1 {
		t.Fatalf("seq %d, want 1", seq)
	}
}
