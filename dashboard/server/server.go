// Package server is the running dashboard: it keeps the board current and
// serves it. Two feeds keep the figures current: InfluxDB, the source of
// truth, reloaded for every site at start, after every MQTT (re)connection
// and every reload interval; and the live MQTT events in between, applied
// as they arrive. A pusher sends each changed snapshot to the browsers at
// most once per push interval, through the websocket hub. The HTTP side is
// the page, its API (with the figures of any chosen range of days) and the
// report download behind the login, plus
// /metrics, /healthz and /readyz for the operator.
//
// The server listens from New on, before any figure is loaded: a slow or
// unreachable InfluxDB must not keep managers from the login page, nor the
// operator from /readyz, which says what is missing (the first load of
// every site, InfluxDB, the broker) until everything is there.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/dashboard/acklog"
	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/dashboard/board"
	"github.com/pscm/pscm/dashboard/casedesk"
	"github.com/pscm/pscm/dashboard/hub"
	"github.com/pscm/pscm/dashboard/officialdesk"
	"github.com/pscm/pscm/internal/adminhttp"
	iconfig "github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/health"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/schema"
)

// Config is what the server takes from the dashboard's configuration.
type Config struct {
	// Listen is the HTTP address (host:port; port 0 picks a free one).
	Listen string
	// TLS, when enabled, makes the server HTTPS only.
	TLS iconfig.ServerTLS
	// Admin serves /metrics and health apart from Listen (which a proxy
	// publishes); AdminToken guards its /metrics when set.
	Admin      adminhttp.Config
	AdminToken string
	// MQTT is the broker connection of the live feed. Its session is
	// clean: what was missed while away is in InfluxDB.
	MQTT mqttconn.Config
	// InfluxDB is where the board's figures come from; /readyz pings it.
	InfluxDB InfluxDB
	// Hours are the working hours the unstaffed-counter alerts apply in.
	Hours kpi.WorkHours
	// PushInterval is the most often one site's snapshot is pushed;
	// ReloadInterval how often every site is reloaded from InfluxDB.
	PushInterval, ReloadInterval time.Duration
	// RangeTimeout bounds one custom-range query, waiting for a turn
	// included (DefaultRangeTimeout when 0); RangeMaxConcurrent how many
	// run at once over all users (DefaultRangeMaxConcurrent when 0).
	RangeTimeout       time.Duration
	RangeMaxConcurrent int
}

// InfluxDB locates the database for the readiness ping.
type InfluxDB struct {
	URL, Token string
}

// Reports serves the semi-annual report download (download.Handler).
type Reports interface {
	http.Handler
	PeriodsHandler() http.Handler
}

// Deps are the parts the server uses but does not own.
type Deps struct {
	Log *slog.Logger
	// Registry takes the server's metrics and is served on /metrics.
	Registry *prometheus.Registry
	Auth     *auth.Auth
	Board    *board.Board
	Reports  Reports
	// Acks records who acknowledged which alert; nil refuses
	// acknowledgements (503).
	Acks *acklog.Log
	// Insights serves what a manager asks after the cards (a period
	// against last year, rankings, procedures, late dossiers, and their
	// workbook); nil leaves those routes out.
	Insights Insights
	// Cases keeps citizens' feedback and complaints: the staff's API, the
	// public status page, and the publishing of their steps; nil leaves
	// them out.
	Cases *casedesk.Desk
	// Officials serves each official's figures and page; nil leaves them
	// out.
	Officials *officialdesk.Desk
}

// Insights are the insights' two handlers (dashboard/insights.Handler).
type Insights interface {
	JSON() http.Handler
	XLSX() http.Handler
}

