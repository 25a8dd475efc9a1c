package kpi

import "time"

// Point is one bucket of a series (internal/kpidb's Series): ratings,
// satisfied ratings and service sessions whose ts is in [Start, Start+step).
type Point struct {
	Start     time.Time
	Ratings   int64
	Satisfied int64
	Sessions  int64
}
