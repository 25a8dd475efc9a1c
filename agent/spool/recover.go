package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/durable"
)

const (
	cursorName    = "ack"
	cursorTmpName = cursorName + ".tmp" // WriteFileAtomic's temporary
	cursorMagic   = "PSCMACK1"
	cursorSize    = len(cursorMagic) + 8 + 4 // magic, seq, CRC-32C of both
	segSuffix     = ".seg"
	segNameLen    = 20 + len(segSuffix)
	// maxSegmentFile: offsets within a segment are 32-bit; a larger file
	// was not written by this package.
	maxSegmentFile = 1<<32 - 1
	// scanBuffer is the read-ahead when verifying segments at Open.
	scanBuffer = 256 << 10
)

func segPath(dir string, first uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", first, segSuffix))
}

// Open opens the spool in cfg.Dir, creating it if needed, and recovers from
// whatever a crash left: it verifies every stored record (length bounds,
// checksum, consecutive seqs), truncates a torn tail of the last segment
// (logged), and removes segments wholly acknowledged. Damage anywhere else is
// an error wrapping ErrCorrupt that names the file and offset: records are
// never skipped silently. m may be nil, and log too (then nothing is logged).
func Open(cfg Config, log *slog.Logger, m *Metrics) (*Spool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("spool: config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{
		cfg:     cfg,
		log:     log,
		m:       m,
		lock:    lock,
		notify:  make(chan struct{}),
		kick:    make(chan struct{}, 1),
		ackKick: make(chan struct{}, 1),
		ackNow:  make(chan struct{}, 1),
		quit:    make(chan struct{}),
		now:     time.Now,
	}
	if err := s.recover(); err != nil {
		if s.wf != nil {
			_ = s.wf.Close()
		}
		_ = unlockDir(lock)
		return nil, err
	}
	m.setLimits(cfg)
	s.publishLocked() // no one else has s yet
	s.wg.Add(2)
	go s.writeLoop()
	go s.saveLoop()
	log.Info("spool: open", "dir", cfg.Dir, "records", s.records, "bytes", s.bytes,
		"segments", len(s.segs), "acked", s.acked, "next_seq", s.nextSeq)
	return s, nil
}

// recover loads the directory into s.
func (s *Spool) recover() error {
	dir := s.cfg.Dir
	cursor, haveCursor, err := readCursor(dir)
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, cursorTmpName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	firsts, err := listSegments(dir)
	if err != nil {
		return err
	}
	if !haveCursor && len(firsts) > 0 && firsts[0] > 1 {
		// Segments are only removed after a cursor covering them is saved,
		// so the file was removed by hand: deliver all that is stored.
		cursor = firsts[0] - 1
		s.log.Warn("spool: no ack cursor file; delivering every stored record", "first_seq", firsts[0])
	}
	changed := false
	// A segment ends where the next begins, so the wholly acknowledged ones
	// are known from the names and removed unread, except those written
	// within RetainAcked: their records may have been acknowledged just
	// before the stop, and are kept for a replay and the agent's memory.
	for len(firsts) > 1 && firsts[1]-1 <= cursor && !s.keepAcked(segPath(dir, firsts[0])) {
		if err := os.Remove(segPath(dir, firsts[0])); err != nil {
			return fmt.Errorf("spool: removing acknowledged segment: %w", err)
		}
		firsts, changed = firsts[1:], true
	}
	for i, first := range firsts {
		path := segPath(dir, first)
		last := i == len(firsts)-1
		switch {
		case i == 0 && first > cursor+1:
			return fmt.Errorf("%w: %s starts at seq %d but the ack cursor is %d: records %d to %d are missing",
				ErrCorrupt, path, first, cursor, cursor+1, first-1)
		case i > 0 && first != s.segs[len(s.segs)-1].last()+1:
			prev := s.segs[len(s.segs)-1]
			return fmt.Errorf("%w: %s starts at seq %d but %s ends at seq %d",
				ErrCorrupt, path, first, prev.path, prev.last())
		}
		g, bad, err := scanSegment(path, first)
		if err != nil {
			return err
		}
		if bad != nil {
			if !last || bad.definite {
				return fmt.Errorf("%w: %s at offset %d: %s", ErrCorrupt, path, bad.off, bad.reason)
			}
			if err := s.repairTail(g, bad); err != nil {
				return err
			}
		}
		if len(g.offs) == 0 {
			if !last {
				return fmt.Errorf("%w: %s holds no record but is not the last segment", ErrCorrupt, path)
			}
			// Created just before a crash, or all of it torn.
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("spool: removing empty segment: %w", err)
			}
			changed = true
			continue
		}
		s.segs = append(s.segs, g)
	}
	// The last segment is the one name-based removal cannot judge.
	if n := len(s.segs); n > 0 && s.segs[n-1].last() <= cursor && !s.keepAcked(s.segs[n-1].path) {
		if err := os.Remove(s.segs[n-1].path); err != nil {
			return fmt.Errorf("spool: removing acknowledged segment: %w", err)
		}
		s.segs, changed = s.segs[:n-1], true
	}
	if changed {
		if err := syncDir(dir); err != nil {
			return err
		}
	}

	s.acked, s.ackedSaved, s.committed = cursor, cursor, cursor
	// What is kept is released RetainAcked after the first acknowledgement
	// from now on, as if all of it had been acknowledged at the start.
	s.released = cursor
	if len(s.segs) > 0 && s.segs[0].first <= cursor {
		s.released = s.segs[0].first - 1
		now := s.now().UnixNano()
		s.marks = []ackMark{{seq: cursor, at: now, first: now}}
	}
	if n := len(s.segs); n > 0 {
		g := s.segs[n-1]
		s.committed = g.last()
		s.records = int(s.committed - cursor)
		s.bytes = s.spanLocked(cursor+1, s.committed)
		f, err := os.OpenFile(g.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.wf, s.wseg, s.wListed, s.wsize = f, g, true, g.size
	}
	// With every segment gone the cursor alone carries the seq forward.
	s.nextSeq = s.committed + 1
	return nil
}

