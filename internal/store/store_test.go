package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/internal/config"
)

func newWriter(t *testing.T, url string) (*Writer, *Metrics) {
	t.Helper()
	cfg := Defaults()
	cfg.URL = url
	cfg.RetryInitial = time.Millisecond
	cfg.RetryMax = 5 * time.Millisecond
	m := NewMetrics(prometheus.NewRegistry(), "test")
	w, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w, m
}

// A fake InfluxDB (unit test): fails the first attempts with 503, then 204.
func TestRetriesUntilWritten(t *testing.T) {
	var calls atomic.Int32
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		body.Store(string(b))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	w, m := newWriter(t, srv.URL)
	if err := w.Write(context.Background(), []byte("rating,site=a id=\"1\" 1\n"), 1); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 {
		t.Fatalf("%d calls, want 4", calls.Load())
	}
	if got := body.Load().(string); got != "rating,site=a id=\"1\" 1\n" {
		t.Fatalf("body %q", got)
	}
	if got := testutil.ToFloat64(m.writeErrors.WithLabelValues("retryable")); got != 3 {
		t.Errorf("retryable errors = %v", got)
	}
	if !w.Up() {
		t.Error("not up after a write")
	}
}

func TestBadRequestIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What InfluxDB 1.8 sends: the message in a header and a JSON body.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Influxdb-Error", `partial write: field type conflict: input field "fps" on measurement "camera" is type integer, already exists as type float dropped=2`)
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"partial write: field type conflict: input field \"fps\" on measurement \"camera\" is type integer, already exists as type float dropped=2"}`)
	}))
	defer srv.Close()
	w, m := newWriter(t, srv.URL)
	err := w.Write(context.Background(), []byte("a x=1 1\nb x=1 2\nc x=1 3\n"), 3)
	var pe *PermanentError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PermanentError", err)
	}
	if pe.Dropped != 2 || pe.StatusCode != 400 {
		t.Fatalf("pe = %+v", pe)
	}
	if got := testutil.ToFloat64(m.dropped); got != 2 {
		t.Errorf("dropped = %v", got)
	}
}

func TestUnauthorizedIsRetriedUntilContextEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	w, _ := newWriter(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Write(ctx, []byte("a x=1 1\n"), 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; a 401 must be retried, never dropped", err)
	}
}

func TestValidate(t *testing.T) {
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.URL = "ftp://x" },
		func(c *Config) { c.URL = "http://u:p@x:8086" },
		func(c *Config) { c.Bucket = "" },
		func(c *Config) { c.RetryMax = c.RetryInitial / 2 },
	} {
		c := Defaults()
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}

// TestCheck: the token is read as New reads it, with the same words, so a
// token file that is missing or empty fails -config.check too.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.token")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token config.Secret
		want  string
	}{
		{config.Secret{}, ""},
		{config.Secret{File: filepath.Join(dir, "missing.token")}, "influxdb token: read secret file"},
		{config.Secret{File: empty}, "influxdb token: secret file " + empty + " is empty"},
	} {
		c := Defaults()
		c.Token = tc.token
		err := c.Check()
		w, nerr := New(c, slog.New(slog.DiscardHandler), NewMetrics(prometheus.NewRegistry(), "test"))
		if w != nil {
			w.Close()
		}
		if fmt.Sprint(err) != fmt.Sprint(nerr) {
			t.Errorf("%v: Check %v, New %v: they must agree", tc.token, err, nerr)
		}
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %q", tc.token, err, tc.want)
		}
	}
}
