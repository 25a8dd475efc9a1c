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
	// SatisfactionRule and OnTimeRule say how each share meets its target:
	// "above" (the default: the plan says "trên 95 %") or "at_least".
	SatisfactionRule Rule `yaml:"satisfaction_rule"`
	OnTimeRule       Rule `yaml:"on_time_rule"`
	// ExpectedRatings and ExpectedDossiers are the year's expected
	// volumes, for the budgets (0: extrapolated from the year so far).
	ExpectedRatings  int64 `yaml:"expected_ratings_per_year"`
	ExpectedDossiers int64 `yaml:"expected_dossiers_per_year"`
}

// Rule is how a share meets its target.
type Rule string

// The two rules; "" is RuleAbove.
const (
	RuleAbove   Rule = "above"
	RuleAtLeast Rule = "at_least"
)

// Valid reports whether r is a rule ("" included: the default).
func (r Rule) Valid() bool { return r == "" || r == RuleAbove || r == RuleAtLeast }

// Symbol is how the rule reads before a target: ">" or "≥".
func (r Rule) Symbol() string {
	if r == RuleAtLeast {
		return "≥"
	}
	return ">"
}

// DefaultTargets are the 2026-2030 plan's targets: satisfaction above 95 %
// and dossiers on time or early above 98 %.
func DefaultTargets() Targets { return Targets{SatisfactionPct: 95, OnTimePct: 98} }

// Passes is the one pass rule. The plan says "trên 95 %" and "trên 98 %":
// strictly above the target (RuleAbove, the default); a target configured
// at_least is met at it (RuleAtLeast). It is decided on the counts, not on a rounded
// percentage, so 94.96 % never passes for "95,0 %" and, above, exactly 95 %
// never passes either. A target of 0 or less is no target: any share passes.
// With nothing counted there is nothing to pass: false (callers show
// "no data", never "not met", from the Has flags).
func Passes(good, total int64, targetPct float64, rule Rule) bool {
	if total <= 0 {
		return false
	}
	if targetPct <= 0 {
		return true
	}
	if rule == RuleAtLeast {
		return float64(good)*100 >= targetPct*float64(total)
	}
	return float64(good)*100 > targetPct*float64(total)
}

// SatisfactionMet reports whether st passes the satisfaction target.
func (t Targets) SatisfactionMet(st Stats) bool {
	return Passes(st.Satisfied, st.RatingsTotal, t.SatisfactionPct, t.SatisfactionRule)
}

// OnTimeMet reports whether st passes the on-time-or-early target.
func (t Targets) OnTimeMet(st Stats) bool {
	return Passes(st.OnTime, st.DossiersTotal, t.OnTimePct, t.OnTimeRule)
}

// SatisfactionShown is satisfied of ratings as shown beside its verdict
// (ShareShown under the satisfaction target and rule).
func (t Targets) SatisfactionShown(satisfied, ratings int64) (float64, int) {
	return ShareShown(satisfied, ratings, t.SatisfactionPct, t.SatisfactionRule)
}

// OnTimeShown is onTime of dossiers as shown beside its verdict.
func (t Targets) OnTimeShown(onTime, dossiers int64) (float64, int) {
	return ShareShown(onTime, dossiers, t.OnTimePct, t.OnTimeRule)
}

// Basis says which year's volume a budget was computed on.
type Basis string

// The bases of a budget.
const (
	// BasisExpected: the configured expected volume of the year.
	BasisExpected Basis = "expected"
	// BasisLastYear: last year's volume (a whole year of it on record).
	BasisLastYear Basis = "last_year"
	// BasisExtrapolated: the year so far, scaled to the whole year.
	BasisExtrapolated Basis = "extrapolated"
	// BasisSoFar: the results so far only (early in the year, or past the
	// expected volume already).
	BasisSoFar Basis = "so_far"
)

// minElapsed is the share of the year before which the year so far is too
// short to extrapolate from (about a week).
const minElapsed = 0.02

// YearBudget is the year's budget on the year's volume, and the way back.
type YearBudget struct {
	Budget
	RatingsBasis, DossiersBasis Basis
	// ExpectedRatings and ExpectedDossiers are the volumes used.
	ExpectedRatings, ExpectedDossiers int64
	// RecoverSatisfied is how many satisfied ratings in a row would bring
	// a failing share back above its target (0 when it passes or nothing
	// was rated; -1 when no number would); RecoverOnTime the same for
	// dossiers on time or early.
	RecoverSatisfied, RecoverOnTime int64
}

// Volume is a year's count of ratings and of dossiers; zero is unknown
// (pscm did not record a whole year).
type Volume struct{ Ratings, Dossiers int64 }

