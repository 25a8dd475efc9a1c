// Package spool is the agent's durable on-disk FIFO. Every event the agent
// accepts is appended here and fsynced before the kiosk is told "accepted";
// the uplink reads records in order, forwards them to the central broker and
// acknowledges them here after the broker's PUBACK. Whatever kills the
// process, and at whatever moment, no record whose Append returned nil is lost
// or reordered; the records after the last persisted acknowledgement may be
// delivered again, which the idempotent sink absorbs. When the limits are
// reached new records are refused with ErrFull and nothing accepted is
// dropped.
//
// On disk a spool is a directory of segment files, each named by the seq of
// its first record (00000000000000000001.seg), and a file holding the
// acknowledgement cursor. Records are only ever appended (the record format
// is described in record.go); a segment file is deleted as a whole once every
// record in it is acknowledged and the cursor saying so is on disk.
package spool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config bounds the spool.
type Config struct {
	// Dir holds the segment files and the cursor; it is created with mode
	// 0700 if missing.
	Dir string `yaml:"dir"`
	// MaxBytes bounds the on-disk size, headers included, of the records not
	// yet acknowledged. Disk use can exceed it by about two segments: the
	// acknowledged head of the oldest segment and the rest of the active one.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxRecords bounds the records not yet acknowledged. Each costs 12 bytes
	// of memory (its offset and time, so reads and acks never scan the disk).
	MaxRecords int `yaml:"max_records"`
	// SegmentBytes is the size at which the spool starts a new segment file.
	// Space comes back a segment at a time, when all of it is acknowledged.
	SegmentBytes int64 `yaml:"segment_bytes"`
	// RetainAcked keeps acknowledged records on disk this long after the
	// latest acknowledgement, for two readers that need the recent past:
	// the uplink sends them again after a reconnect, because the central
	// broker may have lost what it acknowledged since its last save, and the
	// agent rebuilds its memory of recent presses from them after a restart
	// (ReadFrom). It runs on acknowledgements, not the wall clock, so an
	// outage keeps what the broker acknowledged just before it. 0 keeps
	// nothing. A full disk drops them first.
	RetainAcked time.Duration `yaml:"retain_acked"`
	// MaxRecordBytes bounds one record's data; larger appends get ErrTooLarge.
	// It is not configurable from YAML: events are at most 8 KiB by contract.
	MaxRecordBytes int `yaml:"-"`
}

// Limits that Validate enforces.
const (
	maxMaxRecords   = 10_000_000 // 120 MB of index: more would not fit an edge box
	minSegmentBytes = 1 << 10
	maxSegmentBytes = 1 << 30 // keeps offsets within a segment in 32 bits
	// maxAppendBytes bounds one Append, encoded, for the same reason: a
	// segment is at most maxSegmentBytes plus one write.
	maxAppendBytes = 1 << 30
	// maxRetainAcked bounds RetainAcked: replaying more than an hour after
	// every reconnect would cost more than the broker's loss window it covers.
	maxRetainAcked = time.Hour
)

// Defaults returns the configuration used where a file says nothing. Dir
// matches StateDirectory=pscm-agent in the systemd unit.
func Defaults() Config {
	return Config{
		Dir:            "/var/lib/pscm-agent/spool",
		MaxBytes:       256 << 20,
		MaxRecords:     1_000_000,
		SegmentBytes:   8 << 20,
		RetainAcked:    time.Minute,
		MaxRecordBytes: 64 << 10,
	}
}

// Validate checks the fields against each other. Errors start with the YAML
// key so a caller can prefix its own section name.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("dir: must be set")
	case c.MaxRecordBytes < 1 || c.MaxRecordBytes > maxDataLimit:
		return fmt.Errorf("max_record_bytes: %d outside 1..%d", c.MaxRecordBytes, maxDataLimit)
	case c.MaxRecords < 1 || c.MaxRecords > maxMaxRecords:
		return fmt.Errorf("max_records: %d outside 1..%d", c.MaxRecords, maxMaxRecords)
	case c.MaxBytes < int64(headerSize+c.MaxRecordBytes):
		return fmt.Errorf("max_bytes: %d below one largest record (%d bytes with its header)",
			c.MaxBytes, headerSize+c.MaxRecordBytes)
	case c.SegmentBytes < minSegmentBytes || c.SegmentBytes > maxSegmentBytes:
		return fmt.Errorf("segment_bytes: %d outside %d..%d", c.SegmentBytes, minSegmentBytes, maxSegmentBytes)
	case c.RetainAcked < 0 || c.RetainAcked > maxRetainAcked:
		return fmt.Errorf("retain_acked: %v outside 0..%v", c.RetainAcked, maxRetainAcked)
	}
	return nil
}

