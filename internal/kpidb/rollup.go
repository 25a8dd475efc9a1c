package kpidb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pscm/pscm/internal/influxql"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/officials"
	"github.com/pscm/pscm/internal/rollup"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
)

// Rollups: a site's whole days kept in aggregates (internal/rollup) in a
// database of their own, so that a year, a province or a report reads a
// few rows a day instead of every event. Only the dashboard writes them
// (its keeper, dashboard/rollkeep); a Load uses them when every whole day
// of its period has one and reads the rest (today) raw, and reads the
// whole period raw otherwise, so a missing or stale day costs time, never
// a wrong figure.

// ErrZone is returned when the sites' zone changes its offset (daylight
// saving): InfluxDB's day buckets are a fixed offset from UTC.
var ErrZone = errors.New("kpidb: rollups need a time zone without daylight saving")

// dayOffset is the GROUP BY time(1d, offset) that starts InfluxDB's day
// buckets at local midnight over [from, to).
func (s *Source) dayOffset(from, to time.Time) (time.Duration, error) {
	_, off := from.In(s.loc).Zone()
	if _, o := to.In(s.loc).Zone(); o != off {
		return 0, ErrZone
	}
	d := (24*time.Hour - time.Duration(off)*time.Second) % (24 * time.Hour)
	if d < 0 {
		d += 24 * time.Hour
	}
	return d, nil
}

// Midnight is the local midnight starting t's day in the sites' zone.
func (s *Source) Midnight(t time.Time) time.Time {
	y, m, d := t.In(s.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, s.loc)
}

// nextMidnight is the local midnight after t's day.
func (s *Source) nextMidnight(t time.Time) time.Time {
	y, m, d := t.In(s.loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, s.loc)
}

// daysIn is the number of local days in [from, to), from a midnight.
func (s *Source) daysIn(from, to time.Time) int {
	n := 0
	for d := from; d.Before(to); d = s.nextMidnight(d) {
		n++
	}
	return n
}

// eventsStmt counts a site's raw rows by local day, the figure a day's
// rollup keeps to notice later arrivals (rollup.Day.Events).
func eventsStmt(where string, off time.Duration) string {
	return fmt.Sprintf(`SELECT count("id") FROM "rating", "queue", "session", "dossier", "occupancy" WHERE %s GROUP BY time(1d, %ds) fill(none)`,
		where, int64(off/time.Second))
}

// DayEvents returns how many raw rows each local day of [from, to) holds,
// by the day's midnight; days without any are absent.
func (s *Source) DayEvents(ctx context.Context, site string, from, to time.Time) (map[int64]int64, error) {
	if !schema.ValidID(site) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	off, err := s.dayOffset(from, to)
	if err != nil {
		return nil, err
	}
	res, err := s.client.Query(ctx, []string{eventsStmt(whereRange(site, from, to), off)})
	if err != nil {
		return nil, fmt.Errorf("kpidb: day events %s: %w", site, err)
	}
	out := map[int64]int64{}
	for _, se := range res.Results[0].Series {
		for _, row := range se.Values {
			out[s.Midnight(time.Unix(0, jsonInt(row[0]))).UnixNano()] += jsonInt(row[1])
		}
	}
	return out, nil
}