// Server owns the live feed, the pusher, the reloader, the websocket hub and
// the HTTP server. New, then Run once, then Close.
type Server struct {
	cfg Config
	// onEvent, when set (OnEvent, before Run), is told of every live
	// event's site and time: the rollups' keeper checks a past day.
	onEvent func(site string, ts time.Time)
	log     *slog.Logger
	reg     *prometheus.Registry
	auth    *auth.Auth
	board   *board.Board
	reports Reports
	acks    *acklog.Log
	ins     Insights
	cases   *casedesk.Desk
	offs    *officialdesk.Desk

	hub            *hub.Hub
	ln             net.Listener
	http           *http.Server
	admin          *adminhttp.Server
	readiness      *health.Readiness
	reloadDuration prometheus.Histogram

	dirty dirty
	views siteViews

	ranges       *rangeLimiter
	rangeQueries *prometheus.CounterVec

	// reloadNow asks the reloader for a full reload (after a reconnect);
	// one pending request stands for any number.
	reloadNow chan struct{}
	// loaded is closed once the first reload of every site has finished,
	// each with its figures or with its failure logged; sitesLoaded counts
	// the sites done until then.
	loaded      chan struct{}
	sitesLoaded atomic.Int32

	feed *liveFeed

	closeOnce sync.Once
}

// New builds the server and binds its listener, so the address is known and
// taken before Run; nothing is loaded or connected until Run.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Log == nil || d.Registry == nil || d.Auth == nil || d.Board == nil || d.Reports == nil {
		return nil, errors.New("server: every dependency is required")
	}
	if cfg.PushInterval <= 0 || cfg.ReloadInterval <= 0 {
		return nil, errors.New("server: push and reload intervals must be positive")
	}
	if cfg.RangeTimeout <= 0 {
		cfg.RangeTimeout = DefaultRangeTimeout
	}
	if cfg.RangeMaxConcurrent <= 0 {
		cfg.RangeMaxConcurrent = DefaultRangeMaxConcurrent
	}
	s := &Server{
		cfg: cfg, log: d.Log, reg: d.Registry, auth: d.Auth, board: d.Board, reports: d.Reports, acks: d.Acks, ins: d.Insights, cases: d.Cases, offs: d.Officials,
		dirty:     dirty{sites: map[string]bool{}},
		views:     siteViews{sets: map[string][]string{}},
		reloadNow: make(chan struct{}, 1),
		loaded:    make(chan struct{}),
		ranges:    newRangeLimiter(cfg.RangeMaxConcurrent),
		reloadDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "pscm", Subsystem: "dashboard", Name: "reload_duration_seconds",
			Help: "Time to reload one site's figures from InfluxDB.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}),
	}
	if err := s.reg.Register(s.reloadDuration); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	rq, err := newRangeQueries(s.reg)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.rangeQueries = rq
	var filters []string
	for _, site := range s.board.Sites() {
		filters = append(filters, schema.SiteFilters(site)...)
	}
	feed, err := newLiveFeed(cfg.MQTT, filters, s.apply, s.requestReload, d.Log.With("component", "live"))
	if err != nil {
		return nil, err
	}
	s.feed = feed

	s.readiness = health.NewReadiness(health.DefaultTimeout)
	s.readiness.Add("influxdb", pingInfluxDB(cfg.InfluxDB))
	s.readiness.Add("reload", s.firstLoadDone)
	s.readiness.Add("mqtt", s.feed.ready)

	s.hub = hub.New(hub.Config{}.WithDefaults(), d.Log.With("component", "hub"), d.Registry)
	admin, err := adminhttp.Listen(cfg.Admin, cfg.AdminToken, http.NewServeMux(), s.reg, s.readiness, d.Log)
	if err != nil {
		s.hub.Close()
		return nil, err
	}
	s.admin = admin
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.hub.Close()
		_ = admin.Close()
		return nil, fmt.Errorf("http listen: %w", err)
	}
	s.ln = ln
	// No Read/WriteTimeout: they would cut the websockets, which the hub
	// bounds itself (ping deadlines, the session's end).
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(d.Log.Handler(), slog.LevelWarn)}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// AdminAddr is the address of /metrics and health.
func (s *Server) AdminAddr() string { return s.admin.Addr() }

// Loaded is closed once the first reload of every site has finished (with
// its figures, or with its failure logged); /readyz is not ready before.
func (s *Server) Loaded() <-chan struct{} { return s.loaded }

