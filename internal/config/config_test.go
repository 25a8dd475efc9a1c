package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type sample struct {
	Name    string        `yaml:"name"`
	Timeout time.Duration `yaml:"timeout"`
	Pass    Secret        `yaml:"pass"`
}

func (s *sample) Validate() error {
	if s.Name == "" {
		return errString("name: required")
	}
	return s.Pass.Validate()
}

type errString string

func (e errString) Error() string { return string(e) }

func TestDecode(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"ok", "name: a\ntimeout: 5s\n", ""},
		{"defaults kept", "name: a\n", ""},
		{"unknown key", "name: a\ntimout: 5s\n", "field timout not found"},
		{"bad duration", "name: a\ntimeout: five\n", "cannot unmarshal"},
		{"validation", "timeout: 5s\n", "name: required"},
		{"empty", "", "empty file"},
		{"two documents", "name: a\n---\nname: b\n", "more than one YAML document"},
		{"both secret sources", "name: a\npass: {file: /x, env: X}\n", "either file or env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sample{Timeout: time.Second}
			err := Decode([]byte(tt.yaml), s)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.name == "defaults kept" && s.Timeout != time.Second {
					t.Fatalf("default lost: %v", s.Timeout)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pass")
	if err := os.WriteFile(p, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := Secret{File: p}.Value()
	if err != nil || v != "s3cret" {
		t.Fatalf("file secret = %q, %v", v, err)
	}
	t.Setenv("PSCM_TEST_SECRET", "envsecret")
	v, err = Secret{Env: "PSCM_TEST_SECRET"}.Value()
	if err != nil || v != "envsecret" {
		t.Fatalf("env secret = %q, %v", v, err)
	}
	if _, err := (Secret{Env: "PSCM_TEST_SECRET_UNSET_X"}).Value(); err == nil {
		t.Fatal("unset env var accepted")
	}
	if s := (Secret{File: p}).String(); strings.Contains(s, "s3cret") {
		t.Fatalf("String leaks the secret: %s", s)
	}
	if _, err := (Secret{File: filepath.Join(dir, "missing")}).Value(); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestLoadTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.yml")
	if err := os.WriteFile(p, []byte("name: "+strings.Repeat("a", MaxFileSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Load(p, &sample{})
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
}
