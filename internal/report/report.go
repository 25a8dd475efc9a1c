// Package report builds the semi-annual report a center (or a province)
// sends before 10 June and 10 December: satisfaction against its target,
// dossiers resolved on time or early against theirs, wait and service
// times, staff presence per counter, trends by month and a short
// plain-language summary, as an XLSX workbook and a printable HTML page.
// It is shared by pscm-ctl and the dashboard's download button.
//
// The numbers are internal/kpi's Stats, read by internal/kpidb (the same
// queries the dashboard shows), and pass or fail by kpi's one rule, so the
// report and the screen never disagree.
package report

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

// Loader is the part of kpidb.Source a report needs.
type Loader interface {
	Load(ctx context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error)
	LoadTotals(ctx context.Context, site string, start, end time.Time) (kpi.Stats, map[string]kpi.Stats, error)
}

// Site is one center in a report.
type Site struct {
	ID   string
	Name string
	// Counters gives the counters' order and names; counters with data
	// but not listed follow, named by their ID.
	Counters []Counter
}

// SiteOf is a configured site (the dashboard's and pscm-ctl's sites:) as
// the report names it: counters in their configured order, by their
// Vietnamese names.
func SiteOf(s kpi.Site) Site {
	rs := Site{ID: s.ID, Name: s.Name}
	for _, c := range s.Counters {
		rs.Counters = append(rs.Counters, Counter{ID: c.ID, Name: c.NameVI})
	}
	return rs
}

// Counter names one counter.
type Counter struct {
	ID   string
	Name string
}

// Params say what to report on.
type Params struct {
	// Title heads the report: the province's or the center's name. Empty
	// means the single site's name.
	Title string
	Sites []Site
	// From and To bound the period [From, To); DefaultPeriod gives them.
	From, To time.Time
	// Label names the period, e.g. "2026H2" from DefaultPeriod; optional.
	Label string
	// Loc is the sites' time zone (Vietnam's when nil).
	Loc     *time.Location
	Targets kpi.Targets
	// Satisfied are the levels counted as satisfied, for the page's note
	// (the Loader already counts with them); kpi.DefaultSatisfied when nil.
	Satisfied []schema.Level
	// Generated is when the report is made; time.Now when zero.
	Generated time.Time
	// Cases, when set, adds the feedback and complaints section.
	Cases CaseSource
}

// Report is a built report. Stats percentages are 0 with their Has flag
// false when there was nothing to count.
type Report struct {
	Title     string
	From, To  time.Time // [From, To) in Loc
	Label     string
	Loc       *time.Location
	Targets   kpi.Targets
	Satisfied []schema.Level
	Generated time.Time

	// Total is every site summed. Its percentiles (p50, p90) are exact for
	// one site; for several they cannot be summed and HasPercentiles is false.
	Total          kpi.Stats
	HasPercentiles bool
	Sites          []SiteReport
	// Months are the totals over all sites, one row per calendar month
	// overlapping the period.
	Months   []Month
	Findings []Finding
	// Cases is the feedback and complaints section; nil without a source.
	Cases *CasesReport
}

// SiteReport is one site's part.
type SiteReport struct {
	Site     Site
	Stats    kpi.Stats
	Counters []CounterStats
	Months   []Month
}

// CounterStats is one counter over the period (dossiers have no counter).
type CounterStats struct {
	Counter
	Stats kpi.Stats
}

// Month is one calendar month, cut to the period. Its percentiles are not
// filled (means are exact).
type Month struct {
	Start, End time.Time
	Stats      kpi.Stats
}

// Finding is one line of the plain-language summary.
type Finding struct {
	// Key names what is judged: satisfaction, on_time, wait_p90,
	// service_p90, presence.
	Key string
	// Known is false when there was no data to judge; Met is meaningful
	// only when Known and the key has a target.
	Known, Met, HasTarget bool
	VI, EN                string
}

// maxMonths bounds a report's period; a half-year is 6 or 7 month rows,
// kpi's longest range (kpi.MaxRangeYears, from any day) one more than its
// months.
const maxMonths = kpi.MaxRangeYears*12 + 1

// loadConcurrency bounds the sites loaded at once, so a province report
// does not flood InfluxDB.
const loadConcurrency = 4