// YearBudgetFor is the budget for the whole year: how many more bad
// results the year's expected volume can hold and still pass, where
// elapsed is the share of the year gone (0 to 1). The volume is the
// configured one, else last year's (when a whole year is on record), else
// the year so far extrapolated, else (in the first week, or once the
// results exceed it) the results so far, as BudgetFor.
func YearBudgetFor(year Stats, t Targets, elapsed float64, lastYear Volume) YearBudget {
	b := YearBudget{
		RecoverSatisfied: Recovery(year.Satisfied, year.RatingsTotal, t.SatisfactionPct, t.SatisfactionRule),
		RecoverOnTime:    Recovery(year.OnTime, year.DossiersTotal, t.OnTimePct, t.OnTimeRule),
	}
	b.DissatisfiedLeft, b.RatingsBasis, b.ExpectedRatings = yearBudget(year.Satisfied, year.RatingsTotal, t.ExpectedRatings, lastYear.Ratings, elapsed, t.SatisfactionPct, t.SatisfactionRule)
	b.LateLeft, b.DossiersBasis, b.ExpectedDossiers = yearBudget(year.OnTime, year.DossiersTotal, t.ExpectedDossiers, lastYear.Dossiers, elapsed, t.OnTimePct, t.OnTimeRule)
	return b
}

// yearBudget is the largest x such that, of the volume's remaining results,
// x bad and the rest good leave the year passing.
func yearBudget(good, total, expected, lastYear int64, elapsed, target float64, rule Rule) (int64, Basis, int64) {
	basis := BasisExpected
	if expected <= 0 && lastYear > 0 {
		expected, basis = lastYear, BasisLastYear
	}
	if expected <= 0 {
		if elapsed < minElapsed || total == 0 {
			return budget(good, total, target, rule), BasisSoFar, total
		}
		expected, basis = int64(math.Ceil(float64(total)/math.Min(elapsed, 1))), BasisExtrapolated
	}
	if expected <= total {
		return budget(good, total, target, rule), BasisSoFar, total
	}
	if target <= 0 {
		return math.MaxInt64, basis, expected
	}
	rest := expected - total
	ok := func(x int64) bool { return Passes(good+rest-x, expected, target, rule) }
	if !ok(0) {
		return 0, basis, expected
	}
	lo, hi := int64(0), rest // ok(lo); find the largest
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, basis, expected
}

// Recovery is how many good results in a row would bring good/total back
// to passing its target: 0 when it passes or nothing was counted, -1 when
// no number would (a target of 100 %).
func Recovery(good, total int64, target float64, rule Rule) int64 {
	if total <= 0 || target <= 0 || Passes(good, total, target, rule) {
		return 0
	}
	if target >= 100 {
		return -1 // a share short of 100 % never passes 100 %, whatever follows
	}
	// (good+n)*100 > target*(total+n): n > (target*total - 100*good) / (100 - target).
	n := int64(math.Floor((target*float64(total) - 100*float64(good)) / (100 - target)))
	if n < 0 {
		n = 0
	}
	for n > 0 && Passes(good+n-1, total+n-1, target, rule) {
		n--
	}
	for !Passes(good+n, total+n, target, rule) {
		n++
	}
	return n
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
		DissatisfiedLeft: budget(year.Satisfied, year.RatingsTotal, t.SatisfactionPct, t.SatisfactionRule),
		LateLeft:         budget(year.OnTime, year.DossiersTotal, t.OnTimePct, t.OnTimeRule),
	}
}

// budget computes the largest x with good*100 > target*(total+x) in
// floating point and then corrects it against that exact condition, so a
// quotient that lands a hair off an integer is not off by one.
func budget(good, total int64, target float64, rule Rule) int64 {
	if target <= 0 {
		return math.MaxInt64
	}
	ok := func(x int64) bool { return Passes(good, total+x, target, rule) }
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

// MaxShareDecimals is the most decimals a share is shown with.
const MaxShareDecimals = 4

// ShareShown is the share good/total as a percentage the way it is shown
// beside its verdict: rounded to the fewest decimals (at least one) that
// keep the shown number on the verdict's side of the target. A share that
// passes is shown above the target, one that fails below it (or at it,
// when it is exactly the target: "trên 95 %" is not met by 95 %); a share
// short of everything is never shown as 100, one above nothing never as 0.
// So 94.96 % is "94,96 %" beside "Không đạt", never "95,0 %", and 95.004 %
// is "95,004 %" beside "Đạt". Past MaxShareDecimals the last digit is cut
// toward the verdict's side (and away from 0 and 100) instead of rounded.
// A target of 0 or less is no target: only the 0 and 100 rules apply.
// Under RuleAtLeast a share exactly at the target passes and is shown at it.
func ShareShown(good, total int64, targetPct float64, rule Rule) (shown float64, decimals int) {
	if total <= 0 {
		return 0, 1
	}
	exact := float64(good) * 100 / float64(total)
	passes := Passes(good, total, targetPct, rule)
	atTarget := float64(good)*100 == targetPct*float64(total)
	agrees := func(v float64) bool {
		switch {
		case good < total && v >= 100, good > 0 && v <= 0:
			return false
		case targetPct <= 0:
			return true
		case atTarget:
			return v == targetPct
		case passes:
			return v > targetPct
		}
		return v < targetPct
	}
	for d := 1; d <= MaxShareDecimals; d++ {
		p := math.Pow(10, float64(d))
		if v := math.Round(exact*p) / p; agrees(v) {
			return v, d
		}
	}
	p := math.Pow(10, MaxShareDecimals)
	if up := math.Ceil(exact*p) / p; agrees(up) {
		return up, MaxShareDecimals
	}
	return math.Floor(exact*p) / p, MaxShareDecimals
}
