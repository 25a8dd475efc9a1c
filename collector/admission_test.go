package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/testenv"
)

// periodAt returns the reporting period holding t (kpi's half-years, in
// Vietnam time).
func periodAt(t *testing.T, at time.Time) (label string, from, to time.Time) {
	t.Helper()
	y := at.Year()
	for _, l := range []string{fmt.Sprint(y, "H1"), fmt.Sprint(y, "H2"), fmt.Sprint(y+1, "H1")} {
		from, to, label, err := kpi.ParseReportPeriod(l, nil)
		if err == nil && !at.Before(from) && at.Before(to) {
			return label, from, to
		}
	}
	t.Fatalf("no period holds %v", at)
	return "", time.Time{}, time.Time{}
}

// TestOneAgentBlastRadius: what one compromised agent can do to the store
// (issue 13, item 8), through the real broker and InfluxDB.
//
// A flood of invented counter IDs from one site stores only that site's
// cap of them, and another site's new series are still stored. A point
// backdated into the period already reported is refused; after a restart
// the cap still holds (it counts what InfluxDB holds, not from zero) and
// the same point with a reopening for its site is stored, while another
// site's stays refused.
func TestOneAgentBlastRadius(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC()
	_, current, _ := periodAt(t, now)
	closed, _, closedEnd := periodAt(t, current.Add(-time.Nanosecond))
	closedEnd = closedEnd.UTC() // ts must end in Z
	admission := fmt.Sprintf(`admission:
  inventory:
    caps: {counter: 4, kiosk: 4, camera: 4, service: 4, agent: 2}
  max_lag: 8784h           # a year: here the closed period, not the lag, refuses
  closed_through: %s
`, closed)
	c := e.startCollector(t, collectorOpts{clientID: "pscm-collector-blast", admission: admission})
	pub := newTestPublisher(t, e.mq.URL(), "blast-pub")
	rating := func(id, site, counter string, ts time.Time) []byte {
		return []byte(fmt.Sprintf(`{"id":%q,"ts":%q,"site":%q,"counter":%q,"kiosk":"k01","level":"neutral"}`,
			id, ts.Format(time.RFC3339Nano), site, counter))
	}
	base := now.Add(-time.Hour)

	// 1. The flood: 200 invented counters from site "flood".
	const flood = 200
	for i := range flood {
		publishOne(t, pub, "pscm/v1/flood/rating/flood-edge-1", rating(fmt.Sprint("f", i), "flood", fmt.Sprintf("c%03d", i), base.Add(time.Duration(i)*time.Millisecond)))
	}
	// 2. A point backdated into the period already reported. Its log line
	// is not lost among the flood's: each reason has its own log budget.
	late := rating("late-1", "calm", "c01", closedEnd.Add(-time.Hour))
	publishOne(t, pub, "pscm/v1/calm/rating", late)
	// 3. Another site's new series, after the flood.
	for i := range 3 {
		publishOne(t, pub, "pscm/v1/calm/rating", rating(fmt.Sprint("k", i), "calm", fmt.Sprintf("c%02d", i+1), base.Add(time.Duration(i)*time.Millisecond)))
	}

	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		mf := metrics(t, c.addr)
		return metricValue(mf, "pscm_collector_messages_received_total") == flood+4 &&
			metricValue(mf, "pscm_collector_inflight_messages") == 0
	}, "not every message handled")
	mf := metrics(t, c.addr)
	for _, s := range []struct {
		reason string
		want   float64
	}{{"unknown_id", flood - 4}, {"period_closed", 1}, {"ts_too_old", 0}} {
		if got := metricValue(mf, "pscm_collector_rejected_total", "reason", s.reason); got != s.want {
			t.Errorf("rejected_total{reason=%q} = %v, want %v", s.reason, got, s.want)
		}
	}
	if got := metricValue(mf, "pscm_collector_points_written_total"); got != 4+3 {
		t.Errorf("points_written_total = %v, want 7 (the flood's cap of 4, the other site's 3)", got)
	}
	counters := func(site string) []string {
		var out []string
		for _, s := range e.db.Query(t, `SHOW TAG VALUES FROM "rating" WITH KEY = "counter" WHERE "site" = '`+site+`'`) {
			for _, v := range s.Values {
				out = append(out, fmt.Sprint(v[1]))
			}
		}
		return out
	}
	if got := counters("flood"); !slices.Equal(got, []string{"c000", "c001", "c002", "c003"}) {
		t.Errorf("flood's counters in InfluxDB: %v, want its first 4", got)
	}
	if got := counters("calm"); !slices.Equal(got, []string{"c01", "c02", "c03"}) {
		t.Errorf("calm's counters in InfluxDB: %v, want c01 c02 c03", got)
	}
	lateStored := func() int { return len(e.db.Query(t, `SELECT "id" FROM "rating" WHERE "id" = 'late-1'`)) }
	if n := lateStored(); n != 0 {
		t.Fatalf("the backdated point was stored")
	}
	logs := c.logs.String()
	for _, w := range []string{"reason=unknown_id", "reason=period_closed", "is in " + closed + ", reported and closed"} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %q", w)
		}
	}

	// 4. Restart with a reopening of the closed period for site calm.
	c.stop(t)
	until := now.Add(time.Hour).Format(time.RFC3339)
	c = e.startCollector(t, collectorOpts{clientID: "pscm-collector-blast", admission: admission + fmt.Sprintf(`  reopen:
    - {site: calm, period: %s, until: %q, reason: "test: calm's spool recovered"}
`, closed, until)})
	publishOne(t, pub, "pscm/v1/flood/rating", rating("f-new", "flood", "c900", base.Add(time.Second)))      // new: the cap still holds
	publishOne(t, pub, "pscm/v1/flood/rating", rating("f-old", "flood", "c001", base.Add(time.Second)))      // stored before: written
	publishOne(t, pub, "pscm/v1/calm/rating", late)                                                          // reopened: written
	publishOne(t, pub, "pscm/v1/flood/rating", rating("f-late", "flood", "c000", closedEnd.Add(-time.Hour))) // not reopened
	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		mf := metrics(t, c.addr)
		return metricValue(mf, "pscm_collector_messages_received_total") == 4 &&
			metricValue(mf, "pscm_collector_inflight_messages") == 0
	}, "not every message handled after the restart")
	mf = metrics(t, c.addr)
	for _, s := range []struct {
		name string
		lv   []string
		want float64
	}{
		{"pscm_collector_rejected_total", []string{"reason", "unknown_id"}, 1},
		{"pscm_collector_rejected_total", []string{"reason", "period_closed"}, 1},
		{"pscm_collector_points_written_total", nil, 2},
		{"pscm_collector_reopened_points_total", []string{"site", "calm", "period", closed}, 1},
	} {
		if got := metricValue(mf, s.name, s.lv...); got != s.want {
			t.Errorf("%s%v = %v, want %v", s.name, s.lv, got, s.want)
		}
	}
	if n := lateStored(); n != 1 {
		t.Errorf("the reopened point: %d stored, want 1", n)
	}
	if got := counters("flood"); !slices.Equal(got, []string{"c000", "c001", "c002", "c003"}) {
		t.Errorf("flood's counters after the restart: %v, want still its first 4", got)
	}
	if n := len(e.db.Query(t, `SELECT "id" FROM "rating" WHERE "id" = 'f-late'`)); n != 0 {
		t.Error("another site's backdated point was stored through calm's reopening")
	}
	logs = c.logs.String()
	for _, w := range []string{`msg="reopening in force`, `reason="test: calm's spool recovered"`, `msg="first point admitted by a reopening"`, `msg="stored IDs loaded from InfluxDB"`, `sites=2 ids=9`} {
		if !strings.Contains(logs, w) {
			t.Errorf("log after the restart lacks %s", w)
		}
	}
}
