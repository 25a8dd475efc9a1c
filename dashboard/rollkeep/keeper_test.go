package rollkeep

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// TestKeeper, on a real InfluxDB: the keeper builds every day of the kept
// window at its start, then an event that arrives for a past day (a
// spool replayed) and is marked has its day built again, with the new
// count, with the week after it (its seats' last states reach it).
func TestKeeper(t *testing.T) {
	i := testenv.StartInflux(t)
	i.Query(t, `CREATE DATABASE "rollups"`)
	vn := timezone.Vietnam()
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, vn)
	rating := func(id string, at time.Time) string {
		return fmt.Sprintf("rating,counter=c01,level=satisfied,site=anlao id=%q %d\n", id, at.UnixNano())
	}
	var b strings.Builder
	for d := range 60 {
		day := now.AddDate(0, 0, -d-1)
		fmt.Fprint(&b, rating(fmt.Sprintf("r%d", d), time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, vn)))
	}
	i.Write(t, b.String())

	src := kpidb.NewSource(kpidb.Config{URL: i.URL(), Bucket: i.Bucket()})
	t.Cleanup(src.Close)
	src.Now = func() time.Time { return now }
	store := src.WithRollups(i.URL(), "rollups", "")
	t.Cleanup(store.Close)
	reg := prometheus.NewRegistry()
	k := New(src, store, []string{"anlao"}, slog.New(slog.DiscardHandler), src.Now, reg)
	k.delay = 50 * time.Millisecond
	ctx := t.Context()
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()

	// From 1 January last year to today: 428 days.
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, vn)
	today := src.Midnight(now)
	want := int(today.Sub(from).Hours()/24 + 0.5)
	built := func(by string) float64 { return testutil.ToFloat64(k.built.WithLabelValues(by)) }
	deadline := time.Now().Add(time.Minute)
	for built("sweep") < float64(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	days, err := store.Read(ctx, "anlao", from, today, vn)
	if err != nil || len(days) != want {
		t.Fatalf("%d days kept (%v), want %d", len(days), err, want)
	}

	// A replayed rating of 20 February, then one of today (read raw,
	// nothing to build).
	late := time.Date(2026, 2, 20, 15, 0, 0, 0, vn)
	i.Write(t, rating("late", late)+rating("now", now))
	k.Mark("anlao", late)
	k.Mark("anlao", now)
	deadline = time.Now().Add(time.Minute)
	for built("mark") < 8 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// The day, and the week after it that its seats' last states reach.
	if got := built("mark"); got != 8 {
		t.Fatalf("%v days built on marks, want 8", got)
	}
	day, err := store.Read(ctx, "anlao", src.Midnight(late), src.Midnight(late).AddDate(0, 0, 1), vn)
	if err != nil || len(day) != 1 || day[0].Events != 2 || day[0].Counters["c01"].Ratings["satisfied"] != 2 {
		t.Fatalf("20 February kept as %+v (%v), want its two ratings", day, err)
	}
	if n, err := src.Refresh(ctx, store, "anlao", from, today); err != nil || n != 0 {
		t.Errorf("a check after the mark built %d days (%v): the keeper left one stale", n, err)
	}
}
