// Package dossiercsv reads the dossier list exported by a center's
// one-stop-shop software (a CSV file) into dossier events of the v1
// contract, validating every row and reporting every bad one with its line
// number, so that an import either writes a whole, clean file or nothing.
//
// The format is documented in docs/dossier-import.md; the rules that matter
// to a caller are:
//
//   - a header row is required; columns are found by name, in Vietnamese or
//     English, in any order; unknown columns are ignored (exports carry many);
//   - UTF-8 with or without a byte-order mark; comma or semicolon separator,
//     whichever the header row uses more of;
//   - times are dd/mm/yyyy, dd/mm/yyyy HH:MM, dd/mm/yyyy HH:MM:SS (or the same
//     with '-' between day, month and year) in the site's time zone, or
//     RFC 3339 with its own offset; a date alone means 00:00 that day;
//   - an empty or absent outcome is computed by calendar day in the site's
//     time zone (see Classify);
//   - each dossier becomes a point whose identity is fixed by the site and
//     the dossier code (see Timestamp), so a re-import overwrites it.
package dossiercsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// Column is one of the columns the importer understands.
type Column string

// The columns. Outcome and official are optional; the others are required.
const (
	ColDossier   Column = "dossier"
	ColProcedure Column = "procedure"
	ColReceived  Column = "received"
	ColDue       Column = "due"
	ColResolved  Column = "resolved"
	ColOutcome   Column = "outcome"
	// ColOfficial is who handled the dossier: their roster ID (issue 17).
	ColOfficial Column = "official"
)

// Columns lists the columns in documentation order.
func Columns() []Column {
	return []Column{ColDossier, ColProcedure, ColReceived, ColDue, ColResolved, ColOutcome, ColOfficial}
}

// Headers are the header names accepted for each column, compared after
// lower-casing and collapsing spaces. The first is the canonical Vietnamese
// name; the unaccented forms are there because some exports strip accents.
// A bilingual header such as "Mã hồ sơ (Dossier)" matches by either part.
var headers = map[Column][]string{
	ColDossier:   {"mã hồ sơ", "số hồ sơ", "ma ho so", "so ho so", "dossier", "dossier code", "dossier_code", "code"},
	ColProcedure: {"thủ tục", "mã thủ tục", "tên thủ tục", "thu tuc", "ma thu tuc", "ten thu tuc", "procedure", "procedure code"},
	ColReceived:  {"ngày tiếp nhận", "ngày nhận", "ngay tiep nhan", "ngay nhan", "received", "received at"},
	ColDue:       {"hạn trả", "ngày hẹn trả", "hạn giải quyết", "han tra", "ngay hen tra", "han giai quyet", "due", "due at"},
	ColResolved:  {"ngày trả", "ngày trả kết quả", "ngày có kết quả", "ngày hoàn thành", "ngay tra", "ngay tra ket qua", "ngay co ket qua", "ngay hoan thanh", "resolved", "resolved at"},
	ColOutcome:   {"kết quả xử lý", "tình trạng", "trạng thái", "ket qua xu ly", "tinh trang", "trang thai", "outcome"},
	ColOfficial:  {"cán bộ xử lý", "mã cán bộ", "can bo xu ly", "ma can bo", "official"},
}

// HeaderNames returns the accepted header names of c, for help texts.
func HeaderNames(c Column) []string { return append([]string(nil), headers[c]...) }

// outcomes are the accepted outcome cell values, compared lower-cased.
var outcomes = map[string]schema.Outcome{
	"early": schema.OutcomeEarly, "trước hạn": schema.OutcomeEarly, "truoc han": schema.OutcomeEarly, "sớm hạn": schema.OutcomeEarly,
	"on_time": schema.OutcomeOnTime, "on time": schema.OutcomeOnTime, "đúng hạn": schema.OutcomeOnTime, "dung han": schema.OutcomeOnTime,
	"late": schema.OutcomeLate, "quá hạn": schema.OutcomeLate, "qua han": schema.OutcomeLate, "trễ hạn": schema.OutcomeLate, "tre han": schema.OutcomeLate,
}

// Default limits. A commune center resolves some thousands of dossiers a
// year, a province's export some hundred thousand; the bounds keep a wrong
// file (a database dump, a video) from being read into memory whole.
const (
	DefaultMaxBytes = 64 << 20
	DefaultMaxRows  = 200_000
)

