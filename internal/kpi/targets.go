package kpi

import "math"

// Targets are the plan's targets, from configuration. The YAML form is the
// same in every program that judges figures (the dashboard and pscm-ctl).
type Targets struct {
	// SatisfactionPct is the satisfied share of ratings to stay above (95).
	SatisfactionPct float64 `yaml:"satisfaction_pct"`
	// OnTimePct is the early-or-on-time share of dossiers to stay above (98).
	OnTimePct float64 `yaml:"on_time_pct"`
	// WaitP90S and ServiceP90S are optional targets for the 90th percentile
	// of wait and service time, in seconds; 0 means no target.
	WaitP90S    float64 `yaml:"wait_p90_s"`
	ServiceP90S float64 `yaml:"service_p90_s"`
}

// DefaultTargets are the 2026-2030 plan's targets: satisfaction above 95 %
// and dossiers on time or early above 98 %.
func DefaultTargets() Targets { return Targets{SatisfactionPct: 95, OnTimePct: 98} }

// Passes is the one pass rule. The plan says "trên 95 %" and "trên 98 %":
// strictly above the target. It is decided on the counts, not on a rounded
// percentage, so 94.96 % never passes for "95,0 %" and exactly 95 % never
// passes either. A target of 0 or less is no target: any share passes.
// With nothing counted there is nothing to pass: false (callers show
// "no data", never "not met", from the Has flags).
func Passes(good, total int64, targetPct float64) bool {
	if total <= 0 {
		return false
	}
	if targetPct <= 0 {
		return true
	}
	return float64(good)*100 > targetPct*float64(total)
}

// SatisfactionMet reports whether st passes the satisfaction target.
func (t Targets) SatisfactionMet(st Stats) bool {
	return Passes(st.Satisfied, st.RatingsTotal, t.SatisfactionPct)
}

// OnTimeMet reports whether st passes the on-time-or-early target.
func (t Targets) OnTimeMet(st Stats) bool {
	return Passes(st.OnTime, st.DossiersTotal, t.OnTimePct)
}

// Budget is how many more bad results the year can take and still pass.
type Budget struct {
	// DissatisfiedLeft is how many more ratings not counted as satisfied
	// the year can take and still pass the satisfaction target.
	DissatisfiedLeft int64
	// LateLeft is how many more late dossiers the year can take and still
	// pass the on-time target.
	LateLeft int64
}

// BudgetFor returns the year's remaining budget under the one pass rule:
// for ratings the largest x with Passes(satisfied, total+x, target), never
// negative (0 when even none more would pass); the same for dossiers. A
// target of 0 or less allows anything: math.MaxInt64.
func BudgetFor(year Stats, t Targets) Budget {
	return Budget{
		DissatisfiedLeft: budget(year.Satisfied, year.RatingsTotal, t.SatisfactionPct),
		LateLeft:         budget(year.OnTime, year.DossiersTotal, t.OnTimePct),
	}
}

// budget computes the largest x with good*100 > target*(total+x) in
// floating point and then corrects it against that exact condition, so a
// quotient that lands a hair off an integer is not off by one.
func budget(good, total int64, target float64) int64 {
	if target <= 0 {
		return math.MaxInt64
	}
	ok := func(x int64) bool { return Passes(good, total+x, target) }
	x := int64(math.Ceil(float64(good)*100/target-float64(total))) - 1
	for x >= 0 && !ok(x) {
		x--
	}
	for ok(x + 1) {
		x++
	}
	if x < 0 {
		return 0
	}
	return x
}
