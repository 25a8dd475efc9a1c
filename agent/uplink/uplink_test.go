package uplink

import "testing"

// The spool may drop only a fully acknowledged prefix, whatever order the
// PUBACKs come in (after a reconnect paho resends what was pending).
func TestAckTrackerPrefix(t *testing.T) {
	var a ackTracker
	for seq := uint64(10); seq <= 15; seq++ {
		a.sent(seq)
	}
	steps := []struct {
		ack   uint64
		upTo  uint64
		moved bool
	}{
		{12, 0, false}, // 10 and 11 still pending
		{11, 0, false},
		{10, 12, true}, // 10, 11, 12 done
		{9, 0, false},  // below the prefix: ignored
		{14, 0, false},
		{13, 14, true},
		{15, 15, true},
	}
	for _, s := range steps {
		upTo, moved := a.ack(s.ack)
		if moved != s.moved || moved && upTo != s.upTo {
			t.Fatalf("ack(%d) = %d, %v; want %d, %v", s.ack, upTo, moved, s.upTo, s.moved)
		}
	}
}

func TestAckTrackerBeforeSend(t *testing.T) {
	var a ackTracker
	if _, moved := a.ack(5); moved {
		t.Fatal("an ack before anything was sent moved the prefix")
	}
}
