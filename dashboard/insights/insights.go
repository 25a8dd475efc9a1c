// Package insights serves what a manager asks after the cards (issue 14):
// the period against the same days last year, the counters ranked by
// satisfaction and by service time, the on-time share of each procedure
// and the list of late dossiers, as JSON for the page and as a workbook,
// the export of that same view.
//
// Routes (the server wraps both in auth.Require and passes its site-scope
// check as Config.Allowed):
//
//	GET /api/insights?site=<id>&from=YYYY-MM-DD&to=YYYY-MM-DD       (h.JSON())
//	GET /api/insights.xlsx?site=<id>&from=YYYY-MM-DD&to=YYYY-MM-DD  (h.XLSX())
//
// from and to are whole days in the sites' zone, both included, at most
// MaxYears apart. The figures are read from InfluxDB at each request
// (kpidb.Source.Insights), so the work is bounded: a few requests at a
// time over all users (the rest wait briefly, then get 503), and each is
// abandoned after the timeout (504). Answers: 200; 400 with a Vietnamese
// and English reason for bad parameters (a day that does not exist, to
// before from, a range too long or starting after today, a site not
// configured); 403 outside the user's scope (checked before whether the
// site exists, so a manager probing learns nothing); 503 when the
// database fails or the server is busy.
package insights

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/timezone"
)

// Source reads the insights; *kpidb.Source is one.
type Source interface {
	Insights(ctx context.Context, site string, start, end time.Time, opt kpidb.InsightsOptions) (kpidb.Insights, error)
}

// Defaults of Config.
const (
	DefaultTimeout       = time.Minute
	DefaultMaxConcurrent = 2
	DefaultQueueWait     = 2 * time.Second
)

// Config says what the handler serves and how much work it may do.
type Config struct {
	// Sites are the configured sites: only these are answered, with their
	// names and their counters' names (each counter is listed, with data
	// or not).
	Sites []kpi.Site
	// Loc is the sites' zone: from and to are its days.
	Loc     *time.Location
	Targets kpi.Targets
	// MinRatings and MinSessions are what a counter needs to be ranked
	// (kpidb's defaults, 30 each, when 0); LateLimit how many late
	// dossiers are listed (kpidb.DefaultLateLimit when 0).
	MinRatings, MinSessions int64
	LateLimit               int
	// Allowed reports whether the request's user may see site; the
	// server's scope check. Required.
	Allowed func(r *http.Request, site string) bool
	// Timeout bounds one request's reading and rendering (DefaultTimeout
	// when 0).
	Timeout time.Duration
	// MaxConcurrent bounds the requests read at once over all users
	// (DefaultMaxConcurrent when 0): the live dashboard reads the same
	// database. QueueWait is how long one waits for its turn before 503
	// (DefaultQueueWait when 0).
	MaxConcurrent int
	QueueWait     time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Handler serves both routes. It is safe for concurrent use.
type Handler struct {
	cfg Config
	src Source
	log *slog.Logger
	sem chan struct{}
}

// New builds the handler.
func New(cfg Config, src Source, log *slog.Logger) (*Handler, error) {
	if src == nil || log == nil || cfg.Allowed == nil {
		return nil, errors.New("insights: nil source, logger or Allowed")
	}
	if len(cfg.Sites) == 0 {
		return nil, errors.New("insights: no sites")
	}
	if cfg.Loc == nil {
		cfg.Loc = timezone.Vietnam()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.QueueWait <= 0 {
		cfg.QueueWait = DefaultQueueWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, src: src, log: log, sem: make(chan struct{}, cfg.MaxConcurrent)}, nil
}

// JSON serves GET /api/insights.
func (h *Handler) JSON() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, false) })
}

// XLSX serves GET /api/insights.xlsx.
func (h *Handler) XLSX() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, true) })
}

