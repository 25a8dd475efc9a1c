package dossiercsv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

var ict = time.FixedZone("ICT", 7*3600)

// now is the clock of every test: after the fixtures' dates, long before 2099.
var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func parseFile(t *testing.T, name string, o Options) *Result {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if o.Site == "" {
		o.Site = "anlao"
	}
	o.Loc, o.Now = ict, now
	res, err := Parse(f, o)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return res
}

func local(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, ict)
}

// TestVietnameseSemicolonBOM: Vietnamese headers, BOM, semicolons, an
// extra column, a quoted separator, every accepted date format, a blank
// trailing row, computed and given outcomes.
func TestVietnameseSemicolonBOM(t *testing.T) {
	res := parseFile(t, "vi-semicolon-bom.csv", Options{})
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	if res.Separator != ';' {
		t.Errorf("separator %q, want ';'", res.Separator)
	}
	if len(res.Ignored) != 1 || res.Ignored[0] != "STT" {
		t.Errorf("ignored %q, want [STT]", res.Ignored)
	}
	want := []struct {
		line                    int
		code, proc              string
		received, due, resolved time.Time
		outcome                 schema.Outcome
		computed                bool
	}{
		{2, "000.00.12.H10-261120-0001", "1.001234", local(2025, 11, 20, 8, 0, 0), local(2025, 11, 27, 17, 0, 0), local(2025, 11, 25, 10, 0, 0), schema.OutcomeEarly, true},
		{3, "000.00.12.H10-261120-0002", "1.001234", local(2025, 11, 20, 0, 0, 0), local(2025, 11, 27, 0, 0, 0), local(2025, 11, 27, 16, 30, 15), schema.OutcomeOnTime, true},
		{4, "000.00.12.H10-261120-0003", "2.000 ; đất đai", time.Date(2025, 11, 20, 2, 0, 0, 0, time.UTC), local(2025, 11, 27, 0, 0, 0), local(2025, 11, 28, 9, 0, 0), schema.OutcomeLate, true},
		{5, "000.00.12.H10-261120-0004", "1.001234", local(2025, 11, 5, 7, 30, 0), local(2025, 11, 6, 0, 0, 0), local(2025, 11, 7, 0, 0, 0), schema.OutcomeOnTime, false},
	}
	if len(res.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(res.Rows), len(want))
	}
	for i, w := range want {
		r := res.Rows[i]
		d := r.Dossier
		if r.Line != w.line || d.Dossier != w.code || d.Procedure != w.proc || !d.Received.Equal(w.received) ||
			!d.Due.Equal(w.due) || !d.Resolved.Equal(w.resolved) || d.Outcome != w.outcome || r.Computed != w.computed {
			t.Errorf("row %d: got line %d %q %q %v %v %v %s computed=%v; want %+v", i, r.Line, d.Dossier, d.Procedure,
				d.Received, d.Due, d.Resolved, d.Outcome, r.Computed, w)
		}
		if d.Site != "anlao" || d.ID != ID("anlao", w.code) || !d.TS.Equal(Timestamp("anlao", w.code, w.resolved)) {
			t.Errorf("row %d: site %q id %q ts %v", i, d.Site, d.ID, d.TS)
		}
		if err := d.Validate(now); err != nil {
			t.Errorf("row %d does not validate: %v", i, err)
		}
	}
}

