package kpidb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/schema"
)

// MaxDissatisfied bounds the dissatisfied ratings read back at a load.
const MaxDissatisfied = 200

// Dissatisfied is one dissatisfied rating as stored.
type Dissatisfied struct {
	ID      string
	TS      time.Time
	Counter string
	Reasons []string
}

// DissatisfiedRatings reads site's dissatisfied ratings of [start, end),
// newest first, at most MaxDissatisfied: the board's alerts are each one
// of them, and a dashboard that restarts must show them again, not only
// those that arrive after it.
func (s *Source) DissatisfiedRatings(ctx context.Context, site string, start, end time.Time) ([]Dissatisfied, error) {
	if !schema.ValidID(site) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	q := fmt.Sprintf(`SELECT "id", "counter", "reasons" FROM "rating" WHERE %s AND "level" = '%s' ORDER BY time DESC LIMIT %d`,
		whereRange(site, start, end), schema.LevelDissatisfied, MaxDissatisfied)
	res, err := s.client.Query(ctx, []string{q})
	if err != nil {
		return nil, fmt.Errorf("kpidb: dissatisfied ratings %s: %w", site, err)
	}
	var out []Dissatisfied
	for _, r := range res.Results {
		for _, se := range r.Series {
			col := map[string]int{}
			for i, c := range se.Columns {
				col[c] = i
			}
			for _, row := range se.Values {
				str := func(name string) string {
					if i, ok := col[name]; ok && i < len(row) {
						if v, ok := row[i].(string); ok {
							return v
						}
					}
					return ""
				}
				d := Dissatisfied{ID: str("id"), TS: time.Unix(0, jsonInt(row[0])).UTC(), Counter: str("counter")}
				if rs := str("reasons"); rs != "" {
					d.Reasons = strings.Split(rs, ",")
				}
				if d.ID != "" {
					out = append(out, d)
				}
			}
		}
	}
	return out, nil
}
