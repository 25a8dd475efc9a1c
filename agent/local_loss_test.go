//go:build linux

package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/agent/ratings"
	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// waitSubscribed waits for the agent's subscription on the center's broker:
// what is published before it is not queued for the agent.
func waitSubscribed(t *testing.T, a *agentProc) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		return strings.Contains(a.logs.String(), "subscribed on the center's broker")
	}, "agent never subscribed on the center's broker")
}

// TestLocalMessagesRetriedWhileSpoolFull: button presses and a queue step
// published on the center's broker while the spool is full (max_records,
// uplink down) are not left unacknowledged until some reconnect: the agent
// retries them, in order, and each arrives once as soon as the spool has
// room again.
func TestLocalMessagesRetriedWhileSpoolFull(t *testing.T) {
	w := newWorld(t)
	w.central.Stop(t)
	a := w.startAgent(t, agentOpts{minInterval: "0s", maxRecords: 3})
	waitSubscribed(t, a)
	for i := range 3 {
		if code, body := press(t, a.addr, "k01", "satisfied", fmt.Sprintf("fill-%d", i)); code != 200 {
			t.Fatalf("press %d: %d %v", i, code, body)
		}
	}
	if code, _ := press(t, a.addr, "k01", "satisfied", "over"); code != 503 {
		t.Fatalf("press with the spool full: HTTP %d, want 503", code)
	}

	pub := localPublisher(t, w)
	pubLocal := func(topic, payload string) {
		tok := pub.Publish(topic, 1, false, payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	pubLocal("pscm/v1/anlao/kiosk/k02/press", `{"button":1,"seq":1}`)
	pubLocal("pscm/v1/anlao/kiosk/k01/press", `{"button":4,"seq":1}`)
	step := `{"id":"full-q1","ts":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","site":"anlao","ticket":"F001","service":"ho-tich","step":"issued"}`
	pubLocal("pscm/v1/anlao/queue", step)
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		return strings.Contains(a.logs.String(), "not spooled; retrying until it is")
	}, "the agent never tried to spool the button press")

	w.central.Start(t)
	testenv.Eventually(t, 30*time.Second, 50*time.Millisecond, func() bool {
		return count(t, w, "rating") == 5 && count(t, w, "queue") == 1
	}, "after the spool had room: %d ratings (want 3 taps + 2 buttons), %d queue steps (want 1)",
		count(t, w, "rating"), count(t, w, "queue"))
	if !strings.Contains(a.logs.String(), "spooled after retrying") {
		t.Error("no log line saying the press was spooled by a retry")
	}
	// In order: k02's press (published first) was stamped before k01's.
	s := w.db.Query(t, `SELECT id, kiosk, level FROM rating WHERE level = 'very_satisfied' OR level = 'dissatisfied'`)
	if len(s) != 1 || len(s[0].Values) != 2 || s[0].Values[0][2] != "k02" || s[0].Values[1][2] != "k01" {
		t.Fatalf("button ratings %+v, want k02 very_satisfied then k01 dissatisfied", s)
	}
	// Nothing more comes: each was spooled exactly once.
	time.Sleep(time.Second) // a second redelivery would arrive well within this
	if r, q := count(t, w, "rating"), count(t, w, "queue"); r != 5 || q != 1 {
		t.Fatalf("%d ratings, %d queue steps after settling, want 5 and 1", r, q)
	}
}

