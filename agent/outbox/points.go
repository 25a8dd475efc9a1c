package outbox

import (
	"sync"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// DefaultPointWindow bounds the points an outbox remembers: a busy
// center's day of events several times over, about 150 bytes each.
const DefaultPointWindow = 50_000

// points gives every event a time that no other event of the same series
// holds, so no two distinct events become one InfluxDB point. Sources such
// as a queue system stamp whole seconds: three tickets issued in one second
// for one service would otherwise share measurement, tags and ts, and
// InfluxDB would keep one of the three. The time kept is the source's to the
// millisecond; below it, the source's own nanoseconds when it gave any and
// they are free (the agent's own stamps keep their exact time and order),
// else schema.PointTime's choice from the event's ID.
//
// It remembers the last DefaultPointWindow points it handed out and who
// holds each: an event encoded again (a retried queue step, a re-emitted
// session) gets its own point back, never a second one. After a restart it
// remembers nothing: a new whole-millisecond event then lands on an earlier
// event's point only if both are in the same series and millisecond and
// their IDs hash to the same nanosecond slot (one chance in a million per
// such pair), and the collector refuses that one with reason point_conflict
// rather than let it overwrite.
type points struct {
	mu  sync.Mutex
	win *schema.PointWindow
}

// place sets ev's ts to its own point time; ev must be valid.
func (p *points) place(ev schema.Event) {
	h := ev.Head()
	series := schema.PointKeyOf(ev).Series
	p.mu.Lock()
	defer p.mu.Unlock()
	h.TS = schema.PointTime(h.ID, h.TS, func(t time.Time) bool {
		return p.win.Claim(schema.PointKey{Series: series, NS: t.UnixNano()}, h.ID)
	})
}

// claim records that ev, already placed (read back from the spool), holds
// its point, so no later event is given it.
func (p *points) claim(ev schema.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.win.Claim(schema.PointKeyOf(ev), ev.Head().ID)
}