// BuildDays computes the days of site over [from, to) from the raw rows:
// from is a local midnight; the last day ends at to (today's part when to
// is now), its presence stopped at Now. Every day of the range is
// returned, empty ones too, in time order.
func (s *Source) BuildDays(ctx context.Context, site string, from, to time.Time) ([]*rollup.Day, error) {
	if !schema.ValidID(site) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	if !from.Before(to) {
		return nil, nil
	}
	off, err := s.dayOffset(from, to)
	if err != nil {
		return nil, err
	}
	where := whereRange(site, from, to)
	before := whereRange(site, from.Add(-seatLookBack), from)
	group := fmt.Sprintf(`GROUP BY time(1d, %ds), `, int64(off/time.Second))
	stmts := []string{
		`SELECT count("id") FROM "rating" WHERE ` + where + ` ` + group + `"counter", "level" fill(none)`,
		`SELECT count("id") FROM "dossier" WHERE ` + where + ` ` + group + `"outcome" fill(none)`,
		`SELECT count("id") FROM "queue" WHERE ` + where + ` AND "step" = 'no_show' ` + group + `"counter" fill(none)`,
		`SELECT "wait_s", "service_s" FROM "session" WHERE ` + where + ` GROUP BY "counter"`,
	}
	stmts = append(stmts, seatStmts(where, before)...)
	// The rows are counted before they are read, in a request of its own:
	// one written in between is then in the figures and not in the count,
	// and the next Refresh builds the day again; the other way round it
	// would be counted and missing for good.
	counted, err := s.client.Query(ctx, []string{eventsStmt(where, off)})
	if err != nil {
		return nil, fmt.Errorf("kpidb: build days %s: %w", site, err)
	}
	res, err := s.influxqlSplit(ctx, stmts)
	if err != nil {
		return nil, fmt.Errorf("kpidb: build days %s: %w", site, err)
	}
	var days []*rollup.Day
	index := map[int64]*rollup.Day{}
	for ds := from; ds.Before(to); ds = s.nextMidnight(ds) {
		d := rollup.NewDay(site, ds)
		days = append(days, d)
		index[ds.UnixNano()] = d
	}
	dayOf := func(ns int64) *rollup.Day { return index[s.Midnight(time.Unix(0, ns)).UnixNano()] }
	seat := seats{}
	type values struct{ wait, service []float64 }
	sessions := map[*rollup.Part]*values{}
	for n, r := range append(res.Results, counted.Results...) {
		for _, se := range r.Series {
			c := se.Tags["counter"]
			for _, row := range se.Values {
				ns := jsonInt(row[0])
				d := dayOf(ns)
				switch n {
				case 0:
					if d != nil {
						d.Part(c).Ratings[schema.Level(se.Tags["level"])] += jsonInt(row[1])
					}
				case 1:
					if d != nil {
						d.Dossiers[schema.Outcome(se.Tags["outcome"])] += jsonInt(row[1])
					}
				case 2:
					switch {
					case d == nil:
					case c == "":
						d.Unplaced += jsonInt(row[1])
					default:
						d.Part(c).NoShows += jsonInt(row[1])
					}
				case 3:
					if d == nil {
						continue
					}
					p := d.Part(c)
					w, sv := jsonFloat(row[1]), jsonFloat(row[2])
					p.Sessions++
					p.WaitSumS += w
					p.ServiceSumS += sv
					v := sessions[p]
					if v == nil {
						v = &values{}
						sessions[p] = v
					}
					v.wait, v.service = append(v.wait, w), append(v.service, sv)
				case 4, 5, 6, 7:
					seat.read(n-4, c, row)
				case 8:
					if d != nil {
						d.Events += jsonInt(row[1])
					}
				}
			}
		}
	}
	for p, v := range sessions {
		p.Wait, p.Service = rollup.Of(v.wait), rollup.Of(v.service)
	}
	stop := to
	if now := s.Now(); now.Before(stop) {
		stop = now
	}
	for c, r := range seat {
		if !r.camera || !from.Before(stop) {
			continue
		}
		sort.SliceStable(r.changes, func(i, j int) bool { return r.changes[i].At.Before(r.changes[j].At) })
		for _, dp := range kpi.PresenceDays(s.hours, r.before, r.changes, r.evidence, from, stop) {
			d := index[s.Midnight(dp.Start).UnixNano()]
			if d == nil || !dp.Counted {
				continue
			}
			p := d.Part(c)
			p.Watched = true
			p.OccupiedS, p.CoveredS, p.WorkS = dp.PresentS, dp.CoveredS, dp.WorkS
		}
	}
	built := s.Now()
	for _, d := range days {
		d.Built, d.Build = built, s.build
	}
	return days, nil
}

// Rollups is where a Source keeps and reads its sites' days: a database
// of its own ("db" or "db/rp"), which the dashboard may write.
type Rollups struct {
	client *influxql.Client
}

