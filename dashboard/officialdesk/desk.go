// Package officialdesk serves each official's figures (issue 17): a
// manager's list of their site's officials over a period, and one
// official's page with the trend by month, readable by the managers of
// their site and by the official themself, nobody else. Every reading of
// an official's figures is logged (internal/accesslog) before it is
// answered. Figures come from internal/officials, with their facts:
// attributions by login and by roster, unattributed sessions, and presence
// as expected, covered, present and unknown time.
package officialdesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pscm/pscm/internal/accesslog"
	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/officials"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
)

// Source gives the officials' days the figures are summed from
// (kpidb.Source: from the rollups for whole past days, from the raw facts
// for today or when a day is not kept).
type Source interface {
	OfficialDays(ctx context.Context, site string, from, to time.Time, r *roster.Roster, ids []string) ([]*officials.Day, error)
}

// CaseSource gives, per official, the citizens' cases concerning them
// (the dashboard's case desk); nil when the dashboard keeps no cases.
type CaseSource interface {
	OfficialSummaries(ctx context.Context, site string, from, to time.Time) (map[string]cases.Summary, error)
}

// Viewer is who asks: a manager sees the officials of the sites they may
// see; an official (Own set) only themself.
type Viewer struct {
	Name string
	See  func(site string) bool
	Own  string
}

// Config is what the desk needs besides its source.
type Config struct {
	// Sites are the dashboard's sites, in order (the page's picker).
	Sites     []string
	Roster    *roster.Roster
	Loc       *time.Location
	Satisfied []schema.Level
	// MinSessions: an official's service times are compared with the
	// center's only on at least this many sessions of a service.
	MinSessions int
	AccessLog   string
	// NotesFile keeps the officials' own notes (append-only).
	NotesFile string
	// RetentionMonths is how long a reading in AccessLog and a note in
	// NotesFile are kept, from their time (DefaultRetentionMonths when 0).
	RetentionMonths int
	// Cases, when set, adds the cases concerning each official.
	Cases CaseSource
	Now   func() time.Time
}

// DefaultMinSessions is MinSessions' default.
const DefaultMinSessions = 30

// Desk serves the officials' figures and keeps their retention.
type Desk struct {
	cfg    Config
	sites  []string
	src    Source
	log    *slog.Logger
	access *accessFile
	notes  *notes

	// stop ends the retention loop, which closes done when it returns.
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New builds the desk, applies the retention to its files and keeps
// applying it hourly until Close.
func New(cfg Config, src Source, log *slog.Logger) (*Desk, error) {
	return newTicking(cfg, src, log, sweepCheck)
}

// newTicking is New with the loop reading the clock every tick.
func newTicking(cfg Config, src Source, log *slog.Logger, tick time.Duration) (*Desk, error) {
	if cfg.Roster == nil || src == nil || cfg.AccessLog == "" || cfg.NotesFile == "" || cfg.Now == nil {
		return nil, errors.New("officialdesk: roster, source, access log, notes file and clock are required")
	}
	if cfg.MinSessions <= 0 {
		cfg.MinSessions = DefaultMinSessions
	}
	if cfg.RetentionMonths <= 0 {
		cfg.RetentionMonths = DefaultRetentionMonths
	}
	access, err := openAccess(cfg.AccessLog)
	if err != nil {
		return nil, err
	}
	ns, err := openNotes(cfg.NotesFile)
	if err != nil {
		access.close()
		return nil, err
	}
	d := &Desk{cfg: cfg, sites: cfg.Sites, src: src, log: log, access: access, notes: ns, done: make(chan struct{})}
	d.sweep()
	ctx, stop := context.WithCancel(context.Background())
	d.stop = stop
	go d.keep(ctx, tick)
	return d, nil
}

// Close stops the retention loop (waiting for a sweep under way) and
// releases the access log and the notes. Calling it again does nothing.
func (d *Desk) Close() {
	d.closeOnce.Do(func() {
		d.stop()
		<-d.done
		d.access.close()
		d.notes.close()
	})
}

// Entry is one official's figures in a list or on their page.
type Entry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Site string `json:"site"`
	officials.Figures
	// SatisfiedPct is the satisfied share of their ratings; HasRatings
	// false when none.
	SatisfiedPct float64 `json:"satisfied_pct"`
	HasRatings   bool    `json:"has_ratings"`
	// PresencePct is present over covered time; HasPresence false when
	// the camera never saw their rostered time.
	PresencePct float64 `json:"presence_pct"`
	HasPresence bool    `json:"has_presence"`
	// OnTimePct is the share of their dossiers handled early or on time.
	OnTimePct   float64 `json:"on_time_pct"`
	HasDossiers bool    `json:"has_dossiers"`
	// Cases are the citizens' cases concerning them in the period (nil
	// when no cases are kept).
	Cases *cases.Summary `json:"cases,omitempty"`
	// Comparable lists the services with enough sessions (MinSessions) to
	// set beside the center's median.
	Comparable []officials.ServiceFigure `json:"comparable"`
}

