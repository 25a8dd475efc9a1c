package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/agent/spool"
)

// backgroundEvery is how often each camera's learned background is saved
// while it runs (and once more at a clean stop). After a crash the agent
// starts from a background at most this old: the reference adapts slowly,
// so a few minutes of it are nothing, while learning the empty scene anew
// from the first frame would take in whoever sits there.
const backgroundEvery = 5 * time.Minute

func backgroundFile(cam string) string { return "background-" + cam + ".bin" }

// restoreBackground starts c's detector from the background the last run
// kept. A missing file is a first start; an unreadable one is logged and
// the empty scene learned anew, as at a first start: the calibration page
// then shows what was learned.
func (w *Watch) restoreBackground(c *camera) {
	if w.stateDir == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(w.stateDir, backgroundFile(c.cfg.ID)))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var bg occupancy.Background
	if err == nil {
		err = bg.UnmarshalBinary(b)
	}
	if err == nil {
		err = c.det.Restore(bg)
	}
	if err != nil {
		w.log.Warn("kept background of the camera not used: learning the empty scene from the first frame", "camera", c.cfg.ID, "err", err)
		return
	}
	w.log.Info("camera starts from its kept background", "camera", c.cfg.ID, "width", bg.W, "height", bg.H)
}

// saveBackground keeps c's background if it has one worth keeping and
// backgroundEvery has passed since the last save at at (force: at a
// stop). On c's consumer goroutine, or after it ended.
func (w *Watch) saveBackground(c *camera, at time.Time, force bool) {
	if w.stateDir == "" || (!force && !c.bgSaved.IsZero() && at.Sub(c.bgSaved) < backgroundEvery) {
		return
	}
	bg, ok := c.det.Background()
	if !ok {
		return
	}
	c.bgSaved = at
	b, err := bg.MarshalBinary()
	if err == nil {
		err = spool.WriteFileAtomic(w.stateDir, backgroundFile(c.cfg.ID), b)
	}
	if err != nil {
		w.log.Error("camera background not saved: a restart would learn the empty scene anew", "camera", c.cfg.ID, "err", fmt.Errorf("cameras: %w", err))
	}
}