// TestBadRows: every bad row is reported with its line and reason, and
// only the good rows come back.
func TestBadRows(t *testing.T) {
	res := parseFile(t, "bad-rows.csv", Options{})
	const (
		code = "Mã hồ sơ (Dossier)"
		recv = "Ngày tiếp nhận (Received)"
		due  = "Hạn trả (Due)"
		resv = "Ngày trả (Resolved)"
		outc = "Kết quả xử lý (Outcome)"
	)
	want := []RowError{
		{3, recv, `"31/02/2026" is not a date dd/mm/yyyy [HH:MM[:SS]] or RFC 3339`},
		{4, code, "required (missing_field)"},
		{5, code, `dossier "B-1" already on line 2`},
		{6, resv, "is before received (invalid_value)"},
		{7, outc, `"maybe" is not early/on_time/late (trước hạn/đúng hạn/quá hạn)`},
		{8, "", "has 3 fields, the header has 6"},
		{9, resv, "05/06/2099 00:00:00 is before 2020 or more than 24 h after now (ts_out_of_range)"},
		{10, due, "required"},
		{10, resv, `"yesterday" is not a date dd/mm/yyyy [HH:MM[:SS]] or RFC 3339`},
	}
	if len(res.Errors) != len(want) {
		t.Fatalf("errors:\n%s\nwant %d", joinErrs(res.Errors), len(want))
	}
	for i := range want {
		if res.Errors[i] != want[i] {
			t.Errorf("error %d:\n got %s\nwant %s", i, res.Errors[i], want[i])
		}
	}
	var lines []int
	for _, r := range res.Rows {
		lines = append(lines, r.Line)
	}
	if len(lines) != 2 || lines[0] != 2 || lines[1] != 11 {
		t.Errorf("valid rows on lines %v, want [2 11]", lines)
	}
	// An outcome given is kept even when the dates disagree: the
	// one-stop-shop software knows about extensions.
	if o := res.Rows[1].Dossier.Outcome; o != schema.OutcomeLate {
		t.Errorf("line 11 outcome %s, want late as given", o)
	}
}

func joinErrs(errs []RowError) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.String() + "\n")
	}
	return b.String()
}

