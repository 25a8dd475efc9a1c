package configs

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pscm/pscm/internal/testenv"
)

// TestInfluxDBSetup: the shipped influxdb.conf listens on loopback only
// with authentication on, and scripts/influxdb-setup.sh, run twice against
// a real influxd started with that config, makes the database and one user
// per program with the least privilege each needs: the collector writes and
// reads, the dashboard, pscm-ctl and Grafana only read. Anonymous requests
// are refused. (Issue 13 item 9: the config bound every address, and the
// setup's instructions put the admin password on the command line and had
// no ctl user.)
func TestInfluxDBSetup(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs InfluxDB")
	}
	conf, err := os.ReadFile("influxdb/influxdb.conf")
	if err != nil {
		t.Fatal(err)
	}
	binds := regexp.MustCompile(`(?m)^\s*bind-address\s*=\s*"([^"]*)"`).FindAllSubmatch(conf, -1)
	if len(binds) != 2 {
		t.Fatalf("want the RPC and HTTP bind-address, got %d", len(binds))
	}
	for _, b := range binds {
		if !strings.HasPrefix(string(b[1]), "127.0.0.1:") {
			t.Errorf("bind-address %q is not loopback", b[1])
		}
	}
	if !regexp.MustCompile(`(?m)^\s*auth-enabled\s*=\s*true`).Match(conf) {
		t.Error("auth-enabled is not true")
	}
	if b, _ := os.ReadFile("influxdb/setup.iql"); strings.Contains(string(b), "PASSWORD") {
		t.Error("setup.iql holds a password")
	}

	db := testenv.StartInflux(t, testenv.WithShippedConfig("influxdb/influxdb.conf"))
	secrets := filepath.Join(t.TempDir(), "secrets")
	setup := func() string {
		cmd := exec.Command("../scripts/influxdb-setup.sh", db.URL())
		cmd.Env = append(os.Environ(), "PSCM_SECRETS="+secrets)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("influxdb-setup.sh: %v\n%s", err, out)
		}
		return string(out)
	}
	first := setup()
	if !strings.Contains(first, "created the admin user") {
		t.Errorf("first run did not create the admin:\n%s", first)
	}
	if again := setup(); strings.Contains(again, "created") || strings.Contains(again, "made ") {
		t.Errorf("second run changed something:\n%s", again)
	}
	for _, f := range []string{"influxdb-admin.pass", "collector/influxdb.token", "dashboard/influxdb.token", "ctl/influxdb.token", "grafana/influxdb.pass"} {
		if fi, err := os.Stat(filepath.Join(secrets, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
	token := func(f string) string {
		b, err := os.ReadFile(filepath.Join(secrets, f))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	grafana := "grafana:" + token("grafana/influxdb.pass")

	// as POSTs body to path as user:password ("" anonymous) and returns the
	// status and the answer.
	as := func(userPass, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, db.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if userPass != "" {
			u, p, _ := strings.Cut(userPass, ":")
			req.SetBasicAuth(u, p)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	write := func(userPass string, i int) int {
		code, _ := as(userPass, "/write?db=pscm", fmt.Sprintf("probe,site=anlao value=%d %d", i, 1_700_000_000_000_000_000+i))
		return code
	}
	read := func(userPass string) (int, string) {
		return as(userPass, "/query", url.Values{"db": {"pscm"}, "q": {`SHOW TAG VALUES FROM "probe" WITH KEY = "site"`}}.Encode())
	}
	for i, c := range []struct {
		who         string
		write, read bool
	}{
		{token("collector/influxdb.token"), true, true},
		{token("dashboard/influxdb.token"), false, true},
		{token("ctl/influxdb.token"), false, true},
		{grafana, false, true},
		{"", false, false},
		{"collector:wrong-password-123", false, false},
	} {
		name, _, _ := strings.Cut(c.who, ":")
		if got := write(c.who, i); (got == http.StatusNoContent) != c.write {
			t.Errorf("%q writes: %d, want allowed=%t", name, got, c.write)
		}
		code, body := read(c.who)
		if ok := code == http.StatusOK && !strings.Contains(body, `"error"`); ok != c.read {
			t.Errorf("%q reads: %d %s, want allowed=%t", name, code, body, c.read)
		}
	}
}
