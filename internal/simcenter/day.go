package simcenter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// The shape of a working day. The rates keep the counters about 80 % busy,
// which is what makes waits, no-shows and breaks look like a real center.
const (
	issueStop   = 30 * time.Minute // the ticket machine stops half an hour before closing
	callStop    = 10 * time.Minute // counters call no one in the last ten minutes
	serviceStop = 3 * time.Minute  // a service ends at the latest three minutes before closing

	ticketsPerCounterHour  = 6.2 // arrivals per hour for each counter of a service
	dossiersPerCounterHour = 1.0 // dossiers resolved per hour for each counter

	noShowP = 0.03 // a called citizen never comes
	// ratingP is the share of served citizens who press a rating button:
	// most, not all, as centers with kiosks see. Each rates at most once.
	ratingP = 0.72
	breakP  = 0.04 // the official leaves the seat after a citizen
)

// Rating proportions on an ordinary day: 96.5 % very_satisfied or
// satisfied, the plan target being above 95 %; 2 % neutral, 1.5 %
// dissatisfied. A Day's Unsatisfied moves the last two together.
const (
	verySatisfiedP = 0.72
	satisfiedP     = 0.245
	neutralP       = 0.02 // the rest is dissatisfied
)

// Dossier outcomes on an ordinary day: about 98.5 % early or on time, the
// target being above 98 %. A Day's Late replaces lateP; on time and early
// share the rest as they do here.
const (
	lateP   = 0.015
	onTimeP = 0.435 // the rest is early
)

// Day is how one local day of the center goes, as a Calendar tells it.
type Day struct {
	// Load scales the citizens arriving and the dossiers resolved: 1 is
	// an ordinary day, 1.3 the rush before Tết, 0.2 the Tết holiday.
	// Counters serve at their own pace, so on a busy day queues and waits
	// grow and the tickets left at closing time expire.
	Load float64
	// Unsatisfied is the share of ratings neither very satisfied nor
	// satisfied (neutral and dissatisfied, in the ordinary proportion).
	Unsatisfied float64
	// Late is the share of dossiers resolved after their due time.
	Late float64
	// Outage, when To is after From, is a camera down that day.
	Outage Outage
}

// Outage is a camera that stops sending video: its health reports say
// up:false every 10 s from From to To, and the zones it watches are
// reported unknown at From and known again at To, with what they hold
// then. Service goes on: sessions come from the queue system.
type Outage struct {
	Counter  string // the counter whose camera is down, "c03"
	From, To time.Time
}

// OrdinaryDay is a day with the fixed proportions above.
func OrdinaryDay() Day {
	return Day{Load: 1, Unsatisfied: 1 - verySatisfiedP - satisfiedP, Late: lateP}
}

type service struct {
	id       string
	prefix   byte
	counters []*counter
	queue    []*ticket // issued, not yet called
	issued   int       // tickets issued today, for the printed number
}

type ticket struct {
	number  string
	service *service
	issued  time.Time
}

type counter struct {
	id, kiosk, camera string
	service           *service
	present           bool // the official is in the seat
	seated            bool // a citizen is in the citizen's seat
	serving           bool // a ticket was called and is not finished
	pending           bool // a call is already scheduled, so new tickets need not wake the counter
	blind             bool // the counter's camera is down: its zones are unknown
}

// catalog is the services the simulated center's counters serve, with the
// letter their tickets start with.
func catalog() []struct {
	id     string
	prefix byte
} {
	return []struct {
		id     string
		prefix byte
	}{
		{"ho-tich", 'A'},    // civil status: births, marriages, deaths
		{"chung-thuc", 'B'}, // certified copies and signatures
		{"dat-dai", 'C'},    // land
		{"kinh-doanh", 'D'}, // household business registration
	}
}

// procedures are codes of administrative procedures in the national
// catalog, as dossiers carry them.
func procedures() []string {
	return []string{"1.001193", "1.000894", "2.000908", "1.004227", "2.001263", "1.001612"}
}

// build creates the services, counters and cameras: counter i serves
// service i mod len(services), and each counter has its own kiosk and
// camera.
func (g *Generator) build() {
	cat := catalog()
	n := min(len(cat), g.cfg.Counters)
	for _, s := range cat[:n] {
		g.services = append(g.services, &service{id: s.id, prefix: s.prefix})
	}
	for i := range g.cfg.Counters {
		num := fmt.Sprintf("%02d", i+1)
		s := g.services[i%n]
		c := &counter{id: "c" + num, kiosk: "k" + num, camera: "cam" + num, service: s}
		s.counters = append(s.counters, c)
		g.counters = append(g.counters, c)
		g.cameras = append(g.cameras, &camera{id: c.camera})
	}
}

