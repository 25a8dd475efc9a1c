// Package tagindex reads which tag values InfluxDB 1.8 already holds, with
// InfluxQL's SHOW TAG VALUES, so that the collector's admission starts from
// the sites and IDs already stored instead of from nothing at every start.
// It reads the index only, never points, and bounds every answer.
package tagindex

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pscm/pscm/internal/influxql"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/store"
)

// Reader runs SHOW TAG VALUES against the database the collector writes.
type Reader struct {
	client *influxql.Client
}

// New returns a Reader of cfg's database; it does not contact InfluxDB.
func New(cfg store.Config) (*Reader, error) {
	token, err := cfg.Token.Value()
	if err != nil {
		return nil, fmt.Errorf("influxdb token: %w", err)
	}
	return &Reader{client: influxql.New(cfg.URL, cfg.Bucket, token, cfg.Timeout)}, nil
}

// Bounds of one request: InfluxDB runs its statements one after another,
// each a lookup in the index, and the answer is read whole. At most
// statementsPerRequest statements, and fewer when each may return many
// values, so that one answer holds at most about maxValuesPerRequest values
// per measurement.
const (
	statementsPerRequest = 100
	maxValuesPerRequest  = 20_000
)

// Sites returns the site tag values of the contract's measurements, sorted,
// at most limit.
func (r *Reader) Sites(ctx context.Context, limit int) ([]string, error) {
	stmt := fmt.Sprintf(`SHOW TAG VALUES FROM %s WITH KEY = "site" LIMIT %d`, from("site"), limit)
	res, err := r.query(ctx, []string{stmt})
	if err != nil {
		return nil, err
	}
	return firstN(res[0], limit), nil
}

// IDs returns, for each of sites, the values of the tag key it holds in
// the contract's measurements, sorted, at most limit per site. Every site
// must be a valid ID: it is written into the statement.
func (r *Reader) IDs(ctx context.Context, key string, sites []string, limit int) (map[string][]string, error) {
	f := from(key)
	if f == "" || !schema.ValidID(key) {
		return nil, fmt.Errorf("%q is not a tag of any event kind", key)
	}
	out := make(map[string][]string, len(sites))
	per := max(1, min(statementsPerRequest, maxValuesPerRequest/max(limit, 1)))
	for lo := 0; lo < len(sites); lo += per {
		batch := sites[lo:min(lo+per, len(sites))]
		stmts := make([]string, len(batch))
		for i, s := range batch {
			if !schema.ValidID(s) {
				return nil, fmt.Errorf("site %q is not a valid ID", s)
			}
			// A validated ID holds no quote or backslash: safe in a literal.
			stmts[i] = fmt.Sprintf(`SHOW TAG VALUES FROM %s WITH KEY = "%s" WHERE "site" = '%s' LIMIT %d`, f, key, s, limit)
		}
		res, err := r.query(ctx, stmts)
		if err != nil {
			return nil, err
		}
		for i, s := range batch {
			out[s] = firstN(res[i], limit)
		}
	}
	return out, nil
}

// from is the FROM clause of the measurements (event kinds) that have key
// as a tag, "" when none has.
func from(key string) string {
	var ms []string
	for _, k := range schema.Kinds() {
		for _, f := range schema.Fields(k) {
			if f.Name == key && f.Column == schema.ColumnTag {
				ms = append(ms, `"`+string(k)+`"`)
			}
		}
	}
	return strings.Join(ms, ",")
}

// firstN returns the distinct values, sorted, at most n: LIMIT applies to
// each measurement, and one value may be in several.
func firstN(values []string, n int) []string {
	slices.Sort(values)
	values = slices.Compact(values)
	return values[:min(len(values), n)]
}

// query runs stmts in one request and returns each one's values (the
// second column of SHOW TAG VALUES).
func (r *Reader) query(ctx context.Context, stmts []string) ([][]string, error) {
	res, err := r.client.Query(ctx, stmts)
	if err != nil {
		return nil, err
	}
	values := make([][]string, len(stmts))
	for i, res := range res.Results {
		for _, s := range res.Series {
			for _, row := range s.Values {
				if v, ok := row[len(row)-1].(string); ok && len(row) == 2 {
					values[i] = append(values[i], v)
				}
			}
		}
	}
	return values, nil
}
