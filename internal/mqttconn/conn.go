package mqttconn

import (
	"bufio"
	"net"
	"sync"
	"time"
)

// bufferedConn fixes the two costs that dominate a paho consumer's CPU on a
// busy link (see NOTES-performance.md): paho reads each packet header a byte
// at a time, one read system call per byte, and writes every PUBACK with its
// own write system call. Reads go through a bufio.Reader; writes are appended
// to a pending buffer that one flusher goroutine writes out, so a burst of
// acknowledgements leaves in a few system calls while a lone packet still
// leaves at once (group commit: nothing waits for a timer).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	spare   []byte
	err     error // sticky write error, returned by later writes
	closed  bool
	done    chan struct{}

	writeTimeout time.Duration
}

const (
	readBufferSize = 64 << 10
	// maxPending bounds what writers may queue before they wait for the
	// flusher: the buffer can't grow without limit if the peer stops reading.
	maxPending = 1 << 20
	// closeFlushTimeout bounds how long Close waits for pending bytes (the
	// DISCONNECT packet, last PUBACKs) to reach the socket.
	closeFlushTimeout = 2 * time.Second
)

func newBufferedConn(c net.Conn, writeTimeout time.Duration) *bufferedConn {
	if writeTimeout <= 0 {
		writeTimeout = 10 * time.Second
	}
	b := &bufferedConn{
		Conn:         c,
		writeTimeout: writeTimeout,
		r:            bufio.NewReaderSize(c, readBufferSize),
		done:         make(chan struct{}),
	}
	b.cond = sync.NewCond(&b.mu)
	go b.flushLoop()
	return b
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// SetWriteDeadline and SetDeadline keep paho's write deadlines off the
// socket: they would apply to the flusher's later writes at random. The
// flusher sets its own (writeTimeout) on every write.
func (b *bufferedConn) SetWriteDeadline(time.Time) error { return nil }

func (b *bufferedConn) SetDeadline(t time.Time) error { return b.Conn.SetReadDeadline(t) }

func (b *bufferedConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.pending) >= maxPending && b.err == nil && !b.closed {
		b.cond.Wait()
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.closed {
		return 0, net.ErrClosed
	}
	b.pending = append(b.pending, p...)
	b.cond.Broadcast()
	return len(p), nil
}

func (b *bufferedConn) flushLoop() {
	defer close(b.done)
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for len(b.pending) == 0 && !b.closed && b.err == nil {
			b.cond.Wait()
		}
		if b.err != nil || len(b.pending) == 0 {
			return // closed and drained, or the socket failed
		}
		out := b.pending
		b.pending = b.spare[:0]
		b.spare = nil
		b.mu.Unlock()
		// paho's write deadlines reach only the buffer (its Write returns at
		// once), so the flusher bounds each socket write itself: a half-open
		// link fails here, which fails paho's next write and its keepalive,
		// instead of hanging until TCP gives up.
		_ = b.Conn.SetWriteDeadline(time.Now().Add(b.writeTimeout))
		_, err := b.Conn.Write(out)
		b.mu.Lock()
		if cap(out) <= maxPending {
			b.spare = out[:0]
		} else {
			// Never keep an array that may be the one now pending: the
			// flusher and the writers would share it.
			b.spare = nil
		}
		if err != nil {
			b.err = err
		}
		b.cond.Broadcast() // writers waiting for room
	}
}

// Close sends what is pending (bounded by closeFlushTimeout) and closes.
func (b *bufferedConn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return net.ErrClosed
	}
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	select {
	case <-b.done:
	case <-time.After(closeFlushTimeout):
	}
	err := b.Conn.Close()
	<-b.done // the blocked write, if any, returns once the socket is closed
	return err
}