// planDay schedules the local day that starts at midnight: officials
// arriving and leaving, tickets, dossiers. Tickets left at the end of a day
// expire silently, as queue systems do.
func (g *Generator) planDay(midnight time.Time) {
	next := midnight.AddDate(0, 0, 1)
	g.at(next, func(time.Time) (Message, bool) {
		g.planDay(next)
		return Message{}, false
	})
	for _, s := range g.services {
		s.queue, s.issued = nil, 0
	}
	g.day = OrdinaryDay()
	if g.cfg.Calendar != nil {
		g.day = g.cfg.Calendar(midnight)
	}
	g.planOutage(midnight, next)
	for _, p := range periods(midnight) {
		if !p.close.After(g.now) {
			continue
		}
		for _, c := range g.counters {
			g.at(p.open.Add(uniform(g.rng, 0, 5*time.Minute)), g.staffArrive(c))
			g.at(p.close.Add(-uniform(g.rng, time.Second, time.Minute)), g.staffLeave(c))
		}
		if !(g.day.Load > 0) {
			continue // nobody comes: the officials sit at empty counters
		}
		for _, s := range g.services {
			g.at(p.open.Add(exp(g.rng, g.ticketRate(s))), g.issue(s, p))
		}
		g.at(p.open.Add(exp(g.rng, g.dossierRate())), g.dossier(p))
	}
}

func (g *Generator) ticketRate(s *service) float64 {
	return float64(len(s.counters)) * ticketsPerCounterHour * g.day.Load
}

func (g *Generator) dossierRate() float64 {
	return float64(len(g.counters)) * dossiersPerCounterHour * g.day.Load
}

// issue prints a ticket for s and schedules the next one.
func (g *Generator) issue(s *service, p period) step {
	return func(t time.Time) (Message, bool) {
		if !t.Before(p.close.Add(-issueStop)) {
			return Message{}, false
		}
		g.at(t.Add(exp(g.rng, g.ticketRate(s))), g.issue(s, p))
		s.issued++
		tk := &ticket{number: fmt.Sprintf("%c%03d", s.prefix, s.issued), service: s, issued: t}
		s.queue = append(s.queue, tk)
		for _, c := range s.counters {
			if c.present && !c.serving && !c.pending {
				c.pending = true
				g.at(t.Add(uniform(g.rng, 5*time.Second, 20*time.Second)), g.callNext(c))
				break
			}
		}
		return g.queueEvent(t, tk, "", schema.StepIssued), true
	}
}

// callNext calls the next ticket of c's service, if c can serve now.
func (g *Generator) callNext(c *counter) step {
	return func(t time.Time) (Message, bool) {
		c.pending = false
		if !c.present || c.serving {
			return Message{}, false
		}
		p, ok := periodAt(t)
		s := c.service
		if !ok || !t.Before(p.close.Add(-callStop)) || len(s.queue) == 0 {
			return Message{}, false
		}
		tk := s.queue[0]
		s.queue = s.queue[1:]
		c.serving = true
		g.serve(c, tk, t, p)
		return g.queueEvent(t, tk, c.id, schema.StepCalled), true
	}
}

// serve schedules what follows a call: a no-show, or the citizen sitting
// down, the service and its end.
func (g *Generator) serve(c *counter, tk *ticket, called time.Time, p period) {
	if g.rng.Float64() < noShowP {
		g.at(called.Add(uniform(g.rng, 90*time.Second, 150*time.Second)), func(t time.Time) (Message, bool) {
			c.serving, c.pending = false, true
			g.at(t.Add(uniform(g.rng, 5*time.Second, 15*time.Second)), g.callNext(c))
			return g.queueEvent(t, tk, c.id, schema.StepNoShow), true
		})
		return
	}
	started := called.Add(uniform(g.rng, 10*time.Second, 60*time.Second))
	g.at(started.Add(-uniform(g.rng, time.Second, 3*time.Second)), func(t time.Time) (Message, bool) {
		return g.occupancy(t, c, schema.ZoneCitizen, true)
	})
	g.at(started, func(t time.Time) (Message, bool) {
		return g.queueEvent(t, tk, c.id, schema.StepStarted), true
	})
	d := serviceTime(g.rng)
	if latest := p.close.Add(-serviceStop); started.Add(d).After(latest) {
		d = latest.Sub(started)
	}
	g.at(started.Add(d), g.finish(c, tk, started, p))
}

