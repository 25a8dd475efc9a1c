package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/report"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// env is a real InfluxDB and a pscm-ctl configuration pointing at it.
type env struct {
	in     *testenv.Influx
	config string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	in := testenv.StartInflux(t, testenv.WithoutFlux())
	path := filepath.Join(t.TempDir(), "ctl.yml")
	cfg := fmt.Sprintf(`influxdb: {url: %q, bucket: %q, timeout: 10s}
province: "Tỉnh Gia Lai"
sites:
  - id: anlao
    name: "Trung tâm Phục vụ hành chính công xã An Lão"
  - id: hoaiduc
    name: "Trung tâm Phục vụ hành chính công xã Hoài Đức"
log: {level: warn}
`, in.URL(), in.Bucket())
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &env{in: in, config: path}
}

// ctl runs pscm-ctl in-process and returns its stdout, stderr and error.
func (e *env) ctl(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{args[0], "-config", e.config}, args[1:]...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, args, &out, &errb)
	return out.String(), errb.String(), err
}

func fixture(name string) string { return filepath.Join("dossiercsv", "testdata", name) }

// byOutcome counts the site's dossier points per outcome with InfluxQL.
func (e *env) byOutcome(t *testing.T, site string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, s := range e.in.Query(t, `SELECT count("id") FROM "dossier" WHERE "site" = '`+site+`' GROUP BY "outcome"`) {
		n, _ := s.Values[0][1].(json.Number).Int64()
		out[s.Tags["outcome"]] = n
	}
	return out
}

// points returns every dossier point (time, tags, fields), to compare
// before and after a re-import.
func (e *env) points(t *testing.T) []testenv.Series {
	t.Helper()
	return e.in.Query(t, `SELECT * FROM "dossier" GROUP BY *`)
}

// TestImportExactlyAndIdempotent: a valid file imports exactly (count and
// per-outcome counts, one computed outcome), the dashboard's figures see
// it, and importing it again changes no point.
func TestImportExactlyAndIdempotent(t *testing.T) {
	e := newEnv(t)
	out, stderr, err := e.ctl(t, "import-dossiers", "-site", "anlao", fixture("en-comma.csv"))
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	want := "anlao: imported 4 dossiers from " + fixture("en-comma.csv") + " (early 2, on_time 1, late 1; 1 outcomes computed from due and resolved)\n"
	if out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if got := e.byOutcome(t, "anlao"); !reflect.DeepEqual(got, map[string]int64{"early": 2, "on_time": 1, "late": 1}) {
		t.Errorf("points by outcome %v", got)
	}
	before := e.points(t)

	_, stderr, err = e.ctl(t, "import-dossiers", "-site", "anlao", fixture("en-comma.csv"))
	if err != nil {
		t.Fatalf("re-import: %v\n%s", err, stderr)
	}
	if after := e.points(t); !reflect.DeepEqual(before, after) {
		t.Errorf("re-import changed the points:\nbefore %v\nafter  %v", before, after)
	}
	if n := e.in.Count(t, "dossier", "id"); n != 4 {
		t.Errorf("%d points after re-import, want 4", n)
	}

	// The dashboard's figures count them, in the month they were resolved.
	ict := timezone.Vietnam()
	src := kpidb.NewSource(kpidb.Config{URL: e.in.URL(), Bucket: e.in.Bucket(), Loc: ict})
	defer src.Close()
	st, _, err := src.Load(context.Background(), "anlao", time.Date(2026, 6, 1, 0, 0, 0, 0, ict), time.Date(2026, 7, 1, 0, 0, 0, 0, ict))
	if err != nil {
		t.Fatal(err)
	}
	if st.DossiersTotal != 4 || st.OnTime != 3 || st.OnTimePct != 75 {
		t.Errorf("kpi sees %d dossiers, %d on time (%v %%)", st.DossiersTotal, st.OnTime, st.OnTimePct)
	}
}

