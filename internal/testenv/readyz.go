package testenv

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// WaitReadyz polls base+"/readyz" (internal/health's format) until it
// answers status want with every one of lines among its lines, and returns
// that body; after timeout it fails the test with the last answer.
func WaitReadyz(t testing.TB, base string, timeout time.Duration, want int, lines ...string) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	var code int
	var body string
	for end := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		code, body = resp.StatusCode, string(b)
		ok := code == want
		for _, l := range lines {
			ok = ok && strings.Contains(body, l+"\n")
		}
		if ok {
			return body
		}
		if time.Now().After(end) {
			t.Fatalf("/readyz = %d %q, want %d with %q", code, body, want, lines)
		}
	}
}
