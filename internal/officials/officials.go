// Package officials computes each official's figures for a period (issue
// 17) from the facts already recorded: who sat where (the queue system's
// login at a counter first, the manager's roster second, and nothing else:
// the camera says a seat is occupied, never who sits in it), the sessions
// served, the ratings given to them, and the staff seat's camera coverage.
//
// A figure about a person is only as good as its attribution, so every
// figure carries its facts: how many sessions were attributed by the
// queue's login and how many by the roster, how many could be attributed
// to nobody (kept apart, never guessed), and, for presence, the expected,
// covered, present and unknown time separately. It computes; it proposes
// nothing about a person.
package officials

import (
	"sort"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/rollup"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
)

// Step is a queue step that names the official logged in at its counter.
type Step struct {
	At      time.Time
	Counter string
	Staff   string
	Ticket  string
	Service string
}

// Session is one citizen served.
type Session struct {
	ID              string
	Counter         string
	Start, End      time.Time
	WaitS, ServiceS float64
	Ticket          string
	Service         string // from the ticket's queue steps, when known
}

// Rating is one citizen's rating.
type Rating struct {
	At      time.Time    `json:"at"`
	Counter string       `json:"counter"`
	Level   schema.Level `json:"level"`
	Reasons []string     `json:"reasons"`
	Session string       // the rated session's ID, when known `json:"session"`
}

// Seat is a counter's staff seat as its camera saw it: the intervals it
// was occupied and those the camera was watching (known states).
type Seat struct {
	Occupied, Covered []kpi.Interval
}

// Dossiers counts the dossiers an official handled on one local day, by
// outcome, as the one-stop-shop software says (the dossier's official).
type Dossiers struct {
	Day      time.Time // the local midnight starting the day
	Official string
	Outcome  schema.Outcome
	N        int
}

// Facts are a site's records over a period.
type Facts struct {
	From, To time.Time
	Steps    []Step
	Sessions []Session
	Ratings  []Rating
	Seats    map[string]Seat // by counter
	// Dossiers carry their official: no attribution is needed.
	Dossiers []Dossiers
}

// Source says how a session was attributed to an official.
type Source string

// Sources of attribution, in order of trust.
const (
	ByLogin  Source = "login"  // the queue system's login on the ticket, or at the counter
	ByRoster Source = "roster" // the manager's schedule
)

// loginHold is how long a login seen at a counter names who sits there
// without a newer step: a morning's work between two tickets, not the
// next day.
const loginHold = 2 * time.Hour

// Figures are one official's figures over the period.
type Figures struct {
	Official string `json:"official"`
	// Sessions served, and how they were attributed.
	Sessions         int     `json:"sessions"`
	SessionsByLogin  int     `json:"sessions_by_login"`
	SessionsByRoster int     `json:"sessions_by_roster"`
	WaitP50S         float64 `json:"wait_p50_s"`
	WaitP90S         float64 `json:"wait_p90_s"`
	ServiceP50S      float64 `json:"service_p50_s"`
	ServiceP90S      float64 `json:"service_p90_s"`
	// Ratings on their sessions, by level; Satisfied counts the levels
	// counted as satisfied; Dissatisfied lists each with its reasons.
	Ratings      map[schema.Level]int `json:"ratings"`
	RatingsTotal int                  `json:"ratings_total"`
	Satisfied    int                  `json:"satisfied"`
	Dissatisfied []Rating             `json:"dissatisfied"`
	// Presence: the time they were expected at a counter (shifts less
	// time away), the part the camera watched, the part of that the seat
	// was occupied, and the expected time the camera could not see
	// (unknown: neither present nor absent). Seconds.
	ExpectedS float64 `json:"expected_s"`
	CoveredS  float64 `json:"covered_s"`
	PresentS  float64 `json:"present_s"`
	UnknownS  float64 `json:"unknown_s"`
	// Services are their sessions by service, each against the center's
	// median for the same service.
	Services []ServiceFigure `json:"services"`
	// Dossiers they handled, and how many early or on time.
	DossiersTotal  int `json:"dossiers_total"`
	DossiersOnTime int `json:"dossiers_on_time"`
}

// ServiceFigure is an official's service times for one service beside the
// center's for the same service.
type ServiceFigure struct {
	Service              string  `json:"service"`
	Sessions             int     `json:"sessions"`
	MedianServiceS       float64 `json:"median_service_s"`
	CenterSessions       int     `json:"center_sessions"`
	CenterMedianServiceS float64 `json:"center_median_service_s"`
}

// Result is every official's figures, and what could not be attributed.
type Result struct {
	Officials []Figures
	// Unattributed sessions and ratings: no login and no one rostered.
	UnattributedSessions int
	UnattributedRatings  int
}

// Tally is one official's figures over one day, in the form days add up
// in: counts, service and wait times by whole second, seconds of presence.
type Tally struct {
	Sessions, ByLogin, ByRoster int
	Wait, Service               rollup.Hist
	// Services are their service times by service.
	Services                                map[string]rollup.Hist
	Ratings                                 map[schema.Level]int
	Dissatisfied                            []Rating
	ExpectedS, CoveredS, PresentS, UnknownS float64
	DossiersTotal, DossiersOnTime           int
}

