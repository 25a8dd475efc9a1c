// Package admission decides which events, already valid under the v1
// contract, the collector may store. The contract says what an event is;
// admission bounds what one publisher can do with valid ones, so that a
// compromised agent stays a problem of its own site:
//
//   - Inventories: every ID that becomes an InfluxDB tag (counter, kiosk,
//     camera, service, agent) is bounded per site, by the site's listed
//     inventory or by a cap of distinct IDs, and the sites themselves are
//     bounded. Otherwise one agent inventing IDs would fill InfluxDB's
//     series limit, after which InfluxDB refuses every site's new series.
//   - Lag: an event's ts may be at most MaxLag behind the collector's clock
//     (DossierMaxLag for dossiers), so points cannot be backdated at will.
//   - Closed periods: no point may land in a reporting period already
//     reported, unless an operator reopened it for that site, for a while.
//
// Refusals are *schema.Error with ReasonUnknownID, ReasonTSTooOld or
// ReasonPeriodClosed: the collector acknowledges, counts and logs them like
// any invalid message. Agent status events are exempt from the two time
// rules: their last will carries the agent's start time, which may be
// months old, and they feed no reported figure.
package admission

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// Key is an ID tag key whose values a publisher chooses.
type Key string

// The ID tag keys (schema.Fields: the tag columns of JSON type ID, site
// aside). The enum tags (level, step, zone, source, outcome, codec) are
// bounded by the contract itself, and every other value (the event's id,
// ticket, reasons...) is a field, which makes no series.
const (
	KeyCounter Key = "counter"
	KeyKiosk   Key = "kiosk"
	KeyCamera  Key = "camera"
	KeyService Key = "service"
	KeyAgent   Key = "agent"
	// KeyStaff is the official named by queue events (issue 17).
	KeyStaff Key = "staff"
	// KeyOfficial is the official who handled a dossier (issue 17).
	KeyOfficial Key = "official"
)

// numKeys is the number of ID tag keys; index i of the arrays below is
// Keys()[i].
const numKeys = 7

// Keys returns the ID tag keys in a fixed order. The slice is new on each
// call.
func Keys() []Key {
	return []Key{KeyCounter, KeyKiosk, KeyCamera, KeyService, KeyAgent, KeyStaff, KeyOfficial}
}

// ids are an event's ID tag values, by the index of their key; "" where
// the event has none.
type ids [numKeys]string

// idsOf returns ev's ID tag values. TestKeysCoverSchema holds it against
// schema.Fields, so a kind that gains an ID tag cannot go unbounded.
func idsOf(ev schema.Event) ids {
	var v ids
	switch e := ev.(type) {
	case *schema.Rating:
		v[0], v[1] = e.Counter, e.Kiosk
	case *schema.Queue:
		v[0], v[3], v[5] = e.Counter, e.Service, e.Staff // counter is empty for an issued ticket
	case *schema.Occupancy:
		v[0], v[2] = e.Counter, e.Camera
	case *schema.Session:
		v[0] = e.Counter
	case *schema.Camera:
		v[2] = e.Camera
	case *schema.Agent:
		v[4] = e.Agent
	case *schema.Case:
		v[0], v[3] = e.Counter, e.Service
	case *schema.Dossier:
		v[6] = e.Official
	}
	return v
}

// Stored is what InfluxDB already holds (collector/tagindex reads it). A
// cap that started from nothing at every start would let a flood add a
// cap's worth of IDs per restart; Load starts from what is stored instead.
type Stored interface {
	// Sites returns at most limit site tag values, sorted.
	Sites(ctx context.Context, limit int) ([]string, error)
	// IDs returns, for each of sites, at most limit values of key, sorted.
	IDs(ctx context.Context, key string, sites []string, limit int) (map[string][]string, error)
}

// seedFactor bounds what Load remembers of a site's key: up to this many
// times its cap. IDs already stored make no new series, so a site whose
// history holds more than its cap (counters renamed over the years) keeps
// writing them; only new ones are refused once the cap is reached.
const seedFactor = 2

// Policy applies a Config. Admit and Load must not run concurrently: the
// collector calls Load once, then Admit from its one batching goroutine.
type Policy struct {
	cfg    Config
	stored Stored
	log    *slog.Logger
	m      *metrics

	caps      [numKeys]int
	sites     map[string]*site
	unlisted  int       // sites in sites not listed in the config
	closedEnd time.Time // first instant after the closed periods; zero when none
	closed    string    // ClosedThrough, canonical
	reopens   []*reopening
	// fullLogged: the first site refused because MaxSites are tracked was
	// logged.
	fullLogged bool
	// retry is Load's first wait after a failure; it doubles up to 30 s.
	retry time.Duration
}

