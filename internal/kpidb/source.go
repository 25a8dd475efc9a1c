package kpidb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pscm/pscm/internal/influxql"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

// Source loads kpi.Stats from InfluxDB with InfluxQL: two or three requests
// to /query, counts and sums, then nearest-rank percentiles (rank.go).
// Every aggregate is computed by the server, so only a few hundred rows come
// back whatever the period, except staff-zone occupancy changes, which come
// back raw. (A Flux path existed once; on 1.8 it was several times slower,
// since its engine streams every point out of storage to count it, and no
// user needed it.)
type Source struct {
	client    *influxql.Client
	satisfied kpi.Satisfaction
	loc       *time.Location
	hours     kpi.WorkHours

	// Now is the clock that stops presence at the present; time.Now unless
	// changed before the first Load.
	Now func() time.Time

	// selectMin is the number of sessions from which InfluxQL percentiles
	// use TOP/BOTTOM instead of PERCENTILE() (rank.go); tests move it to
	// run either path.
	selectMin int64
	// rollups, when set, are read for a period's whole days (rollup.go).
	rollups *Rollups
	// roster, when set, has the officials' days kept with the rollups.
	roster *roster.Roster
	// build is the digest of the settings days are built with.
	build string
	// checked is, by site, the span of days this process has checked
	// against the raw rows (Refresh); loads use kept days only there.
	checkedMu sync.Mutex
	checked   map[string][2]time.Time
	// rollupMisses counts the loads that found a day of their period not
	// kept (or the rollups unreadable) and read it raw instead.
	rollupMisses atomic.Int64

	// parts is how many concurrent requests one step of a load may use;
	// maxParts unless a test or benchmark changes it.
	parts int
}

// queryTimeout bounds one HTTP query; a year of one center takes seconds.
const queryTimeoutS = 60

// Config says where the figures are and how to count them.
type Config struct {
	// URL is InfluxDB's base URL; Token its token (1.8: "user:password").
	URL, Token string
	// Bucket is "db/rp" (or "db" for the default retention policy).
	Bucket string
	// Satisfied are the levels that count as satisfied (DefaultSatisfied
	// when nil).
	Satisfied []schema.Level
	// Loc is the sites' zone, for series buckets (Vietnam's when nil).
	Loc *time.Location
	// Hours are the working hours staff presence is counted in; the
	// dashboard's working_hours, the same as the agent's. Zero means
	// kpi.DefaultWorkHours.
	Hours kpi.WorkHours
}

// NewSource returns a Source reading cfg.Bucket.
func NewSource(cfg Config) *Source {
	if cfg.Loc == nil {
		cfg.Loc = timezone.Vietnam()
	}
	if cfg.Hours.Loc == nil {
		cfg.Hours = kpi.DefaultWorkHours()
	}
	return &Source{
		client:    influxql.New(cfg.URL, cfg.Bucket, cfg.Token, queryTimeoutS*time.Second),
		satisfied: kpi.SatisfactionOf(cfg.Satisfied),
		loc:       cfg.Loc,
		hours:     cfg.Hours,
		Now:       time.Now,
		selectMin: defaultSelectMin,
		build:     buildDigest(cfg.Hours, cfg.Loc),
		parts:     maxParts,
	}
}

// Close releases the client's idle connections.
func (s *Source) Close() {
	s.client.Close()
}

// Satisfied reports the levels counted as satisfied, for NewLive.
func (s *Source) Satisfied() []schema.Level {
	out := make([]schema.Level, 0, len(s.satisfied))
	for l := range s.satisfied {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ErrInvalidSite is returned for a site that is not a valid pscm ID; such a
// site cannot exist in the database and is never put into a query.
var ErrInvalidSite = errors.New("kpidb: invalid site ID")

// Load computes the Stats of one site over [start, end): overall, and per
// counter for everything that has a counter (dossiers have none, so
// per-counter Stats never count dossiers).
func (s *Source) Load(ctx context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	return s.load(ctx, site, start, end, true)
}

// LoadTotals is Load for a caller that needs per-counter counts but not
// per-counter wait and service percentiles: their Stats leave the p50 and
// p90 at zero. Each percentile reads every session of its counter again, so
// skipping them more than halves a year's load (BenchmarkLoadYear); the
// board shows per-counter figures for today only.
func (s *Source) LoadTotals(ctx context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	return s.load(ctx, site, start, end, false)
}

func (s *Source) load(ctx context.Context, site string, start, end time.Time, perCounterPct bool) (kpi.Stats, map[string]kpi.Stats, error) {
	if !schema.ValidID(site) {
		return kpi.Stats{}, nil, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	if s.rollups != nil {
		if overall, per, ok := s.loadRollups(ctx, site, start, end, perCounterPct); ok {
			return overall, per, nil
		}
	}
	overall, per, seat, err := s.loadInfluxQL(ctx, site, start, end, perCounterPct)
	if err != nil {
		return kpi.Stats{}, nil, fmt.Errorf("kpidb: load %s: %w", site, err)
	}
	stop := end
	if now := s.Now(); now.Before(stop) {
		stop = now
	}
	for c, r := range seat {
		// Presence is counted where a camera watches the staff seat; the
		// queue's evidence alone, at a counter without one, says when an
		// official was there but never when they were not. It is summed by
		// day (kpi.PresenceDays), as the rollups keep it.
		if !r.camera || !start.Before(stop) {
			continue
		}
		sort.SliceStable(r.changes, func(i, j int) bool { return r.changes[i].At.Before(r.changes[j].At) })
		var st *kpi.Stats
		for _, d := range kpi.PresenceDays(s.hours, r.before, r.changes, r.evidence, start, stop) {
			if !d.Counted {
				continue
			}
			if st == nil {
				st = per.get(c)
			}
			st.StaffOccupiedS += d.PresentS
			st.StaffCoveredS += d.CoveredS
			st.StaffWorkS += d.WorkS
		}
		if st == nil {
			continue
		}
		overall.StaffOccupiedS += st.StaffOccupiedS
		overall.StaffCoveredS += st.StaffCoveredS
		overall.StaffWorkS += st.StaffWorkS
	}

	overall.Finish(s.satisfied)
	out := make(map[string]kpi.Stats, len(per))
	for c, st := range per {
		st.Finish(s.satisfied)
		out[c] = *st
	}
	return overall, out, nil
}
