// Package reports serves the semi-annual report (internal/report) from
// the dashboard: the download button of issue 6, and the same report for
// any range of days the manager chose. A manager gets the
// report of a site they may see, or the sum of all their sites; an admin
// any site, or the whole province. The report is built from the same
// InfluxDB queries the dashboard shows, into memory, and sent whole, so a
// failed build never leaves a half file in the user's downloads.
//
// Routes (both behind auth.Require, which puts the user in the context):
//
//	GET /api/report?site=<id>|province&period=<YYYYH1|YYYYH2>&format=xlsx|html
//	GET /api/report?site=<id>|province&range=<spec>&format=xlsx|html
//	GET /api/report/periods
//
// period is one of the half-years /api/report/periods offers (the default
// is the next deadline's); range is any spec of kpi's one calendar
// (kpi.ParseRange: a reporting year "2026", a half-year, a month, an ISO
// week, a day or custom days "2026-11-01..2026-11-30"), the same the
// dashboard's tabs and its date-range picker use.
//
// Building a report costs InfluxDB queries and CPU, so the work is
// bounded: one report at a time per user (a second gets 429), a few at a
// time overall (the rest wait their turn within the timeout, then get
// 503), and each is abandoned after the timeout (504).
package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/report"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

// Province is the site value that asks for every site the user may see,
// summed and each shown. It is a valid site ID, so New refuses a
// configuration naming a site "province", which could then not be asked for.
const Province = "province"

// Formats the endpoint serves.
const (
	FormatXLSX = "xlsx"
	FormatHTML = "html"
)

// Periods offered: the half-year running now and this many before it
// (five years). Older ones can still be made with pscm-ctl.
const pastPeriods = 9

// Defaults of Config.
const (
	DefaultTimeout       = 2 * time.Minute
	DefaultMaxConcurrent = 2
)

// Config says what the handler reports on and how much work it may do.
type Config struct {
	// Sites are the dashboard's configured sites, in order.
	Sites []kpi.Site
	// Loc is the sites' time zone: it bounds periods and months.
	Loc       *time.Location
	Targets   kpi.Targets
	Satisfied []schema.Level
	// Timeout bounds one report, waiting for a turn included
	// (DefaultTimeout when 0).
	Timeout time.Duration
	// MaxConcurrent bounds the reports built at once over all users
	// (DefaultMaxConcurrent when 0): on a small box the live dashboard
	// must keep its share.
	MaxConcurrent int
	// Now is the clock (time.Now when nil); the default period depends on it.
	Now func() time.Time
	// Cases adds the feedback and complaints section (nil: none kept).
	Cases report.CaseSource
}

// Handler serves the report. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	src      report.Loader
	log      *slog.Logger
	sem      chan struct{}
	served   *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mu   sync.Mutex
	busy map[string]bool // users with a report being built: at most one each
}

// New builds the handler. src is the dashboard's kpi.Source; the
// metrics are registered with reg.
func New(cfg Config, src report.Loader, log *slog.Logger, reg prometheus.Registerer) (*Handler, error) {
	if src == nil || log == nil || reg == nil {
		return nil, errors.New("download: nil loader, logger or registerer")
	}
	if len(cfg.Sites) == 0 {
		return nil, errors.New("download: no sites")
	}
	for _, s := range cfg.Sites {
		if s.ID == Province {
			return nil, fmt.Errorf("download: a site may not be named %q: that name asks for the province report", Province)
		}
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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{
		cfg: cfg, src: src, log: log,
		sem:  make(chan struct{}, cfg.MaxConcurrent),
		busy: map[string]bool{},
		served: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "dashboard", Name: "reports_total",
			Help: "Semi-annual reports asked for, by format and result (ok, error, timeout, busy).",
		}, []string{"format", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "pscm", Subsystem: "dashboard", Name: "report_duration_seconds",
			Help:    "Time to build and render one semi-annual report that was served.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"format"}),
	}
	if err := reg.Register(h.served); err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	if err := reg.Register(h.duration); err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	// Every series exists from the start, so an alert on a rate sees zero
	// rather than nothing.
	for _, f := range []string{FormatXLSX, FormatHTML} {
		for _, r := range []string{"ok", "error", "timeout", "busy"} {
			h.served.WithLabelValues(f, r)
		}
		h.duration.WithLabelValues(f)
	}
	return h, nil
}

// Period is one half-year offered for download.
type Period struct {
	Label string `json:"label"`
	// From and To are the first and last day, inclusive, as YYYY-MM-DD.
	From string `json:"from"`
	To   string `json:"to"`
	// Due is the day the report must be sent, as YYYY-MM-DD.
	Due string `json:"due"`
}

// Periods lists what may be asked for, newest first: the half-year
// running now, then those before it. def is the period the next deadline
// reports on (report.DefaultPeriod), which the list always holds.
func (h *Handler) Periods() (list []Period, def string) {
	now := h.cfg.Now()
	_, _, def = kpi.ReportPeriod(now, h.cfg.Loc)
	label := PeriodOf(now, h.cfg.Loc)
	for range pastPeriods + 1 {
		from, to, canonical, err := kpi.ParseReportPeriod(label, h.cfg.Loc)
		if err != nil {
			break // cannot happen: PeriodOf and previous make valid labels
		}
		due, _ := kpi.Deadline(canonical, h.cfg.Loc)
		list = append(list, Period{Label: canonical, From: from.Format(time.DateOnly),
			To: to.AddDate(0, 0, -1).Format(time.DateOnly), Due: due.Format(time.DateOnly)})
		label = previous(canonical)
	}
	return list, def
}

// PeriodOf returns the label of the half-year holding t (in loc): December
// to May is the next June's H1, June to November that year's H2.
func PeriodOf(t time.Time, loc *time.Location) string {
	y, m, _ := t.In(loc).Date()
	switch {
	case m == time.December:
		return strconv.Itoa(y+1) + "H1"
	case m < time.June:
		return strconv.Itoa(y) + "H1"
	}
	return strconv.Itoa(y) + "H2"
}

// previous returns the label of the half-year before a canonical label.
func previous(label string) string {
	y, _ := strconv.Atoi(label[:len(label)-2])
	if label[len(label)-1] == '2' {
		return strconv.Itoa(y) + "H1"
	}
	return strconv.Itoa(y-1) + "H2"
}

// PeriodsHandler serves GET /api/report/periods: the periods the page
// offers, with the default preselected.
func (h *Handler) PeriodsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.UserFrom(r.Context()); !ok {
			writeError(w, http.StatusUnauthorized, "chưa đăng nhập / unauthenticated")
			return
		}
		list, def := h.Periods()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		// Only strings: it always encodes; a failed write means the client left.
		_ = json.NewEncoder(w).Encode(struct {
			Default string   `json:"default"`
			Periods []Period `json:"periods"`
		}{def, list})
	})
}

