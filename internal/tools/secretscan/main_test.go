package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFindsSecrets(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "secrets"), "kiosk-token-0123456789\nmqtt-password-abcdef\nkiosk-token-0123456789\n")
	write(t, filepath.Join(dir, "logs", "TestA.agent.log"), "level=INFO msg=started\nlevel=ERROR msg=\"auth failed\" token=kiosk-token-0123456789\n")
	write(t, filepath.Join(dir, "logs", "TestB.mosquitto.log"), "client connected\n")
	write(t, filepath.Join(dir, "go-test.out"), "ok pkg\n--- FAIL: x password mqtt-password-abcdef\n")
	var out bytes.Buffer
	err := run([]string{"-secrets", filepath.Join(dir, "secrets"), "-logs", filepath.Join(dir, "logs"), filepath.Join(dir, "go-test.out")}, &out)
	if err == nil || !strings.Contains(err.Error(), "2 log lines") {
		t.Fatalf("err %v, want 2 hits\n%s", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "TestA.agent.log:2: a secret in the log: level=ERROR msg=\"auth failed\" token=***") ||
		!strings.Contains(got, "go-test.out:2:") {
		t.Fatalf("report:\n%s", got)
	}
	if strings.Contains(got, "kiosk-token-0123456789") || strings.Contains(got, "mqtt-password-abcdef") {
		t.Fatalf("the report prints a secret:\n%s", got)
	}
}

func TestClean(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "secrets"), "kiosk-token-0123456789\n")
	write(t, filepath.Join(dir, "logs", "a.log"), "nothing here\n")
	var out bytes.Buffer
	if err := run([]string{"-secrets", filepath.Join(dir, "secrets"), "-logs", filepath.Join(dir, "logs")}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 secrets, 1 files, 1 lines") {
		t.Fatalf("summary %q", out.String())
	}
}

func TestRefusesAnEmptyOrWeakList(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "empty"), "")
	write(t, filepath.Join(dir, "short"), "abc\n")
	for name, want := range map[string]string{"empty": "no secrets registered", "short": "shorter than 10"} {
		err := run([]string{"-secrets", filepath.Join(dir, name)}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}
