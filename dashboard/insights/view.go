package insights

import (
	"fmt"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
)

// View is the answer of GET /api/insights, and what the workbook of GET
// /api/insights.xlsx shows: the same figures, so the export is the view.
// A figure without data is null, never 0; every share carries the counts
// it rests on beside it.
type View struct {
	Site SiteJSON `json:"site"`
	// From and To are the first and last day, both included, YYYY-MM-DD.
	From      string      `json:"from"`
	To        string      `json:"to"`
	Generated time.Time   `json:"generated"`
	Targets   TargetsJSON `json:"targets"`

	Overview   Overview       `json:"overview"`
	Counters   CountersJSON   `json:"counters"`
	Procedures ProceduresJSON `json:"procedures"`
	Late       LateJSON       `json:"late"`
}

// SiteJSON names the site.
type SiteJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// TargetsJSON are the plan's two targets and their rules ("above" is the
// plan's "trên": strictly above).
type TargetsJSON struct {
	SatisfactionPct  float64  `json:"satisfaction_pct"`
	SatisfactionRule kpi.Rule `json:"satisfaction_rule"`
	OnTimePct        float64  `json:"on_time_pct"`
	OnTimeRule       kpi.Rule `json:"on_time_rule"`
}

// Share is a share of results against its target. Pct is exact; Shown and
// Decimals are how it is shown beside Met (kpi.Targets' ShareShown), so the
// number never reads across the target from its verdict.
type Share struct {
	Pct      float64 `json:"pct"`
	Shown    float64 `json:"shown"`
	Decimals int     `json:"decimals"`
	Met      bool    `json:"met"`
}

// Overview is the period beside the same days last year.
type Overview struct {
	This     Totals `json:"this"`
	LastYear Totals `json:"last_year"`
	// SatisfiedDeltaPP and OnTimeDeltaPP are this period's exact share
	// minus last year's, in percentage points; null when either has no
	// data.
	SatisfiedDeltaPP *float64 `json:"satisfied_delta_pp"`
	OnTimeDeltaPP    *float64 `json:"on_time_delta_pp"`
}

// Totals are one period's site-wide figures.
type Totals struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Ratings and Satisfied are counts; Satisfaction is null without a
	// rating.
	Ratings      int64  `json:"ratings"`
	Satisfied    int64  `json:"satisfied"`
	Satisfaction *Share `json:"satisfaction"`
	// Dossiers resolved, those early or on time, those late; OnTime is
	// null without a dossier.
	Dossiers      int64  `json:"dossiers"`
	OnTimeOrEarly int64  `json:"on_time_or_early"`
	Late          int64  `json:"late"`
	OnTime        *Share `json:"on_time"`
	Sessions      int64  `json:"sessions"`
}

// CountersJSON are the counters ranked, with the minimums a rank needs.
type CountersJSON struct {
	MinRatings  int64 `json:"min_ratings"`
	MinSessions int64 `json:"min_sessions"`
	// List is in satisfaction order: the ranked first, then the others by
	// ID. ByService is the same counters' IDs in service-time order.
	List      []CounterJSON `json:"list"`
	ByService []string      `json:"by_service"`
}

// CounterJSON is one counter's figures. Ranks are null when the counter
// is not ranked, with the reason in the note (Vietnamese / English).
type CounterJSON struct {
	ID     string `json:"id"`
	NameVI string `json:"name_vi"`
	NameEN string `json:"name_en"`

	Ratings          int64  `json:"ratings"`
	Satisfied        int64  `json:"satisfied"`
	Satisfaction     *Share `json:"satisfaction"`
	SatisfactionRank *int   `json:"satisfaction_rank"`
	SatisfactionNote string `json:"satisfaction_note,omitempty"`

	// Times are seconds, null without a session; medians are nearest
	// rank.
	Sessions     int64    `json:"sessions"`
	ServiceP50S  *float64 `json:"service_p50_s"`
	ServiceMeanS *float64 `json:"service_mean_s"`
	WaitP50S     *float64 `json:"wait_p50_s"`
	ServiceRank  *int     `json:"service_rank"`
	ServiceNote  string   `json:"service_note,omitempty"`
}

