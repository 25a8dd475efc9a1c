// Package rollkeep keeps the daily rollups of the dashboard's sites
// (internal/rollup, written through internal/kpidb) up to date: every day
// of the current and the previous reporting year built once, checked every
// hour against the raw rows' count per day, and a day that an event from
// the live feed falls on (late, or replayed from an agent's spool after an
// outage) checked within a minute. A day not yet kept or found stale is
// read raw by every load until it is built again, so the keeper's delays
// cost speed, never a wrong figure.
package rollkeep

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/kpidb"
)

// Builder is the part of kpidb.Source the keeper uses.
type Builder interface {
	Refresh(ctx context.Context, r *kpidb.Rollups, site string, from, to time.Time) (int, error)
	Midnight(t time.Time) time.Time
	RollupMisses() int64
}

// sweepEvery is how often every kept day is checked against the raw rows.
// A check is one count per site of its two years, grouped by day.
const sweepEvery = time.Hour

// markDelay gathers the days the live feed marks before they are checked:
// a spool replaying an outage marks the same few days thousands of times.
const markDelay = 30 * time.Second

// maxMarked bounds the days waiting for a check; past it, marks are dropped
// and the next hourly sweep finds the days instead.
const maxMarked = 10000

// Keeper is safe for concurrent use.
type Keeper struct {
	src   Builder
	store *kpidb.Rollups
	sites []string
	log   *slog.Logger
	now   func() time.Time

	// delay is markDelay unless a test shortens it.
	delay time.Duration

	mu     sync.Mutex
	marked map[string]map[int64]time.Time // site -> day's midnight (ns) -> midnight
	wake   chan struct{}

	built   *prometheus.CounterVec
	errors  prometheus.Counter
	sweep   prometheus.Gauge
	misses  prometheus.CounterFunc
	dropped prometheus.Counter
}

// New returns a keeper of sites' rollups in store; its metrics go to reg.
func New(src Builder, store *kpidb.Rollups, sites []string, log *slog.Logger, now func() time.Time, reg prometheus.Registerer) *Keeper {
	k := &Keeper{src: src, store: store, sites: slices.Clone(sites), log: log, now: now, delay: markDelay,
		marked: map[string]map[int64]time.Time{}, wake: make(chan struct{}, 1),
		built: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "pscm", Subsystem: "dashboard", Name: "rollup_days_built_total",
			Help: "Days of a site built into the daily rollups, by why: first (not kept yet) or stale (its raw rows changed) are not told apart; sweep or mark says what found them."}, []string{"by"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "pscm", Subsystem: "dashboard", Name: "rollup_errors_total",
			Help: "Failed checks or builds of the daily rollups (logged); the days stay read raw until a later one succeeds."}),
		sweep: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "pscm", Subsystem: "dashboard", Name: "rollup_sweep_seconds",
			Help: "How long the last check of every kept day of every site took."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "pscm", Subsystem: "dashboard", Name: "rollup_marks_dropped_total",
			Help: "Days marked by the live feed beyond the bound of waiting checks; the hourly sweep finds them."}),
	}
	k.misses = prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "pscm", Subsystem: "dashboard", Name: "rollup_misses_total",
		Help: "Loads that found a day of their period not kept in the rollups and read the period from the raw events (slower, same figures)."},
		func() float64 { return float64(src.RollupMisses()) })
	if reg != nil {
		reg.MustRegister(k.built, k.errors, k.sweep, k.misses, k.dropped)
	}
	return k
}

// Mark notes that an event of site at ts arrived: a day before today is
// checked soon. Today is always read raw, so its events need nothing.
func (k *Keeper) Mark(site string, ts time.Time) {
	day := k.src.Midnight(ts)
	if !day.Before(k.src.Midnight(k.now())) {
		return
	}
	k.mu.Lock()
	m := k.marked[site]
	if m == nil {
		m = map[int64]time.Time{}
		k.marked[site] = m
	}
	if _, ok := m[day.UnixNano()]; !ok {
		if k.markedLen() >= maxMarked {
			k.mu.Unlock()
			k.dropped.Inc()
			return
		}
		m[day.UnixNano()] = day
	}
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// markedLen counts the waiting days; called with k.mu held.
func (k *Keeper) markedLen() int {
	n := 0
	for _, m := range k.marked {
		n += len(m)
	}
	return n
}

// Run builds what is missing, then checks every hour, on a new day and
// when marked, until ctx ends.
func (k *Keeper) Run(ctx context.Context) error {
	k.sweepAll(ctx)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	day := k.src.Midnight(k.now())
	for {
		// A new day is checked at once: yesterday becomes a whole day.
		next := day.AddDate(0, 0, 1).Sub(k.now()) + time.Minute
		midnight := time.NewTimer(next)
		select {
		case <-ctx.Done():
			midnight.Stop()
			return nil
		case <-t.C:
			k.sweepAll(ctx)
		case <-midnight.C:
			k.sweepAll(ctx)
		case <-k.wake:
			select {
			case <-ctx.Done():
				midnight.Stop()
				return nil
			case <-time.After(k.delay):
			}
			k.checkMarked(ctx)
		}
		midnight.Stop()
		day = k.src.Midnight(k.now())
	}
}

// window is what is kept: from the first day of last year to today.
func (k *Keeper) window() (time.Time, time.Time) {
	today := k.src.Midnight(k.now())
	return time.Date(today.Year()-1, time.January, 1, 0, 0, 0, 0, today.Location()), today
}

// sweepAll checks every kept day of every site.
func (k *Keeper) sweepAll(ctx context.Context) {
	began := time.Now()
	from, to := k.window()
	total := 0
	for _, site := range k.sites {
		n, err := k.src.Refresh(ctx, k.store, site, from, to)
		total += n
		k.built.WithLabelValues("sweep").Add(float64(n))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			k.errors.Inc()
			k.log.Warn("rollups not checked; the site's days are read raw meanwhile", "site", site, "err", err)
		}
	}
	k.sweep.Set(time.Since(began).Seconds())
	if total > 0 {
		k.log.Info("rollups built", "days", total, "sites", len(k.sites), "took", time.Since(began).Round(time.Millisecond))
	}
}

// checkMarked checks the days the live feed marked.
func (k *Keeper) checkMarked(ctx context.Context) {
	k.mu.Lock()
	marked := k.marked
	k.marked = map[string]map[int64]time.Time{}
	k.mu.Unlock()
	from, _ := k.window()
	for site, days := range marked {
		for _, d := range days {
			if d.Before(from) {
				continue
			}
			// The day and the week after it, which its seat's last
			// state can reach (kpidb.Refresh builds them with it).
			to := d.AddDate(0, 0, 8)
			if today := k.src.Midnight(k.now()); to.After(today) {
				to = today
			}
			n, err := k.src.Refresh(ctx, k.store, site, d, to)
			k.built.WithLabelValues("mark").Add(float64(n))
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				k.errors.Inc()
				k.log.Warn("a marked day's rollup not checked; the hourly sweep tries again", "site", site, "day", d.Format(time.DateOnly), "err", err)
			}
		}
	}
}