// site is one site's known IDs.
type site struct {
	known  [numKeys]map[string]struct{}
	listed [numKeys]bool // known is the configured list: nothing else is admitted
}

// reopening is one Reopen, parsed, with its audit state.
type reopening struct {
	Reopen
	label           string
	from, to, until time.Time
	admitted        prometheus.Counter
	used            bool // its first point was logged
	endLogged       bool // its end was logged
}

type metrics struct {
	sites    prometheus.Gauge
	reopened *prometheus.CounterVec
}

// New returns the policy of cfg, which must have passed Validate. stored
// may be nil (Load then learns nothing). It logs the closed periods and
// every reopening, in force or over, so that each start records them.
func New(cfg Config, stored Stored, reg prometheus.Registerer, log *slog.Logger, now time.Time) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Policy{
		cfg: cfg, stored: stored, log: log, retry: time.Second,
		sites: make(map[string]*site, len(cfg.Inventory.Sites)),
		m: &metrics{
			sites: prometheus.NewGauge(prometheus.GaugeOpts{
				Namespace: "pscm", Subsystem: "collector", Name: "admission_sites",
				Help: "Sites whose IDs the collector tracks: the listed ones and up to admission.inventory.max_sites others.",
			}),
			reopened: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "pscm", Subsystem: "collector", Name: "reopened_points_total",
				Help: "Points admitted by an admission.reopen entry that the closed period or the lag bound would have refused.",
			}, []string{"site", "period"}),
		},
	}
	reg.MustRegister(p.m.sites, p.m.reopened)
	for i, k := range Keys() {
		p.caps[i] = cfg.Inventory.Caps.of(k)
	}
	for _, inv := range cfg.Inventory.Sites {
		s := &site{}
		for i, k := range Keys() {
			if l := inv.list(k); l != nil {
				s.listed[i] = true
				s.known[i] = make(map[string]struct{}, len(l))
				for _, id := range l {
					s.known[i][id] = struct{}{}
				}
			}
		}
		p.sites[inv.ID] = s
	}
	if cfg.ClosedThrough != "" {
		_, p.closedEnd, p.closed, _ = kpi.ParseReportPeriod(cfg.ClosedThrough, nil)
		log.Info("reporting periods closed: points before the end of this one are refused (period_closed)",
			"closed_through", p.closed, "until", p.closedEnd.Format(time.RFC3339))
	}
	for _, r := range cfg.Reopen {
		from, to, label, _ := kpi.ParseReportPeriod(r.Period, nil)
		until, _ := time.Parse(time.RFC3339, r.Until)
		o := &reopening{Reopen: r, label: label, from: from, to: to, until: until,
			admitted: p.m.reopened.WithLabelValues(r.Site, label)}
		p.reopens = append(p.reopens, o)
		if now.Before(until) {
			log.Warn("reopening in force: this site's points in this period are admitted past closed_through and the lag bound",
				"site", r.Site, "period", label, "until", until.Format(time.RFC3339), "reason", r.Reason)
		} else {
			o.endLogged = true
			log.Info("reopening over; ignored", "site", r.Site, "period", label,
				"until", until.Format(time.RFC3339), "reason", r.Reason)
		}
	}
	p.m.sites.Set(float64(len(p.sites)))
	return p, nil
}