// Build loads the figures of every site over the period, by month, and
// sums them.
func Build(ctx context.Context, src Loader, p Params) (*Report, error) {
	if len(p.Sites) == 0 {
		return nil, errors.New("report: no site")
	}
	if !p.To.After(p.From) {
		return nil, fmt.Errorf("report: period %v..%v is empty", p.From, p.To)
	}
	if p.Loc == nil {
		p.Loc = timezone.Vietnam()
	}
	if p.Satisfied == nil {
		p.Satisfied = kpi.DefaultSatisfied()
	}
	if p.Generated.IsZero() {
		p.Generated = time.Now()
	}
	months := monthBounds(p.From.In(p.Loc), p.To.In(p.Loc))
	if len(months) > maxMonths {
		return nil, fmt.Errorf("report: period of %d months, more than %d", len(months), maxMonths)
	}
	seen := map[string]bool{}
	for _, s := range p.Sites {
		if !schema.ValidID(s.ID) || seen[s.ID] {
			return nil, fmt.Errorf("report: site %q is invalid or repeated", s.ID)
		}
		seen[s.ID] = true
	}

	r := &Report{
		Title: p.Title, From: p.From.In(p.Loc), To: p.To.In(p.Loc), Label: p.Label, Loc: p.Loc,
		Targets: p.Targets, Satisfied: p.Satisfied, Generated: p.Generated.In(p.Loc),
		Sites: make([]SiteReport, len(p.Sites)), HasPercentiles: len(p.Sites) == 1,
	}
	if r.Title == "" {
		r.Title = p.Sites[0].Name
		if r.Title == "" {
			r.Title = p.Sites[0].ID
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(loadConcurrency)
	for i, s := range p.Sites {
		g.Go(func() error {
			sr, err := loadSite(gctx, src, s, r.From, r.To, months)
			if err != nil {
				return fmt.Errorf("report: %s: %w", s.ID, err)
			}
			r.Sites[i] = sr
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	r.Total = kpi.NewStats()
	r.Months = make([]Month, len(months))
	for i, m := range months {
		r.Months[i] = Month{Start: m[0], End: m[1], Stats: kpi.NewStats()}
	}
	sat := kpi.SatisfactionOf(p.Satisfied)
	for _, sr := range r.Sites {
		r.Total.Add(sr.Stats)
		for i := range r.Months {
			r.Months[i].Stats.Add(sr.Months[i].Stats)
		}
	}
	if r.HasPercentiles {
		r.Total = r.Sites[0].Stats
	} else {
		r.Total.Finish(sat) // a sum of sites: Add left no percentiles
	}
	for i := range r.Months {
		r.Months[i].Stats.Finish(sat)
	}
	r.Findings = findings(r)
	if p.Cases != nil {
		cr, err := loadCases(ctx, p.Cases, p.Sites, r.From, r.To)
		if err != nil {
			return nil, err
		}
		r.Cases = cr
	}
	return r, nil
}

func loadSite(ctx context.Context, src Loader, s Site, from, to time.Time, months [][2]time.Time) (SiteReport, error) {
	sr := SiteReport{Site: s}
	overall, per, err := src.Load(ctx, s.ID, from, to)
	if err != nil {
		return sr, err
	}
	sr.Stats = overall
	listed := map[string]bool{}
	for _, c := range s.Counters {
		listed[c.ID] = true
		st, ok := per[c.ID]
		if !ok {
			st = kpi.NewStats()
		}
		sr.Counters = append(sr.Counters, CounterStats{Counter: c, Stats: st})
	}
	var extra []string
	for id := range per {
		if !listed[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		sr.Counters = append(sr.Counters, CounterStats{Counter: Counter{ID: id, Name: id}, Stats: per[id]})
	}
	for _, m := range months {
		st, _, err := src.LoadTotals(ctx, s.ID, m[0], m[1])
		if err != nil {
			return sr, err
		}
		st.WaitP50S, st.WaitP90S, st.ServiceP50S, st.ServiceP90S = 0, 0, 0, 0
		sr.Months = append(sr.Months, Month{Start: m[0], End: m[1], Stats: st})
	}
	return sr, nil
}

// monthBounds cuts [from, to) at local month starts.
func monthBounds(from, to time.Time) [][2]time.Time {
	var out [][2]time.Time
	for s := from; s.Before(to) && len(out) <= maxMonths; {
		y, m, _ := s.Date()
		e := time.Date(y, m+1, 1, 0, 0, 0, 0, s.Location())
		if e.After(to) {
			e = to
		}
		out = append(out, [2]time.Time{s, e})
		s = e
	}
	return out
}

// findings writes the plain-language summary.
func findings(r *Report) []Finding {
	t, st := r.Targets, r.Total
	var out []Finding
	if st.HasRatings {
		met := t.SatisfactionMet(st)
		out = append(out, Finding{Key: "satisfaction", Known: true, Met: met, HasTarget: true,
			VI: fmt.Sprintf("Tỷ lệ người dân hài lòng là %s trên %s lượt đánh giá: %s mục tiêu %s.",
				shownVI(t.SatisfactionShown(st.Satisfied, st.RatingsTotal)), intVI(st.RatingsTotal), metVI(met), pctVI(t.SatisfactionPct)),
			EN: fmt.Sprintf("%s of %s ratings were satisfied: the %s target was %s.",
				shownEN(t.SatisfactionShown(st.Satisfied, st.RatingsTotal)), intEN(st.RatingsTotal), pctEN(t.SatisfactionPct), metEN(met))})
	} else {
		out = append(out, Finding{Key: "satisfaction", HasTarget: true,
			VI: "Không có lượt đánh giá nào trong kỳ: chưa đánh giá được mục tiêu hài lòng.",
			EN: "No ratings in the period: the satisfaction target cannot be judged."})
	}
	if st.HasDossiers {
		met := t.OnTimeMet(st)
		out = append(out, Finding{Key: "on_time", Known: true, Met: met, HasTarget: true,
			VI: fmt.Sprintf("Hồ sơ giải quyết đúng hạn và trước hạn đạt %s trên %s hồ sơ (%s trễ hạn): %s mục tiêu %s.",
				shownVI(t.OnTimeShown(st.OnTime, st.DossiersTotal)), intVI(st.DossiersTotal), intVI(st.Dossiers[schema.OutcomeLate]), metVI(met), pctVI(t.OnTimePct)),
			EN: fmt.Sprintf("%s of %s dossiers were resolved on time or early (%s late): the %s target was %s.",
				shownEN(t.OnTimeShown(st.OnTime, st.DossiersTotal)), intEN(st.DossiersTotal), intEN(st.Dossiers[schema.OutcomeLate]), pctEN(t.OnTimePct), metEN(met))})
	} else {
		out = append(out, Finding{Key: "on_time", HasTarget: true,
			VI: "Không có hồ sơ nào được trả kết quả trong kỳ: chưa đánh giá được mục tiêu đúng hạn.",
			EN: "No dossiers resolved in the period: the on-time target cannot be judged."})
	}
	for _, tt := range []struct {
		key, vi, en string
		target, p90 float64
	}{
		{"wait_p90", "Thời gian chờ", "Wait time", t.WaitP90S, st.WaitP90S},
		{"service_p90", "Thời gian phục vụ", "Service time", t.ServiceP90S, st.ServiceP90S},
	} {
		if tt.target <= 0 || st.Sessions == 0 || !r.HasPercentiles {
			continue
		}
		met := tt.p90 <= tt.target
		out = append(out, Finding{Key: tt.key, Known: true, Met: met, HasTarget: true,
			VI: fmt.Sprintf("%s của 90 %% lượt phục vụ không quá %s phút: %s mục tiêu %s phút.", tt.vi, decVI(tt.p90/60), metVI(met), decVI(tt.target/60)),
			EN: fmt.Sprintf("%s of 90 %% of sessions was at most %s min: the %s min target was %s.", tt.en, decEN(tt.p90/60), decEN(tt.target/60), metEN(met))})
	}
	switch {
	case st.HasPresence && st.StaffNoDataPct >= 0.05:
		// Time without camera data is stated, never counted as absence.
		out = append(out, Finding{Key: "presence", Known: true,
			VI: fmt.Sprintf("Cán bộ có mặt tại quầy %s thời gian làm việc có dữ liệu camera; %s thời gian làm việc không có dữ liệu (không tính là vắng mặt).", pctVI(st.StaffPresencePct), pctVI(st.StaffNoDataPct)),
			EN: fmt.Sprintf("Staff were at their counters %s of the working time with camera data; %s of working time has no data (not counted as absence).", pctEN(st.StaffPresencePct), pctEN(st.StaffNoDataPct))})
	case st.HasPresence:
		out = append(out, Finding{Key: "presence", Known: true,
			VI: fmt.Sprintf("Cán bộ có mặt tại quầy %s thời gian làm việc (theo camera).", pctVI(st.StaffPresencePct)),
			EN: fmt.Sprintf("Staff were at their counters %s of working time (from cameras).", pctEN(st.StaffPresencePct))})
	case st.StaffWorkS > 0:
		out = append(out, Finding{Key: "presence",
			VI: "Không có dữ liệu camera về sự có mặt của cán bộ trong kỳ.",
			EN: "No camera data on staff presence in the period."})
	}
	if len(r.Sites) > 1 {
		var missS, missO []string
		for _, s := range r.Sites {
			if s.Stats.HasRatings && !t.SatisfactionMet(s.Stats) {
				missS = append(missS, siteName(s.Site))
			}
			if s.Stats.HasDossiers && !t.OnTimeMet(s.Stats) {
				missO = append(missO, siteName(s.Site))
			}
		}
		if len(missS)+len(missO) > 0 {
			out = append(out, Finding{Key: "sites", Known: true,
				VI: "Trung tâm chưa đạt: " + listMisses(missS, missO, "hài lòng", "đúng hạn") + ".",
				EN: "Centers below target: " + listMisses(missS, missO, "satisfaction", "on time") + "."})
		}
	}
	return out
}

func siteName(s Site) string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

func listMisses(a, b []string, na, nb string) string {
	var parts []string
	if len(a) > 0 {
		parts = append(parts, na+" — "+strings.Join(a, ", "))
	}
	if len(b) > 0 {
		parts = append(parts, nb+" — "+strings.Join(b, ", "))
	}
	return strings.Join(parts, "; ")
}

func metVI(met bool) string {
	if met {
		return "đạt"
	}
	return "chưa đạt"
}

func metEN(met bool) string {
	if met {
		return "met"
	}
	return "not met"
}