// badRowsReport is what pscm-ctl prints for bad-rows.csv: file, line,
// column as named in the header, reason.
func badRowsReport() string {
	f := fixture("bad-rows.csv")
	return strings.Join([]string{
		f + `:3: Ngày tiếp nhận (Received): "31/02/2026" is not a date dd/mm/yyyy [HH:MM[:SS]] or RFC 3339`,
		f + `:4: Mã hồ sơ (Dossier): required (missing_field)`,
		f + `:5: Mã hồ sơ (Dossier): dossier "B-1" already on line 2`,
		f + `:6: Ngày trả (Resolved): is before received (invalid_value)`,
		f + `:7: Kết quả xử lý (Outcome): "maybe" is not early/on_time/late (trước hạn/đúng hạn/quá hạn)`,
		f + `:8: has 3 fields, the header has 6`,
		f + `:9: Ngày trả (Resolved): 05/06/2099 00:00:00 is before 2020 or more than 24 h after now (ts_out_of_range)`,
		f + `:10: Hạn trả (Due): required`,
		f + `:10: Ngày trả (Resolved): "yesterday" is not a date dd/mm/yyyy [HH:MM[:SS]] or RFC 3339`,
	}, "\n") + "\n"
}

// TestImportRefusesBadFile: a file with bad rows is refused with every
// line number and reason, and nothing at all is written.
func TestImportRefusesBadFile(t *testing.T) {
	e := newEnv(t)
	out, stderr, err := e.ctl(t, "import-dossiers", "-site", "anlao", fixture("bad-rows.csv"))
	if err == nil || errors.Is(err, errPartial) {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if want := "import-dossiers: " + fixture("bad-rows.csv") + ": 8 invalid rows; nothing written (fix them, or write the 2 valid rows with -skip-invalid)"; err.Error() != want {
		t.Errorf("err %q\nwant %q", err, want)
	}
	if stderr != badRowsReport() {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, badRowsReport())
	}
	if out != "" {
		t.Errorf("stdout %q", out)
	}
	if n := e.in.Count(t, "dossier", "id"); n != 0 {
		t.Errorf("%d points written from a refused file", n)
	}
}

// TestImportSkipInvalid: -skip-invalid writes exactly the good rows, still
// lists the bad ones, and ends with errPartial (exit status 2).
func TestImportSkipInvalid(t *testing.T) {
	e := newEnv(t)
	out, stderr, err := e.ctl(t, "import-dossiers", "-site", "anlao", "-skip-invalid", fixture("bad-rows.csv"))
	if !errors.Is(err, errPartial) {
		t.Fatalf("err = %v, want errPartial", err)
	}
	if stderr != badRowsReport() {
		t.Errorf("stderr:\n%s", stderr)
	}
	if !strings.HasPrefix(out, "anlao: imported 2 dossiers") {
		t.Errorf("stdout %q", out)
	}
	var codes []string
	for _, s := range e.in.Query(t, `SELECT "dossier" FROM "dossier"`) {
		for _, v := range s.Values {
			codes = append(codes, v[1].(string))
		}
	}
	if len(codes) != 2 || !(codes[0] == "B-1" && codes[1] == "B-10" || codes[0] == "B-10" && codes[1] == "B-1") {
		t.Errorf("written dossiers %v, want B-1 and B-10", codes)
	}
}

