package testenv

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// occupy holds a loopback port for the rest of the test.
func occupy(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// The retry in StartMosquitto and StartInflux depends on recognising the
// real binaries' own "address in use" failures.
func TestAddrInUseIsRecognised(t *testing.T) {
	t.Parallel()
	t.Run("mosquitto", func(t *testing.T) {
		t.Parallel()
		m := newMosquitto(t, nil)
		if err := m.listenOn(occupy(t)); err != nil {
			t.Fatal(err)
		}
		err := m.start(t)
		if !errors.Is(err, errAddrInUse) {
			t.Fatalf("start on a taken port: %v", err)
		}
		t.Logf("error as reported: %v", err)
	})
	t.Run("influxd", func(t *testing.T) {
		t.Parallel()
		i := newInflux(t, []InfluxOption{WithoutFlux()})
		if err := i.listenOn(occupy(t), FreePort(t)); err != nil {
			t.Fatal(err)
		}
		err := i.start(t)
		if !errors.Is(err, errAddrInUse) {
			t.Fatalf("start on a taken port: %v", err)
		}
	})
}

func newTestServer(t *testing.T) *server {
	dir := t.TempDir()
	s := &server{name: "sh", dir: dir, logPath: filepath.Join(dir, "sh.log")}
	t.Cleanup(func() { _ = s.stop(syscall.SIGKILL) })
	return s
}

func shell(t *testing.T, script string) []string {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	return []string{sh, "-c", script}
}

func TestServerExitBeforeReady(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	began := time.Now()
	err := s.start(shell(t, "echo starting; echo 'bad config line 3' >&2; exit 3"), nil,
		10*time.Second, 10*time.Millisecond, func(context.Context) error { return errors.New("not yet") })
	if err == nil {
		t.Fatal("a process that exited was reported ready")
	}
	if time.Since(began) > 5*time.Second {
		t.Errorf("exit noticed only after %v; it should fail at once", time.Since(began))
	}
	for _, want := range []string{"exit status 3", "bad config line 3", "starting"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if errors.Is(err, errAddrInUse) {
		t.Errorf("an unrelated exit was taken for address in use: %v", err)
	}
	if s.running() {
		t.Error("server reports running after its process exited")
	}
}

func TestServerReadyTimeoutKills(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	err := s.start(shell(t, "exec sleep 60"), nil, 200*time.Millisecond, 10*time.Millisecond,
		func(context.Context) error { return errors.New("port closed") })
	if err == nil || !strings.Contains(err.Error(), "not ready within") || !strings.Contains(err.Error(), "port closed") {
		t.Fatalf("start: %v", err)
	}
	if s.running() {
		t.Error("a process that never became ready was left running")
	}
}

func TestServerReportsCrash(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	if err := s.start(shell(t, "exec sleep 60"), nil, time.Second, 10*time.Millisecond, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	pid := s.proc.cmd.Process.Pid
	s.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool { return !s.running() }, "pid %d still running", pid)
	err := s.stop(syscall.SIGTERM)
	if err == nil || !strings.Contains(err.Error(), "exited on its own") {
		t.Fatalf("stop after a crash: %v", err)
	}
}

func TestServerStopAndRestart(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	start := func() {
		t.Helper()
		if err := s.start(shell(t, "exec sleep 60"), nil, time.Second, 10*time.Millisecond, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	start()
	if err := s.start(shell(t, "exec sleep 60"), nil, time.Second, time.Millisecond, func(context.Context) error { return nil }); err == nil {
		t.Error("a second start of a running server succeeded")
	}
	if err := s.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("stopping a stopped server: %v", err)
	}
	start()
	if err := s.stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}
