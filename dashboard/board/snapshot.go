package board

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// StatsJSON is kpi.Stats as the page reads it (docs: dashboard/web).
type StatsJSON struct {
	Ratings      map[schema.Level]int64 `json:"ratings"`
	RatingsTotal int64                  `json:"ratings_total"`
	Satisfied    int64                  `json:"satisfied"`
	HasRatings   bool                   `json:"has_ratings"`
	SatisfiedPct float64                `json:"satisfied_pct"`
	// The share as shown beside its verdict (kpi.ShareShown: never rounded
	// across the target), its decimals, and the verdict (kpi.Passes).
	SatisfiedShown    float64                  `json:"satisfied_shown"`
	SatisfiedDecimals int                      `json:"satisfied_decimals"`
	SatisfactionMet   bool                     `json:"satisfaction_met"`
	Dossiers          map[schema.Outcome]int64 `json:"dossiers"`
	DossiersTotal     int64                    `json:"dossiers_total"`
	OnTime            int64                    `json:"on_time"`
	HasDossiers       bool                     `json:"has_dossiers"`
	OnTimePct         float64                  `json:"on_time_pct"`
	OnTimeShown       float64                  `json:"on_time_shown"`
	OnTimeDecimals    int                      `json:"on_time_decimals"`
	OnTimeMet         bool                     `json:"on_time_met"`
	Sessions          int64                    `json:"sessions"`
	WaitMeanS         float64                  `json:"wait_mean_s"`
	WaitP50S          float64                  `json:"wait_p50_s"`
	WaitP90S          float64                  `json:"wait_p90_s"`
	ServiceMeanS      float64                  `json:"service_mean_s"`
	ServiceP50S       float64                  `json:"service_p50_s"`
	ServiceP90S       float64                  `json:"service_p90_s"`
	NoShows           int64                    `json:"no_shows"`
	HasPresence       bool                     `json:"has_presence"`
	StaffPresencePct  float64                  `json:"staff_presence_pct"`
	// The facts behind the presence figure, in working seconds: seen
	// present, known (camera coverage), and all; the rest is no data.
	StaffPresentS  float64 `json:"staff_present_s"`
	StaffCoveredS  float64 `json:"staff_covered_s"`
	StaffWorkS     float64 `json:"staff_work_s"`
	StaffNoDataPct float64 `json:"staff_no_data_pct"`
}

func statsJSON(s kpi.Stats, t kpi.Targets) StatsJSON {
	ratings := map[schema.Level]int64{}
	for _, l := range []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied, schema.LevelNeutral, schema.LevelDissatisfied} {
		ratings[l] = s.Ratings[l]
	}
	dossiers := map[schema.Outcome]int64{}
	for _, o := range []schema.Outcome{schema.OutcomeEarly, schema.OutcomeOnTime, schema.OutcomeLate} {
		dossiers[o] = s.Dossiers[o]
	}
	satShown, satD := t.SatisfactionShown(s.Satisfied, s.RatingsTotal)
	otShown, otD := t.OnTimeShown(s.OnTime, s.DossiersTotal)
	return StatsJSON{
		SatisfiedShown: satShown, SatisfiedDecimals: satD, SatisfactionMet: t.SatisfactionMet(s),
		OnTimeShown: otShown, OnTimeDecimals: otD, OnTimeMet: t.OnTimeMet(s),
		Ratings: ratings, RatingsTotal: s.RatingsTotal, Satisfied: s.Satisfied, HasRatings: s.HasRatings, SatisfiedPct: s.SatisfiedPct,
		Dossiers: dossiers, DossiersTotal: s.DossiersTotal, OnTime: s.OnTime, HasDossiers: s.HasDossiers, OnTimePct: s.OnTimePct,
		Sessions: s.Sessions, WaitMeanS: s.WaitMeanS, WaitP50S: s.WaitP50S, WaitP90S: s.WaitP90S,
		ServiceMeanS: s.ServiceMeanS, ServiceP50S: s.ServiceP50S, ServiceP90S: s.ServiceP90S,
		NoShows: s.NoShows, HasPresence: s.HasPresence, StaffPresencePct: s.StaffPresencePct,
		StaffPresentS: s.StaffOccupiedS, StaffCoveredS: s.StaffCoveredS, StaffWorkS: s.StaffWorkS, StaffNoDataPct: s.StaffNoDataPct,
	}
}

// UserJSON is who is looking.
type UserJSON struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Role        string   `json:"role"`
	Sites       []string `json:"sites"`
	// Cases says the dashboard keeps citizens' cases: the page links to
	// them.
	Cases bool `json:"cases,omitempty"`
	// Officials says the dashboard serves officials' figures.
	Officials bool `json:"officials,omitempty"`
}

