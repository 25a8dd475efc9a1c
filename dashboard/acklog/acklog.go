// Package acklog keeps the dashboard's record of acknowledged alerts: who
// acknowledged which alert of which site, and when. Alerts themselves live
// in memory and scroll away; the record of a manager's acknowledgement is
// kept on disk, one JSON line each, fsynced before the acknowledgement is
// shown, so "who saw this and when" survives restarts and can be audited.
package acklog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pscm/pscm/internal/durable"
)

// FileName is the log's name in the dashboard's state directory; the
// previous generation is FileName + ".1".
const FileName = "acknowledged.jsonl"

// DefaultMaxBytes bounds the current file: about 15,000 acknowledgements,
// years of a center's alerts. At the bound it becomes FileName.1 (the older
// one is dropped), so the disk used stays under twice this.
const DefaultMaxBytes = 4 << 20

// Entry is one acknowledgement.
type Entry struct {
	At      time.Time `json:"at"`
	Site    string    `json:"site"`
	Alert   string    `json:"alert"`
	Kind    string    `json:"kind"`
	Counter string    `json:"counter,omitempty"`
	TextVI  string    `json:"text_vi"`
	By      string    `json:"by"`
	Name    string    `json:"name,omitempty"`
}

// Log appends entries to a file; it is safe for concurrent use.
type Log struct {
	dir, path string
	max       int64

	mu sync.Mutex
}

// Open returns the log in dir (created 0700 if missing).
func Open(dir string, maxBytes int64) (*Log, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("acklog: %w", err)
	}
	return &Log{dir: dir, path: filepath.Join(dir, FileName), max: maxBytes}, nil
}

// Append writes e and syncs it to disk before returning: only then may the
// page say the alert was acknowledged.
func (l *Log) Append(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("acklog: %w", err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if fi, err := os.Stat(l.path); err == nil && fi.Size()+int64(len(line)) > l.max {
		if err := os.Rename(l.path, l.path+".1"); err != nil {
			return fmt.Errorf("acklog: rotating: %w", err)
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("acklog: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("acklog: %w", err)
	}
	// After a torn line (a crash mid-write) the next entry starts on a
	// line of its own, or it would be lost with the torn one.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	_, werr := f.Write(line)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("acklog: %w", err)
	}
	// A new file's name must reach the disk too.
	return durable.SyncDir(l.dir)
}

// Read returns the entries of the current file and the previous
// generation, oldest first; a torn last line (a crash mid-write, never
// acknowledged to anyone) is skipped.
func (l *Log) Read() ([]Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Entry
	for _, p := range []string{l.path + ".1", l.path} {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("acklog: %w", err)
		}
		for len(b) > 0 {
			i := 0
			for i < len(b) && b[i] != '\n' {
				i++
			}
			var e Entry
			if i < len(b) && json.Unmarshal(b[:i], &e) == nil {
				out = append(out, e)
			}
			if i == len(b) {
				break
			}
			b = b[i+1:]
		}
	}
	return out, nil
}
