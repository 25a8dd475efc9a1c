package health

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pscm/pscm/internal/testenv"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestReadyz(t *testing.T) {
	pass := func(context.Context) error { return nil }
	slow := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name   string
		checks map[string]Check
		order  []string
		code   int
		want   []string
	}{
		{"no checks", nil, nil, 200, []string{"readyz check passed\n"}},
		{"all pass", map[string]Check{"mqtt": pass, "influxdb": pass}, []string{"mqtt", "influxdb"}, 200,
			[]string{"[+]mqtt ok\n[+]influxdb ok\nreadyz check passed\n"}},
		{"one fails, named with its reason", map[string]Check{
			"mqtt":     pass,
			"influxdb": func(context.Context) error { return errors.New("connection refused") },
		}, []string{"mqtt", "influxdb"}, 503,
			[]string{"[+]mqtt ok\n[-]influxdb failed: connection refused\nreadyz check failed\n"}},
		{"a multi-line reason stays on one line", map[string]Check{
			"spool": func(context.Context) error { return errors.New("open x:\nread-only  file system") },
		}, []string{"spool"}, 503, []string{"[-]spool failed: open x: read-only file system\n"}},
		{"a check past its deadline", map[string]Check{"reload": slow, "mqtt": pass}, []string{"reload", "mqtt"}, 503,
			[]string{"[-]reload failed: no answer within 50ms\n[+]mqtt ok\n"}},
		{"condition", map[string]Check{"uplink": Condition(func() bool { return false }, "not connected to the central broker")},
			[]string{"uplink"}, 503, []string{"[-]uplink failed: not connected to the central broker\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReadiness(50 * time.Millisecond)
			for _, n := range tt.order {
				r.Add(n, tt.checks[n])
			}
			mux := http.NewServeMux()
			Register(mux, r)
			code, body := get(t, mux, "/readyz")
			if code != tt.code {
				t.Errorf("status %d, want %d", code, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body %q lacks %q", body, w)
				}
			}
		})
	}
}

// TestChecksRunAtOnce: the answer takes one timeout, not one per check.
func TestChecksRunAtOnce(t *testing.T) {
	r := NewReadiness(100 * time.Millisecond)
	var running atomic.Int32
	for _, n := range []string{"a", "b", "c", "d"} {
		r.Add(n, func(ctx context.Context) error {
			running.Add(1)
			<-ctx.Done()
			return ctx.Err()
		})
	}
	res := r.Check(context.Background())
	if running.Load() != 4 || len(res) != 4 {
		t.Fatalf("%d checks ran, %d results", running.Load(), len(res))
	}
	for i, n := range []string{"a", "b", "c", "d"} {
		if res[i].Name != n || res[i].Err == nil {
			t.Errorf("result %d: %+v", i, res[i])
		}
	}
}

// TestReadyzFollowsTheDependency: the same registry answers 503 while a
// dependency is down and 200 once it is back; nothing is cached.
func TestReadyzFollowsTheDependency(t *testing.T) {
	var up atomic.Bool
	r := NewReadiness(0)
	r.Add("broker", Condition(up.Load, "not connected"))
	if code, body := get(t, r, "/readyz"); code != 503 || !strings.Contains(body, "[-]broker failed: not connected") {
		t.Fatalf("down: %d %q", code, body)
	}
	up.Store(true)
	if code, body := get(t, r, "/readyz"); code != 200 || !strings.Contains(body, "[+]broker ok") {
		t.Fatalf("up: %d %q", code, body)
	}
}

func TestAddRefusesWiringMistakes(t *testing.T) {
	ok := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name string
		add  func(r *Readiness)
	}{
		{"empty name", func(r *Readiness) { r.Add("", ok) }},
		{"name with a space", func(r *Readiness) { r.Add("the broker", ok) }},
		{"nil check", func(r *Readiness) { r.Add("mqtt", nil) }},
		{"twice", func(r *Readiness) { r.Add("mqtt", ok); r.Add("mqtt", ok) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.add(NewReadiness(0))
		})
	}
}

func TestHealthz(t *testing.T) {
	r := NewReadiness(0)
	r.Add("db", func(context.Context) error { return errors.New("down") })
	mux := http.NewServeMux()
	Register(mux, r)
	// Alive whatever the dependencies say.
	if code, body := get(t, mux, "/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", "/readyz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz = %d", rec.Code)
	}
}

func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	BuildInfo(reg, "agent", "1.2.3")
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `pscm_agent_build_info{goversion="` + runtime.Version() + `",version="1.2.3"} 1`
	if !strings.Contains(string(body), want) {
		t.Fatalf("exposition lacks %s:\n%s", want, body)
	}
	testenv.CheckMetrics(t, body)
}
