// Package simcenter simulates one public administrative service center ("một
// cửa") as the stream of v1 events its edge agent would publish: queue
// tickets, service sessions, kiosk ratings, camera zone occupancy, dossiers,
// camera health and agent status.
//
// The stream is deterministic for a seed, so a test can compare what a
// consumer stored with what was generated, and every event has a strictly
// later ts than the one before it: a point's identity in InfluxDB is
// measurement + tags + ts, so distinct events must never share one, and the
// number of points written must equal the number of events generated.
package simcenter

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// Config describes the simulated center. Proportions (satisfaction, dossier
// outcomes, no-shows) are fixed realistic values, close to the plan targets:
// about 96 % of ratings very_satisfied or satisfied, about 98.5 % of dossiers
// early or on time.
type Config struct {
	// Site is the center's ID, the {site} of every topic; "anlao" when empty.
	Site string
	// Counters is the number of counters c01..cNN, each with a kiosk
	// k01..kNN and a camera cam01..camNN watching its staff and citizen
	// seats; 8 when 0 or less.
	Counters int
	// Seed makes the stream reproducible.
	Seed int64
	// Start is the simulated clock's start; events derive their ts from
	// it. When zero, DefaultStart.
	Start time.Time
	// Calendar, when set, says how each local day goes (Day), asked at
	// the day's midnight: a history of months has its seasons and its bad
	// weeks (Story.Day). Nil makes every day an OrdinaryDay.
	Calendar func(midnight time.Time) Day
	// NoHeartbeats leaves out the cameras' health reports every 10 s and
	// the agent's status every minute, except the health of a camera on
	// the day a Calendar says it is down. A history written straight to
	// InfluxDB wants this: no figure reads heartbeats back, and a year of
	// them would be 25 million points, 97 % of the whole.
	NoHeartbeats bool
}

// DefaultStart is the start used when Config.Start is zero: Monday
// 2026-11-23 07:00 in Vietnam, half an hour before the counters open. A
// fixed date keeps a zero Config deterministic.
func DefaultStart() time.Time {
	return time.Date(2026, 11, 23, 7, 0, 0, 0, Location()).UTC()
}

// Location is Vietnam's time zone (UTC+7, no daylight saving time). It is a
// fixed zone rather than time.LoadLocation("Asia/Ho_Chi_Minh") so the
// simulation does not depend on the machine's tzdata.
func Location() *time.Location { return time.FixedZone("ICT", 7*60*60) }

// periods returns the working periods of the local day starting at
// midnight, empty on weekends: Monday to Friday 07:30-11:30 and 13:30-17:00.
// Outside them the center is closed and only cameras and the agent report.
func periods(midnight time.Time) []period {
	switch midnight.Weekday() {
	case time.Saturday, time.Sunday:
		return nil
	}
	at := func(h, m int) time.Time {
		return midnight.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	return []period{
		{open: at(7, 30), close: at(11, 30)},
		{open: at(13, 30), close: at(17, 0)},
	}
}

type period struct{ open, close time.Time }

// InWorkingHours reports whether t falls in the center's working hours:
// Monday to Friday, 07:30-11:30 and 13:30-17:00 in Vietnam, both ends
// included.
func InWorkingHours(t time.Time) bool {
	_, ok := periodAt(t)
	return ok
}

func periodAt(t time.Time) (period, bool) {
	for _, p := range periods(midnightOf(t)) {
		if !t.Before(p.open) && !t.After(p.close) {
			return p, true
		}
	}
	return period{}, false
}

func midnightOf(t time.Time) time.Time {
	y, m, d := t.In(Location()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Location())
}

// Message is one event ready to publish.
type Message struct {
	Topic   string
	Payload []byte
	Kind    schema.Kind
	// At is the event's ts: simulated time, not the wall clock.
	At time.Time
	// Event is what Payload encodes, for writing it as a point
	// (AppendLine) without decoding the JSON again.
	Event schema.Event
}

// Retained reports whether m is published retained: agent status is
// (docs/events.md), so a consumer that connects later sees each agent's last
// status at once.
func (m Message) Retained() bool { return m.Kind == schema.KindAgent }

// Generator produces a center's events in simulated-time order. It is not
// safe for concurrent use.
type Generator struct {
	cfg    Config
	rng    *rand.Rand
	em     emitter
	agenda agenda
	order  uint64    // insertion order, breaks ties between equal times
	now    time.Time // the time of the action running

	services []*service
	counters []*counter
	cameras  []*camera
	dossiers int // dossier numbers handed out
	day      Day // how the day being simulated goes
}

// New returns a generator for cfg, with defaults filled in. It panics if
// the site is not a valid ID: that is a programming error, and main checks
// its flags with schema.ValidID before it gets here.
func New(cfg Config) *Generator {
	if cfg.Site == "" {
		cfg.Site = "anlao"
	}
	if cfg.Counters <= 0 {
		cfg.Counters = 8
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart()
	}
	if !schema.ValidID(cfg.Site) {
		panic(fmt.Sprintf("center: site %q does not match %s", cfg.Site, schema.IDPattern))
	}
	cfg.Start = cfg.Start.UTC()
	g := &Generator{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		em:  newEmitter(cfg.Site, cfg.Seed, streamCenter),
		now: cfg.Start,
	}
	g.build()
	g.planDay(midnightOf(cfg.Start))
	if cfg.NoHeartbeats {
		return g
	}
	for i, c := range g.cameras {
		g.at(cfg.Start.Add(g.cameraOffset(i)), g.cameraTick(c, time.Time{}))
	}
	g.at(cfg.Start, g.agentTick)
	return g
}

// cameraOffset spreads the cameras over the 10 s period, as an agent
// polling them one after another reports them.
func (g *Generator) cameraOffset(i int) time.Duration {
	return time.Duration(i) * cameraPeriod / time.Duration(len(g.cameras))
}

// Config returns the configuration in use, defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Next returns the next event. The stream never ends: cameras and the agent
// report day and night.
func (g *Generator) Next() Message {
	for {
		a := heap.Pop(&g.agenda).(*action)
		g.now = a.at
		if m, ok := a.run(a.at); ok {
			return m
		}
	}
}

// step is a scheduled piece of the simulation; it may produce one event.
type step func(at time.Time) (Message, bool)

type action struct {
	at    time.Time
	order uint64
	run   step
}

// at schedules s at t, or now if t is already past: the simulation never
// goes back in time.
func (g *Generator) at(t time.Time, s step) {
	if t.Before(g.now) {
		t = g.now
	}
	g.order++
	heap.Push(&g.agenda, &action{at: t, order: g.order, run: s})
}

type agenda []*action

func (a agenda) Len() int { return len(a) }
func (a agenda) Less(i, j int) bool {
	if !a[i].at.Equal(a[j].at) {
		return a[i].at.Before(a[j].at)
	}
	return a[i].order < a[j].order
}
func (a agenda) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *agenda) Push(x any)   { *a = append(*a, x.(*action)) }
func (a *agenda) Pop() any {
	old := *a
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*a = old[:len(old)-1]
	return x
}

