package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// The whole suite's secrets check (issue 7: no secret in any log): `make
// test` points these at a fresh directory, tests register every password,
// token and key they hand to the code under test with Secret, every log the
// harness sees is kept there (servers' and programs' logs, in-process logs
// given to Keep), and after the suite cmd/secretscan looks for each secret
// in each kept log line. Outside `make test` (unset) nothing is kept.
const (
	// SecretsEnv names the file the secrets are appended to, one per line.
	SecretsEnv = "PSCM_TEST_SECRETS"
	// LogsEnv names the directory kept logs are written to.
	LogsEnv = "PSCM_TEST_LOGS"
)

// MinSecretLen is the shortest secret Secret accepts: shorter strings would
// turn up in logs by chance.
const MinSecretLen = 10

// Secret registers v as a secret the suite's logs must never show, and
// returns it: `pw := testenv.Secret(t, "s3cret-of-the-test")`.
func Secret(t testing.TB, v string) string {
	t.Helper()
	if len(v) < MinSecretLen {
		t.Fatalf("testenv: secret %q shorter than %d characters: too likely to appear by chance", v, MinSecretLen)
	}
	if strings.Count(v, v[:1]) == len(v) {
		// "kkkk..." turns up in hostile-input tests' logs.
		t.Fatalf("testenv: secret %q is one character repeated: too likely to appear by chance", v)
	}
	path := os.Getenv(SecretsEnv)
	if path == "" {
		return v
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("testenv: secrets file: %v", err)
	}
	defer f.Close()
	// One write of one short line: appends from parallel test binaries do
	// not interleave.
	if _, err := f.WriteString(v + "\n"); err != nil {
		t.Fatalf("testenv: secrets file: %v", err)
	}
	return v
}

// Keep writes log's content to the kept-logs directory when the test ends,
// for the suite's secrets check. log is typically a *SyncBuffer holding an
// in-process program's log.
func Keep(t testing.TB, name string, log fmt.Stringer) {
	t.Helper()
	if os.Getenv(LogsEnv) == "" {
		return
	}
	t.Cleanup(func() { keepBytes(t, name, []byte(log.String())) })
}

// KeepFile keeps the log file at path when the test ends (cleanups run in
// reverse order: call it before registering the cleanup that stops the
// program writing it, so the copy is complete).
func KeepFile(t testing.TB, name, path string) {
	t.Helper()
	if os.Getenv(LogsEnv) == "" {
		return
	}
	t.Cleanup(func() { keepFile(t, name, path) })
}

// keepFile copies a log file (a server's or a program's) to the kept-logs
// directory; a missing file is nothing to keep.
func keepFile(t testing.TB, name, path string) {
	if os.Getenv(LogsEnv) == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	keepBytes(t, name, b)
}

var keptSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func keepBytes(t testing.TB, name string, b []byte) {
	dir := os.Getenv(LogsEnv)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Errorf("testenv: kept logs: %v", err)
		return
	}
	file := fmt.Sprintf("%s.%s.%d.%d.log", unsafeName.ReplaceAllString(t.Name(), "_"), unsafeName.ReplaceAllString(name, "_"),
		os.Getpid(), keptSeq.Add(1))
	if err := os.WriteFile(filepath.Join(dir, file), b, 0o600); err != nil {
		t.Errorf("testenv: kept logs: %v", err)
	}
}
