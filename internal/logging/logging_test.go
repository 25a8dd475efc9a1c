package logging

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr string
		wantOut string
	}{
		{Config{Level: "info", Format: "text"}, "", "level=INFO msg=hello"},
		{Config{Level: "debug", Format: "json"}, "", `"msg":"hello"`},
		{Config{Level: "warn", Format: "text"}, "", ""},
		{Config{Level: "loud", Format: "text"}, `log.level: "loud"`, ""},
		{Config{Level: "info", Format: "xml"}, `log.format: "xml"`, ""},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log, err := tt.cfg.New(&buf)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%+v: err = %v, want %q", tt.cfg, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", tt.cfg, err)
		}
		log.Info("hello")
		if tt.wantOut == "" && buf.Len() != 0 || !strings.Contains(buf.String(), tt.wantOut) {
			t.Errorf("%+v: wrote %q, want %q", tt.cfg, buf.String(), tt.wantOut)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(10 * time.Second)
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	if ok, n := l.Allow("k01", t0); !ok || n != 0 {
		t.Fatalf("first line: %v, %d", ok, n)
	}
	for i := range 4998 {
		if ok, _ := l.Allow("k01", t0.Add(time.Duration(i)*time.Millisecond)); ok {
			t.Fatalf("line %d let through inside the interval", i)
		}
	}
	if ok, _ := l.Allow("k02", t0); !ok {
		t.Fatal("another key held back")
	}
	if ok, n := l.Allow("k01", t0.Add(10*time.Second)); !ok || n != 4998 {
		t.Fatalf("after the interval: %v, %d held back; want true, 4998", ok, n)
	}
	for i := range 3 * maxKeys {
		l.Allow(fmt.Sprint("scanner-", i), t0.Add(11*time.Second))
	}
	if len(l.keys) > maxKeys {
		t.Fatalf("%d keys remembered, want at most %d", len(l.keys), maxKeys)
	}
}
