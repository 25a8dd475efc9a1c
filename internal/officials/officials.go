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

// Dossiers counts the dossiers an official handled, by outcome, as the
// one-stop-shop software says (the dossier's official).
type Dossiers struct {
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
	// Dossiers are counted over the facts' own period: they carry their
	// official, no attribution is needed.
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

// Compute attributes the facts to the roster's officials of site and
// computes their figures; satisfied are the levels counted as satisfied.
func Compute(f Facts, r *roster.Roster, officials []string, satisfied []schema.Level) Result {
	who := newAttribution(f.Steps)
	sat := map[schema.Level]bool{}
	for _, l := range satisfied {
		sat[l] = true
	}
	figs := map[string]*Figures{}
	for _, id := range officials {
		figs[id] = &Figures{Official: id, Ratings: map[schema.Level]int{}}
	}
	var res Result
	bySession := map[string]string{}
	waits, services := map[string][]float64{}, map[string][]float64{}
	perService := map[string]map[string][]float64{} // official → service → service times
	center := map[string][]float64{}                // service → service times
	for _, s := range f.Sessions {
		if s.Start.Before(f.From) || !s.Start.Before(f.To) {
			continue
		}
		if s.Service != "" {
			center[s.Service] = append(center[s.Service], s.ServiceS)
		}
		id, src := who.of(s.Ticket, s.Counter, s.Start, r)
		fg := figs[id]
		if fg == nil {
			res.UnattributedSessions++
			continue
		}
		bySession[s.ID] = id
		fg.Sessions++
		if src == ByLogin {
			fg.SessionsByLogin++
		} else {
			fg.SessionsByRoster++
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
	for _, rt := range f.Ratings {
		if rt.At.Before(f.From) || !rt.At.Before(f.To) {
			continue
		}
		id, ok := bySession[rt.Session]
		if !ok {
			id, _ = who.of("", rt.Counter, rt.At, r)
		}
		fg := figs[id]
		if fg == nil {
			res.UnattributedRatings++
			continue
		}
		fg.Ratings[rt.Level]++
		fg.RatingsTotal++
		if sat[rt.Level] {
			fg.Satisfied++
		}
		if rt.Level == schema.LevelDissatisfied {
			fg.Dissatisfied = append(fg.Dissatisfied, rt)
		}
	}
	for _, dc := range f.Dossiers {
		if fg := figs[dc.Official]; fg != nil {
			fg.DossiersTotal += dc.N
			if dc.Outcome == schema.OutcomeEarly || dc.Outcome == schema.OutcomeOnTime {
				fg.DossiersOnTime += dc.N
			}
		}
	}
	for _, id := range officials {
		fg := figs[id]
		fg.WaitP50S, fg.WaitP90S = percentile(waits[id], 50), percentile(waits[id], 90)
		fg.ServiceP50S, fg.ServiceP90S = percentile(services[id], 50), percentile(services[id], 90)
		for svc, times := range perService[id] {
			fg.Services = append(fg.Services, ServiceFigure{Service: svc, Sessions: len(times), MedianServiceS: percentile(times, 50),
				CenterSessions: len(center[svc]), CenterMedianServiceS: percentile(center[svc], 50)})
		}
		sort.Slice(fg.Services, func(i, j int) bool { return fg.Services[i].Service < fg.Services[j].Service })
		for counter, expected := range r.Expected(id, f.From, f.To) {
			seat := f.Seats[counter]
			exp := total(expected)
			covered := kpi.Overlap(expected, seat.Covered)
			fg.ExpectedS += exp
			fg.CoveredS += covered
			fg.UnknownS += exp - covered
			fg.PresentS += kpi.Overlap(intersect(expected, seat.Covered), seat.Occupied)
		}
		res.Officials = append(res.Officials, *fg)
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

// percentile is the nearest-rank p-th percentile, 0 of nothing.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	k := int(float64(len(s))*p/100+0.9999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}