// request is a checked report request.
type request struct {
	scope  string // a site ID or Province
	sites  []kpi.Site
	label  string
	from   time.Time
	to     time.Time
	format string
}

// requestError is a refusal with its HTTP status.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// parse checks a request against u's scope. Scope is checked before the
// period and format, so a manager probing another site learns only 403.
func (h *Handler) parse(u auth.User, r *http.Request) (request, error) {
	q := r.URL.Query()
	for k, v := range q {
		if len(v) != 1 {
			return request{}, &requestError{http.StatusBadRequest, fmt.Sprintf("tham số %q lặp lại / parameter %q repeated", k, k)}
		}
	}
	req := request{scope: q.Get("site")}
	switch req.scope {
	case "":
		return req, &requestError{http.StatusBadRequest, "thiếu site (mã trung tâm hoặc province) / site is required (a site ID or province)"}
	case Province:
		for _, s := range h.cfg.Sites {
			if u.CanSee(s.ID) {
				req.sites = append(req.sites, s)
			}
		}
		if len(req.sites) == 0 {
			return req, &requestError{http.StatusForbidden, "không có trung tâm nào được phân công / no site in your scope"}
		}
	default:
		if !schema.ValidID(req.scope) {
			return req, &requestError{http.StatusBadRequest, fmt.Sprintf("mã trung tâm %q không hợp lệ / site %q is not a valid site ID", req.scope, req.scope)}
		}
		if !u.CanSee(req.scope) {
			return req, &requestError{http.StatusForbidden, "không có quyền xem trung tâm này / this site is outside your scope"}
		}
		i := slices.IndexFunc(h.cfg.Sites, func(s kpi.Site) bool { return s.ID == req.scope })
		if i < 0 {
			return req, &requestError{http.StatusBadRequest, fmt.Sprintf("trung tâm %q không có trong cấu hình / site %q is not configured", req.scope, req.scope)}
		}
		req.sites = []kpi.Site{h.cfg.Sites[i]}
	}

	list, def := h.Periods()
	label, spec := q.Get("period"), q.Get("range")
	switch {
	case label != "" && spec != "":
		return req, &requestError{http.StatusBadRequest, "chọn kỳ báo cáo (period) hoặc khoảng thời gian (range), không cả hai / give period or range, not both"}
	case spec != "":
		rg, err := kpi.ParseRange(spec, h.cfg.Now(), h.cfg.Loc)
		if err != nil {
			return req, &requestError{http.StatusBadRequest, err.Error()}
		}
		req.label, req.from, req.to = rg.Label, rg.From, rg.To
	default:
		if label == "" {
			label = def
		}
		from, to, canonical, err := kpi.ParseReportPeriod(label, h.cfg.Loc)
		if err != nil || !slices.ContainsFunc(list, func(p Period) bool { return p.Label == canonical }) {
			return req, &requestError{http.StatusBadRequest, fmt.Sprintf("kỳ báo cáo %q không hợp lệ: chọn từ %s đến %s / period %q is not one of %s to %s",
				label, list[len(list)-1].Label, list[0].Label, label, list[len(list)-1].Label, list[0].Label)}
		}
		req.label, req.from, req.to = canonical, from, to
	}

	req.format = q.Get("format")
	if req.format == "" {
		req.format = FormatXLSX
	}
	if req.format != FormatXLSX && req.format != FormatHTML {
		return req, &requestError{http.StatusBadRequest, fmt.Sprintf("định dạng %q không hỗ trợ: xlsx hoặc html / format %q is not xlsx or html", req.format, req.format)}
	}
	return req, nil
}