// WithRollups makes s read the days kept in bucket (with token) wherever
// they cover a period, and returns the store for the keeper that writes
// them.
func (s *Source) WithRollups(url, bucket, token string) *Rollups {
	r := &Rollups{client: influxql.New(url, bucket, token, queryTimeoutS*time.Second)}
	s.rollups = r
	return r
}

// Close releases the store's idle connections.
func (r *Rollups) Close() { r.client.Close() }

// Write replaces the kept days (each one whole: its old points are
// deleted first, so a counter the day no longer has leaves no point).
func (r *Rollups) Write(ctx context.Context, days []*rollup.Day) error {
	return r.write(ctx, days, nil, "")
}

// write is Write with the officials' days of the same site and days,
// computed under the roster of digest (none when offs is nil).
func (r *Rollups) write(ctx context.Context, days []*rollup.Day, offs []*officials.Day, digest string) error {
	if len(days) == 0 {
		return nil
	}
	var first, then []string
	// One DELETE per run of consecutive days of a site: InfluxDB 1.8
	// takes about as long for a month as for a day. The site rows go
	// first and come back last, in a write of their own: a reader
	// meanwhile finds the day not kept and reads it raw, never a day
	// with half its counters.
	for i := 0; i < len(days); {
		j := i + 1
		for j < len(days) && days[j].Site == days[i].Site && days[j].Start.Equal(days[j-1].Start.AddDate(0, 0, 1)) {
			j++
		}
		where := whereRange(days[i].Site, days[i].Start, days[j-1].Start.AddDate(0, 0, 1))
		for _, m := range []string{rollup.SiteDay, officials.SiteDay} {
			first = append(first, fmt.Sprintf(`DELETE FROM %q WHERE %s`, m, where))
		}
		for _, m := range []string{rollup.CounterDay, officials.OfficialDay} {
			then = append(then, fmt.Sprintf(`DELETE FROM %q WHERE %s`, m, where))
		}
		i = j
	}
	var all []byte
	for _, d := range days {
		all = d.AppendLines(all)
	}
	for _, d := range offs {
		all = d.AppendLines(all, days[0].Site, digest)
	}
	var parts, sites []byte
	for _, line := range bytes.SplitAfter(all, []byte("\n")) {
		if bytes.HasPrefix(line, []byte(rollup.SiteDay+",")) || bytes.HasPrefix(line, []byte(officials.SiteDay+",")) {
			sites = append(sites, line...)
		} else {
			parts = append(parts, line...)
		}
	}
	if _, err := r.client.Query(ctx, append(first, then...)); err != nil {
		return fmt.Errorf("kpidb: rollups: delete: %w", err)
	}
	if len(parts) > 0 {
		if err := r.client.Write(ctx, parts); err != nil {
			return fmt.Errorf("kpidb: rollups: %w", err)
		}
	}
	if err := r.client.Write(ctx, sites); err != nil {
		return fmt.Errorf("kpidb: rollups: %w", err)
	}
	return nil
}

// Read returns the kept days of site starting in [from, to), in time
// order; days never built are absent.
func (r *Rollups) Read(ctx context.Context, site string, from, to time.Time, loc *time.Location) ([]*rollup.Day, error) {
	if !schema.ValidID(site) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	where := whereRange(site, from, to)
	res, err := r.client.Query(ctx, []string{
		fmt.Sprintf(`SELECT * FROM %q WHERE %s`, rollup.SiteDay, where),
		fmt.Sprintf(`SELECT * FROM %q WHERE %s GROUP BY "counter"`, rollup.CounterDay, where),
	})
	if err != nil {
		return nil, fmt.Errorf("kpidb: rollups %s: %w", site, err)
	}
	index := map[int64]*rollup.Day{}
	var days []*rollup.Day
	for _, se := range res.Results[0].Series {
		for _, row := range se.Values {
			ns := jsonInt(row[0])
			d := rollup.NewDay(site, time.Unix(0, ns).In(loc))
			if err := rollup.ReadSiteDay(d, rollup.Row{Columns: se.Columns, Values: row}); err != nil {
				return nil, err
			}
			index[ns] = d
			days = append(days, d)
		}
	}
	for _, se := range res.Results[1].Series {
		c := se.Tags["counter"]
		for _, row := range se.Values {
			d := index[jsonInt(row[0])]
			if d == nil {
				continue // a counter's row without its site row: the day is being rewritten
			}
			p, err := rollup.ReadCounterDay(rollup.Row{Columns: se.Columns, Values: row})
			if err != nil {
				return nil, err
			}
			d.Counters[c] = p
		}
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Start.Before(days[j].Start) })
	return days, nil
}

