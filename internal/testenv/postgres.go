package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// postgresInstall is what a developer runs when PostgreSQL is missing.
const postgresInstall = "apt-get install postgresql (or make deps)"

// Postgres is a real PostgreSQL server (Debian's) run for one test: its
// own cluster in a temporary directory, on a free loopback port, trusting
// local connections, with one database.
type Postgres struct {
	srv      server
	bin      string // the server's bin directory
	data     string
	port     int
	database string
	cred     *syscall.Credential // run as this user when the test runs as root
}

// pgBinDir finds PostgreSQL's server programs: Debian keeps them out of
// PATH, in /usr/lib/postgresql/<version>/bin; the newest wins.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL not found: %s", postgresInstall)
}

// StartPostgres initialises a cluster and starts the server.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin, err := pgBinDir()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	// PostgreSQL refuses to run as root: as root, the cluster belongs to
	// the postgres user the Debian package made, in a directory it can
	// reach (t.TempDir's parents are root's alone).
	dir, err := os.MkdirTemp("", "pscm-pg-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &Postgres{
		srv:      server{name: "postgres", dir: dir, logPath: filepath.Join(dir, "postgres.log")},
		bin:      bin,
		data:     filepath.Join(dir, "data"),
		database: "pscm",
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("testenv: running as root and no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	p.srv.cred = p.cred
	t.Cleanup(func() { p.srv.cleanup(t) })
	init := exec.Command(filepath.Join(bin, "initdb"), "-D", p.data, "-U", "pscm", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	init.Dir = dir
	init.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	p.port = FreePort(t)
	p.Start(t)
	create := exec.Command(filepath.Join(bin, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "pscm", p.database)
	create.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("testenv: createdb: %v\n%s", err, out)
	}
	return p
}

// Start starts the (stopped) server on its port.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	began := time.Now()
	argv := []string{filepath.Join(p.bin, "postgres"), "-D", p.data, "-h", "127.0.0.1", "-p", strconv.Itoa(p.port),
		"-k", p.srv.dir, "-c", "fsync=on", "-c", "max_connections=50"}
	ready := func(ctx context.Context) error {
		c := exec.CommandContext(ctx, filepath.Join(p.bin, "pg_isready"), "-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "pscm", "-d", "postgres")
		return c.Run()
	}
	if err := p.srv.start(argv, os.Environ(), 30*time.Second, 100*time.Millisecond, ready); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Logf("testenv: postgres ready at 127.0.0.1:%d in %v", p.port, time.Since(began).Round(time.Millisecond))
}

// Stop stops the server with SIGTERM (a "smart" shutdown).
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if err := p.srv.stop(syscall.SIGINT); err != nil { // SIGINT: fast shutdown, sessions ended
		t.Fatalf("testenv: %v", err)
	}
}

// Kill stops the server with SIGKILL, as a crash would.
func (p *Postgres) Kill(t testing.TB) {
	t.Helper()
	if err := p.srv.stop(syscall.SIGKILL); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// DSN is the connection string of the test database.
func (p *Postgres) DSN() string {
	return fmt.Sprintf("postgres://pscm@127.0.0.1:%d/%s?sslmode=disable", p.port, p.database)
}

// Bin is the directory of PostgreSQL's programs (pg_dump, pg_restore).
func (p *Postgres) Bin() string { return p.bin }

// Port is the server's port.
func (p *Postgres) Port() int { return p.port }

// Credential is who PostgreSQL's programs must run as (nil: the test's
// own user).
func (p *Postgres) Credential() *syscall.Credential { return p.cred }

// Dir is the server's own directory (writable by the server's user).
func (p *Postgres) Dir() string { return p.srv.dir }
