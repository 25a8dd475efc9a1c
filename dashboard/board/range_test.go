package board

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
)

// recordingLoader is fakeLoader remembering the spans it was asked for.
type recordingLoader struct {
	fakeLoader
	mu     sync.Mutex
	totals [][2]time.Time
	volume [][2]time.Time
	fail   error
}

func (r *recordingLoader) LoadTotals(ctx context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	r.mu.Lock()
	r.totals = append(r.totals, [2]time.Time{start, end})
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return kpi.Stats{}, nil, fail
	}
	return r.fakeLoader.LoadTotals(ctx, site, start, end)
}

func (r *recordingLoader) YearVolume(ctx context.Context, site string, start, end time.Time) (kpi.Volume, error) {
	r.mu.Lock()
	r.volume = append(r.volume, [2]time.Time{start, end})
	r.mu.Unlock()
	return r.fakeLoader.YearVolume(ctx, site, start, end)
}

// TestRange: a chosen range is read from the loader over exactly its days,
// in the cards' JSON with the pass rule's decimals; bad specs and unknown
// sites are refused before any query; the budget's "last year" is the
// previous reporting year.
func TestRange(t *testing.T) {
	ict := time.FixedZone("ICT", 7*3600)
	now := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	src := &recordingLoader{}
	b := New([]kpi.Site{{ID: "anlao", Name: "Trung tâm An Lão"}}, src, ict, kpi.DefaultTargets(), kpi.DefaultSatisfied(),
		slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
	if err := b.Reload(context.Background(), "anlao"); err != nil {
		t.Fatal(err)
	}
	// The reporting year under way on 3 December 2026 is 2027, from
	// 01/12/2026; the one before it ran from 01/12/2025.
	if len(src.volume) != 1 || !src.volume[0][0].Equal(time.Date(2025, 12, 1, 0, 0, 0, 0, ict)) || !src.volume[0][1].Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, ict)) {
		t.Errorf("last year's volume asked for %v", src.volume)
	}
	src.totals = nil

	r, err := b.ParseRange("01/11/2026..2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Range(context.Background(), "anlao", r)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.totals) != 1 || !src.totals[0][0].Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, ict)) || !src.totals[0][1].Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, ict)) {
		t.Errorf("loaded %v, want 01/11/2026 to 01/12/2026", src.totals)
	}
	want := RangeBoundsJSON{First: "2026-11-01", Last: "2026-11-30", Kind: kpi.KindCustom, Label: "2026-11-01..2026-11-30"}
	if got.Type != "range" || got.Site != "anlao" || got.SiteName != "Trung tâm An Lão" || got.Range != want || !got.Generated.Equal(now) {
		t.Errorf("range %+v", got)
	}
	if s := got.Stats; s.RatingsTotal != 1000 || s.SatisfiedShown != 96 || s.SatisfiedDecimals != 1 || !s.SatisfactionMet || s.OnTimeShown != 98.2 || !s.OnTimeMet {
		t.Errorf("stats %+v", s)
	}
	if got.Targets.SatisfactionPct != 95 || got.Targets.SatisfactionRule != kpi.RuleAbove {
		t.Errorf("targets %+v", got.Targets)
	}
	raw, _ := json.Marshal(got)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m["range"].(map[string]any)["kind"] != "custom" || m["stats"].(map[string]any)["satisfied_shown"] != 96.0 {
		t.Errorf("json %s", raw)
	}

	// The reporting year by its label.
	r, err = b.ParseRange("2026")
	if err != nil || !r.From.Equal(time.Date(2025, 12, 1, 0, 0, 0, 0, ict)) || r.Kind != kpi.KindYear {
		t.Errorf("2026: %+v %v", r, err)
	}
	src.totals = nil
	for _, spec := range []string{"2026-12-04", "nonsense", "2026-12-01..2026-11-01"} {
		var re *kpi.RangeError
		if _, err := b.ParseRange(spec); !errors.As(err, &re) {
			t.Errorf("%q: %v", spec, err)
		}
	}
	if _, err := b.Range(context.Background(), "hanoi", r); !errors.Is(err, ErrUnknownSite) {
		t.Errorf("unknown site: %v", err)
	}
	if len(src.totals) != 0 {
		t.Errorf("refused ranges queried %v", src.totals)
	}
	src.fail = errors.New("influxdb down")
	if _, err := b.Range(context.Background(), "anlao", r); err == nil || errors.Is(err, ErrUnknownSite) {
		t.Errorf("failed load: %v", err)
	}
}
