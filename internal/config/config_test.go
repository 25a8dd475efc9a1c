package config

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
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
		{"both secret sources", "name: a\npass: {file: /x, env: X}\n", "set one of file, env or credential"},
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
	// Set but empty is a forgotten step, never a credential.
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (Secret{File: empty}).Value(); err == nil || !strings.Contains(err.Error(), "secret file "+empty+" is empty") {
		t.Fatalf("empty file: %v", err)
	}
	t.Setenv("PSCM_TEST_SECRET_EMPTY", "")
	if _, err := (Secret{Env: "PSCM_TEST_SECRET_EMPTY"}).Value(); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("empty variable: %v", err)
	}
	if v, err := (Secret{}).Value(); v != "" || err != nil {
		t.Fatalf("unset secret: %q, %v", v, err)
	}
}

// TestReadDoesNotValidate: Read decodes strictly and leaves Validate to the
// caller; Load does both.
func TestReadDoesNotValidate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(p, []byte("timeout: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var s sample
	if err := Read(p, &s); err != nil || s.Timeout != 5*time.Second {
		t.Fatalf("Read: %v %+v", err, s)
	}
	if err := Load(p, &sample{}); err == nil || !strings.Contains(err.Error(), "c.yml: name: required") {
		t.Fatalf("Load: %v", err)
	}
	if err := os.WriteFile(p, []byte("timout: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Read(p, &s); err == nil || !strings.Contains(err.Error(), "field timout not found") {
		t.Fatalf("Read of an unknown key: %v", err)
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

func TestServerTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := testenv.SelfSignedCert(t)
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(cert, certPEM, 0o600)
	os.WriteFile(key, keyPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a key"), 0o600)
	for _, tc := range []struct {
		name string
		tls  ServerTLS
		want string
	}{
		{"off", ServerTLS{}, ""},
		{"pair", ServerTLS{CertFile: cert, KeyFile: key}, ""},
		{"cert only", ServerTLS{CertFile: cert}, "go together"},
		{"missing file", ServerTLS{CertFile: cert, KeyFile: filepath.Join(dir, "nope")}, "no such file"},
		{"not a key", ServerTLS{CertFile: cert, KeyFile: filepath.Join(dir, "junk.pem")}, "load certificate"},
	} {
		err := tc.tls.Check()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		// Validate reads no file: only the pairing rule is its.
		if err := tc.tls.Validate(); (err != nil) != (tc.want == "go together") {
			t.Errorf("%s: Validate %v", tc.name, err)
		}
	}

	// Serve: HTTPS with the pair, TLS 1.2 at least.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	done := make(chan error, 1)
	go func() { done <- ServerTLS{CertFile: cert, KeyFile: key}.Serve(srv, ln) }()
	defer func() { srv.Close(); <-done }()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	for _, tc := range []struct {
		max uint16
		ok  bool
	}{{tls.VersionTLS13, true}, {tls.VersionTLS11, false}} {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tc.max}}}
		resp, err := c.Get("https://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("TLS max version %x: %v, want ok=%v", tc.max, err, tc.ok)
		}
	}
}

func TestWeakSecret(t *testing.T) {
	for _, tc := range []struct {
		v, want string
	}{
		{"k3y-9", "shorter than 10"},
		{"Password123", "well-known default"},
		{"ADMINISTRATOR", "well-known default"},
		{"1234567890", "well-known default"},
		{"please-changeme-now", "placeholder"},
		{"kkkkkkkkkkkkkkkkkkkk", "one character repeated"},
		{"correct horse battery", ""},
		{"mật-khẩu-an-lão-2026", ""},
	} {
		err := WeakSecret(tc.v, MinPasswordLen)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q refused: %v", tc.v, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want %q", tc.v, err, tc.want)
		case err != nil && strings.Contains(err.Error(), tc.v):
			t.Errorf("the message shows the secret: %v", err)
		}
	}
}

type secretFile struct {
	Token Secret `yaml:"token"`
}

func (secretFile) Validate() error { return nil }

func TestSecretYAML(t *testing.T) {
	var f secretFile
	if err := Decode([]byte("token: {file: /etc/pscm/t, }\n"), &f); err != nil || f.Token.File != "/etc/pscm/t" {
		t.Fatalf("file form: %v %+v", err, f)
	}
	if err := Decode([]byte("token:\n  env: PSCM_TOKEN\n"), &f); err != nil || f.Token.Env != "PSCM_TOKEN" {
		t.Fatalf("env form: %v %+v", err, f)
	}
	for y, want := range map[string]string{
		"token: inline-secret-0123456789\n":      "line 1: a secret is never written in the file: use {file:",
		"token: [inline-secret-0123456789]\n":    "line 1: a secret is never written",
		"token: {fil: /etc/pscm/t}\n":            "field fil not found in a secret",
		"token: {file: [inline-secret-01234]}\n": "file: want a path",
	} {
		err := Decode([]byte(y), &f)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", y, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "inline") {
			t.Errorf("%q: the error quotes the secret: %v", y, err)
		}
	}
}

// TestSecretCredential: {credential: NAME} reads $CREDENTIALS_DIRECTORY/NAME,
// where systemd's LoadCredential= puts it; a path is refused (it would
// reach outside that directory), and without the directory the error says
// how to start.
func TestSecretCredential(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mqtt.pass"), []byte("cred-s3cret\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	if v, err := (Secret{Credential: "mqtt.pass"}).Value(); err != nil || v != "cred-s3cret" {
		t.Fatalf("credential = %q, %v", v, err)
	}
	if s := (Secret{Credential: "mqtt.pass"}).String(); s != "credential:mqtt.pass" {
		t.Errorf("String = %q", s)
	}
	for _, bad := range []string{"../mqtt.pass", "sub/mqtt.pass", "/etc/shadow", "..", "."} {
		if _, err := (Secret{Credential: bad}).Value(); err == nil || !strings.Contains(err.Error(), "not a path") {
			t.Errorf("credential %q: %v", bad, err)
		}
	}
	if err := (Secret{Credential: "a", File: "b"}).Validate(); err == nil {
		t.Error("two sources accepted")
	}
	if _, err := (Secret{Credential: "missing.pass"}).Value(); err == nil || !strings.Contains(err.Error(), "read secret file") {
		t.Errorf("missing credential: %v", err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	if _, err := (Secret{Credential: "mqtt.pass"}).Value(); err == nil || !strings.Contains(err.Error(), "LoadCredential=mqtt.pass:") {
		t.Errorf("no credentials directory: %v", err)
	}
	var c struct {
		Pass Secret `yaml:"pass"`
	}
	if err := decode([]byte("pass: {credential: mqtt.pass}\n"), &c); err != nil || c.Pass.Credential != "mqtt.pass" {
		t.Errorf("YAML credential: %+v, %v", c.Pass, err)
	}
}
