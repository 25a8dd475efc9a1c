package board

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pscm/pscm/internal/kpi"
)

// RangeJSON is one site's figures over a range of days a manager chose on
// the page (GET /api/range): the cards' StatsJSON, with the same pass rule
// and decimals as the tabs, and the days it covers.
type RangeJSON struct {
	Type      string          `json:"type"` // "range"
	Site      string          `json:"site"`
	SiteName  string          `json:"site_name"`
	Generated time.Time       `json:"generated"`
	Range     RangeBoundsJSON `json:"range"`
	Targets   TargetsJSON     `json:"targets"`
	Stats     StatsJSON       `json:"stats"`
}

// RangeBoundsJSON is a range's first and last day (local dates,
// inclusive), its kind and its label (kpi.Range.Label, a spec that asks for
// the same days again, e.g. for the report).
type RangeBoundsJSON struct {
	First string        `json:"first"`
	Last  string        `json:"last"`
	Kind  kpi.RangeKind `json:"kind"`
	Label string        `json:"label"`
}

// ErrUnknownSite is Range's answer for a site the board does not have.
var ErrUnknownSite = errors.New("board: unknown site")

// ParseRange reads a range spec (kpi.ParseRange) in the sites' zone, as of
// the board's clock: the tabs and a chosen range share one calendar.
func (b *Board) ParseRange(spec string) (kpi.Range, error) {
	return kpi.ParseRange(spec, b.now(), b.loc)
}

// Range loads site's figures over r from InfluxDB. Nothing is cached and
// no live state is touched: it is a query per call, which the caller
// bounds (dashboard/server allows a few at a time, each with a timeout).
// Live events since the last load are not in it, unlike the tabs: a range
// is read from the source of truth as it stands.
func (b *Board) Range(ctx context.Context, site string, r kpi.Range) (RangeJSON, error) {
	b.mu.Lock()
	st, ok := b.sites[site]
	var name string
	if ok {
		name = st.site.Name
	}
	b.mu.Unlock()
	if !ok {
		return RangeJSON{}, fmt.Errorf("%w: %q", ErrUnknownSite, site)
	}
	// Totals only: the cards show no per-counter figure for a range.
	stats, _, err := b.src.LoadTotals(ctx, site, r.From, r.To)
	if err != nil {
		return RangeJSON{}, fmt.Errorf("board: load %s %s: %w", site, r.Label, err)
	}
	return RangeJSON{
		Type: "range", Site: site, SiteName: name, Generated: b.now().UTC(),
		Range:   RangeBoundsJSON{First: r.From.Format(time.DateOnly), Last: r.Last().Format(time.DateOnly), Kind: r.Kind, Label: r.Label},
		Targets: b.targetsJSON(), Stats: statsJSON(stats, b.targets),
	}, nil
}