// loadRollups is Load from the kept days for the whole days of
// [start, end) before today, and from the raw rows for the rest. It
// reports false, for the caller to read the period raw, when the period
// does not start at a midnight, has no whole past day, or has a day not
// kept.
func (s *Source) loadRollups(ctx context.Context, site string, start, end time.Time, perCounterPct bool) (kpi.Stats, map[string]kpi.Stats, bool) {
	cut := s.Midnight(s.Now())
	if end.Before(cut) {
		cut = end
	}
	if !start.Equal(s.Midnight(start)) || !cut.After(start) || !cut.Equal(s.Midnight(cut)) {
		return kpi.Stats{}, nil, false
	}
	if !s.isChecked(site, start, cut) {
		s.rollupMisses.Add(1)
		return kpi.Stats{}, nil, false
	}
	days, err := s.rollups.Read(ctx, site, start, cut, s.loc)
	if err != nil || len(days) != s.daysIn(start, cut) {
		s.rollupMisses.Add(1)
		return kpi.Stats{}, nil, false
	}
	for _, d := range days {
		if d.Build != s.build {
			s.rollupMisses.Add(1)
			return kpi.Stats{}, nil, false
		}
	}
	if cut.Before(end) {
		tail, err := s.BuildDays(ctx, site, cut, end)
		if err != nil {
			return kpi.Stats{}, nil, false
		}
		days = append(days, tail...)
	}
	overall, per := rollup.Sum(days, perCounterPct, s.satisfied)
	return overall, per, true
}

// RollupMisses is how many loads read a period raw because a day of it was
// not kept, for the dashboard's metric.
func (s *Source) RollupMisses() int64 { return s.rollupMisses.Load() }

// buildChunk is the most days built from one set of raw queries: a month
// of a large center's sessions is a few MB of answer, well inside the
// client's bound, and a month's build a short hold on InfluxDB.
const buildChunk = 31

// Refresh builds the days of site in [from, to) (local midnights, to at
// most today's) that are not kept or whose raw row count changed since
// they were built (events that came late, a spool replayed after an
// outage), and reports how many it built. Days are built in runs of
// consecutive days, so a first build of a year is a dozen month-long
// reads rather than 365.
func (s *Source) Refresh(ctx context.Context, r *Rollups, site string, from, to time.Time) (int, error) {
	if !from.Before(to) {
		return 0, nil
	}
	counts, err := s.DayEvents(ctx, site, from, to)
	if err != nil {
		return 0, err
	}
	kept, err := r.kept(ctx, site, from, to)
	if err != nil {
		return 0, err
	}
	var digests map[int64]string
	if s.roster != nil {
		if digests, err = r.digests(ctx, site, from, to); err != nil {
			return 0, err
		}
	}
	// A day is stale when it is not kept, its raw row count changed, it
	// was built under other settings or roster. The week after a stale
	// day is built again too: a seat's last state carries into the next
	// days (kpi.SeatSilence), so an event replayed into one day can
	// change the presence of days that have no event of their own.
	var stale []time.Time
	carry := time.Time{}
	for d := from; d.Before(to); d = s.nextMidnight(d) {
		k, ok := kept[d.UnixNano()]
		bad := !ok || k.events != counts[d.UnixNano()] || k.build != s.build ||
			(s.roster != nil && digests[d.UnixNano()] != s.roster.Digest())
		if bad {
			// A change in day d reaches the day starting SeatSilence
			// after d's start: the seven days after it.
			carry = s.nextMidnight(d.Add(kpi.SeatSilence))
		}
		if bad || d.Before(carry) {
			stale = append(stale, d)
		}
	}
	built := 0
	for i := 0; i < len(stale); {
		// A run of consecutive stale days, at most buildChunk long.
		j := i + 1
		for j < len(stale) && j-i < buildChunk && stale[j].Equal(s.nextMidnight(stale[j-1])) {
			j++
		}
		days, err := s.BuildDays(ctx, site, stale[i], s.nextMidnight(stale[j-1]))
		if err != nil {
			return built, err
		}
		var offs []*officials.Day
		digest := ""
		if s.roster != nil {
			// After the days' count: an event between the two is in
			// both or caught by the next check (BuildDays).
			f, err := s.OfficialFacts(ctx, site, stale[i], s.nextMidnight(stale[j-1]))
			if err != nil {
				return built, err
			}
			offs, digest = officials.Days(f, s.roster, s.roster.IDsOf(site)), s.roster.Digest()
		}
		if err := r.write(ctx, days, offs, digest); err != nil {
			return built, err
		}
		built += len(days)
		i = j
	}
	s.markChecked(site, from, to)
	return built, nil
}

