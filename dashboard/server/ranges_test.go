package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/dashboard/board"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// rangeLoader answers every load with 960 of 1,000 ratings satisfied and
// records the spans asked for. While hold is set, a load waits for it to
// close (past its context's end unless honourCtx, like a database that does
// not notice a cancelled query); fail makes it fail.
type rangeLoader struct {
	mu        sync.Mutex
	spans     [][2]time.Time
	hold      chan struct{}
	honourCtx bool
	started   chan struct{}
	fail      error
}

func (l *rangeLoader) set(hold chan struct{}, honourCtx bool, fail error) {
	l.mu.Lock()
	l.hold, l.honourCtx, l.fail = hold, honourCtx, fail
	l.mu.Unlock()
}

func (l *rangeLoader) calls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.spans)
}

func (l *rangeLoader) LoadTotals(ctx context.Context, _ string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	l.mu.Lock()
	l.spans = append(l.spans, [2]time.Time{start, end})
	hold, honour, fail := l.hold, l.honourCtx, l.fail
	l.mu.Unlock()
	if hold != nil {
		l.started <- struct{}{}
		if honour {
			select {
			case <-ctx.Done():
				return kpi.Stats{}, nil, ctx.Err()
			case <-hold:
			}
		}
		<-hold
	}
	if fail != nil {
		return kpi.Stats{}, nil, fail
	}
	st := kpi.NewStats()
	st.Ratings[schema.LevelSatisfied], st.Ratings[schema.LevelNeutral] = 960, 40
	st.RatingsTotal = 1000
	st.Finish(kpi.SatisfactionOf(nil))
	return st, nil, nil
}

func (l *rangeLoader) Load(ctx context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	return kpi.NewStats(), nil, nil
}

func (l *rangeLoader) Series(context.Context, string, time.Time, time.Time, time.Duration) ([]kpi.Point, error) {
	return nil, nil
}

func (l *rangeLoader) YearVolume(context.Context, string, time.Time, time.Time) (kpi.Volume, error) {
	return kpi.Volume{}, nil
}

func (l *rangeLoader) DissatisfiedRatings(context.Context, string, time.Time, time.Time) ([]kpidb.Dissatisfied, error) {
	return nil, nil
}

