// Package config loads pscm's YAML configuration files strictly: an unknown
// key is an error, not a silently ignored typo, because a misspelt limit in a
// monitoring system fails quietly exactly when it matters.
package config

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a configuration file; nothing legitimate comes close.
const MaxFileSize = 1 << 20

// Validator is implemented by every program's Config.
type Validator interface {
	Validate() error
}

// Load reads path into dst strictly and then calls dst.Validate. dst must
// already hold the defaults: keys absent from the file keep them.
func Load(path string, dst Validator) error {
	if err := Read(path, dst); err != nil {
		return err
	}
	if err := dst.Validate(); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// Read reads path into dst strictly, without validating: for a loader that
// derives defaults from other keys (the agent's MQTT client IDs, from its
// name) between decoding and Validate, so that Validate only checks.
func Read(path string, dst any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return fmt.Errorf("config: %s: larger than %d bytes", path, MaxFileSize)
	}
	if err := decode(data, dst); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// Decode decodes YAML bytes into dst strictly and validates the result.
func Decode(data []byte, dst Validator) error {
	if err := decode(data, dst); err != nil {
		return err
	}
	return dst.Validate()
}

func decode(data []byte, dst any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty file")
		}
		return err
	}
	// A second document would be silently ignored by a single Decode; refuse it.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	return nil
}

// Secret is a credential read from a file, an environment variable or a
// systemd credential, never written inline in the YAML: config files get
// copied into tickets and chats. Its String and MarshalText never reveal the
// value.
type Secret struct {
	File string `yaml:"file"`
	Env  string `yaml:"env"`
	// Credential names a file of $CREDENTIALS_DIRECTORY, where systemd puts
	// what the unit's LoadCredential= lines load: the secret files stay
	// root's, and each service reads only its own (a per-service user
	// could otherwise be given read access to the wrong file by mistake).
	Credential string `yaml:"credential"`
}

// UnmarshalYAML refuses a secret written inline, without quoting it (a YAML
// type error would print its first characters), and accepts only the file
// and env keys: this decoder is called outside the strict decoder's
// known-fields check, so it does that check itself.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a secret is never written in the file: use {file: /path/to/secret} or {env: VARIABLE}", n.Line)
	}
	var out Secret
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: %s: want a path or a variable name", v.Line, k.Value)
		}
		switch k.Value {
		case "file":
			out.File = v.Value
		case "env":
			out.Env = v.Value
		case "credential":
			out.Credential = v.Value
		default:
			return fmt.Errorf("line %d: field %s not found in a secret (file, env or credential)", k.Line, k.Value)
		}
	}
	*s = out
	return nil
}

// IsSet reports whether a source is configured.
func (s Secret) IsSet() bool { return s.File != "" || s.Env != "" || s.Credential != "" }

// Validate checks that at most one source is given, and that a credential
// is a plain name.
func (s Secret) Validate() error {
	n := 0
	for _, v := range []string{s.File, s.Env, s.Credential} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return errors.New("set one of file, env or credential, not several")
	}
	if c := s.Credential; c != "" && (strings.ContainsAny(c, "/\\\x00") || c == "." || c == "..") {
		return fmt.Errorf("credential %q: a name in $CREDENTIALS_DIRECTORY, not a path", c)
	}
	return nil
}

// Value reads the secret. An unset Secret yields "". Trailing newlines from
// `echo secret > file` are trimmed. A set secret that reads as empty (an
// empty file, a variable set to "") is an error: it is a step of the
// installation forgotten, never a credential.
func (s Secret) Value() (string, error) {
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			// The path is not secret; the content is never printed.
			return "", fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", s.File)
		}
		return v, nil
	case s.Credential != "":
		if err := s.Validate(); err != nil {
			return "", err
		}
		dir := os.Getenv("CREDENTIALS_DIRECTORY")
		if dir == "" {
			return "", fmt.Errorf("credential %s: $CREDENTIALS_DIRECTORY is not set (start under systemd, with LoadCredential=%s:/path)", s.Credential, s.Credential)
		}
		return Secret{File: filepath.Join(dir, s.Credential)}.Value()
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("secret environment variable %s is not set", s.Env)
		}
		if v == "" {
			return "", fmt.Errorf("secret environment variable %s is empty", s.Env)
		}
		return v, nil
	}
	return "", nil
}