// CheckDir reports what Open would refuse about Dir without creating,
// locking or reading anything, so -config.check can run beside an agent
// that holds the spool: Dir must be a directory the process may write, or
// be creatable, its nearest existing parent such a directory.
func (c Config) CheckDir() error {
	for d := filepath.Clean(c.Dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		// Missing, or under a file (ENOTDIR): the parent says why.
		if (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && filepath.Dir(d) != d {
			continue
		}
		if err != nil {
			return fmt.Errorf("dir: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("dir: %s is not a directory", d)
		}
		if err := writable(d); err != nil {
			return fmt.Errorf("dir: %s: %w", d, err)
		}
		return nil
	}
}

var (
	// ErrFull means the limits of unacknowledged records are reached, or the
	// disk itself is full (ENOSPC, EDQUOT, wrapped alongside); nothing of the
	// Append was written. It passes once the uplink catches up (or the
	// operator frees the disk), so callers answer "retry later".
	ErrFull = errors.New("spool: full")
	// ErrTooLarge means the Append can never fit: a record above
	// MaxRecordBytes, or more than the limits allow in total.
	ErrTooLarge = errors.New("spool: too large")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrCorrupt means stored records fail verification anywhere but at the
	// torn tail a crash can leave; the error names the file and offset.
	ErrCorrupt = errors.New("spool: corrupt")
	// ErrInUse means another process has the directory open.
	ErrInUse = errors.New("spool: directory in use")
)

// Record is one stored record.
type Record struct {
	Seq      uint64
	Appended time.Time
	Data     []byte
}

const (
	// commitBudget bounds one group commit's write, so a backlog built up
	// behind a slow fsync drains in pieces instead of one huge buffer.
	commitBudget = 8 << 20
	// readBudget bounds the data one Read returns (beyond one record), so
	// a large max cannot make the uplink hold the whole spool in memory.
	readBudget = 1 << 20
	// The cursor is persisted at most this late or this many records
	// behind: a crash re-sends at most that much, which the sink absorbs,
	// while an fsync per ack would halve the spool's throughput.
	ackSaveDelay   = 100 * time.Millisecond
	ackSaveRecords = 1000
)

// Spool is an open spool directory. Its methods are safe for concurrent use.
type Spool struct {
	cfg  Config
	log  *slog.Logger
	m    *Metrics
	lock *os.File // held open for the directory lock

	mu          sync.Mutex
	closed      bool
	failed      error   // set when an fsync fails: nothing more is written until reopened
	queue       []*unit // Appends waiting for the writer, in seq order to be
	pendRecords int     // records in queue and being written
	pendBytes   int64
	segs        []*segment       // oldest first; never empty ones
	committed   uint64           // last fsynced seq
	acked       uint64           // the cursor: every seq up to here is acknowledged
	ackedSaved  uint64           // the cursor on disk
	released    uint64           // acknowledged longer than RetainAcked: segments up to here may go
	marks       []ackMark        // acknowledgements not yet released, oldest first
	now         func() time.Time // the clock of acknowledgements
	records     int              // committed and not acknowledged
	bytes       int64
	notify      chan struct{} // closed and replaced at each commit, to wake Reads
	saveArmed   bool          // a cursor save is scheduled

	kick    chan struct{} // the queue is not empty
	ackKick chan struct{} // an ack is waiting to be saved
	ackNow  chan struct{} // so many acks wait that the save should not wait
	quit    chan struct{} // closed by Close
	wg      sync.WaitGroup
	saveMu  sync.Mutex // one cursor save at a time

	// Owned by the writer goroutine (and by Close once it has stopped).
	wf      *os.File // the active segment, the only file open for writing
	wseg    *segment
	wListed bool // wseg is in segs: it holds a committed record
	wsize   int64
	nextSeq uint64
	wbuf    []byte
	batch   []*unit

	// readMu serialises Reads with each other and with segment removal, so a
	// Read never finds its file gone; it guards the cached read handle.
	readMu sync.Mutex
	rf     *os.File
	rfSeg  *segment

	fsyncs atomic.Int64 // for benchmarks: group commits fsynced
}

// ackMark says that records up to seq were acknowledged by time at (unix
// nanoseconds). Acks close together share one mark, at the later time, so a
// record is kept at least RetainAcked and the marks stay few (maxMarks).
type ackMark struct {
	seq   uint64
	at    int64
	first int64 // the time of the first ack the mark joined
}

// maxMarks bounds the marks: acks within RetainAcked/maxMarks of the
// previous mark join it.
const maxMarks = 64

// unit is one Append waiting for the writer.
type unit struct {
	enc   []byte // records encoded; the writer fills in seq and checksum
	n     int
	first uint64 // set by the writer before done
	done  chan error
}

// segment is one segment file as far as it is committed.
type segment struct {
	first uint64
	path  string
	size  int64    // bytes committed (fsynced and verified)
	offs  []uint32 // offs[i]: where record first+i starts; appended only
	times []int64  // times[i]: its Appended, unix nanoseconds
}

func (g *segment) last() uint64 { return g.first + uint64(len(g.offs)) - 1 }

// end is where record i ends, given the segment's committed size.
func end(offs []uint32, size int64, i int) int64 {
	if i+1 < len(offs) {
		return int64(offs[i+1])
	}
	return size
}

// Append writes the records as one all-or-nothing unit and returns once they
// are fsynced, with the seq of the first; the others follow consecutively.
// Concurrent Appends are group-committed: one goroutine writes and fsyncs
// for all callers waiting at that moment, so many kiosks pressing at once
// share an fsync instead of queueing for one each.
//
// Nothing is written when it returns ErrFull or ErrTooLarge. If ctx ends
// first, Append returns its error but the records may still be stored: the
// caller must treat them as not accepted, and a retry may duplicate them.
func (s *Spool) Append(ctx context.Context, data ...[]byte) (firstSeq uint64, err error) {
	if len(data) == 0 {
		return 0, errors.New("spool: append: no records")
	}
	size := 0
	for _, d := range data {
		if len(d) > s.cfg.MaxRecordBytes {
			s.m.refuse(false)
			return 0, fmt.Errorf("%w: record of %d bytes, limit %d", ErrTooLarge, len(d), s.cfg.MaxRecordBytes)
		}
		size += headerSize + len(d)
	}
	if len(data) > s.cfg.MaxRecords || int64(size) > s.cfg.MaxBytes || size > maxAppendBytes {
		s.m.refuse(false)
		return 0, fmt.Errorf("%w: %d records / %s in one append can never fit the %d records / %s limit",
			ErrTooLarge, len(data), formatBytes(int64(size)), s.cfg.MaxRecords, formatBytes(min(s.cfg.MaxBytes, maxAppendBytes)))
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("spool: append: %w", err)
	}
	// Encoding happens here, in parallel across callers; the writer only
	// stamps seqs and checksums.
	now := time.Now().UnixNano()
	enc := make([]byte, 0, size)
	for i, d := range data {
		var flags byte
		if i == len(data)-1 {
			flags = flagUnitEnd
		}
		enc = appendRecord(enc, flags, 0, now, d)
	}
	u := &unit{enc: enc, n: len(data), done: make(chan error, 1)}

	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return 0, ErrClosed
	case s.failed != nil:
		err := s.failed
		s.mu.Unlock()
		return 0, fmt.Errorf("spool: append refused after an earlier write failure (reopen to recover): %w", err)
	}
	if r, b := s.records+s.pendRecords, s.bytes+s.pendBytes; r+u.n > s.cfg.MaxRecords || b+int64(size) > s.cfg.MaxBytes {
		s.mu.Unlock()
		s.m.refuse(true)
		return 0, fmt.Errorf("%w: %d records / %s limit reached (holding %d records / %s)",
			ErrFull, s.cfg.MaxRecords, formatBytes(s.cfg.MaxBytes), r, formatBytes(b))
	}
	s.queue = append(s.queue, u)
	s.pendRecords += u.n
	s.pendBytes += int64(size)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default: // the writer is already due to look at the queue
	}

	select {
	case err := <-u.done:
		if err != nil {
			return 0, err
		}
		return u.first, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("spool: append: %w (the records may still be stored)", ctx.Err())
	}
}

