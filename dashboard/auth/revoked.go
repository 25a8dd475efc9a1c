package auth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/durable"
)

// revocationLog keeps logouts on disk, so that a restart does not bring a
// logged-out cookie back to life (the cookie is signed, not stored: without
// this list it stays valid until its expiry). One line per logout,
// "nonce expiry-unix-seconds", appended and fsynced before the logout
// answers. The file is rewritten with the live entries at start and when
// it has grown to twice the bound of the list.
type revocationLog struct {
	path  string
	f     *os.File
	lines int
	max   int // the list's bound
}

var nonceRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// openRevocationLog reads path (a missing file is an empty list), keeps
// the entries not expired at now (at most max, those that expire
// last), rewrites the file with them, and opens it for appending.
// Malformed lines are dropped and counted in bad.
func openRevocationLog(path string, now time.Time, max int) (l *revocationLog, live map[string]time.Time, bad int, err error) {
	live = map[string]time.Time{}
	f, err := os.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, nil, 0, fmt.Errorf("revocations: %w", err)
	default:
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			nonce, exp, ok := strings.Cut(sc.Text(), " ")
			sec, perr := strconv.ParseInt(exp, 10, 64)
			if !ok || perr != nil || !nonceRe.MatchString(nonce) {
				bad++
				continue
			}
			if t := time.Unix(sec, 0); t.After(now) {
				live[nonce] = t
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, nil, 0, fmt.Errorf("revocations: read %s: %w", path, err)
		}
	}
	if len(live) > max {
		// Those nearest their expiry go first, as revoke does.
		nonces := make([]string, 0, len(live))
		for n := range live {
			nonces = append(nonces, n)
		}
		sort.Slice(nonces, func(i, j int) bool { return live[nonces[i]].Before(live[nonces[j]]) })
		for _, n := range nonces[:len(nonces)-max] {
			delete(live, n)
		}
	}
	l = &revocationLog{path: path, max: max}
	if err := l.rewrite(live); err != nil {
		return nil, nil, 0, err
	}
	return l, live, bad, nil
}

// rewrite replaces the file with live, atomically (a crash leaves the old
// file or the new one), and reopens it for appending.
func (l *revocationLog) rewrite(live map[string]time.Time) error {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	var b bytes.Buffer
	for n, exp := range live {
		fmt.Fprintf(&b, "%s %d\n", n, exp.Unix())
	}
	if err := durable.WriteFile(filepath.Dir(l.path), filepath.Base(l.path), b.Bytes()); err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	l.lines = len(live)
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	l.f = f
	return nil
}

// add appends one logout and syncs it; past twice the list's bound the
// file is rewritten with live (which already holds it).
func (l *revocationLog) add(nonce string, exp time.Time, live map[string]time.Time) error {
	if l.lines >= 2*l.max {
		return l.rewrite(live)
	}
	if _, err := fmt.Fprintf(l.f, "%s %d\n", nonce, exp.Unix()); err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	l.lines++
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	return nil
}

func (l *revocationLog) close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// KeepRevocations makes logouts survive restarts: the logouts saved in
// path are read back (the file is made if missing) and every later one is
// saved there before the logout answers. Call it once, before serving.
func (a *Auth) KeepRevocations(path string) error {
	l, live, bad, err := openRevocationLog(path, a.now(), a.maxRevoked)
	if err != nil {
		return err
	}
	if bad > 0 {
		a.log.Warn("revocations file: malformed lines dropped", "file", path, "lines", bad)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for n, exp := range live {
		a.revoked[n] = exp
	}
	a.revlog = l
	a.log.Info("logged-out sessions read back", "file", path, "sessions", len(live))
	return nil
}

// Close closes the revocations file, if any.
func (a *Auth) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.revlog == nil {
		return nil
	}
	return a.revlog.close()
}
