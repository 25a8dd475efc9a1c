package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// TestCoverageSaysUnknown runs one camera over real RTSP through what makes
// its zones' states unknown, and checks the agent says so for every zone
// each time, and says the states again once it sees: a run that did not
// stop cleanly (unknown from just after the time it left), the first frame
// judged (every zone's state), the camera going down (unknown) and coming
// back (every state again), and a clean stop (unknown, the run-time file
// removed). The dashboard counts none of the unknown time as absence.
func TestCoverageSaysUnknown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real RTSP, real H.264")
	}
	_, _, srv, cam := briefCamera(t)

	// The last run left its time and no clean stop.
	dir := t.TempDir()
	left := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Millisecond)
	b, _ := json.Marshal(seenState{Until: left})
	if err := os.WriteFile(filepath.Join(dir, seenFile), b, 0o600); err != nil {
		t.Fatal(err)
	}

	set := Defaults()
	set.WorkingHours = kpi.HoursConfig{TimeZone: timezone.Default, Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Spans: []string{"00:00-24:00"}}
	rec := &recorder{}
	w, err := New(set, []Camera{cam}, rec, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewPedanticRegistry(), time.Now,
		WithHealthInterval(time.Second), WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	zones := len(cam.Zones)
	occ := func() []*schema.Occupancy {
		var out []*schema.Occupancy
		for _, e := range rec.all() {
			if o, ok := e.(*schema.Occupancy); ok {
				out = append(out, o)
			}
		}
		return out
	}
	// round waits until the events after from end with one event per zone
	// in the wanted kind of state, and returns how many events there are.
	round := func(from int, known bool, what string) int {
		t.Helper()
		var n int
		testenv.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
			evs := occ()
			n = len(evs)
			seen := map[string]bool{}
			for _, o := range evs[from:] {
				if o.Known() == known {
					seen[o.Counter+"/"+string(o.Zone)] = true
				}
			}
			return len(seen) == zones
		}, what)
		return n
	}

	n := round(0, false, "unknown since the last run")
	for _, o := range occ()[:zones] {
		if o.Known() || !o.TS.Equal(left.Add(time.Millisecond)) || o.Occupied {
			t.Errorf("first event %+v, want unknown from %v", o, left.Add(time.Millisecond))
		}
	}
	n = round(n, true, "every zone's state at the first frame judged")

	// The official's seat was seen empty just before the camera goes.
	w.mu.Lock()
	for _, k := range w.counters {
		for i, st := range []schema.ZoneState{schema.ZoneOccupied, schema.ZoneVacant} {
			if _, err := k.p.UpdateState(schema.ZoneStaff, st, time.Now().Add(time.Duration(i)*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.mu.Unlock()
	srv.Stop()
	n = round(n, false, "unknown once the camera is down")
	for _, o := range occ()[n-zones:] {
		if o.Known() || o.Confidence != 0 {
			t.Errorf("camera down: %+v", o)
		}
	}
	// Nor does the agent count anything for the seat while it cannot see
	// it: two hours later (working hours all day here) neither presence
	// nor absence has grown, whichever the seat was when the camera went.
	w.mu.Lock()
	for id, k := range w.counters {
		now := time.Now()
		present, later := k.p.StaffPresent(now), k.p.StaffPresent(now.Add(2*time.Hour))
		if absent := k.p.StaffAbsent(now.Add(2 * time.Hour)); absent != 0 || later != present {
			t.Errorf("counter %s with its camera down: absent %v, presence %v then %v", id, absent, present, later)
		}
	}
	w.mu.Unlock()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	n = round(n, true, "every zone's state again once the camera is back")
	if _, err := os.Stat(filepath.Join(dir, seenFile)); err != nil {
		t.Errorf("run time not recorded while running: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the cleanup
	evs := occ()
	if len(evs) < n+zones {
		t.Fatalf("%d events after the stop, want unknown for the %d zones", len(evs)-n, zones)
	}
	for _, o := range evs[len(evs)-zones:] {
		if o.Known() {
			t.Errorf("after a clean stop: %+v", o)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, seenFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("run time file kept after a clean stop: %v", err)
	}
}