// Options say whose dossiers a file holds and how far to trust it.
type Options struct {
	// Site is the site every dossier belongs to.
	Site string
	// Loc is the site's time zone, for times without an offset and for
	// computing outcomes; Asia/Ho_Chi_Minh (UTC+7) when nil.
	Loc *time.Location
	// Now is the clock for schema validation: a resolved time more than
	// 24 h ahead of it is refused.
	Now time.Time
	// MaxBytes and MaxRows bound the file; DefaultMaxBytes and
	// DefaultMaxRows when 0.
	MaxBytes int64
	MaxRows  int
}

// Row is one valid dossier with the line it came from.
type Row struct {
	Line    int
	Dossier *schema.Dossier
	// Computed is true when the outcome was computed, not read.
	Computed bool
}

// RowError says what is wrong with one row.
type RowError struct {
	Line int
	// Column is the column at fault as named in the file's header, or ""
	// when the row as a whole is wrong.
	Column string
	Reason string
}

func (e RowError) String() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Column, e.Reason)
}

// Result is a parsed file: the valid rows and the errors of the others,
// both in file order.
type Result struct {
	Rows   []Row
	Errors []RowError
	// Separator is the field separator found in the header row.
	Separator rune
	// Ignored lists header names that matched no column.
	Ignored []string
}

// File-level errors: the file cannot be read as a dossier list at all.
var (
	ErrTooLarge   = errors.New("dossiercsv: file too large")
	ErrTooMany    = errors.New("dossiercsv: too many rows")
	ErrNoHeader   = errors.New("dossiercsv: no header row")
	ErrBadHeader  = errors.New("dossiercsv: header row")
	ErrCSVSyntax  = errors.New("dossiercsv: CSV syntax")
	ErrBadOptions = errors.New("dossiercsv: options")
)

// Parse reads a whole file. It returns an error only when the file cannot
// be read as a dossier list (too large, no usable header, broken quoting);
// bad rows are in Result.Errors and never in Result.Rows.
func Parse(r io.Reader, o Options) (*Result, error) {
	if !schema.ValidID(o.Site) {
		return nil, fmt.Errorf("%w: site %q is not a valid ID", ErrBadOptions, o.Site)
	}
	if o.Loc == nil {
		o.Loc = time.FixedZone("ICT", 7*3600)
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	data, err := io.ReadAll(io.LimitReader(r, o.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dossiercsv: read: %w", err)
	}
	if int64(len(data)) > o.MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, o.MaxBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))

	res := &Result{Separator: separator(data)}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = res.Separator
	cr.FieldsPerRecord = -1 // a short row is a row error, not the end of the file
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, ErrNoHeader
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols, names, ignored, err := mapHeader(head)
	if err != nil {
		return nil, err
	}
	res.Ignored = ignored

	p := parser{o: o, cols: cols, names: names, width: len(head),
		codes: map[string]int{}, stamps: map[int64]int{}}
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if n >= o.MaxRows {
			return nil, fmt.Errorf("%w: more than %d", ErrTooMany, o.MaxRows)
		}
		line, _ := cr.FieldPos(0)
		p.row(res, line, rec)
	}
	return res, nil
}

// separator picks ';' when the first line has more semicolons than commas
// outside quotes (the usual export of a spreadsheet set to Vietnamese,
// where the comma is the decimal separator), else ','.
func separator(data []byte) rune {
	commas, semis, quoted := 0, 0, false
	for _, c := range data {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n':
			if semis > commas {
				return ';'
			}
			return ','
		case c == ',':
			commas++
		case c == ';':
			semis++
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: line %d: %w", ErrCSVSyntax, pe.Line, pe.Err)
	}
	return fmt.Errorf("%w: %w", ErrCSVSyntax, err)
}