// emitter stamps events with strictly increasing ts and unique IDs and
// encodes them.
type emitter struct {
	site string
	key  uint64 // from the seed: IDs of two seeds differ
	seq  uint64
	last time.Time
}

// Streams keep the IDs of a Generator and of Load apart for the same seed.
const (
	streamCenter = 0x5851f42d4c957f2d
	streamLoad   = 0x14057b7ef767814f
)

func newEmitter(site string, seed int64, stream uint64) emitter {
	return emitter{site: site, key: mix64(uint64(seed) ^ stream)}
}

// stamp returns the ts for an event that naturally happens at t: t itself,
// or 1 ns after the previous event's ts if t is not later, so that no two
// events share a point identity.
func (e *emitter) stamp(t time.Time) time.Time {
	ts := t.UTC()
	if !ts.After(e.last) {
		ts = e.last.Add(time.Nanosecond)
	}
	e.last = ts
	return ts
}

// header returns the header of an event happening at t, with a new ID.
func (e *emitter) header(t time.Time) schema.Header {
	ts := e.stamp(t)
	return schema.Header{ID: e.newID(ts), TS: ts, Site: e.site}
}

// message encodes ev. The schema structs marshal to exactly the v1 JSON
// (UTC times as RFC 3339 with nanoseconds, optional fields omitted).
func (e *emitter) message(ev schema.Event) Message {
	source := ""
	if a, ok := ev.(*schema.Agent); ok {
		source = a.Agent
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		panic(fmt.Sprintf("center: encode %s: %v", ev.Kind(), err)) // plain structs cannot fail
	}
	return Message{
		Topic:   schema.TopicFor(e.site, ev.Kind(), source),
		Payload: payload,
		Kind:    ev.Kind(),
		At:      ev.Head().TS,
		Event:   ev,
	}
}

// newID returns a ULID-shaped ID: 48 bits of milliseconds, then 80 bits
// derived from the seed and a sequence number. mix64 is a bijection, so IDs
// of one emitter never repeat, and they sort roughly by time as ULIDs do.
func (e *emitter) newID(ts time.Time) string {
	e.seq++
	ms := uint64(ts.UnixMilli()) & (1<<48 - 1)
	hi := ms<<16 | e.key>>48
	lo := mix64(e.seq + e.key)
	return ulid(hi, lo)
}

// ulid encodes the 128-bit value hi:lo as 26 Crockford base32 digits.
func ulid(hi, lo uint64) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [26]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(b[:])
}

// mix64 is splitmix64's finalizer, a bijection on uint64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
