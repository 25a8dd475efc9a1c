package outbox

import (
	"fmt"
	"time"

	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/internal/schema"
)

// SpoolReader is the part of the spool Recover reads.
type SpoolReader interface {
	Span() (first, last uint64)
	ReadFrom(after uint64, max int) ([]spool.Record, error)
}

// RecoverLimit bounds what Recover reads: the newest records the point
// window can remember. A press retried across a restart is seconds old; a
// backlog of a long outage need not be read twice at start (100,000
// records take about a second, BENCHMARKS.md).
const RecoverLimit = DefaultPointWindow

// Recover reads back what the spool still holds (the records not yet
// delivered, and those delivered within its retain_acked; the newest
// RecoverLimit of them), at the agent's start, before anything new is
// emitted. Each event's point is claimed, so
// no new event is placed on it, and each is handed to fn in spool order:
// the agent rebuilds from them its memory of recent presses, so a tap
// retried or a button press redelivered across a restart is recognised
// instead of becoming a second rating. Records that do not decode are
// skipped (the uplink counts them). It returns how many events it read.
func (o *Outbox) Recover(r SpoolReader, fn func(schema.Event)) (int, error) {
	n := 0
	first, last := r.Span()
	after := first - 1
	if last > after+RecoverLimit {
		after = last - RecoverLimit
	}
	for {
		recs, err := r.ReadFrom(after, 500)
		if err != nil {
			return n, fmt.Errorf("outbox: reading back the spool: %w", err)
		}
		if len(recs) == 0 {
			return n, nil
		}
		for _, rec := range recs {
			after = rec.Seq
			topic, payload, err := DecodeRecord(rec.Data)
			if err != nil {
				continue
			}
			// Validated when spooled; the clock here only bounds ts from
			// above, and a spooled ts is never ahead of the agent's.
			ev, err := schema.DecodeMessage(topic, payload, o.now().Add(schemaSlack))
			if err != nil {
				continue
			}
			o.points.claim(ev)
			if fn != nil {
				fn(ev)
			}
			n++
		}
	}
}

// schemaSlack lets a spooled event whose ts the agent's clock has since
// gone back past (an NTP step) still be read back.
const schemaSlack = 24 * time.Hour