// Admit returns nil if ev may be stored, recording any new ID it brings,
// or a *schema.Error saying why not; now is the collector's clock. A
// refused event changes nothing.
func (p *Policy) Admit(ev schema.Event, now time.Time) error {
	h := ev.Head()
	var via *reopening
	if ev.Kind() != schema.KindAgent {
		var err error
		if via, err = p.checkTime(ev.Kind(), h, now); err != nil {
			return err
		}
	}
	if err := p.admitIDs(h.Site, idsOf(ev)); err != nil {
		return err
	}
	if via != nil {
		via.admitted.Inc()
		if !via.used {
			via.used = true
			p.log.Warn("first point admitted by a reopening", "site", via.Site, "period", via.label,
				"until", via.until.Format(time.RFC3339), "reason", via.Reason,
				"kind", ev.Kind(), "id", h.ID, "ts", h.TS.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// checkTime applies the closed periods and the lag bound. It returns the
// reopening that lifted a refusal, if one did.
func (p *Policy) checkTime(kind schema.Kind, h *schema.Header, now time.Time) (*reopening, error) {
	var refused *schema.Error
	switch lag := p.lag(kind); {
	case !p.closedEnd.IsZero() && h.TS.Before(p.closedEnd):
		refused = &schema.Error{Reason: schema.ReasonPeriodClosed, Field: "ts",
			Msg: h.TS.Format(time.RFC3339Nano) + " is in " + periodOf(h.TS) + ", reported and closed (admission.closed_through: " + p.closed + ")"}
	case h.TS.Before(now.Add(-lag)):
		refused = &schema.Error{Reason: schema.ReasonTSTooOld, Field: "ts",
			Msg: h.TS.Format(time.RFC3339Nano) + " is more than " + days(lag) + " before now (" + now.UTC().Format(time.RFC3339) +
				", admission." + lagKey(kind) + ")"}
	default:
		return nil, nil
	}
	for _, r := range p.reopens {
		if r.Site != h.Site || h.TS.Before(r.from) || !h.TS.Before(r.to) {
			continue
		}
		if now.Before(r.until) {
			return r, nil
		}
		if !r.endLogged {
			r.endLogged = true
			p.log.Info("reopening over: its site's points in its period are refused again", "site", r.Site, "period", r.label,
				"until", r.until.Format(time.RFC3339), "reason", r.Reason)
		}
		refused.Msg += "; its reopening ended " + r.until.Format(time.RFC3339)
	}
	return nil, refused
}

// lag is how old an event of kind may be. Dossiers and citizens' cases
// share the longer bound: both are imported from other systems with their
// history (a case's steps keep their own times).
func (p *Policy) lag(kind schema.Kind) time.Duration {
	if kind == schema.KindDossier || kind == schema.KindCase {
		return p.cfg.DossierMaxLag
	}
	return p.cfg.MaxLag
}

func lagKey(kind schema.Kind) string {
	if kind == schema.KindDossier || kind == schema.KindCase {
		return "dossier_max_lag"
	}
	return "max_lag"
}

// days writes a lag in days when it is whole days, as configured lags are.
func days(d time.Duration) string {
	switch n := d / (24 * time.Hour); {
	case d%(24*time.Hour) != 0:
	case n == 1:
		return "1 day"
	default:
		return strconv.Itoa(int(n)) + " days"
	}
	return d.String()
}

// periodOf names the reporting period holding t (kpi's periods: December
// to May is H1 of the year it ends in, June to November H2).
func periodOf(t time.Time) string {
	y := t.Year()
	for _, label := range []string{strconv.Itoa(y) + "H1", strconv.Itoa(y) + "H2", strconv.Itoa(y+1) + "H1"} {
		from, to, _, err := kpi.ParseReportPeriod(label, nil)
		if err == nil && !t.Before(from) && t.Before(to) {
			return label
		}
	}
	return "a closed period"
}

// admitIDs checks every ID of an event first and records them only if all
// pass, so that a refused event takes no slot of a cap.
func (p *Policy) admitIDs(siteID string, v ids) error {
	s := p.sites[siteID]
	if s == nil && p.unlisted >= p.cfg.Inventory.MaxSites {
		if !p.fullLogged {
			p.fullLogged = true
			p.log.Error("admission.inventory.max_sites reached: events of new sites are refused (unknown_id)",
				"max_sites", p.cfg.Inventory.MaxSites, "first_refused", siteID)
		}
		return &schema.Error{Reason: schema.ReasonUnknownID, Field: "site",
			Msg: strconv.Quote(siteID) + " is new and " + strconv.Itoa(p.unlisted) +
				" sites are already tracked (admission.inventory.max_sites); list it in admission.inventory.sites or raise max_sites"}
	}
	keys := Keys()
	for i, id := range v {
		if id == "" || s == nil {
			continue // a new site takes at least one ID of each key: every cap is at least 1
		}
		if _, ok := s.known[i][id]; ok {
			continue
		}
		if s.listed[i] {
			return &schema.Error{Reason: schema.ReasonUnknownID, Field: string(keys[i]),
				Msg: strconv.Quote(id) + " is not in the inventory of site " + strconv.Quote(siteID) + " (admission.inventory.sites)"}
		}
		if len(s.known[i]) >= p.caps[i] {
			return &schema.Error{Reason: schema.ReasonUnknownID, Field: string(keys[i]),
				Msg: strconv.Quote(id) + " is new and site " + strconv.Quote(siteID) + " already has " + strconv.Itoa(len(s.known[i])) +
					" " + string(keys[i]) + " IDs, its cap (admission.inventory.caps." + string(keys[i]) + "); list its inventory or raise the cap"}
		}
	}
	if s == nil {
		s = p.addSite(siteID)
	}
	for i, id := range v {
		if id != "" {
			s.add(i, id)
		}
	}
	return nil
}

// addSite starts tracking an unlisted site.
func (p *Policy) addSite(id string) *site {
	s := &site{}
	p.sites[id] = s
	p.unlisted++
	p.m.sites.Set(float64(len(p.sites)))
	return s
}

func (s *site) add(i int, id string) {
	if s.known[i] == nil {
		s.known[i] = map[string]struct{}{}
	}
	s.known[i][id] = struct{}{}
}

// Load learns what InfluxDB already holds, retrying with backoff until it
// has or ctx ends, so that the caps count from the stored IDs rather than
// from zero at every start. It must return before the first Admit; the
// collector takes no message meanwhile (they wait in its bounded queue, as
// they would for a write while InfluxDB is down).
//
// Several collectors sharing the stream each learn at their start and then
// admit on their own: with N replicas a flood may add up to N caps' worth
// of IDs before each has refused; listed inventories have no such slack.
func (p *Policy) Load(ctx context.Context) error {
	if p.stored == nil {
		return nil
	}
	delay := p.retry
	for attempt := 1; ; attempt++ {
		err := p.load(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt&(attempt-1) == 0 { // 1st, 2nd, 4th... failure
			p.log.Warn("reading the stored IDs from InfluxDB failed; no message is taken until it succeeds",
				"attempt", attempt, "next_in", delay, "err", err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// load reads the stored sites and IDs once. It only adds, so a retry after
// a partial read is harmless.
func (p *Policy) load(ctx context.Context) error {
	began := time.Now()
	limit := p.cfg.Inventory.MaxSites + len(p.cfg.Inventory.Sites) + 1
	stored, err := p.stored.Sites(ctx, limit)
	if err != nil {
		return fmt.Errorf("stored sites: %w", err)
	}
	over := 0
	for _, id := range stored {
		switch {
		case !schema.ValidID(id):
			// Not written by a collector (which validates every ID): never
			// queried, never matched by an event.
		case p.sites[id] != nil:
		case p.unlisted < p.cfg.Inventory.MaxSites:
			p.addSite(id)
		default:
			over++
		}
	}
	if over > 0 || len(stored) >= limit {
		p.log.Error("InfluxDB holds more sites than admission.inventory.max_sites: events of the sites left out are refused (unknown_id); raise max_sites or list the sites",
			"max_sites", p.cfg.Inventory.MaxSites, "left_out", over)
	}
	ids := 0
	for i, k := range Keys() {
		var need []string
		for id, s := range p.sites {
			if !s.listed[i] {
				need = append(need, id)
			}
		}
		if len(need) == 0 {
			continue
		}
		slices.Sort(need)
		values, err := p.stored.IDs(ctx, string(k), need, seedFactor*p.caps[i])
		if err != nil {
			return fmt.Errorf("stored %s IDs: %w", k, err)
		}
		var atCap []string
		for _, siteID := range need {
			s := p.sites[siteID]
			for _, id := range values[siteID] {
				if schema.ValidID(id) && len(s.known[i]) < seedFactor*p.caps[i] {
					s.add(i, id)
				}
			}
			ids += len(s.known[i])
			if len(s.known[i]) >= p.caps[i] {
				atCap = append(atCap, siteID)
			}
		}
		if len(atCap) > 0 {
			p.log.Warn("sites already at their cap of IDs in InfluxDB: their new IDs of this key are refused (unknown_id) until their inventory is listed or the cap raised",
				"key", k, "cap", p.caps[i], "sites", len(atCap), "first", atCap[:min(len(atCap), 5)])
		}
	}
	p.log.Info("stored IDs loaded from InfluxDB", "sites", len(p.sites), "ids", ids, "took", time.Since(began).Round(time.Millisecond))
	return nil
}