// writeLoop is the one goroutine that writes: it takes whatever Appends are
// queued, writes them with one write and one fsync, and answers them all.
// On Close it drains the queue first, so every queued Append gets an answer.
func (s *Spool) writeLoop() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		batch := s.takeLocked()
		closing := s.closed
		s.mu.Unlock()
		if len(batch) > 0 {
			s.commit(batch)
			continue
		}
		if closing {
			return
		}
		select {
		case <-s.kick:
		case <-s.quit:
		}
	}
}

// takeLocked moves the oldest queued Appends, up to commitBudget bytes but
// at least one, into the writer's batch.
func (s *Spool) takeLocked() []*unit {
	k, size := 0, 0
	for k < len(s.queue) && (k == 0 || size+len(s.queue[k].enc) <= commitBudget) {
		size += len(s.queue[k].enc)
		k++
	}
	s.batch = append(s.batch[:0], s.queue[:k]...)
	n := copy(s.queue, s.queue[k:])
	clear(s.queue[n:])
	s.queue = s.queue[:n]
	return s.batch
}

// commit writes one batch and answers its Appends.
func (s *Spool) commit(batch []*unit) {
	buf := s.wbuf[:0]
	seq := s.nextSeq
	records := 0
	for _, u := range batch {
		u.first = seq
		start := len(buf)
		buf = append(buf, u.enc...)
		for off := start; off < len(buf); {
			rec := buf[off:]
			n := recordLen(rec)
			if off == 0 {
				rec[1] |= flagCommitStart
			}
			putSeq(rec, seq)
			seal(rec[:n])
			seq++
			off += n
		}
		records += u.n
	}
	if cap(buf) <= commitBudget*2 {
		s.wbuf = buf[:0]
	} else {
		s.wbuf = nil // a one-off giant Append: do not keep its buffer
	}

	if s.wf == nil || s.wsize >= s.cfg.SegmentBytes {
		if err := s.roll(s.nextSeq); err != nil {
			s.fail(batch, s.fullIfNoSpace(err), false)
			return
		}
	}
	sticky, err := s.writeActive(buf)
	if err != nil && !sticky && noSpace(err) && s.reclaimActive() {
		// The active segment held only acknowledged records and is gone:
		// its space is back, so try once more in the fresh one.
		sticky, err = s.writeActive(buf)
	}
	if err != nil {
		if !sticky {
			err = s.fullIfNoSpace(err)
		}
		s.fail(batch, err, sticky)
		return
	}
	t0 := time.Now()
	err = s.wf.Sync()
	s.m.observeFsync(time.Since(t0))
	s.fsyncs.Add(1)
	if err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages
		// and reports success next time: nothing written from here on could
		// be trusted, so the spool stops writing until reopened, when
		// recovery reads back what really is on disk.
		s.fail(batch, fmt.Errorf("spool: fsync %s: %w", s.wseg.path, err), true)
		return
	}

	s.mu.Lock()
	g := s.wseg
	if !s.wListed {
		s.segs = append(s.segs, g)
		s.wListed = true
	}
	for off := 0; off < len(buf); {
		rec := buf[off:]
		g.offs = append(g.offs, uint32(s.wsize+int64(off)))
		g.times = append(g.times, getNanos(rec))
		off += recordLen(rec)
	}
	s.wsize += int64(len(buf))
	g.size = s.wsize
	s.nextSeq = seq
	s.committed = seq - 1
	s.records += records
	s.bytes += int64(len(buf))
	s.pendRecords -= records
	s.pendBytes -= int64(len(buf))
	s.publishLocked()
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	s.m.appendedRecords(records)
	for _, u := range batch {
		u.done <- nil
	}
}

