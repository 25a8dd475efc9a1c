package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/dashboard/board"
	"github.com/pscm/pscm/dashboard/config"
	"github.com/pscm/pscm/dashboard/download"
	"github.com/pscm/pscm/dashboard/hub"
	"github.com/pscm/pscm/dashboard/web"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/schema"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runReady(ctx, args, stdin, stdout, stderr, nil)
}

// runReady is run; if ready is not nil it receives the HTTP address once
// the dashboard serves.
func runReady(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("pscm-dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/pscm/dashboard.yml", "configuration file")
	check := fs.Bool("config.check", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	hashPassword := fs.Bool("hash-password", false, "read a password from standard input, print its bcrypt hash for the users file, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hashPassword {
		// From stdin, never from an argument: arguments show in ps and shell history.
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		hash, err := auth.HashPassword(strings.TrimRight(line, "\r\n"))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, hash)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pscm-dashboard", version, runtime.Version())
		return nil
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	users, err := auth.LoadUsers(cfg.UsersFile)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintf(stdout, "%s: configuration OK (%d users)\n", *configPath, len(users))
		return nil
	}
	log, err := cfg.Log.New(stderr)
	if err != nil {
		return err
	}
	key, err := cfg.SessionKey.Value()
	if err != nil {
		return fmt.Errorf("session_key: %w", err)
	}
	a, err := auth.New(cfg.Auth, users, []byte(key), log.With("component", "auth"), time.Now)
	if err != nil {
		return err
	}
	token, err := cfg.InfluxDB.Token.Value()
	if err != nil {
		return fmt.Errorf("influxdb token: %w", err)
	}
	loc, err := cfg.Location()
	if err != nil {
		return err
	}
	hours, err := cfg.Hours()
	if err != nil {
		return err
	}
	src := kpidb.NewSource(kpidb.Config{URL: cfg.InfluxDB.URL, Token: token, Bucket: cfg.InfluxDB.Bucket, Satisfied: cfg.Satisfied, Loc: loc, Hours: hours})
	defer src.Close()
	b := board.New(cfg.Sites, src, loc, cfg.Targets, cfg.Satisfied, log.With("component", "board"), time.Now)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	queryLatency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "pscm", Subsystem: "dashboard", Name: "reload_duration_seconds",
		Help: "Time to reload one site's figures from InfluxDB.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	})
	reg.MustRegister(queryLatency)
	reports, err := download.New(download.Config{Sites: cfg.Sites, Loc: loc, Targets: cfg.Targets, Satisfied: cfg.Satisfied},
		src, log.With("component", "report"), reg)
	if err != nil {
		return err
	}
	h := hub.New(hub.Config{}.WithDefaults(), log.With("component", "hub"), reg)
	defer h.Close()

	d := &dirty{sites: map[string]bool{}}
	views := &siteViews{sets: map[string][]string{}}
	reload := func(ctx context.Context) {
		for _, site := range b.Sites() {
			start := time.Now()
			if err := b.Reload(ctx, site); err != nil {
				log.Warn("reload failed; showing the previous figures", "site", site, "err", err)
				continue
			}
			queryLatency.Observe(time.Since(start).Seconds())
			d.mark(site)
		}
	}
	reload(ctx)

	mopts, err := cfg.MQTT.Options(true) // live view only: what was missed is in InfluxDB
	if err != nil {
		return err
	}
	filters := map[string]byte{}
	for _, s := range cfg.Sites {
		for _, k := range schema.Kinds() {
			filters[schema.TopicPrefix+s.ID+"/"+string(k)] = 0
			filters[schema.TopicPrefix+s.ID+"/"+string(k)+"/+"] = 0
		}
	}
	handle := func(_ mqtt.Client, m mqtt.Message) {
		ev, err := schema.DecodeMessage(m.Topic(), m.Payload(), time.Now())
		if err != nil {
			return // the collector counts and logs rejects
		}
		if site, changed := b.Apply(ev); changed {
			d.mark(site)
		}
	}
	mopts.SetDefaultPublishHandler(handle)
	mopts.SetOnConnectHandler(func(c mqtt.Client) {
		go c.SubscribeMultiple(filters, handle).WaitTimeout(30 * time.Second)
		// What happened while disconnected is only in InfluxDB.
		go reload(context.WithoutCancel(ctx))
	})
	mc := mqtt.NewClient(mopts)
	mc.Connect()
	defer mc.Disconnect(250)

	mux := http.NewServeMux()
	mux.Handle("/login", a.LoginHandler())
	mux.Handle("POST /logout", a.LogoutHandler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.Handle("GET /ws", a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFrom(r.Context())
		// The hub ends the connection when the login it was opened with does.
		if ends, ok := auth.SessionEnds(r.Context()); ok {
			ctx, cancel := context.WithDeadline(r.Context(), ends)
			defer cancel()
			r = r.WithContext(ctx)
		}
		if r.URL.Query().Get("view") == "sites" {
			// The province view: one row per site the user may see, pushed
			// under a key naming exactly that set, so nobody receives a
			// site outside their scope.
			visible := visibleSites(u, b.Sites())
			hello, err := b.SitesJSON(visible)
			if err != nil || len(visible) == 0 {
				http.Error(w, "no sites", http.StatusForbidden)
				return
			}
			key := views.add(visible)
			_ = h.Serve(w, r, []string{key}, hello, auth.CheckOrigin)
			return
		}
		site := r.URL.Query().Get("site")
		if site == "" {
			site = firstVisible(u, b.Sites())
		}
		if !u.CanSee(site) || !slices.Contains(b.Sites(), site) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		hello, err := b.SnapshotJSON(site, userJSON(u))
		if err != nil {
			http.Error(w, "unknown site", http.StatusNotFound)
			return
		}
		_ = h.Serve(w, r, []string{site}, hello, auth.CheckOrigin)
	})))
	mux.Handle("GET /api/snapshot", a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFrom(r.Context())
		site := r.URL.Query().Get("site")
		if !u.CanSee(site) || !slices.Contains(b.Sites(), site) {
			writeJSONError(w, http.StatusForbidden, "forbidden")
			return
		}
		body, err := b.SnapshotJSON(site, userJSON(u))
		if err != nil {
			writeJSONError(w, http.StatusNotFound, "unknown site")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	})))
	mux.Handle("GET /api/report", a.Require(reports))
	mux.Handle("GET /api/report/periods", a.Require(reports.PeriodsHandler()))
	mux.Handle("/", a.Require(withCSRFMeta(a, web.Handler())))

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("starting", "version", version, "http", ln.Addr().String(), "sites", len(cfg.Sites), "users", len(users))

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // pusher: at most one snapshot per site per push interval
		defer wg.Done()
		t := time.NewTicker(cfg.PushInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, site := range b.Tick(hours) {
					d.mark(site)
				}
				changed := d.take()
				for _, site := range changed {
					if data, err := b.SnapshotJSON(site, nil); err == nil {
						h.Publish(hub.Message{Site: site, Data: data})
					}
				}
				for key, sites := range views.touching(changed) {
					if data, err := b.SitesJSON(sites); err == nil {
						h.Publish(hub.Message{Site: key, Data: data})
					}
				}
			}
		}
	}()
	go func() { // reloader: InfluxDB stays the source of truth
		defer wg.Done()
		t := time.NewTicker(cfg.ReloadInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				reload(ctx)
			}
		}
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- cfg.HTTP.TLS.Serve(srv, ln) }()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
	}
	h.Close() // websockets are hijacked: Shutdown does not end them
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	wg.Wait()
	log.Info("stopped", "err", err)
	return err
}