// Filename is the workbook's name: pscm-phan-tich-<site>-<from>_<to>.xlsx.
// Site IDs and days are plain ASCII, so it needs no escaping.
func Filename(site, from, to string) string {
	return "pscm-phan-tich-" + site + "-" + from + "_" + to + ".xlsx"
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, xlsx bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "chỉ hỗ trợ GET / only GET is supported")
		return
	}
	req, rerr := parse(r, h.cfg.Sites, h.cfg.Allowed, h.cfg.Now(), h.cfg.Loc)
	if rerr != nil {
		if rerr.status == http.StatusForbidden {
			h.log.Warn("insights refused: site outside the user's scope", "site", r.URL.Query().Get("site"))
		}
		writeError(w, rerr.status, rerr.msg)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	wait := time.NewTimer(h.cfg.QueueWait)
	defer wait.Stop()
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	case <-wait.C:
		h.busy(w, req)
		return
	case <-ctx.Done():
		if r.Context().Err() != nil {
			return // the client left while waiting: nobody to answer
		}
		h.busy(w, req)
		return
	}

	began := time.Now()
	ins, err := h.src.Insights(ctx, req.site.ID, req.from, req.to, kpidb.InsightsOptions{
		Counters: counterIDs(req.site), MinRatings: h.cfg.MinRatings, MinSessions: h.cfg.MinSessions, LateLimit: h.cfg.LateLimit})
	if err != nil {
		h.failed(ctx, w, r, req, err)
		return
	}
	v := view(ins, req.site, h.cfg.Targets, req.from, req.to, h.cfg.Now().In(h.cfg.Loc))

	var body bytes.Buffer
	if xlsx {
		err = writeXLSX(v, &body)
	} else {
		err = json.NewEncoder(&body).Encode(v)
	}
	if err != nil {
		h.log.Error("insights not rendered", "site", req.site.ID, "from", v.From, "to", v.To, "xlsx", xlsx, "err", err)
		writeError(w, http.StatusInternalServerError, "không tạo được kết quả / the answer could not be made")
		return
	}
	h.log.Info("insights served", "site", req.site.ID, "from", v.From, "to", v.To, "xlsx", xlsx,
		"bytes", body.Len(), "took", time.Since(began).Round(time.Millisecond))

	hd := w.Header()
	if xlsx {
		hd.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		hd.Set("Content-Disposition", `attachment; filename="`+Filename(req.site.ID, v.From, v.To)+`"`)
	} else {
		hd.Set("Content-Type", "application/json; charset=utf-8")
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.Bytes()) // a failed write means the client left
	}
}

func (h *Handler) busy(w http.ResponseWriter, req request) {
	h.log.Warn("insights refused: busy", "site", req.site.ID, "max_concurrent", h.cfg.MaxConcurrent)
	w.Header().Set("Retry-After", "10")
	writeError(w, http.StatusServiceUnavailable, "máy chủ đang bận, xin thử lại sau ít phút / the server is busy, try again in a few minutes")
}

// failed answers a read that did not complete: the client gone (nothing
// to answer), the timeout (504), or the database (503).
func (h *Handler) failed(ctx context.Context, w http.ResponseWriter, r *http.Request, req request, err error) {
	from, last := req.from.Format(time.DateOnly), req.last().Format(time.DateOnly)
	switch {
	case r.Context().Err() != nil:
		h.log.Info("insights abandoned: the client went away", "site", req.site.ID, "from", from, "to", last)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		h.log.Warn("insights timed out", "site", req.site.ID, "from", from, "to", last, "timeout", h.cfg.Timeout)
		writeError(w, http.StatusGatewayTimeout, "tính quá lâu: hãy chọn khoảng ngắn hơn hoặc thử lại sau / it took too long: choose a shorter range or try again later")
	default:
		h.log.Error("insights not read", "site", req.site.ID, "from", from, "to", last, "err", err)
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, "không đọc được cơ sở dữ liệu, xin thử lại sau / the database could not be read, try again later")
	}
}

func counterIDs(s kpi.Site) []string {
	out := make([]string, len(s.Counters))
	for i, c := range s.Counters {
		out[i] = c.ID
	}
	return out
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// A map of strings always encodes; a failed write means the client left.
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