// serviceTime is log-normal around 6 minutes, between 1 and 30 minutes: most
// dossiers are quick, a few take long.
func serviceTime(rng *rand.Rand) time.Duration {
	m := 6 * math.Exp(0.5*rng.NormFloat64())
	m = max(1, min(30, m))
	return time.Duration(m * float64(time.Minute)).Round(time.Millisecond)
}

// finish ends a service: the ticket is finished, then the agent reports the
// session, the citizen's seat empties and most citizens rate the service.
func (g *Generator) finish(c *counter, tk *ticket, started time.Time, p period) step {
	return func(t time.Time) (Message, bool) {
		wait := started.Sub(tk.issued)
		sid := "s-" + g.em.newID(t)
		sess := &schema.Session{
			Counter:  c.id,
			Start:    started.UTC(),
			End:      t.UTC(),
			WaitS:    seconds(wait),
			ServiceS: seconds(t.Sub(started)),
			Source:   schema.SourceQueue,
			Ticket:   tk.number,
		}
		g.at(t.Add(time.Second), func(at time.Time) (Message, bool) {
			sess.Header = g.em.header(at)
			sess.ID = sid // a session's ID is its event ID, so ratings can name it
			return g.em.message(sess), true
		})
		g.at(t.Add(uniform(g.rng, 2*time.Second, 8*time.Second)), func(at time.Time) (Message, bool) {
			return g.occupancy(at, c, schema.ZoneCitizen, false)
		})
		if g.rng.Float64() < ratingP {
			level, reasons := opinion(g.rng, wait, g.day.Unsatisfied)
			g.at(t.Add(uniform(g.rng, 8*time.Second, 40*time.Second)), func(at time.Time) (Message, bool) {
				return g.em.message(&schema.Rating{
					Header:  g.em.header(at),
					Counter: c.id,
					Kiosk:   c.kiosk,
					Level:   level,
					Reasons: reasons,
					Session: sid,
				}), true
			})
		}
		c.serving, c.pending = false, true
		if t.Before(p.close.Add(-20*time.Minute)) && g.rng.Float64() < breakP {
			g.at(t.Add(uniform(g.rng, 45*time.Second, 90*time.Second)), g.takeBreak(c, p))
		} else {
			g.at(t.Add(uniform(g.rng, 10*time.Second, 40*time.Second)), g.callNext(c))
		}
		return g.queueEvent(t, tk, c.id, schema.StepFinished), true
	}
}

// opinion draws a citizen's rating and the reasons picked with it;
// unsatisfied is the share of neutral and dissatisfied ratings, each kind
// keeping its ordinary proportion within its side.
func opinion(rng *rand.Rand, wait time.Duration, unsatisfied float64) (schema.Level, []string) {
	const (
		veryShare    = verySatisfiedP / (verySatisfiedP + satisfiedP)
		neutralShare = neutralP / (1 - verySatisfiedP - satisfiedP)
	)
	happy := 1 - unsatisfied
	r := rng.Float64()
	switch {
	case r < happy*veryShare:
		return schema.LevelVerySatisfied, nil
	case r < happy:
		return schema.LevelSatisfied, nil
	case r < happy+unsatisfied*neutralShare:
		if rng.IntN(2) == 0 {
			return schema.LevelNeutral, nil
		}
		return schema.LevelNeutral, reasons(rng, wait, 1)
	default:
		return schema.LevelDissatisfied, reasons(rng, wait, 1+rng.IntN(2))
	}
}

// reasons picks n distinct reasons; a long wait is always one of them.
func reasons(rng *rand.Rand, wait time.Duration, n int) []string {
	all := []string{"cho-lau", "thai-do", "huong-dan-chua-ro", "thu-tuc-phuc-tap"}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if wait > 30*time.Minute {
		for i, r := range all {
			if r == "cho-lau" {
				all[0], all[i] = all[i], all[0]
			}
		}
	}
	return all[:n]
}

// takeBreak makes the official leave the seat for a few minutes, coming
// back only if the period is not nearly over.
func (g *Generator) takeBreak(c *counter, p period) step {
	return func(t time.Time) (Message, bool) {
		c.pending = false
		if !c.present {
			return Message{}, false
		}
		c.present = false
		if back := t.Add(uniform(g.rng, 5*time.Minute, 15*time.Minute)); back.Before(p.close.Add(-5 * time.Minute)) {
			g.at(back, g.staffArrive(c))
		}
		return g.occupancy(t, c, schema.ZoneStaff, false)
	}
}