// TestImportVietnameseFile: Vietnamese headers, BOM, semicolons, local
// times in Vietnam's zone.
func TestImportVietnameseFile(t *testing.T) {
	e := newEnv(t)
	_, stderr, err := e.ctl(t, "import-dossiers", "-site", "hoaiduc", fixture("vi-semicolon-bom.csv"))
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if got := e.byOutcome(t, "hoaiduc"); !reflect.DeepEqual(got, map[string]int64{"early": 1, "on_time": 2, "late": 1}) {
		t.Errorf("points by outcome %v", got)
	}
	// 25/11/2025 10:00 in Vietnam is 03:00 UTC: the point stays in that second.
	s := e.in.Query(t, `SELECT "resolved" FROM "dossier" WHERE "dossier" = '000.00.12.H10-261120-0001'`)
	if len(s) != 1 || s[0].Values[0][1] != "2025-11-25T03:00:00Z" {
		t.Errorf("resolved stored as %v", s)
	}
	ns, _ := s[0].Values[0][0].(json.Number).Int64()
	if got := time.Unix(0, ns).UTC().Truncate(time.Second); !got.Equal(time.Date(2025, 11, 25, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("point time %v", time.Unix(0, ns).UTC())
	}
}

// TestImportRefusals: mistakes in the command write nothing.
func TestImportRefusals(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"import-dossiers", fixture("en-comma.csv")}, `-site "" is not a configured site`},
		{[]string{"import-dossiers", "-site", "hanoi", fixture("en-comma.csv")}, `-site "hanoi" is not a configured site`},
		{[]string{"import-dossiers", "-site", "anlao"}, "want exactly one CSV file, got 0"},
		{[]string{"import-dossiers", "-site", "anlao", "-max-bytes", "100", fixture("en-comma.csv")}, "file too large: more than 100 bytes"},
		{[]string{"import-dossiers", "-site", "anlao", "-max-rows", "3", fixture("en-comma.csv")}, "too many rows: more than 3"},
		{[]string{"import-dossiers", "-site", "anlao", "missing.csv"}, "no such file"},
	}
	for _, c := range cases {
		_, _, err := e.ctl(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %q", c.args, err, c.want)
		}
	}
	out, _, err := e.ctl(t, "import-dossiers", "-site", "anlao", "-dry-run", fixture("en-comma.csv"))
	if err != nil || !strings.HasPrefix(out, "anlao: would import 4 dossiers") {
		t.Errorf("dry run: %v %q", err, out)
	}
	if n := e.in.Count(t, "dossier", "id"); n != 0 {
		t.Errorf("%d points written by refused or dry runs", n)
	}
}