// List is a site's officials over a period.
type List struct {
	Site                 string  `json:"site"`
	Range                string  `json:"range"`
	From                 string  `json:"from"`
	To                   string  `json:"to"`
	Officials            []Entry `json:"officials"`
	UnattributedSessions int     `json:"unattributed_sessions"`
	UnattributedRatings  int     `json:"unattributed_ratings"`
	MinSessions          int     `json:"min_sessions"`
}

// Page is one official's figures and their trend by month, with their
// own notes on days of the range.
type Page struct {
	Entry
	Range  string  `json:"range"`
	From   string  `json:"from"`
	To     string  `json:"to"`
	Months []Month `json:"months"`
	Notes  []Note  `json:"notes"`
}

// Month is one calendar month of the page's range.
type Month struct {
	Label string `json:"label"` // MM/YYYY
	Entry
}

// API serves, behind the login:
//
//	GET /api/officials?site=&range=   a site's officials (managers of the site)
//	GET /api/officials/{id}?range=    one official with the trend by month (their managers, themself); "me" for one's own
func (d *Desk) API(who func(*http.Request) (Viewer, bool)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/officials", func(w http.ResponseWriter, r *http.Request) {
		v, ok := who(r)
		site := r.URL.Query().Get("site")
		if !ok || v.Own != "" || !schema.ValidID(site) || !v.See(site) {
			writeError(w, http.StatusForbidden, "forbidden / không có quyền")
			return
		}
		rg, ok := d.parseRange(w, r)
		if !ok {
			return
		}
		l, err := d.list(r.Context(), v, site, rg)
		if err != nil {
			d.fail(w, err)
			return
		}
		writeJSON(w, l)
	})
	// GET /api/officials/sheet?site=&range=: the site's sheet (XLSX), for
	// its managers.
	mux.HandleFunc("GET /api/officials/sheet", func(w http.ResponseWriter, r *http.Request) {
		v, ok := who(r)
		site := r.URL.Query().Get("site")
		if !ok || v.Own != "" || !schema.ValidID(site) || !v.See(site) {
			writeError(w, http.StatusForbidden, "forbidden / không có quyền")
			return
		}
		rg, ok := d.parseRange(w, r)
		if !ok {
			return
		}
		l, err := d.list(r.Context(), v, site, rg)
		if err == nil {
			var b []byte
			if b, err = siteSheetXLSX(l); err == nil {
				w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
				w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="pscm-can-bo-%s-%s.xlsx"`, site, strings.ReplaceAll(rg.Label, "/", "-")))
				w.Header().Set("Cache-Control", "no-store")
				_, _ = w.Write(b)
				return
			}
		}
		d.fail(w, err)
	})
	mux.HandleFunc("POST /api/officials/me/notes", func(w http.ResponseWriter, r *http.Request) {
		v, ok := who(r)
		if !ok {
			writeError(w, http.StatusForbidden, "forbidden / không có quyền")
			return
		}
		d.serveNote(w, r, v)
	})
	mux.HandleFunc("GET /api/officials/{id}/sheet", func(w http.ResponseWriter, r *http.Request) {
		if p, ok := d.pageFor(w, r, who); ok {
			d.serveSheet(w, r, p)
		}
	})
	mux.HandleFunc("GET /api/officials/{id}", func(w http.ResponseWriter, r *http.Request) {
		if p, ok := d.pageFor(w, r, who); ok {
			writeJSON(w, p)
		}
	})
	return mux
}

// pageFor answers the official the path names, if the viewer may read
// them (themself, or a manager of their site), over the asked range.
func (d *Desk) pageFor(w http.ResponseWriter, r *http.Request, who func(*http.Request) (Viewer, bool)) (Page, bool) {
	v, ok := who(r)
	id := r.PathValue("id")
	if ok && id == "me" {
		id = v.Own
	}
	o, known := d.cfg.Roster.Official(id)
	// The same answer for an official who is not yours as for none.
	if !ok || !known || !(v.Own == id || v.Own == "" && v.See(o.Site)) {
		writeError(w, http.StatusNotFound, "no such official / không có cán bộ này")
		return Page{}, false
	}
	rg, ok := d.parseRange(w, r)
	if !ok {
		return Page{}, false
	}
	p, err := d.page(r.Context(), v, o, rg)
	if err != nil {
		d.fail(w, err)
		return Page{}, false
	}
	return p, true
}

func (d *Desk) parseRange(w http.ResponseWriter, r *http.Request) (kpi.Range, bool) {
	spec := r.URL.Query().Get("range")
	if spec == "" {
		spec = "month"
	}
	rg, err := kpi.ParseRange(spec, d.cfg.Now(), d.cfg.Loc)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return rg, false
	}
	return rg, true
}

func (d *Desk) fail(w http.ResponseWriter, err error) {
	d.log.Error("officials' figures not computed", "err", err)
	writeError(w, http.StatusInternalServerError, "the figures could not be computed / chưa tính được số liệu")
}

// end stops a range at now: time not yet come is neither present nor absent.
func (d *Desk) end(rg kpi.Range) time.Time {
	if now := d.cfg.Now(); now.Before(rg.To) {
		return now
	}
	return rg.To
}

func (d *Desk) list(ctx context.Context, v Viewer, site string, rg kpi.Range) (List, error) {
	os := d.cfg.Roster.OfficialsOf(site)
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	days, err := d.src.OfficialDays(ctx, site, rg.From, d.end(rg), d.cfg.Roster, ids)
	if err != nil {
		return List{}, err
	}
	res := officials.Sum(days, ids, d.cfg.Satisfied)
	if err := d.access.Append(accesslog.Entry{At: d.cfg.Now().UTC(), User: v.Name, Site: site, Subject: "officials", What: "figures " + rg.Label}); err != nil {
		return List{}, err
	}
	l := List{Site: site, Range: rg.Label, From: day(rg.From), To: day(rg.Last()), UnattributedSessions: res.UnattributedSessions,
		UnattributedRatings: res.UnattributedRatings, MinSessions: d.cfg.MinSessions}
	sums, err := d.caseSummaries(ctx, site, rg.From, d.end(rg))
	if err != nil {
		return List{}, err
	}
	for i, fg := range res.Officials {
		e := d.entry(os[i], fg)
		e.Cases = sums.of(os[i].ID)
		l.Officials = append(l.Officials, e)
	}
	return l, nil
}

func (d *Desk) page(ctx context.Context, v Viewer, o roster.Official, rg kpi.Range) (Page, error) {
	if err := d.access.Append(accesslog.Entry{At: d.cfg.Now().UTC(), User: v.Name, Site: o.Site, Subject: o.ID, What: "figures " + rg.Label}); err != nil {
		return Page{}, err
	}
	// One read of the range's days; each month is the sum of its own.
	end := d.end(rg)
	ids := []string{o.ID}
	days, err := d.src.OfficialDays(ctx, o.Site, rg.From, end, d.cfg.Roster, ids)
	if err != nil {
		return Page{}, err
	}
	one := func(from, to time.Time) (Entry, error) {
		var in []*officials.Day
		for _, dy := range days {
			if !dy.Start.Before(from) && dy.Start.Before(to) {
				in = append(in, dy)
			}
		}
		res := officials.Sum(in, ids, d.cfg.Satisfied)
		return d.entry(o, res.Officials[0]), nil
	}
	e, err := one(rg.From, end)
	if err != nil {
		return Page{}, err
	}
	sums, err := d.caseSummaries(ctx, o.Site, rg.From, end)
	if err != nil {
		return Page{}, err
	}
	e.Cases = sums.of(o.ID)
	p := Page{Entry: e, Range: rg.Label, From: day(rg.From), To: day(rg.Last()),
		Notes: d.notes.of(o.ID, rg.From.Format(time.DateOnly), rg.Last().Format(time.DateOnly))}
	loc := rg.From.Location()
	for m := time.Date(rg.From.Year(), rg.From.Month(), 1, 0, 0, 0, 0, loc); m.Before(end); m = m.AddDate(0, 1, 0) {
		from, to := m, m.AddDate(0, 1, 0)
		if from.Before(rg.From) {
			from = rg.From
		}
		if to.After(end) {
			to = end
		}
		me, err := one(from, to)
		if err != nil {
			return Page{}, err
		}
		p.Months = append(p.Months, Month{Label: m.Format("01/2006"), Entry: me})
	}
	return p, nil
}

func (d *Desk) entry(o roster.Official, fg officials.Figures) Entry {
	e := Entry{ID: o.ID, Name: o.Name, Site: o.Site, Figures: fg, Comparable: []officials.ServiceFigure{}}
	if fg.RatingsTotal > 0 {
		e.HasRatings, e.SatisfiedPct = true, 100*float64(fg.Satisfied)/float64(fg.RatingsTotal)
	}
	if fg.CoveredS > 0 {
		e.HasPresence, e.PresencePct = true, 100*fg.PresentS/fg.CoveredS
	}
	if fg.DossiersTotal > 0 {
		e.HasDossiers, e.OnTimePct = true, 100*float64(fg.DossiersOnTime)/float64(fg.DossiersTotal)
	}
	for _, s := range fg.Services {
		if s.Sessions >= d.cfg.MinSessions && s.CenterSessions >= d.cfg.MinSessions {
			e.Comparable = append(e.Comparable, s)
		}
	}
	return e
}

func day(t time.Time) string { return t.Format("02/01/2006") }

// summaries are the cases per official; nil when no cases are kept.
type summaries map[string]cases.Summary

func (s summaries) of(id string) *cases.Summary {
	if s == nil {
		return nil
	}
	x, ok := s[id]
	if !ok {
		x = cases.NewSummary()
	}
	return &x
}

func (d *Desk) caseSummaries(ctx context.Context, site string, from, to time.Time) (summaries, error) {
	if d.cfg.Cases == nil {
		return nil, nil
	}
	return d.cfg.Cases.OfficialSummaries(ctx, site, from, to)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