// normalize lower-cases a header or value and collapses its spaces.
func normalize(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// matchHeader returns the column a header names, trying the whole header,
// then the part before a parenthesis, then the part inside it.
func matchHeader(h string) (Column, bool) {
	cands := []string{normalize(h)}
	if before, after, ok := strings.Cut(h, "("); ok {
		cands = append(cands, normalize(before), normalize(strings.TrimSuffix(strings.TrimSpace(after), ")")))
	}
	for _, c := range cands {
		for _, col := range Columns() {
			for _, name := range headers[col] {
				if c == name {
					return col, true
				}
			}
		}
	}
	return "", false
}

// mapHeader finds each column's index. A column named twice, or a required
// column missing, is a file error: no row could be read reliably.
func mapHeader(head []string) (map[Column]int, map[Column]string, []string, error) {
	cols := map[Column]int{}
	names := map[Column]string{}
	var ignored []string
	for i, h := range head {
		col, ok := matchHeader(h)
		if !ok {
			if strings.TrimSpace(h) != "" {
				ignored = append(ignored, h)
			}
			continue
		}
		if j, dup := cols[col]; dup {
			return nil, nil, nil, fmt.Errorf("%w: columns %d (%q) and %d (%q) both name %s", ErrBadHeader, j+1, head[j], i+1, h, col)
		}
		cols[col], names[col] = i, strings.TrimSpace(h)
	}
	var missing []string
	for _, col := range Columns() {
		if _, ok := cols[col]; !ok && col != ColOutcome && col != ColOfficial {
			missing = append(missing, fmt.Sprintf("%s (%q)", col, headers[col][0]))
		}
	}
	if len(missing) > 0 {
		return nil, nil, nil, fmt.Errorf("%w: line 1: missing column %s", ErrBadHeader, strings.Join(missing, ", "))
	}
	return cols, names, ignored, nil
}

type parser struct {
	o      Options
	cols   map[Column]int
	names  map[Column]string
	width  int
	codes  map[string]int // dossier code -> line, for duplicates
	stamps map[int64]int  // timestamp -> line, for identity collisions
}

func (p *parser) row(res *Result, line int, rec []string) {
	blank := true
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			blank = false
			break
		}
	}
	if blank {
		return // spreadsheets export trailing ";;;;" rows
	}
	if len(rec) != p.width {
		res.Errors = append(res.Errors, RowError{Line: line, Reason: fmt.Sprintf("has %d fields, the header has %d", len(rec), p.width)})
		return
	}
	var errs []RowError
	fail := func(c Column, msg string) { errs = append(errs, RowError{Line: line, Column: p.names[c], Reason: msg}) }
	cell := func(c Column) string {
		if i, ok := p.cols[c]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	when := func(c Column) time.Time {
		t, err := ParseTime(cell(c), p.o.Loc)
		if err != nil {
			fail(c, err.Error())
		}
		return t
	}
	d := &schema.Dossier{
		Dossier:   cell(ColDossier),
		Procedure: cell(ColProcedure),
		Received:  when(ColReceived),
		Due:       when(ColDue),
		Resolved:  when(ColResolved),
		Official:  cell(ColOfficial),
	}
	if d.Official != "" && !schema.ValidID(d.Official) {
		fail(ColOfficial, fmt.Sprintf("%q is not a roster ID (a-z, 0-9, - and _)", textclip.Clip(d.Official, maxQuoted)))
	}
	computed := false
	if v := cell(ColOutcome); v != "" {
		o, ok := outcomes[normalize(v)]
		if !ok {
			fail(ColOutcome, fmt.Sprintf("%q is not early/on_time/late (trước hạn/đúng hạn/quá hạn)", textclip.Clip(v, maxQuoted)))
		}
		d.Outcome = o
	} else if len(errs) == 0 {
		d.Outcome, computed = Classify(d.Due, d.Resolved, p.o.Loc), true
	}
	if len(errs) > 0 {
		res.Errors = append(res.Errors, errs...)
		return
	}
	d.Site = p.o.Site
	d.TS = Timestamp(p.o.Site, d.Dossier, d.Resolved)
	d.ID = ID(p.o.Site, d.Dossier)
	if err := d.Validate(p.o.Now); err != nil {
		res.Errors = append(res.Errors, p.schemaError(line, d, err))
		return
	}
	if first, dup := p.codes[d.Dossier]; dup {
		res.Errors = append(res.Errors, RowError{Line: line, Column: p.names[ColDossier],
			Reason: fmt.Sprintf("dossier %q already on line %d", textclip.Clip(d.Dossier, maxQuoted), first)})
		return
	}
	if first, dup := p.stamps[d.TS.UnixNano()]; dup {
		// Two codes whose hashes collide within the same second: the
		// second would overwrite the first in InfluxDB.
		res.Errors = append(res.Errors, RowError{Line: line, Column: p.names[ColDossier],
			Reason: fmt.Sprintf("its point would have the same timestamp as line %d's (hash collision); change either resolved time by a second", first)})
		return
	}
	p.codes[d.Dossier], p.stamps[d.TS.UnixNano()] = line, line
	res.Rows = append(res.Rows, Row{Line: line, Dossier: d, Computed: computed})
}