// fail answers a batch that was not written. If sticky, the spool stops
// writing and everything queued behind the batch fails too.
func (s *Spool) fail(batch []*unit, err error, sticky bool) {
	s.log.Error("spool: write failed", "err", err, "stopped", sticky)
	s.mu.Lock()
	for _, u := range batch {
		s.pendRecords -= u.n
		s.pendBytes -= int64(len(u.enc))
	}
	var rest []*unit
	if sticky {
		s.failed = err
		rest = s.queue
		s.queue = nil
		for _, u := range rest {
			s.pendRecords -= u.n
			s.pendBytes -= int64(len(u.enc))
		}
	}
	s.mu.Unlock()
	for _, u := range append(batch, rest...) {
		u.done <- err
	}
}

// writeActive appends buf to the active segment. Nothing of this batch was
// acknowledged, and the seqs are reused by the next batch, so a failed
// write is cut back off the file; sticky reports that even that failed.
func (s *Spool) writeActive(buf []byte) (sticky bool, err error) {
	if _, err := s.wf.Write(buf); err != nil {
		err = fmt.Errorf("spool: writing %s: %w", s.wseg.path, err)
		if rerr := s.rollback(); rerr != nil {
			return true, errors.Join(err, rerr)
		}
		return false, err
	}
	return false, nil
}

