package admission

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// now is the collector's clock in these tests: 15 July 2026, in 2026H2.
var now = time.Date(2026, 7, 15, 3, 0, 0, 0, time.UTC)

// h1End is the first instant after 2026H1: 1 June 2026 00:00 in Vietnam.
var h1End = time.Date(2026, 5, 31, 17, 0, 0, 0, time.UTC)

func newPolicy(t *testing.T, mod func(*Config)) (*Policy, *testenv.SyncBuffer) {
	t.Helper()
	cfg := Defaults()
	if mod != nil {
		mod(&cfg)
	}
	logs := &testenv.SyncBuffer{}
	p, err := New(cfg, nil, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(logs, nil)), now)
	if err != nil {
		t.Fatal(err)
	}
	return p, logs
}

func header(site string, ts time.Time) schema.Header {
	return schema.Header{ID: "e-" + ts.Format("150405.000000000"), TS: ts, Site: site}
}

func rating(site, counter, kiosk string, ts time.Time) *schema.Rating {
	return &schema.Rating{Header: header(site, ts), Counter: counter, Kiosk: kiosk, Level: schema.LevelNeutral}
}

func dossier(site string, ts time.Time) *schema.Dossier {
	return &schema.Dossier{Header: header(site, ts), Dossier: "D-1", Procedure: "1.001234",
		Received: ts.Add(-48 * time.Hour), Due: ts, Resolved: ts, Outcome: schema.OutcomeOnTime}
}

func dossierBy(site, official string, ts time.Time) *schema.Dossier {
	d := dossier(site, ts)
	d.Official = official
	return d
}

func agentStatus(site, agent string, ts time.Time) *schema.Agent {
	return &schema.Agent{Header: header(site, ts), Agent: agent, Status: schema.StatusOffline}
}

func cameraHealth(site, camera string, ts time.Time) *schema.Camera {
	return &schema.Camera{Header: header(site, ts), Camera: camera, Up: true}
}

func reasonOf(err error) schema.Reason { return schema.ReasonOf(err) }

// TestAdmitTime: the lag bound per kind, the closed periods, agent status
// exempt from both, and the reopenings that lift them for one site and
// one period until they end.
func TestAdmitTime(t *testing.T) {
	day := 24 * time.Hour
	closed := func(c *Config) { c.ClosedThrough = "2026H1"; c.MaxLag = 366 * day; c.DossierMaxLag = 366 * day }
	reopen := func(period string, until time.Time) func(*Config) {
		return func(c *Config) {
			c.ClosedThrough = "2026H1"
			c.Reopen = []Reopen{{Site: "anlao", Period: period, Until: until.Format(time.RFC3339), Reason: "test"}}
		}
	}
	tests := []struct {
		name     string
		cfg      func(*Config)
		ev       schema.Event
		want     schema.Reason // "" admitted
		reopened float64       // reopened_points_total of anlao's entry
	}{
		{"an hour ago", nil, rating("anlao", "c01", "k01", now.Add(-time.Hour)), "", 0},
		{"at the lag bound", nil, rating("anlao", "c01", "k01", now.Add(-14*day)), "", 0},
		{"past the lag bound", nil, rating("anlao", "c01", "k01", now.Add(-14*day-time.Nanosecond)), schema.ReasonTSTooOld, 0},
		{"camera past the lag bound", nil, cameraHealth("anlao", "cam1", now.Add(-15*day)), schema.ReasonTSTooOld, 0},
		{"dossier within its own bound", nil, dossier("anlao", now.Add(-44*day)), "", 0},
		{"dossier past its bound", nil, dossier("anlao", now.Add(-45*day-time.Second)), schema.ReasonTSTooOld, 0},
		{"agent status of a year ago", nil, agentStatus("anlao", "edge-1", now.Add(-300*day)), "", 0},
		{"last instant of a closed period", closed, rating("anlao", "c01", "k01", h1End.Add(-time.Nanosecond)), schema.ReasonPeriodClosed, 0},
		{"first instant after it", closed, rating("anlao", "c01", "k01", h1End), "", 0},
		{"a period before the closed one", closed, rating("anlao", "c01", "k01", h1End.Add(-200*day)), schema.ReasonPeriodClosed, 0},
		{"dossier in a closed period", closed, dossier("anlao", h1End.Add(-day)), schema.ReasonPeriodClosed, 0},
		{"agent status in a closed period", closed, agentStatus("anlao", "edge-1", h1End.Add(-day)), "", 0},
		{"closed and past the lag: closed says why", func(c *Config) { c.ClosedThrough = "2026H1" },
			rating("anlao", "c01", "k01", h1End.Add(-day)), schema.ReasonPeriodClosed, 0},
		{"reopened closed period", reopen("2026H1", now.Add(time.Hour)), rating("anlao", "c01", "k01", h1End.Add(-day)), "", 1},
		{"reopened period, another site", reopen("2026H1", now.Add(time.Hour)), rating("hoaiduc", "c01", "k01", h1End.Add(-day)), schema.ReasonPeriodClosed, 0},
		{"reopened period, ts in an earlier one", reopen("2026H1", now.Add(time.Hour)), rating("anlao", "c01", "k01", h1End.Add(-190*day)), schema.ReasonPeriodClosed, 0},
		{"reopening over", reopen("2026H1", now), rating("anlao", "c01", "k01", h1End.Add(-day)), schema.ReasonPeriodClosed, 0},
		{"reopened open period lifts the lag", reopen("2026H2", now.Add(time.Hour)), rating("anlao", "c01", "k01", h1End.Add(9*day)), "", 1},
		{"reopening not needed is not counted", reopen("2026H2", now.Add(time.Hour)), rating("anlao", "c01", "k01", now.Add(-time.Hour)), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newPolicy(t, tt.cfg)
			err := p.Admit(tt.ev, now)
			if got := reasonOf(err); got != tt.want {
				t.Fatalf("Admit = %v, want reason %q", err, tt.want)
			}
			if err != nil && !errors.As(err, new(*schema.Error)) {
				t.Errorf("%T is not a *schema.Error", err)
			}
			if len(p.reopens) > 0 {
				if got := testutil.ToFloat64(p.reopens[0].admitted); got != tt.reopened {
					t.Errorf("reopened_points_total = %v, want %v", got, tt.reopened)
				}
			}
		})
	}
}