// Filename is the name the report is saved under:
// pscm-bao-cao-<site>-<period>.<format>, with "tong-hop" (summary) for
// the province and a custom range's ".." as "_" (2026-11-01_2026-11-30).
// Site IDs and kpi's labels are plain ASCII, so it needs no escaping.
func Filename(scope, label, format string) string {
	if scope == Province {
		scope = "tong-hop"
	}
	return "pscm-bao-cao-" + scope + "-" + strings.ReplaceAll(label, "..", "_") + "." + format
}

// htmlCSP lets the report page use its own embedded stylesheet and
// nothing else: no script, no outside asset, no framing.
const htmlCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP serves GET /api/report.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, ok := auth.UserFrom(r.Context())
	if !ok {
		writeError(w, http.StatusUnauthorized, "chưa đăng nhập / unauthenticated")
		return
	}
	req, err := h.parse(u, r)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) {
			if re.status == http.StatusForbidden {
				h.log.Warn("report refused", "user", u.Name, "site", req.scope)
			}
			writeError(w, re.status, re.msg)
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	if !h.claim(u.Name) {
		h.served.WithLabelValues(req.format, "busy").Inc()
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusTooManyRequests, "một báo cáo của bạn đang được lập, xin chờ / one of your reports is still being made, please wait")
		return
	}
	defer h.release(u.Name)

	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	case <-ctx.Done():
		h.served.WithLabelValues(req.format, "busy").Inc()
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, "máy chủ đang bận lập báo cáo khác, xin thử lại sau / the server is busy with other reports, try again later")
		return
	}

	start := time.Now()
	body, err := h.build(ctx, u, req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
			h.served.WithLabelValues(req.format, "timeout").Inc()
			h.log.Warn("report timed out", "user", u.Name, "site", req.scope, "period", req.label, "timeout", h.cfg.Timeout)
			writeError(w, http.StatusGatewayTimeout, "lập báo cáo quá lâu, xin thử lại sau / the report took too long, try again later")
			return
		}
		h.served.WithLabelValues(req.format, "error").Inc()
		if r.Context().Err() != nil {
			h.log.Info("report abandoned: the client went away", "user", u.Name, "site", req.scope, "period", req.label)
			return
		}
		h.log.Error("report failed", "user", u.Name, "site", req.scope, "period", req.label, "err", err)
		writeError(w, http.StatusInternalServerError, "không lập được báo cáo / the report could not be made")
		return
	}
	took := time.Since(start)
	h.served.WithLabelValues(req.format, "ok").Inc()
	h.duration.WithLabelValues(req.format).Observe(took.Seconds())
	h.log.Info("report served", "user", u.Name, "site", req.scope, "period", req.label, "format", req.format,
		"bytes", len(body), "took", took.Round(time.Millisecond))

	hd := w.Header()
	name := Filename(req.scope, req.label, req.format)
	if req.format == FormatXLSX {
		hd.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	} else {
		// Inline: the page opens in a tab, ready to print.
		hd.Set("Content-Type", "text/html; charset=utf-8")
		hd.Set("Content-Disposition", `inline; filename="`+name+`"`)
		hd.Set("Content-Security-Policy", htmlCSP)
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// build makes the report into memory: a report is tens of kilobytes.
func (h *Handler) build(ctx context.Context, u auth.User, req request) ([]byte, error) {
	p := report.Params{From: req.from, To: req.to, Label: req.label, Loc: h.cfg.Loc, Cases: h.cfg.Cases,
		Targets: h.cfg.Targets, Satisfied: h.cfg.Satisfied, Generated: h.cfg.Now()}
	for _, s := range req.sites {
		p.Sites = append(p.Sites, report.SiteOf(s))
	}
	if req.scope == Province {
		p.Title = provinceTitle(u, len(req.sites), len(h.cfg.Sites))
	}
	rep, err := report.Build(ctx, h.src, p)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if req.format == FormatXLSX {
		err = rep.WriteXLSX(&b)
	} else {
		err = rep.WriteHTML(&b)
	}
	return b.Bytes(), err
}

// provinceTitle heads a province report: the whole province for an admin,
// the user's own centers for a manager (who never sees the others).
func provinceTitle(u auth.User, n, all int) string {
	if u.Role == auth.RoleAdmin && n == all {
		return fmt.Sprintf("Toàn tỉnh (%d trung tâm)", n)
	}
	return fmt.Sprintf("Tổng hợp %d trung tâm được phân công", n)
}

// claim marks user as building a report; false if they already are.
func (h *Handler) claim(user string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy[user] {
		return false
	}
	h.busy[user] = true
	return true
}

func (h *Handler) release(user string) {
	h.mu.Lock()
	delete(h.busy, user)
	h.mu.Unlock()
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// A map of strings always encodes; a failed write means the client left.
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