func TestFileErrors(t *testing.T) {
	head := "dossier,procedure,received,due,resolved\n"
	row := "X,p,01/06/2026,10/06/2026,05/06/2026\n"
	cases := []struct {
		name, data string
		o          Options
		want       error
		msg        string
	}{
		{"empty", "", Options{}, ErrNoHeader, "dossiercsv: no header row"},
		{"bom only", "\xef\xbb\xbf", Options{}, ErrNoHeader, "dossiercsv: no header row"},
		{"missing columns", "dossier,procedure\n", Options{}, ErrBadHeader,
			`dossiercsv: header row: line 1: missing column received ("ngày tiếp nhận"), due ("hạn trả"), resolved ("ngày trả")`},
		{"twice", "Mã hồ sơ,dossier,procedure,received,due,resolved\n", Options{}, ErrBadHeader,
			`dossiercsv: header row: columns 1 ("Mã hồ sơ") and 2 ("dossier") both name dossier`},
		{"quote", head + "X,\"p,01/06/2026,10/06/2026,05/06/2026\n", Options{}, ErrCSVSyntax,
			`dossiercsv: CSV syntax: line 2: extraneous or missing " in quoted-field`},
		{"bytes", head + row, Options{MaxBytes: int64(len(head))}, ErrTooLarge, "dossiercsv: file too large: more than 40 bytes"},
		{"rows", head + row + row, Options{MaxRows: 1}, ErrTooMany, "dossiercsv: too many rows: more than 1"},
		{"site", head, Options{Site: "An Lão"}, ErrBadOptions, `dossiercsv: options: site "An Lão" is not a valid ID`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			if o.Site == "" {
				o.Site = "anlao"
			}
			o.Now = now
			res, err := Parse(strings.NewReader(c.data), o)
			if !errors.Is(err, c.want) || err.Error() != c.msg {
				t.Fatalf("err %v, want %q", err, c.msg)
			}
			if res != nil {
				t.Fatalf("result %+v with an error", res)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	due := local(2026, 11, 27, 10, 0, 0)
	cases := []struct {
		resolved time.Time
		want     schema.Outcome
	}{
		{local(2026, 11, 26, 23, 59, 59), schema.OutcomeEarly},
		{local(2026, 11, 27, 0, 0, 0), schema.OutcomeOnTime},
		{local(2026, 11, 27, 16, 59, 0), schema.OutcomeOnTime}, // after the hour, same day
		{local(2026, 11, 28, 0, 0, 0), schema.OutcomeLate},
		// 17:30 UTC on the 26th is 00:30 on the 27th in Vietnam: the due day.
		{time.Date(2026, 11, 26, 17, 30, 0, 0, time.UTC), schema.OutcomeOnTime},
		{local(2025, 12, 31, 9, 0, 0), schema.OutcomeEarly},
	}
	for _, c := range cases {
		if got := Classify(due, c.resolved, ict); got != c.want {
			t.Errorf("Classify(due %v, resolved %v) = %s, want %s", due, c.resolved, got, c.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"25/11/2026", local(2026, 11, 25, 0, 0, 0), true},
		{"5/1/2026", local(2026, 1, 5, 0, 0, 0), true},
		{"25/11/2026 08:05", local(2026, 11, 25, 8, 5, 0), true},
		{" 25/11/2026   8:05:09 ", local(2026, 11, 25, 8, 5, 9), true},
		{"25-11-2026", local(2026, 11, 25, 0, 0, 0), true},
		{"25-11-2026 17:00:00", local(2026, 11, 25, 17, 0, 0), true},
		{"2026-11-25T01:15:02.5Z", time.Date(2026, 11, 25, 1, 15, 2, 5e8, time.UTC), true},
		{"2026-11-25T08:15:02+07:00", local(2026, 11, 25, 8, 15, 2), true},
		{"11/25/2026", time.Time{}, false}, // month 25: American order is refused, not guessed
		{"29/02/2026", time.Time{}, false},
		{"2026-11-25", time.Time{}, false},
		{"25/11/26", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, c := range cases {
		got, err := ParseTime(c.in, ict)
		if (err == nil) != c.ok || (c.ok && !got.Equal(c.want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

// TestIdentity: the point's identity depends on the site and the code
// only, stays within the resolved second, and differs between codes.
func TestIdentity(t *testing.T) {
	r := time.Date(2026, 11, 25, 3, 0, 0, 700, time.UTC)
	a := Timestamp("anlao", "X-1", r)
	if !a.Equal(Timestamp("anlao", "X-1", r.Add(300*time.Millisecond))) {
		t.Error("timestamp changed within the same resolved second")
	}
	if a.Truncate(time.Second) != r.Truncate(time.Second) {
		t.Errorf("timestamp %v left the resolved second", a)
	}
	if a.Equal(Timestamp("anlao", "X-2", r)) || a.Equal(Timestamp("hoaiduc", "X-1", r)) {
		t.Error("different dossiers share a timestamp")
	}
	id := ID("anlao", "X-1")
	if id != ID("anlao", "X-1") || id == ID("anlao", "X-2") || len(ID("a", "b")) != 20 {
		t.Errorf("ID %q", id)
	}
}

func TestHeaders(t *testing.T) {
	cases := map[string]Column{
		"Mã hồ sơ": ColDossier, "  MÃ   HỒ SƠ ": ColDossier, "Dossier": ColDossier,
		"Số hồ sơ (code)": ColDossier, "Ngày trả kết quả": ColResolved, "Hạn trả (Due)": ColDue,
		"(received)": ColReceived, "Tình trạng": ColOutcome,
	}
	for h, want := range cases {
		if got, ok := matchHeader(h); !ok || got != want {
			t.Errorf("matchHeader(%q) = %q %v, want %q", h, got, ok, want)
		}
	}
	for _, h := range []string{"STT", "Ghi chú", "", "date"} {
		if got, ok := matchHeader(h); ok {
			t.Errorf("matchHeader(%q) = %q, want no column", h, got)
		}
	}
}

func readTestdata(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}

// The optional official: kept on the dossier when a roster ID, the row
// refused when not.
func TestOfficialColumn(t *testing.T) {
	file := "Mã hồ sơ;Thủ tục;Ngày tiếp nhận;Hạn trả;Ngày trả;Cán bộ xử lý\n" +
		"H1;1.001;20/11/2026;27/11/2026;25/11/2026;lan\n" +
		"H2;1.001;20/11/2026;27/11/2026;25/11/2026;\n" +
		"H3;1.001;20/11/2026;27/11/2026;25/11/2026;Nguyễn Lan\n"
	res, err := Parse(strings.NewReader(file), Options{Site: "anlao", Loc: ict, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0].Dossier.Official != "lan" || res.Rows[1].Dossier.Official != "" {
		t.Fatalf("rows %+v", res.Rows)
	}
	if len(res.Errors) != 1 || res.Errors[0].Line != 4 {
		t.Fatalf("errors %+v", res.Errors)
	}
}
