package rollup

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Hist counts values by whole second: bins sorted by second, each count at
// least 1. Cutting a value to its second keeps the order of values, so the
// k-th smallest whole second is the k-th smallest value cut to the second:
// a merged histogram gives the same nearest-rank figure as the raw values.
type Hist []Bin

// Bin is the count of values in one second.
type Bin struct {
	S uint32 // the second: the value's integer part
	N uint32
}

// maxSecond bounds a value kept (136 years); larger values, which the
// contract's validation would not let in, are kept in the last second.
const maxSecond = math.MaxUint32

// second cuts v to its whole second, 0 for a negative or NaN value.
func second(v float64) uint32 {
	switch {
	case !(v > 0):
		return 0
	case v >= maxSecond:
		return maxSecond
	}
	return uint32(v)
}

// Of returns the histogram of values.
func Of(values []float64) Hist {
	if len(values) == 0 {
		return nil
	}
	s := make([]uint32, len(values))
	for i, v := range values {
		s[i] = second(v)
	}
	slices.Sort(s)
	var h Hist
	for _, v := range s {
		if n := len(h); n > 0 && h[n-1].S == v {
			h[n-1].N++
			continue
		}
		h = append(h, Bin{S: v, N: 1})
	}
	return h
}

// Count is the number of values.
func (h Hist) Count() int64 {
	var n int64
	for _, b := range h {
		n += int64(b.N)
	}
	return n
}

// Rank returns the k-th smallest value (1-based), 0 when there is none.
func (h Hist) Rank(k int64) float64 {
	if k < 1 {
		return 0
	}
	for _, b := range h {
		if k <= int64(b.N) {
			return float64(b.S)
		}
		k -= int64(b.N)
	}
	return 0
}

// Quantile is the nearest-rank q-quantile (to the second), 0 of nothing.
func (h Hist) Quantile(q float64) float64 { return h.Rank(NearestRank(h.Count(), q)) }

// Merge returns the sum of histograms.
func Merge(hs ...Hist) Hist {
	m := map[uint32]uint64{}
	for _, h := range hs {
		for _, b := range h {
			m[b.S] += uint64(b.N)
		}
	}
	if len(m) == 0 {
		return nil
	}
	out := make(Hist, 0, len(m))
	for s, n := range m {
		out = append(out, Bin{S: s, N: uint32(min(n, math.MaxUint32))})
	}
	slices.SortFunc(out, func(a, b Bin) int { return int(int64(a.S) - int64(b.S)) })
	return out
}

// String encodes h compactly for a string field: each bin as the gap from
// the previous bin's second (from 0 for the first), followed by "x" and the
// count when the count is not 1, bins separated by commas: "412,3x2,17".
func (h Hist) String() string {
	var b strings.Builder
	var prev uint32
	for i, bin := range h {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(bin.S-prev), 10))
		if bin.N != 1 {
			b.WriteByte('x')
			b.WriteString(strconv.FormatUint(uint64(bin.N), 10))
		}
		prev = bin.S
	}
	return b.String()
}

// errHist is the error of every malformed histogram.
var errHist = errors.New("rollup: malformed histogram")

// ParseHist decodes String's form. The text comes back from InfluxDB, so
// anything else (a gap that does not move forward, a zero count, a second
// past the bound, stray bytes) is an error, never a wrong histogram.
func ParseHist(s string) (Hist, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	h := make(Hist, 0, len(parts))
	var at uint64
	for i, p := range parts {
		gap, count, hasCount := strings.Cut(p, "x")
		g, err := strconv.ParseUint(gap, 10, 32)
		if err != nil || (i > 0 && g == 0) || !digits(gap) {
			return nil, fmt.Errorf("%w: bin %d %q", errHist, i+1, p)
		}
		n := uint64(1)
		if hasCount {
			n, err = strconv.ParseUint(count, 10, 32)
			if err != nil || n < 2 || !digits(count) {
				return nil, fmt.Errorf("%w: bin %d %q", errHist, i+1, p)
			}
		}
		at += g
		if at > maxSecond {
			return nil, fmt.Errorf("%w: bin %d past %d s", errHist, i+1, uint64(maxSecond))
		}
		h = append(h, Bin{S: uint32(at), N: uint32(n)})
	}
	return h, nil
}

// digits reports whether s is decimal digits only (ParseUint takes a "+").
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