// fullIfNoSpace makes a full disk an ErrFull, so callers answer it as the
// limits' refusal ("retry later", HTTP 503) rather than an internal error:
// it passes the same way, once the uplink catches up or space is freed.
func (s *Spool) fullIfNoSpace(err error) error {
	if !noSpace(err) {
		return err
	}
	s.m.refuse(true)
	return fmt.Errorf("%w: %w", ErrFull, err)
}

// noSpace reports a full filesystem or an exhausted quota.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// reclaimActive gives back the space of the active segment once every
// record in it is acknowledged, for a disk that has run out: segments
// otherwise go only when full (SegmentBytes), so a spool that just
// drained after an outage would keep refusing on a nearly full disk. It
// saves the cursor first (in place if the disk has no room for a new
// cursor file, see writeCursor), because a segment may go only once a
// saved cursor covers it; then it removes the segment and starts an empty
// one. It runs in the writer goroutine and reports whether it did.
func (s *Spool) reclaimActive() bool {
	// Records kept for a replay give way first: they are delivered.
	s.mu.Lock()
	s.released, s.marks = s.acked, s.marks[:0]
	saved := s.ackedSaved
	s.mu.Unlock()
	if err := s.removeCovered(saved, false); err != nil {
		s.log.Warn("spool: disk full, and acknowledged segments kept for a replay could not be removed", "err", err)
	}
	s.mu.Lock()
	g := s.wseg
	ok := g != nil && s.wListed && s.acked >= g.last()
	s.mu.Unlock()
	if !ok {
		return false
	}
	if err := s.saveCursor(false); err != nil {
		s.log.Warn("spool: disk full, and the ack cursor could not be saved to free the acknowledged segment", "err", err)
		return false
	}
	s.readMu.Lock()
	s.mu.Lock()
	covered := s.ackedSaved >= g.last() && len(s.segs) > 0 && s.segs[len(s.segs)-1] == g
	if covered {
		s.segs = s.segs[:len(s.segs)-1]
		s.wListed = false
	}
	s.mu.Unlock()
	if !covered {
		s.readMu.Unlock()
		return false
	}
	if s.rfSeg == g {
		_ = s.rf.Close()
		s.rf, s.rfSeg = nil, nil
	}
	if err := s.wf.Close(); err != nil {
		s.log.Warn("spool: closing an acknowledged segment", "file", g.path, "err", err)
	}
	s.wf, s.wseg, s.wsize = nil, nil, 0
	err := os.Remove(g.path)
	if err == nil {
		err = syncDir(s.cfg.Dir)
	}
	s.readMu.Unlock()
	if err != nil {
		s.log.Warn("spool: removing an acknowledged segment on a full disk", "file", g.path, "err", err)
	} else {
		s.log.Info("spool: disk full: removed the active segment, every record in it acknowledged", "file", g.path)
	}
	if err := s.roll(s.nextSeq); err != nil {
		s.log.Warn("spool: starting a segment after freeing space", "err", err)
		return false
	}
	return true
}

// rollback cuts a failed write back off the active segment.
func (s *Spool) rollback() error {
	if err := s.wf.Truncate(s.wsize); err != nil {
		return fmt.Errorf("spool: truncating %s after a failed write: %w", s.wseg.path, err)
	}
	if err := s.wf.Sync(); err != nil {
		return fmt.Errorf("spool: fsync %s after a failed write: %w", s.wseg.path, err)
	}
	return nil
}

