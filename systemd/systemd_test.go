// Package systemd holds no code: its tests check the unit files beside them
// with systemd's own tools (systemd-analyze verify and security,
// systemd-sysusers) and check that `make install` and `make uninstall` put
// them, the binaries and the configs where the units expect them.
package systemd

import (
	"bufio"
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pscm/pscm/internal/testenv"
)

var units = []string{"pscm-agent", "pscm-collector", "pscm-dashboard"}

// directives parses a unit file into key -> values (a key may repeat).
func directives(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not key=value", path, line)
		}
		d[k] = append(d[k], v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestUnitsDeclareHardening: each unit has the settings the operations issue
// asks for, whatever systemd version scores them.
func TestUnitsDeclareHardening(t *testing.T) {
	want := map[string]string{
		"Restart": "on-failure", "KillSignal": "SIGTERM",
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
		"CapabilityBoundingSet": "", "AmbientCapabilities": "",
	}
	for _, u := range units {
		t.Run(u, func(t *testing.T) {
			d := directives(t, u+".service")
			prog := strings.TrimPrefix(u, "pscm-")
			// Its own user, and its own secrets only (issue 13 item 9:
			// every unit ran as one user, pscm, which could read every
			// program's secret files).
			want := maps.Clone(want)
			want["User"], want["Group"] = u, u
			want["LoadCredential"] = prog + ":/etc/pscm/secrets/" + prog
			for k, v := range want {
				if got := d[k]; len(got) != 1 || got[0] != v {
					t.Errorf("%s=%q, want %q", k, got, v)
				}
			}
			if env := d["EnvironmentFile"]; len(env) != 1 || env[0] != "-/etc/pscm/"+strings.TrimPrefix(u, "pscm-")+".env" {
				t.Errorf("EnvironmentFile=%q, want the program's optional env file in /etc/pscm", env)
			}
			for _, k := range []string{"MemoryMax", "TasksMax"} {
				if v := d[k]; len(v) != 1 || v[0] == "" || v[0] == "infinity" {
					t.Errorf("%s=%q: a unit's memory and tasks need a bound (issue 13)", k, v)
				}
			}
			if s := d["TimeoutStopSec"]; len(s) != 1 || s[0] == "" || s[0] == "infinity" {
				t.Errorf("TimeoutStopSec=%q: a graceful stop needs a bound", s)
			}
			if !contains(d["SystemCallFilter"], "@system-service") {
				t.Errorf("SystemCallFilter=%q lacks @system-service", d["SystemCallFilter"])
			}
			if af := d["RestrictAddressFamilies"]; len(af) != 1 || af[0] != "AF_INET AF_INET6 AF_UNIX" {
				t.Errorf("RestrictAddressFamilies=%q", af)
			}
			exec := d["ExecStart"]
			if len(exec) != 1 || !strings.HasPrefix(exec[0], "/usr/local/bin/"+u+" -config /etc/pscm/") {
				t.Errorf("ExecStart=%q: make install rewrites /usr/local/bin/ and /etc/pscm/", exec)
			}
		})
	}
	// The agent's spool must be inside its state directory: with
	// ProtectSystem=strict it is the only place the agent may write.
	d := directives(t, "pscm-agent.service")
	if sd := d["StateDirectory"]; len(sd) != 1 || sd[0] != "pscm-agent" {
		t.Fatalf("pscm-agent StateDirectory=%q, want pscm-agent", sd)
	}
	cfg, err := os.ReadFile("../configs/agent.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s+dir: /var/lib/pscm-agent/`).Match(cfg) {
		t.Error("configs/agent.example.yml: spool.dir is not under /var/lib/pscm-agent/ (the unit's StateDirectory)")
	}
}

func contains(vs []string, s string) bool {
	for _, v := range vs {
		for _, f := range strings.Fields(v) {
			if f == s {
				return true
			}
		}
	}
	return false
}

func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found: unit verify and security checks skipped (they run where systemd is installed)")
	}
	return p
}

// programs returns the Makefile's PROGRAMS list, so the install test covers
// whatever make install installs.
func programs(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("make", "-s", "--no-print-directory", "--eval", "pscm-test-programs: ; @echo $(PROGRAMS)", "pscm-test-programs")
	cmd.Dir, cmd.Env = "..", makeEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make: %v (install make: sudo apt-get install make)", err)
	}
	ps := strings.Fields(string(out))
	if len(ps) < 3 {
		t.Fatalf("PROGRAMS = %q", ps)
	}
	return ps
}

