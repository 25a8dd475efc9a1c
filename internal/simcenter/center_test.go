package simcenter

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// day returns local midnight of the given date in Vietnam.
func day(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, Location())
}

// generate returns the events of g up to (not including) simulated time end.
func generate(g *Generator, end time.Time) []Message {
	var out []Message
	for {
		m := g.Next()
		if !m.At.Before(end) {
			return out
		}
		out = append(out, m)
	}
}

// checkStream checks what every stream must satisfy: each message decodes
// as its kind with now = its own ts, ts strictly increase, IDs are unique.
// It returns the decoded events.
func checkStream(t *testing.T, site string, msgs []Message) []schema.Event {
	t.Helper()
	events := make([]schema.Event, 0, len(msgs))
	ids := make(map[string]bool, len(msgs))
	var last time.Time
	for i, m := range msgs {
		ev, err := schema.DecodeMessage(m.Topic, m.Payload, m.At)
		if err != nil {
			t.Fatalf("message %d on %s: %v\n%s", i, m.Topic, err, m.Payload)
		}
		if ev.Kind() != m.Kind {
			t.Fatalf("message %d: decoded as %s, Message.Kind %s", i, ev.Kind(), m.Kind)
		}
		h := ev.Head()
		if !h.TS.Equal(m.At) {
			t.Fatalf("message %d: ts %v, At %v", i, h.TS, m.At)
		}
		if h.Site != site {
			t.Fatalf("message %d: site %q, want %q", i, h.Site, site)
		}
		if !h.TS.After(last) {
			t.Fatalf("message %d: ts %v not after the previous %v", i, h.TS, last)
		}
		last = h.TS
		if ids[h.ID] {
			t.Fatalf("message %d: id %s used twice", i, h.ID)
		}
		ids[h.ID] = true
		want := schema.TopicFor(site, m.Kind, "")
		if a, ok := ev.(*schema.Agent); ok {
			want = schema.TopicFor(site, m.Kind, a.Agent)
		}
		if m.Topic != want {
			t.Fatalf("message %d: topic %s, want %s", i, m.Topic, want)
		}
		events = append(events, ev)
	}
	return events
}

func TestGeneratorIsDeterministic(t *testing.T) {
	t.Parallel()
	start := day(2026, 11, 23).Add(7 * time.Hour)
	const n = 20000 // past the counters' opening at 07:30
	a := New(Config{Site: "anlao", Counters: 8, Seed: 7, Start: start})
	b := New(Config{Site: "anlao", Counters: 8, Seed: 7, Start: start})
	c := New(Config{Site: "anlao", Counters: 8, Seed: 8, Start: start})
	differ := false
	for i := range n {
		ma, mb, mc := a.Next(), b.Next(), c.Next()
		if ma.Topic != mb.Topic || !bytes.Equal(ma.Payload, mb.Payload) || !ma.At.Equal(mb.At) || ma.Kind != mb.Kind {
			t.Fatalf("message %d differs for the same seed:\n%s %s\n%s %s", i, ma.Topic, ma.Payload, mb.Topic, mb.Payload)
		}
		if !bytes.Equal(ma.Payload, mc.Payload) {
			differ = true
		}
	}
	if !differ {
		t.Fatal("seeds 7 and 8 gave the same stream")
	}
}

func TestGeneratorDefaults(t *testing.T) {
	t.Parallel()
	g := New(Config{})
	cfg := g.Config()
	if cfg.Site != "anlao" || cfg.Counters != 8 || !cfg.Start.Equal(DefaultStart()) {
		t.Fatalf("defaults: %+v", cfg)
	}
	checkStream(t, "anlao", generate(g, cfg.Start.Add(time.Hour)))
}

