package mqttconn

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// token is an mqtt.Token whose outcome the test sets.
type token struct {
	answered bool
	err      error
}

func (t token) Wait() bool                     { return t.answered }
func (t token) WaitTimeout(time.Duration) bool { return t.answered }
func (t token) Done() <-chan struct{}          { c := make(chan struct{}); close(c); return c }
func (t token) Error() error                   { return t.err }

// TestSubscribeResult covers what a token says without a broker; a broker's
// 0x80 refusal is not reproducible with Mosquitto 2.0, which grants a
// subscription its ACL denies and then delivers nothing.
func TestSubscribeResult(t *testing.T) {
	for _, tc := range []struct {
		name string
		tok  token
		want string
	}{
		{"granted", token{answered: true}, ""},
		{"no answer", token{}, "no SUBACK within 30s"},
		{"error", token{answered: true, err: errors.New("connection lost before Subscribe completed")}, "connection lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := SubscribeResult(tc.tok, 30*time.Second)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("SubscribeResult = %v, want %q", err, tc.want)
			}
		})
	}
}
