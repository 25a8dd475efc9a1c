package kpidb

import (
	"context"
	"fmt"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// wholeYearSlack is how late in a year its first rating (or dossier) may
// be for the year to count as recorded whole: the first working days of
// January may be quiet, but a first point in March means pscm started then,
// and that year's volume would understate a whole one.
const wholeYearSlack = 31 * 24 * time.Hour

// YearVolume counts one site's ratings and dossiers over [start, end) (a
// past year), each only if that kind was recorded from the year's first
// month on; otherwise it is 0, unknown. Budgets use it as the year's
// expected volume when none is configured.
func (s *Source) YearVolume(ctx context.Context, site string, start, end time.Time) (kpi.Volume, error) {
	if !schema.ValidID(site) {
		return kpi.Volume{}, fmt.Errorf("%w: %q", ErrInvalidSite, site)
	}
	where := whereRange(site, start, end)
	res, err := s.client.Query(ctx, []string{
		`SELECT count("id") FROM "rating" WHERE ` + where,
		`SELECT first("id") FROM "rating" WHERE ` + where,
		`SELECT count("id") FROM "dossier" WHERE ` + where,
		`SELECT first("id") FROM "dossier" WHERE ` + where,
	})
	if err != nil {
		return kpi.Volume{}, fmt.Errorf("kpidb: year volume %s: %w", site, err)
	}
	val := func(i, col int) (any, bool) {
		if i >= len(res.Results) || len(res.Results[i].Series) == 0 || len(res.Results[i].Series[0].Values) == 0 {
			return nil, false
		}
		row := res.Results[i].Series[0].Values[0]
		if col >= len(row) {
			return nil, false
		}
		return row[col], true
	}
	whole := func(count, first int) int64 {
		n, ok := val(count, 1)
		at, ok2 := val(first, 0)
		if !ok || !ok2 || time.Unix(0, jsonInt(at)).Sub(start) > wholeYearSlack {
			return 0
		}
		return jsonInt(n)
	}
	return kpi.Volume{Ratings: whole(0, 1), Dossiers: whole(2, 3)}, nil
}