// TestReportCommand: imported dossiers show in the report files the
// command writes, for a site and for the province.
func TestReportCommand(t *testing.T) {
	e := newEnv(t)
	if _, stderr, err := e.ctl(t, "import-dossiers", "-site", "anlao", fixture("en-comma.csv")); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if _, stderr, err := e.ctl(t, "import-dossiers", "-site", "hoaiduc", fixture("vi-semicolon-bom.csv")); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	dir := t.TempDir()
	xlsx, page := filepath.Join(dir, "r.xlsx"), filepath.Join(dir, "r.html")
	out, stderr, err := e.ctl(t, "report", "-site", "anlao", "-period", "2026h2", "-o", xlsx, "-html", page)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, stderr)
	}
	if !strings.HasPrefix(out, "wrote "+xlsx+"\nwrote "+page+"\n") || !strings.Contains(out, "đúng hạn và trước hạn đạt 75,0 % trên 4 hồ sơ") {
		t.Errorf("stdout %q", out)
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for cell, want := range map[string]string{fmt.Sprint("B", report.RowOutcomes+3): "4", fmt.Sprint("B", report.RowOutcomes+4): "3",
		fmt.Sprint("B", report.RowOnTime): "0.75", "B4": "01/06/2026", "D4": "30/11/2026"} {
		raw, _ := f.GetCellValue(report.SheetSummary, cell, excelize.Options{RawCellValue: true})
		shown, _ := f.GetCellValue(report.SheetSummary, cell)
		if raw != want && shown != want {
			t.Errorf("%s = %q (%q), want %q", cell, raw, shown, want)
		}
	}
	html, err := os.ReadFile(page)
	if err != nil || !bytes.Contains(html, []byte(`data-kpi="on-time">75,0 %`)) {
		t.Errorf("page: %v\n%.300s", err, html)
	}

	// Province from June 2025 to November 2026: 8 dossiers, 6 on time (75 %).
	out, stderr, err = e.ctl(t, "report", "-province", "-from", "01/06/2025", "-to", "2026-11-30", "-html", page)
	if err != nil || !strings.Contains(out, "75,0 % trên 8 hồ sơ (2 trễ hạn): chưa đạt mục tiêu 98,0 %") {
		t.Errorf("province: %v %q\n%s", err, out, stderr)
	}

	// Every form of the dashboard's calendar: the reporting year 2026
	// (01/12/2025 to 30/11/2026) holds the four of June 2026, ISO week 24
	// (08/06 to 14/06/2026) three of them, 2 on time or early.
	for _, c := range []struct {
		period, out, page string
	}{
		{"2026", "75,0 % trên 4 hồ sơ", "Năm báo cáo 2026 (hai kỳ 6 tháng): từ ngày 01/12/2025 đến ngày 30/11/2026"},
		{"2026-W24", "66,7 % trên 3 hồ sơ", "Từ ngày 08/06/2026 đến ngày 14/06/2026"},
		{"06/2026", "75,0 % trên 4 hồ sơ", "Từ ngày 01/06/2026 đến ngày 30/06/2026"},
		{"2026-06-09..2026-06-10", "100,0 % trên 2 hồ sơ", "Từ ngày 09/06/2026 đến ngày 10/06/2026"},
	} {
		out, stderr, err := e.ctl(t, "report", "-site", "anlao", "-period", c.period, "-html", page)
		html, _ := os.ReadFile(page)
		if err != nil || !strings.Contains(out, c.out) || !bytes.Contains(html, []byte(c.page)) {
			t.Errorf("-period %s: %v %q, page has %q: %v\n%s", c.period, err, out, c.page, bytes.Contains(html, []byte(c.page)), stderr)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "-site", "anlao"}, "nothing to write"},
		{[]string{"report", "-o", xlsx}, "give -site SITE or -province"},
		{[]string{"report", "-site", "anlao", "-province", "-o", xlsx}, "not both"},
		{[]string{"report", "-site", "anlao", "-period", "2026H3", "-o", xlsx}, `"2026H3" không phải khoảng thời gian: dùng today, week,`},
		{[]string{"report", "-site", "anlao", "-period", "2026H3", "-o", xlsx}, `/ "2026H3" is not a range: use today, week,`},
		{[]string{"report", "-site", "anlao", "-period", "2027-W53", "-o", xlsx}, "2027 has no week 53"},
		{[]string{"report", "-site", "anlao", "-period", "2021-01-01..2024-06-30", "-o", xlsx}, "longer than 3 years"},
		{[]string{"report", "-site", "anlao", "-period", "2099", "-o", xlsx}, "the range starts on 01/12/2098, after today"},
		{[]string{"report", "-site", "anlao", "-period", "2026H2", "-from", "01/01/2026", "-o", xlsx}, "give -period or -from/-to, not both"},
		{[]string{"report", "-site", "anlao", "-from", "01/01/2026", "-o", xlsx}, "-from and -to go together"},
		{[]string{"report", "-site", "anlao", "-from", "31/12/2025", "-to", "01/01/2025", "-o", xlsx}, "the last day, 01/01/2025, is before the first, 31/12/2025"},
		{[]string{"report", "-site", "anlao", "-from", "2026/01/01", "-to", "01/02/2026", "-o", xlsx}, `"2026/01/01" is not a day: use DD/MM/YYYY or YYYY-MM-DD`},
		{[]string{"report", "-site", "anlao", "-from", "01/01/2026..02/01/2026", "-to", "01/02/2026", "-o", xlsx}, "a range goes in -period FROM..TO"},
	} {
		if _, _, err := e.ctl(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %q", c.args, err, c.want)
		}
	}
}

func TestConfigCheckAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	// The check means "this will run": the example names a token file that
	// exists only on a server, and passes once it exists.
	const tokenPath = "/etc/pscm/secrets/ctl/influxdb.token"
	if err := run(context.Background(), []string{"report", "-config", "../configs/ctl.example.yml", "-config.check"}, &out, &errb); err == nil ||
		!strings.Contains(err.Error(), "influxdb token: read secret file: open "+tokenPath) || out.String() != "" {
		t.Errorf("config.check without the token file: %v %q", err, out.String())
	}
	example, err := os.ReadFile("../configs/ctl.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	token, path := filepath.Join(dir, "ctl-influxdb.token"), filepath.Join(dir, "ctl.yml")
	if err := os.WriteFile(token, []byte("ctl:influx-password-8d1f0c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(example, []byte(tokenPath), []byte(token)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"report", "-config", path, "-config.check"}, &out, &errb); err != nil ||
		out.String() != path+": configuration OK\n" {
		t.Errorf("config.check: %v %q %q", err, out.String(), errb.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errb); err == nil || !strings.Contains(errb.String(), "import-dossiers") {
		t.Errorf("unknown command: %v", err)
	}
	if err := run(context.Background(), nil, &out, &errb); err == nil {
		t.Error("no command accepted")
	}
}