// Snapshot is one site's full state for the page.
type Snapshot struct {
	Type      string                   `json:"type"`
	Site      string                   `json:"site"`
	SiteName  string                   `json:"site_name"`
	Generated time.Time                `json:"generated"`
	User      *UserJSON                `json:"user,omitempty"`
	Targets   TargetsJSON              `json:"targets"`
	Periods   map[kpi.Period]StatsJSON `json:"periods"`
	// Bounds are the dates each period covers (kpi.RangeOf, the report's
	// calendar), shown under the tabs.
	Bounds   map[kpi.Period]BoundsJSON `json:"bounds"`
	Budget   BudgetJSON                `json:"budget"`
	Counters []CounterJSON             `json:"counters"`
	Alerts   []Alert                   `json:"alerts"`
	Series   SeriesJSON                `json:"series"`
}

// BoundsJSON is a period's first and last day (local dates, inclusive)
// and, for the reporting half-year and year, the report's label ("2027H1",
// "2027").
type BoundsJSON struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Label string `json:"label,omitempty"`
}

func boundsJSON(p kpi.Period, now time.Time, loc *time.Location) BoundsJSON {
	r := kpi.RangeOf(p, now, loc)
	b := BoundsJSON{First: r.From.Format(time.DateOnly), Last: r.Last().Format(time.DateOnly)}
	if p == kpi.PeriodHalf || p == kpi.PeriodYear {
		b.Label = r.Label
	}
	return b
}

// SeriesJSON are the charts' data: today by hour (24 local hours) and the
// last 30 local days ending today, oldest first, every bucket present.
type SeriesJSON struct {
	TodayByHour []PointJSON `json:"today_by_hour"`
	Last30Days  []PointJSON `json:"last_30_days"`
}

// PointJSON is one bucket; start is in the sites' zone.
type PointJSON struct {
	Start     time.Time `json:"start"`
	Ratings   int64     `json:"ratings"`
	Satisfied int64     `json:"satisfied"`
	Sessions  int64     `json:"sessions"`
	// The satisfied share as shown, its decimals and its verdict, as in
	// StatsJSON (meaningless without ratings).
	SatisfiedShown    float64 `json:"satisfied_shown"`
	SatisfiedDecimals int     `json:"satisfied_decimals"`
	SatisfactionMet   bool    `json:"satisfaction_met"`
}

func pointsJSON(pts []kpi.Point, t kpi.Targets) []PointJSON {
	out := make([]PointJSON, len(pts))
	for i, p := range pts {
		v, d := t.SatisfactionShown(p.Satisfied, p.Ratings)
		out[i] = PointJSON{Start: p.Start, Ratings: p.Ratings, Satisfied: p.Satisfied, Sessions: p.Sessions,
			SatisfiedShown: v, SatisfiedDecimals: d, SatisfactionMet: t.SatisfactionMet(kpi.Stats{Satisfied: p.Satisfied, RatingsTotal: p.Ratings})}
	}
	return out
}

// TargetsJSON are the plan's targets.
type TargetsJSON struct {
	SatisfactionPct float64 `json:"satisfaction_pct"`
	OnTimePct       float64 `json:"on_time_pct"`
	// How each is met: "above" (">", the plan's "trên") or "at_least" ("≥").
	SatisfactionRule kpi.Rule `json:"satisfaction_rule"`
	OnTimeRule       kpi.Rule `json:"on_time_rule"`
	WaitP90S         float64  `json:"wait_p90_s"`
	ServiceP90S      float64  `json:"service_p90_s"`
}

// BudgetJSON is the year's remaining budget.
type BudgetJSON struct {
	DissatisfiedLeft int64 `json:"dissatisfied_left"`
	LateLeft         int64 `json:"late_left"`
	// The year's volume each budget was computed on, and which: expected
	// (configured), last_year (a whole year on record), extrapolated (the
	// year so far, scaled) or so_far.
	RatingsBasis     kpi.Basis `json:"ratings_basis"`
	ExpectedRatings  int64     `json:"expected_ratings"`
	DossiersBasis    kpi.Basis `json:"dossiers_basis"`
	ExpectedDossiers int64     `json:"expected_dossiers"`
	// Good results in a row that would bring a failing share back above
	// its target (0 when it passes; -1 when none would).
	RecoverSatisfied int64 `json:"recover_satisfied"`
	RecoverOnTime    int64 `json:"recover_on_time"`
}

