package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

// TestOfficialSeesOnlyTheirOwnPage is issue 17's access rule through the
// real dashboard: an official, logged in, reads their own page and
// figures and nothing else, by URL, API, websocket or report download;
// a manager of the site reads every official's.
func TestOfficialSeesOnlyTheirOwnPage(t *testing.T) {
	e := newDashEnv(t)
	rosterPath := filepath.Join(e.dir, "roster.yml")
	if err := os.WriteFile(rosterPath, []byte(`officials:
  - {id: hoa, name: "Lê Thị Hoa", site: anlao}
  - {id: tam, name: "Võ Minh Tâm", site: anlao}
shifts:
  - {official: hoa, counter: c01, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30"], from: 2026-01-01}
  - {official: tam, counter: c02, days: [mon, tue, wed, thu, fri], spans: ["07:30-11:30"], from: 2026-01-01}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	const officialPass = "mat-khau-can-bo-hoa-2026"
	hash, err := auth.HashPassword(testenv.Secret(t, officialPass))
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(e.dir, "users.yml")
	b, err := os.ReadFile(users)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, []byte(fmt.Sprintf("  - name: hoa\n    hash: %q\n    role: official\n    official: hoa\n    sites: [anlao]\n", hash))...)
	if err := os.WriteFile(users, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(e.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "roster_file: %s\n", rosterPath)
	f.Close()
	d := e.start(t)

	official, code := login(t, d.addr, "hoa", officialPass)
	if code != http.StatusSeeOther {
		t.Fatalf("official's login: %d", code)
	}
	status := func(c *http.Client, path string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther {
			return 1000 + len(resp.Header.Get("Location")) // a redirect, told apart below
		}
		return resp.StatusCode
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := official.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/officials/me" {
		t.Errorf("the dashboard's page for an official: %d to %q, want their own page", resp.StatusCode, resp.Header.Get("Location"))
	}
	for path, want := range map[string]int{
		"/officials/me":                      200,
		"/api/officials/me?range=month":      200,
		"/api/officials/hoa?range=month":     200,
		"/api/officials/tam?range=month":     404,
		"/api/officials?site=anlao":          403,
		"/api/snapshot?site=anlao":           403,
		"/api/range?site=anlao&range=month":  403,
		"/api/report?site=anlao&format=html": 403,
		"/api/insights?site=anlao":           403,
	} {
		if got := status(official, path); got != want {
			t.Errorf("official GET %s: %d, want %d", path, got, want)
		}
	}
	if got := status(official, "/officials/tam"); got < 1000 {
		t.Errorf("another official's page: %d, want a redirect to their own", got)
	}
	// The websocket of the site's live figures.
	wreq, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+"/ws?site=anlao", nil)
	wreq.Header.Set("Connection", "Upgrade")
	wreq.Header.Set("Upgrade", "websocket")
	wreq.Header.Set("Sec-WebSocket-Version", "13")
	wreq.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	wreq.Header.Set("Origin", "http://"+d.addr)
	if resp, err := official.Do(wreq); err != nil || resp.StatusCode == http.StatusSwitchingProtocols {
		t.Errorf("an official's websocket on the site: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	manager, _ := login(t, d.addr, "lan", "correct horse battery")
	mresp, err := manager.Get("http://" + d.addr + "/api/officials?site=anlao&range=month")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if mresp.StatusCode != 200 || !strings.Contains(string(body), `"id":"hoa"`) || !strings.Contains(string(body), `"id":"tam"`) {
		t.Errorf("the manager's list: %d %s", mresp.StatusCode, body)
	}
	log, err := os.ReadFile(filepath.Join(e.dir, "officials-access.jsonl"))
	if err != nil || !strings.Contains(string(log), `"user":"hoa","site":"anlao","subject":"hoa"`) || !strings.Contains(string(log), `"user":"lan","site":"anlao","subject":"officials"`) {
		t.Errorf("access log: %s (%v)", log, err)
	}
}

// TestOfficialsAbsenceFactsAndRetention, through the real dashboard with a
// roster: a counter left unstaffed while Hoa was rostered there raises an
// alert naming her, linked to her page for the day, beside the seat's and
// the camera's facts; a counter nobody was rostered at says so. And at
// start the desk removes a reading older than the retention (24 months by
// default) from the access log, keeping the newer one as it was.
func TestOfficialsAbsenceFactsAndRetention(t *testing.T) {
	e := newDashEnv(t)
	rosterPath := filepath.Join(e.dir, "roster.yml")
	if err := os.WriteFile(rosterPath, []byte(`officials:
  - {id: hoa, name: "Lê Thị Hoa", site: anlao}
shifts:
  - {official: hoa, counter: c02, days: [mon, tue, wed, thu, fri, sat, sun], spans: ["00:00-23:59"], from: 2020-01-01}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		old    = `{"at":"2020-01-02T03:00:00Z","user":"lan","site":"anlao","subject":"hoa","what":"figures 2020-01"}` + "\n"
		recent = `{"at":"2026-01-02T03:00:00Z", "user":"lan","site":"anlao","subject":"hoa","what":"figures 2026-01"}` + "\n"
	)
	access := filepath.Join(e.dir, "officials-access.jsonl")
	if err := os.WriteFile(access, []byte(old+recent), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(e.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "roster_file: %s\nworking_hours: {time_zone: Asia/Ho_Chi_Minh, days: [mon, tue, wed, thu, fri, sat, sun], spans: [\"00:00-23:59\"]}\n", rosterPath)
	f.Close()
	d := e.start(t)
	if b, err := os.ReadFile(access); err != nil || string(b) != recent {
		t.Errorf("access log after the start: %q (%v), want the recent reading alone", b, err)
	}

	c, code := login(t, d.addr, "lan", "correct horse battery")
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	pub := e.publisher(t)
	now := time.Now().UTC().Truncate(time.Second)
	t0 := now.Add(-15 * time.Minute)
	n := 0
	for _, cc := range [][2]string{{"c02", "cam2"}, {"c03", "cam3"}} {
		n++
		e.send(t, pub, "pscm/v1/anlao/occupancy", schema.Occupancy{Header: schema.Header{ID: fmt.Sprintf("o%d", n), TS: t0, Site: "anlao"},
			Camera: cc[1], Counter: cc[0], Zone: schema.ZoneStaff, Occupied: false, Confidence: 0.9})
		for at := 10 * time.Second; at <= 15*time.Minute; at += 10 * time.Second {
			n++
			e.send(t, pub, "pscm/v1/anlao/camera", schema.Camera{Header: schema.Header{ID: fmt.Sprintf("h%d", n), TS: t0.Add(at), Site: "anlao"},
				Camera: cc[1], Up: true, Codec: schema.CodecH264, FPS: 10, Kbps: 2000, GopS: 1, Width: 1280, Height: 720})
		}
	}
	flush(t, pub)
	facts := func() map[string]map[string]any {
		s, code := snapshot(t, c, d.addr, "anlao")
		if code != http.StatusOK {
			t.Fatalf("snapshot: %d", code)
		}
		out := map[string]map[string]any{}
		alerts, _ := s["alerts"].([]any)
		for _, a := range alerts {
			if m, _ := a.(map[string]any); m["kind"] == "unstaffed" {
				out[fmt.Sprint(m["counter"])], _ = m["facts"].(map[string]any)
			}
		}
		return out
	}
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() bool { return len(facts()) == 2 },
		"two unstaffed alerts not raised: %v", facts())
	got := facts()
	seen, _ := time.Parse(time.RFC3339, fmt.Sprint(got["c02"]["camera_seen_until"]))
	if got["c02"]["vacant_since"] != t0.Format(time.RFC3339) || got["c02"]["camera"] != "cam2" || !seen.Equal(now) {
		t.Errorf("c02's facts: %v", got["c02"])
	}
	day := seen.In(timezone.Vietnam()).Format(time.DateOnly)
	r, _ := got["c02"]["roster"].(map[string]any)
	o, _ := r["official"].(map[string]any)
	if o["id"] != "hoa" || o["name"] != "Lê Thị Hoa" || o["url"] != "/officials/hoa?range="+day {
		t.Errorf("c02's roster facts: %v", r)
	}
	if r, _ := got["c03"]["roster"].(map[string]any); r == nil || r["official"] != nil {
		t.Errorf("c03, nobody rostered: %v", got["c03"])
	}
	// The link opens her page on that day, for the manager.
	resp, err := c.Get("http://" + d.addr + fmt.Sprint(o["url"]))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `value="`+day+`"`) {
		t.Errorf("her page from the link: %d\n%s", resp.StatusCode, page)
	}
}
