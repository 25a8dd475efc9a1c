//go:build linux

package faultsuite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// ignored reports whether InfluxDB's count under k has no ground truth:
// the real agent's own status heartbeats (and its last will), published
// straight to the central broker, never spooled, as often as the uplink is
// up; and what its camera reports (health every 10 s, its zones' changes),
// which the agent makes itself and the camera scenario checks on its own.
// Everything else is checked.
func ignored(k key) bool {
	if k.site != agentSite {
		return false
	}
	switch schema.Kind(k.measurement) {
	case schema.KindAgent, schema.KindCamera, schema.KindOccupancy:
		return true
	}
	return false
}

// observed reads InfluxDB's counts under the ledger's keys.
func (s *system) observed(t *testing.T) map[key]int64 {
	t.Helper()
	got := map[key]int64{}
	for _, kind := range schema.Kinds() {
		for _, se := range s.db.Query(t, fmt.Sprintf(`SELECT count("id") FROM %q GROUP BY "site"`, kind)) {
			got[key{site: se.Tags["site"], measurement: string(kind)}] += jsonInt(t, se.Values[0][1])
		}
	}
	for _, se := range s.db.Query(t, `SELECT count("id") FROM "rating" GROUP BY "site", "kiosk", "level"`) {
		got[key{se.Tags["site"], "rating", se.Tags["kiosk"], se.Tags["level"]}] += jsonInt(t, se.Values[0][1])
	}
	return got
}

