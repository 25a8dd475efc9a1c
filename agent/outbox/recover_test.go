package outbox

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/internal/schema"
)

// TestRecoverAfterRestart: what a killed agent spooled is read back by the
// next one, in order, and the points those events hold are taken: a new
// event of the same series and millisecond (a queue system stamping whole
// seconds) gets another point, not one of theirs.
func TestRecoverAfterRestart(t *testing.T) {
	cfg := spool.Defaults()
	cfg.Dir = t.TempDir()
	sec := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return sec.Add(500 * time.Millisecond) }
	step := func(o *Outbox, id string) *schema.Queue {
		return &schema.Queue{Header: schema.Header{ID: id, TS: sec, Site: "anlao"}, Ticket: "A1", Service: "ho-tich", Step: schema.StepIssued}
	}

	sp, err := spool.Open(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := New("anlao", "anlao-edge-1", sp, clock)
	var placed []time.Time
	for _, id := range []string{"q-1", "q-2", "q-3"} {
		q := step(before, id)
		if err := before.Emit(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		placed = append(placed, q.TS)
	}
	if err := sp.Close(); err != nil { // as a kill would leave it, minus the lock
		t.Fatal(err)
	}

	sp, err = spool.Open(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	after := New("anlao", "anlao-edge-1", sp, clock)
	var ids []string
	n, err := after.Recover(sp, func(ev schema.Event) { ids = append(ids, ev.Head().ID) })
	if err != nil || n != 3 || len(ids) != 3 || ids[0] != "q-1" || ids[2] != "q-3" {
		t.Fatalf("Recover = %d, %v; events %v, want q-1, q-2, q-3", n, err, ids)
	}
	if got := after.points.win.Len(); got != 3 {
		t.Fatalf("%d points taken after Recover, want the 3 recovered", got)
	}
	// 200 new steps in the same second: none lands on a recovered point.
	for i := range 200 {
		q := step(after, "new-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if _, err := after.Encode(q); err != nil {
			t.Fatal(err)
		}
		for _, p := range placed {
			if q.TS.Equal(p) {
				t.Fatalf("new step %s placed on a recovered step's point %v", q.ID, p)
			}
		}
	}
}