// keptDay is what the check needs of a kept day.
type keptDay struct {
	events int64
	build  string
}

// kept reads the site rows of the kept days of site in [from, to): their
// raw row counts and build digests, not their figures.
func (r *Rollups) kept(ctx context.Context, site string, from, to time.Time) (map[int64]keptDay, error) {
	res, err := r.client.Query(ctx, []string{fmt.Sprintf(`SELECT "events", "build" FROM %q WHERE %s`, rollup.SiteDay, whereRange(site, from, to))})
	if err != nil {
		return nil, fmt.Errorf("kpidb: rollups %s: %w", site, err)
	}
	out := map[int64]keptDay{}
	for _, se := range res.Results[0].Series {
		for _, row := range se.Values {
			b, _ := row[2].(string)
			out[jsonInt(row[0])] = keptDay{events: jsonInt(row[1]), build: b}
		}
	}
	return out, nil
}

// markChecked notes that every day of site in [from, to) was found
// current (or built) by this process: loads use kept days only there, so
// days kept by an earlier run, perhaps under other settings or before
// events it never saw, wait for this run's first check, and days that
// left the keeper's window are read raw.
func (s *Source) markChecked(site string, from, to time.Time) {
	s.checkedMu.Lock()
	defer s.checkedMu.Unlock()
	if s.checked == nil {
		s.checked = map[string][2]time.Time{}
	}
	old, ok := s.checked[site]
	switch {
	case !ok:
	case !from.After(old[1]) && !to.Before(old[0]): // touching: their union
		if old[0].Before(from) {
			from = old[0]
		}
		if old[1].After(to) {
			to = old[1]
		}
	case old[1].Sub(old[0]) > to.Sub(from): // apart: the wider stays
		return
	}
	s.checked[site] = [2]time.Time{from, to}
}

// isChecked reports whether every day of site in [from, to) was checked.
func (s *Source) isChecked(site string, from, to time.Time) bool {
	s.checkedMu.Lock()
	defer s.checkedMu.Unlock()
	c, ok := s.checked[site]
	return ok && !from.Before(c[0]) && !to.After(c[1])
}

// buildDigest names what a day's figures are computed with besides its
// events: the working hours, the zone and the rollups' own rules
// (rollupVersion). A day built under another is built again.
func buildDigest(h kpi.WorkHours, loc *time.Location) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "v%d %v %v %s %s", rollupVersion, h.Days, h.Shifts, h.Loc, loc))
	return hex.EncodeToString(sum[:8])
}

// rollupVersion changes when what a day holds or how it is computed does.
const rollupVersion = 1

// KeepOfficials has Refresh build and check the officials' days of every
// site under ro as well, and OfficialDays read them.
func (s *Source) KeepOfficials(ro *roster.Roster) { s.roster = ro }

