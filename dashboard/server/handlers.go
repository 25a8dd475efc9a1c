package server

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"

	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/dashboard/board"
	"github.com/pscm/pscm/dashboard/casedesk"
	"github.com/pscm/pscm/dashboard/officialdesk"
	"github.com/pscm/pscm/dashboard/web"
	"github.com/pscm/pscm/internal/health"
)

// routes are the dashboard's HTTP endpoints. Everything a manager sees is
// behind the login; /healthz and /readyz carry no figures (a load balancer
// may ask them). /metrics is on the admin listener only: this port is the
// one a reverse proxy publishes.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/login", s.auth.LoginHandler())
	mux.Handle("POST /logout", s.auth.LogoutHandler())
	health.Register(mux, s.readiness)
	mux.Handle("GET /ws", s.auth.Require(http.HandlerFunc(s.serveWS)))
	mux.Handle("GET /api/snapshot", s.auth.Require(http.HandlerFunc(s.serveSnapshot)))
	mux.Handle("GET /api/range", s.auth.Require(http.HandlerFunc(s.serveRange)))
	mux.Handle("GET /api/report", s.auth.Require(s.reports))
	mux.Handle("GET /api/report/periods", s.auth.Require(s.reports.PeriodsHandler()))
	mux.Handle("POST /api/alerts/ack", s.auth.Require(http.HandlerFunc(s.serveAck)))
	if s.ins != nil {
		mux.Handle("GET /api/insights", s.auth.Require(s.ins.JSON()))
		mux.Handle("GET /api/insights.xlsx", s.auth.Require(s.ins.XLSX()))
	}
	if s.cases != nil {
		api := s.auth.Require(s.cases.API(caseUser))
		mux.Handle("/api/cases", api)
		mux.Handle("/api/cases/", api)
		// The citizens' page: no login, rate-limited by the desk.
		mux.Handle(casedesk.PublicPath, s.cases.Public(s.auth.ClientIP))
		// The agents' door for the cases left at kiosks: their own tokens.
		mux.Handle("/api/intake", s.cases.Intake())
		page := s.auth.Require(s.cases.Page(caseUser, s.auth.CSRFToken))
		mux.Handle("GET "+casedesk.PagePath, page)
		mux.Handle("GET "+casedesk.PagePath+"/", page)
	}
	if s.offs != nil {
		api := s.auth.Require(s.offs.API(officialViewer))
		mux.Handle("GET /api/officials", api)
		mux.Handle("GET /api/officials/", api)
		mux.Handle("POST /api/officials/me/notes", api)
		page := s.auth.Require(s.offs.Page(officialViewer, s.auth.CSRFToken))
		mux.Handle("GET "+officialdesk.PagePath, page)
		mux.Handle("GET "+officialdesk.PagePath+"/", page)
	}
	mux.Handle("/", s.auth.Require(ownPageOnly(withCSRFMeta(s.auth, web.Handler()))))
	return mux
}

// officialViewer is the logged-in user as the officials' desk sees them.
func officialViewer(r *http.Request) (officialdesk.Viewer, bool) {
	u, ok := auth.UserFrom(r.Context())
	if !ok {
		return officialdesk.Viewer{}, false
	}
	return officialdesk.Viewer{Name: u.Name, See: u.CanSee, Own: u.OwnOfficial()}, true
}

// ownPageOnly sends an official, who sees no site, from the dashboard's
// page to their own.
func ownPageOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := auth.UserFrom(r.Context()); ok && u.OwnOfficial() != "" && (r.URL.Path == "/" || r.URL.Path == "/index.html") {
			http.Redirect(w, r, officialdesk.PagePath+"/me", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// caseUser is the logged-in user as the cases' desk sees them: they see
// the cases of their sites, and only a manager of a case's site reads its
// personal data, not a province-wide account.
func caseUser(r *http.Request) (casedesk.User, bool) {
	u, ok := auth.UserFrom(r.Context())
	if !ok {
		return casedesk.User{}, false
	}
	return casedesk.User{Name: u.Name, See: u.CanSee,
		Personal: func(site string) bool { return u.Role == auth.RoleManager && u.CanSee(site) }}, true
}

// serveWS opens a websocket on one site (?site=, the user's first by
// default) or on the province view (?view=sites), after the user's scope
// is checked.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	// The hub ends the connection when the login it was opened with does:
	// at its expiry, or at once when it is logged out.
	live, stop, err := s.auth.Live(r.Context())
	if err != nil {
		s.log.Warn("websocket refused", "user", u.Name, "err", err)
		http.Error(w, "too many open dashboards for this user", http.StatusTooManyRequests)
		return
	}
	defer stop()
	r = r.WithContext(live)
	if r.URL.Query().Get("view") == "sites" {
		// The province view: one row per site the user may see, pushed
		// under a key naming exactly that set, so nobody receives a site
		// outside their scope.
		visible := visibleSites(u, s.board.Sites())
		hello, err := s.board.SitesJSON(visible)
		if err != nil || len(visible) == 0 {
			http.Error(w, "no sites", http.StatusForbidden)
			return
		}
		key := s.views.add(visible)
		_ = s.hub.Serve(w, r, []string{key}, hello, auth.CheckOrigin)
		return
	}
	site := r.URL.Query().Get("site")
	if site == "" {
		site = firstVisible(u, s.board.Sites())
	}
	if !u.CanSee(site) || !slices.Contains(s.board.Sites(), site) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	hello, err := s.board.SnapshotJSON(site, s.userJSON(u))
	if err != nil {
		http.Error(w, "unknown site", http.StatusNotFound)
		return
	}
	_ = s.hub.Serve(w, r, []string{site}, hello, auth.CheckOrigin)
}

// serveSnapshot answers one site's snapshot as JSON, for a user who may see it.
func (s *Server) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	site := r.URL.Query().Get("site")
	if !u.CanSee(site) || !slices.Contains(s.board.Sites(), site) {
		writeJSONError(w, http.StatusForbidden, "forbidden")
		return
	}
	body, err := s.board.SnapshotJSON(site, s.userJSON(u))
	if err != nil {
		writeJSONError(w, http.StatusNotFound, "unknown site")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
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

func (s *Server) userJSON(u auth.User) *board.UserJSON {
	return &board.UserJSON{Name: u.Name, DisplayName: u.DisplayName, Role: string(u.Role), Sites: u.Sites, Cases: s.cases != nil,
		Officials: s.offs != nil}
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A map of strings always encodes; a failed write means the client left.
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
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
