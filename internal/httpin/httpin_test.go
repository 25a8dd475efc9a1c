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
	if st, _ := Status(err); !errors.Is(err, ErrTooLarge) || st != http.StatusRequestEntityTooLarge {
		t.Fatalf("too large: %v, %d", err, st)
	}
	_, err = ReadBody(w, httptest.NewRequest(http.MethodPost, "/", &cutReader{}), 100)
	if st, reason := Status(err); !errors.Is(err, ErrIncomplete) || st != http.StatusRequestTimeout || reason != "incomplete_body" {
		t.Fatalf("cut body: %v, %d %s; want 408 incomplete_body", err, st, reason)
	}
}