// ProceduresJSON is the on-time share by procedure, worst first.
type ProceduresJSON struct {
	// TooMany is true when the range holds more dossiers than
	// MaxDossiers: the table is then not computed (List is empty) rather
	// than computed from part of them; Note says so.
	TooMany     bool            `json:"too_many"`
	MaxDossiers int64           `json:"max_dossiers"`
	Note        string          `json:"note,omitempty"`
	List        []ProcedureJSON `json:"list"`
}

// ProcedureJSON is one procedure's dossiers.
type ProcedureJSON struct {
	Procedure     string `json:"procedure"`
	Dossiers      int64  `json:"dossiers"`
	Early         int64  `json:"early"`
	OnTime        int64  `json:"on_time"`
	Late          int64  `json:"late"`
	OnTimeOrEarly int64  `json:"on_time_or_early"`
	Share         Share  `json:"share"`
}

// LateJSON lists the late dossiers, newest first: Shown of Total (at most
// Limit).
type LateJSON struct {
	Total    int64      `json:"total"`
	Shown    int        `json:"shown"`
	Limit    int        `json:"limit"`
	Dossiers []LateItem `json:"dossiers"`
}

// LateItem is one late dossier; times are RFC 3339 in the sites' zone, null
// when unreadable, and DaysLate (resolved - due, one decimal, rounded up)
// null then too.
type LateItem struct {
	Dossier   string     `json:"dossier"`
	Procedure string     `json:"procedure"`
	Received  *time.Time `json:"received"`
	Due       *time.Time `json:"due"`
	Resolved  *time.Time `json:"resolved"`
	DaysLate  *float64   `json:"days_late"`
}

// view presents ins for site under t, generated at now.
func view(ins kpidb.Insights, site kpi.Site, t kpi.Targets, from, to time.Time, now time.Time) View {
	v := View{
		Site: SiteJSON{ID: site.ID, Name: site.Name},
		From: from.Format(time.DateOnly), To: to.AddDate(0, 0, -1).Format(time.DateOnly),
		Generated: now,
		Targets:   TargetsJSON{SatisfactionPct: t.SatisfactionPct, SatisfactionRule: rule(t.SatisfactionRule), OnTimePct: t.OnTimePct, OnTimeRule: rule(t.OnTimeRule)},
	}
	tr := ins.Trend
	v.Overview = Overview{
		This:     totals(tr.This, t, from, to),
		LastYear: totals(tr.LastYear, t, tr.LastYearFrom, tr.LastYearTo),
	}
	if tr.HasSatisfiedDelta {
		v.Overview.SatisfiedDeltaPP = ptr(tr.SatisfiedDeltaPP)
	}
	if tr.HasOnTimeDelta {
		v.Overview.OnTimeDeltaPP = ptr(tr.OnTimeDeltaPP)
	}

	names := map[string]kpi.Counter{}
	for _, c := range site.Counters {
		names[c.ID] = c
	}
	v.Counters = CountersJSON{MinRatings: ins.MinRatings, MinSessions: ins.MinSessions, List: []CounterJSON{}, ByService: ins.ByService}
	if v.Counters.ByService == nil {
		v.Counters.ByService = []string{}
	}
	for _, c := range ins.Counters {
		cj := CounterJSON{ID: c.Counter, NameVI: c.Counter, NameEN: c.Counter, Ratings: c.Ratings, Satisfied: c.Satisfied, Sessions: c.Sessions}
		if n, ok := names[c.Counter]; ok {
			cj.NameVI, cj.NameEN = n.NameVI, n.NameEN
			if cj.NameEN == "" {
				cj.NameEN = n.NameVI
			}
		}
		cj.Satisfaction = satisfaction(c.Satisfied, c.Ratings, t)
		if c.SatisfactionRank > 0 {
			cj.SatisfactionRank = ptr(c.SatisfactionRank)
		} else {
			cj.SatisfactionNote = notRanked(c.Ratings, ins.MinRatings, "lượt đánh giá", "ratings")
		}
		if c.Sessions > 0 {
			cj.ServiceP50S, cj.ServiceMeanS, cj.WaitP50S = ptr(c.ServiceP50S), ptr(c.ServiceMeanS), ptr(c.WaitP50S)
		}
		if c.ServiceRank > 0 {
			cj.ServiceRank = ptr(c.ServiceRank)
		} else {
			cj.ServiceNote = notRanked(c.Sessions, ins.MinSessions, "lượt phục vụ", "sessions")
		}
		v.Counters.List = append(v.Counters.List, cj)
	}

	v.Procedures = ProceduresJSON{TooMany: ins.ProceduresTooMany, MaxDossiers: kpidb.MaxProcedureDossiers, List: []ProcedureJSON{}}
	if ins.ProceduresTooMany {
		v.Procedures.Note = fmt.Sprintf("Khoảng thời gian có hơn %s hồ sơ: chọn khoảng ngắn hơn để xem theo thủ tục / The range holds more than %s dossiers: choose a shorter range to see them by procedure",
			intVI(kpidb.MaxProcedureDossiers), intEN(kpidb.MaxProcedureDossiers))
	}
	for _, p := range ins.Procedures {
		v.Procedures.List = append(v.Procedures.List, ProcedureJSON{
			Procedure: p.Procedure, Dossiers: p.Dossiers, Early: p.Early, OnTime: p.OnTime, Late: p.Late, OnTimeOrEarly: p.OnTimeOrEarly,
			Share: *onTime(p.OnTimeOrEarly, p.Dossiers, t),
		})
	}

	v.Late = LateJSON{Total: ins.LateTotal, Shown: len(ins.Late), Limit: ins.LateLimit, Dossiers: []LateItem{}}
	for _, d := range ins.Late {
		it := LateItem{Dossier: d.Dossier, Procedure: d.Procedure, Received: timePtr(d.Received), Due: timePtr(d.Due), Resolved: timePtr(d.Resolved)}
		if d.HasDaysLate {
			it.DaysLate = ptr(d.DaysLate)
		}
		v.Late.Dossiers = append(v.Late.Dossiers, it)
	}
	return v
}

