package adminhttp

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/health"
)

func TestLoopback(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:8481": true, "127.1.2.3:1": true, "[::1]:8481": true, "localhost:8481": true,
		"0.0.0.0:8481": false, ":8481": false, "[::]:8481": false, "10.0.0.5:8481": false,
		"edge.lan:8481": false, "127.0.0.1": false, "": false,
	} {
		if got := Loopback(listen); got != want {
			t.Errorf("Loopback(%q) = %t, want %t", listen, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tlsOn := config.ServerTLS{CertFile: "a.pem", KeyFile: "a.key"}
	tok := config.Secret{Env: "T"}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"loopback", Config{Listen: "127.0.0.1:8481"}, ""},
		{"loopback with a token", Config{Listen: "127.0.0.1:8481", Token: tok}, ""},
		{"no port", Config{Listen: "127.0.0.1"}, "listen:"},
		{"LAN bare", Config{Listen: "0.0.0.0:8481"}, "not loopback: set token and tls"},
		{"LAN token only", Config{Listen: "0.0.0.0:8481", Token: tok}, "not loopback"},
		{"LAN tls only", Config{Listen: "0.0.0.0:8481", TLS: tlsOn}, "not loopback"},
		{"LAN token and tls", Config{Listen: "0.0.0.0:8481", Token: tok, TLS: tlsOn}, ""},
		{"half a tls", Config{Listen: "127.0.0.1:8481", TLS: config.ServerTLS{CertFile: "a.pem"}}, "tls: cert_file and key_file go together"},
		{"token twice", Config{Listen: "127.0.0.1:8481", Token: config.Secret{Env: "T", File: "f"}}, "token: set one of file, env or credential"},
	} {
		err := c.cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestMetricsToken: with a token, /metrics answers only the bearer of it;
// health stays open (it says nothing about people); without a token (the
// loopback default) /metrics is open to the machine.
func TestMetricsToken(t *testing.T) {
	dir := t.TempDir()
	token := "metrics-token-5b1e0c97d2a44f8e"
	short := filepath.Join(dir, "short")
	good := filepath.Join(dir, "good")
	os.WriteFile(short, []byte("short-token\n"), 0o600)
	os.WriteFile(good, []byte(token+"\n"), 0o600)
	if _, err := (Config{Listen: "127.0.0.1:0", Token: config.Secret{File: short}}).Resolve(); err == nil || !strings.Contains(err.Error(), "token: shorter than 24") {
		t.Errorf("a short token: %v", err)
	}
	cfg := Config{Listen: "127.0.0.1:0", Token: config.Secret{File: good}}
	got, err := cfg.Resolve()
	if err != nil || got != token {
		t.Fatalf("Resolve: %q, %v", got, err)
	}

	for _, tc := range []struct {
		token string
		auth  string
		want  int
	}{
		{token, "", http.StatusUnauthorized},
		{token, "Bearer wrong-token-5b1e0c97d2a44f8e", http.StatusUnauthorized},
		{token, "Basic " + token, http.StatusUnauthorized},
		{token, "Bearer " + token, http.StatusOK},
		{"", "", http.StatusOK},
	} {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "pscm_test_total", Help: "a test counter"}))
		srv, err := Listen(Config{Listen: "127.0.0.1:0"}, tc.token, http.NewServeMux(), reg, health.NewReadiness(time.Second), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve()
		code, body := get(t, "http://"+srv.Addr()+"/metrics", tc.auth)
		if code != tc.want || (code == http.StatusOK) != strings.Contains(body, "pscm_test_total") {
			t.Errorf("token %t, Authorization %q: %d %q", tc.token != "", tc.auth, code, body)
		}
		if code, _ := get(t, "http://"+srv.Addr()+"/healthz", ""); code != http.StatusOK {
			t.Errorf("/healthz: %d", code)
		}
		if err := srv.Shutdown(t.Context()); err != nil {
			t.Error(err)
		}
		if err := srv.Serve(); err != nil {
			t.Errorf("Serve after Shutdown: %v", err)
		}
	}
	if _, err := Listen(Config{Listen: "0.0.0.0:0"}, "", http.NewServeMux(), prometheus.NewRegistry(), health.NewReadiness(time.Second), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("Listen bound a LAN address without token and TLS")
	}
}

func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
