package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/schema"
)

// EventMetrics make what the events say visible to Prometheus, so central
// alerting (satisfaction burn rate, a run of dissatisfied ratings, an agent
// gone offline) needs no InfluxDB query and no scrape of the edge agents,
// which often sit behind a center's NAT.
//
// They are updated when a batch is acknowledged, after InfluxDB has written
// it, never on receipt: a message that is never written is never counted.
// They count deliveries written, not distinct events: a redelivered
// duplicate overwrites itself in InfluxDB (the point's identity is
// measurement + tags + ts) but the collector cannot tell it from a new event,
// so it is counted again. Duplicates are rare (a lost PUBACK, a collector
// killed between write and ack), so alert rules use rates and ratios over
// minutes to days, where one extra delivery does not matter; exact totals
// come from InfluxDB.
//
// Label values are IDs and enums the schema has already validated
// (^[a-z0-9][a-z0-9_-]{0,62}$ or a fixed list), so they are safe as labels.
// Cardinality: ratings_total has 4 series (levels) per counter: tens of
// counters make a few hundred series per center, about 100,000 for a province
// of hundreds of centers, within what one Prometheus holds; rules aggregate
// with sum by (site) for the center-wide ratio. (One family, not a per-site
// one plus a per-counter one: promtool's lint refuses a counter named
// "..._counter_..._total", and one family cannot double count.)
// dossiers_total has 3 series per site; the agent gauges one per agent; zone_occupied 3
// per counter; camera_up one per camera. Each family is capped at
// MaxEventSeries label sets; events past the cap are still written to
// InfluxDB but counted in pscm_collector_event_series_overflow_total instead.
type EventMetrics struct {
	ratings       *prometheus.CounterVec
	dossiers      *prometheus.CounterVec
	agentOnline   *prometheus.GaugeVec
	agentSpool    *prometheus.GaugeVec
	agentLastSeen *prometheus.GaugeVec
	zoneOccupied  *prometheus.GaugeVec
	cameraUp      *prometheus.GaugeVec
	overflow      *prometheus.CounterVec

	// Label sets already made, per family, to enforce the cap and to give a
	// new site or counter all its levels at 0 (a counter series that first
	// appears at 1 loses that 1 to rate()).
	counters, dossierSites, agents, zones, cameras map[string]struct{}
	// Occupancy and camera health are state: the newest ts wins, so a late
	// redelivery never turns a zone back to what it was.
	zoneTS, cameraTS map[string]time.Time
	limit            int
}

// MaxEventSeries caps each event metric family's label sets.
const MaxEventSeries = 100000

// NewEventMetrics registers the event metrics with reg; limit caps each
// family's label sets (MaxEventSeries when limit <= 0).
func NewEventMetrics(reg prometheus.Registerer, limit int) *EventMetrics {
	if limit <= 0 {
		limit = MaxEventSeries
	}
	const ns, sub = "pscm", "collector"
	m := &EventMetrics{
		ratings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "ratings_total",
			Help: "Rating events written to InfluxDB, by site, counter and level (deliveries: a rare redelivered duplicate counts again).",
		}, []string{"site", "counter", "level"}),
		dossiers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dossiers_total",
			Help: "Dossier events written to InfluxDB, by site and outcome (deliveries).",
		}, []string{"site", "outcome"}),
		agentOnline: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "agent_online",
			Help: "1 if the agent's latest status written said online, 0 if offline (its last will).",
		}, []string{"site", "agent"}),
		agentSpool: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "agent_spool_depth",
			Help: "Spool records not yet forwarded, as the agent's latest status written said.",
		}, []string{"site", "agent"}),
		agentLastSeen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "agent_last_seen_timestamp_seconds",
			Help: "Unix time (collector clock) when the agent's latest online status was written.",
		}, []string{"site", "agent"}),
		zoneOccupied: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "zone_occupied",
			Help: "1 if the newest occupancy event of the zone said occupied, else 0.",
		}, []string{"site", "counter", "zone"}),
		cameraUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "camera_up",
			Help: "1 if the newest camera health event of the camera said up, else 0.",
		}, []string{"site", "camera"}),
		overflow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "event_series_overflow_total",
			Help: "Events written to InfluxDB but left out of an event metric family whose label sets reached the cap.",
		}, []string{"family"}),
		counters: map[string]struct{}{}, dossierSites: map[string]struct{}{},
		agents: map[string]struct{}{}, zones: map[string]struct{}{}, cameras: map[string]struct{}{},
		zoneTS: map[string]time.Time{}, cameraTS: map[string]time.Time{},
		limit: limit,
	}
	for _, f := range []string{"ratings", "dossiers", "agent", "zone", "camera"} {
		m.overflow.WithLabelValues(f)
	}
	reg.MustRegister(m.ratings, m.dossiers, m.agentOnline, m.agentSpool,
		m.agentLastSeen, m.zoneOccupied, m.cameraUp, m.overflow)
	return m
}

