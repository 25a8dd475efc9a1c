// Package accesslog keeps who read which personal data, when (Law
// 91/2025/QH15): one JSON line per reading, written and synced before the
// data is shown, so a reading that cannot be recorded is not made.
package accesslog

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Entry is one reading.
type Entry struct {
	At time.Time `json:"at"`
	// User is who read; Site the center; Subject what was read (a case
	// number, an official's roster ID); What which data.
	User    string `json:"user"`
	Site    string `json:"site"`
	Subject string `json:"subject"`
	What    string `json:"what"`
}

// Log is an append-only file of entries.
type Log struct {
	mu sync.Mutex
	f  *os.File
}

// Open opens (or creates, mode 0600) the log at path for appending.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("accesslog: %w", err)
	}
	return &Log{f: f}, nil
}

// Append writes e and syncs it.
func (l *Log) Append(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("accesslog: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("accesslog: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
