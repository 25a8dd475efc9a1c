package casedesk

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// accessLog keeps who read which case's personal data (Law 91/2025/QH15):
// one JSON line per reading, written and synced before the data is shown.
type accessLog struct {
	mu sync.Mutex
	f  *os.File
}

// accessEntry is one line of the access log.
type accessEntry struct {
	At   time.Time `json:"at"`
	User string    `json:"user"`
	Site string    `json:"site"`
	Case string    `json:"case"`
	What string    `json:"what"`
}

func openAccessLog(path string) (*accessLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("casedesk: access log: %w", err)
	}
	return &accessLog{f: f}, nil
}

func (l *accessLog) append(e accessEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("casedesk: access log: %w", err)
	}
	return l.f.Sync()
}

func (l *accessLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.f.Close()
}
