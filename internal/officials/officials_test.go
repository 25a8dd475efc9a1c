package officials

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/rollup"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
)

var ict = time.FixedZone("ICT", 7*3600)

func at(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, ict) } // a Monday

const schedule = `time_zone: Asia/Ho_Chi_Minh
officials:
  - {id: lan, name: "Nguyễn Thị Lan", site: anlao}
  - {id: minh, name: "Trần Văn Minh", site: anlao}
  - {id: hoa, name: "Lê Thị Hoa", site: anlao}
shifts:
  - {official: lan, counter: c01, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30"], from: 2026-11-01}
  - {official: minh, counter: c01, days: [mon, tue, wed, thu, fri], spans: ["13:30-17:00"], from: 2026-11-01}
  - {official: hoa, counter: c02, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30", "13:30-17:00"], from: 2026-11-01}
`

// One Monday at three counters, every figure computed by hand:
//   - c01: Lan logged in in the morning (ticket A001, then a camera-only
//     session at 09:30 within two hours of her login), Minh took ticket
//     A005 at 10:58 in her place and a camera-only session at 12:30; the
//     seat's camera saw all day, occupied 07:35-11:25 and 13:30-16:00.
//   - c02: no logins; Hoa is rostered there; its camera was down all day.
//   - c03: nobody logged in or rostered: its session and rating belong
//     to nobody.
func TestCompute(t *testing.T) {
	p := filepath.Join(t.TempDir(), "roster.yml")
	if err := os.WriteFile(p, []byte(schedule), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := roster.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	f := Facts{
		From: at(0, 0), To: at(24, 0),
		Steps: []Step{
			{At: at(8, 0), Counter: "c01", Staff: "lan", Ticket: "A001", Service: "ho-tich"},
			{At: at(8, 5), Counter: "c01", Staff: "lan", Ticket: "A001", Service: "ho-tich"},
			{At: at(10, 58), Counter: "c01", Staff: "minh", Ticket: "A005", Service: "ho-tich"},
		},
		Sessions: []Session{
			{ID: "s1", Counter: "c01", Start: at(8, 5), End: at(8, 15), WaitS: 300, ServiceS: 600, Ticket: "A001", Service: "ho-tich"},
			{ID: "s2", Counter: "c01", Start: at(9, 30), End: at(9, 40), WaitS: 0, ServiceS: 600},
			{ID: "s3", Counter: "c01", Start: at(11, 0), End: at(11, 20), WaitS: 900, ServiceS: 1200, Ticket: "A005", Service: "ho-tich"},
			{ID: "s4", Counter: "c02", Start: at(9, 0), End: at(9, 20), WaitS: 120, ServiceS: 1200, Ticket: "B001", Service: "dat-dai"},
			{ID: "s5", Counter: "c03", Start: at(10, 0), End: at(10, 5), ServiceS: 300},
			{ID: "s6", Counter: "c01", Start: at(12, 30), End: at(12, 40), ServiceS: 600},
		},
		Ratings: []Rating{
			{At: at(8, 16), Counter: "c01", Level: schema.LevelSatisfied, Session: "s1"},
			{At: at(9, 21), Counter: "c02", Level: schema.LevelDissatisfied, Reasons: []string{"cho-lau"}, Session: "s4"},
			{At: at(10, 5), Counter: "c03", Level: schema.LevelNeutral},
			{At: at(9, 35), Counter: "c01", Level: schema.LevelVerySatisfied},
		},
		Seats: map[string]Seat{
			"c01": {Covered: []kpi.Interval{{From: at(7, 30), To: at(17, 0)}},
				Occupied: []kpi.Interval{{From: at(7, 35), To: at(11, 25)}, {From: at(13, 30), To: at(16, 0)}}},
		},
	}
	res := Compute(f, r, []string{"lan", "minh", "hoa"}, kpi.DefaultSatisfied())
	if res.UnattributedSessions != 1 || res.UnattributedRatings != 1 {
		t.Errorf("unattributed %d sessions, %d ratings; want 1 and 1", res.UnattributedSessions, res.UnattributedRatings)
	}
	got := map[string]Figures{}
	for _, fg := range res.Officials {
		got[fg.Official] = fg
	}
	lan, minh, hoa := got["lan"], got["minh"], got["hoa"]
	check := func(who string, cond bool, fg Figures) {
		t.Helper()
		if !cond {
			t.Errorf("%s: %+v", who, fg)
		}
	}
	check("lan", lan.Sessions == 2 && lan.SessionsByLogin == 2 && lan.RatingsTotal == 2 && lan.Satisfied == 2 &&
		lan.ServiceP50S == 600 && lan.WaitP90S == 300 &&
		lan.ExpectedS == 4*3600 && lan.CoveredS == 4*3600 && lan.PresentS == 3*3600+50*60 && lan.UnknownS == 0, lan)
	check("minh", minh.Sessions == 2 && minh.SessionsByLogin == 2 && minh.RatingsTotal == 0 &&
		minh.ExpectedS == 3.5*3600 && minh.PresentS == 2.5*3600 && minh.UnknownS == 0, minh)
	check("hoa", hoa.Sessions == 1 && hoa.SessionsByRoster == 1 && hoa.RatingsTotal == 1 && hoa.Satisfied == 0 &&
		len(hoa.Dissatisfied) == 1 && hoa.Dissatisfied[0].Reasons[0] == "cho-lau" &&
		hoa.ExpectedS == 7.5*3600 && hoa.CoveredS == 0 && hoa.PresentS == 0 && hoa.UnknownS == 7.5*3600, hoa)
	// Ho-tich at the center: s1 (600) and s3 (1200); Lan served s1 only.
	if len(lan.Services) != 1 || lan.Services[0] != (ServiceFigure{Service: "ho-tich", Sessions: 1, MedianServiceS: 600, CenterSessions: 2, CenterMedianServiceS: 600}) {
		t.Errorf("lan's services %+v", lan.Services)
	}
}

func TestRank(t *testing.T) {
	for _, tc := range []struct {
		v    []float64
		q    float64
		want float64
	}{{nil, 0.5, 0}, {[]float64{5.5}, 0.9, 5}, {[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9}, {[]float64{3, 1, 2}, 0.5, 2}, {[]float64{600.9, 1200.2}, 0.5, 600}} {
		if got := rollup.Of(tc.v).Quantile(tc.q); got != tc.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tc.v, tc.q, got, tc.want)
		}
	}
}

