package testenv

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
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

// SlowClientsCut checks that each HTTP server at addrs (host:port) cuts a
// client that never finishes its request headers (slowloris): it opens a
// connection to each at once, sends half a request, and fails the test
// unless every server closes its connection within limit. Every pscm
// server reads headers for at most 5 s; without that bound, a few hundred
// such clients would hold every connection the process can take.
func SlowClientsCut(t testing.TB, limit time.Duration, addrs ...string) {
	t.Helper()
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Go(func() { errs[i] = slowClient(addr, limit) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("testenv: slow client to %s: %v", addrs[i], err)
		}
	}
}

func slowClient(addr string, limit time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(limit))
	_, err = io.Copy(io.Discard, conn)
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("a client with unfinished headers was kept open for %v", limit)
	}
	return nil
}
