package roster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var ict = time.FixedZone("ICT", 7*3600)

func at(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ict) }

const good = `time_zone: Asia/Ho_Chi_Minh
officials:
  - {id: lan, name: "Nguyễn Thị Lan", site: anlao}
  - {id: minh, name: "Trần Văn Minh", site: anlao}
  - {id: hoa, name: "Lê Thị Hoa", site: anlao}
shifts:
  # Lan at counter 1 every working morning, Minh in the afternoons; Hoa at
  # counter 2 all day; from December Minh takes counter 2's mornings.
  - {official: lan, counter: c01, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30"], from: 2026-11-01}
  - {official: minh, counter: c01, days: [mon, tue, wed, thu, fri], spans: ["13:30-17:00"], from: 2026-11-01}
  - {official: hoa, counter: c02, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30", "13:30-17:00"], from: 2026-11-01, to: 2026-11-30}
  - {official: minh, counter: c02, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30"], from: 2026-12-01}
away:
  - {official: lan, kind: leave, from: 2026-11-25, to: 2026-11-26, note: "Nghỉ phép năm"}
  - {official: hoa, kind: training, from: "2026-11-24T13:30", to: "2026-11-24T17:00"}
`

func load(t *testing.T, text string) (*Roster, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "roster.yml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

func TestRoster(t *testing.T) {
	r, err := load(t, good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		counter string
		t       time.Time
		who     string
		away    bool
		none    bool
	}{
		{"c01", at(2026, 11, 23, 9, 0), "lan", false, false},   // Monday morning
		{"c01", at(2026, 11, 23, 14, 0), "minh", false, false}, // afternoon
		{"c01", at(2026, 11, 23, 12, 0), "", false, true},      // lunch: nobody rostered
		{"c01", at(2026, 11, 25, 9, 0), "lan", true, false},    // on leave
		{"c02", at(2026, 11, 24, 14, 0), "hoa", true, false},   // at training
		{"c02", at(2026, 11, 24, 9, 0), "hoa", false, false},
		{"c02", at(2026, 12, 1, 9, 0), "minh", false, false}, // December
		{"c02", at(2026, 12, 1, 14, 0), "", false, true},
		{"c01", at(2026, 11, 28, 9, 0), "", false, true}, // Saturday
	} {
		a, ok := r.At(tc.counter, tc.t)
		if ok == tc.none || a.Official != tc.who || a.Away != tc.away {
			t.Errorf("%s at %s: %+v %v, want %q away %v", tc.counter, tc.t, a, ok, tc.who, tc.away)
		}
	}
	// Lan's expected time in the week of 23/11: five mornings of 4 h less
	// two days of leave: 12 h, all at counter 1.
	exp := r.Expected("lan", at(2026, 11, 23, 0, 0), at(2026, 11, 30, 0, 0))
	var sum time.Duration
	for _, iv := range exp["c01"] {
		sum += iv.To.Sub(iv.From)
	}
	if len(exp) != 1 || sum != 12*time.Hour {
		t.Errorf("Lan's expected time %v (%v), want 12h at c01", sum, exp)
	}
	// Hoa's on 24/11: the morning only, the afternoon at training.
	exp = r.Expected("hoa", at(2026, 11, 24, 0, 0), at(2026, 11, 25, 0, 0))
	if len(exp["c02"]) != 1 || exp["c02"][0].To.Sub(exp["c02"][0].From) != 4*time.Hour {
		t.Errorf("Hoa's 24/11: %v", exp)
	}
}

func TestRosterRefused(t *testing.T) {
	base := "officials:\n  - {id: lan, name: Lan, site: anlao}\n  - {id: minh, name: Minh, site: anlao}\n"
	for name, tc := range map[string]struct{ file, want string }{
		"unknown official on a shift": {base + "shifts:\n  - {official: hoa, counter: c01, days: [mon], spans: [\"07:30-11:30\"], from: 2026-11-01}\n", `unknown official "hoa"`},
		"unknown official away":       {base + "away:\n  - {official: hoa, kind: leave, from: 2026-11-01, to: 2026-11-02}\n", `unknown official "hoa"`},
		"two at one counter": {base + "shifts:\n  - {official: lan, counter: c01, days: [mon], spans: [\"07:30-11:30\"], from: 2026-11-01}\n" +
			"  - {official: minh, counter: c01, days: [mon, tue], spans: [\"11:00-12:00\"], from: 2026-11-01}\n", "same counter"},
		"one in two places": {base + "shifts:\n  - {official: lan, counter: c01, days: [mon], spans: [\"07:30-11:30\"], from: 2026-11-01, to: 2026-11-30}\n" +
			"  - {official: lan, counter: c02, days: [mon], spans: [\"08:00-09:00\"], from: 2026-11-15}\n", "two counters"},
		"bad day":        {base + "shifts:\n  - {official: lan, counter: c01, days: [moon], spans: [\"07:30-11:30\"], from: 2026-11-01}\n", "days"},
		"bad span":       {base + "shifts:\n  - {official: lan, counter: c01, days: [mon], spans: [\"25:00-26:00\"], from: 2026-11-01}\n", "spans"},
		"unreal date":    {base + "shifts:\n  - {official: lan, counter: c01, days: [mon], spans: [\"07:30-11:30\"], from: 2026-02-30}\n", "not a real"},
		"to before from": {base + "away:\n  - {official: lan, kind: leave, from: 2026-11-05, to: 2026-11-03}\n", "not after"},
		"unknown kind":   {base + "away:\n  - {official: lan, kind: holiday, from: 2026-11-05, to: 2026-11-06}\n", "kind"},
		"twice":          {base + "  - {id: lan, name: Lan again, site: anlao}\n", "listed twice"},
		"bad id":         {"officials:\n  - {id: \"Lan Nguyen\", name: Lan, site: anlao}\n", "must match"},
		"broken line":    {base + "shifts:\n  - {official: lan, counter: c01, days: [mon\n", "yaml"},
		"unknown key":    {base + "shift: []\n", "shift"},
		"no name":        {"officials:\n  - {id: lan, site: anlao}\n", "name"},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := load(t, tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if r != nil {
				t.Fatal("a refused file gave a roster")
			}
		})
	}
	// Shifts that merely touch, or share a counter on other days, are fine.
	ok := base + "shifts:\n  - {official: lan, counter: c01, days: [mon], spans: [\"07:30-11:30\"], from: 2026-11-01}\n" +
		"  - {official: minh, counter: c01, days: [mon], spans: [\"11:30-12:00\"], from: 2026-11-01}\n" +
		"  - {official: minh, counter: c01, days: [tue], spans: [\"07:30-11:30\"], from: 2026-11-01}\n"
	if _, err := load(t, ok); err != nil {
		t.Fatalf("touching shifts refused: %v", err)
	}
}

func TestOfficialsOf(t *testing.T) {
	r, err := load(t, good)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range r.OfficialsOf("anlao") {
		ids = append(ids, o.ID)
	}
	if strings.Join(ids, ",") != "hoa,lan,minh" || len(r.OfficialsOf("hoaan")) != 0 {
		t.Errorf("officials of anlao %v", ids)
	}
}
