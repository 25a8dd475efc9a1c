package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/dashboard/auth"
)

// Defaults of Config.RangeTimeout and RangeMaxConcurrent. A custom range is
// up to kpi.MaxRangeYears of one site, read from InfluxDB at each request:
// seconds for a year. Two at a time leave the reloads of the live tabs
// their share of a small server.
const (
	DefaultRangeTimeout       = time.Minute
	DefaultRangeMaxConcurrent = 2
)

// rangeLimiter bounds the custom-range queries: one per user at a time
// (a second gets 429 at once: the page sends one and waits), and a few over
// all users (the rest wait their turn within the timeout, then get 503).
type rangeLimiter struct {
	sem chan struct{}

	mu   sync.Mutex
	busy map[string]bool
}

func newRangeLimiter(n int) *rangeLimiter {
	return &rangeLimiter{sem: make(chan struct{}, n), busy: map[string]bool{}}
}

// claim marks user as running a range query; false if they already are.
// The map holds at most the users with a query under way.
func (l *rangeLimiter) claim(user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[user] {
		return false
	}
	l.busy[user] = true
	return true
}

func (l *rangeLimiter) release(user string) {
	l.mu.Lock()
	delete(l.busy, user)
	l.mu.Unlock()
}

// rangeResults are the values of pscm_dashboard_range_queries_total's
// result label.
var rangeResults = []string{"ok", "bad_request", "forbidden", "busy", "timeout", "error"}

func newRangeQueries(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "pscm", Subsystem: "dashboard", Name: "range_queries_total",
		Help: "Custom date ranges asked for on /api/range, by result (ok, bad_request, forbidden, busy, timeout, error).",
	}, []string{"result"})
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	for _, r := range rangeResults {
		c.WithLabelValues(r) // every series from the start: a rate sees zero, not nothing
	}
	return c, nil
}

// serveRange answers GET /api/range?site=<id>&range=<spec>: the cards'
// figures of one site over any range of kpi's calendar (a day, an ISO
// week, a month, a reporting half-year or year, or custom days
// "2026-11-01..2026-11-30"), for a user who may see the site. The scope is
// checked first (403, as /api/snapshot), then the spec (400 with kpi's
// reason, Vietnamese and English), then the limits (429 for a second query
// of the same user, 503 when the server is busy with others'); the query
// itself gets the timeout (504) and a database failure is 503. A refused
// request queries nothing.
func (s *Server) serveRange(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	q := r.URL.Query()
	for k, v := range q {
		if len(v) != 1 {
			s.rangeQueries.WithLabelValues("bad_request").Inc()
			writeJSONError(w, http.StatusBadRequest, "tham số "+k+" lặp lại / parameter "+k+" repeated")
			return
		}
	}
	site := q.Get("site")
	if !u.CanSee(site) || !slices.Contains(s.board.Sites(), site) {
		s.rangeQueries.WithLabelValues("forbidden").Inc()
		writeJSONError(w, http.StatusForbidden, "không có quyền xem trung tâm này / forbidden")
		return
	}
	rg, err := s.board.ParseRange(q.Get("range"))
	if err != nil {
		s.rangeQueries.WithLabelValues("bad_request").Inc()
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.ranges.claim(u.Name) {
		s.rangeQueries.WithLabelValues("busy").Inc()
		w.Header().Set("Retry-After", "5")
		writeJSONError(w, http.StatusTooManyRequests, "khoảng thời gian trước của bạn đang được tính, xin chờ / your previous range is still being computed, please wait")
		return
	}
	defer s.ranges.release(u.Name)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RangeTimeout)
	defer cancel()
	select {
	case s.ranges.sem <- struct{}{}:
		defer func() { <-s.ranges.sem }()
	case <-ctx.Done():
		s.rangeQueries.WithLabelValues("busy").Inc()
		w.Header().Set("Retry-After", "30")
		writeJSONError(w, http.StatusServiceUnavailable, "máy chủ đang bận, xin thử lại sau / the server is busy, try again later")
		return
	}
	start := time.Now()
	res, err := s.board.Range(ctx, site, rg)
	switch {
	case err == nil:
	case r.Context().Err() != nil:
		s.rangeQueries.WithLabelValues("error").Inc()
		s.log.Info("range abandoned: the client went away", "user", u.Name, "site", site, "range", rg.Label)
		return
	case errors.Is(err, context.DeadlineExceeded):
		s.rangeQueries.WithLabelValues("timeout").Inc()
		s.log.Warn("range timed out", "user", u.Name, "site", site, "range", rg.Label, "timeout", s.cfg.RangeTimeout)
		writeJSONError(w, http.StatusGatewayTimeout, "tính quá lâu, hãy chọn khoảng ngắn hơn hoặc thử lại sau / it took too long: choose a shorter range or try again later")
		return
	default:
		s.rangeQueries.WithLabelValues("error").Inc()
		s.log.Warn("range not loaded", "user", u.Name, "site", site, "range", rg.Label, "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, "không đọc được số liệu từ cơ sở dữ liệu, xin thử lại sau / the figures could not be read from the database, try again later")
		return
	}
	s.rangeQueries.WithLabelValues("ok").Inc()
	s.log.Info("range served", "user", u.Name, "site", site, "range", rg.Label, "took", time.Since(start).Round(time.Millisecond))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(res) // a failed write means the client left
}