// admit reports whether key may be tracked in set, adding it (and calling
// first) if it is new and the cap allows; otherwise it counts an overflow.
func (m *EventMetrics) admit(set map[string]struct{}, family, key string, first func()) bool {
	if _, ok := set[key]; ok {
		return true
	}
	if len(set) >= m.limit {
		m.overflow.WithLabelValues(family).Inc()
		return false
	}
	set[key] = struct{}{}
	if first != nil {
		first()
	}
	return true
}

// Observe records one written event; now is the collector's clock at the
// acknowledgement. It is called from one goroutine (the ack loop), in the
// order the messages arrived.
func (m *EventMetrics) Observe(ev schema.Event, now time.Time) {
	site := ev.Head().Site
	switch e := ev.(type) {
	case *schema.Rating:
		if m.admit(m.counters, "ratings", site+"/"+e.Counter, func() {
			for _, l := range []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied, schema.LevelNeutral, schema.LevelDissatisfied} {
				m.ratings.WithLabelValues(site, e.Counter, string(l))
			}
		}) {
			m.ratings.WithLabelValues(site, e.Counter, string(e.Level)).Inc()
		}
	case *schema.Dossier:
		if m.admit(m.dossierSites, "dossiers", site, func() {
			for _, o := range []schema.Outcome{schema.OutcomeEarly, schema.OutcomeOnTime, schema.OutcomeLate} {
				m.dossiers.WithLabelValues(site, string(o))
			}
		}) {
			m.dossiers.WithLabelValues(site, string(e.Outcome)).Inc()
		}
	case *schema.Agent:
		// Arrival order, not ts: the last will is made when the agent
		// connects, so its ts is older than the online statuses it follows.
		if !m.admit(m.agents, "agent", site+"/"+e.Agent, nil) {
			return
		}
		m.agentSpool.WithLabelValues(site, e.Agent).Set(float64(e.SpoolDepth))
		if e.Status == schema.StatusOnline {
			m.agentOnline.WithLabelValues(site, e.Agent).Set(1)
			m.agentLastSeen.WithLabelValues(site, e.Agent).Set(float64(now.UnixNano()) / 1e9)
		} else {
			m.agentOnline.WithLabelValues(site, e.Agent).Set(0)
		}
	case *schema.Occupancy:
		key := site + "/" + e.Counter + "/" + string(e.Zone)
		if !m.admit(m.zones, "zone", key, nil) || e.TS.Before(m.zoneTS[key]) {
			return
		}
		m.zoneTS[key] = e.TS
		m.zoneOccupied.WithLabelValues(site, e.Counter, string(e.Zone)).Set(b2f(e.Occupied))
	case *schema.Camera:
		key := site + "/" + e.Camera
		if !m.admit(m.cameras, "camera", key, nil) || e.TS.Before(m.cameraTS[key]) {
			return
		}
		m.cameraTS[key] = e.TS
		m.cameraUp.WithLabelValues(site, e.Camera).Set(b2f(e.Up))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