// schemaError names the file's column for a schema validation error.
func (p *parser) schemaError(line int, d *schema.Dossier, err error) RowError {
	var se *schema.Error
	if !errors.As(err, &se) {
		return RowError{Line: line, Reason: err.Error()}
	}
	col, msg := Column(se.Field), se.Msg+" ("+string(se.Reason)+")"
	if se.Field == "ts" { // ts is derived from resolved
		col = ColResolved
		msg = fmt.Sprintf("%s is before 2020 or more than 24 h after now (%s)",
			d.Resolved.In(p.o.Loc).Format("02/01/2006 15:04:05"), se.Reason)
	}
	if name, ok := p.names[col]; ok {
		return RowError{Line: line, Column: name, Reason: msg}
	}
	return RowError{Line: line, Reason: se.Field + ": " + msg}
}

// Classify computes an outcome from the due and resolved times by calendar
// day in loc: early when resolved on a day before the due day, on_time when
// resolved on the due day (at any hour), late when resolved on a later day.
// Days, not hours, because exports often carry dates only and the due time
// of day is a counter's opening hour, not a deadline in minutes.
func Classify(due, resolved time.Time, loc *time.Location) schema.Outcome {
	dy, dm, dd := due.In(loc).Date()
	ry, rm, rd := resolved.In(loc).Date()
	dueDay := time.Date(dy, dm, dd, 0, 0, 0, 0, time.UTC)
	resDay := time.Date(ry, rm, rd, 0, 0, 0, 0, time.UTC)
	switch {
	case resDay.Before(dueDay):
		return schema.OutcomeEarly
	case resDay.Equal(dueDay):
		return schema.OutcomeOnTime
	}
	return schema.OutcomeLate
}

// layouts are the local formats accepted, tried in order; Go's "2" and "1"
// accept one or two digits, so 5/6/2026 and 05/06/2026 both parse.
var layouts = []string{
	"2/1/2006", "2/1/2006 15:04", "2/1/2006 15:04:05",
	"2-1-2006", "2-1-2006 15:04", "2-1-2006 15:04:05",
}

// ParseTime reads one time cell: a local format in loc, or RFC 3339.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return time.Time{}, errors.New("required")
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date dd/mm/yyyy [HH:MM[:SS]] or RFC 3339", textclip.Clip(s, maxQuoted))
}

// hash is FNV-1a 64 of site and code, separated by a byte neither can hold
// in a way that makes two pairs collide by concatenation.
func hash(site, code string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(site))
	h.Write([]byte{0})
	h.Write([]byte(code))
	return h.Sum64()
}

// Timestamp is the point's time: the resolved time cut to the whole second
// plus hash(site, code) mod 10^9 nanoseconds. The point's identity in
// InfluxDB (measurement, tags site and outcome, timestamp) is thus the
// same each time the same dossier is imported, so a re-import overwrites
// instead of adding; it stays within the second the dossier was resolved,
// so periods and days count it where it belongs. Two dossiers collide only
// when resolved in the same second with hashes equal modulo 10^9; Parse
// refuses such a pair within one file.
func Timestamp(site, code string, resolved time.Time) time.Time {
	sec := resolved.UTC().Truncate(time.Second)
	return sec.Add(time.Duration(hash(site, code) % uint64(time.Second)))
}

// ID is the event ID of an imported dossier: "csv-" and 16 hex digits of
// hash(site, code), the same on every import.
func ID(site, code string) string {
	return fmt.Sprintf("csv-%016x", hash(site, code))
}

// maxQuoted is how many bytes of a cell a message quotes.
const maxQuoted = 40
