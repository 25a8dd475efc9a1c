package httpin

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBearer(t *testing.T) {
	for _, tc := range []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc", "abc", true},
		{"Bearer\tabc", "abc", true},
		{"Bearer abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic YWJj", "", false},
		{"Bearer a b", "", false},
		{"", "", false},
		{"Bearerabc", "", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		tok, ok := Bearer(r)
		if ok != tc.ok || ok && tok != tc.token {
			t.Errorf("%q: %q, %v; want %q, %v", tc.header, tok, ok, tc.token, tc.ok)
		}
	}
}

// cutReader returns some bytes, then an unexpected EOF: a client that hung up.
type cutReader struct{ sent bool }

func (c *cutReader) Read(p []byte) (int, error) {
	if c.sent {
		return 0, io.ErrUnexpectedEOF
	}
	c.sent = true
	return copy(p, `{"level":`), nil
}

func TestReadBody(t *testing.T) {
	w := httptest.NewRecorder()
	if b, err := ReadBody(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"a":1}`)), 100); err != nil || string(b) != `{"a":1}` {
		t.Fatalf("whole body: %q, %v", b, err)
	}
	_, err := ReadBody(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 101))), 100)
	if st, _, _ := Status(err, 100); !errors.Is(err, ErrTooLarge) || st != http.StatusRequestEntityTooLarge {
		t.Fatalf("too large: %v, %d", err, st)
	}
	_, err = ReadBody(w, httptest.NewRequest(http.MethodPost, "/", &cutReader{}), 100)
	if st, reason, _ := Status(err, 100); !errors.Is(err, ErrIncomplete) || st != http.StatusRequestTimeout || reason != "incomplete_body" {
		t.Fatalf("cut body: %v, %d %s; want 408 incomplete_body", err, st, reason)
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"127.0.0.1", "10.1.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrefixes([]string{"proxy.example"}); err == nil {
		t.Fatal("a host name taken as a proxy address")
	}
	xff := ClientIP(trusted, "X-Forwarded-For")
	real := ClientIP(trusted, "X-Real-IP")
	for _, tc := range []struct {
		name, peer string
		header     map[string]string
		f          func(*http.Request) string
		want       string
	}{
		{"no proxy", "203.0.113.5:1000", nil, xff, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:1000", map[string]string{"X-Forwarded-For": "10.9.9.9"}, xff, "203.0.113.5"},
		{"trusted proxy", "127.0.0.1:1000", map[string]string{"X-Forwarded-For": "198.51.100.7"}, xff, "198.51.100.7"},
		{"client-written entries left of the proxy's", "127.0.0.1:1000", map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.7"}, xff, "198.51.100.7"},
		{"two trusted proxies", "127.0.0.1:1000", map[string]string{"X-Forwarded-For": "198.51.100.7, 10.1.2.3"}, xff, "198.51.100.7"},
		{"garbage header", "127.0.0.1:1000", map[string]string{"X-Forwarded-For": "not-an-address"}, xff, "127.0.0.1"},
		{"no header from the proxy", "127.0.0.1:1000", nil, xff, "127.0.0.1"},
		{"X-Real-IP", "127.0.0.1:1000", map[string]string{"X-Real-IP": "198.51.100.8"}, real, "198.51.100.8"},
		{"X-Real-IP from an untrusted peer", "192.0.2.1:1000", map[string]string{"X-Real-IP": "198.51.100.8"}, real, "192.0.2.1"},
		{"IPv6 peer", "[2001:db8::1]:1000", nil, xff, "2001:db8::1"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.peer
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		if got := tc.f(r); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
