package cases

import (
	"fmt"
)

// Rule is a kind's deadlines, in working days from the day a case is
// received (internal/workcal): to acknowledge it (accept it for handling,
// or say why not) and to resolve it (answer it, or transfer it to the
// competent body). 0 sets no deadline.
type Rule struct {
	AcknowledgeDays int `yaml:"acknowledge_days"`
	ResolveDays     int `yaml:"resolve_days"`
	// ComplexResolveDays replaces ResolveDays for a case marked complex.
	ComplexResolveDays int `yaml:"complex_resolve_days"`
	// ResolveFromAcknowledge counts ResolveDays from the day the case is
	// accepted (thụ lý) rather than received, as the laws on complaints
	// and denunciations do.
	ResolveFromAcknowledge bool `yaml:"resolve_from_acknowledge"`
}

func (r Rule) resolve(complex bool) int {
	if complex && r.ComplexResolveDays > 0 {
		return r.ComplexResolveDays
	}
	return r.ResolveDays
}

// Rules are every kind's deadlines and when a case is "at risk".
type Rules struct {
	Kinds map[Kind]Rule `yaml:"kinds"`
	// WarnDays: an open case with fewer working days than this left is at
	// risk, shown first and alerted.
	WarnDays int `yaml:"warn_days"`
}

// DefaultRules are the deadlines of the laws in force, counted here in
// working days as the plan asks (a center may set its own):
//   - complaint (Luật Khiếu nại 2011): accepted within 10 days, settled
//     within 30 of the acceptance, 45 for a complex case;
//   - denunciation (Luật Tố cáo 2018): accepted within 7, settled within
//     30 of the acceptance;
//   - feedback, recommendation and report (Nghị định 20/2008/NĐ-CP, on
//     citizens' recommendations about administrative rules): accepted or
//     transferred within 2, answered within 15.
func DefaultRules() Rules {
	short := Rule{AcknowledgeDays: 2, ResolveDays: 15}
	return Rules{
		Kinds: map[Kind]Rule{
			KindFeedback:       short,
			KindRecommendation: short,
			KindReflection:     short,
			KindComplaint:      {AcknowledgeDays: 10, ResolveDays: 30, ComplexResolveDays: 45, ResolveFromAcknowledge: true},
			KindDenunciation:   {AcknowledgeDays: 7, ResolveDays: 30, ResolveFromAcknowledge: true},
		},
		WarnDays: 3,
	}
}

// For is kind's rule.
func (r Rules) For(k Kind) Rule { return r.Kinds[k] }

// Validate checks the rules: every kind has one, every count in 0..365,
// acknowledging before resolving.
func (r Rules) Validate() error {
	for k := range r.Kinds {
		if !k.Valid() {
			return fmt.Errorf("cases: rules: unknown kind %q", k)
		}
	}
	for _, k := range Kinds() {
		x, ok := r.Kinds[k]
		if !ok {
			return fmt.Errorf("cases: rules: no rule for %s", k)
		}
		for name, v := range map[string]int{"acknowledge_days": x.AcknowledgeDays, "resolve_days": x.ResolveDays, "complex_resolve_days": x.ComplexResolveDays} {
			if v < 0 || v > 365 {
				return fmt.Errorf("cases: rules: %s %s %d: want 0 to 365", k, name, v)
			}
		}
		if x.ResolveDays > 0 && x.AcknowledgeDays > x.ResolveDays {
			return fmt.Errorf("cases: rules: %s: acknowledge_days %d after resolve_days %d", k, x.AcknowledgeDays, x.ResolveDays)
		}
		if x.ComplexResolveDays > 0 && x.ComplexResolveDays < x.ResolveDays {
			return fmt.Errorf("cases: rules: %s: complex_resolve_days %d shorter than resolve_days %d", k, x.ComplexResolveDays, x.ResolveDays)
		}
	}
	if r.WarnDays < 0 || r.WarnDays > 30 {
		return fmt.Errorf("cases: rules: warn_days %d: want 0 to 30", r.WarnDays)
	}
	return nil
}
