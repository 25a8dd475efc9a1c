package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/ctl/dossiercsv"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/store"
)

const importHelp = `usage: pscm-ctl import-dossiers -config ctl.yml -site SITE [flags] FILE.csv

Imports the resolved dossiers of one site from a CSV file (nhập danh sách hồ sơ
đã trả kết quả). The header row names the columns, in Vietnamese or English:

  Mã hồ sơ / dossier        required, unique in the file
  Thủ tục / procedure       required (the procedure code; at most 128 bytes)
  Ngày tiếp nhận / received required
  Hạn trả / due             required
  Ngày trả / resolved       required, not before received
  Kết quả xử lý / outcome   optional: early|on_time|late (Trước hạn|Đúng hạn|Quá hạn)

Times: dd/mm/yyyy, dd/mm/yyyy HH:MM, dd/mm/yyyy HH:MM:SS (or with '-'), in the
configured time zone, or RFC 3339. An empty outcome is computed by calendar
day: early if resolved before the due day, on_time on the due day, late after.

Every row is checked first. A file with any bad row writes nothing, unless
-skip-invalid is given: then the good rows are written, the bad ones listed,
and the exit status is 2. Importing the same file again changes nothing: each
dossier's point is identified by the site and its code. See docs/dossier-import.md.

Exit status: 0 all rows imported; 1 nothing imported (bad rows, bad file or an
error); 2 the valid rows imported and the invalid ones skipped (-skip-invalid).

Flags:
`

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pscm-ctl import-dossiers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importHelp); fs.PrintDefaults() }
	cf := commonFlags(fs)
	site := fs.String("site", "", "the site the dossiers belong to (a configured site ID)")
	skip := fs.Bool("skip-invalid", false, "write the valid rows of a file that has invalid ones (exit status 2)")
	dry := fs.Bool("dry-run", false, "check the file and report what would be imported; write nothing")
	maxBytes := fs.Int64("max-bytes", dossiercsv.DefaultMaxBytes, "refuse a larger file")
	maxRows := fs.Int("max-rows", dossiercsv.DefaultMaxRows, "refuse a file with more data rows")
	batch := fs.Int("batch", 5000, "points per InfluxDB write")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up writing after this long (InfluxDB down)")
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
	if fs.NArg() != 1 {
		return fmt.Errorf("import-dossiers: want exactly one CSV file, got %d arguments", fs.NArg())
	}
	if _, ok := cfg.Site(*site); !ok {
		return fmt.Errorf("import-dossiers: -site %q is not a configured site", *site)
	}
	if *batch < 1 || *batch > 50_000 {
		return errors.New("import-dossiers: -batch must be within 1..50000")
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import-dossiers: %w", err)
	}
	defer f.Close()
	loc, err := cfg.Location()
	if err != nil {
		return err
	}
	res, err := dossiercsv.Parse(f, dossiercsv.Options{Site: *site, Loc: loc, Now: time.Now(), MaxBytes: *maxBytes, MaxRows: *maxRows})
	if err != nil {
		return fmt.Errorf("import-dossiers: %s: %w", path, err)
	}
	for _, e := range res.Errors {
		if e.Column != "" {
			fmt.Fprintf(stderr, "%s:%d: %s: %s\n", path, e.Line, e.Column, e.Reason)
		} else {
			fmt.Fprintf(stderr, "%s:%d: %s\n", path, e.Line, e.Reason)
		}
	}
	bad := badLines(res.Errors)
	if bad > 0 && !*skip {
		return fmt.Errorf("import-dossiers: %s: %d invalid rows; nothing written (fix them, or write the %d valid rows with -skip-invalid)",
			path, bad, len(res.Rows))
	}
	verb := "imported"
	if *dry {
		verb = "would import"
	} else {
		wctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		if err := writeRows(wctx, cfg.InfluxDB, log, res.Rows, *batch); err != nil {
			return fmt.Errorf("import-dossiers: %s: %w", path, err)
		}
	}
	fmt.Fprintf(stdout, "%s: %s %d dossiers from %s (%s)\n", *site, verb, len(res.Rows), path, summary(res.Rows))
	log.Info("dossiers "+verb, "site", *site, "file", path, "rows", len(res.Rows), "invalid", bad, "ignored_columns", strings.Join(res.Ignored, ","))
	if bad > 0 {
		return fmt.Errorf("%w: %d invalid rows of %s not imported", errPartial, bad, path)
	}
	return nil
}

// badLines counts the distinct lines with errors.
func badLines(errs []dossiercsv.RowError) int {
	lines := map[int]bool{}
	for _, e := range errs {
		lines[e.Line] = true
	}
	return len(lines)
}

func summary(rows []dossiercsv.Row) string {
	n := map[schema.Outcome]int{}
	computed := 0
	for _, r := range rows {
		n[r.Dossier.Outcome]++
		if r.Computed {
			computed++
		}
	}
	return fmt.Sprintf("early %d, on_time %d, late %d; %d outcomes computed from due and resolved",
		n[schema.OutcomeEarly], n[schema.OutcomeOnTime], n[schema.OutcomeLate], computed)
}

// writeRows writes the dossiers in batches through the collector's writer,
// which retries until written, refused for good, or ctx ends.
func writeRows(ctx context.Context, cfg store.Config, log *slog.Logger, rows []dossiercsv.Row, batch int) error {
	w, err := store.New(cfg, log.With("component", "store"), store.NewMetrics(prometheus.NewRegistry(), "ctl"))
	if err != nil {
		return err
	}
	defer w.Close()
	var buf []byte
	for start := 0; start < len(rows); start += batch {
		end := min(start+batch, len(rows))
		buf = buf[:0]
		for _, r := range rows[start:end] {
			buf = r.Dossier.AppendLine(buf)
		}
		if err := w.Write(ctx, buf, end-start); err != nil {
			return fmt.Errorf("write rows %d..%d of %d (the earlier ones are written; importing again is safe): %w", start+1, end, len(rows), err)
		}
	}
	return nil
}
