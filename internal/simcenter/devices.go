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
}

// cameraTick reports cam's health and schedules the next report.
func (g *Generator) cameraTick(cam *camera) step {
	return func(t time.Time) (Message, bool) {
		g.at(t.Add(cameraPeriod), g.cameraTick(cam))
		if cam.down && !t.Before(cam.downUntil) {
			cam.down = false
			cam.reconnects++
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