// TestReopenExpiresAndIsLogged: a reopening admits until its end and
// refuses from then on, by itself; its start, its first point and its end
// are in the log with its reason.
func TestReopenExpiresAndIsLogged(t *testing.T) {
	until := now.Add(10 * time.Minute)
	p, logs := newPolicy(t, func(c *Config) {
		c.ClosedThrough = "2026H1"
		c.Reopen = []Reopen{{Site: "anlao", Period: "2026-h1", Until: until.Format(time.RFC3339), Reason: "ticket 142"}}
	})
	late := func(i int) schema.Event {
		return rating("anlao", "c01", "k01", h1End.Add(-time.Duration(i+1)*time.Hour))
	}
	for i := range 3 {
		if err := p.Admit(late(i), now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("point %d refused while reopened: %v", i, err)
		}
	}
	err := p.Admit(late(3), until)
	if reasonOf(err) != schema.ReasonPeriodClosed || !strings.Contains(err.Error(), "reopening ended") {
		t.Fatalf("at the reopening's end: %v, want period_closed naming the ended reopening", err)
	}
	if got := testutil.ToFloat64(p.reopens[0].admitted); got != 3 {
		t.Errorf("reopened_points_total = %v, want 3", got)
	}
	log := logs.String()
	for _, want := range []string{
		`msg="reporting periods closed`, `closed_through=2026H1`,
		`msg="reopening in force`, `reason="ticket 142"`, `period=2026H1`,
		`msg="first point admitted by a reopening"`, `msg="reopening over`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "first point admitted"); n != 1 {
		t.Errorf("%d first-point lines, want 1", n)
	}
}

// admitAll admits evs in order and returns each one's reason ("" admitted).
func admitAll(p *Policy, evs ...schema.Event) []schema.Reason {
	out := make([]schema.Reason, len(evs))
	for i, ev := range evs {
		out[i] = reasonOf(p.Admit(ev, now))
	}
	return out
}

