package officialdesk

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/pscm/pscm/internal/cases"
)

// Note is an official's own annotation of their record ("the camera was
// covered by a parcel that morning"): kept, shown beside their figures
// and on their sheet, never edited.
type Note struct {
	Official string    `json:"official"`
	Day      string    `json:"day"` // YYYY-MM-DD, the day it is about
	Text     string    `json:"text"`
	At       time.Time `json:"at"` // when it was written
}

// Limits of the notes.
const (
	maxNoteRunes = 500
	maxNotes     = 100000
)

// notes is the append-only file of notes, read back at start.
type notes struct {
	mu   sync.Mutex
	path string
	f    *os.File
	list []Note
}

func openNotes(path string) (*notes, error) {
	n := &notes{path: path}
	if b, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(b)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var x Note
			if json.Unmarshal(sc.Bytes(), &x) == nil && x.Official != "" {
				n.list = append(n.list, x)
			}
		}
		b.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("officialdesk: notes: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("officialdesk: notes: %w", err)
	}
	n.f = f
	return n, nil
}

func (n *notes) add(x Note) error {
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.list) >= maxNotes {
		return errors.New("too many notes")
	}
	if _, err := n.f.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := n.f.Sync(); err != nil {
		return err
	}
	n.list = append(n.list, x)
	return nil
}

// of returns official's notes about days in [from, to] (YYYY-MM-DD).
func (n *notes) of(official, from, to string) []Note {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []Note{}
	for _, x := range n.list {
		if x.Official == official && x.Day >= from && x.Day <= to {
			out = append(out, x)
		}
	}
	return out
}

func (n *notes) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	_ = n.f.Close()
}

// serveNote is POST /api/officials/me/notes {"day": "YYYY-MM-DD", "text": ...}:
// an official annotates their own record; nobody else may.
func (d *Desk) serveNote(w http.ResponseWriter, r *http.Request, v Viewer) {
	if v.Own == "" {
		writeError(w, http.StatusForbidden, "only an official annotates their own record / chỉ cán bộ ghi chú hồ sơ của mình")
		return
	}
	var req struct {
		Day  string `json:"day"`
		Text string `json:"text"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "want {\"day\": \"YYYY-MM-DD\", \"text\": \"...\"}")
		return
	}
	day, err := time.ParseInLocation(time.DateOnly, req.Day, d.cfg.Loc)
	if err != nil || day.After(d.cfg.Now()) {
		writeError(w, http.StatusBadRequest, "day: a past or present date YYYY-MM-DD / ngày không hợp lệ")
		return
	}
	text, err := cases.CleanText(req.Text, maxNoteRunes)
	if err != nil || text == "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("text: 1 to %d characters, no control characters / nội dung không hợp lệ", maxNoteRunes))
		return
	}
	x := Note{Official: v.Own, Day: req.Day, Text: text, At: d.cfg.Now().UTC()}
	if err := d.notes.add(x); err != nil {
		d.log.Error("official's note not kept", "official", v.Own, "err", err)
		writeError(w, http.StatusInternalServerError, "not kept; try again / chưa lưu được")
		return
	}
	d.log.Info("official's note", "official", v.Own, "day", req.Day)
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, x)
}
