// Package timezone resolves the time zones pscm reports in: the one loader
// every program uses. Centers are in Vietnam, and edge boxes and containers
// often lack tzdata, so Vietnam's zone never depends on it; any other name
// that cannot be loaded is an error the caller must handle (configs check
// it, so a program that started has a zone that loads).
package timezone

import "time"

// Default is the time zone of Vietnamese centers.
const Default = "Asia/Ho_Chi_Minh"

// Location returns the named zone ("" is Default); for Default it falls back
// to a fixed UTC+7 when the system has no tzdata, which is exact for any
// date pscm handles (Vietnam has kept UTC+7 without daylight saving since
// 1975).
func Location(name string) (*time.Location, error) {
	if name == "" || name == Default {
		return Vietnam(), nil
	}
	return time.LoadLocation(name)
}

// Vietnam is Default's zone; it cannot fail. It is the system's
// Asia/Ho_Chi_Minh when tzdata has it, else a fixed UTC+7 named ICT.
func Vietnam() *time.Location {
	if loc, err := time.LoadLocation(Default); err == nil {
		return loc
	}
	return time.FixedZone("ICT", 7*3600)
}