func jsonInt(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("count %T %v is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// diff returns observed minus wanted for every key where they differ.
func diff(want, got map[key]int64) map[key]int64 {
	d := map[key]int64{}
	for k, w := range want {
		if !ignored(k) && got[k] != w {
			d[k] = got[k] - w
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && !ignored(k) && g != 0 {
			d[k] = g
		}
	}
	return d
}

// formatCarried lists differences left by earlier scenarios.
func formatCarried(d map[key]int64) string {
	keys := make([]string, 0, len(d))
	for k, v := range d {
		keys = append(keys, fmt.Sprintf("\n  %-45s %+d", k, v))
	}
	sort.Strings(keys)
	return strings.Join(keys, "")
}

func formatDiff(d map[key]int64, want map[key]int64) string {
	keys := make([]key, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var b strings.Builder
	for _, k := range keys {
		what := "lost"
		if d[k] > 0 {
			what = "counted twice or never accepted"
		}
		fmt.Fprintf(&b, "\n  %-45s want %6d, InfluxDB %6d: %+d %s", k, want[k], want[k]+d[k], d[k], what)
	}
	return b.String()
}

// settle waits until InfluxDB holds what the ledger wants, except for
// differences carried over unchanged from an earlier scenario, and the
// counts hold still for a few seconds (a late redelivery would count
// twice). A difference that has not moved for 15 s is taken as final: a
// drain still under way changes the counts every few hundred milliseconds.
// It returns the differences at the end.
func (s *system) settle(t *testing.T, led *ledger, carried map[key]int64, timeout time.Duration) (map[key]int64, map[key]int64) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var stableSince time.Time
	var last map[key]int64
	for {
		want, _ := led.snapshot()
		d := diff(want, s.observed(t))
		ok := true
		for k, v := range d {
			if carried[k] != v {
				ok = false
			}
		}
		same := last != nil && fmt.Sprint(d) == fmt.Sprint(last)
		last = d
		switch {
		case !same:
			stableSince = time.Time{}
		case stableSince.IsZero():
			stableSince = time.Now()
		case ok && time.Since(stableSince) >= 3*time.Second, time.Since(stableSince) >= 15*time.Second:
			return d, want
		}
		if time.Now().After(deadline) {
			return d, want
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// total sums the checked counts (per measurement, not per kiosk/level).
func total(m map[key]int64) int64 {
	var n int64
	for k, v := range m {
		if k.kiosk == "" && !ignored(k) {
			n += v
		}
	}
	return n
}

// dashClient is a logged-in dashboard user.
type dashClient struct {
	addr string
	c    *http.Client
}

func (s *system) login(t *testing.T) *dashClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.dashAddr+"/login",
		strings.NewReader(url.Values{"username": {dashUser}, "password": {dashPass}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+s.dashAddr)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("dashboard login: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dashboard login: HTTP %d", resp.StatusCode)
	}
	return &dashClient{addr: s.dashAddr, c: c}
}

// periodStats are the counts a snapshot shows for one period.
type periodStats struct {
	Ratings       map[string]int64 `json:"ratings"`
	RatingsTotal  int64            `json:"ratings_total"`
	Dossiers      map[string]int64 `json:"dossiers"`
	DossiersTotal int64            `json:"dossiers_total"`
	Sessions      int64            `json:"sessions"`
	NoShows       int64            `json:"no_shows"`
}

type snapshotJSON struct {
	Generated time.Time                  `json:"generated"`
	Periods   map[kpi.Period]periodStats `json:"periods"`
	Counters  []struct {
		ID    string      `json:"id"`
		Today periodStats `json:"today"`
	} `json:"counters"`
}

func (c *dashClient) snapshot(site string) (snapshotJSON, error) {
	var s snapshotJSON
	resp, err := c.c.Get("http://" + c.addr + "/api/snapshot?site=" + site)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /api/snapshot?site=%s: HTTP %d", site, resp.StatusCode)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

var periods = []kpi.Period{kpi.PeriodToday, kpi.PeriodWeek, kpi.PeriodMonth, kpi.PeriodHalf, kpi.PeriodYear}

// influxPeriod computes from InfluxDB what the dashboard shows for site
// over [start, end), with the dashboard's own definitions (sessions are
// counted by wait_s, no-shows are queue steps no_show).
func (s *system) influxPeriod(t *testing.T, site string, start, end time.Time) (periodStats, map[string]int64) {
	t.Helper()
	where := fmt.Sprintf(`"site" = '%s' AND time >= '%s' AND time < '%s'`, site, start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
	p := periodStats{Ratings: map[string]int64{}, Dossiers: map[string]int64{}}
	perCounter := map[string]int64{}
	for _, se := range s.db.Query(t, `SELECT count("id") FROM "rating" WHERE `+where+` GROUP BY "counter", "level"`) {
		n := jsonInt(t, se.Values[0][1])
		p.Ratings[se.Tags["level"]] += n
		p.RatingsTotal += n
		perCounter[se.Tags["counter"]] += n
	}
	for _, se := range s.db.Query(t, `SELECT count("id") FROM "dossier" WHERE `+where+` GROUP BY "outcome"`) {
		n := jsonInt(t, se.Values[0][1])
		p.Dossiers[se.Tags["outcome"]] += n
		p.DossiersTotal += n
	}
	for _, se := range s.db.Query(t, `SELECT count("wait_s") FROM "session" WHERE `+where) {
		p.Sessions += jsonInt(t, se.Values[0][1])
	}
	for _, se := range s.db.Query(t, `SELECT count("id") FROM "queue" WHERE `+where+` AND "step" = 'no_show'`) {
		p.NoShows += jsonInt(t, se.Values[0][1])
	}
	return p, perCounter
}

// dashboardDiff compares the dashboard's figures for both sites and every
// period (and today's per counter) with InfluxDB's; "" when they agree.
// It also returns the year's ratings, dossiers and sessions summed over the
// sites, as the dashboard shows them and as InfluxDB has them.
func (s *system) dashboardDiff(t *testing.T, c *dashClient) (d string, shown, stored int64) {
	t.Helper()
	var b strings.Builder
	for _, site := range []string{simSite, agentSite} {
		snap, err := c.snapshot(site)
		if err != nil {
			return err.Error(), 0, 0
		}
		for _, p := range periods {
			start, end := kpi.Bounds(p, snap.Generated, nil)
			want, perCounter := s.influxPeriod(t, site, start, end)
			got := snap.Periods[p]
			if p == kpi.PeriodYear {
				shown += got.RatingsTotal + got.DossiersTotal + got.Sessions
				stored += want.RatingsTotal + want.DossiersTotal + want.Sessions
			}
			if d := statsDiff(got, want); d != "" {
				fmt.Fprintf(&b, "\n  %s %s: %s", site, p, d)
			}
			if p != kpi.PeriodToday {
				continue
			}
			for _, ct := range snap.Counters {
				if ct.Today.RatingsTotal != perCounter[ct.ID] {
					fmt.Fprintf(&b, "\n  %s today counter %s: ratings %d, InfluxDB %d", site, ct.ID, ct.Today.RatingsTotal, perCounter[ct.ID])
				}
			}
		}
	}
	return b.String(), shown, stored
}

func statsDiff(got, want periodStats) string {
	var parts []string
	cmp := func(what string, g, w int64) {
		if g != w {
			parts = append(parts, fmt.Sprintf("%s %d (InfluxDB %d)", what, g, w))
		}
	}
	cmp("ratings", got.RatingsTotal, want.RatingsTotal)
	for _, l := range buttons {
		cmp(string(l), got.Ratings[string(l)], want.Ratings[string(l)])
	}
	cmp("dossiers", got.DossiersTotal, want.DossiersTotal)
	for _, o := range []schema.Outcome{schema.OutcomeEarly, schema.OutcomeOnTime, schema.OutcomeLate} {
		cmp(string(o), got.Dossiers[string(o)], want.Dossiers[string(o)])
	}
	cmp("sessions", got.Sessions, want.Sessions)
	cmp("no_shows", got.NoShows, want.NoShows)
	return strings.Join(parts, ", ")
}

// dashboardAgrees waits until the dashboard shows InfluxDB's numbers, for
// at most two reloads and a margin: in between, live events may count an
// event the last reload already had (kpi.Live says so), never for longer.
// A restarted dashboard gets a new login if it refuses the old session.
func (s *system) dashboardAgrees(t *testing.T, c **dashClient) (shown, stored int64) {
	t.Helper()
	deadline := time.Now().Add(2*reloadInterval + 10*time.Second)
	for {
		d, shown, stored := s.dashboardDiff(t, *c)
		if d == "" {
			return shown, stored
		}
		if strings.Contains(d, "HTTP 401") {
			t.Logf("the dashboard refused the session (%s); logging in again", d)
			*c = s.login(t)
			continue
		}
		if time.Now().After(deadline) {
			t.Errorf("the dashboard does not show InfluxDB's numbers %v after the traffic stopped:%s\n--- dashboard log ---\n%s",
				2*reloadInterval+10*time.Second, d, testenv.Tail(readFile(t, s.dashboard.LogPath()), 20))
			return shown, stored
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// tapsByID checks, one by one, that every rating ID the agent answered a
// tap with is in InfluxDB exactly once, and that the tap kiosks have no
// rating there that no tap was answered with (a retried tap that became a
// second rating). It returns the problems, "" when there are none.
func (s *system) tapsByID(t *testing.T, d *driver) string {
	t.Helper()
	stored := map[string]int{}
	for _, se := range s.db.Query(t, fmt.Sprintf(`SELECT "id" FROM "rating" WHERE "site" = '%s' AND ("kiosk" = 'k01' OR "kiosk" = 'k02')`, agentSite)) {
		for _, row := range se.Values {
			stored[fmt.Sprint(row[1])]++
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	missing, twice := 0, 0
	for id := range d.tapIDs {
		if stored[id] == 0 {
			missing++
			if missing <= 5 {
				fmt.Fprintf(&b, "\n  accepted tap %s not in InfluxDB", id)
			}
		}
	}
	extra := 0
	for id, n := range stored {
		if !d.tapIDs[id] {
			extra++
			if extra <= 5 {
				fmt.Fprintf(&b, "\n  rating %s stored, but no tap was answered with it", id)
			}
		}
		if n > 1 {
			twice++
			if twice <= 5 {
				fmt.Fprintf(&b, "\n  rating %s stored %d times", id, n)
			}
		}
	}
	if missing+twice+extra > 0 {
		fmt.Fprintf(&b, "\n  %d of %d accepted taps missing, %d IDs stored more than once, %d stored without an accepted answer",
			missing, len(d.tapIDs), twice, extra)
	}
	return b.String()
}