// NewTally returns an empty Tally with its maps made.
func NewTally() *Tally {
	return &Tally{Services: map[string]rollup.Hist{}, Ratings: map[schema.Level]int{}}
}

// Day is a site's officials' tallies over one local day.
type Day struct {
	Start     time.Time
	Officials map[string]*Tally
	// Center is every session's service time by service, attributed or
	// not: what an official's times are compared with.
	Center                                    map[string]rollup.Hist
	UnattributedSessions, UnattributedRatings int
}

// NewDay returns an empty day.
func NewDay(start time.Time) *Day {
	return &Day{Start: start, Officials: map[string]*Tally{}, Center: map[string]rollup.Hist{}}
}

// Compute attributes the facts to the roster's officials of site and
// computes their figures; satisfied are the levels counted as satisfied.
// It is Sum of Days: the figures of a period read whole and of its days
// kept apart (the rollups) are the same.
func Compute(f Facts, r *roster.Roster, officials []string, satisfied []schema.Level) Result {
	return Sum(Days(f, r, officials), officials, satisfied)
}

// Days cuts the facts at each local midnight of f.From's zone and tallies
// each day on its own: a day's sessions are attributed by that day's
// logins (a ticket number comes back every day), its presence is the
// seats' intervals inside it and the roster's expected time in it.
func Days(f Facts, r *roster.Roster, officials []string) []*Day {
	loc := f.From.Location()
	var out []*Day
	for ds := f.From; ds.Before(f.To); {
		y, m, d := ds.In(loc).Date()
		de := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		if de.After(f.To) {
			de = f.To
		}
		out = append(out, tallyDay(f, r, officials, ds, de))
		ds = de
	}
	return out
}

