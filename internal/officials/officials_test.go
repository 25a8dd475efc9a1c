package officials

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
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

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		v    []float64
		p    float64
		want float64
	}{{nil, 50, 0}, {[]float64{5}, 90, 5}, {[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9}, {[]float64{3, 1, 2}, 50, 2}} {
		if got := percentile(tc.v, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.v, tc.p, got, tc.want)
		}
	}
}