// roll closes the active segment, already fsynced, and creates the next one,
// named by the seq of its first record.
func (s *Spool) roll(first uint64) error {
	if s.wf != nil {
		if err := s.wf.Close(); err != nil {
			s.log.Warn("spool: closing a full segment", "file", s.wseg.path, "err", err)
		}
		s.wf, s.wseg = nil, nil
	}
	path := segPath(s.cfg.Dir, first)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: creating segment: %w", err)
	}
	// Without this the new file's name may vanish in a power cut while
	// the records fsynced into it are acknowledged.
	if err := syncDir(s.cfg.Dir); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	s.wf, s.wseg, s.wListed, s.wsize = f, &segment{first: first, path: path}, false, 0
	return nil
}

// publishLocked hands the depth to the metrics.
func (s *Spool) publishLocked() {
	s.m.setDepth(s.records, s.bytes, s.oldestLocked())
}

// oldestLocked is the Appended time of the oldest unacknowledged record in
// unix nanoseconds, 0 if none.
func (s *Spool) oldestLocked() int64 {
	if s.records == 0 {
		return 0
	}
	g := s.segs[s.findLocked(s.acked+1)]
	return g.times[s.acked+1-g.first]
}

// findLocked is the index of the segment holding seq, which must be stored.
func (s *Spool) findLocked(seq uint64) int {
	return sort.Search(len(s.segs), func(i int) bool { return s.segs[i].first > seq }) - 1
}

// spanLocked is the on-disk size of records from..to, all stored.
func (s *Spool) spanLocked(from, to uint64) int64 {
	var n int64
	for i := s.findLocked(from); from <= to; i++ {
		g := s.segs[i]
		last := min(to, g.last())
		n += end(g.offs, g.size, int(last-g.first)) - int64(g.offs[from-g.first])
		from = last + 1
	}
	return n
}

