package kpidb

import (
	"context"
	"fmt"
	"github.com/pscm/pscm/internal/influxql"
	"github.com/pscm/pscm/internal/kpi"
	"math"
	"strconv"
	"strings"
)

// Nearest-rank percentiles of wait and service time, computed by InfluxDB.
//
// InfluxQL's PERCENTILE() copies every point of the period into one slice
// and sorts it: on 1.8 about a quarter of a second per call for a year of
// one center (300,000 sessions), four calls per period, which made the
// half-year and the year most of the first page (BenchmarkLoadYear). The
// same k-th smallest value is found far more cheaply with TOP() and
// BOTTOM(), which keep only a heap of their N points:
//
//   - the k-th smallest of m values is the smallest of the m-k+1 largest,
//     SELECT min("top") FROM (SELECT top(f, m-k+1) ...), or the largest of
//     the k smallest, SELECT max("bottom") FROM (SELECT bottom(f, k) ...);
//     each returns exactly N points, ties broken by time, so ties are
//     counted like a sort would and the answer is exact;
//   - a p90 keeps 10 % of the points in that heap, so it is asked directly;
//   - a p50 would keep half of them, so first the values at or below a
//     pivot (the mean, known from the counts) are counted, c of them, and
//     then the k-th smallest is the (c-k+1)-th largest at or below the pivot
//     when c >= k, else the (k-c)-th smallest above it: the heap holds only
//     the points between the pivot and the answer.
//
// Every answer is the exact nearest rank, whatever the data; only the cost
// depends on how far the mean is from the median. Small periods (fewer than
// Source.selectMin sessions) keep one PERCENTILE() statement per target,
// which costs one round trip less. Both paths use the rank nearestRankK
// gives, so they return the same numbers (TestPercentilePaths).
//
// A session written while a load runs can shift a percentile by the ranks
// it adds, as it could before: the count and the percentiles are separate
// statements.

// defaultSelectMin is the number of sessions from which a target's
// percentiles use TOP/BOTTOM rather than PERCENTILE(). Below it both cost a
// few milliseconds and PERCENTILE() needs one request less.
const defaultSelectMin = 5000

// directMaxShare is the largest share of a target's points a TOP/BOTTOM heap
// may hold before a pivot count is used instead: a pivot costs one more
// scan of the points, which a heap of a fifth of them outweighs.
const directMaxShare = 5

// nearestRankK is the 1-based rank of the nearest-rank q-quantile of n
// values: ceil(q*n), at least 1.
func nearestRankK(n int64, q float64) int64 {
	return max(1, int64(math.Ceil(q*float64(n))))
}

// pctTarget is one Stats whose p50 and p90 are wanted: n sessions matching
// the load's WHERE clause plus cond.
type pctTarget struct {
	st   *kpi.Stats
	n    int64
	cond string
}

// rankJob is one percentile found by TOP/BOTTOM: the k-th smallest of
// field among the n sessions matching where, stored in dst.
type rankJob struct {
	field, where string
	n, k         int64
	dst          *float64
	// pivot is the literal of the pivot count, "" when asked directly.
	pivot string
}

