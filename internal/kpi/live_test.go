package kpi

import (
	"fmt"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

func rating(id, site, counter string, level schema.Level, ts time.Time) *schema.Rating {
	return &schema.Rating{Header: schema.Header{ID: id, TS: ts, Site: site}, Counter: counter, Kiosk: "k" + counter, Level: level}
}

func TestLiveApply(t *testing.T) {
	ts := utc("2026-11-25T01:15:02Z")
	start, end := Bounds(PeriodToday, ts, nil)
	base := NewStats()
	base.Ratings[schema.LevelSatisfied] = 19
	base.Ratings[schema.LevelNeutral] = 1
	base.Dossiers[schema.OutcomeOnTime] = 9
	base.Sessions, base.WaitSumS, base.ServiceSumS = 2, 100, 300
	base.WaitP90S = 70
	base.Finish(SatisfactionOf(nil))
	if base.SatisfiedPct != 95 {
		t.Fatalf("base %v", base.SatisfiedPct)
	}

	l := NewLive(base, LiveConfig{Site: "anlao", Start: start, End: end})
	r := rating("01A", "anlao", "c01", schema.LevelDissatisfied, ts)
	if !l.Apply(r) {
		t.Fatal("first rating not applied")
	}
	if l.Apply(r) {
		t.Fatal("same rating applied twice")
	}
	// A redelivery decodes to a new value with the same ID: still once.
	r2 := *r
	if l.Apply(&r2) {
		t.Fatal("redelivered rating applied")
	}
	s := l.Stats()
	if s.RatingsTotal != 21 || s.Ratings[schema.LevelDissatisfied] != 1 || s.Satisfied != 19 || s.SatisfiedPct != float64(19)*100/21 {
		t.Fatalf("after one rating: %+v", s)
	}
	if base.RatingsTotal != 20 {
		t.Fatal("NewLive shares the base's maps")
	}

	// Out of scope: another site, before or after the period.
	for name, ev := range map[string]schema.Event{
		"other site": rating("01B", "baclieu", "c01", schema.LevelSatisfied, ts),
		"yesterday":  rating("01C", "anlao", "c01", schema.LevelSatisfied, start.Add(-time.Nanosecond)),
		"tomorrow":   rating("01D", "anlao", "c01", schema.LevelSatisfied, end),
		"camera":     &schema.Camera{Header: schema.Header{ID: "01E", TS: ts, Site: "anlao"}, Camera: "cam1", Up: true},
		"queue step": &schema.Queue{Header: schema.Header{ID: "01F", TS: ts, Site: "anlao"}, Ticket: "A1", Service: "ho-tich", Counter: "c01", Step: schema.StepCalled},
	} {
		if l.Apply(ev) {
			t.Errorf("%s applied", name)
		}
	}

	// The other counted kinds, and an ID shared across kinds.
	h := schema.Header{ID: "01A", TS: ts, Site: "anlao"}
	if !l.Apply(&schema.Dossier{Header: h, Outcome: schema.OutcomeLate}) {
		t.Error("dossier not applied")
	}
	if !l.Apply(&schema.Queue{Header: h, Ticket: "A1", Service: "ho-tich", Counter: "c01", Step: schema.StepNoShow}) {
		t.Error("no-show not applied")
	}
	if !l.Apply(&schema.Session{Header: h, Counter: "c01", WaitS: 50, ServiceS: 60, Source: schema.SourceFused}) {
		t.Error("session not applied")
	}
	s = l.Stats()
	if s.DossiersTotal != 10 || s.OnTime != 9 || s.OnTimePct != 90 || s.NoShows != 1 ||
		s.Sessions != 3 || s.WaitMeanS != 50 || s.ServiceMeanS != 120 || s.WaitP90S != 70 {
		t.Fatalf("after dossier, no-show, session: %+v", s)
	}

	// Reset starts again from a new Load and forgets the IDs it now counts.
	l.Reset(base)
	if l.Remembered() != 0 || l.Stats().RatingsTotal != 20 {
		t.Fatal("Reset kept state")
	}
	if !l.Apply(r) {
		t.Fatal("rating after Reset not applied")
	}
}

func TestLiveCounterScope(t *testing.T) {
	ts := utc("2026-11-25T01:15:02Z")
	l := NewLive(Stats{}, LiveConfig{Counter: "c02"})
	if l.Apply(rating("1", "anlao", "c01", schema.LevelSatisfied, ts)) {
		t.Error("other counter applied")
	}
	if l.Apply(&schema.Dossier{Header: schema.Header{ID: "2", TS: ts, Site: "anlao"}, Outcome: schema.OutcomeEarly}) {
		t.Error("dossier applied to a counter")
	}
	if !l.Apply(rating("3", "anlao", "c02", schema.LevelSatisfied, ts)) || l.Stats().SatisfiedPct != 100 {
		t.Errorf("own counter: %+v", l.Stats())
	}
}

func TestLiveBounded(t *testing.T) {
	ts := utc("2026-11-25T01:15:02Z")
	const max = 100
	l := NewLive(NewStats(), LiveConfig{MaxIDs: max})
	for i := range 10 * max {
		if !l.Apply(rating(fmt.Sprint(i), "anlao", "c01", schema.LevelSatisfied, ts)) {
			t.Fatalf("rating %d not applied", i)
		}
		if n := l.Remembered(); n > max {
			t.Fatalf("%d IDs held, max %d", n, max)
		}
	}
	if l.Remembered() != max || len(l.ring) != max {
		t.Fatalf("held %d, ring %d", l.Remembered(), len(l.ring))
	}
	// The most recent max IDs are still refused; the oldest are forgotten.
	if l.Apply(rating(fmt.Sprint(10*max-1), "anlao", "c01", schema.LevelSatisfied, ts)) {
		t.Error("recent ID applied again")
	}
	if l.Apply(rating(fmt.Sprint(9*max), "anlao", "c01", schema.LevelSatisfied, ts)) {
		t.Error("oldest held ID applied again")
	}
	if !l.Apply(rating("0", "anlao", "c01", schema.LevelSatisfied, ts)) {
		t.Error("forgotten ID refused")
	}
	if got := l.Stats().RatingsTotal; got != 10*max+1 {
		t.Errorf("total %d", got)
	}
}