// totals presents one period's Stats over [from, to).
func totals(st kpi.Stats, t kpi.Targets, from, to time.Time) Totals {
	return Totals{
		From: from.Format(time.DateOnly), To: to.AddDate(0, 0, -1).Format(time.DateOnly),
		Ratings: st.RatingsTotal, Satisfied: st.Satisfied, Satisfaction: satisfaction(st.Satisfied, st.RatingsTotal, t),
		Dossiers: st.DossiersTotal, OnTimeOrEarly: st.OnTime, Late: st.DossiersTotal - st.OnTime, OnTime: onTime(st.OnTime, st.DossiersTotal, t),
		Sessions: st.Sessions,
	}
}

// satisfaction is good of total ratings against the satisfaction target,
// nil without a rating. The verdict and the decimals are kpi.Targets'.
func satisfaction(good, total int64, t kpi.Targets) *Share {
	if total <= 0 {
		return nil
	}
	shown, d := t.SatisfactionShown(good, total)
	return &Share{Pct: float64(good) * 100 / float64(total), Shown: shown, Decimals: d,
		Met: t.SatisfactionMet(kpi.Stats{Satisfied: good, RatingsTotal: total})}
}

// onTime is the same for dossiers early or on time.
func onTime(good, total int64, t kpi.Targets) *Share {
	if total <= 0 {
		return nil
	}
	shown, d := t.OnTimeShown(good, total)
	return &Share{Pct: float64(good) * 100 / float64(total), Shown: shown, Decimals: d,
		Met: t.OnTimeMet(kpi.Stats{OnTime: good, DossiersTotal: total})}
}

// notRanked says why a counter has no rank: n of what it needs min of.
func notRanked(n, need int64, vi, en string) string {
	if n == 0 {
		return "Chưa xếp hạng: không có dữ liệu / Not ranked: no data"
	}
	return fmt.Sprintf("Chưa xếp hạng, chưa đủ dữ liệu: %s %s, cần ít nhất %s / Not ranked, not enough data: %s %s, at least %s needed",
		intVI(n), vi, intVI(need), intEN(n), en, intEN(need))
}

// rule names the default rule, so the page never has to know "" means
// "above".
func rule(r kpi.Rule) kpi.Rule {
	if r == "" {
		return kpi.RuleAbove
	}
	return r
}

func ptr[T any](v T) *T { return &v }

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
