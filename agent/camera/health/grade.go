// Package health measures how well each camera stream is doing: up, frame
// rate, bit rate, keyframe interval, resolution, reconnects and stalls, and a
// good / degraded / unusable grade an operator can alert on. It knows nothing
// about RTSP: the ingest feeds it observations, and it turns them into
// snapshots, `camera` events and Prometheus metrics.
package health

import "fmt"

// Grade is a camera's usability for zone occupancy, as a small number so it
// can be a Prometheus gauge: 0 good, 1 degraded, 2 unusable.
type Grade int

// Grades.
const (
	GradeGood     Grade = 0
	GradeDegraded Grade = 1
	GradeUnusable Grade = 2
)

// String returns good, degraded or unusable.
func (g Grade) String() string {
	switch g {
	case GradeGood:
		return "good"
	case GradeDegraded:
		return "degraded"
	case GradeUnusable:
		return "unusable"
	}
	return fmt.Sprintf("grade(%d)", int(g))
}

// GradeInput is everything the grade depends on; Rate is a pure function of
// it so the rule is tested with a table and explained in one place.
type GradeInput struct {
	Up bool
	// FPS is the measured frame rate of the last window.
	FPS float64
	// NominalFPS is what the camera should deliver: configured, declared by
	// the stream (SDP or SPS timing), or the median learned over the last
	// hour. 0 means unknown, and the frame rate then does not count.
	NominalFPS float64
	// Reconnects and Stalls are counted over the last hour. Every stall also
	// causes a reconnect, so a stall weighs on both.
	Reconnects int
	Stalls     int
}

// Thresholds of Rate. Occupancy looks at one keyframe every 1-4 s, so the
// frame rate itself matters less than what a low one reveals: a camera
// starved of bandwidth or CPU that will soon drop keyframes too.
const (
	// Below half the nominal frame rate, keyframes are being lost.
	UnusableFPSRatio = 0.5
	// Below 90 %, the camera or its network is struggling.
	DegradedFPSRatio = 0.9
	// Six reconnects an hour is one every ten minutes: zone state is then
	// missing or stale for a large share of the hour.
	UnusableReconnects = 6
	// Two reconnects an hour, or a single stall (a stream that silently
	// stopped, which is worse than a clean disconnect), is degraded.
	DegradedReconnects = 2
	DegradedStalls     = 1
)

// Rate grades a camera:
//
//   - unusable: down; or fps below 50 % of nominal; or 6 or more reconnects
//     in the last hour;
//   - degraded: fps below 90 % of nominal; or 2 or more reconnects, or any
//     stall, in the last hour;
//   - good otherwise.
//
// An unknown nominal frame rate (0) leaves the frame-rate rules out.
func Rate(in GradeInput) Grade {
	ratio := 1.0
	if in.NominalFPS > 0 {
		ratio = in.FPS / in.NominalFPS
	}
	switch {
	case !in.Up, ratio < UnusableFPSRatio, in.Reconnects >= UnusableReconnects:
		return GradeUnusable
	case ratio < DegradedFPSRatio, in.Reconnects >= DegradedReconnects, in.Stalls >= DegradedStalls:
		return GradeDegraded
	}
	return GradeGood
}
