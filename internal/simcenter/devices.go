package simcenter

import (
	"time"

	"github.com/pscm/pscm/internal/schema"
)

const (
	cameraPeriod = 10 * time.Second // camera health, as docs/events.md fixes it
	agentPeriod  = time.Minute      // agent status
	// cameraOutageP is the chance per report that a camera's stream drops
	// for a while: a few outages a day across a center's cameras.
	cameraOutageP = 1.0 / 20000
	agentVersion  = "0.1.0"
)

type camera struct {
	id         string
	downUntil  time.Time
	down       bool
	reconnects int64
	// outFrom and outTo are the day's outage from the Calendar, if any:
	// the stream is down in between whatever the dice say.
	outFrom, outTo time.Time
}

// cameraTick reports cam's health and schedules the next report, until
// the time until (none when zero).
func (g *Generator) cameraTick(cam *camera, until time.Time) step {
	return func(t time.Time) (Message, bool) {
		if next := t.Add(cameraPeriod); until.IsZero() || next.Before(until) {
			g.at(next, g.cameraTick(cam, until))
		}
		if cam.down && !t.Before(cam.downUntil) {
			cam.down = false
			cam.reconnects++
		}
		if !cam.down && !t.Before(cam.outFrom) && t.Before(cam.outTo) {
			cam.down, cam.downUntil = true, cam.outTo
		}
		if !cam.down && g.rng.Float64() < cameraOutageP {
			cam.down = true
			cam.downUntil = t.Add(uniform(g.rng, 30*time.Second, 3*time.Minute))
		}
		ev := &schema.Camera{
			Header:     g.em.header(t),
			Camera:     cam.id,
			Up:         !cam.down,
			Codec:      schema.CodecH264,
			Reconnects: cam.reconnects,
		}
		if !cam.down {
			ev.FPS = float64(248+g.rng.IntN(3)) / 10
			ev.Kbps = float64(3800 + g.rng.IntN(400))
			ev.GopS = 2
			ev.Width, ev.Height = 1920, 1080
		}
		return g.em.message(ev), true
	}
}

// planOutage schedules the outage the day [midnight, next) has, if any:
// the camera down from From to To, its zones unknown in between. Without
// heartbeats, that camera alone reports its health all that day, so the
// outage shows where a camera-down alert looks for it.
func (g *Generator) planOutage(midnight, next time.Time) {
	o := g.day.Outage
	if !o.To.After(o.From) || !o.To.After(g.now) {
		return
	}
	for i, c := range g.counters {
		if c.id != o.Counter {
			continue
		}
		cam := g.cameras[i]
		cam.outFrom, cam.outTo = o.From, o.To
		if g.cfg.NoHeartbeats {
			g.at(midnight.Add(g.cameraOffset(i)), g.cameraTick(cam, next))
		}
		for _, z := range []schema.Zone{schema.ZoneStaff, schema.ZoneCitizen} {
			g.at(o.From, g.goBlind(c, z))
			g.at(o.To, g.seeAgain(c, z))
		}
		return
	}
}

// goBlind reports zone z of c unknown: the camera that watches it is down,
// so nobody can say whether the official or a citizen is there.
func (g *Generator) goBlind(c *counter, z schema.Zone) step {
	return func(t time.Time) (Message, bool) {
		c.blind = true
		return g.em.message(&schema.Occupancy{
			Header:   g.em.header(t),
			Camera:   c.camera,
			Counter:  c.id,
			Zone:     z,
			Occupied: false, // unknown is neither present nor absent
			State:    schema.ZoneUnknown,
		}), true
	}
}

// seeAgain reports what zone z of c holds when its camera is back.
func (g *Generator) seeAgain(c *counter, z schema.Zone) step {
	return func(t time.Time) (Message, bool) {
		c.blind = false
		occupied := c.present
		if z == schema.ZoneCitizen {
			occupied = c.seated
		}
		return g.occupancy(t, c, z, occupied)
	}
}

// agentTick reports the agent's status and schedules the next report. The
// agent started when the simulation did.
func (g *Generator) agentTick(t time.Time) (Message, bool) {
	g.at(t.Add(agentPeriod), g.agentTick)
	return g.em.message(&schema.Agent{
		Header:  g.em.header(t),
		Agent:   agentID(g.cfg.Site),
		Status:  schema.StatusOnline,
		Version: agentVersion,
		UptimeS: seconds(t.Sub(g.cfg.Start)),
	}), true
}

// agentID names the site's one edge agent, "<site>-edge-1", shortening the
// site so the ID stays within the 63 bytes IDs may have.
func agentID(site string) string {
	const suffix = "-edge-1"
	if len(site) > 63-len(suffix) {
		site = site[:63-len(suffix)]
	}
	return site + suffix
}
