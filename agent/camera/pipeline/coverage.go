package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/internal/schema"
)

// Coverage: a zone's state counts as presence or absence only while the
// agent knows it. The agent says "unknown" (an occupancy event with state
// unknown) for every zone of a camera when the camera goes down, when its
// view is tampered with or re-learning, when the agent stops, and, after a
// crash, from the last moment the agent was known to be running; and it
// sends every zone's state again at the first frame judged after that. The
// dashboard counts presence on known time only, so none of these reads as
// an official away.

// seenFile, in the state directory, holds the latest time the agent was
// running with its cameras' states known: after a crash the next start
// says "unknown" from then on.
const seenFile = "seen.json"

// seenEvery is how often seenFile is refreshed while running.
const seenEvery = 10 * time.Second

// maxSeenAge is how old a seenFile may be for its "unknown" to be sent: the
// collector refuses points older than its max_lag (14 days by default).
const maxSeenAge = 13 * 24 * time.Hour

type seenState struct {
	Until time.Time `json:"until"`
}

// occupancyEvent is one zone's state at at.
func (w *Watch) occupancyEvent(c *camera, z occupancy.Zone, at time.Time, state schema.ZoneState, confidence float64) *schema.Occupancy {
	h := w.out.Header()
	h.TS = at.UTC()
	ev := &schema.Occupancy{Header: h, Camera: c.cfg.ID, Counter: z.Counter, Zone: z.Kind,
		Occupied: state == schema.ZoneOccupied, State: state}
	if state != schema.ZoneUnknown {
		ev.Confidence = clampConfidence(confidence)
	}
	return ev
}

// unknownEvents says "unknown" for every zone of c from at.
func (w *Watch) unknownEvents(c *camera, at time.Time) []*schema.Occupancy {
	out := make([]*schema.Occupancy, 0, len(c.cfg.Zones))
	for _, z := range c.cfg.Zones {
		out = append(out, w.occupancyEvent(c, z, at, schema.ZoneUnknown, 0))
	}
	return out
}

// stateEvents says every zone's state, as judged at at.
func (w *Watch) stateEvents(c *camera, states []occupancy.ZoneState, at time.Time) []*schema.Occupancy {
	out := make([]*schema.Occupancy, 0, len(states))
	for _, s := range states {
		out = append(out, w.occupancyEvent(c, s.Zone, at, zoneState(s.Occupied, s.Unsure), s.Confidence))
	}
	return out
}

// zoneState is the contract's state of a zone the detector judged: unsure
// (a still change it cannot call a person or an object) is unknown.
func zoneState(occupied, unsure bool) schema.ZoneState {
	switch {
	case unsure:
		return schema.ZoneUnknown
	case occupied:
		return schema.ZoneOccupied
	}
	return schema.ZoneVacant
}

// emitOccupancy spools evs one by one (each is its own fact) and records
// the latest time sent, for seenFile. Called with c.emitMu held.
func (w *Watch) emitOccupancy(c *camera, evs []*schema.Occupancy) {
	if len(evs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), emitTimeout)
	defer cancel()
	var last time.Time
	for _, ev := range evs {
		if err := w.out.Emit(ctx, ev); err != nil {
			w.m.emitErrors.Inc()
			w.log.Error("occupancy change not spooled", "camera", c.cfg.ID, "counter", ev.Counter, "zone", ev.Zone, "err", err)
			continue
		}
		if ev.TS.After(last) {
			last = ev.TS
		}
	}
	if !last.IsZero() {
		// Kept at once: an event sent after the file's time would carry a
		// state across the gap a crash now would leave.
		w.markSeen(last, true)
	}
}

// goneUnknown says "unknown" for c's zones if its last word was a known
// state: the camera is down, tampered with or re-learning.
func (w *Watch) goneUnknown(c *camera, at time.Time, why string) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	if !c.known {
		return
	}
	c.known = false
	w.log.Info("camera zones unknown from now", "camera", c.cfg.ID, "why", why)
	// Nor does the agent itself count an absence (or a presence) it
	// cannot see: its absence gauge and log stop with the camera, before
	// anyone hears of the unknown.
	updates := make([]seatUpdate, 0, len(c.cfg.Zones))
	for _, z := range c.cfg.Zones {
		updates = append(updates, seatUpdate{z, schema.ZoneUnknown, at})
	}
	w.mu.Lock()
	w.updateSeats(c, updates)
	w.mu.Unlock()
	w.emitOccupancy(c, w.unknownEvents(c, at))
}

// markSeen records that the agent ran, its cameras' states known, until
// t; the file is rewritten at most every seenEvery unless now.
func (w *Watch) markSeen(t time.Time, now bool) {
	if w.stateDir == "" {
		return
	}
	w.seenMu.Lock()
	defer w.seenMu.Unlock()
	if t.After(w.seenUntil) {
		w.seenUntil = t
	}
	if !now && w.seenWritten.Add(seenEvery).After(t) {
		return
	}
	b, _ := json.Marshal(seenState{Until: w.seenUntil.UTC()})
	// Renamed into place without fsync: a crash of the process keeps the
	// page cache; a power cut may leave an older time, and the gap after
	// it then starts with the state sent before it, as before this file.
	tmp := filepath.Join(w.stateDir, seenFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		err = os.Rename(tmp, filepath.Join(w.stateDir, seenFile))
		if err == nil {
			w.seenWritten = t
			return
		}
	}
	w.log.Warn("agent run time not recorded: a crash now would leave its gap without an unknown", "dir", w.stateDir)
}

// sayUnknownSinceLastRun reads seenFile, left by a run that did not stop
// cleanly, and says "unknown" for every zone from just after its time.
func (w *Watch) sayUnknownSinceLastRun(now time.Time) {
	if w.stateDir == "" {
		return
	}
	path := filepath.Join(w.stateDir, seenFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var st seenState
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil || st.Until.IsZero() {
		w.log.Warn("last run's time unreadable: its gap starts with the state sent before it", "file", path, "err", err)
		return
	}
	if !st.Until.Before(now) || now.Sub(st.Until) > maxSeenAge {
		return
	}
	at := st.Until.Add(time.Millisecond)
	w.log.Info("agent did not stop cleanly: camera zones unknown since its last known time", "since", at)
	for _, c := range w.cams {
		c.emitMu.Lock()
		c.known = false
		w.emitOccupancy(c, w.unknownEvents(c, at))
		c.emitMu.Unlock()
	}
}

// sayUnknownAtStop says "unknown" for every zone as the agent stops, and
// removes seenFile when all is spooled: nothing is known until the next
// run judges a frame.
func (w *Watch) sayUnknownAtStop(at time.Time) {
	for _, c := range w.cams {
		c.emitMu.Lock()
		c.known = false
		w.emitOccupancy(c, w.unknownEvents(c, at))
		c.emitMu.Unlock()
	}
	if w.stateDir != "" {
		if err := os.Remove(filepath.Join(w.stateDir, seenFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.log.Warn("run time file not removed", "err", err)
		}
	}
}
