// Package tagindex reads which tag values InfluxDB 1.8 already holds, with
// InfluxQL's SHOW TAG VALUES, so that the collector's admission starts from
// the sites and IDs already stored instead of from nothing at every start.
// It reads the index only, never points, and bounds every answer.
package tagindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/store"
)

// Reader runs SHOW TAG VALUES against the database the collector writes.
type Reader struct {
	url, db, rp, token string
	http               *http.Client
}

// New returns a Reader of cfg's database; it does not contact InfluxDB.
func New(cfg store.Config) (*Reader, error) {
	token, err := cfg.Token.Value()
	if err != nil {
		return nil, fmt.Errorf("influxdb token: %w", err)
	}
	db, rp, _ := strings.Cut(cfg.Bucket, "/")
	return &Reader{url: strings.TrimRight(cfg.URL, "/"), db: db, rp: rp, token: token,
		http: &http.Client{Timeout: cfg.Timeout}}, nil
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

// maxBody bounds one answer: the sites of every measurement at the
// configuration's largest max_sites, or a batch of IDs, stay below it.
const maxBody = 64 << 20

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

// response is /query's JSON answer to SHOW TAG VALUES: per statement, a
// series per measurement with rows of [key, value].
type response struct {
	Results []struct {
		Series []struct {
			Values [][]string `json:"values"`
		} `json:"series"`
		Error string `json:"error"`
	} `json:"results"`
	Error string `json:"error"`
}

// query runs stmts in one request and returns each one's values.
func (r *Reader) query(ctx context.Context, stmts []string) ([][]string, error) {
	form := url.Values{"db": {r.db}, "q": {strings.Join(stmts, ";\n")}}
	if r.rp != "" {
		form.Set("rp", r.rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r.token != "" {
		// 1.8 takes "user:password" as a token, as the writer sends it.
		req.Header.Set("Authorization", "Token "+r.token)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, errors.New("answer larger than 64 MiB")
	}
	var out response
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%s: %.200s", resp.Status, body)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("%s: %s", resp.Status, out.Error)
	}
	if len(out.Results) != len(stmts) {
		return nil, fmt.Errorf("%s: %d results for %d statements", resp.Status, len(out.Results), len(stmts))
	}
	values := make([][]string, len(stmts))
	for i, res := range out.Results {
		if res.Error != "" {
			return nil, fmt.Errorf("%.120s: %s", stmts[i], res.Error)
		}
		for _, s := range res.Series {
			for _, row := range s.Values {
				if len(row) == 2 {
					values[i] = append(values[i], row[1])
				}
			}
		}
	}
	return values, nil
}
