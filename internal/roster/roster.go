// Package roster says which official is expected at which counter when:
// the manager's schedule (weekly shifts at counters, each valid for a span
// of dates) less the time an official is not expected there (leave,
// business trips, training days). It is the second source of issue 17's
// "who sat where"; the first, trusted more, is the queue system's login at
// a counter. The camera says a seat is occupied, never who sits in it.
//
// Everything about a person rests on this file, so it is refused whole on
// any doubt: an unknown official, a shift overlapping another at the same
// counter or the same official in two places at once, a day or a time
// that does not exist. Refused, nothing of it is used.
package roster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

// File is the schedule file's form.
type File struct {
	TimeZone  string     `yaml:"time_zone"`
	Officials []Official `yaml:"officials"`
	Shifts    []Shift    `yaml:"shifts"`
	Away      []Away     `yaml:"away"`
}

// Official is a person who may staff a counter.
type Official struct {
	// ID is how events and pages name them (the queue system's login).
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	Site string `yaml:"site"`
}

// Shift is an official's weekly time at one counter, valid from one date
// to another (both included; to empty: open-ended).
type Shift struct {
	Official string   `yaml:"official"`
	Counter  string   `yaml:"counter"`
	Days     []string `yaml:"days"`  // mon .. sun
	Spans    []string `yaml:"spans"` // "07:30-11:30"
	From     string   `yaml:"from"`  // YYYY-MM-DD
	To       string   `yaml:"to"`
}

// Away is time an official is not expected at any counter.
type Away struct {
	Official string `yaml:"official"`
	// Kind is leave, business_trip, training or sick.
	Kind string `yaml:"kind"`
	From string `yaml:"from"` // YYYY-MM-DD or YYYY-MM-DDTHH:MM
	To   string `yaml:"to"`   // the same; a date is the whole day
	Note string `yaml:"note"`
}

// awayKinds are the kinds of time away.
var awayKinds = map[string]bool{"leave": true, "business_trip": true, "training": true, "sick": true}

// Roster is a checked schedule.
type Roster struct {
	tz        string
	loc       *time.Location
	officials map[string]Official
	shifts    []shift
	away      map[string][]kpi.Interval // by official, sorted, merged
	digest    string
}

// Digest names the schedule's content: two rosters with the same digest
// attribute alike. The officials' rollups keep it, and a day computed
// under another schedule is computed again.
func (r *Roster) Digest() string { return r.digest }

type shift struct {
	official, counter string
	hours             kpi.WorkHours
	from, to          time.Time // [from, to): to zero is open-ended
}

// Load reads and checks a schedule file.
func Load(path string) (*Roster, error) {
	var f File
	if err := config.Read(path, &f); err != nil {
		return nil, err
	}
	r, err := New(f)
	if err != nil {
		return nil, fmt.Errorf("roster: %s: %w", path, err)
	}
	return r, nil
}

// New checks f and makes its roster.
func New(f File) (*Roster, error) {
	tz := f.TimeZone
	if tz == "" {
		tz = timezone.Default
	}
	loc, err := timezone.Location(tz)
	if err != nil {
		return nil, fmt.Errorf("time_zone: %w", err)
	}
	r := &Roster{tz: tz, loc: loc, officials: map[string]Official{}, away: map[string][]kpi.Interval{}}
	if b, err := json.Marshal(f); err == nil {
		sum := sha256.Sum256(b)
		r.digest = hex.EncodeToString(sum[:8])
	}
	for i, o := range f.Officials {
		switch {
		case !schema.ValidID(o.ID):
			return nil, fmt.Errorf("officials[%d]: id %q must match %s", i, o.ID, schema.IDPattern)
		case strings.TrimSpace(o.Name) == "" || len(o.Name) > 200:
			return nil, fmt.Errorf("officials[%d] %s: a name of 1 to 200 bytes is required", i, o.ID)
		case !schema.ValidID(o.Site):
			return nil, fmt.Errorf("officials[%d] %s: site %q must match %s", i, o.ID, o.Site, schema.IDPattern)
		}
		if _, dup := r.officials[o.ID]; dup {
			return nil, fmt.Errorf("officials[%d]: %s listed twice", i, o.ID)
		}
		r.officials[o.ID] = o
	}
	for i, s := range f.Shifts {
		sh, err := r.shift(s)
		if err != nil {
			return nil, fmt.Errorf("shifts[%d]: %w", i, err)
		}
		for j, o := range r.shifts {
			if !overlap(sh, o) {
				continue
			}
			switch {
			case sh.counter == o.counter:
				return nil, fmt.Errorf("shifts[%d]: %s at %s overlaps shifts[%d] (%s at the same counter)", i, sh.official, sh.counter, j, o.official)
			case sh.official == o.official:
				return nil, fmt.Errorf("shifts[%d]: %s at %s overlaps shifts[%d] (at %s): one person, two counters", i, sh.official, sh.counter, j, o.counter)
			}
		}
		r.shifts = append(r.shifts, sh)
	}
	for i, a := range f.Away {
		if _, ok := r.officials[a.Official]; !ok {
			return nil, fmt.Errorf("away[%d]: unknown official %q", i, a.Official)
		}
		if !awayKinds[a.Kind] {
			return nil, fmt.Errorf("away[%d]: kind %q: want leave, business_trip, training or sick", i, a.Kind)
		}
		from, err := r.moment(a.From, false)
		if err != nil {
			return nil, fmt.Errorf("away[%d] from: %w", i, err)
		}
		to, err := r.moment(a.To, true)
		if err != nil {
			return nil, fmt.Errorf("away[%d] to: %w", i, err)
		}
		if !to.After(from) {
			return nil, fmt.Errorf("away[%d]: to %s is not after from %s", i, a.To, a.From)
		}
		if len(a.Note) > 500 {
			return nil, fmt.Errorf("away[%d]: note longer than 500 bytes", i)
		}
		r.away[a.Official] = kpi.Union(r.away[a.Official], []kpi.Interval{{From: from, To: to}})
	}
	return r, nil
}

