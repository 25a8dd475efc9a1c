package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

//go:embed report.html
var pageSource string

// page is parsed once per WriteHTML; the template is small, and a package
// variable holding a parsed template would be state shared by every caller.
func page() (*template.Template, error) {
	return template.New("report").Funcs(template.FuncMap{
		"int":  intVI,
		"en":   intEN,
		"dec":  decVI,
		"pct":  pctVI,
		"date": dateVI,
		"mins": func(s float64) string { return decVI(s / 60) },
		"share": func(n, total int64) string {
			if total == 0 {
				return "—"
			}
			return pctVI(pct(n, total))
		},
		// The plan's two shares, shown as their verdict reads them.
		"satpct": func(r *Report, st kpi.Stats) string {
			return shownVI(r.Targets.SatisfactionShown(st.Satisfied, st.RatingsTotal))
		},
		"otpct": func(r *Report, st kpi.Stats) string {
			return shownVI(r.Targets.OnTimeShown(st.OnTime, st.DossiersTotal))
		},
		"target": targetVI,
		"month":  func(r *Report, m Month) string { return m.Start.In(r.Loc).Format("01/2006") },
		"sat":    func(r *Report, st kpi.Stats) bool { return r.Targets.SatisfactionMet(st) },
		"ontime": func(r *Report, st kpi.Stats) bool {
			return r.Targets.OnTimeMet(st)
		},
		"levels":       func() any { return levelNames },
		"levelVI":      func(l schema.Level) string { vi, _ := levelName(l); return vi },
		"levelEN":      func(l schema.Level) string { _, en := levelName(l); return en },
		"outcomes":     func() any { return outcomeNames },
		"count":        func(n int) string { return intVI(int64(n)) },
		"caseKinds":    func() any { return caseKindNames() },
		"caseChannels": func() any { return caseChannelNames },
		"caseOnTime": func(c *CasesReport) string {
			pct, ok := OnTimePct(c.Total)
			if !ok {
				return "—"
			}
			return pctVI(pct)
		},
		"caseMet": func(c *CasesReport) string {
			pct, ok := OnTimePct(c.Total)
			switch {
			case !ok:
				return "none"
			case pct == 100:
				return "met"
			}
			return "miss"
		},
	}).Parse(pageSource)
}

// WriteHTML writes the report as one self-contained printable page:
// embedded CSS, no script, no outside asset, Vietnamese number and date
// formats (1.234; 96,0 %; dd/mm/yyyy) with the English beside.
func (r *Report) WriteHTML(w io.Writer) error {
	t, err := page()
	if err != nil {
		return fmt.Errorf("report: html template: %w", err)
	}
	data := struct {
		*Report
		PeriodVI, PeriodEN string
		Last               string
		Province           bool
	}{r, r.periodVI(), r.periodEN(), dateVI(r.To.AddDate(0, 0, -1)), len(r.Sites) > 1}
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}
