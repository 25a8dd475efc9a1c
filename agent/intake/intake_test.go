package intake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/timezone"
)

const token = "anlao-intake-token-0123456789"

func open(t *testing.T, dir, dashboard string, maxPending int) *Desk {
	t.Helper()
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(testenv.Secret(t, token)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Defaults()
	cfg.Enabled = true
	cfg.Dashboard, cfg.PublicURL, cfg.Token, cfg.MaxPending = dashboard, "https://pscm.example.vn/tra-cuu", config.Secret{File: tokFile}, maxPending
	now := func() time.Time { return time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC) } // 1/1/2027 in Vietnam
	d, err := Open(cfg, "anlao", dir, timezone.Vietnam(), slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewPedanticRegistry(), now)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A case gets its number and code at once, is on disk before the answer,
// and numbers never repeat across a restart; bad input changes nothing.
func TestTake(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, "https://pscm.example.vn/api/intake", 3)
	for name, tc := range map[string]struct {
		kind           cases.Kind
		message, phone string
	}{
		"a complaint":   {cases.KindComplaint, "x", ""},
		"unknown kind":  {"than_phien", "x", ""},
		"empty":         {cases.KindFeedback, "  \n ", ""},
		"too long":      {cases.KindFeedback, strings.Repeat("ư", cases.MaxMessage+1), ""},
		"control chars": {cases.KindFeedback, "a\x00b", ""},
		"bad phone":     {cases.KindFeedback, "x", "12345"},
	} {
		if _, err := d.Take(tc.kind, "c01", tc.message, tc.phone); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	r, err := d.Take(cases.KindReflection, "c03", "Chờ lâu quá, không ai hướng dẫn.", "0912 345 678")
	if err != nil {
		t.Fatal(err)
	}
	if r.Number != "anlao-2027-K000001" || len(r.Code) != 8 {
		t.Fatalf("receipt %+v", r)
	}
	u, _ := url.Parse(r.URL)
	if u.Host != "pscm.example.vn" || u.Query().Get("so") != r.Number || u.Query().Get("ma") != r.Code {
		t.Fatalf("status URL %s", r.URL)
	}
	var kept Case
	b, err := os.ReadFile(filepath.Join(dir, r.Number+".json"))
	if err != nil || json.Unmarshal(b, &kept) != nil || kept.Phone != "0912345678" || kept.Channel != cases.ChannelKiosk || kept.Counter != "c03" {
		t.Fatalf("kept %s (%v)", b, err)
	}
	// A restart: the numbering goes on, the waiting case is counted.
	d = open(t, dir, "https://pscm.example.vn/api/intake", 3)
	if d.pending != 1 {
		t.Fatalf("pending after a restart: %d", d.pending)
	}
	r2, err := d.Take(cases.KindFeedback, "c01", "Nên có thêm ghế.", "")
	if err != nil || r2.Number != "anlao-2027-K000002" {
		t.Fatalf("after a restart: %+v %v", r2, err)
	}
	if _, err := d.Take(cases.KindFeedback, "c01", "Ba.", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Take(cases.KindFeedback, "c01", "Bốn.", ""); !errors.Is(err, ErrFull) {
		t.Fatalf("past max_pending: %v", err)
	}
}

// The sender: in order, again after failures, a case the dashboard
// refuses for good moved aside, a retry it already has answered and done.
func TestSend(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fails := 2
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var c Case
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			t.Errorf("body: %v", err)
		}
		if fails > 0 {
			fails--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got = append(got, c.Number)
		switch c.Message {
		case "refused":
			w.WriteHeader(http.StatusBadRequest)
		case "again":
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	d := open(t, dir, srv.URL+"/api/intake", 10)
	for _, m := range []string{"first", "refused", "again"} {
		if _, err := d.Take(cases.KindFeedback, "c01", m, ""); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	testenv.Eventually(t, 20*time.Second, 50*time.Millisecond, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.pending == 0
	}, "cases still pending")
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, " ") != "anlao-2027-K000001 anlao-2027-K000002 anlao-2027-K000003" {
		t.Fatalf("sent %v", got)
	}
	left, _ := d.pendingFiles()
	refused, _ := os.ReadDir(filepath.Join(dir, "refused"))
	if len(left) != 0 || len(refused) != 1 || refused[0].Name() != "anlao-2027-K000002.json" {
		t.Fatalf("left %v, refused %v", left, refused)
	}
}
