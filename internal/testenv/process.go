package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// errAddrInUse marks a start that failed only because another process took
// the port between FreePort and the bind, the one failure worth a retry.
var errAddrInUse = errors.New("address already in use")

// logTailLines is how much of a server's log a failing test prints: enough
// to show the error and what led to it without burying the test's output.
const logTailLines = 40

// stopTimeout bounds a graceful stop. influxd itself gives up on a clean
// shutdown after 30 s, so waiting longer would be pointless.
const stopTimeout = 35 * time.Second

// server runs one child process (mosquitto or influxd) and knows how to tell
// when it is ready. Mosquitto and Influx embed the same logic through it.
type server struct {
	name    string // for messages: "mosquitto", "influxd"
	dir     string // working directory of the process
	logPath string // stdout and stderr of every run, appended

	// cred, when set, runs the process as that user (PostgreSQL will not
	// run as root).
	cred *syscall.Credential

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the server's binary.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when Wait returned
	waitErr error         // valid once done is closed
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// status describes how a process that has exited ended.
func (p *process) status() string {
	if p.waitErr == nil {
		return "exit status 0"
	}
	return p.waitErr.Error()
}

// readyAttemptTimeout bounds one readiness probe, so a port that accepts
// connections but never answers cannot stall the wait.
const readyAttemptTimeout = 2 * time.Second

// start runs argv and waits until ready returns nil. If the process exits
// first, start returns at once with its exit status and the tail of its log
// (ready's context is cancelled, so a probe blocked on a half-open port
// gives up immediately); if it is not ready within timeout, start kills it.
// The error wraps errAddrInUse when the log says the port was taken.
func (s *server) start(argv, env []string, timeout, tick time.Duration, ready func(context.Context) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.proc; p != nil {
		if p.exited() {
			s.proc = nil
			return s.crashError(p)
		}
		return fmt.Errorf("%s is already running (pid %d)", s.name, p.cmd.Process.Pid)
	}

	logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s log: %w", s.name, err)
	}
	defer logf.Close() // the child holds its own copy of the descriptor
	fi, err := logf.Stat()
	if err != nil {
		return fmt.Errorf("stat %s log: %w", s.name, err)
	}
	runStart := fi.Size()
	fmt.Fprintf(logf, "=== testenv %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(argv, " "))

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	cmd.SysProcAttr.Credential = s.cred
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		if p.exited() {
			return s.exitError(p, runStart)
		}
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, readyAttemptTimeout)
		err := ready(attemptCtx)
		cancelAttempt()
		if p.exited() {
			return s.exitError(p, runStart)
		}
		if err == nil {
			s.proc = p
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-p.done
			return fmt.Errorf("%s (pid %d) not ready within %v: %w\n%s",
				s.name, cmd.Process.Pid, timeout, err, s.tail(runStart))
		}
		select {
		case <-p.done:
		case <-ticker.C:
		}
	}
}

func (s *server) exitError(p *process, runStart int64) error {
	log := s.tail(runStart)
	err := fmt.Errorf("%s (pid %d) exited before it was ready: %s\n%s",
		s.name, p.cmd.Process.Pid, p.status(), log)
	if strings.Contains(strings.ToLower(log), "address already in use") {
		return fmt.Errorf("%w: %w", errAddrInUse, err)
	}
	return err
}

// stop sends sig to the process this server started (by its PID, never by
// name) and waits for it to exit; if it outlives stopTimeout it is killed and
// stop reports that. Stopping a stopped server does nothing. It also reports
// a process that had already died on its own: a crashed broker or database
// is a test failure, not something to paper over.
func (s *server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	if p.exited() {
		return s.crashError(p)
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s (pid %d): %w", s.name, p.cmd.Process.Pid, err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s (pid %d) still running %v after %v; killed it\n%s",
			s.name, p.cmd.Process.Pid, stopTimeout, sig, s.tail(0))
	}
}

// crashError describes a process that died although nobody stopped it.
func (s *server) crashError(p *process) error {
	return fmt.Errorf("%s (pid %d) exited on its own while the test ran: %s\n%s",
		s.name, p.cmd.Process.Pid, p.status(), s.tail(0))
}

// running reports whether the server has a live process.
func (s *server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.proc.exited()
}

// tail returns the last lines of the log written at or after offset from,
// framed so it stands out in test output.
func (s *server) tail(from int64) string {
	lines, err := tailFile(s.logPath, from, logTailLines)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", s.logPath, err)
	}
	return fmt.Sprintf("--- last %d lines of %s ---\n%s--- end of %s ---", logTailLines, s.logPath, lines, s.name)
}

// tailFile returns the last n lines of path at or after offset from. It reads
// at most the final 64 KiB, since a broker log under load can be large.
func tailFile(path string, from int64, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	const maxRead = 64 << 10
	start := max(from, fi.Size()-maxRead, 0)
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return "", err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return "", err
	}
	b = bytes.TrimRight(b, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := bytes.Join(lines, []byte("\n"))
	if len(out) > 0 {
		out = append(out, '\n')
	}
	return string(out), nil
}

// cleanup is registered by StartMosquitto and StartInflux: it stops the
// server if a test left it running and, when the test failed, prints the end
// of the log, which is usually where the reason is.
func (s *server) cleanup(t testing.TB) {
	t.Helper()
	if err := s.stop(syscall.SIGTERM); err != nil {
		t.Errorf("testenv: %v", err)
	}
	if t.Failed() {
		t.Logf("testenv: %s log\n%s", s.name, s.tail(0))
	}
	keepFile(t, s.name, s.logPath)
}

// pid returns the running process's PID, 0 while stopped.
func (s *server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}