// TestDiskFullAnswers503AndRetries: with the spool's disk really full
// (ENOSPC on a small tmpfs) a tap gets 503 with Retry-After, never a 500,
// and a button press on the center's broker waits in the agent; once the
// uplink has forwarded the spool the agent gives back the acknowledged
// segment's space by itself, and the press arrives.
func TestDiskFullAnswers503AndRetries(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(w.dir, "spool") // agentConfig's spool dir
	if err := testenv.MountTmpfs(t, dir, 1<<20); err != nil {
		t.Fatalf("%v: run the agent tests as root (make test does, in CI)", err)
	}
	a := w.startAgent(t, agentOpts{minInterval: "0s"})
	waitSubscribed(t, a)
	// One press through, so the ack cursor exists before the disk fills.
	if code, _ := press(t, a.addr, "k01", "satisfied", "before"); code != 200 {
		t.Fatalf("first press: HTTP %d", code)
	}
	testenv.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool { return count(t, w, "rating") == 1 },
		"first rating not in InfluxDB")
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		_, err := os.Stat(filepath.Join(dir, "ack"))
		return err == nil
	}, "the spool never saved its cursor")

	w.central.Stop(t)
	filler := testenv.FillFS(t, dir, 16<<10)
	accepted := 1
	var code int
	var hdr http.Header
	for i := 0; i < 200; i++ {
		code, hdr = tapWithHeader(t, a.addr, "k01", fmt.Sprintf("disk-%03d", i))
		if code != 200 {
			break
		}
		accepted++
	}
	if code != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("press on a full disk: HTTP %d, Retry-After %q; want 503 with Retry-After", code, hdr.Get("Retry-After"))
	}
	if accepted == 1 {
		t.Fatal("no press fitted in 16 KiB: the test proves nothing about presses accepted before the disk filled")
	}

	pub := localPublisher(t, w)
	if tok := pub.Publish("pscm/v1/anlao/kiosk/k02/press", 1, false, `{"button":2,"seq":7}`); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		return strings.Contains(a.logs.String(), "not spooled; retrying until it is")
	}, "the agent never tried to spool the button press")

	// The uplink returns; the filler stays: only the spool can free space.
	w.central.Start(t)
	testenv.Eventually(t, 45*time.Second, 50*time.Millisecond, func() bool { return count(t, w, "rating") == int64(accepted)+1 },
		"%d ratings, want the %d accepted taps and the button press", count(t, w, "rating"), accepted)
	if !strings.Contains(a.logs.String(), "removed the active segment") {
		t.Error("no log line saying the spool freed its acknowledged segment")
	}
	if code, _ := tapWithHeader(t, a.addr, "k01", "after-disk"); code != 200 {
		t.Errorf("press after the spool freed its space: HTTP %d", code)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
}