// keepAcked reports whether a wholly acknowledged segment found at Open is
// kept: written within RetainAcked, so acknowledged no earlier.
func (s *Spool) keepAcked(path string) bool {
	if s.cfg.RetainAcked == 0 {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && s.now().Sub(fi.ModTime()) < s.cfg.RetainAcked
}

// listSegments returns the first seqs of the segment files in dir, in order.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var firsts []uint64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil || len(name) != segNameLen || first == 0 || !e.Type().IsRegular() {
			return nil, fmt.Errorf("%w: %s is not a segment file this spool writes", ErrCorrupt, filepath.Join(dir, name))
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)
	return firsts, nil
}

// badSpot is where a segment stops verifying.
type badSpot struct {
	off    int64  // where the first bad byte is
	reason string // what is wrong there
	seq    uint64 // the seq expected there
	// definite: a checksummed record with the wrong seq, which no crash
	// produces, rather than damage a torn write could leave.
	definite bool
	// keep is where the last complete Append ends: a torn tail is cut here,
	// dropping the dropped records of an Append that never returned.
	keep    int64
	dropped int
	size    int64 // file size
}

// scanSegment verifies a segment file and indexes its records up to the end
// of the last complete Append before any damage.
func scanSegment(path string, first uint64) (*segment, *badSpot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	size := fi.Size()
	if size > maxSegmentFile {
		return nil, nil, fmt.Errorf("%w: %s: %d bytes, larger than any segment this spool writes", ErrCorrupt, path, size)
	}
	g := &segment{first: first, path: path}
	br := bufio.NewReaderSize(f, scanBuffer)
	var (
		hdr      [headerSize]byte
		data     []byte
		bad      *badSpot
		off      int64
		seq      = first
		unitEnd  int64 // end of the last complete Append
		unitRecs int
	)
	for off < size && bad == nil {
		if size-off < headerSize {
			bad = &badSpot{reason: fmt.Sprintf("%d bytes, too few for a record header", size-off)}
			break
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, nil, fmt.Errorf("spool: reading %s at offset %d: %w", path, off, err)
		}
		h, err := parseHeader(hdr[:])
		if err != nil {
			bad = &badSpot{reason: err.Error()}
			break
		}
		if int64(h.length) > size-off-headerSize {
			bad = &badSpot{reason: fmt.Sprintf("record of %d bytes runs past the end of the file", h.length)}
			break
		}
		// The length is bounded by the file, so this never grows past it.
		if cap(data) < int(h.length) {
			data = make([]byte, h.length)
		}
		data = data[:h.length]
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, nil, fmt.Errorf("spool: reading %s at offset %d: %w", path, off, err)
		}
		switch {
		case checksum(hdr[:], data) != h.crc:
			bad = &badSpot{reason: errChecksum.Error()}
		case h.seq != seq:
			bad = &badSpot{reason: fmt.Sprintf("seq %d where %d was expected", h.seq, seq), definite: true}
		}
		if bad != nil {
			break
		}
		g.offs = append(g.offs, uint32(off))
		g.times = append(g.times, h.nanos)
		off += headerSize + int64(h.length)
		seq++
		if h.flags&flagUnitEnd != 0 {
			unitEnd, unitRecs = off, len(g.offs)
		}
	}
	if bad == nil && unitEnd != off {
		bad = &badSpot{reason: "the last append is incomplete"}
	}
	if bad != nil {
		bad.off, bad.seq, bad.size = off, seq, size
		bad.keep, bad.dropped = unitEnd, len(g.offs)-unitRecs
		g.offs, g.times = g.offs[:unitRecs], g.times[:unitRecs]
		off = unitEnd
	}
	g.size = off
	return g, bad, nil
}

