//go:build linux

package badinput

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/textclip"
)

// csvCase is one file given to pscm-ctl import-dossiers: it must exit 1,
// write nothing, and print every want (line numbers, the column, what is
// wrong) on stderr.
type csvCase struct {
	name string
	file string
	args []string // extra flags
	want []string
}

const csvHeader = "dossier,procedure,received,due,resolved,outcome\n"

// A good row, for files whose bad row is not the first.
const csvGood = "G-1,p1,01/06/2026,10/06/2026,05/06/2026,early\n"

var csvCases = []csvCase{
	{"31 February", csvHeader + csvGood + "B-2,p1,31/02/2026,10/06/2026,05/06/2026,\n", nil, []string{":3: received:", "31/02/2026"}},
	{"not a date", csvHeader + "B-1,p1,yesterday,10/06/2026,05/06/2026,\n", nil, []string{":2: received:"}},
	{"month first", csvHeader + "B-1,p1,06/13/2026,06/20/2026,06/15/2026,\n", nil, []string{":2: received:"}},
	{"resolved in 2099", csvHeader + "B-1,p1,01/06/2026,10/06/2026,05/06/2099,\n", nil, []string{":2:", "resolved"}},
	{"resolved before received", csvHeader + "B-1,p1,08/06/2026,10/06/2026,05/06/2026,\n", nil, []string{":2:", "before received"}},
	{"unknown outcome", csvHeader + "B-1,p1,01/06/2026,10/06/2026,05/06/2026,maybe\n", nil, []string{":2: outcome:"}},
	{"empty code", csvHeader + ",p1,01/06/2026,10/06/2026,05/06/2026,\n", nil, []string{":2: dossier:"}},
	{"duplicate code", csvHeader + csvGood + strings.Replace(csvGood, "early", "", 1), nil, []string{":3:", `"G-1" already on line 2`}},
	{"short row", csvHeader + csvGood + "B-7,p1,01/06/2026\n", nil, []string{":3: has 3 fields, the header has 6"}},
	{"missing column due", "dossier,procedure,received,resolved\nB-1,p1,01/06/2026,05/06/2026\n", nil, []string{"missing column due"}},
	{"column named twice", "dossier,procedure,received,due,resolved,Mã hồ sơ\nB-1,p1,01/06/2026,10/06/2026,05/06/2026,B-1\n", nil, []string{"both name dossier"}},
	{"empty file", "", nil, []string{"no header"}},
	{"only a BOM", "\ufeff", nil, []string{"no header"}},
	{"UTF-16 with BOM", "\xff\xfed\x00o\x00s\x00s\x00i\x00e\x00r\x00\n\x00", nil, []string{"missing column"}},
	{"invalid UTF-8 in a code", csvHeader + "B-\xff\xfe,p1,01/06/2026,10/06/2026,05/06/2026,\n", nil, []string{":2:", "UTF-8"}},
	{"binary garbage", "\x00\x01\x02\x03PK\x03\x04\xde\xad\xbe\xef\n\x89PNG\r\n", nil, []string{"missing column"}},
	{"unclosed quote", csvHeader + csvGood + "\"B-2,p1,01/06/2026,10/06/2026,05/06/2026,\n", nil, []string{"CSV syntax", "line 3"}},
	{"injection in a code", csvHeader + "B-1\nx=1,p1,01/06/2026,10/06/2026,05/06/2026,\n", nil, []string{":2:"}},
	{"procedure of 10k chars", csvHeader + "B-1," + strings.Repeat("p", 10000) + ",01/06/2026,10/06/2026,05/06/2026,\n", nil, []string{":2:", "procedure"}},
	{"over -max-bytes", csvHeader + csvGood, []string{"-max-bytes", "40"}, []string{"too large"}},
	{"over -max-rows", csvHeader + csvGood + strings.Replace(csvGood, "G-1", "G-2", 1), []string{"-max-rows", "1"}, []string{"too many rows"}},
	{"unknown site", csvHeader + csvGood, []string{"-site", "hoaiduc"}, []string{`-site "hoaiduc" is not a configured site`}},
	{"site with injection", csvHeader + csvGood, []string{"-site", "a,b=c d=1"}, []string{"not a configured site"}},
	{"many errors, one file", csvHeader + csvGood + "B-2,p1,31/02/2026,10/06/2026,05/06/2026,\n" + ",p1,01/06/2026,10/06/2026,05/06/2026,\n" +
		"B-6,p1,01/06/2026,10/06/2026,05/06/2026,maybe\n", nil, []string{":3:", ":4:", ":5:", "3 invalid rows; nothing written"}},
	{"the bad-rows fixture", "@../../ctl/dossiercsv/testdata/bad-rows.csv", nil, []string{":3:", ":4:", ":5:", ":6:", ":7:", ":8:", ":9:", ":10:", "nothing written"}},
}

// testCSV runs the real pscm-ctl on each file against the world's
// InfluxDB; every file holds at least one good row, so "nothing written"
// is a real claim.
func testCSV(t *testing.T, w *world) {
	cfg := w.write(t, "ctl.yml", fmt.Sprintf(`influxdb: {url: %q, bucket: %q, timeout: 10s}
sites:
  - id: anlao
    name: "Trung tâm Phục vụ hành chính công xã An Lão"
log: {level: info}
`, w.db.URL(), w.db.Bucket()))
	for i, c := range csvCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(w.dir, fmt.Sprintf("case-%d.csv", i))
			content := []byte(c.file)
			if fixture, ok := strings.CutPrefix(c.file, "@"); ok {
				var err error
				if content, err = os.ReadFile(fixture); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			before := w.snapshot(t)
			args := append([]string{"import-dossiers", "-config", cfg, "-site", eventSite, "-timeout", "20s"}, c.args...)
			code, stderr := runBin(t, w.ctlBin, append(args, path)...)
			if code != 1 {
				t.Errorf("exit status %d, want 1; stderr:\n%s", code, textclip.Clip(stderr, 3000))
			}
			for _, want := range c.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, textclip.Clip(stderr, 3000))
				}
			}
			if len(stderr) > 8000 {
				t.Errorf("stderr of %d bytes: errors must quote a bounded part of the input", len(stderr))
			}
			if d := diff(before, w.snapshot(t)); d != "" {
				t.Errorf("InfluxDB changed: %s", d)
			}
		})
	}
}

// runBin runs a program with a deadline and returns its exit status and
// what it wrote on stdout and stderr together.
func runBin(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee) && ctx.Err() == nil:
		return ee.ExitCode(), out.String()
	}
	t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out.String())
	return 0, ""
}