// digests are the roster digests the officials' days of site in
// [from, to) were computed under, by day.
func (r *Rollups) digests(ctx context.Context, site string, from, to time.Time) (map[int64]string, error) {
	res, err := r.client.Query(ctx, []string{fmt.Sprintf(`SELECT "roster" FROM %q WHERE %s`, officials.SiteDay, whereRange(site, from, to))})
	if err != nil {
		return nil, fmt.Errorf("kpidb: officials' rollups %s: %w", site, err)
	}
	out := map[int64]string{}
	for _, se := range res.Results[0].Series {
		for _, row := range se.Values {
			d, _ := row[1].(string)
			out[jsonInt(row[0])] = d
		}
	}
	return out, nil
}

// OfficialDays returns the officials' days of site over [from, to) (to
// may be now), tallied for ids under ro: the whole past days from the
// rollups when every one of them is kept under this roster, today (and
// everything when not) from the raw facts. The same figures either way
// (TestOfficialRollupsEqualRaw).
func (s *Source) OfficialDays(ctx context.Context, site string, from, to time.Time, ro *roster.Roster, ids []string) ([]*officials.Day, error) {
	if !schema.ValidID(site) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	if s.rollups != nil && s.roster != nil && s.roster.Digest() == ro.Digest() {
		cut := s.Midnight(s.Now())
		if to.Before(cut) {
			cut = to
		}
		if from.Equal(s.Midnight(from)) && cut.After(from) && cut.Equal(s.Midnight(cut)) {
			ok := s.isChecked(site, from, cut)
			var days []*officials.Day
			if ok {
				days, ok = s.rollups.officialDays(ctx, site, from, cut, ids, ro.Digest(), s)
			}
			if ok {
				if cut.Before(to) {
					f, err := s.OfficialFacts(ctx, site, cut, to)
					if err != nil {
						return nil, err
					}
					days = append(days, officials.Days(f, ro, ids)...)
				}
				return days, nil
			}
			s.rollupMisses.Add(1)
		}
	}
	f, err := s.OfficialFacts(ctx, site, from, to)
	if err != nil {
		return nil, err
	}
	return officials.Days(f, ro, ids), nil
}

// officialDays reads the kept officials' days of site in [from, to) for
// ids; false when a day is missing or was computed under another roster.
func (r *Rollups) officialDays(ctx context.Context, site string, from, to time.Time, ids []string, digest string, s *Source) ([]*officials.Day, bool) {
	where := whereRange(site, from, to)
	for _, id := range ids {
		if !schema.ValidID(id) {
			return nil, false
		}
	}
	who := ""
	if len(ids) == 1 {
		who = fmt.Sprintf(` AND "official" = '%s'`, ids[0])
	}
	res, err := r.client.Query(ctx, []string{
		fmt.Sprintf(`SELECT * FROM %q WHERE %s`, officials.SiteDay, where),
		fmt.Sprintf(`SELECT * FROM %q WHERE %s%s GROUP BY "official"`, officials.OfficialDay, where, who),
	})
	if err != nil {
		return nil, false
	}
	want := s.daysIn(from, to)
	index := map[int64]*officials.Day{}
	var days []*officials.Day
	for _, se := range res.Results[0].Series {
		for _, row := range se.Values {
			ns := jsonInt(row[0])
			d := officials.NewDay(time.Unix(0, ns).In(s.loc))
			dg, err := officials.ReadSiteDay(d, rollup.Row{Columns: se.Columns, Values: row})
			if err != nil || dg != digest {
				return nil, false
			}
			index[ns] = d
			days = append(days, d)
		}
	}
	if len(days) != want {
		return nil, false
	}
	wanted := map[string]bool{}
	for _, id := range ids {
		wanted[id] = true
	}
	for _, se := range res.Results[1].Series {
		id := se.Tags["official"]
		if !wanted[id] {
			continue
		}
		for _, row := range se.Values {
			d := index[jsonInt(row[0])]
			if d == nil {
				continue
			}
			t, err := officials.ReadOfficialDay(rollup.Row{Columns: se.Columns, Values: row})
			if err != nil {
				return nil, false
			}
			d.Officials[id] = t
		}
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Start.Before(days[j].Start) })
	return days, true
}
