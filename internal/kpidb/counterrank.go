package kpidb

import (
	"cmp"
	"slices"
	"strings"
)

// RankCounters orders counters by satisfaction and by service time and
// sets their ranks. A counter is ranked by satisfaction when it has at
// least minRatings ratings, by service time when it has at least
// minSessions sessions; the others keep rank 0 and are listed after the
// ranked ones, by ID, so a counter nobody could judge is never shown last
// as if it were the worst.
//
// By satisfaction the higher share ranks first, compared on the counts
// (a.Satisfied*b.Ratings against b.Satisfied*a.Ratings, so no rounding
// decides a place), and of two equal shares the one resting on more
// ratings; by service time the shorter median first, and of two equal
// medians the one over more sessions. Counters equal on both share a rank
// (1, 2, 2, 4). It returns the counters in satisfaction order and their
// IDs in service order.
func RankCounters(cs []CounterInsight, minRatings, minSessions int64) ([]CounterInsight, []string) {
	out := slices.Clone(cs)
	for i := range out {
		out[i].SatisfactionRank, out[i].ServiceRank = 0, 0
	}
	bySat := ranking{
		ranked: func(c *CounterInsight) bool { return c.Ratings > 0 && c.Ratings >= minRatings },
		cmp: func(a, b *CounterInsight) int {
			// Higher share first: b's cross product against a's.
			if c := cmp.Compare(b.Satisfied*a.Ratings, a.Satisfied*b.Ratings); c != 0 {
				return c
			}
			return cmp.Compare(b.Ratings, a.Ratings)
		},
		rank: func(c *CounterInsight) *int { return &c.SatisfactionRank },
	}
	byServ := ranking{
		ranked: func(c *CounterInsight) bool { return c.Sessions > 0 && c.Sessions >= minSessions },
		cmp: func(a, b *CounterInsight) int {
			if c := cmp.Compare(a.ServiceP50S, b.ServiceP50S); c != 0 {
				return c
			}
			return cmp.Compare(b.Sessions, a.Sessions)
		},
		rank: func(c *CounterInsight) *int { return &c.ServiceRank },
	}
	satIdx := bySat.apply(out)
	servIdx := byServ.apply(out)

	sorted := make([]CounterInsight, len(satIdx))
	for n, i := range satIdx {
		sorted[n] = out[i]
	}
	ids := make([]string, len(servIdx))
	for n, i := range servIdx {
		ids[n] = out[i].Counter
	}
	return sorted, ids
}

// ranking is one way of ranking counters: which may be ranked, their
// order (<0: a first, 0: a tie), and where the rank is kept.
type ranking struct {
	ranked func(*CounterInsight) bool
	cmp    func(a, b *CounterInsight) int
	rank   func(*CounterInsight) *int
}

// apply sets the ranks of cs and returns their indexes in rank order, the
// unranked last by ID.
func (r ranking) apply(cs []CounterInsight) []int {
	idx := make([]int, len(cs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, b := &cs[i], &cs[j]
		ra, rb := r.ranked(a), r.ranked(b)
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		case ra:
			if c := r.cmp(a, b); c != 0 {
				return c
			}
		}
		return strings.Compare(a.Counter, b.Counter)
	})
	for n, i := range idx {
		c := &cs[i]
		if !r.ranked(c) {
			break
		}
		*r.rank(c) = n + 1
		if n > 0 {
			if prev := &cs[idx[n-1]]; r.cmp(prev, c) == 0 {
				*r.rank(c) = *r.rank(prev)
			}
		}
	}
	return idx
}
