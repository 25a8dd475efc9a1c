package mqttconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

func TestBufferedConnKeepsOrderAndFlushesOnClose(t *testing.T) {
	client, server := net.Pipe()
	bc := newBufferedConn(client, time.Second)

	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(&got, server)
	}()

	var want bytes.Buffer
	for i := range 5000 {
		p := []byte{0x40, 0x02, byte(i >> 8), byte(i)} // a PUBACK each
		want.Write(p)
		if _, err := bc.Write(p); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := bc.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("peer got %d bytes, want %d in order", got.Len(), want.Len())
	}
	if _, err := bc.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v, want net.ErrClosed", err)
	}
}

func TestBufferedConnReportsWriteErrors(t *testing.T) {
	client, server := net.Pipe()
	bc := newBufferedConn(client, time.Second)
	server.Close() // the peer goes away
	var err error
	for range 100 {
		if _, err = bc.Write([]byte("x")); err != nil {
			break
		}
		// The flusher records the failure; keep writing until it surfaces.
		bc.mu.Lock()
		for len(bc.pending) > 0 && bc.err == nil {
			bc.cond.Wait()
		}
		bc.mu.Unlock()
	}
	if err == nil {
		t.Fatal("writes to a closed peer kept succeeding")
	}
	_ = bc.Close()
}

func TestBufferedConnReadsThroughBuffer(t *testing.T) {
	client, server := net.Pipe()
	bc := newBufferedConn(client, time.Second)
	defer bc.Close()
	go func() {
		_, _ = server.Write([]byte("hello"))
		server.Close()
	}()
	b, err := io.ReadAll(bc)
	if err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
}

// Regression: a flush bigger than maxPending must not leave the spare
// buffer aliasing the pending one (bytes sent would be overwritten).
func TestBufferedConnLargeFlushKeepsBytes(t *testing.T) {
	client, server := net.Pipe()
	bc := newBufferedConn(client, 5*time.Second)
	var got bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&got, server); close(done) }()
	var want bytes.Buffer
	big := bytes.Repeat([]byte{0xAB}, maxPending+1000)
	for i := range 50 {
		p := big
		if i%2 == 1 {
			p = []byte{byte(i), 1, 2, 3}
		}
		want.Write(p)
		if _, err := bc.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("peer got %d bytes differing from the %d written", got.Len(), want.Len())
	}
}

// A peer that stops reading makes the flusher's write time out, and the
// error reaches the writers instead of hanging them.
func TestBufferedConnWriteTimeout(t *testing.T) {
	client, server := net.Pipe() // net.Pipe has no buffer: nobody reads
	defer server.Close()
	bc := newBufferedConn(client, 50*time.Millisecond)
	defer bc.Close()
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		_, err = bc.Write(make([]byte, 64<<10))
	}
	if err == nil {
		t.Fatal("writes to a stalled peer never failed")
	}
}
