package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/internal/testenv"
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