// dirty collects sites whose snapshot changed since the last push.
type dirty struct {
	mu    sync.Mutex
	sites map[string]bool
}

func (d *dirty) mark(site string) { d.mu.Lock(); d.sites[site] = true; d.mu.Unlock() }

func (d *dirty) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for s := range d.sites {
		out = append(out, s)
	}
	clear(d.sites)
	return out
}

// siteViews remembers the site sets of open province views (one per
// distinct scope of users: few), keyed by a name no site ID can take.
type siteViews struct {
	mu   sync.Mutex
	sets map[string][]string
}

func (v *siteViews) add(sites []string) string {
	key := "view:" + strings.Join(sites, ",")
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.sets) < 1000 {
		v.sets[key] = sites
	}
	return key
}

// touching returns the views that include any of the changed sites.
func (v *siteViews) touching(changed []string) map[string][]string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string][]string{}
	for key, sites := range v.sets {
		for _, c := range changed {
			if slices.Contains(sites, c) {
				out[key] = sites
				break
			}
		}
	}
	return out
}

func visibleSites(u auth.User, sites []string) []string {
	var out []string
	for _, s := range sites {
		if u.CanSee(s) {
			out = append(out, s)
		}
	}
	return out
}

func firstVisible(u auth.User, sites []string) string {
	for _, s := range sites {
		if u.CanSee(s) {
			return s
		}
	}
	return ""
}

func userJSON(u auth.User) *board.UserJSON {
	return &board.UserJSON{Name: u.Name, DisplayName: u.DisplayName, Role: string(u.Role), Sites: u.Sites}
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// withCSRFMeta puts the session's CSRF token into the page as
// <meta name="csrf-token">, where the page's logout form reads it. Only the
// HTML page is rewritten; assets pass through.
func withCSRFMeta(a *auth.Auth, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || (r.URL.Path != "/" && r.URL.Path != "/index.html") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		r2 := r.Clone(r.Context())
		r2.Header.Del("If-None-Match") // the page differs per session: always the full body
		next.ServeHTTP(rec, r2)
		body := rec.Body.Bytes()
		meta := `<meta name="csrf-token" content="` + html.EscapeString(a.CSRFToken(r)) + `">`
		if i := bytes.Index(body, []byte("<head>")); rec.Code == http.StatusOK && i >= 0 {
			body = slices.Concat(body[:i+len("<head>")], []byte(meta), body[i+len("<head>"):])
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("ETag")
		w.Header().Del("Content-Length")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}