// Read returns up to max records with Seq > after, in order, blocking until
// at least one exists or ctx ends. It never returns acknowledged records, so
// after a restart reading starts after the persisted cursor whatever after
// says. It may return fewer than max (about 1 MiB of data at most, and never
// across a segment boundary). Data is the caller's to keep.
func (s *Spool) Read(ctx context.Context, after uint64, max int) ([]Record, error) {
	if max < 1 {
		return nil, fmt.Errorf("spool: read: max %d, want at least 1", max)
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		ready := max64(after, s.acked) < s.committed
		wake := s.notify
		s.mu.Unlock()
		if ready {
			recs, err := s.readStored(after, max, false)
			if err != nil || len(recs) > 0 {
				return recs, err
			}
			continue // acknowledged meanwhile; wait for more
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, fmt.Errorf("spool: read: %w", ctx.Err())
		case <-s.quit:
			return nil, ErrClosed
		}
	}
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// ReadFrom is Read without the wait and with the acknowledged records still
// on disk: up to max committed records with Seq > after, the first being the
// oldest kept when after is older. It returns none when nothing follows
// after. The uplink replays Retained records with it; the agent reads its
// recent past at start.
func (s *Spool) ReadFrom(after uint64, max int) ([]Record, error) {
	if max < 1 {
		return nil, fmt.Errorf("spool: read: max %d, want at least 1", max)
	}
	return s.readStored(after, max, true)
}

// readStored reads committed records after after from one segment file;
// acknowledged ones only with withAcked.
func (s *Spool) readStored(after uint64, max int, withAcked bool) ([]Record, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	floor := s.acked
	if withAcked {
		floor = s.firstLocked() - 1
	}
	start := max64(after, floor) + 1
	if start > s.committed {
		s.mu.Unlock()
		return nil, nil
	}
	g := s.segs[s.findLocked(start)]
	// offs only grows, and never in place, so this copy stays valid while
	// the writer appends to the segment.
	offs, size := g.offs, g.size
	s.mu.Unlock()

	i := int(start - g.first)
	j := min(len(offs), i+max) // records i..j-1
	begin := int64(offs[i])
	if end(offs, size, j-1)-begin > readBudget {
		// The first record past the budget ends the read, but the first
		// record is always included, however large.
		j = i + 1 + sort.Search(j-i-1, func(k int) bool { return end(offs, size, i+1+k)-begin > readBudget })
	}
	buf := make([]byte, end(offs, size, j-1)-begin)
	f, err := s.readFileLocked(g)
	if err != nil {
		return nil, err
	}
	if _, err := f.ReadAt(buf, begin); err != nil {
		return nil, fmt.Errorf("spool: reading %s at offset %d: %w", g.path, begin, err)
	}
	recs := make([]Record, 0, j-i)
	for p, seq := 0, start; p < len(buf); seq++ {
		rec, _, n, err := decodeRecord(buf[p:])
		if err == nil && rec.Seq != seq {
			err = fmt.Errorf("seq %d where %d was expected", rec.Seq, seq)
		}
		if err != nil {
			// Verified at Open or written by this process: damage since.
			return nil, fmt.Errorf("%w: %s at offset %d: %w", ErrCorrupt, g.path, begin+int64(p), err)
		}
		recs = append(recs, rec)
		p += n
	}
	return recs, nil
}

// readFileLocked returns a read handle on g, keeping one open between Reads:
// the uplink reads the same segment many times in a row.
func (s *Spool) readFileLocked(g *segment) (*os.File, error) {
	if s.rfSeg == g {
		return s.rf, nil
	}
	if s.rf != nil {
		_ = s.rf.Close()
		s.rf, s.rfSeg = nil, nil
	}
	f, err := os.Open(g.path)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.rf, s.rfSeg = f, g
	return f, nil
}

// Ack records that every record with Seq <= seq was delivered. It does not
// wait for the disk: the cursor is saved within 100 ms or 1,000 records, and
// on Close, and a crash before that only re-sends those records. Segment
// files are removed once the saved cursor covers them. Acknowledging an
// earlier seq again is a no-op; a seq not yet stored is an error.
func (s *Spool) Ack(seq uint64) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if seq <= s.acked {
		s.mu.Unlock()
		return nil
	}
	if seq > s.committed {
		c := s.committed
		s.mu.Unlock()
		return fmt.Errorf("spool: ack %d: beyond the last stored record %d", seq, c)
	}
	n := seq - s.acked
	s.bytes -= s.spanLocked(s.acked+1, seq)
	s.records -= int(n)
	s.acked = seq
	s.markLocked(seq, s.now().UnixNano())
	s.publishLocked()
	arm := !s.saveArmed
	s.saveArmed = true
	urgent := s.acked-s.ackedSaved >= ackSaveRecords
	s.mu.Unlock()
	s.m.ack(n)
	if arm {
		select {
		case s.ackKick <- struct{}{}:
		default:
		}
	}
	if urgent {
		select {
		case s.ackNow <- struct{}{}:
		default:
		}
	}
	return nil
}

// markLocked records that seq was acknowledged at time at and releases the
// records acknowledged more than RetainAcked before it.
func (s *Spool) markLocked(seq uint64, at int64) {
	keep := int64(s.cfg.RetainAcked)
	if keep == 0 {
		s.released = seq
		return
	}
	if n := len(s.marks); n > 0 && at-s.marks[n-1].first < keep/maxMarks {
		s.marks[n-1].seq, s.marks[n-1].at = seq, max(at, s.marks[n-1].at)
	} else {
		s.marks = append(s.marks, ackMark{seq: seq, at: at, first: at})
	}
	i := 0
	for i < len(s.marks)-1 && s.marks[i].at <= at-keep {
		s.released = s.marks[i].seq
		i++
	}
	s.marks = append(s.marks[:0], s.marks[i:]...)
}

// Retained returns the acknowledged records still kept for a replay: those
// with after < Seq <= last (none when after == last). Read them with ReadFrom.
func (s *Spool) Retained() (after, last uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.released, s.firstLocked()-1), s.acked
}

// Span returns the seqs of the first record on disk (acknowledged or not)
// and of the last committed one; first > last when none is.
func (s *Spool) Span() (first, last uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstLocked(), s.committed
}

// Renew restarts the retention of every acknowledged record kept, as if
// all were acknowledged now: the uplink calls it when it has sent them
// again to a broker that may not have saved them yet.
func (s *Spool) Renew() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.RetainAcked > 0 && s.acked > s.released {
		now := s.now().UnixNano()
		s.marks = append(s.marks[:0], ackMark{seq: s.acked, at: now, first: now})
	}
}

