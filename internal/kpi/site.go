package kpi

import (
	"errors"
	"fmt"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

// Site is a configured center, as the dashboard's and pscm-ctl's `sites:`
// list it.
type Site struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Counters names the counters shown in the grid and the report, in order.
	Counters []Counter `yaml:"counters"`
}

// Counter is one counter of a site.
type Counter struct {
	ID     string `yaml:"id"`
	NameVI string `yaml:"name_vi"`
	NameEN string `yaml:"name_en"`
}

// Figures is what every reader of the figures configures alike (the
// dashboard and pscm-ctl), so they name and judge things alike.
type Figures struct {
	Sites   []Site  `yaml:"sites"`
	Targets Targets `yaml:"targets"`
	// Satisfied lists the rating levels that count as satisfied.
	Satisfied []schema.Level `yaml:"satisfied"`
	// TimeZone bounds days, months, half-years and years.
	TimeZone string `yaml:"time_zone"`
	// Reasons name the follow-up reasons a dissatisfied citizen may tick
	// (the agent's kiosk.reasons; keep the two lists equal): alerts and
	// reports show their names, never their IDs.
	Reasons Reasons `yaml:"reasons"`
}

// Reasons are the configured follow-up reasons.
type Reasons []Reason

// Reason is one follow-up reason's ID and names.
type Reason struct {
	ID      string `yaml:"id"`
	LabelVI string `yaml:"label_vi"`
	LabelEN string `yaml:"label_en"`
}

// DefaultReasons are the agent's example reasons.
func DefaultReasons() Reasons {
	return Reasons{
		{ID: "cho-lau", LabelVI: "Chờ lâu", LabelEN: "Long wait"},
		{ID: "thai-do", LabelVI: "Thái độ", LabelEN: "Attitude"},
		{ID: "huong-dan", LabelVI: "Hướng dẫn chưa rõ", LabelEN: "Unclear guidance"},
		{ID: "thu-tuc", LabelVI: "Thủ tục phức tạp", LabelEN: "Complicated procedure"},
	}
}

// Labels names reason IDs in Vietnamese (vi) or English; an ID not
// configured is shown as itself.
func (rs Reasons) Labels(ids []string, vi bool) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		name := id
		for _, r := range rs {
			if r.ID == id {
				name = r.LabelEN
				if vi {
					name = r.LabelVI
				}
				break
			}
		}
		out = append(out, name)
	}
	return out
}

// DefaultFigures holds every default except the sites.
func DefaultFigures() Figures {
	return Figures{Targets: DefaultTargets(), Satisfied: DefaultSatisfied(), TimeZone: timezone.Default, Reasons: DefaultReasons()}
}

// Validate checks the sites and their counters, the targets, the levels
// that count as satisfied and the time zone, naming the key at fault.
func (f Figures) Validate() error {
	if len(f.Sites) == 0 {
		return errors.New("sites: at least one")
	}
	seen := map[string]bool{}
	for i, s := range f.Sites {
		if !schema.ValidID(s.ID) || seen[s.ID] {
			return fmt.Errorf("sites[%d].id: %q is invalid or repeated", i, s.ID)
		}
		seen[s.ID] = true
		if s.Name == "" {
			return fmt.Errorf("sites[%d].name: required", i)
		}
		for j, ct := range s.Counters {
			if !schema.ValidID(ct.ID) || ct.NameVI == "" {
				return fmt.Errorf("sites[%d].counters[%d]: id must be a valid ID and name_vi is required", i, j)
			}
		}
	}
	t := f.Targets
	if t.SatisfactionPct <= 0 || t.SatisfactionPct > 100 || t.OnTimePct <= 0 || t.OnTimePct > 100 || t.WaitP90S < 0 || t.ServiceP90S < 0 {
		return errors.New("targets: satisfaction_pct and on_time_pct must be in (0, 100], wait_p90_s and service_p90_s at least 0")
	}
	if t.ExpectedRatings < 0 || t.ExpectedDossiers < 0 {
		return errors.New("targets: expected_ratings_per_year and expected_dossiers_per_year must be at least 0 (0: extrapolated from the year so far)")
	}
	if !t.SatisfactionRule.Valid() || !t.OnTimeRule.Valid() {
		return fmt.Errorf("targets: satisfaction_rule and on_time_rule are %q (the plan's \"trên\", the default) or %q", RuleAbove, RuleAtLeast)
	}
	if len(f.Reasons) > 50 {
		return errors.New("reasons: more than 50")
	}
	for i, r := range f.Reasons {
		if !schema.ValidID(r.ID) || r.LabelVI == "" || r.LabelEN == "" {
			return fmt.Errorf("reasons[%d]: id must be a valid ID, label_vi and label_en are required", i)
		}
	}
	if len(f.Satisfied) == 0 {
		return errors.New("satisfied: at least one level")
	}
	for _, l := range f.Satisfied {
		if !l.Valid() {
			return fmt.Errorf("satisfied: %q is not a rating level", l)
		}
	}
	if _, err := timezone.Location(f.TimeZone); err != nil {
		return fmt.Errorf("time_zone: %w", err)
	}
	return nil
}

// Site returns the configured site with id.
func (f Figures) Site(id string) (Site, bool) {
	for _, s := range f.Sites {
		if s.ID == id {
			return s, true
		}
	}
	return Site{}, false
}
