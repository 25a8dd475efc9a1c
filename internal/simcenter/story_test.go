package simcenter

import (
	"fmt"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// tally is what a stretch of the simulated history holds.
type tally struct {
	ratings, satisfied, dossiers, late, sessions int
	days                                         map[int64]bool // working days with citizens, by their midnight's Unix time
}

func (t *tally) satisfiedPct() float64 { return 100 * float64(t.satisfied) / float64(t.ratings) }
func (t *tally) onTimePct() float64    { return 100 * float64(t.dossiers-t.late) / float64(t.dossiers) }
func (t *tally) perDay() float64       { return float64(t.sessions) / float64(len(t.days)) }

// TestStoryYear plays a year of a center living its story, as the demo's
// backfill writes it, and checks that the year looks lived: the bad month
// and the late weeks stand out from the rest, the Tết holiday is quiet and
// the weeks before it busy, the outage day's camera reports its zones
// unknown and says nothing more until it is back, every rating belongs to
// a session of its own, and every event keeps the contract.
func TestStoryYear(t *testing.T) {
	t.Parallel()
	end := day(2026, 12, 1)
	story := NewStory(11, end, 365, 8)
	if again := NewStory(11, end, 365, 8); fmt.Sprint(again) != fmt.Sprint(story) {
		t.Fatalf("same seed, different story: %+v %+v", story, again)
	}
	if !story.From.Equal(day(2025, 12, 1)) || !story.To.Equal(end) {
		t.Fatalf("window %v..%v", story.From, story.To)
	}
	for _, in := range []time.Time{story.BadMonth, story.LateFrom, story.LateTo, story.Outage.From} {
		if in.Before(story.From) || in.After(story.To) {
			t.Fatalf("%v outside the window %+v", in, story)
		}
	}
	if wd := story.Outage.From.In(Location()).Weekday(); wd == time.Saturday || wd == time.Sunday {
		t.Fatalf("outage on a %v", wd)
	}

	g := New(Config{Site: "anlao", Counters: 8, Seed: 11, Start: story.From, Calendar: story.Day, NoHeartbeats: true})
	msgs := generate(g, story.To)
	events := checkStream(t, "anlao", msgs)

	var year, bad, spike, rest, tet, preTet tally
	sessions := map[string]bool{}
	rated := map[string]bool{}
	// The outage counter's camera: what it says, and when.
	var unknownAt, knownAt []time.Time
	var seenBlind, downReports int
	for _, ev := range events {
		h := ev.Head()
		local := midnightOf(h.TS)
		stretches := []*tally{&year}
		inMonth := local.Year() == story.BadMonth.Year() && local.Month() == story.BadMonth.Month()
		inSpike := !local.Before(story.LateFrom) && local.Before(story.LateTo)
		switch {
		case inMonth:
			stretches = append(stretches, &bad)
		case inSpike:
			stretches = append(stretches, &spike)
		default:
			stretches = append(stretches, &rest)
		}
		tetDay := day(2026, 2, 17)
		switch {
		case !local.Before(tetDay.AddDate(0, 0, -3)) && local.Before(tetDay.AddDate(0, 0, 5)):
			stretches = append(stretches, &tet)
		case !local.Before(tetDay.AddDate(0, 0, -24)) && local.Before(tetDay.AddDate(0, 0, -3)):
			stretches = append(stretches, &preTet)
		}
		for _, s := range stretches {
			switch e := ev.(type) {
			case *schema.Rating:
				s.ratings++
				if e.Level == schema.LevelVerySatisfied || e.Level == schema.LevelSatisfied {
					s.satisfied++
				}
			case *schema.Dossier:
				s.dossiers++
				if e.Outcome == schema.OutcomeLate {
					s.late++
				}
			case *schema.Session:
				s.sessions++
				if s.days == nil {
					s.days = map[int64]bool{}
				}
				s.days[local.Unix()] = true
			}
		}
		switch e := ev.(type) {
		case *schema.Session:
			sessions[e.ID] = true
		case *schema.Rating:
			if e.Session == "" || !sessions[e.Session] {
				t.Fatalf("rating %s at %v rates no session seen before it (%q)", e.ID, e.TS, e.Session)
			}
			if rated[e.Session] {
				t.Fatalf("session %s rated twice", e.Session)
			}
			rated[e.Session] = true
		case *schema.Occupancy:
			if e.Counter != story.Outage.Counter {
				continue
			}
			blind := !e.TS.Before(story.Outage.From) && e.TS.Before(story.Outage.To)
			switch {
			case e.State == schema.ZoneUnknown:
				unknownAt = append(unknownAt, e.TS)
			case !e.TS.Before(story.Outage.To) && e.TS.Sub(story.Outage.To) < time.Millisecond:
				knownAt = append(knownAt, e.TS)
			case blind:
				seenBlind++
			}
		case *schema.Camera:
			if !e.Up && !e.TS.Before(story.Outage.From) && e.TS.Before(story.Outage.To) {
				downReports++
			}
		}
	}

	t.Logf("year %.2f %% satisfied of %d, %.2f %% on time of %d, %.0f sessions a day; bad month %s %.2f %%; late weeks %.2f %%; rest %.2f %% / %.2f %%; pre-Tết %.0f a day, Tết %.0f a day",
		year.satisfiedPct(), year.ratings, year.onTimePct(), year.dossiers, year.perDay(),
		story.BadMonth.Format("2006-01"), bad.satisfiedPct(), spike.onTimePct(), rest.satisfiedPct(), rest.onTimePct(),
		preTet.perDay(), tet.perDay())
	if !(bad.satisfiedPct() < 95 && rest.satisfiedPct() > 95.5) {
		t.Errorf("the bad month (%.2f %%) does not stand out from the rest (%.2f %%)", bad.satisfiedPct(), rest.satisfiedPct())
	}
	if !(spike.onTimePct() < 98 && rest.onTimePct() > 98) {
		t.Errorf("the late weeks (%.2f %%) do not stand out from the rest (%.2f %%)", spike.onTimePct(), rest.onTimePct())
	}
	if !(tet.perDay() < 0.4*rest.perDay() && preTet.perDay() > 1.15*rest.perDay()) {
		t.Errorf("Tết %.0f, the weeks before %.0f, the rest %.0f sessions a day", tet.perDay(), preTet.perDay(), rest.perDay())
	}
	if year.ratings > year.sessions || year.ratings < year.sessions/2 {
		t.Errorf("%d ratings for %d sessions", year.ratings, year.sessions)
	}
	// Events at the same moment are a nanosecond apart (ts strictly grow).
	if len(unknownAt) != 2 || unknownAt[1].Sub(story.Outage.From) > time.Millisecond || len(knownAt) != 2 || seenBlind != 0 {
		t.Errorf("outage of %s %v..%v: unknown at %v, known again at %v, %d states while blind",
			story.Outage.Counter, story.Outage.From, story.Outage.To, unknownAt, knownAt, seenBlind)
	}
	if want := int(story.Outage.To.Sub(story.Outage.From) / cameraPeriod); downReports < want-1 || downReports > want+1 {
		t.Errorf("%d camera-down reports in the outage, want about %d", downReports, want)
	}
}

// TestStoryShortWindow: a short window holds the whole story too, as a
// test's history of a few weeks needs.
func TestStoryShortWindow(t *testing.T) {
	t.Parallel()
	for _, days := range []int{30, 60} {
		s := NewStory(3, day(2026, 7, 4), days, 4) // ends on a Saturday
		if s.LateFrom.Before(s.From) || s.LateTo.After(s.To) || !s.LateTo.After(s.LateFrom) {
			t.Errorf("%d days: late weeks %v..%v outside %v..%v", days, s.LateFrom, s.LateTo, s.From, s.To)
		}
		if s.Outage.From.Before(s.From) || !s.Outage.To.Before(s.To) {
			t.Errorf("%d days: outage %v..%v outside %v..%v", days, s.Outage.From, s.Outage.To, s.From, s.To)
		}
		if wd := s.Outage.From.In(Location()).Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Errorf("%d days: outage on a %v", days, wd)
		}
	}
}