// within reports whether t is in [from, to).
func within(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

func tallyDay(f Facts, r *roster.Roster, officials []string, from, to time.Time) *Day {
	day := NewDay(from)
	for _, id := range officials {
		day.Officials[id] = NewTally()
	}
	var steps []Step
	for _, s := range f.Steps {
		if within(s.At, from, to) {
			steps = append(steps, s)
		}
	}
	who := newAttribution(steps)
	bySession := map[string]string{}
	waits, services := map[string][]float64{}, map[string][]float64{}
	perService := map[string]map[string][]float64{} // official → service → service times
	center := map[string][]float64{}                // service → service times
	for _, s := range f.Sessions {
		if !within(s.Start, from, to) {
			continue
		}
		if s.Service != "" {
			center[s.Service] = append(center[s.Service], s.ServiceS)
		}
		id, src := who.of(s.Ticket, s.Counter, s.Start, r)
		tl := day.Officials[id]
		if tl == nil {
			day.UnattributedSessions++
			continue
		}
		bySession[s.ID] = id
		tl.Sessions++
		if src == ByLogin {
			tl.ByLogin++
		} else {
			tl.ByRoster++
		}
		waits[id] = append(waits[id], s.WaitS)
		services[id] = append(services[id], s.ServiceS)
		if s.Service != "" {
			if perService[id] == nil {
				perService[id] = map[string][]float64{}
			}
			perService[id][s.Service] = append(perService[id][s.Service], s.ServiceS)
		}
	}
	for svc, v := range center {
		day.Center[svc] = rollup.Of(v)
	}
	for _, rt := range f.Ratings {
		if !within(rt.At, from, to) {
			continue
		}
		id, ok := bySession[rt.Session]
		if !ok {
			id, _ = who.of("", rt.Counter, rt.At, r)
		}
		tl := day.Officials[id]
		if tl == nil {
			day.UnattributedRatings++
			continue
		}
		tl.Ratings[rt.Level]++
		if rt.Level == schema.LevelDissatisfied {
			tl.Dissatisfied = append(tl.Dissatisfied, rt)
		}
	}
	for _, dc := range f.Dossiers {
		if !within(dc.Day, from, to) {
			continue
		}
		if tl := day.Officials[dc.Official]; tl != nil {
			tl.DossiersTotal += dc.N
			if dc.Outcome == schema.OutcomeEarly || dc.Outcome == schema.OutcomeOnTime {
				tl.DossiersOnTime += dc.N
			}
		}
	}
	for _, id := range officials {
		tl := day.Officials[id]
		tl.Wait, tl.Service = rollup.Of(waits[id]), rollup.Of(services[id])
		for svc, times := range perService[id] {
			tl.Services[svc] = rollup.Of(times)
		}
		for counter, expected := range r.Expected(id, from, to) {
			seat := f.Seats[counter]
			covered := kpi.Clip(seat.Covered, from, to)
			exp := total(expected)
			cov := kpi.Overlap(expected, covered)
			tl.ExpectedS += exp
			tl.CoveredS += cov
			tl.UnknownS += exp - cov
			tl.PresentS += kpi.Overlap(intersect(expected, covered), kpi.Clip(seat.Occupied, from, to))
		}
	}
	return day
}

// Sum adds days up into every official's figures, in officials' order;
// days are added in the order given (give them in time order, for the
// dissatisfied ratings' order).
func Sum(days []*Day, officials []string, satisfied []schema.Level) Result {
	sat := kpi.SatisfactionOf(satisfied)
	var res Result
	center := map[string][]rollup.Hist{}
	for _, d := range days {
		res.UnattributedSessions += d.UnattributedSessions
		res.UnattributedRatings += d.UnattributedRatings
		for svc, h := range d.Center {
			center[svc] = append(center[svc], h)
		}
	}
	centerAll := map[string]rollup.Hist{}
	for svc, hs := range center {
		centerAll[svc] = rollup.Merge(hs...)
	}
	for _, id := range officials {
		fg := Figures{Official: id, Ratings: map[schema.Level]int{}}
		var waits, services []rollup.Hist
		perService := map[string][]rollup.Hist{}
		for _, d := range days {
			tl := d.Officials[id]
			if tl == nil {
				continue
			}
			fg.Sessions += tl.Sessions
			fg.SessionsByLogin += tl.ByLogin
			fg.SessionsByRoster += tl.ByRoster
			waits, services = append(waits, tl.Wait), append(services, tl.Service)
			for svc, h := range tl.Services {
				perService[svc] = append(perService[svc], h)
			}
			for l, n := range tl.Ratings {
				fg.Ratings[l] += n
				fg.RatingsTotal += n
				if sat[l] {
					fg.Satisfied += n
				}
			}
			fg.Dissatisfied = append(fg.Dissatisfied, tl.Dissatisfied...)
			fg.ExpectedS += tl.ExpectedS
			fg.CoveredS += tl.CoveredS
			fg.PresentS += tl.PresentS
			fg.UnknownS += tl.UnknownS
			fg.DossiersTotal += tl.DossiersTotal
			fg.DossiersOnTime += tl.DossiersOnTime
		}
		w, sv := rollup.Merge(waits...), rollup.Merge(services...)
		fg.WaitP50S, fg.WaitP90S = w.Quantile(0.5), w.Quantile(0.9)
		fg.ServiceP50S, fg.ServiceP90S = sv.Quantile(0.5), sv.Quantile(0.9)
		for svc, hs := range perService {
			h, c := rollup.Merge(hs...), centerAll[svc]
			fg.Services = append(fg.Services, ServiceFigure{Service: svc, Sessions: int(h.Count()), MedianServiceS: h.Quantile(0.5),
				CenterSessions: int(c.Count()), CenterMedianServiceS: c.Quantile(0.5)})
		}
		sort.Slice(fg.Services, func(i, j int) bool { return fg.Services[i].Service < fg.Services[j].Service })
		res.Officials = append(res.Officials, fg)
	}
	return res
}

// attribution answers who sat at a counter when.
type attribution struct {
	byTicket  map[string]string // ticket → staff of its latest step naming one
	byCounter map[string][]Step // counter → steps naming staff, by time
}

func newAttribution(steps []Step) *attribution {
	a := &attribution{byTicket: map[string]string{}, byCounter: map[string][]Step{}}
	sorted := append([]Step(nil), steps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	for _, s := range sorted {
		if s.Staff == "" {
			continue
		}
		if s.Ticket != "" {
			a.byTicket[s.Ticket+"\x00"+s.Counter] = s.Staff
		}
		a.byCounter[s.Counter] = append(a.byCounter[s.Counter], s)
	}
	return a
}

// of is the official at counter at t: the login on the ticket, else the
// latest login at the counter within loginHold, else who the roster has
// there (not away), else "".
func (a *attribution) of(ticket, counter string, t time.Time, r *roster.Roster) (string, Source) {
	if ticket != "" {
		if s, ok := a.byTicket[ticket+"\x00"+counter]; ok {
			return s, ByLogin
		}
	}
	steps := a.byCounter[counter]
	i := sort.Search(len(steps), func(i int) bool { return steps[i].At.After(t) })
	if i > 0 && t.Sub(steps[i-1].At) <= loginHold {
		return steps[i-1].Staff, ByLogin
	}
	if r != nil {
		if as, ok := r.At(counter, t); ok && !as.Away {
			return as.Official, ByRoster
		}
	}
	return "", ""
}

func total(iv []kpi.Interval) float64 {
	var s float64
	for _, i := range iv {
		s += i.To.Sub(i.From).Seconds()
	}
	return s
}

// intersect is the intervals of a inside b (both sorted and disjoint).
func intersect(a, b []kpi.Interval) []kpi.Interval {
	var out []kpi.Interval
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		f, t := a[i].From, a[i].To
		if b[j].From.After(f) {
			f = b[j].From
		}
		if b[j].To.Before(t) {
			t = b[j].To
		}
		if f.Before(t) {
			out = append(out, kpi.Interval{From: f, To: t})
		}
		if a[i].To.Before(b[j].To) {
			i++
		} else {
			j++
		}
	}
	return out
}
