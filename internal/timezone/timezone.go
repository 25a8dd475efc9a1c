// Package timezone resolves the time zones pscm reports in. Centers are in
// Vietnam, and edge boxes and containers often lack tzdata, so the default
// zone never depends on it.
package timezone

import "time"

// Default is the time zone of Vietnamese centers.
const Default = "Asia/Ho_Chi_Minh"

// Location returns the named zone ("" is Default); for Default it falls back
// to a fixed UTC+7 when the system has no tzdata, which is exact for any
// date pscm handles (Vietnam has kept UTC+7 without daylight saving since
// 1975).
func Location(name string) (*time.Location, error) {
	if name == "" {
		name = Default
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		if name == Default {
			return time.FixedZone("ICT", 7*3600), nil
		}
		return nil, err
	}
	return loc, nil
}
