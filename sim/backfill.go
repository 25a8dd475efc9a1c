package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/durable"
	"github.com/pscm/pscm/internal/influxql"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/simcenter"
	"github.com/pscm/pscm/internal/store"
)

// A backfill writes history straight to InfluxDB rather than through MQTT:
// the collector refuses events older than its admission.max_lag (14 days),
// and a year through the broker would take far longer than a demo waits.
// The points are the contract's (schema's AppendLine, as the collector
// writes them), so the dashboard and the report read them as they read
// the collector's.

// backfillOptions are the flags of -mode backfill.
type backfillOptions struct {
	url       string
	db        string
	tokenFile string
	days      int
	end       string // local date; empty: the day center mode starts by default
	replace   bool
	marker    string
	batch     int
	timeout   time.Duration
	sites     int // > 1: a province of sites <site>-001.., each its own center
}

func (b *backfillOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&b.url, "influx", "", "backfill mode: InfluxDB 1.8 URL, e.g. http://127.0.0.1:8086")
	fs.StringVar(&b.db, "db", "pscm", "backfill mode: database, or database/retention-policy")
	fs.StringVar(&b.tokenFile, "influx-token-file", "", `backfill mode: file holding "user:password" (the collector's influxdb.token); none when auth is off`)
	fs.IntVar(&b.days, "days", 365, "backfill mode: local days of history to write, ending at -end")
	fs.StringVar(&b.end, "end", "", "backfill mode: local date (YYYY-MM-DD, Vietnam) whose midnight ends the history, at most today; default the day center mode plays by default (today on a weekday after 07:00), so the two never overlap")
	fs.BoolVar(&b.replace, "replace", false, "backfill mode: first delete the site's points in the window (a demo database's earlier backfill or live days); without it, points of the same seed and window overwrite themselves")
	fs.StringVar(&b.marker, "marker", "", "backfill mode: file recording the backfill done; when it records this same one, do nothing")
	fs.IntVar(&b.batch, "batch", 5000, "backfill mode: points per InfluxDB write")
	fs.DurationVar(&b.timeout, "timeout", 10*time.Minute, "backfill mode: the whole backfill's limit, retries included")
	fs.IntVar(&b.sites, "sites", 1, "backfill mode: how many centers; above 1, a province of <site>-001, <site>-002, ..., each with 4 to 20 counters (-counters is ignored) and its own load and story from -seed")
}

func (b backfillOptions) validate() error {
	u, err := url.Parse(b.url)
	switch {
	case b.url == "":
		return errors.New("-influx: required in backfill mode")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("-influx: %q is not an http(s) URL", b.url)
	case b.db == "":
		return errors.New("-db: required")
	case b.days < 1 || b.days > 3660:
		return fmt.Errorf("-days: %d outside 1..3660", b.days)
	case b.batch < 1 || b.batch > 100000:
		return fmt.Errorf("-batch: %d outside 1..100000", b.batch)
	case b.timeout <= 0:
		return fmt.Errorf("-timeout: %v is not positive", b.timeout)
	case b.sites < 1 || b.sites > 5000:
		return fmt.Errorf("-sites: %d outside 1..5000", b.sites)
	}
	return nil
}

// storyReport is where the story put what went wrong, in the report.
type storyReport struct {
	BadMonth   string    `json:"bad_month"` // YYYY-MM
	LateFrom   time.Time `json:"late_from"`
	LateTo     time.Time `json:"late_to"`
	OutageFrom time.Time `json:"outage_from"`
	OutageTo   time.Time `json:"outage_to"`
	Counter    string    `json:"outage_counter"`
}

// backfillEnd is the local midnight that ends the history: the date given,
// which may not be after today, or else the midnight starting the day that
// center mode plays by default, so the live simulation never writes over
// the history nor the history over it.
func backfillEnd(date string, now time.Time) (time.Time, error) {
	loc := simcenter.Location()
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if date == "" {
		y, m, d := lastWorkdayMorning(now).In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
	}
	end, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("-end: %q is not a date like 2026-12-02", date)
	}
	if end.After(today) {
		return time.Time{}, fmt.Errorf("-end: %s is after today (%s): the history ends at a midnight already past", date, today.Format(time.DateOnly))
	}
	return end, nil
}

