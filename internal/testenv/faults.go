//go:build linux

package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Program is a pscm program (or any binary) run as a child process for a
// fault test: in its own process group, killed by the kernel if the test
// binary dies, its stdout and stderr appended to one log file across
// restarts, stopped with SIGTERM when the test ends and the tail of its log
// printed if the test failed. It is the harness's broker and database
// handling applied to the programs under test, so a test can SIGKILL one
// and start it again exactly as systemd would.
type Program struct {
	srv     server
	argv    []string
	timeout time.Duration
	ready   func(context.Context) error
}

// programReadyTick is how often a starting program's readiness is probed.
const programReadyTick = 20 * time.Millisecond

// StartProgram runs argv (argv[0] is the binary, e.g. from BuildProgram)
// with its log in dir/<name>.log and waits until ready returns nil, for at
// most timeout. A program that exits before it is ready fails the test with
// its log's tail.
func StartProgram(t testing.TB, name, dir string, argv []string, timeout time.Duration, ready func(context.Context) error) *Program {
	t.Helper()
	p := &Program{
		srv:     server{name: name, dir: dir, logPath: filepath.Join(dir, name+".log")},
		argv:    argv,
		timeout: timeout,
		ready:   ready,
	}
	t.Cleanup(func() { p.srv.cleanup(t) })
	p.Start(t)
	return p
}

// Start starts the stopped program again with the same arguments and waits
// until it is ready.
func (p *Program) Start(t testing.TB) {
	t.Helper()
	began := time.Now()
	if err := p.srv.start(p.argv, os.Environ(), p.timeout, programReadyTick, p.ready); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Logf("testenv: %s ready in %v (pid %d)", p.srv.name, time.Since(began).Round(time.Millisecond), p.srv.pid())
}

// Kill sends SIGKILL, as a crash or the OOM killer would, and waits for the
// process to be gone. A program that had already died on its own fails the
// test: that is a crash nobody asked for.
func (p *Program) Kill(t testing.TB) {
	t.Helper()
	if err := p.srv.stop(syscall.SIGKILL); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Stop sends SIGTERM and waits for a clean exit (killing it after 35 s).
func (p *Program) Stop(t testing.TB) {
	t.Helper()
	if err := p.srv.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Running reports whether the program's process is alive.
func (p *Program) Running() bool { return p.srv.running() }

// PID is the process ID while it runs, 0 when stopped.
func (p *Program) PID() int { return p.srv.pid() }

// LogPath is the program's log file, kept across restarts.
func (p *Program) LogPath() string { return p.srv.logPath }

// HTTPReady returns a readiness probe for StartProgram: GET url answers 200.
func HTTPReady(url string) func(context.Context) error {
	return HTTPReadyWith(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, url)
}

// HTTPReadyWith is HTTPReady through client (e.g. one that trusts a test's
// certificate).
func HTTPReadyWith(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// MountTmpfs mounts a tmpfs of size bytes on dir (created if missing) and
// unmounts it when the test ends, so a test can give a program a disk that
// really fills up (ENOSPC) without touching the machine's disks. It needs
// root or CAP_SYS_ADMIN; the error says so, and the caller decides what to
// do without it.
func MountTmpfs(t testing.TB, dir string, size int64) error {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		return fmt.Errorf("mount a %d-byte tmpfs on %s (needs root or CAP_SYS_ADMIN): %w", size, dir, err)
	}
	t.Cleanup(func() {
		// Lazy: a program the test started may still hold a file open if
		// the test failed before stopping it; the mount goes when it does.
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("testenv: unmount %s: %v", dir, err)
		}
	})
	return nil
}

// FreeBytes is the space left for files on the filesystem holding dir.
func FreeBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatalf("testenv: statfs %s: %v", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// FillFS writes a file in dir until at most leave bytes are free on its
// filesystem, and returns the file's path: removing it gives the space
// back. Meant for a small tmpfs (MountTmpfs): it writes real blocks, so a
// sparse file cannot fool it.
func FillFS(t testing.TB, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "testenv-filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		free := FreeBytes(t, dir)
		if free <= leave {
			return path
		}
		n := min(int64(len(chunk)), free-leave)
		if _, err := f.Write(chunk[:n]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return path
			}
			t.Fatalf("testenv: fill %s: %v", dir, err)
		}
	}
}

// Proxy is a TCP proxy on a free loopback port in front of one target
// address, which a test can cut and restore: a network outage for exactly
// the clients pointed at it, while everyone else keeps using the target.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// StartProxy listens on 127.0.0.1 and forwards every connection to target
// until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: proxy listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's host:port; URL the same as tcp:// for MQTT clients.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy's address as an MQTT broker URL.
func (p *Proxy) URL() string { return "tcp://" + p.Addr() }

// Cut closes every proxied connection and refuses new ones (accepted and
// closed at once) until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Restore lets connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // listener closed at cleanup
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// serve copies both ways until either side ends, then closes both.
func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		c.Close()
	}()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		up.Close()
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, up)
		p.mu.Unlock()
		up.Close()
	}()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}