// Run serves until ctx ends or the HTTP server fails, then shuts down in
// order: the live feed first (nothing new comes in), then the pusher and
// the reloader, then the browsers' websockets (hijacked connections, which
// http.Server.Shutdown does not end), then the HTTP server, given 5 s for
// the requests under way.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	serveErr := make(chan error, 2)
	wg.Go(func() { serveErr <- s.cfg.TLS.Serve(s.http, s.ln) })
	wg.Go(func() {
		if err := s.admin.Serve(); err != nil {
			serveErr <- err
		}
	})
	s.feed.start()
	wg.Go(func() { s.reloadLoop(ctx) })
	wg.Go(func() { s.pushLoop(ctx) })
	if s.cases != nil {
		wg.Go(func() { s.cases.Run(ctx, s.feed.publish) })
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else {
			err = fmt.Errorf("http: %w", err)
		}
	}
	s.feed.stop()
	cancel()
	s.hub.Close()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer scancel()
	if serr := s.http.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	if serr := s.admin.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	wg.Wait()
	return err
}

// Close releases what New took when Run did not run (the listener, the
// hub); after Run it does nothing more. It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.feed.stop()
		s.hub.Close()
		_ = s.http.Close()
		_ = s.admin.Close()
		_ = s.ln.Close()
	})
}

// OnEvent has f told of every live event's site and time; call it before
// Run.
func (s *Server) OnEvent(f func(site string, ts time.Time)) { s.onEvent = f }

// apply takes one live event off the broker.
func (s *Server) apply(ev schema.Event) {
	if s.onEvent != nil {
		h := ev.Head()
		s.onEvent(h.Site, h.TS)
	}
	if site, changed := s.board.Apply(ev); changed {
		s.dirty.mark(site)
	}
}

// requestReload asks for a full reload without waiting for it: what
// happened while the feed was disconnected is only in InfluxDB.
func (s *Server) requestReload() {
	select {
	case s.reloadNow <- struct{}{}:
	default:
	}
}

// reloadLoop loads every site at once, then again every reload interval
// and whenever the live feed reconnects. InfluxDB stays the source of truth.
func (s *Server) reloadLoop(ctx context.Context) {
	sites := s.board.Sites()
	for _, site := range sites {
		s.reload(ctx, site)
		s.sitesLoaded.Add(1)
	}
	if ctx.Err() != nil {
		return
	}
	close(s.loaded)
	s.log.Info("first load from InfluxDB done", "sites", len(sites))
	t := time.NewTicker(s.cfg.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.reloadNow:
		}
		for _, site := range sites {
			s.reload(ctx, site)
		}
	}
}

func (s *Server) reload(ctx context.Context, site string) {
	start := time.Now()
	if err := s.board.Reload(ctx, site); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("reload failed; showing the previous figures", "site", site, "err", err)
		}
		return
	}
	s.reloadDuration.Observe(time.Since(start).Seconds())
	s.dirty.mark(site)
}

// firstLoadDone is the readiness check of the first reload.
func (s *Server) firstLoadDone(context.Context) error {
	select {
	case <-s.loaded:
		return nil
	default:
		return fmt.Errorf("first load from InfluxDB under way: %d of %d sites done", s.sitesLoaded.Load(), len(s.board.Sites()))
	}
}

// pushLoop sends each changed snapshot at most once per push interval:
// a burst of events costs the browsers one frame.
func (s *Server) pushLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.PushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, site := range s.board.Tick(s.cfg.Hours) {
			s.dirty.mark(site)
		}
		changed := s.dirty.take()
		for _, site := range changed {
			if data, err := s.board.SnapshotJSON(site, nil); err == nil {
				s.hub.Publish(hub.Message{Site: site, Data: data})
			}
		}
		for key, sites := range s.views.touching(changed) {
			if data, err := s.board.SitesJSON(sites); err == nil {
				s.hub.Publish(hub.Message{Site: key, Data: data})
			}
		}
	}
}

// pingInfluxDB checks that InfluxDB answers its /ping: without it no reload
// can succeed, and the figures on screen age.
func pingInfluxDB(db InfluxDB) health.Check {
	client := &http.Client{} // the check's context bounds each ping
	endpoint := strings.TrimRight(db.URL, "/") + "/ping"
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return err
		}
		if db.Token != "" {
			req.Header.Set("Authorization", "Token "+db.Token)
		}
		resp, err := client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL is in the configuration; the cause is news
			}
			return fmt.Errorf("no answer: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("ping answered %s", resp.Status)
		}
		return nil
	}
}