// pointWriter writes line-protocol points (store.Writer).
type pointWriter interface {
	Write(ctx context.Context, lines []byte, n int) error
}

// runBackfill writes the history of o.days local days before the end
// (backfillEnd) to InfluxDB: the simulated center of -site, -counters and
// -seed living a Story, one day after the other, in batches of -batch
// points. Nothing is kept but the batch being written.
func runBackfill(ctx context.Context, o options, log *slog.Logger) (report, error) {
	b := o.backfill
	end, err := backfillEnd(b.end, time.Now())
	if err != nil {
		return report{}, err
	}
	centers := provinceOf(o, b.sites)
	story := simcenter.NewStory(centers[0].seed, end, b.days, centers[0].counters)
	rep := newReport(nil)
	if len(centers) == 1 {
		rep.Story = &storyReport{
			BadMonth: story.BadMonth.Format("2006-01"),
			LateFrom: story.LateFrom.UTC(), LateTo: story.LateTo.UTC(),
			OutageFrom: story.Outage.From, OutageTo: story.Outage.To, Counter: story.Outage.Counter,
		}
	}
	rep.From, rep.To = story.From.UTC(), story.To.UTC()
	done := fmt.Sprintf("site=%s counters=%d seed=%d days=%d end=%s db=%s\n",
		o.site, o.counters, o.seed, b.days, end.Format(time.DateOnly), b.db)
	if len(centers) > 1 {
		done = fmt.Sprintf("sites=%s-001..%s-%03d seed=%d days=%d end=%s db=%s\n",
			o.site, o.site, len(centers), o.seed, b.days, end.Format(time.DateOnly), b.db)
	}
	if b.marker != "" {
		if prev, err := os.ReadFile(b.marker); err == nil && string(prev) == done {
			log.Info("backfill already done, nothing written", "marker", b.marker, "record", strings.TrimSpace(done))
			rep.Skipped = true
			return rep, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()

	token := ""
	if b.tokenFile != "" {
		if token, err = (config.Secret{File: b.tokenFile}).Value(); err != nil {
			return rep, fmt.Errorf("-influx-token-file: %w", err)
		}
	}
	// One statement first, so a wrong URL, password or database fails at
	// once with InfluxDB's words; the writes after it retry what passes.
	q := influxql.New(b.url, b.db, token, 30*time.Second)
	defer q.Close()
	if _, err := q.Query(ctx, []string{"SHOW MEASUREMENTS LIMIT 1"}); err != nil {
		return rep, fmt.Errorf("influxdb %s: %w", b.url, err)
	}

	cfg := store.Defaults()
	cfg.URL, cfg.Bucket, cfg.Token = b.url, b.db, config.Secret{File: b.tokenFile}
	if err := cfg.Validate(); err != nil {
		return rep, fmt.Errorf("influxdb: %w", err)
	}
	w, err := store.New(cfg, log.With("component", "store"), store.NewMetrics(prometheus.NewRegistry(), "sim"))
	if err != nil {
		return rep, err
	}
	defer w.Close()

	for _, c := range centers {
		st := simcenter.NewStory(c.seed, end, b.days, c.counters)
		if b.replace {
			if _, err := q.Query(ctx, deleteWindow(c.site, st.From, st.To)); err != nil {
				return rep, fmt.Errorf("influxdb %s: %w", b.url, err)
			}
			log.Info("deleted the site's points in the window", "site", c.site, "from", st.From, "to", st.To)
		}
		log.Info("backfilling", "site", c.site, "counters", c.counters, "load", c.load, "seed", c.seed, "days", b.days,
			"from", st.From, "to", st.To, "bad_month", st.BadMonth.Format("2006-01"), "late_from", st.LateFrom, "late_to", st.LateTo,
			"outage_counter", st.Outage.Counter, "outage_from", st.Outage.From, "outage_to", st.Outage.To)
		g := c.generator(st, true)
		counts, err := backfill(ctx, g, st.To, b.batch, w, log)
		var n int
		for k, x := range counts {
			rep.Kinds[k] += x
			rep.Distinct += x
			n += x
		}
		if len(centers) > 1 {
			rep.Sites = append(rep.Sites, siteReport{Site: c.site, Counters: c.counters, Load: c.load, Points: n})
		}
		if err != nil {
			return rep, err
		}
	}
	if b.marker != "" {
		if err := durable.WriteFile(filepath.Dir(b.marker), filepath.Base(b.marker), []byte(done)); err != nil {
			return rep, fmt.Errorf("-marker: %w", err)
		}
	}
	return rep, nil
}

// center is one simulated site of a backfill.
type center struct {
	site     string
	counters int
	load     float64 // scales citizens and dossiers: 0.6 to 1.4
	seed     int64
}

// generator is c's simulated center living st, its load scaled by c's;
// noHeartbeats leaves out the agent's and cameras' health reports.
func (c center) generator(st simcenter.Story, noHeartbeats bool) *simcenter.Generator {
	day := st.Day
	if c.load != 1 {
		load := c.load
		day = func(midnight time.Time) simcenter.Day {
			d := st.Day(midnight)
			d.Load *= load
			return d
		}
	}
	return simcenter.New(simcenter.Config{Site: c.site, Counters: c.counters, Seed: c.seed, Start: st.From,
		Calendar: day, NoHeartbeats: noHeartbeats})
}

// siteReport is one site of a province backfill, in the report.
type siteReport struct {
	Site     string  `json:"site"`
	Counters int     `json:"counters"`
	Load     float64 `json:"load"`
	Points   int     `json:"points"`
}

// provinceOf is the backfill's sites: -site alone, or n sites <site>-001..
// each with its own number of counters (4 to 20), load (0.6 to 1.4) and
// seed, all from -seed, so the same flags give the same province. A
// province's communes differ: a few big centers, many small ones.
func provinceOf(o options, n int) []center {
	if n <= 1 {
		return []center{{site: o.site, counters: o.counters, load: 1, seed: o.seed}}
	}
	rng := rand.New(rand.NewPCG(uint64(o.seed), 0x6a09e667f3bcc909))
	out := make([]center, n)
	for i := range out {
		// Skewed towards small centers: the square of a uniform number.
		u := rng.Float64()
		out[i] = center{
			site:     fmt.Sprintf("%s-%03d", o.site, i+1),
			counters: 4 + int(u*u*17),
			load:     0.6 + 0.8*rng.Float64(),
			seed:     o.seed*1000 + int64(i) + 1,
		}
	}
	return out
}

// deleteWindow is the statements that delete site's points of every kind
// from from to to.
func deleteWindow(site string, from, to time.Time) []string {
	var stmts []string
	for _, k := range schema.Kinds() {
		stmts = append(stmts, fmt.Sprintf(`DELETE FROM %q WHERE "site" = '%s' AND time >= '%s' AND time < '%s'`,
			string(k), site, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)))
	}
	return stmts
}

// backfill writes g's events before end to w, batch points at a time, and
// returns how many of each kind it wrote. Each event is checked against the
// contract first: a point written here skips the collector's check.
func backfill(ctx context.Context, g *simcenter.Generator, end time.Time, batch int, w pointWriter, log *slog.Logger) (map[schema.Kind]int, error) {
	counts := make(map[schema.Kind]int)
	buf := make([]byte, 0, batch*256)
	n, written := 0, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		if err := w.Write(ctx, buf, n); err != nil {
			return fmt.Errorf("write points %d..%d (the earlier ones are written; running again is safe): %w", written+1, written+n, err)
		}
		written += n
		buf, n = buf[:0], 0
		return nil
	}
	now := time.Now()
	var month time.Month
	for {
		m := g.Next()
		if !m.At.Before(end) {
			break
		}
		if err := m.Event.Validate(now); err != nil {
			return counts, fmt.Errorf("simulated %s event at %v breaks the contract: %w", m.Kind, m.At, err)
		}
		buf = m.Event.AppendLine(buf)
		counts[m.Kind]++
		n++
		if n == batch {
			if err := flush(); err != nil {
				return counts, err
			}
		}
		if local := m.At.In(simcenter.Location()); local.Month() != month {
			month = local.Month()
			log.Info("backfill progress", "month", local.Format("2006-01"), "points", written+n)
		}
	}
	return counts, flush()
}
