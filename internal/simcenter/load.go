package simcenter

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// loadCounters is how many counters (and cameras) Load's events spread
// over: a big center, so series are many but bounded.
const loadCounters = 16

// loadMix weighs the kinds in Load roughly as a busy center's stream does,
// with the rare kinds raised so that every kind is well represented.
func loadMix() []struct {
	kind   schema.Kind
	weight int
} {
	return []struct {
		kind   schema.Kind
		weight int
	}{
		{schema.KindQueue, 30},
		{schema.KindOccupancy, 20},
		{schema.KindCamera, 16},
		{schema.KindRating, 12},
		{schema.KindSession, 12},
		{schema.KindDossier, 5},
		{schema.KindAgent, 5},
		{schema.KindCase, 1},
	}
}

// Load returns n distinct valid events of every kind (the first ones are
// one of each, so any n >= len(schema.Kinds()) has them all), deterministic for seed, with
// ts strictly increasing from start by 1..10 ms, plus dups exact
// redeliveries (same topic, same payload bytes) of earlier events inserted
// at random positions after their originals. With n == 0 there is nothing to
// redeliver and the result is empty. It panics if site is not a valid ID.
func Load(site string, seed int64, n, dups int, start time.Time) []Message {
	if !schema.ValidID(site) {
		panic(fmt.Sprintf("center: site %q does not match %s", site, schema.IDPattern))
	}
	l := &loader{
		rng:   rand.New(rand.NewPCG(uint64(seed), 0xda942042e4dd58b5)),
		em:    newEmitter(site, seed, streamLoad),
		t:     start.UTC(),
		start: start.UTC(),
		site:  site,
	}
	n = max(0, n)
	kinds := schema.Kinds()
	base := make([]Message, 0, n)
	for i := range n {
		l.t = l.t.Add(time.Millisecond + time.Duration(l.rng.IntN(10))*time.Millisecond)
		k := l.pick()
		if i < len(kinds) {
			k = kinds[i]
		}
		base = append(base, l.event(k))
	}
	if n == 0 || dups <= 0 {
		return base
	}
	// Each redelivery goes after original `after` and copies an event at
	// or before it, as a broker redelivers what it already delivered.
	type dup struct{ after, src int }
	ds := make([]dup, dups)
	for i := range ds {
		after := l.rng.IntN(n)
		ds[i] = dup{after: after, src: l.rng.IntN(after + 1)}
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].after < ds[j].after })
	out := make([]Message, 0, n+dups)
	j := 0
	for i, m := range base {
		out = append(out, m)
		for ; j < len(ds) && ds[j].after == i; j++ {
			c := base[ds[j].src]
			c.Payload = bytes.Clone(c.Payload)
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many distinct events (by topic and payload) of each
// kind msgs holds: what a consumer that stores each event once should end
// up with.
func Count(msgs []Message) map[schema.Kind]int {
	seen := make(map[string]struct{}, len(msgs))
	counts := make(map[schema.Kind]int)
	for _, m := range msgs {
		key := m.Topic + "\x00" + string(m.Payload)
		if _, ok := seen[key]; ok {
			continue
		}
		seen[key] = struct{}{}
		counts[m.Kind]++
	}
	return counts
}

// loader makes Load's events: each valid on its own, without the day's
// story the Generator tells.
type loader struct {
	rng      *rand.Rand
	em       emitter
	t, start time.Time
	site     string
	tickets  int
	dossiers int
	cases    int
}

func (l *loader) pick() schema.Kind {
	mix := loadMix()
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	r := l.rng.IntN(total)
	for _, m := range mix {
		if r < m.weight {
			return m.kind
		}
		r -= m.weight
	}
	return mix[len(mix)-1].kind
}

func (l *loader) event(k schema.Kind) Message {
	rng := l.rng
	num := fmt.Sprintf("%02d", 1+rng.IntN(loadCounters))
	counter := "c" + num
	h := l.em.header(l.t)
	var ev schema.Event
	switch k {
	case schema.KindRating:
		level, reasons := opinion(rng, uniform(rng, 0, time.Hour), OrdinaryDay().Unsatisfied)
		ev = &schema.Rating{Header: h, Counter: counter, Kiosk: "k" + num, Level: level, Reasons: reasons,
			Session: "s-" + l.em.newID(l.t)}
	case schema.KindQueue:
		steps := []schema.Step{schema.StepIssued, schema.StepCalled, schema.StepStarted, schema.StepFinished, schema.StepNoShow}
		s := steps[rng.IntN(len(steps))]
		if s == schema.StepIssued {
			counter = ""
		}
		cat := catalog()
		svc := cat[rng.IntN(len(cat))]
		ev = &schema.Queue{Header: h, Ticket: fmt.Sprintf("%c%03d", svc.prefix, 1+rng.IntN(999)), Service: svc.id,
			Counter: counter, Step: s}
	case schema.KindOccupancy:
		zones := []schema.Zone{schema.ZoneStaff, schema.ZoneCitizen, schema.ZoneCitizen, schema.ZoneWaiting}
		ev = &schema.Occupancy{Header: h, Camera: "cam" + num, Counter: counter, Zone: zones[rng.IntN(len(zones))],
			Occupied: rng.IntN(2) == 0, Confidence: confidence(rng)}
	case schema.KindSession:
		service := serviceTime(rng)
		l.tickets++
		ev = &schema.Session{Header: h, Counter: counter, Start: h.TS.Add(-service), End: h.TS,
			WaitS: seconds(uniform(rng, 0, 40*time.Minute)), ServiceS: seconds(service),
			Source: schema.SourceQueue, Ticket: fmt.Sprintf("A%03d", l.tickets%1000)}
	case schema.KindDossier:
		l.dossiers++
		ev = dossierEvent(rng, h, l.dossiers, lateP)
	case schema.KindCamera:
		c := &schema.Camera{Header: h, Camera: "cam" + num, Up: rng.IntN(50) != 0, Codec: schema.CodecH264, Reconnects: int64(rng.IntN(3))}
		if c.Up {
			c.FPS, c.Kbps, c.GopS, c.Width, c.Height = 25, float64(3800+rng.IntN(400)), 2, 1920, 1080
		}
		ev = c
	case schema.KindAgent:
		ev = &schema.Agent{Header: h, Agent: agentID(l.site), Status: schema.StatusOnline, Version: agentVersion,
			SpoolDepth: int64(rng.IntN(5)), UptimeS: seconds(h.TS.Sub(l.start))}
	case schema.KindCase:
		l.cases++
		steps := []schema.CaseStep{schema.CaseReceived, schema.CaseAcknowledged, schema.CaseAssigned, schema.CaseAnswered, schema.CaseClosed}
		received := h.TS.Add(-time.Duration(rng.IntN(10*24)) * time.Hour)
		ev = &schema.Case{Header: h, Case: fmt.Sprintf("%s-%d-%05d", l.site, received.Year(), l.cases),
			CaseKind: "phan_anh", Channel: "kiosk", Step: steps[rng.IntN(len(steps))], Counter: counter,
			Received: received, Due: received.Add(21 * 24 * time.Hour)}
	default:
		panic("center: unknown kind " + string(k))
	}
	return l.em.message(ev)
}
