package kpi

import (
	"testing"
	"time"
)

// TestPresenceDays: cut by day, presence adds up to the period read whole
// while the camera keeps speaking, and a seat the camera has not spoken of
// for SeatSilence stops being counted instead of reading as vacant.
func TestPresenceDays(t *testing.T) {
	w := DefaultWorkHours()
	at := func(day, hm string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, w.Loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	changes := []Change{
		{At: at("2026-03-02", "08:00"), Occupied: true},
		{At: at("2026-03-03", "12:00")},                 // vacant over lunch and the afternoon
		{At: at("2026-03-04", "07:45"), Occupied: true}, // then nothing more is said
	}
	evidence := []Interval{{at("2026-03-03", "14:00"), at("2026-03-03", "14:20")}}
	start, end := at("2026-03-02", "00:00"), at("2026-03-16", "00:00")
	days := PresenceDays(w, nil, changes, evidence, start, end)
	if len(days) != 14 {
		t.Fatalf("%d days", len(days))
	}
	var p, c, wk float64
	for i, d := range days {
		counted := i <= 9 // 2 to 11 March: the last word was on the 4th, a week before the 11th began
		if d.Counted != counted {
			t.Errorf("%s counted %v, want %v", d.Start.Format("02/01"), d.Counted, counted)
		}
		p, c, wk = p+d.PresentS, c+d.CoveredS, wk+d.WorkS
	}
	// Mon 2: 08:00-17:00 seen (7 h of the 7.5 working); Tue 3: present
	// 07:30-11:30 and 14:00-14:20 (evidence), vacant the rest; Wed 4 to
	// Wed 11: present all working time (6 working days) but Wed 4's
	// 07:30-07:45, still vacant from the day before.
	wantP := 7*3600 + (4*3600 + 20*60) + 6*7.5*3600 - 15*60
	wantC := 7*3600 + 7.5*3600 + 6*7.5*3600
	if p != wantP || c != wantC || wk != 8*7.5*3600 {
		t.Errorf("present %v covered %v work %v, want %v %v %v", p, c, wk, wantP, wantC, 8*7.5*3600)
	}
	// Over days the camera speaks of, the cut changes nothing.
	wp, wc, ww := Presence(nil, changes, evidence, w.Windows(start, at("2026-03-07", "00:00")), start, at("2026-03-07", "00:00"))
	var dp, dc, dw float64
	for _, d := range PresenceDays(w, nil, changes, evidence, start, at("2026-03-07", "00:00")) {
		dp, dc, dw = dp+d.PresentS, dc+d.CoveredS, dw+d.WorkS
	}
	if wp != dp || wc != dc || ww != dw {
		t.Errorf("whole %v %v %v, by day %v %v %v", wp, wc, ww, dp, dc, dw)
	}
}