// firstLocked is the seq of the first record on disk, or the next one when
// none is.
func (s *Spool) firstLocked() uint64 {
	if len(s.segs) == 0 {
		return s.committed + 1
	}
	return s.segs[0].first
}

// saveLoop saves the cursor a little after the first unsaved ack, or at
// once when many are waiting, so acks never wait for the disk.
func (s *Spool) saveLoop() {
	defer s.wg.Done()
	t := time.NewTimer(ackSaveDelay)
	t.Stop()
	for {
		select {
		case <-s.ackKick:
		case <-s.quit:
			return // Close saves the final cursor
		}
		t.Reset(ackSaveDelay)
		select {
		case <-t.C:
		case <-s.ackNow:
			t.Stop()
		case <-s.quit:
			t.Stop()
			return
		}
		if err := s.saveCursor(false); err != nil {
			s.log.Error("spool: saving the ack cursor", "err", err)
		}
	}
}

// saveCursor persists the cursor, then removes the segments it covers. With
// final (at Close, the writer stopped) the active segment may go too.
func (s *Spool) saveCursor(final bool) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	c, saved, released := s.acked, s.ackedSaved, s.released
	s.saveArmed = false
	s.mu.Unlock()
	if c != saved {
		if err := writeCursor(s.cfg.Dir, c); err != nil {
			return err // the next ack tries again
		}
		s.mu.Lock()
		s.ackedSaved = c
		s.mu.Unlock()
	}
	return s.removeCovered(min(c, released), final)
}

// removeCovered deletes the segment files whose records are all at or below
// the saved cursor c. Deleting one earlier could lose a seq: with no file
// left, the next seq after a restart comes from the cursor.
func (s *Spool) removeCovered(c uint64, final bool) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.mu.Lock()
	k := 0
	for k < len(s.segs) && (k < len(s.segs)-1 || final) && s.segs[k].last() <= c {
		k++
	}
	victims := append([]*segment(nil), s.segs[:k]...)
	s.segs = append([]*segment(nil), s.segs[k:]...)
	s.mu.Unlock()
	if len(victims) == 0 {
		return nil
	}
	var errs []error
	for _, g := range victims {
		if s.rfSeg == g {
			_ = s.rf.Close()
			s.rf, s.rfSeg = nil, nil
		}
		if final && s.wseg == g {
			if err := s.wf.Close(); err != nil {
				errs = append(errs, fmt.Errorf("spool: closing %s: %w", g.path, err))
			}
			s.wf, s.wseg = nil, nil
		}
		if err := os.Remove(g.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("spool: removing acknowledged segment: %w", err))
		}
		s.log.Debug("spool: removed acknowledged segment", "file", g.path)
	}
	if err := syncDir(s.cfg.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Stats returns the records not yet acknowledged, their on-disk size, and the
// Appended time of the oldest (zero when there is none).
func (s *Spool) Stats() (records int, bytes int64, oldest time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.oldestLocked(); o != 0 {
		oldest = time.Unix(0, o)
	}
	return s.records, s.bytes, oldest
}

// Close writes what is queued, saves the cursor, removes the acknowledged
// segments and releases the directory. Blocked Reads return ErrClosed.
// Closing again is a no-op.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	s.wg.Wait() // the writer has drained the queue

	errs := []error{s.saveCursor(true)}
	if s.wf != nil {
		errs = append(errs, s.wf.Close())
		s.wf = nil
	}
	s.readMu.Lock()
	if s.rf != nil {
		errs = append(errs, s.rf.Close())
		s.rf, s.rfSeg = nil, nil
	}
	s.readMu.Unlock()
	errs = append(errs, unlockDir(s.lock))
	records, _, _ := s.Stats()
	s.log.Info("spool: closed", "records", records)
	return errors.Join(errs...)
}

// formatBytes writes n in binary units, the way the limits are configured.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n), 0
	names := []string{"KiB", "MiB", "GiB", "TiB"}
	for v /= unit; v >= unit && u < len(names)-1; u++ {
		v /= unit
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), names[u])
	}
	return fmt.Sprintf("%.1f %s", v, names[u])
}