// repairTail cuts a torn tail off the last segment, unless what follows the
// damage shows it is not one.
func (s *Spool) repairTail(g *segment, bad *badSpot) error {
	f, err := os.OpenFile(g.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	later, err := findLaterWrite(f, bad.off+1, bad.size, bad.seq)
	if err != nil {
		return err
	}
	if later >= 0 {
		return fmt.Errorf("%w: %s at offset %d: %s, and a later write starts at offset %d, so this is damage to fsynced records, not a torn tail",
			ErrCorrupt, g.path, bad.off, bad.reason, later)
	}
	if err := f.Truncate(bad.keep); err != nil {
		return fmt.Errorf("spool: truncating torn tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("spool: fsync after truncating torn tail: %w", err)
	}
	s.log.Warn("spool: truncated a torn tail left by a crash",
		"file", g.path, "offset", bad.keep, "bytes", bad.size-bad.keep,
		"records_of_unfinished_append", bad.dropped, "damage_at", bad.off, "reason", bad.reason)
	return nil
}

// findLaterWrite looks in [from, size) for a valid record that starts a
// write (flagCommitStart) with a seq at least minSeq, returning its offset or
// -1. Writes are fsynced one after the other, so such a record proves the
// damage before it was already on disk. It reads in chunks, so the memory it
// uses stays bounded by one record.
func findLaterWrite(f *os.File, from, size int64, minSeq uint64) (int64, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk+headerSize)
	var rec []byte
	for base := from; base < size; base += chunk {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-base)], base)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("spool: %w", err)
		}
		b := buf[:n]
		for p := 0; p < min(n, chunk); p++ {
			// Cheap filters first: most offsets fail on the first byte.
			if b[p] != recVersion || p+headerSize > n || b[p+1]&flagCommitStart == 0 {
				continue
			}
			h, err := parseHeader(b[p:])
			if err != nil || h.seq < minSeq || int64(h.length) > size-base-int64(p)-headerSize {
				continue
			}
			want := headerSize + int(h.length)
			if cap(rec) < want {
				rec = make([]byte, want)
			}
			rec = rec[:want]
			if _, err := f.ReadAt(rec, base+int64(p)); err != nil {
				return 0, fmt.Errorf("spool: %w", err)
			}
			if _, _, _, err := decodeRecord(rec); err == nil {
				return base + int64(p), nil
			}
		}
	}
	return -1, nil
}

// readCursor reads the saved cursor; ok is false if there is none.
func readCursor(dir string) (seq uint64, ok bool, err error) {
	path := filepath.Join(dir, cursorName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("spool: %w", err)
	}
	if len(b) != cursorSize || string(b[:len(cursorMagic)]) != cursorMagic ||
		crc32.Checksum(b[:cursorSize-4], castagnoli) != binary.LittleEndian.Uint32(b[cursorSize-4:]) {
		return 0, false, fmt.Errorf("%w: %s is not a valid ack cursor (%d bytes)", ErrCorrupt, path, len(b))
	}
	return binary.LittleEndian.Uint64(b[len(cursorMagic):]), true, nil
}

// writeCursor replaces the cursor file atomically: a crash leaves either the
// old cursor or the new one, never a mix. On a disk with no room for the
// new file it overwrites the old one in place instead, which needs no new
// block: that is what lets a spool on a full disk save the cursor and so
// free acknowledged segments (reclaimActive). The 20 bytes sit at the start
// of one sector, which disks write whole (PostgreSQL keeps pg_control
// within 512 bytes on the same ground), and the checksum would catch a
// device that tore it.
func writeCursor(dir string, seq uint64) error {
	b := make([]byte, 0, cursorSize)
	b = append(b, cursorMagic...)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	err := WriteFileAtomic(dir, cursorName, b)
	if err != nil && noSpace(err) {
		if ierr := overwriteFile(filepath.Join(dir, cursorName), b); ierr == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("spool: writing ack cursor: %w", err)
	}
	return nil
}

// overwriteFile writes b over the start of an existing file of the same
// size and fsyncs it.
func overwriteFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if st, serr := f.Stat(); serr != nil || st.Size() != int64(len(b)) {
		_ = f.Close()
		return fmt.Errorf("spool: %s is not %d bytes", path, len(b))
	}
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteFileAtomic is durable.WriteFile, a full disk being an ErrFull as
// for Append. The agent keeps its small state files beside the spool this
// way (the ack cursor, the queue's open tickets, the fusion state).
func WriteFileAtomic(dir, name string, data []byte) error {
	err := durable.WriteFile(dir, name, data)
	if err == nil {
		return nil
	}
	err = fmt.Errorf("spool: %w", err)
	if noSpace(err) {
		err = fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}

// syncDir makes creations, removals and renames in dir durable.
func syncDir(dir string) error {
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