// TestGeneratorDay runs a weekday of a big center and checks the stream
// against the contract and against how a center works. 16 counters give
// enough ratings (about 500) for the satisfaction check to be meaningful.
func TestGeneratorDay(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			const counters = 16
			friday := day(2026, 11, 27)
			saturday := friday.AddDate(0, 0, 1)
			g := New(Config{Site: "anlao", Counters: counters, Seed: seed, Start: friday})
			msgs := generate(g, saturday)
			events := checkStream(t, "anlao", msgs)

			kinds := make(map[schema.Kind]int)
			levels := make(map[schema.Level]int)
			outcomes := make(map[schema.Outcome]int)
			steps := make(map[schema.Step]int)
			sessions := make(map[string]bool)
			cameras := make(map[string]int)
			for i, m := range msgs {
				ev := events[i]
				kinds[m.Kind]++
				switch m.Kind {
				case schema.KindCamera, schema.KindAgent:
				default:
					if !InWorkingHours(m.At) {
						t.Fatalf("%s event outside working hours, at %v: %s", m.Kind, m.At.In(Location()), m.Payload)
					}
				}
				switch e := ev.(type) {
				case *schema.Rating:
					levels[e.Level]++
					if !sessions[e.Session] {
						t.Fatalf("rating of session %q that was not reported before", e.Session)
					}
				case *schema.Session:
					sessions[e.ID] = true
					if e.Source != schema.SourceQueue || e.Ticket == "" {
						t.Fatalf("session not from the queue: %s", m.Payload)
					}
				case *schema.Queue:
					steps[e.Step]++
				case *schema.Dossier:
					outcomes[e.Outcome]++
					late := e.Resolved.After(e.Due)
					if late != (e.Outcome == schema.OutcomeLate) {
						t.Fatalf("outcome disagrees with due and resolved: %s", m.Payload)
					}
				case *schema.Camera:
					cameras[e.Camera]++
				}
			}
			for _, k := range schema.Kinds() {
				// A center's devices make no case: cases are kept and
				// published by the dashboard.
				if kinds[k] == 0 && k != schema.KindCase {
					t.Errorf("no %s events", k)
				}
			}
			// Every camera reports every 10 s, the agent every minute.
			for cam, n := range cameras {
				if n != 8640 {
					t.Errorf("%s: %d reports in a day, want 8640", cam, n)
				}
			}
			if len(cameras) != counters {
				t.Errorf("%d cameras, want %d", len(cameras), counters)
			}
			if n := kinds[schema.KindAgent]; n != 1440 {
				t.Errorf("%d agent reports in a day, want 1440", n)
			}

			ratings := kinds[schema.KindRating]
			satisfied := levels[schema.LevelVerySatisfied] + levels[schema.LevelSatisfied]
			pct := 100 * float64(satisfied) / float64(ratings)
			t.Logf("%d events: %v; ratings %v (%.1f %% satisfied); steps %v; dossiers %v",
				len(msgs), kinds, levels, pct, steps, outcomes)
			if pct < 93 || pct > 99 {
				t.Errorf("satisfaction %.1f %%, want 93..99", pct)
			}
			if ratings < 25*counters {
				t.Errorf("%d ratings in a day of %d counters, want a busy center", ratings, counters)
			}
			if steps[schema.StepFinished] != kinds[schema.KindSession] {
				t.Errorf("%d tickets finished, %d sessions", steps[schema.StepFinished], kinds[schema.KindSession])
			}
			if steps[schema.StepCalled] != steps[schema.StepFinished]+steps[schema.StepNoShow] {
				t.Errorf("steps %v: every called ticket must finish or be a no-show", steps)
			}
			if steps[schema.StepStarted] != steps[schema.StepFinished] {
				t.Errorf("steps %v: every started ticket must finish", steps)
			}
			dossiers := kinds[schema.KindDossier]
			if ok := 100 * float64(dossiers-outcomes[schema.OutcomeLate]) / float64(dossiers); ok < 95 {
				t.Errorf("%.1f %% dossiers early or on time, want about 98.5", ok)
			}
		})
	}
}

// TestGeneratorWeekend checks that a closed center reports only its cameras
// and its agent.
func TestGeneratorWeekend(t *testing.T) {
	t.Parallel()
	saturday := day(2026, 11, 28)
	g := New(Config{Site: "anlao", Counters: 1, Seed: 1, Start: saturday})
	msgs := generate(g, saturday.AddDate(0, 0, 2))
	checkStream(t, "anlao", msgs)
	for _, m := range msgs {
		if m.Kind != schema.KindCamera && m.Kind != schema.KindAgent {
			t.Fatalf("%s event on a weekend: %s", m.Kind, m.Payload)
		}
	}
}