// percentiles fills WaitP50S, WaitP90S, ServiceP50S and ServiceP90S of each
// target in at most two steps: PERCENTILE() statements, direct TOP/BOTTOM
// statements and pivot counts in the first, the selections after a pivot
// in the second; each step's statements are split over maxParts requests.
func (s *Source) percentiles(ctx context.Context, where string, targets []pctTarget) error {
	var (
		stmts []string
		parse []func(row []any)
		jobs  []*rankJob
	)
	for _, t := range targets {
		if t.n == 0 {
			continue
		}
		w := where + t.cond
		if t.n < s.selectMin {
			p50, p90 := rankPct(t.n, 0.5), rankPct(t.n, 0.9)
			stmts = append(stmts, fmt.Sprintf(`SELECT percentile("wait_s", %s), percentile("wait_s", %s), percentile("service_s", %s), percentile("service_s", %s) FROM "session" WHERE %s`,
				p50, p90, p50, p90, w))
			st := t.st
			parse = append(parse, func(row []any) {
				st.WaitP50S, st.WaitP90S = jsonFloat(row[1]), jsonFloat(row[2])
				st.ServiceP50S, st.ServiceP90S = jsonFloat(row[3]), jsonFloat(row[4])
			})
			continue
		}
		for _, f := range []struct {
			field string
			mean  float64
			p50   *float64
			p90   *float64
		}{
			{"wait_s", t.st.WaitSumS / float64(t.n), &t.st.WaitP50S, &t.st.WaitP90S},
			{"service_s", t.st.ServiceSumS / float64(t.n), &t.st.ServiceP50S, &t.st.ServiceP90S},
		} {
			for _, q := range []struct {
				q   float64
				dst *float64
			}{{0.5, f.p50}, {0.9, f.p90}} {
				j := &rankJob{field: f.field, where: w, n: t.n, k: nearestRankK(t.n, q.q), dst: q.dst}
				if min(j.k, j.n-j.k+1) > j.n/directMaxShare && !math.IsInf(f.mean, 0) && !math.IsNaN(f.mean) {
					j.pivot = pivotLiteral(f.mean)
					stmts = append(stmts, fmt.Sprintf(`SELECT count(%q) FROM "session" WHERE %s AND %q <= %s`, j.field, j.where, j.field, j.pivot))
					jobs = append(jobs, j)
					parse = append(parse, nil) // read below: no row means a count of 0
					continue
				}
				stmts = append(stmts, kthStmt(j.field, j.where, j.k, j.n))
				parse = append(parse, func(row []any) { *j.dst = jsonFloat(row[1]) })
			}
		}
	}
	if len(stmts) == 0 {
		return nil
	}
	res, err := s.influxqlSplit(ctx, stmts)
	if err != nil {
		return fmt.Errorf("percentiles: %w", err)
	}
	var second []string
	var secondJobs []*rankJob
	ji := 0
	for n, r := range res.Results {
		if parse[n] == nil {
			j := jobs[ji]
			ji++
			var c int64
			if len(r.Series) == 1 && len(r.Series[0].Values) == 1 {
				c = jsonInt(r.Series[0].Values[0][1])
			}
			if c >= j.k {
				second = append(second, kthStmt(j.field, fmt.Sprintf("%s AND %q <= %s", j.where, j.field, j.pivot), j.k, c))
			} else {
				second = append(second, kthStmt(j.field, fmt.Sprintf("%s AND %q > %s", j.where, j.field, j.pivot), j.k-c, j.n-c))
			}
			secondJobs = append(secondJobs, j)
			continue
		}
		row, err := oneRow(r.Series, stmts[n])
		if err != nil {
			return err
		}
		parse[n](row)
	}
	if len(second) == 0 {
		return nil
	}
	res, err = s.influxqlSplit(ctx, second)
	if err != nil {
		return fmt.Errorf("percentiles: %w", err)
	}
	for n, r := range res.Results {
		row, err := oneRow(r.Series, second[n])
		if err != nil {
			return err
		}
		*secondJobs[n].dst = jsonFloat(row[1])
	}
	return nil
}

// pivotLiteral writes v as an InfluxQL float literal that parses back to
// exactly v: shortest decimal digits, never an exponent (InfluxQL has
// none), always a point (without one a large value would be read as an
// integer and overflow). The count and the selection use the same text, so
// the two sides of the pivot partition the points exactly.
func pivotLiteral(v float64) string {
	lit := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(lit, ".") {
		lit += ".0"
	}
	return lit
}

// kthStmt is the statement whose one value is the k-th smallest of field
// among the m points matching where, with the smaller of the two heaps.
// A count m that is stale by a concurrent write moves the rank as much.
func kthStmt(field, where string, k, m int64) string {
	if top := m - k + 1; top >= 1 && top < k {
		return fmt.Sprintf(`SELECT min("top") FROM (SELECT top(%q, %d) FROM "session" WHERE %s)`, field, top, where)
	}
	return fmt.Sprintf(`SELECT max("bottom") FROM (SELECT bottom(%q, %d) FROM "session" WHERE %s)`, field, k, where)
}

// oneRow returns the single row a percentile statement answers with.
func oneRow(series []influxql.Series, stmt string) ([]any, error) {
	if len(series) != 1 || len(series[0].Values) != 1 || len(series[0].Values[0]) < 2 {
		return nil, fmt.Errorf("percentiles: unexpected answer to %.120s", stmt)
	}
	return series[0].Values[0], nil
}

// rankPct returns, as InfluxQL text, the percentile argument that makes
// InfluxQL's PERCENTILE() pick the nearest rank. PERCENTILE(x, p) picks
// 1-based rank floor(n*p/100 + 0.5), a rounding rank; asking for
// p' = k*100/n makes n*p'/100 the integer k (up to a rounding error far
// below 0.5), so it picks exactly rank k.
func rankPct(n int64, q float64) string {
	return fmt.Sprintf("%.17g", float64(nearestRankK(n, q))*100/float64(n))
}