// TestRangeAPI: GET /api/range answers the cards' figures of a chosen
// range for a site in the user's scope, read over exactly its days; another
// site is 403, a bad spec 400 with kpi's reason in Vietnamese and English,
// a second query of the same user 429, a queue full of others' 503, a slow
// database 504 and a failing one 503; no refused request reaches the
// database.
func TestRangeAPI(t *testing.T) {
	loc := timezone.Vietnam()
	src := &rangeLoader{started: make(chan struct{}, 4)}
	d := testDeps(t, "http://127.0.0.1:1", "pscm", io.Discard)
	fig := kpi.DefaultFigures()
	d.Board = board.New(sites, src, loc, fig.Targets, fig.Satisfied, slog.New(slog.DiscardHandler), time.Now)
	cfg := testConfig("127.0.0.1:0", "http://127.0.0.1:1", "tcp://127.0.0.1:1")
	cfg.RangeTimeout, cfg.RangeMaxConcurrent = time.Second, 1
	s, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	hs := httptest.NewServer(s.http.Handler)
	t.Cleanup(hs.Close)
	addr := hs.Listener.Addr().String()
	testenv.Secret(t, "mat-khau-an-lao-2026") // minh's password in users.yml
	lan := loginAs(t, addr, "lan", "correct horse battery")
	minh := loginAs(t, addr, "minh", "mat-khau-an-lao-2026")
	get := func(c *http.Client, query string) (int, string) {
		t.Helper()
		return getBody(t, c, "http://"+addr+"/api/range?"+query)
	}
	q := func(site, spec string) string { return url.Values{"site": {site}, "range": {spec}}.Encode() }
	results := func(r string) float64 { return testutil.ToFloat64(s.rangeQueries.WithLabelValues(r)) }

	if code, _ := getBody(t, http.DefaultClient, "http://"+addr+"/api/range?"+q("anlao", "today")); code != http.StatusUnauthorized {
		t.Errorf("without a login: %d", code)
	}
	for _, c := range []struct {
		name, query string
		code        int
		body        string
	}{
		{"another site", q("phuoc-thanh", "today"), 403, "forbidden"},
		{"an unknown site", q("hanoi", "today"), 403, "forbidden"},
		{"no site", "range=today", 403, "forbidden"},
		{"another site and a bad spec", q("phuoc-thanh", "nonsense"), 403, "forbidden"}, // scope first: nothing learned
		{"no range", "site=anlao", 400, "chưa chọn khoảng thời gian"},
		{"an unknown form", q("anlao", "last week"), 400, `\"last week\" không phải khoảng thời gian`},
		{"a day that does not exist", q("anlao", "2026-02-30"), 400, "is not a day"},
		{"last day first", q("anlao", "2026-11-30..2026-11-01"), 400, "ngày cuối 01/11/2026 trước ngày đầu 30/11/2026"},
		{"too long", q("anlao", "2020-01-01..2024-01-01"), 400, "dài hơn 3 năm / the range 01/01/2020 – 01/01/2024 is longer than 3 years"},
		{"in the future", q("anlao", time.Now().In(loc).AddDate(0, 0, 2).Format(time.DateOnly)), 400, "after today"},
		{"a repeated parameter", "site=anlao&range=today&range=week", 400, "parameter range repeated"},
	} {
		code, body := get(lan, c.query)
		if code != c.code || !strings.Contains(body, c.body) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.code, c.body)
		}
	}
	if n := src.calls(); n != 0 {
		t.Fatalf("refused requests queried the database %d times", n)
	}
	if results("forbidden") != 4 || results("bad_request") != 7 {
		t.Errorf("metrics: forbidden %v, bad_request %v", results("forbidden"), results("bad_request"))
	}

	// Yesterday and today: exactly those days in Vietnam, the cards' JSON.
	today := time.Now().In(loc)
	first := time.Date(today.Year(), today.Month(), today.Day()-1, 0, 0, 0, 0, loc)
	spec := first.Format("02/01/2006") + ".." + today.Format(time.DateOnly)
	code, body := get(lan, q("anlao", spec))
	if code != 200 {
		t.Fatalf("range: %d %s", code, body)
	}
	var got board.RangeJSON
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	wantLabel := first.Format(time.DateOnly) + ".." + today.Format(time.DateOnly)
	if got.Type != "range" || got.Site != "anlao" || got.Range.Kind != kpi.KindCustom || got.Range.Label != wantLabel ||
		got.Range.First != first.Format(time.DateOnly) || got.Range.Last != today.Format(time.DateOnly) {
		t.Errorf("range %+v", got)
	}
	if st := got.Stats; st.RatingsTotal != 1000 || st.SatisfiedShown != 96 || st.SatisfiedDecimals != 1 || !st.SatisfactionMet {
		t.Errorf("stats %+v", st)
	}
	if src.calls() != 1 || !src.spans[0][0].Equal(first) || !src.spans[0][1].Equal(first.AddDate(0, 0, 2)) {
		t.Errorf("loaded %v", src.spans)
	}
	// minh sees both sites; the reporting year by its label.
	if code, body := get(minh, q("phuoc-thanh", "year")); code != 200 || !strings.Contains(body, `"kind":"year"`) {
		t.Errorf("minh's year of phuoc-thanh: %d %s", code, body)
	}

	// One query per user at a time; the others wait for the one slot, then
	// give up.
	hold := make(chan struct{})
	src.set(hold, false, nil)
	first1 := make(chan int, 1)
	go func() { c, _ := get(lan, q("anlao", "month")); first1 <- c }()
	<-src.started
	if code, body := get(lan, q("anlao", "week")); code != http.StatusTooManyRequests || !strings.Contains(body, "xin chờ") {
		t.Errorf("a second query of the same user: %d %s", code, body)
	}
	if code, body := get(minh, q("anlao", "week")); code != http.StatusServiceUnavailable || !strings.Contains(body, "the server is busy") {
		t.Errorf("another user's query with the slot taken: %d %s", code, body)
	}
	close(hold)
	if c := <-first1; c != 200 {
		t.Errorf("the held query: %d", c)
	}
	// A database too slow for the timeout, then one that fails.
	hold = make(chan struct{})
	src.set(hold, true, nil)
	go func() { <-src.started }()
	if code, body := get(lan, q("anlao", "today")); code != http.StatusGatewayTimeout || !strings.Contains(body, "took too long") {
		t.Errorf("slow database: %d %s", code, body)
	}
	close(hold)
	src.set(nil, false, errors.New("connection refused"))
	if code, body := get(lan, q("anlao", "today")); code != http.StatusServiceUnavailable || !strings.Contains(body, "không đọc được số liệu") {
		t.Errorf("failing database: %d %s", code, body)
	}
	// Afterwards the user's slot is free again.
	src.set(nil, false, nil)
	if code, _ := get(lan, q("anlao", "today")); code != 200 {
		t.Errorf("after the refusals: %d", code)
	}
	for r, want := range map[string]float64{"ok": 4, "busy": 2, "timeout": 1, "error": 1} {
		if got := results(r); got != want {
			t.Errorf("range_queries_total{result=%q} = %v, want %v", r, got, want)
		}
	}
}
