// Package board keeps, for each site, what the dashboard shows: KPIs for
// today, this week, this month, the reporting half-year and the reporting
// year (kpi's one calendar) loaded from InfluxDB (the source of truth,
// reloaded every few minutes), live events applied in between without
// double counting, each counter's state, and recent alerts; and it renders
// the site's snapshot as the JSON the page reads. It also computes the
// figures of any past range of days on demand (Range), in the same JSON.
package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/schema"
)

// Loader is the part of kpidb.Source the board uses.
type Loader interface {
	Load(ctx context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error)
	LoadTotals(ctx context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error)
	Series(ctx context.Context, site string, start, end time.Time, step time.Duration) ([]kpi.Point, error)
	YearVolume(ctx context.Context, site string, start, end time.Time) (kpi.Volume, error)
	// DissatisfiedRatings are a period's dissatisfied ratings, newest
	// first: each is an alert, after a restart as before it.
	DissatisfiedRatings(ctx context.Context, site string, start, end time.Time) ([]kpidb.Dissatisfied, error)
}

// periods are the tabs, in their order on the page.
var periods = []kpi.Period{kpi.PeriodToday, kpi.PeriodWeek, kpi.PeriodMonth, kpi.PeriodHalf, kpi.PeriodYear}

const maxAlerts = 20

type counterState struct {
	staffed      *bool
	vacantSince  time.Time // staff seat empty since (zero when staffed or unknown)
	absenceAlert bool      // the current absence was already alerted
	// camera watches the staff seat (from its occupancy events); seenUntil
	// is the latest event time that camera is known to have been watching
	// (an occupancy change or an "up" health report: every 10 s), and
	// cameraDown whether its last report said down. The unstaffed alert is
	// measured on these event times, never on the wall clock, so events
	// that arrive late (a spool replayed after an uplink outage) cannot
	// make a 5-minute break look like 3 hours.
	camera       string
	seenUntil    time.Time
	cameraDown   bool
	servingSince *time.Time
	lastRating   *lastRating
	today        *kpi.Live
}

// watching says the seat's camera is up and its last report current at
// now (within CoverageFresh): what it says of the seat is live, not a
// spool replayed after an outage.
func (cs *counterState) watching(now time.Time) bool {
	return !cs.cameraDown && now.Sub(cs.seenUntil) <= CoverageFresh
}

type lastRating struct {
	Level schema.Level `json:"level"`
	TS    time.Time    `json:"ts"`
}

// Alert is one line of the alerts list.
type Alert struct {
	// ID names the alert for an acknowledgement: its key, or its kind,
	// counter and time.
	ID      string    `json:"id"`
	TS      time.Time `json:"ts"`
	Kind    string    `json:"kind"`
	Counter string    `json:"counter,omitempty"`
	TextVI  string    `json:"text_vi"`
	TextEN  string    `json:"text_en"`
	// ReasonsVI and ReasonsEN are the reasons a dissatisfied citizen
	// ticked, by name.
	ReasonsVI []string `json:"reasons_vi,omitempty"`
	ReasonsEN []string `json:"reasons_en,omitempty"`
	// Ack says who acknowledged the alert and when; nil until someone did.
	Ack *Ack `json:"ack,omitempty"`
	// Facts are what an "unstaffed" alert rests on, for a manager to
	// check before anyone is judged by it; nil on other kinds.
	Facts *Facts `json:"facts,omitempty"`
	// key names the thing and condition: an alert with the key of one in
	// the list replaces it (a rating's reasons arrive after it) instead of
	// adding a line; "" falls back to kind, counter and text within a
	// minute (a camera or agent repeating its state).
	key string
}

// Facts are the camera-coverage and roster facts behind an absence, as
// the board knew them when it raised the alert.
type Facts struct {
	// VacantSince is the staff seat's "vacant" event; CameraSeenUntil the
	// latest moment the seat's camera is known to have been watching (the
	// alert's time): the absence is measured between the two.
	VacantSince     time.Time `json:"vacant_since"`
	Camera          string    `json:"camera,omitempty"`
	CameraSeenUntil time.Time `json:"camera_seen_until"`
	// CoverageCurrent says the camera's last report was live when the
	// alert was raised (within CoverageFresh of the board's clock); false
	// when the absence was measured on events that arrived late (a spool
	// replayed after an outage).
	CoverageCurrent bool `json:"coverage_current"`
	// Roster is who the officials' roster expected at the counter at the
	// alert's time; nil when the dashboard has no roster.
	Roster *RosterFacts `json:"roster,omitempty"`
}