func (r *Roster) shift(s Shift) (shift, error) {
	if _, ok := r.officials[s.Official]; !ok {
		return shift{}, fmt.Errorf("unknown official %q", s.Official)
	}
	if !schema.ValidID(s.Counter) {
		return shift{}, fmt.Errorf("counter %q must match %s", s.Counter, schema.IDPattern)
	}
	hours, err := kpi.HoursConfig{TimeZone: r.tz, Days: s.Days, Spans: s.Spans}.WorkHours()
	if err != nil {
		return shift{}, err
	}
	if len(s.Days) == 0 || len(s.Spans) == 0 {
		return shift{}, errors.New("days and spans: at least one of each")
	}
	sh := shift{official: s.Official, counter: s.Counter, hours: hours}
	if sh.from, err = r.day(s.From); err != nil {
		return shift{}, fmt.Errorf("from: %w", err)
	}
	if s.To != "" {
		last, err := r.day(s.To)
		if err != nil {
			return shift{}, fmt.Errorf("to: %w", err)
		}
		sh.to = last.AddDate(0, 0, 1)
		if !sh.to.After(sh.from) {
			return shift{}, fmt.Errorf("to %s is before from %s", s.To, s.From)
		}
	}
	return sh, nil
}

func (r *Roster) day(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, r.loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a real YYYY-MM-DD day", s)
	}
	return t, nil
}

// moment reads a day (its start, or with end its end) or a local time.
func (r *Roster) moment(s string, end bool) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, r.loc); err == nil {
		return t, nil
	}
	t, err := r.day(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor YYYY-MM-DDTHH:MM", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// overlap reports whether two shifts share a moment: dates, days and spans.
func overlap(a, b shift) bool {
	from := later(a.from, b.from)
	var to time.Time
	switch {
	case a.to.IsZero():
		to = b.to
	case b.to.IsZero():
		to = a.to
	default:
		to = earlier(a.to, b.to)
	}
	if !to.IsZero() && !to.After(from) {
		return false
	}
	// A week of their common validity holds every combination of days.
	end := from.AddDate(0, 0, 7)
	if !to.IsZero() && to.Before(end) {
		end = to
	}
	return kpi.Overlap(a.hours.Windows(from, end), b.hours.Windows(from, end)) > 0
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// OfficialsOf returns site's officials, by name.
func (r *Roster) OfficialsOf(site string) []Official {
	var out []Official
	for _, o := range r.officials {
		if o.Site == site {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Name < out[j].Name || out[i].Name == out[j].Name && out[i].ID < out[j].ID
	})
	return out
}

// IDsOf returns the IDs of site's officials, in OfficialsOf's order.
func (r *Roster) IDsOf(site string) []string {
	os := r.OfficialsOf(site)
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	return ids
}

// Official returns an official by ID.
func (r *Roster) Official(id string) (Official, bool) {
	o, ok := r.officials[id]
	return o, ok
}

// Assignment is who is rostered at a counter at a moment, and whether
// they are away then (leave, a business trip ...).
type Assignment struct {
	Official string
	Away     bool // rostered, but on leave, a trip, training or sick
}

// At returns who is rostered at counter at t, if anyone.
func (r *Roster) At(counter string, t time.Time) (Assignment, bool) {
	for _, s := range r.shifts {
		if s.counter != counter || t.Before(s.from) || (!s.to.IsZero() && !t.Before(s.to)) || !s.hours.Contains(t) {
			continue
		}
		a := Assignment{Official: s.official}
		for _, iv := range r.away[s.official] {
			if !t.Before(iv.From) && t.Before(iv.To) {
				a.Away = true
				break
			}
		}
		return a, true
	}
	return Assignment{}, false
}

// Expected returns the time official is expected at each counter within
// [start, end): their shifts less the time away, sorted.
func (r *Roster) Expected(official string, start, end time.Time) map[string][]kpi.Interval {
	out := map[string][]kpi.Interval{}
	for _, s := range r.shifts {
		if s.official != official {
			continue
		}
		from, to := later(start, s.from), end
		if !s.to.IsZero() {
			to = earlier(end, s.to)
		}
		if !to.After(from) {
			continue
		}
		out[s.counter] = kpi.Union(out[s.counter], subtract(s.hours.Windows(from, to), r.away[official]))
	}
	return out
}

// subtract is a less b (both sorted, b merged).
func subtract(a, b []kpi.Interval) []kpi.Interval {
	var out []kpi.Interval
	for _, iv := range a {
		cur := []kpi.Interval{iv}
		for _, cut := range b {
			var next []kpi.Interval
			for _, c := range cur {
				if !cut.To.After(c.From) || !c.To.After(cut.From) {
					next = append(next, c)
					continue
				}
				if cut.From.After(c.From) {
					next = append(next, kpi.Interval{From: c.From, To: cut.From})
				}
				if c.To.After(cut.To) {
					next = append(next, kpi.Interval{From: cut.To, To: c.To})
				}
			}
			cur = next
		}
		out = append(out, cur...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}