// CounterJSON is one tile of the counter grid.
type CounterJSON struct {
	ID           string      `json:"id"`
	NameVI       string      `json:"name_vi"`
	NameEN       string      `json:"name_en"`
	Today        StatsJSON   `json:"today"`
	Staffed      *bool       `json:"staffed"`
	ServingSince *time.Time  `json:"serving_since"`
	LastRating   *lastRating `json:"last_rating"`
	// Facts are what the tile's live "unstaffed" rests on, as an alert's
	// do; nil unless the seat is vacant in working hours with its camera
	// current (unstaffedFacts).
	Facts *Facts `json:"facts,omitempty"`
}

// Snapshot returns site's snapshot, or false for an unknown site.
func (b *Board) Snapshot(site string) (Snapshot, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.sites[site]
	if !ok {
		return Snapshot{}, false
	}
	s := Snapshot{
		Type: "snapshot", Site: site, SiteName: st.site.Name, Generated: b.now().UTC(),
		Targets: b.targetsJSON(),
		Periods: map[kpi.Period]StatsJSON{},
		Bounds:  map[kpi.Period]BoundsJSON{},
		Alerts:  append([]Alert{}, st.alerts...),
		Series:  SeriesJSON{TodayByHour: pointsJSON(st.hours, b.targets), Last30Days: pointsJSON(st.days, b.targets)},
	}
	for p, l := range st.live {
		s.Periods[p] = statsJSON(l.Stats(), b.targets)
	}
	for _, p := range periods {
		s.Bounds[p] = boundsJSON(p, s.Generated, b.loc)
	}
	if y, ok := st.live[kpi.PeriodYear]; ok {
		from, to := kpi.Bounds(kpi.PeriodYear, s.Generated, b.loc)
		elapsed := float64(s.Generated.Sub(from)) / float64(to.Sub(from))
		bud := kpi.YearBudgetFor(y.Stats(), b.targets, elapsed, st.lastYear)
		s.Budget = BudgetJSON{DissatisfiedLeft: bud.DissatisfiedLeft, LateLeft: bud.LateLeft,
			RatingsBasis: bud.RatingsBasis, ExpectedRatings: bud.ExpectedRatings,
			DossiersBasis: bud.DossiersBasis, ExpectedDossiers: bud.ExpectedDossiers,
			RecoverSatisfied: bud.RecoverSatisfied, RecoverOnTime: bud.RecoverOnTime}
	}
	for _, c := range st.site.Counters {
		cs := st.counters[c.ID]
		cj := CounterJSON{ID: c.ID, NameVI: c.NameVI, NameEN: c.NameEN, Staffed: cs.staffed, ServingSince: cs.servingSince, LastRating: cs.lastRating,
			Facts: b.unstaffedFacts(site, c.ID, cs)}
		if cs.today != nil {
			cj.Today = statsJSON(cs.today.Stats(), b.targets)
		}
		s.Counters = append(s.Counters, cj)
	}
	return s, true
}

// SnapshotJSON is Snapshot encoded, with the viewer.
func (b *Board) SnapshotJSON(site string, user *UserJSON) ([]byte, error) {
	s, ok := b.Snapshot(site)
	if !ok {
		return nil, fmt.Errorf("board: unknown site %q", site)
	}
	s.User = user
	return json.Marshal(s)
}

// SiteSummary is one row of the province view.
type SiteSummary struct {
	Site     string    `json:"site"`
	SiteName string    `json:"site_name"`
	Year     StatsJSON `json:"year"`
	Today    StatsJSON `json:"today"`
}

// SitesJSON is the province view for the given sites (the ones the viewer
// may see), in the configured order.
func (b *Board) SitesJSON(sites []string) ([]byte, error) {
	out := struct {
		Type string `json:"type"`
		// Targets let the page give each share its verdict's colour.
		Targets TargetsJSON   `json:"targets"`
		Sites   []SiteSummary `json:"sites"`
	}{Type: "sites", Targets: b.targetsJSON(), Sites: []SiteSummary{}}
	for _, id := range sites {
		s, ok := b.Snapshot(id)
		if !ok {
			continue
		}
		out.Sites = append(out.Sites, SiteSummary{Site: id, SiteName: s.SiteName,
			Year: s.Periods[kpi.PeriodYear], Today: s.Periods[kpi.PeriodToday]})
	}
	return json.Marshal(out)
}

// targetsJSON are the plan's targets as the page reads them.
func (b *Board) targetsJSON() TargetsJSON {
	return TargetsJSON{SatisfactionPct: b.targets.SatisfactionPct, OnTimePct: b.targets.OnTimePct,
		SatisfactionRule: rule(b.targets.SatisfactionRule), OnTimeRule: rule(b.targets.OnTimeRule),
		WaitP90S: b.targets.WaitP90S, ServiceP90S: b.targets.ServiceP90S}
}

// rule names the default rule, so the page never guesses.
func rule(r kpi.Rule) kpi.Rule {
	if r == "" {
		return kpi.RuleAbove
	}
	return r
}
