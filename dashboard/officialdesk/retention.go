package officialdesk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pscm/pscm/internal/accesslog"
	"github.com/pscm/pscm/internal/durable"
)

// Retention (Law 91/2025/QH15: personal data no longer than needed): the
// log of who read an official's figures and the officials' own notes lose
// every line older than Config.RetentionMonths, counted from the line's
// "at" (the reading; the writing of the note), at start and then hourly.
// A line that cannot be read is kept as it is and logged: what the desk
// cannot judge, it does not destroy.

// DefaultRetentionMonths is RetentionMonths' default: two yearly
// evaluations' worth.
const DefaultRetentionMonths = 24

const (
	// sweepEvery is how often expired lines are looked for.
	sweepEvery = time.Hour
	// sweepCheck is how often the loop reads the clock: the sweep follows
	// Config.Now (a test's fake clock), not the ticker alone.
	sweepCheck = time.Minute
	// maxBrokenListed bounds the line numbers a sweep names in its log.
	maxBrokenListed = 10
)

// accessFile is the log of readings behind the lock its sweep takes: a
// reading appended during a sweep waits for it, then lands in the new file.
type accessFile struct {
	mu   sync.Mutex
	path string
	log  *accesslog.Log
}

func openAccess(path string) (*accessFile, error) {
	l, err := accesslog.Open(path)
	if err != nil {
		return nil, err
	}
	return &accessFile{path: path, log: l}, nil
}

// Append records one reading, synced before it returns.
func (a *accessFile) Append(e accesslog.Entry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.Append(e)
}

func (a *accessFile) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.log.Close()
}

// sweep removes the readings older than cutoff.
func (a *accessFile) sweep(cutoff time.Time) (swept, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return replaceKept(a.path, cutoff, accesslog.Open, func(next *accesslog.Log) {
		_ = a.log.Close()
		a.log = next
	})
}

// sweep removes the notes written before cutoff, from the file and from
// the notes shown.
func (n *notes) sweep(cutoff time.Time) (swept, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	open := func(p string) (*os.File, error) { return os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0) }
	return replaceKept(n.path, cutoff, open, func(next *os.File) {
		_ = n.f.Close()
		n.f = next
		kept := n.list[:0]
		for _, x := range n.list {
			// A note without a time is kept in the file (it cannot be
			// judged), so it stays shown.
			if x.At.IsZero() || !x.At.Before(cutoff) {
				kept = append(kept, x)
			}
		}
		n.list = kept
	})
}

// swept is what one sweep of a file did.
type swept struct {
	removed, kept int
	// broken counts the lines kept because they could not be read;
	// brokenLines are the first of their numbers.
	broken      int
	brokenLines []int
}

// replaceKept replaces path by its lines not older than cutoff when some
// are: they are copied to path.tmp, synced, the appender is opened on it
// (open) before it takes path's name, so appends never go to the old file,
// then renamed over path and the directory synced. install gets the new
// appender once the rename is done. The caller holds the lock its appends
// take: no line is appended between the copy and the rename.
func replaceKept[T io.Closer](path string, cutoff time.Time, open func(string) (T, error), install func(T)) (swept, error) {
	tmp, s, err := copyKept(path, cutoff)
	if err != nil || tmp == "" {
		return s, err
	}
	next, err := open(tmp)
	if err != nil {
		_ = os.Remove(tmp)
		return s, fmt.Errorf("officialdesk: retention of %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = next.Close()
		_ = os.Remove(tmp)
		return s, fmt.Errorf("officialdesk: retention of %s: %w", path, err)
	}
	install(next)
	return s, durable.SyncDir(filepath.Dir(path))
}

// copyKept writes path's lines not older than cutoff to path.tmp, synced,
// and returns its name; "" when no line expired (nothing to replace) or
// path does not exist.
func copyKept(path string, cutoff time.Time) (string, swept, error) {
	var s swept
	in, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", s, nil
	}
	if err != nil {
		return "", s, fmt.Errorf("officialdesk: retention: %w", err)
	}
	defer in.Close()
	tmp := path + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", s, fmt.Errorf("officialdesk: retention: %w", err)
	}
	w := bufio.NewWriter(out)
	err = filterLines(bufio.NewReaderSize(in, 64<<10), w, cutoff, &s)
	if err == nil {
		err = w.Flush()
	}
	if err == nil && s.removed > 0 {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil || s.removed == 0 {
		_ = os.Remove(tmp)
		if err != nil {
			return "", s, fmt.Errorf("officialdesk: retention of %s: %w", path, err)
		}
		return "", s, nil
	}
	return tmp, s, nil
}