// String describes where the secret comes from, never what it is.
func (s Secret) String() string {
	switch {
	case s.File != "":
		return "file:" + s.File
	case s.Env != "":
		return "env:" + s.Env
	case s.Credential != "":
		return "credential:" + s.Credential
	}
	return "unset"
}

// ServerTLS is an HTTP server's certificate and key (PEM files, for example
// from scripts/certs.sh). Empty means plain HTTP: on loopback, or behind a
// proxy that terminates TLS.
type ServerTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether the server serves HTTPS.
func (t ServerTLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Validate checks that both files are given or neither. Check loads them.
func (t ServerTLS) Validate() error {
	if t.Enabled() && (t.CertFile == "" || t.KeyFile == "") {
		return errors.New("cert_file and key_file go together")
	}
	return nil
}

// Check loads the certificate and key and checks that they form a pair, so
// a wrong path or a key of another certificate fails -config.check and the
// start, rather than the first browser.
func (t ServerTLS) Check() error {
	if err := t.Validate(); err != nil || !t.Enabled() {
		return err
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		return fmt.Errorf("load certificate: %w", err)
	}
	return nil
}

// Serve serves srv on ln: HTTPS (TLS 1.2 or later) when t is enabled,
// plain HTTP otherwise.
func (t ServerTLS) Serve(srv *http.Server, ln net.Listener) error {
	if !t.Enabled() {
		return srv.Serve(ln)
	}
	if srv.TLSConfig == nil {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return srv.ServeTLS(ln, t.CertFile, t.KeyFile)
}

// MinPasswordLen is the shortest password or token WeakSecret accepts by
// default.
const MinPasswordLen = 10

// wellKnown are passwords that come with devices, tutorials and vendor
// manuals, or that people type first; compared case-insensitively.
var wellKnown = []string{
	"admin", "administrator", "root", "password", "passw0rd", "password1", "password123", "123456", "1234567",
	"12345678", "123456789", "1234567890", "12345", "qwerty", "qwerty123", "abc123", "111111", "000000",
	"letmein", "welcome", "secret", "default", "changeme", "change-me", "test", "test123", "demo", "guest",
	"pscm", "pscm123", "admin123", "admin@123", "matkhau", "matkhau123", "motcua", "123456a", "hcc123",
}

// WeakSecret says why v must not be used as a password or token outside a
// demo: shorter than min characters, a well-known default, one character
// repeated, or a placeholder from an example file. It never includes v in
// its message.
func WeakSecret(v string, min int) error {
	if len([]rune(v)) < min {
		return fmt.Errorf("shorter than %d characters", min)
	}
	lower := strings.ToLower(v)
	for _, w := range wellKnown {
		if lower == w {
			return errors.New("a well-known default password")
		}
	}
	for _, p := range []string{"changeme", "change-me", "change_me", "example", "replace-me", "your-password", "xxxxxxxx"} {
		if strings.Contains(lower, p) {
			return errors.New("a placeholder from an example, not a real secret")
		}
	}
	if strings.Count(v, v[:1]) == len(v) {
		return errors.New("one character repeated")
	}
	return nil
}

// DirWritable checks that dir takes a new file: a disk remounted read-only,
// a lost mount or a wrong owner shows here, at start or in /readyz, not at
// the first write that matters. The probe file's name starts with a dot and
// it is removed at once.
func DirWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	err = f.Close()
	if rerr := os.Remove(f.Name()); err == nil {
		err = rerr
	}
	return err
}