// TestDaysKeepTicketsApart: ticket numbers start again every morning, so
// Monday's A001 (Lan's) and Tuesday's A001 (Minh's) are two tickets; and a
// dossier counts on its own day only, so a month's figures hold its own
// dossiers, not the year's. Read as one period, both were mixed before.
func TestDaysKeepTicketsApart(t *testing.T) {
	p := filepath.Join(t.TempDir(), "roster.yml")
	if err := os.WriteFile(p, []byte(schedule), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := roster.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	tue := func(h, m int) time.Time { return at(h, m).AddDate(0, 0, 1) }
	f := Facts{
		From: at(0, 0), To: tue(24, 0),
		Steps: []Step{
			{At: at(8, 0), Counter: "c01", Staff: "lan", Ticket: "A001", Service: "ho-tich"},
			{At: tue(8, 0), Counter: "c01", Staff: "minh", Ticket: "A001", Service: "dat-dai"},
		},
		Sessions: []Session{
			{ID: "s1", Counter: "c01", Start: at(8, 0), End: at(8, 10), ServiceS: 600, Ticket: "A001", Service: "ho-tich"},
			{ID: "s2", Counter: "c01", Start: tue(8, 0), End: tue(8, 20), ServiceS: 1200, Ticket: "A001", Service: "dat-dai"},
		},
		Dossiers: []Dossiers{
			{Day: at(0, 0), Official: "lan", Outcome: schema.OutcomeOnTime, N: 2},
			{Day: tue(0, 0), Official: "lan", Outcome: schema.OutcomeLate, N: 1},
		},
	}
	ids := []string{"lan", "minh"}
	days := Days(f, r, ids)
	if len(days) != 2 {
		t.Fatalf("%d days", len(days))
	}
	both := Sum(days, ids, kpi.DefaultSatisfied())
	lan, minh := both.Officials[0], both.Officials[1]
	if lan.Sessions != 1 || lan.SessionsByLogin != 1 || lan.ServiceP50S != 600 || minh.Sessions != 1 || minh.ServiceP50S != 1200 {
		t.Errorf("lan %d sessions (%v s), minh %d (%v s): each served one A001", lan.Sessions, lan.ServiceP50S, minh.Sessions, minh.ServiceP50S)
	}
	if lan.DossiersTotal != 3 || lan.DossiersOnTime != 2 {
		t.Errorf("lan's dossiers over both days %d/%d, want 2/3", lan.DossiersOnTime, lan.DossiersTotal)
	}
	monday := Sum(days[:1], ids, kpi.DefaultSatisfied()).Officials[0]
	if monday.DossiersTotal != 2 || monday.DossiersOnTime != 2 {
		t.Errorf("lan's Monday dossiers %d/%d, want 2/2", monday.DossiersOnTime, monday.DossiersTotal)
	}
	if c := Compute(f, r, ids, kpi.DefaultSatisfied()); !reflect.DeepEqual(c, both) {
		t.Errorf("Compute %+v differs from the sum of its days %+v", c, both)
	}
}

// TestRowsRoundTrip: a day written as line protocol fields and read back
// as InfluxQL rows is the same day.
func TestRowsRoundTrip(t *testing.T) {
	d := NewDay(at(0, 0))
	d.UnattributedSessions, d.UnattributedRatings = 2, 1
	d.Center["ho-tich"] = rollup.Of([]float64{600, 1200.5})
	tl := NewTally()
	tl.Sessions, tl.ByLogin, tl.Wait, tl.Service = 1, 1, rollup.Of([]float64{300}), rollup.Of([]float64{600})
	tl.Services["ho-tich"] = rollup.Of([]float64{600})
	tl.Ratings[schema.LevelDissatisfied] = 1
	tl.Dissatisfied = []Rating{{At: at(9, 0), Counter: "c01", Level: schema.LevelDissatisfied, Reasons: []string{"cho-lau"}, Session: "s1"}}
	tl.ExpectedS, tl.CoveredS, tl.PresentS, tl.UnknownS = 14400, 14000.25, 13000, 399.75
	d.Officials["lan"] = tl
	lines := string(d.AppendLines(nil, "anlao", "abc"))
	if !strings.Contains(lines, `officials_day,site=anlao roster="abc",`) || !strings.Contains(lines, `official_day,official=lan,site=anlao `) ||
		!strings.Contains(lines, `services="ho-tich=600"`) || !strings.Contains(lines, `center="ho-tich=600,600"`) {
		t.Fatalf("lines:\n%s", lines)
	}
	// The fields as InfluxQL would hand them back.
	back := NewDay(d.Start)
	digest, err := ReadSiteDay(back, rollup.Row{Columns: []string{"time", "center", "roster", "site", "unattributed_ratings", "unattributed_sessions"},
		Values: []any{json.Number("0"), "ho-tich=600,600", "abc", "anlao", json.Number("1"), json.Number("2")}})
	if err != nil || digest != "abc" || back.UnattributedSessions != 2 || !reflect.DeepEqual(back.Center, d.Center) {
		t.Errorf("site day %+v, %q, %v", back, digest, err)
	}
	dis, _ := json.Marshal(tl.Dissatisfied)
	got, err := ReadOfficialDay(rollup.Row{Columns: []string{"time", "by_login", "by_roster", "covered_s", "dissatisfied", "dossiers_on_time", "dossiers_total",
		"expected_s", "present_s", "r_dissatisfied", "service_h", "services", "sessions", "unknown_s", "wait_h"},
		Values: []any{json.Number("0"), json.Number("1"), json.Number("0"), json.Number("14000.25"), string(dis), json.Number("0"), json.Number("0"),
			json.Number("14400"), json.Number("13000"), json.Number("1"), "600", "ho-tich=600", json.Number("1"), json.Number("399.75"), "300"}})
	if err != nil {
		t.Fatal(err)
	}
	got.Dissatisfied[0].At = got.Dissatisfied[0].At.In(ict)
	if !reflect.DeepEqual(got, tl) {
		t.Errorf("official day %+v, want %+v", got, tl)
	}
	for _, bad := range []string{"ho-tich", "ho-tich=1,0", "=1", "a=1;a=2", "ho tich=1"} {
		if _, err := ReadSiteDay(NewDay(d.Start), rollup.Row{Columns: []string{"center"}, Values: []any{bad}}); err == nil {
			t.Errorf("center %q read", bad)
		}
	}
}

func FuzzServices(f *testing.F) {
	for _, s := range []string{"", "ho-tich=600,600", "a=1;b=2x3", "a=;b="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseServices(s)
		if err != nil {
			return
		}
		again, err := parseServices(services(m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, m, services(m), again, err)
		}
	})
}
