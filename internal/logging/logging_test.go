package logging

import (
	"bytes"
	"strings"
	"testing"
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