// TestInventory: listed IDs and nothing else, caps per site and key, the
// bound on sites, and a refused event takes no slot.
func TestInventory(t *testing.T) {
	ts := now.Add(-time.Minute)
	const ok, refused = schema.Reason(""), schema.ReasonUnknownID
	queue := func(site, service, counter string) schema.Event {
		return &schema.Queue{Header: header(site, ts), Ticket: "A1", Service: service, Counter: counter, Step: schema.StepIssued}
	}
	tests := []struct {
		name string
		cfg  func(*Config)
		evs  []schema.Event
		want []schema.Reason
	}{
		{"listed IDs only", func(c *Config) {
			c.Inventory.Sites = []SiteInventory{{ID: "anlao", Counter: []string{"c01", "c02"}}}
		}, []schema.Event{
			rating("anlao", "c01", "k01", ts), rating("anlao", "c02", "k02", ts),
			rating("anlao", "c03", "k01", ts), rating("anlao", "c01", "k03", ts),
		}, []schema.Reason{ok, ok, refused, ok}},
		{"a cap reached", func(c *Config) { c.Inventory.Caps.Counter = 2 }, []schema.Event{
			rating("anlao", "c01", "k01", ts), rating("anlao", "c02", "k01", ts),
			rating("anlao", "c03", "k01", ts), rating("anlao", "c01", "k01", ts),
		}, []schema.Reason{ok, ok, refused, ok}},
		{"caps are per site", func(c *Config) { c.Inventory.Caps.Counter = 1 }, []schema.Event{
			rating("anlao", "c01", "k01", ts), rating("anlao", "c02", "k01", ts),
			rating("hoaiduc", "c02", "k01", ts), rating("hoaiduc", "c01", "k01", ts),
		}, []schema.Reason{ok, refused, ok, refused}},
		{"a refused event takes no slot", func(c *Config) { c.Inventory.Caps.Counter = 2; c.Inventory.Caps.Kiosk = 1 }, []schema.Event{
			rating("anlao", "c01", "k01", ts),
			rating("anlao", "c02", "k02", ts), // kiosk over its cap: c02 must not be kept
			rating("anlao", "c02", "k01", ts),
			rating("anlao", "c03", "k01", ts),
		}, []schema.Reason{ok, refused, ok, refused}},
		{"cameras, services, agents and officials", func(c *Config) {
			c.Inventory.Caps = Caps{Counter: 5, Kiosk: 5, Camera: 1, Service: 1, Agent: 1, Staff: 1, Official: 1}
		}, []schema.Event{
			cameraHealth("anlao", "cam1", ts), cameraHealth("anlao", "cam2", ts),
			queue("anlao", "ho-tich", ""), queue("anlao", "dat-dai", ""),
			agentStatus("anlao", "edge-1", ts), agentStatus("anlao", "edge-2", ts),
			&schema.Occupancy{Header: header("anlao", ts), Camera: "cam9", Counter: "c01", Zone: schema.ZoneStaff},
			&schema.Queue{Header: header("anlao", ts), Ticket: "A2", Service: "ho-tich", Counter: "c01", Step: schema.StepCalled, Staff: "lan"},
			&schema.Queue{Header: header("anlao", ts), Ticket: "A3", Service: "ho-tich", Counter: "c01", Step: schema.StepCalled, Staff: "minh"},
			dossierBy("anlao", "lan", ts), dossierBy("anlao", "minh", ts),
		}, []schema.Reason{ok, refused, ok, refused, ok, refused, refused, ok, refused, ok, refused}},
		{"an issued ticket takes no counter", func(c *Config) { c.Inventory.Caps.Counter = 1 }, []schema.Event{
			queue("anlao", "ho-tich", ""), queue("anlao", "ho-tich", "c01"), queue("anlao", "ho-tich", "c02"),
		}, []schema.Reason{ok, ok, refused}},
		{"sites bounded, listed ones apart", func(c *Config) {
			c.Inventory.MaxSites = 2
			c.Inventory.Sites = []SiteInventory{{ID: "listed"}}
		}, []schema.Event{
			rating("listed", "c01", "k01", ts), dossier("a", ts), rating("b", "c01", "k01", ts),
			dossier("c", ts), rating("a", "c01", "k01", ts), rating("listed", "c02", "k01", ts),
		}, []schema.Reason{ok, ok, ok, refused, ok, ok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newPolicy(t, tt.cfg)
			if got := admitAll(p, tt.evs...); !slices.Equal(got, tt.want) {
				t.Errorf("reasons %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRefusalSaysWhy: each refusal names the field, the value and the key
// of the configuration that refused it.
func TestRefusalSaysWhy(t *testing.T) {
	p, _ := newPolicy(t, func(c *Config) {
		c.Inventory.MaxSites = 1
		c.Inventory.Caps.Counter = 1
		c.Inventory.Sites = []SiteInventory{{ID: "listed", Kiosk: []string{"k01"}}}
		c.ClosedThrough = "2026H1"
	})
	ts := now.Add(-time.Minute)
	admitAll(p, rating("anlao", "c01", "k01", ts))
	for _, tt := range []struct {
		ev   schema.Event
		want string
	}{
		{rating("anlao", "c02", "k01", ts), `field "counter": unknown_id: "c02" is new and site "anlao" already has 1 counter IDs, its cap (admission.inventory.caps.counter)`},
		{rating("listed", "c01", "k02", ts), `field "kiosk": unknown_id: "k02" is not in the inventory of site "listed" (admission.inventory.sites)`},
		{rating("other", "c01", "k01", ts), `field "site": unknown_id: "other" is new and 1 sites are already tracked (admission.inventory.max_sites)`},
		{rating("anlao", "c01", "k01", h1End.Add(-time.Hour)), `field "ts": period_closed: 2026-05-31T16:00:00Z is in 2026H1, reported and closed (admission.closed_through: 2026H1)`},
		{rating("anlao", "c01", "k01", now.Add(-15*24*time.Hour)), `field "ts": ts_too_old: 2026-06-30T03:00:00Z is more than 14 days before now (2026-07-15T03:00:00Z, admission.max_lag)`},
		{dossier("anlao", now.Add(-46*24*time.Hour)), `is in 2026H1`},
	} {
		if err := p.Admit(tt.ev, now); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Admit = %v\nwant it to contain %s", err, tt.want)
		}
	}
}

// TestKeysCoverSchema: every tag of every kind is either an enum the
// contract bounds or an ID key admission bounds, and idsOf reads each ID
// key a kind has. A kind that gains an ID tag fails here until it is
// bounded.
func TestKeysCoverSchema(t *testing.T) {
	full := map[schema.Kind]schema.Event{
		schema.KindRating:    &schema.Rating{Counter: "counter", Kiosk: "kiosk"},
		schema.KindQueue:     &schema.Queue{Counter: "counter", Service: "service", Staff: "staff"},
		schema.KindOccupancy: &schema.Occupancy{Camera: "camera", Counter: "counter"},
		schema.KindSession:   &schema.Session{Counter: "counter"},
		schema.KindDossier:   &schema.Dossier{Official: "official"},
		schema.KindCamera:    &schema.Camera{Camera: "camera"},
		schema.KindAgent:     &schema.Agent{Agent: "agent"},
		schema.KindCase:      &schema.Case{Counter: "counter", Service: "service"},
	}
	all := map[string]bool{}
	for _, k := range schema.Kinds() {
		var want []string
		for _, f := range schema.Fields(k) {
			if f.Column != schema.ColumnTag || f.Name == "site" {
				continue
			}
			switch f.JSON {
			case schema.JSONEnum:
			case schema.JSONID:
				want = append(want, f.Name)
				all[f.Name] = true
			default:
				t.Errorf("%s.%s is a tag of JSON type %s: neither an enum nor a bounded ID", k, f.Name, f.JSON)
			}
		}
		ev, ok := full[k]
		if !ok {
			t.Fatalf("no event of kind %s in this test", k)
		}
		var got []string
		for i, v := range idsOf(ev) {
			if v != "" {
				if v != string(Keys()[i]) {
					t.Errorf("%s: idsOf put %q under %s", k, v, Keys()[i])
				}
				got = append(got, v)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: idsOf reads %v, the schema's ID tags are %v", k, got, want)
		}
	}
	if len(all) != numKeys || len(Keys()) != numKeys {
		t.Errorf("schema has ID tags %v; Keys() = %v", all, Keys())
	}
	for _, k := range Keys() {
		if !all[string(k)] || Defaults().Inventory.Caps.of(k) < 1 {
			t.Errorf("key %s: not an ID tag of the schema, or no default cap", k)
		}
	}
}

// fakeStored is InfluxDB's tag index as Load sees it.
type fakeStored struct {
	sites  []string
	ids    map[string]map[string][]string // key -> site -> values
	fail   int                            // calls that fail before one succeeds
	calls  int
	asked  map[string][]string // key -> sites asked
	limits map[string]int
}

func (f *fakeStored) Sites(_ context.Context, limit int) ([]string, error) {
	f.calls++
	if f.calls <= f.fail {
		return nil, errors.New("connection refused")
	}
	return f.sites[:min(len(f.sites), limit)], nil
}

func (f *fakeStored) IDs(_ context.Context, key string, sites []string, limit int) (map[string][]string, error) {
	if f.asked == nil {
		f.asked, f.limits = map[string][]string{}, map[string]int{}
	}
	f.asked[key] = sites
	f.limits[key] = limit
	out := map[string][]string{}
	for _, s := range sites {
		v := f.ids[key][s]
		out[s] = v[:min(len(v), limit)]
	}
	return out, nil
}

// TestLoadSeedsFromInfluxDB: after a restart the caps count what InfluxDB
// holds, so a flood cannot add a cap's worth of IDs per restart; stored
// IDs past the cap keep being written (they make no new series); sites are
// bounded as at run time; listed keys are not asked for.
func TestLoadSeedsFromInfluxDB(t *testing.T) {
	stored := &fakeStored{
		sites: []string{"a", "b", "c", "Not An ID", "listed"},
		ids: map[string]map[string][]string{
			"counter": {"a": {"c01", "c02", "c03", "x y"}, "b": {"c01"}, "listed": {"zz"}},
			"kiosk":   {"a": {"k01"}},
		},
		fail: 1,
	}
	cfg := Defaults()
	cfg.Inventory.MaxSites = 2
	cfg.Inventory.Caps.Counter = 2
	cfg.Inventory.Sites = []SiteInventory{{ID: "listed", Counter: []string{"c01"}}}
	logs := &testenv.SyncBuffer{}
	p, err := New(cfg, stored, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(logs, nil)), now)
	if err != nil {
		t.Fatal(err)
	}
	p.retry = time.Millisecond
	if err := p.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if stored.calls != 2 {
		t.Errorf("Sites called %d times, want 2 (one failure, one retry)", stored.calls)
	}
	if got := stored.asked["counter"]; !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("counter IDs asked for sites %v, want [a b] (listed's counters are listed, c is past max_sites)", got)
	}
	if stored.limits["counter"] != 2*2 {
		t.Errorf("counter limit %d, want twice the cap", stored.limits["counter"])
	}
	ts := now.Add(-time.Minute)
	got := admitAll(p,
		rating("a", "c03", "k01", ts), // stored past the cap: still written
		rating("a", "c04", "k01", ts), // new, the cap is reached
		rating("b", "c02", "k01", ts), // b had one: room for one more
		rating("b", "c03", "k01", ts),
		rating("c", "c01", "k01", ts),      // stored, but past max_sites
		rating("listed", "zz", "k01", ts),  // stored, but not listed
		rating("listed", "c01", "k09", ts), // listed
	)
	want := []schema.Reason{"", schema.ReasonUnknownID, "", schema.ReasonUnknownID, schema.ReasonUnknownID, schema.ReasonUnknownID, ""}
	if !slices.Equal(got, want) {
		t.Errorf("after Load: %q, want %q", got, want)
	}
	log := logs.String()
	for _, w := range []string{"reading the stored IDs from InfluxDB failed", "InfluxDB holds more sites than admission.inventory.max_sites",
		"sites already at their cap", "stored IDs loaded from InfluxDB"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
}

// TestLoadStopsWithContext: while InfluxDB does not answer, Load retries
// until the collector stops.
func TestLoadStopsWithContext(t *testing.T) {
	cfg := Defaults()
	p, err := New(cfg, &fakeStored{fail: 1 << 30}, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), now)
	if err != nil {
		t.Fatal(err)
	}
	p.retry = time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Load(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Load = %v, want the context's error", err)
	}
}

func TestPeriodOf(t *testing.T) {
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2025, 11, 30, 16, 59, 59, 0, time.UTC), "2025H2"},
		{time.Date(2025, 11, 30, 17, 0, 0, 0, time.UTC), "2026H1"}, // 1 December, Vietnam
		{time.Date(2026, 5, 31, 16, 59, 59, 0, time.UTC), "2026H1"},
		{time.Date(2026, 5, 31, 17, 0, 0, 0, time.UTC), "2026H2"},
		{time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), "2027H1"},
	} {
		if got := periodOf(tt.t); got != tt.want {
			t.Errorf("periodOf(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
}

func ExamplePolicy_Admit() {
	cfg := Defaults()
	cfg.ClosedThrough = "2026H1"
	p, _ := New(cfg, nil, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), now)
	late := rating("anlao", "c01", "k01", time.Date(2026, 5, 30, 2, 0, 0, 0, time.UTC))
	fmt.Println(p.Admit(late, now))
	// Output: schema: field "ts": period_closed: 2026-05-30T02:00:00Z is in 2026H1, reported and closed (admission.closed_through: 2026H1)
}
