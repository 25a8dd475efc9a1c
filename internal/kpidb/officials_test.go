package kpidb

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/officials"
	"github.com/pscm/pscm/internal/roster"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// TestOfficialFacts writes a Monday of two counters as the collector
// would (schema events through AppendLine into a real InfluxDB 1.8), reads
// the officials' facts back and computes their figures: Lan logged in at
// c01 in the morning (a ticket, then a camera-only session within two
// hours), a rating with its session and one without; Hoa rostered at c02
// with no login, a dissatisfied rating with its reasons; c01's seat seen
// occupied 07:35-11:25 (the seat unknown before 07:30, vacant after);
// c02's camera never reported; one dossier each (Lan's early, Hoa's late)
// and one naming nobody.
func TestOfficialFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real InfluxDB")
	}
	i := testenv.StartInflux(t, testenv.WithoutFlux())
	ict := time.FixedZone("ICT", 7*3600)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, ict).UTC() }
	h := func(id string, ts time.Time) schema.Header { return schema.Header{ID: id, TS: ts, Site: "anlao"} }
	l := &lines{t: t}
	l.add(&schema.Queue{Header: h("q1", at(8, 0)), Ticket: "A001", Service: "ho-tich", Counter: "c01", Step: schema.StepCalled, Staff: "lan"})
	l.add(&schema.Queue{Header: h("q2", at(8, 5)), Ticket: "A001", Service: "ho-tich", Counter: "c01", Step: schema.StepStarted, Staff: "lan"})
	l.add(&schema.Queue{Header: h("q3", at(9, 0)), Ticket: "B001", Service: "dat-dai", Counter: "c02", Step: schema.StepStarted})
	l.add(&schema.Session{Header: h("s1", at(8, 15)), Counter: "c01", Start: at(8, 5), End: at(8, 15), WaitS: 300, ServiceS: 600, Source: schema.SourceFused, Ticket: "A001"})
	l.add(&schema.Session{Header: h("s2", at(9, 40)), Counter: "c01", Start: at(9, 30), End: at(9, 40), ServiceS: 600, Source: schema.SourceCamera})
	l.add(&schema.Session{Header: h("s4", at(9, 20)), Counter: "c02", Start: at(9, 0), End: at(9, 20), WaitS: 120, ServiceS: 1200, Source: schema.SourceQueue, Ticket: "B001"})
	l.add(&schema.Rating{Header: h("r1", at(8, 16)), Counter: "c01", Kiosk: "k01", Level: schema.LevelSatisfied, Session: "s1"})
	l.add(&schema.Rating{Header: h("r2", at(9, 21)), Counter: "c02", Kiosk: "k02", Level: schema.LevelDissatisfied, Session: "s4", Reasons: []string{"cho-lau", "thai-do"}})
	l.add(&schema.Rating{Header: h("r4", at(9, 35)), Counter: "c01", Kiosk: "k01", Level: schema.LevelVerySatisfied})
	l.add(&schema.Occupancy{Header: h("o1", at(7, 35)), Camera: "cam1", Counter: "c01", Zone: schema.ZoneStaff, Occupied: true, Confidence: 0.9})
	l.add(&schema.Occupancy{Header: h("o2", at(11, 25)), Camera: "cam1", Counter: "c01", Zone: schema.ZoneStaff, Occupied: false, Confidence: 0.9})
	l.add(&schema.Dossier{Header: h("d1", at(10, 0)), Dossier: "H1", Procedure: "1.001", Received: at(8, 0).AddDate(0, 0, -3), Due: at(17, 0), Resolved: at(10, 0), Outcome: schema.OutcomeEarly, Official: "lan"})
	l.add(&schema.Dossier{Header: h("d2", at(11, 0)), Dossier: "H2", Procedure: "1.001", Received: at(8, 0).AddDate(0, 0, -9), Due: at(8, 0).AddDate(0, 0, -1), Resolved: at(11, 0), Outcome: schema.OutcomeLate, Official: "hoa"})
	l.add(&schema.Dossier{Header: h("d3", at(12, 0)), Dossier: "H3", Procedure: "1.001", Received: at(8, 0).AddDate(0, 0, -3), Due: at(17, 0), Resolved: at(12, 0), Outcome: schema.OutcomeOnTime})
	l.write(t, i)

	src := NewSource(Config{URL: i.URL(), Token: i.Token(), Bucket: i.Bucket()})
	t.Cleanup(src.Close)
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, ict)
	f, err := src.OfficialFacts(t.Context(), "anlao", day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "roster.yml")
	if err := os.WriteFile(p, []byte(`officials:
  - {id: lan, name: "Nguyễn Thị Lan", site: anlao}
  - {id: hoa, name: "Lê Thị Hoa", site: anlao}
shifts:
  - {official: lan, counter: c01, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30"], from: 2026-11-01}
  - {official: hoa, counter: c02, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30", "13:30-17:00"], from: 2026-11-01}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := roster.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	res := officials.Compute(f, r, []string{"lan", "hoa"}, kpi.DefaultSatisfied())
	lan, hoa := res.Officials[0], res.Officials[1]
	if lan.Sessions != 2 || lan.SessionsByLogin != 2 || lan.RatingsTotal != 2 || lan.Satisfied != 2 || lan.ServiceP50S != 600 ||
		lan.ExpectedS != 4*3600 || lan.CoveredS != 3*3600+55*60 || lan.PresentS != 3*3600+50*60 || lan.UnknownS != 5*60 {
		t.Errorf("lan %+v", lan)
	}
	if len(lan.Services) != 1 || lan.Services[0].Service != "ho-tich" || lan.Services[0].CenterSessions != 1 {
		t.Errorf("lan's services %+v", lan.Services)
	}
	if hoa.Sessions != 1 || hoa.SessionsByRoster != 1 || len(hoa.Dissatisfied) != 1 || len(hoa.Dissatisfied[0].Reasons) != 2 ||
		hoa.ExpectedS != 7.5*3600 || hoa.UnknownS != 7.5*3600-20*60 || hoa.PresentS != 20*60 {
		// c02's seat: no camera, but the queue's session 09:00-09:20 is
		// evidence of an official at the counter (kpi.Presence's rule).
		t.Errorf("hoa %+v", hoa)
	}
	if lan.DossiersTotal != 1 || lan.DossiersOnTime != 1 || hoa.DossiersTotal != 1 || hoa.DossiersOnTime != 0 {
		t.Errorf("dossiers: lan %d/%d, hoa %d/%d", lan.DossiersOnTime, lan.DossiersTotal, hoa.DossiersOnTime, hoa.DossiersTotal)
	}
	if res.UnattributedSessions != 0 || res.UnattributedRatings != 0 {
		t.Errorf("unattributed %d, %d", res.UnattributedSessions, res.UnattributedRatings)
	}
}
