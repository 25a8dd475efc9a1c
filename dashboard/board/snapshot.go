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
	Ratings          map[schema.Level]int64   `json:"ratings"`
	RatingsTotal     int64                    `json:"ratings_total"`
	Satisfied        int64                    `json:"satisfied"`
	HasRatings       bool                     `json:"has_ratings"`
	SatisfiedPct     float64                  `json:"satisfied_pct"`
	Dossiers         map[schema.Outcome]int64 `json:"dossiers"`
	DossiersTotal    int64                    `json:"dossiers_total"`
	OnTime           int64                    `json:"on_time"`
	HasDossiers      bool                     `json:"has_dossiers"`
	OnTimePct        float64                  `json:"on_time_pct"`
	Sessions         int64                    `json:"sessions"`
	WaitMeanS        float64                  `json:"wait_mean_s"`
	WaitP50S         float64                  `json:"wait_p50_s"`
	WaitP90S         float64                  `json:"wait_p90_s"`
	ServiceMeanS     float64                  `json:"service_mean_s"`
	ServiceP50S      float64                  `json:"service_p50_s"`
	ServiceP90S      float64                  `json:"service_p90_s"`
	NoShows          int64                    `json:"no_shows"`
	HasPresence      bool                     `json:"has_presence"`
	StaffPresencePct float64                  `json:"staff_presence_pct"`
}

func statsJSON(s kpi.Stats) StatsJSON {
	ratings := map[schema.Level]int64{}
	for _, l := range []schema.Level{schema.LevelVerySatisfied, schema.LevelSatisfied, schema.LevelNeutral, schema.LevelDissatisfied} {
		ratings[l] = s.Ratings[l]
	}
	dossiers := map[schema.Outcome]int64{}
	for _, o := range []schema.Outcome{schema.OutcomeEarly, schema.OutcomeOnTime, schema.OutcomeLate} {
		dossiers[o] = s.Dossiers[o]
	}
	return StatsJSON{
		Ratings: ratings, RatingsTotal: s.RatingsTotal, Satisfied: s.Satisfied, HasRatings: s.HasRatings, SatisfiedPct: s.SatisfiedPct,
		Dossiers: dossiers, DossiersTotal: s.DossiersTotal, OnTime: s.OnTime, HasDossiers: s.HasDossiers, OnTimePct: s.OnTimePct,
		Sessions: s.Sessions, WaitMeanS: s.WaitMeanS, WaitP50S: s.WaitP50S, WaitP90S: s.WaitP90S,
		ServiceMeanS: s.ServiceMeanS, ServiceP50S: s.ServiceP50S, ServiceP90S: s.ServiceP90S,
		NoShows: s.NoShows, HasPresence: s.HasPresence, StaffPresencePct: s.StaffPresencePct,
	}
}

// UserJSON is who is looking.
type UserJSON struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Role        string   `json:"role"`
	Sites       []string `json:"sites"`
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
	Budget    BudgetJSON               `json:"budget"`
	Counters  []CounterJSON            `json:"counters"`
	Alerts    []Alert                  `json:"alerts"`
	Series    SeriesJSON               `json:"series"`
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
}

func pointsJSON(pts []kpi.Point) []PointJSON {
	out := make([]PointJSON, len(pts))
	for i, p := range pts {
		out[i] = PointJSON{Start: p.Start, Ratings: p.Ratings, Satisfied: p.Satisfied, Sessions: p.Sessions}
	}
	return out
}

// TargetsJSON are the plan's targets.
type TargetsJSON struct {
	SatisfactionPct float64 `json:"satisfaction_pct"`
	OnTimePct       float64 `json:"on_time_pct"`
	WaitP90S        float64 `json:"wait_p90_s"`
	ServiceP90S     float64 `json:"service_p90_s"`
}

// BudgetJSON is the year's remaining budget.
type BudgetJSON struct {
	DissatisfiedLeft int64 `json:"dissatisfied_left"`
	LateLeft         int64 `json:"late_left"`
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
		Targets: TargetsJSON{SatisfactionPct: b.targets.SatisfactionPct, OnTimePct: b.targets.OnTimePct,
			WaitP90S: b.targets.WaitP90S, ServiceP90S: b.targets.ServiceP90S},
		Periods: map[kpi.Period]StatsJSON{},
		Alerts:  append([]Alert{}, st.alerts...),
		Series:  SeriesJSON{TodayByHour: pointsJSON(st.hours), Last30Days: pointsJSON(st.days)},
	}
	for p, l := range st.live {
		s.Periods[p] = statsJSON(l.Stats())
	}
	if y, ok := st.live[kpi.PeriodYear]; ok {
		bud := kpi.BudgetFor(y.Stats(), b.targets)
		s.Budget = BudgetJSON{DissatisfiedLeft: bud.DissatisfiedLeft, LateLeft: bud.LateLeft}
	}
	for _, c := range st.site.Counters {
		cs := st.counters[c.ID]
		cj := CounterJSON{ID: c.ID, NameVI: c.NameVI, NameEN: c.NameEN, Staffed: cs.staffed, ServingSince: cs.servingSince, LastRating: cs.lastRating}
		if cs.today != nil {
			cj.Today = statsJSON(cs.today.Stats())
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
		Type  string        `json:"type"`
		Sites []SiteSummary `json:"sites"`
	}{Type: "sites", Sites: []SiteSummary{}}
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