func (g *Generator) staffArrive(c *counter) step {
	return func(t time.Time) (Message, bool) {
		if c.present {
			return Message{}, false
		}
		c.present, c.pending = true, true
		g.at(t.Add(uniform(g.rng, 30*time.Second, 2*time.Minute)), g.callNext(c))
		return g.occupancy(t, c, schema.ZoneStaff, true)
	}
}

func (g *Generator) staffLeave(c *counter) step {
	return func(t time.Time) (Message, bool) {
		if !c.present {
			return Message{}, false // on a break that outlasted the period
		}
		c.present = false
		return g.occupancy(t, c, schema.ZoneStaff, false)
	}
}

// dossier resolves one dossier and schedules the next.
func (g *Generator) dossier(p period) step {
	return func(t time.Time) (Message, bool) {
		if !t.Before(p.close.Add(-time.Minute)) {
			return Message{}, false
		}
		g.at(t.Add(exp(g.rng, g.dossierRate())), g.dossier(p))
		g.dossiers++
		return g.em.message(dossierEvent(g.rng, g.em.header(t), g.dossiers, g.day.Late)), true
	}
}

// dossierEvent makes a dossier resolved at h.TS whose outcome agrees with
// its times: late ones were due before they were resolved, the others at or
// after. late is the share resolved late.
func dossierEvent(rng *rand.Rand, h schema.Header, number int, late float64) *schema.Dossier {
	onTime := (1 - late) * onTimeP / (1 - lateP)
	const day = 24 * time.Hour
	t := h.TS
	took := uniform(rng, day, 12*day)
	received := t.Add(-took)
	var due time.Time
	var outcome schema.Outcome
	switch r := rng.Float64(); {
	case r < late:
		outcome = schema.OutcomeLate
		due = received.Add(time.Duration(float64(took) * (0.3 + 0.6*rng.Float64()))).Round(time.Minute)
	case r < late+onTime:
		outcome = schema.OutcomeOnTime
		due = midnightOf(t).Add(17 * time.Hour) // due today, at closing time
		if due.Before(t) {
			due = t // resolved after hours (load tests): due that very moment
		}
	default:
		outcome = schema.OutcomeEarly
		due = midnightOf(t).AddDate(0, 0, 1+rng.IntN(5)).Add(17 * time.Hour)
	}
	procs := procedures()
	return &schema.Dossier{
		Header:    h,
		Dossier:   fmt.Sprintf("000.00.12.H10-%s-%04d", received.In(Location()).Format("060102"), number),
		Procedure: procs[rng.IntN(len(procs))],
		Received:  received.UTC(),
		Due:       due.UTC(),
		Resolved:  t.UTC(),
		Outcome:   outcome,
	}
}

func (g *Generator) queueEvent(t time.Time, tk *ticket, counter string, s schema.Step) Message {
	return g.em.message(&schema.Queue{
		Header:  g.em.header(t),
		Ticket:  tk.number,
		Service: tk.service.id,
		Counter: counter,
		Step:    s,
	})
}

// occupancy reports that zone z of c now holds someone or no one. The
// official's seat follows c.present, which the caller has set; the
// citizen's seat is kept here. While c's camera is blind the change happens
// all the same but nobody sees it: nothing is reported, and seeAgain tells
// what the zones hold when the camera is back.
func (g *Generator) occupancy(t time.Time, c *counter, z schema.Zone, occupied bool) (Message, bool) {
	if z == schema.ZoneCitizen {
		c.seated = occupied
	}
	if c.blind {
		return Message{}, false
	}
	return g.em.message(&schema.Occupancy{
		Header:     g.em.header(t),
		Camera:     c.camera,
		Counter:    c.id,
		Zone:       z,
		Occupied:   occupied,
		Confidence: confidence(g.rng),
	}), true
}

// confidence is a detector's confidence, 0.80..0.99.
func confidence(rng *rand.Rand) float64 {
	return float64(80+rng.IntN(20)) / 100
}

// uniform returns a duration in [lo, hi), in whole milliseconds as real
// systems report them.
func uniform(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return (lo + time.Duration(rng.Int64N(int64(hi-lo)))).Round(time.Millisecond)
}

// exp returns the time to the next event of a Poisson process with the
// given rate per hour.
func exp(rng *rand.Rand, perHour float64) time.Duration {
	return time.Duration(rng.ExpFloat64() / perHour * float64(time.Hour)).Round(time.Millisecond)
}

func seconds(d time.Duration) float64 {
	return d.Round(time.Millisecond).Seconds()
}
