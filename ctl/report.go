package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/report"
)

const reportHelp = `usage: pscm-ctl report -config ctl.yml (-site SITE | -province) [-period SPEC | -from DD/MM/YYYY -to DD/MM/YYYY] [-o report.xlsx] [-html report.html]

Writes the semi-annual report (báo cáo kết quả 6 tháng): satisfaction against
its target, dossiers on time or early against theirs, wait and service times,
staff presence per counter, trends by month and a summary of the targets met.

Period: by default the one the next deadline reports on. Results are due
before 10 June and 10 December, so a period is the six whole months before
the deadline's month: 2026H1 (due 10/06/2026) is 01/12/2025-31/05/2026 and
2026H2 (due 10/12/2026) is 01/06/2026-30/11/2026. -period takes every form of
the dashboard's calendar (in the configured time zone):
  2026H2                  a reporting half-year
  2026                    a reporting year: 2026H1 and 2026H2, 01/12/2025-30/11/2026
  2026-11 or 11/2026      a month
  2026-W48                an ISO week, Monday to Sunday
  2026-11-30, 30/11/2026  a day
  2026-01-01..2026-06-30  days, both included (at most 3 years), e.g. a calendar half-year
  today, week, month, half, year: the one under way
-from and -to (inclusive days) are the last form in two flags. See docs/report.md.

Flags:
`

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pscm-ctl report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reportHelp); fs.PrintDefaults() }
	cf := commonFlags(fs)
	site := fs.String("site", "", "report on this configured site")
	province := fs.Bool("province", false, "report on every configured site: summed, and each one")
	period := fs.String("period", "", "the period: 2026H2, 2026 (reporting year), 2026-11, 2026-W48, 2026-11-30, 2026-11-01..2026-11-30, ... (default: the next deadline's half-year)")
	fromS := fs.String("from", "", "first day, DD/MM/YYYY or YYYY-MM-DD (with -to)")
	toS := fs.String("to", "", "last day, inclusive (with -from)")
	xlsxPath := fs.String("o", "", "write the XLSX workbook here")
	htmlPath := fs.String("html", "", "write the printable HTML page here")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -h printed the help, as asked
		}
		return err
	}
	cfg, log, done, err := cf.load(stdout, stderr)
	if err != nil || done {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("report: unexpected arguments: %v", fs.Args())
	}
	if *xlsxPath == "" && *htmlPath == "" {
		return errors.New("report: nothing to write: give -o FILE.xlsx and/or -html FILE.html")
	}
	loc, err := cfg.Location()
	if err != nil {
		return err
	}
	from, to, label, err := reportPeriod(*period, *fromS, *toS, loc, time.Now())
	if err != nil {
		return err
	}
	p := report.Params{From: from, To: to, Label: label, Loc: loc, Targets: cfg.Targets, Satisfied: cfg.Satisfied}
	switch {
	case *province && *site != "":
		return errors.New("report: give -site or -province, not both")
	case *province:
		p.Title = cfg.Province
		for _, s := range cfg.Sites {
			p.Sites = append(p.Sites, report.SiteOf(s))
		}
	case *site != "":
		s, ok := cfg.Site(*site)
		if !ok {
			return fmt.Errorf("report: -site %q is not a configured site", *site)
		}
		p.Sites = []report.Site{report.SiteOf(s)}
	default:
		return errors.New("report: give -site SITE or -province")
	}

	token, err := cfg.InfluxDB.Token.Value()
	if err != nil {
		return fmt.Errorf("influxdb token: %w", err)
	}
	src := kpidb.NewSource(kpidb.Config{URL: cfg.InfluxDB.URL, Token: token, Bucket: cfg.InfluxDB.Bucket, Satisfied: cfg.Satisfied, Loc: loc})
	defer src.Close()
	rctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	start := time.Now()
	r, err := report.Build(rctx, src, p)
	if err != nil {
		return err
	}
	if *xlsxPath != "" {
		if err := writeAtomic(*xlsxPath, r.WriteXLSX); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *xlsxPath)
	}
	if *htmlPath != "" {
		if err := writeAtomic(*htmlPath, r.WriteHTML); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *htmlPath)
	}
	for _, f := range r.Findings {
		fmt.Fprintln(stdout, f.VI)
	}
	log.Info("report written", "sites", len(p.Sites), "from", from.Format(time.DateOnly), "to", to.Format(time.DateOnly),
		"label", label, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// reportPeriod resolves the period flags into [from, to) in loc, with
// kpi's one calendar (kpi.ParseRange): the dashboard's tabs, its range
// picker and its download read the same words as the same days. -from and
// -to are the custom form "FROM..TO".
func reportPeriod(period, fromS, toS string, loc *time.Location, now time.Time) (from, to time.Time, label string, err error) {
	var spec string
	switch {
	case period != "" && (fromS != "" || toS != ""):
		return from, to, "", errors.New("report: give -period or -from/-to, not both")
	case period != "":
		spec = period
	case fromS != "" || toS != "":
		if fromS == "" || toS == "" {
			return from, to, "", errors.New("report: -from and -to go together")
		}
		if strings.Contains(fromS+toS, "..") {
			return from, to, "", errors.New("report: -from and -to take one day each; a range goes in -period FROM..TO")
		}
		spec = fromS + ".." + toS
	default:
		from, to, label = kpi.ReportPeriod(now, loc)
		return from, to, label, nil
	}
	r, err := kpi.ParseRange(spec, now, loc)
	if err != nil {
		return from, to, "", fmt.Errorf("report: %w", err)
	}
	return r.From, r.To, r.Label, nil
}

// writeAtomic writes through a temporary file renamed into place, so a
// failed report never leaves half a file where the last good one was.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