// makeEnv is the environment without the variables of an enclosing make
// (the test may run under `make test`), so the child make starts clean.
func makeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// binDir builds the given programs (once per test binary) and returns a
// directory holding them as pscm-<program>, like make build's bin/.
func binDir(t *testing.T, progs []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range progs {
		bin := testenv.BuildProgram(t, filepath.Join("..", p))
		if err := os.Symlink(bin, filepath.Join(dir, "pscm-"+p)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// unitWithBinary copies unit u into a temporary directory with ExecStart
// pointing at bin: systemd-analyze verify checks the binary exists.
func unitWithBinary(t *testing.T, u, bin string) string {
	t.Helper()
	b, err := os.ReadFile(u + ".service")
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte("/usr/local/bin/"+u), []byte(bin))
	p := filepath.Join(t.TempDir(), u+".service")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUnitsVerify: systemd-analyze verify finds nothing to say about each
// unit, run against the real built binary.
func TestUnitsVerify(t *testing.T) {
	sa := systemdAnalyze(t)
	for _, u := range units {
		t.Run(u, func(t *testing.T) {
			bin := testenv.BuildProgram(t, filepath.Join("..", strings.TrimPrefix(u, "pscm-")))
			p := unitWithBinary(t, u, bin)
			out, err := exec.Command(sa, "verify", p).CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
			}
		})
	}
}

var exposureRe = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`)

// TestUnitsSecurity: systemd-analyze security scores each unit's exposure
// below 2.0 (0 is fully locked down, 10 fully exposed).
func TestUnitsSecurity(t *testing.T) {
	sa := systemdAnalyze(t)
	for _, u := range units {
		t.Run(u, func(t *testing.T) {
			// --threshold=20 makes the exit status fail above 2.0 too.
			cmd := exec.Command(sa, "security", "--offline=true", "--threshold=20", "--no-pager", u+".service")
			out, err := cmd.CombinedOutput()
			m := exposureRe.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no exposure level in the output (%v):\n%s", err, out)
			}
			score, _ := strconv.ParseFloat(string(m[1]), 64)
			t.Logf("%s exposure %.1f", u, score)
			if score >= 2.0 || err != nil {
				t.Fatalf("exposure %.1f (exit %v), want below 2.0:\n%s", score, err, out)
			}
		})
	}
}

// TestSysusers: the sysusers entries make the user and group each unit
// runs as, applied to an empty root: three users, none shared.
func TestSysusers(t *testing.T) {
	su, err := exec.LookPath("systemd-sysusers")
	if err != nil {
		t.Skip("systemd-sysusers not found: sysusers check skipped (it runs where systemd is installed)")
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("pscm.sysusers")
	if out, err := exec.Command(su, "--root="+root, abs).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	for _, f := range []string{"passwd", "group"} {
		b, err := os.ReadFile(filepath.Join(root, "etc", f))
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, u := range units {
			m := regexp.MustCompile(`(?m)^` + u + `:x:(\d+):`).FindSubmatch(b)
			if m == nil {
				t.Errorf("/etc/%s has no %s entry:\n%s", f, u, b)
				continue
			}
			if ids[string(m[1])] {
				t.Errorf("/etc/%s: %s shares id %s", f, u, m[1])
			}
			ids[string(m[1])] = true
		}
	}
}

// TestMakeInstall runs make install and make uninstall into a temporary
// DESTDIR with freshly built binaries (never the shared bin/), checks every
// file, that units point at the installed binaries, that a second install
// keeps an edited config, and that uninstall leaves only that edited config.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every program")
	}
	progs := programs(t)
	bin := binDir(t, progs)
	dest := t.TempDir()
	const prefix = "/opt/pscm"
	make := func(target string) string {
		t.Helper()
		cmd := exec.Command("make", "-s", "--no-print-directory", target, "DESTDIR="+dest, "BIN="+bin, "PREFIX="+prefix)
		cmd.Dir, cmd.Env = "..", makeEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	make("install")

	type file struct {
		path string
		mode os.FileMode
	}
	var want []file
	for _, p := range progs {
		want = append(want, file{prefix + "/bin/pscm-" + p, 0o755})
	}
	for _, u := range units {
		want = append(want, file{prefix + "/lib/systemd/system/" + u + ".service", 0o644})
	}
	want = append(want, file{prefix + "/lib/sysusers.d/pscm.conf", 0o644})
	for _, u := range units {
		// The unit's LoadCredential= directory, root's alone.
		want = append(want, file{"/etc/pscm/secrets/" + strings.TrimPrefix(u, "pscm-"), 0o700})
	}
	examples, _ := filepath.Glob("../configs/*.example.yml")
	if len(examples) < 3 {
		t.Fatalf("examples: %v", examples)
	}
	for _, e := range examples {
		n := filepath.Base(e)
		want = append(want, file{"/etc/pscm/" + n, 0o644}, file{"/etc/pscm/" + strings.TrimSuffix(n, ".example.yml") + ".yml", 0o644})
	}
	for _, f := range []string{"prometheus/alerts.yml", "prometheus/recording.yml", "prometheus/prometheus.yml",
		"mosquitto/mosquitto.conf", "influxdb/setup.iql", "grafana/dashboards/center.json",
		"grafana/dashboards/province.json", "grafana/provisioning/datasources/pscm.yml"} {
		want = append(want, file{prefix + "/share/pscm/" + f, 0o644})
	}
	for _, f := range want {
		st, err := os.Stat(filepath.Join(dest, f.path))
		if err != nil {
			t.Errorf("not installed: %s", f.path)
			continue
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
	}
	// The installed binary is the built one, and runs.
	for _, p := range progs {
		src, _ := os.ReadFile(filepath.Join(bin, "pscm-"+p))
		got, _ := os.ReadFile(filepath.Join(dest, prefix, "bin", "pscm-"+p))
		if len(src) == 0 || !bytes.Equal(src, got) {
			t.Errorf("%s/bin/pscm-%s is not the built binary", prefix, p)
		}
	}
	for _, u := range units {
		d := directives(t, filepath.Join(dest, prefix, "lib/systemd/system", u+".service"))
		for _, k := range []string{"ExecStart", "ExecStartPre"} {
			if len(d[k]) != 1 || !strings.HasPrefix(d[k][0], prefix+"/bin/"+u+" ") {
				t.Errorf("installed %s %s=%q, want %s/bin/%s", u, k, d[k], prefix, u)
			}
		}
		if sa, err := exec.LookPath("systemd-analyze"); err == nil {
			// The installed unit verifies once its binary is where it says.
			p := unitWithBinary(t, u, filepath.Join(dest, prefix, "bin", u))
			if out, err := exec.Command(sa, "verify", p).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("systemd-analyze verify %s: %v\n%s", u, err, out)
			}
		}
	}

	// An operator's edit survives a reinstall and an uninstall.
	edited := filepath.Join(dest, "etc/pscm/collector.yml")
	if err := os.WriteFile(edited, []byte("# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := make("install"); !strings.Contains(out, "keep "+edited) {
		t.Errorf("reinstall did not say it keeps %s:\n%s", edited, out)
	}
	if b, _ := os.ReadFile(edited); string(b) != "# edited\n" {
		t.Fatalf("reinstall overwrote the edited config: %q", b)
	}
	make("uninstall")
	var left []string
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, strings.TrimPrefix(p, dest))
		}
		return nil
	})
	if len(left) != 1 || left[0] != "/etc/pscm/collector.yml" {
		t.Errorf("after uninstall left %q, want only the edited /etc/pscm/collector.yml", left)
	}
}

// TestExampleSecretsAreTheirOwn: every secret an example config names as a
// systemd credential is one its own unit loads (program_NAME from
// /etc/pscm/secrets/program/): a config cannot ask for another service's
// secret, which its unit would not hand it anyway.
func TestExampleSecretsAreTheirOwn(t *testing.T) {
	for _, u := range units {
		prog := strings.TrimPrefix(u, "pscm-")
		b, err := os.ReadFile("../configs/" + prog + ".example.yml")
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		var creds []string
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			for i := 0; i < len(n.Content); i++ {
				c := n.Content[i]
				if n.Kind == yaml.MappingNode && i%2 == 0 && c.Value == "credential" && i+1 < len(n.Content) {
					creds = append(creds, n.Content[i+1].Value)
				}
				walk(c)
			}
		}
		walk(&doc)
		if len(creds) == 0 {
			t.Errorf("%s.example.yml names no credential", prog)
		}
		for _, c := range creds {
			if !strings.HasPrefix(c, prog+"_") || strings.ContainsAny(c, "/") {
				t.Errorf("%s.example.yml: credential %q is not one of %s's (%s_NAME)", prog, c, u, prog)
			}
		}
	}
}
