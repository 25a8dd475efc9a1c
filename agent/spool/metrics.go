package spool

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the spool's Prometheus metrics. One Metrics serves one open
// Spool at a time (a reopened spool takes it over). A nil *Metrics is valid
// and records nothing, for tests and tools.
type Metrics struct {
	records      prometheus.Gauge
	bytes        prometheus.Gauge
	appended     prometheus.Counter
	refusedFull  prometheus.Counter
	refusedLarge prometheus.Counter
	acked        prometheus.Counter
	fsync        prometheus.Histogram
	limitRecords prometheus.Gauge
	limitBytes   prometheus.Gauge

	// oldest is the Appended time of the oldest unacknowledged record in
	// unix nanoseconds, 0 when there is none; the age is computed at scrape
	// so it grows while the uplink is down even if nothing else changes.
	oldest atomic.Int64
}

// NewMetrics creates the metrics and registers them on reg (unless nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns, sub = "pscm", "agent"
	m := &Metrics{
		records: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "spool_records",
			Help: "Records in the spool not yet acknowledged by the uplink.",
		}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "spool_bytes",
			Help: "On-disk size, headers included, of the records not yet acknowledged.",
		}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "spool_appended_total",
			Help: "Records written and fsynced.",
		}),
		acked: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "spool_acked_total",
			Help: "Records acknowledged by the uplink after the broker's PUBACK.",
		}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "spool_fsync_duration_seconds",
			Help:    "Time to fsync one group commit; every waiting Append shares it.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100 µs to 3.3 s
		}),
		limitRecords: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "spool_limit_records",
			Help: "Configured bound on records not yet acknowledged (max_records).",
		}),
		limitBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "spool_limit_bytes",
			Help: "Configured bound on bytes not yet acknowledged (max_bytes).",
		}),
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "spool_refused_total",
		Help: "Appends refused, by reason: full (limits reached, retry later) or too_large (can never fit).",
	}, []string{"reason"})
	m.refusedFull = refused.WithLabelValues("full")
	m.refusedLarge = refused.WithLabelValues("too_large")
	oldestAge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: sub, Name: "spool_oldest_age_seconds",
		Help: "Age of the oldest record not yet acknowledged; 0 when the spool is empty.",
	}, func() float64 {
		v := m.oldest.Load()
		if v == 0 {
			return 0
		}
		return time.Since(time.Unix(0, v)).Seconds()
	})
	if reg != nil {
		reg.MustRegister(m.records, m.bytes, oldestAge, m.appended, refused, m.acked,
			m.fsync, m.limitRecords, m.limitBytes)
	}
	return m
}

func (m *Metrics) setLimits(c Config) {
	if m == nil {
		return
	}
	m.limitRecords.Set(float64(c.MaxRecords))
	m.limitBytes.Set(float64(c.MaxBytes))
}

// setDepth publishes what Stats returns; called with the spool's lock held
// so the three never disagree for long.
func (m *Metrics) setDepth(records int, bytes int64, oldest int64) {
	if m == nil {
		return
	}
	m.records.Set(float64(records))
	m.bytes.Set(float64(bytes))
	m.oldest.Store(oldest)
}

func (m *Metrics) appendedRecords(n int) {
	if m == nil {
		return
	}
	m.appended.Add(float64(n))
}

func (m *Metrics) observeFsync(d time.Duration) {
	if m == nil {
		return
	}
	m.fsync.Observe(d.Seconds())
}

func (m *Metrics) ack(records uint64) {
	if m == nil {
		return
	}
	m.acked.Add(float64(records))
}

func (m *Metrics) refuse(full bool) {
	if m == nil {
		return
	}
	if full {
		m.refusedFull.Inc()
	} else {
		m.refusedLarge.Inc()
	}
}