// filterLines copies r's lines to w, byte for byte, less those whose "at"
// is before cutoff. A line that does not read as JSON with an "at", or
// longer than r's buffer (none the desk writes), is copied as it is. A
// last line cut short keeps its bytes and gains the newline, so the next
// append starts a line of its own.
func filterLines(r *bufio.Reader, w io.Writer, cutoff time.Time, s *swept) error {
	for n := 1; ; n++ {
		line, err := r.ReadSlice('\n')
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
		at, ok := lineTime(line, err)
		switch {
		case ok && at.Before(cutoff):
			s.removed++
			continue
		case !ok:
			s.broken++
			if len(s.brokenLines) < maxBrokenListed {
				s.brokenLines = append(s.brokenLines, n)
			}
		}
		s.kept++
		if err := copyLine(r, w, line, err); err != nil {
			return err
		}
	}
}

// lineTime reads a whole line's "at"; false for anything else.
func lineTime(line []byte, err error) (time.Time, bool) {
	if errors.Is(err, bufio.ErrBufferFull) {
		return time.Time{}, false
	}
	var v struct {
		At time.Time `json:"at"`
	}
	if json.Unmarshal(bytes.TrimSpace(line), &v) != nil || v.At.IsZero() {
		return time.Time{}, false
	}
	return v.At, true
}

// copyLine writes line, and the rest of it when it filled r's buffer
// (readErr bufio.ErrBufferFull), ending it with a newline.
func copyLine(r *bufio.Reader, w io.Writer, line []byte, readErr error) error {
	for {
		if _, err := w.Write(line); err != nil {
			return err
		}
		if !errors.Is(readErr, bufio.ErrBufferFull) {
			break
		}
		line, readErr = r.ReadSlice('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) && !errors.Is(readErr, bufio.ErrBufferFull) {
			return readErr
		}
	}
	if !bytes.HasSuffix(line, []byte("\n")) {
		_, err := w.Write([]byte("\n"))
		return err
	}
	return nil
}

// sweep applies the retention to both files now.
func (d *Desk) sweep() {
	cutoff := d.cfg.Now().AddDate(0, -d.cfg.RetentionMonths, 0)
	s, err := d.access.sweep(cutoff)
	d.logSweep(d.cfg.AccessLog, s, err)
	s, err = d.notes.sweep(cutoff)
	d.logSweep(d.cfg.NotesFile, s, err)
}

// logSweep says what a sweep did; a file's lines are never logged (they
// name people), only their numbers.
func (d *Desk) logSweep(file string, s swept, err error) {
	if s.broken > 0 {
		d.log.Warn("lines that cannot be read kept as they are, past any retention: check the file", "file", file,
			"lines", s.broken, "first", s.brokenLines)
	}
	switch {
	case err != nil:
		d.log.Error("expired lines not removed; tried again within the hour", "file", file, "err", err)
	case s.removed > 0:
		d.log.Info("lines removed at the end of their retention", "file", file, "removed", s.removed, "kept", s.kept,
			"months", d.cfg.RetentionMonths)
	}
}

// keep sweeps every sweepEvery on the desk's clock until ctx ends (Close).
func (d *Desk) keep(ctx context.Context, tick time.Duration) {
	defer close(d.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	last := d.cfg.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if now := d.cfg.Now(); now.Sub(last) >= sweepEvery {
			last = now
			d.sweep()
		}
	}
}