// RosterFacts is the roster's answer for one counter at one moment.
type RosterFacts struct {
	At time.Time `json:"at"`
	// Official is who was rostered; nil when nobody was (no shift, or the
	// rostered official away).
	Official *RosteredOfficial `json:"official,omitempty"`
}

// RosteredOfficial names an official and links to their page for the day.
type RosteredOfficial struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// CoverageFresh is how old a camera's last report may be, on the board's
// clock, for its coverage to count as current: cameras report every 10 s.
const CoverageFresh = time.Minute

// RosterLookup says who the roster expected at a site's counter at a
// moment, with the link to their page for that day; ok false when nobody
// was (officialdesk.RosterAt).
type RosterLookup func(site, counter string, at time.Time) (id, name, url string, ok bool)

type siteState struct {
	site     kpi.Site
	live     map[kpi.Period]*kpi.Live
	counters map[string]*counterState
	alerts   []Alert
	loaded   time.Time
	// hours is today by hour and days the last 30 local days, as loaded
	// and then counted live (ratings and sessions new to today's Live).
	hours, days []kpi.Point
	// lastYear is the previous reporting year's volume, the budgets' basis
	// when none is configured, loaded once for lastYearOf (the label of the
	// reporting year it precedes).
	lastYear   kpi.Volume
	lastYearOf string
	// acked are the acknowledgements on record by alert ID, so an alert
	// raised again (a reload after a restart) keeps who saw it.
	acked map[string]Ack
}

// Board is safe for concurrent use.
type Board struct {
	src       Loader
	loc       *time.Location
	targets   kpi.Targets
	satisfied []schema.Level
	log       *slog.Logger
	now       func() time.Time
	reasons   kpi.Reasons
	// roster names who was expected at a counter left unstaffed; nil
	// when the dashboard has no roster.
	roster RosterLookup

	mu    sync.Mutex
	sites map[string]*siteState
	// hours are the working hours of the latest Tick (the server ticks
	// with its configured hours before each push): a tile's live absence
	// is one in working hours. Nil before the first Tick, when no tile
	// carries facts.
	hours *kpi.WorkHours
}

// Option changes a Board at New.
type Option func(*Board)

// WithReasons names the follow-up reasons (kpi.DefaultReasons otherwise).
func WithReasons(r kpi.Reasons) Option { return func(b *Board) { b.reasons = r } }

// WithRoster sets who each "unstaffed" alert, and each tile's live
// "unstaffed", names as rostered at the counter (nil: no roster; they
// then say nothing of people).
func WithRoster(r RosterLookup) Option { return func(b *Board) { b.roster = r } }

// New returns a board for sites; call Reload before the first Snapshot.
func New(sites []kpi.Site, src Loader, loc *time.Location, targets kpi.Targets, satisfied []schema.Level, log *slog.Logger, now func() time.Time, opts ...Option) *Board {
	b := &Board{src: src, loc: loc, targets: targets, satisfied: satisfied, log: log, now: now, sites: map[string]*siteState{},
		reasons: kpi.DefaultReasons()}
	for _, o := range opts {
		o(b)
	}
	for _, s := range sites {
		st := &siteState{site: s, live: map[kpi.Period]*kpi.Live{}, counters: map[string]*counterState{}}
		for _, c := range s.Counters {
			st.counters[c.ID] = &counterState{}
		}
		b.sites[s.ID] = st
	}
	return b
}