// TestGeneratorStartsMidDay checks that a start inside working hours opens
// the counters at once instead of waiting for the afternoon.
func TestGeneratorStartsMidDay(t *testing.T) {
	t.Parallel()
	start := day(2026, 11, 25).Add(9*time.Hour + 17*time.Minute)
	g := New(Config{Site: "xa-1", Counters: 3, Seed: 1, Start: start})
	msgs := generate(g, start.Add(time.Hour))
	checkStream(t, "xa-1", msgs)
	if n := Count(msgs)[schema.KindQueue]; n == 0 {
		t.Fatal("no queue events in the first hour of a mid-morning start")
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		n, dups int
	}{
		{"one of each", 7, 0},
		{"fewer than the kinds", 3, 2},
		{"plain", 1000, 0},
		{"with redeliveries", 1000, 250},
		{"more redeliveries than events", 50, 200},
		{"empty", 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msgs := Load("anlao", 42, tt.n, tt.dups, start)
			want := tt.n + tt.dups
			if tt.n == 0 {
				want = 0
			}
			if len(msgs) != want {
				t.Fatalf("len %d, want %d", len(msgs), want)
			}
			total := 0
			counts := Count(msgs)
			for _, c := range counts {
				total += c
			}
			if total != tt.n {
				t.Fatalf("Count gives %d distinct, want %d (%v)", total, tt.n, counts)
			}
			if tt.n >= len(schema.Kinds()) {
				for _, k := range schema.Kinds() {
					if counts[k] == 0 {
						t.Errorf("no %s events", k)
					}
				}
			}
			// Originals in order form a valid stream; each redelivery
			// repeats an earlier message byte for byte.
			seen := make(map[string]bool)
			var originals []Message
			for i, m := range msgs {
				key := m.Topic + "\x00" + string(m.Payload)
				if seen[key] {
					continue
				}
				if m.At.Before(start) {
					t.Fatalf("message %d before start", i)
				}
				seen[key] = true
				originals = append(originals, m)
			}
			checkStream(t, "anlao", originals)

			again := Load("anlao", 42, tt.n, tt.dups, start)
			for i := range msgs {
				if msgs[i].Topic != again[i].Topic || !bytes.Equal(msgs[i].Payload, again[i].Payload) {
					t.Fatalf("message %d differs between two calls with the same seed", i)
				}
			}
		})
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	m := func(topic, payload string, k schema.Kind) Message {
		return Message{Topic: topic, Payload: []byte(payload), Kind: k}
	}
	tests := []struct {
		name string
		msgs []Message
		want map[schema.Kind]int
	}{
		{"none", nil, map[schema.Kind]int{}},
		{"distinct", []Message{m("a", "1", schema.KindRating), m("a", "2", schema.KindRating), m("b", "1", schema.KindQueue)},
			map[schema.Kind]int{schema.KindRating: 2, schema.KindQueue: 1}},
		{"redelivered", []Message{m("a", "1", schema.KindRating), m("a", "1", schema.KindRating)},
			map[schema.Kind]int{schema.KindRating: 1}},
		{"same payload, other topic", []Message{m("a", "1", schema.KindAgent), m("b", "1", schema.KindAgent)},
			map[schema.Kind]int{schema.KindAgent: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Count(tt.msgs)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("Count = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInWorkingHours(t *testing.T) {
	t.Parallel()
	wed := day(2026, 11, 25)
	tests := []struct {
		at   time.Time
		want bool
	}{
		{wed.Add(7*time.Hour + 29*time.Minute), false},
		{wed.Add(7*time.Hour + 30*time.Minute), true},
		{wed.Add(11*time.Hour + 30*time.Minute), true},
		{wed.Add(12 * time.Hour), false},
		{wed.Add(13*time.Hour + 30*time.Minute), true},
		{wed.Add(17*time.Hour + time.Second), false},
		{wed.AddDate(0, 0, 3).Add(9 * time.Hour), false},      // Saturday
		{time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC), true}, // 09:00 in Vietnam
	}
	for _, tt := range tests {
		if got := InWorkingHours(tt.at); got != tt.want {
			t.Errorf("InWorkingHours(%v) = %v, want %v", tt.at.In(Location()), got, tt.want)
		}
	}
}

func TestAgentID(t *testing.T) {
	t.Parallel()
	long := "a123456789b123456789c123456789d123456789e123456789f123456789xyz" // 63 bytes
	for _, site := range []string{"anlao", long} {
		if id := agentID(site); !schema.ValidID(id) {
			t.Errorf("agentID(%q) = %q, not a valid ID", site, id)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	g := New(Config{Seed: 1})
	for b.Loop() {
		g.Next()
	}
}