// tapWithHeader presses as the page does and returns the status and headers.
func tapWithHeader(t *testing.T, addr, kiosk, pressID string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+addr+"/kiosk/"+kiosk+"/press",
		strings.NewReader(fmt.Sprintf(`{"level":"satisfied","press_id":%q}`, "press-"+pressID)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokenPrefix+kiosk)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("press: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// TestQueueSessionAcrossSIGKILL: tickets under way when the agent is
// killed (SIGKILL, then started again as systemd would) give their
// sessions with the wait and service they had, each exactly once.
func TestQueueSessionAcrossSIGKILL(t *testing.T) {
	w := newWorld(t)
	bin := testenv.BuildProgram(t, ".")
	cfgPath := w.agentConfig(t, agentOpts{})
	port := testenv.FreePort(t)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("listen: 127.0.0.1:0"), []byte(fmt.Sprintf("listen: 127.0.0.1:%d", port)), 1)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	agent := testenv.StartProgram(t, "agent", w.dir, []string{bin, "-config", cfgPath}, 15*time.Second,
		testenv.HTTPReady("http://"+addr+"/healthz"))

	now := time.Now().UTC()
	stepAt := func(id, ticket, counter, step string, ago time.Duration) {
		t.Helper()
		c := ""
		if counter != "" {
			c = `,"counter":"` + counter + `"`
		}
		p := `{"id":"` + id + `","ts":"` + now.Add(-ago).Format(time.RFC3339Nano) + `","site":"anlao","ticket":"` + ticket +
			`","service":"ho-tich"` + c + `,"step":"` + step + `"}`
		if code := queueStep(t, addr, p); code != 204 {
			t.Fatalf("step %s: HTTP %d", id, code)
		}
	}
	// A001 is being served when the agent dies; B001 has been called only.
	stepAt("a1", "A001", "", "issued", 30*time.Minute)
	stepAt("a2", "A001", "c01", "called", 20*time.Minute)
	stepAt("a3", "A001", "c01", "started", 19*time.Minute)
	stepAt("b1", "B001", "", "issued", 25*time.Minute)
	stepAt("b2", "B001", "c02", "called", 15*time.Minute)
	agent.Kill(t)
	agent.Start(t)
	stepAt("b3", "B001", "c02", "started", 14*time.Minute)
	stepAt("a4", "A001", "c01", "finished", 9*time.Minute)
	stepAt("b4", "B001", "c02", "finished", 4*time.Minute)
	stepAt("a4", "A001", "c01", "finished", 9*time.Minute) // redelivered: no second session

	testenv.Eventually(t, 30*time.Second, 50*time.Millisecond, func() bool {
		// 8 points: the redelivered step overwrites itself.
		return count(t, w, "queue") == 8 && count(t, w, "session") >= 2
	}, "%d queue steps (want 8), %d sessions (want 2)", count(t, w, "queue"), count(t, w, "session"))
	s := w.db.Query(t, `SELECT wait_s, service_s, ticket FROM session`)
	if len(s) != 1 || len(s[0].Values) != 2 {
		t.Fatalf("sessions %+v, want 2", s)
	}
	for i, want := range []string{"A001 600 600", "B001 600 600"} {
		row := s[0].Values[i]
		if got := fmt.Sprintf("%v %v %v", row[3], row[1], row[2]); got != want {
			t.Errorf("session %d: ticket wait service %s, want %s", i, got, want)
		}
	}
}

// TestSpoolWithRetry: the retry rule alone — transient failures are
// retried until they pass, a permanent one is acknowledged at once, and a
// lost connection ends the retrying without an acknowledgement.
func TestSpoolWithRetry(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	full := fmt.Errorf("outbox: %w", spool.ErrFull)
	always := func() bool { return true }
	for _, tc := range []struct {
		name      string
		errs      []error // what each call returns; nil after the list
		connected func(calls int) bool
		ack       bool
		calls     int
	}{
		{"spooled at once", nil, nil, true, 1},
		{"spooled on the fourth try", []error{full, full, full}, nil, true, 4},
		{"bad input: acknowledged, never retried", []error{ratings.ErrUnknownButton}, nil, true, 1},
		{"duplicate: acknowledged", []error{fmt.Errorf("x: %w", ratings.ErrDuplicate)}, nil, true, 1},
		{"connection lost while retrying", []error{full, full, full, full}, func(calls int) bool { return calls < 2 }, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			once := func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			}
			connected := always
			if tc.connected != nil {
				connected = func() bool { return tc.connected(calls) }
			}
			if ack := spoolWithRetry(once, connected, log, logging.NewLimiter(10*time.Second), "topic"); ack != tc.ack || calls != tc.calls {
				t.Fatalf("acknowledged %v after %d calls, want %v after %d", ack, calls, tc.ack, tc.calls)
			}
		})
	}
}

// TestRefusalFloodLogsLittle (issue 18, row 9): 1,000 refused messages on
// one topic log one line per reason, not one each.
func TestRefusalFloodLogsLittle(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	limit := logging.NewLimiter(10 * time.Second)
	always := func() bool { return true }
	for i := range 1000 {
		err := error(ratings.ErrUnknownButton)
		if i%2 == 1 {
			err = &schema.Error{Reason: schema.ReasonMalformed, Msg: "not JSON"}
		}
		if !spoolWithRetry(func() error { return err }, always, log, limit, "pscm/v1/anlao/kiosk/k01/press") {
			t.Fatal("a refused message was not acknowledged")
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 2 {
		t.Fatalf("%d log lines for 1,000 refusals of two kinds, want 2:\n%s", n, logs.String())
	}
}