// Sites returns the configured site IDs.
func (b *Board) Sites() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := make([]string, 0, len(b.sites))
	for id := range b.sites {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Reload loads every period of site from InfluxDB and replaces the live
// figures. Events that arrive while it runs may be counted once in the load
// and once live until the next reload; reloads every few minutes bound that.
func (b *Board) Reload(ctx context.Context, site string) error {
	now := b.now()
	// The periods and series load concurrently: the first page waits for
	// the slowest query (the year's percentiles), not for the sum of all.
	g, gctx := errgroup.WithContext(ctx)
	stats := make([]kpi.Stats, len(periods))
	var perCounter map[string]kpi.Stats
	for i, p := range periods {
		g.Go(func() error {
			start, end := kpi.Bounds(p, now, b.loc)
			load := b.src.LoadTotals // per-counter figures are shown for today only
			if p == kpi.PeriodToday {
				load = b.src.Load
			}
			overall, counters, err := load(gctx, site, start, end)
			if err != nil {
				return fmt.Errorf("board: load %s %s: %w", site, p, err)
			}
			stats[i] = overall
			if p == kpi.PeriodToday {
				perCounter = counters
			}
			return nil
		})
	}
	start, end := kpi.Bounds(kpi.PeriodToday, now, b.loc)
	var hours, days []kpi.Point
	g.Go(func() error {
		var err error
		if hours, err = b.src.Series(gctx, site, start, end, time.Hour); err != nil {
			return fmt.Errorf("board: load %s today by hour: %w", site, err)
		}
		return nil
	})
	var unhappy []kpidb.Dissatisfied
	g.Go(func() error {
		var err error
		if unhappy, err = b.src.DissatisfiedRatings(gctx, site, start, end); err != nil {
			return fmt.Errorf("board: load %s today's dissatisfied ratings: %w", site, err)
		}
		return nil
	})
	g.Go(func() error {
		dstart, dend := kpi.Last30Days(now, b.loc)
		var err error
		if days, err = b.src.Series(gctx, site, dstart, dend, 24*time.Hour); err != nil {
			return fmt.Errorf("board: load %s last 30 days: %w", site, err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	year := kpi.RangeOf(kpi.PeriodYear, now, b.loc)
	ys := year.From
	b.mu.Lock()
	need := b.sites[site] != nil && b.sites[site].lastYearOf != year.Label
	b.mu.Unlock()
	var lastYear kpi.Volume
	if need {
		// Once a year per site; a failure leaves the budget on the other
		// bases until the next reload tries again.
		v, err := b.src.YearVolume(ctx, site, ys.AddDate(-1, 0, 0), ys)
		if err != nil {
			b.log.Warn("last year's volume not loaded", "site", site, "err", err)
			need = false
		}
		lastYear = v
	}
	loaded := map[kpi.Period]*kpi.Live{}
	for i, p := range periods {
		ps, pe := kpi.Bounds(p, now, b.loc)
		loaded[p] = kpi.NewLive(stats[i], kpi.LiveConfig{Site: site, Start: ps, End: pe, Satisfied: b.satisfied})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.sites[site]
	if !ok {
		return fmt.Errorf("board: unknown site %q", site)
	}
	st.live = loaded
	st.hours, st.days = hours, days
	if need {
		st.lastYear, st.lastYearOf = lastYear, year.Label
	}
	for id, c := range st.counters {
		c.today = kpi.NewLive(perCounter[id], kpi.LiveConfig{Site: site, Counter: id, Start: start, End: end, Satisfied: b.satisfied})
	}
	// Today's dissatisfied ratings, each its alert: oldest first, so the
	// newest ends on top; one already listed stays as it is.
	for i := len(unhappy) - 1; i >= 0; i-- {
		u := unhappy[i]
		b.ratingAlert(st, u.ID, u.TS, u.Counter, u.Reasons)
	}
	st.loaded = now
	return nil
}

// ratingAlert raises (or updates, by its ID) the alert of one
// dissatisfied rating, with the reasons the citizen ticked. Called with
// b.mu held.
func (b *Board) ratingAlert(st *siteState, id string, ts time.Time, counter string, reasons []string) {
	a := Alert{TS: ts, Kind: "dissatisfied", Counter: counter, key: "rating/" + id,
		TextVI:    "Đánh giá không hài lòng tại " + b.counterName(st, counter, true),
		TextEN:    "Dissatisfied rating at " + b.counterName(st, counter, false),
		ReasonsVI: b.reasons.Labels(reasons, true), ReasonsEN: b.reasons.Labels(reasons, false)}
	if len(reasons) > 0 {
		a.TextVI += ": " + strings.Join(a.ReasonsVI, ", ")
		a.TextEN += ": " + strings.Join(a.ReasonsEN, ", ")
	}
	st.alert(a)
}

// Apply applies a live event; it reports the site whose snapshot changed.
func (b *Board) Apply(ev schema.Event) (site string, changed bool) {
	h := ev.Head()
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.sites[h.Site]
	if !ok {
		return "", false
	}
	for p, l := range st.live {
		if l.Apply(ev) {
			changed = true
			if p == kpi.PeriodToday {
				b.countSeries(st, ev)
			}
		}
	}
	switch e := ev.(type) {
	case *schema.Rating:
		if c := st.counters[e.Counter]; c != nil {
			if c.today != nil {
				c.today.Apply(ev)
			}
			if c.lastRating == nil || e.TS.After(c.lastRating.TS) {
				c.lastRating = &lastRating{Level: e.Level, TS: e.TS}
			}
			changed = true
		}
		if e.Level == schema.LevelDissatisfied {
			// Every dissatisfied rating is its own alert, with the reasons
			// the citizen ticked; the rating sent again with its reasons
			// (same ID) updates its line.
			b.ratingAlert(st, e.ID, e.TS, e.Counter, e.Reasons)
			changed = true
		}
	case *schema.Session, *schema.Queue, *schema.Dossier:
		if c, ok := counterOf(ev); ok {
			if cs := st.counters[c]; cs != nil && cs.today != nil {
				cs.today.Apply(ev)
			}
		}
	case *schema.Occupancy:
		cs := st.counters[e.Counter]
		if cs == nil {
			return h.Site, changed
		}
		occupied := e.Occupied
		if e.Zone == schema.ZoneStaff {
			cs.camera = e.Camera
		}
		if e.Camera == cs.camera && e.TS.After(cs.seenUntil) {
			cs.seenUntil, cs.cameraDown = e.TS, false
		}
		switch {
		case !e.Known():
			// The agent does not know (camera down, tampered, re-learning,
			// stopping): the tile says "Chưa rõ", no absence runs.
			switch e.Zone {
			case schema.ZoneStaff:
				cs.staffed, cs.vacantSince, cs.absenceAlert = nil, time.Time{}, false
			case schema.ZoneCitizen:
				cs.servingSince = nil
			}
		case e.Zone == schema.ZoneStaff:
			cs.staffed = &occupied
			if occupied {
				cs.vacantSince, cs.absenceAlert = time.Time{}, false
			} else if cs.vacantSince.IsZero() {
				cs.vacantSince = e.TS
			}
		case e.Zone == schema.ZoneCitizen:
			if occupied {
				t := e.TS
				cs.servingSince = &t
			} else {
				cs.servingSince = nil
			}
		}
		changed = true
	case *schema.Camera:
		for _, cs := range st.counters {
			if cs.camera != e.Camera || e.TS.Before(cs.seenUntil) {
				continue
			}
			cs.seenUntil, cs.cameraDown = e.TS, !e.Up
		}
		if !e.Up {
			st.alert(Alert{TS: e.TS, Kind: "camera_down", TextVI: "Camera " + e.Camera + " mất tín hiệu", TextEN: "Camera " + e.Camera + " is down"})
			changed = true
		}
	case *schema.Agent:
		if e.Status == schema.StatusOffline {
			st.alert(Alert{TS: b.now(), Kind: "agent_offline", TextVI: "Thiết bị " + e.Agent + " mất kết nối", TextEN: "Agent " + e.Agent + " is offline"})
			changed = true
		}
	}
	return h.Site, changed
}

// countSeries adds ev, new to today's Live (so counted once and within
// today), to its hour and its day. Events of earlier days are left to the
// next reload.
func (b *Board) countSeries(st *siteState, ev schema.Event) {
	var ratings, satisfied, sessions int64
	switch e := ev.(type) {
	case *schema.Rating:
		ratings = 1
		if slices.Contains(b.satisfiedLevels(), e.Level) {
			satisfied = 1
		}
	case *schema.Session:
		sessions = 1
	default:
		return
	}
	ts := ev.Head().TS
	for _, pts := range [][]kpi.Point{st.hours, st.days} {
		for i := len(pts) - 1; i >= 0; i-- {
			if !ts.Before(pts[i].Start) {
				if i == len(pts)-1 || ts.Before(pts[i+1].Start) {
					pts[i].Ratings += ratings
					pts[i].Satisfied += satisfied
					pts[i].Sessions += sessions
				}
				break
			}
		}
	}
}

// satisfiedLevels are the levels counted as satisfied.
func (b *Board) satisfiedLevels() []schema.Level {
	if b.satisfied == nil {
		return kpi.DefaultSatisfied()
	}
	return b.satisfied
}

func counterOf(ev schema.Event) (string, bool) {
	switch e := ev.(type) {
	case *schema.Session:
		return e.Counter, true
	case *schema.Queue:
		return e.Counter, e.Counter != ""
	}
	return "", false
}

// Ack is a manager's acknowledgement of an alert.
type Ack struct {
	By   string    `json:"by"`
	Name string    `json:"name,omitempty"`
	At   time.Time `json:"at"`
}

// ErrNoAlert is Acknowledge's answer for an alert not in the list (never
// raised, or scrolled off).
var ErrNoAlert = errors.New("board: no such alert")

// Alert returns the alert id of site, if it is in the list.
func (b *Board) Alert(site, id string) (Alert, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st := b.sites[site]; st != nil {
		for _, a := range st.alerts {
			if a.ID == id {
				return a, true
			}
		}
	}
	return Alert{}, false
}

// Acknowledge records ack on the alert id of site. Acknowledging again
// keeps the first acknowledgement: who saw it first is the record.
func (b *Board) Acknowledge(site, id string, ack Ack) (Alert, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.sites[site]
	if st == nil {
		return Alert{}, ErrNoAlert
	}
	for i := range st.alerts {
		if st.alerts[i].ID == id {
			if st.alerts[i].Ack == nil {
				a := ack
				st.alerts[i].Ack = &a
				st.remember(id, ack)
			}
			return st.alerts[i], nil
		}
	}
	return Alert{}, ErrNoAlert
}

// RememberAck records an acknowledgement read back from the record (a
// restart): the alert it names, raised again from the data, shows it.
func (b *Board) RememberAck(site, id string, ack Ack) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st := b.sites[site]; st != nil {
		st.remember(id, ack)
		for i := range st.alerts {
			if st.alerts[i].ID == id && st.alerts[i].Ack == nil {
				a := ack
				st.alerts[i].Ack = &a
			}
		}
	}
}

// maxAcked bounds the acknowledgements kept per site: the oldest go first
// (their alerts scrolled off long ago).
const maxAcked = 4096

func (st *siteState) remember(id string, ack Ack) {
	if _, ok := st.acked[id]; ok {
		return // the first acknowledgement stands
	}
	if st.acked == nil {
		st.acked = map[string]Ack{}
	}
	if len(st.acked) >= maxAcked {
		oldest := ""
		for k, v := range st.acked {
			if oldest == "" || v.At.Before(st.acked[oldest].At) {
				oldest = k
			}
		}
		delete(st.acked, oldest)
	}
	st.acked[id] = ack
}

func (st *siteState) alert(a Alert) {
	if a.ID == "" {
		a.ID = a.key
		if a.ID == "" {
			a.ID = fmt.Sprintf("%s/%s/%d", a.Kind, a.Counter, a.TS.UnixNano())
		}
	}
	if ack, ok := st.acked[a.ID]; ok && a.Ack == nil {
		// Acknowledged before (read back from the record after a
		// restart): raised again, it is still acknowledged.
		a.Ack = &ack
	}
	for i, old := range st.alerts {
		switch {
		case a.key != "" && old.key == a.key:
			a.Ack = old.Ack // the same alert, more of it known: still acknowledged
			st.alerts[i] = a
			return
		case a.key == "" && old.key == "" && old.Kind == a.Kind && old.Counter == a.Counter && old.TextEN == a.TextEN && a.TS.Sub(old.TS) < time.Minute:
			// A camera or agent repeating its state must not fill the list.
			return
		}
	}
	st.alerts = append([]Alert{a}, st.alerts...)
	if len(st.alerts) > maxAlerts {
		st.alerts = st.alerts[:maxAlerts]
	}
}

func (b *Board) counterName(st *siteState, id string, vi bool) string {
	for _, c := range st.site.Counters {
		if c.ID == id {
			if vi {
				return c.NameVI
			}
			return c.NameEN
		}
	}
	if vi {
		return "quầy " + id
	}
	return "counter " + id
}

// UnstaffedAfter is how long a staff seat may stay empty in working hours
// before the board raises an alert: a short break is not news.
const UnstaffedAfter = 10 * time.Minute

// Tick raises "counter unstaffed" alerts for staff seats empty for more than
// UnstaffedAfter of working time, once per absence, and returns the sites
// whose snapshot changed. The absence is measured in event time: from the
// vacancy to the latest moment the seat's camera is known to have been
// watching (seenUntil), so a late or replayed "occupied" that has not
// arrived yet cannot be taken for an absence, and a camera that is down
// raises "camera down", never "unstaffed". The hours are kept for the
// snapshots' tiles, whose live "unstaffed" carries its facts in them.
func (b *Board) Tick(hours kpi.WorkHours) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hours = &hours
	var changed []string
	for id, st := range b.sites {
		for cid, cs := range st.counters {
			if cs.vacantSince.IsZero() || cs.absenceAlert || cs.cameraDown || !cs.seenUntil.After(cs.vacantSince) {
				continue
			}
			work := hours.Overlap(cs.vacantSince, cs.seenUntil)
			if work < UnstaffedAfter || !hours.Contains(cs.seenUntil) {
				continue
			}
			cs.absenceAlert = true
			mins := int(work.Minutes())
			st.alert(Alert{TS: cs.seenUntil, Kind: "unstaffed", Counter: cid,
				TextVI: fmt.Sprintf("%s không có cán bộ %d phút trong giờ làm việc", b.counterName(st, cid, true), mins),
				TextEN: fmt.Sprintf("%s unstaffed for %d min in working hours", b.counterName(st, cid, false), mins),
				Facts:  b.absenceFacts(id, cid, cs)})
			changed = append(changed, id)
		}
	}
	return changed
}

// absenceFacts are the facts behind the absence of counter's official at
// site, as known now: the seat's vacancy, its camera's last report and,
// with a roster, who was expected there at the alert's time. Called with
// b.mu held.
func (b *Board) absenceFacts(site, counter string, cs *counterState) *Facts {
	f := &Facts{VacantSince: cs.vacantSince, Camera: cs.camera, CameraSeenUntil: cs.seenUntil,
		CoverageCurrent: cs.watching(b.now())}
	if b.roster == nil {
		return f
	}
	f.Roster = &RosterFacts{At: cs.seenUntil}
	if id, name, url, ok := b.roster(site, counter, cs.seenUntil); ok {
		f.Roster.Official = &RosteredOfficial{ID: id, Name: name, URL: url}
	}
	return f
}

// unstaffedFacts are the facts behind a tile's live "unstaffed" (issue
// 17: every absence shown to a manager shows what it rests on): the same
// as an alert's, as of now. Nil unless the staff seat is vacant in
// working hours with its camera up and current: a seat staffed or
// unknown, a camera down or silent, events replayed late, a vacancy out
// of hours or before the first Tick brought the hours are no live
// absence. Called with b.mu held.
func (b *Board) unstaffedFacts(site, counter string, cs *counterState) *Facts {
	if cs.staffed == nil || *cs.staffed || cs.vacantSince.IsZero() || !cs.watching(b.now()) ||
		b.hours == nil || !b.hours.Contains(cs.seenUntil) {
		return nil
	}
	return b.absenceFacts(site, counter, cs)
}
