// Package store writes batches of line protocol to InfluxDB through
// influxdb-client-go's blocking write API and retries until they are written:
// the collector acknowledges MQTT messages only after Write returns, so this
// package is where "nothing accepted is lost" meets the database.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/textclip"
)

// Config says where and how to write.
type Config struct {
	URL string `yaml:"url"`
	// Bucket is "database/retention-policy" on InfluxDB 1.8, a bucket name on 2.x.
	Bucket string        `yaml:"bucket"`
	Org    string        `yaml:"org"`
	Token  config.Secret `yaml:"token"`
	// Timeout bounds one HTTP write attempt.
	Timeout time.Duration `yaml:"timeout"`
	// RetryInitial and RetryMax bound the capped exponential backoff between
	// attempts while InfluxDB is down or slow.
	RetryInitial time.Duration `yaml:"retry_initial"`
	RetryMax     time.Duration `yaml:"retry_max"`
}

// Defaults returns the configuration used where a file says nothing.
func Defaults() Config {
	return Config{
		URL:          "http://127.0.0.1:8086",
		Bucket:       "pscm/autogen",
		Timeout:      10 * time.Second,
		RetryInitial: 100 * time.Millisecond,
		RetryMax:     10 * time.Second,
	}
}

// Validate checks the fields against each other.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url: %q is not an http(s) URL", c.URL)
	}
	if u.User != nil || u.RawQuery != "" {
		return errors.New("url: no credentials or query in the URL; use token")
	}
	if c.Bucket == "" {
		return errors.New("bucket: required (database/retention-policy on InfluxDB 1.8)")
	}
	if err := c.Token.Validate(); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if c.Timeout <= 0 {
		return errors.New("timeout: must be positive")
	}
	if c.RetryInitial <= 0 || c.RetryMax < c.RetryInitial {
		return errors.New("retry_initial must be positive and retry_max at least retry_initial")
	}
	return nil
}

// Check reads the token as New does, so a missing or empty token file fails
// -config.check and the start with the same words.
func (c Config) Check() error {
	_, err := c.token()
	return err
}

func (c Config) token() (string, error) {
	token, err := c.Token.Value()
	if err != nil {
		return "", fmt.Errorf("influxdb token: %w", err)
	}
	return token, nil
}

// Metrics are the writer's Prometheus metrics.
type Metrics struct {
	writeDuration prometheus.Histogram
	writeErrors   *prometheus.CounterVec
	up            prometheus.Gauge
	lastWrite     prometheus.Gauge
	dropped       prometheus.Counter
}

// NewMetrics registers the writer's metrics with reg.
func NewMetrics(reg prometheus.Registerer, subsystem string) *Metrics {
	m := &Metrics{
		writeDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "pscm", Subsystem: subsystem, Name: "write_duration_seconds",
			Help:    "Time of one successful InfluxDB batch write, retries excluded.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: subsystem, Name: "write_errors_total",
			Help: "Failed InfluxDB write attempts; retryable ones are retried until written.",
		}, []string{"class"}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "pscm", Subsystem: subsystem, Name: "influxdb_up",
			Help: "1 when the last InfluxDB request succeeded.",
		}),
		lastWrite: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "pscm", Subsystem: subsystem, Name: "last_write_timestamp_seconds",
			Help: "Unix time of the last successful InfluxDB write.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: subsystem, Name: "influxdb_rejected_points_total",
			Help: "Points InfluxDB refused for good (4xx, e.g. a field type conflict); never retried.",
		}),
	}
	for _, c := range []string{"retryable", "permanent"} {
		m.writeErrors.WithLabelValues(c)
	}
	reg.MustRegister(m.writeDuration, m.writeErrors, m.up, m.lastWrite, m.dropped)
	return m
}

// Writer writes batches, retrying until success, a permanent refusal, or ctx end.
type Writer struct {
	cfg     Config
	client  influxdb2.Client
	api     api.WriteAPIBlocking
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	isUp    atomic.Bool
}

// New returns a Writer. It does not contact InfluxDB.
func New(cfg Config, log *slog.Logger, metrics *Metrics) (*Writer, error) {
	token, err := cfg.token()
	if err != nil {
		return nil, err
	}
	opts := influxdb2.DefaultOptions().
		SetPrecision(time.Nanosecond).
		SetUseGZip(false). // loopback or LAN: gzip costs more CPU than it saves
		SetHTTPRequestTimeout(uint(cfg.Timeout / time.Second)).
		SetHTTPClient(&http.Client{
			Timeout: cfg.Timeout,
			Transport: &http.Transport{
				MaxIdleConnsPerHost: 4,
				IdleConnTimeout:     90 * time.Second,
			},
		})
	client := influxdb2.NewClientWithOptions(cfg.URL, token, opts)
	return &Writer{
		cfg:     cfg,
		client:  client,
		api:     client.WriteAPIBlocking(cfg.Org, cfg.Bucket),
		log:     log,
		metrics: metrics,
		now:     time.Now,
	}, nil
}

// Close releases idle connections.
func (w *Writer) Close() { w.client.Close() }

// Ping checks that InfluxDB answers and sets the up gauge, so the gauge stays
// true while no events flow.
func (w *Writer) Ping(ctx context.Context) bool {
	ok, err := w.client.Ping(ctx)
	if err != nil || !ok {
		w.setUp(false)
		return false
	}
	w.setUp(true)
	return true
}

// Up reports whether the last request to InfluxDB got an answer.
func (w *Writer) Up() bool { return w.isUp.Load() }

func (w *Writer) setUp(up bool) {
	w.isUp.Store(up)
	if up {
		w.metrics.up.Set(1)
	} else {
		w.metrics.up.Set(0)
	}
}

// PingLoop pings every interval until ctx ends, so influxdb_up and /readyz
// stay current while no events flow.
func (w *Writer) PingLoop(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
		w.Ping(pctx)
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PermanentError is returned when InfluxDB refused (part of) a batch for a
// reason a retry can't fix. Points it names are dropped by InfluxDB; the rest
// of the batch was written (InfluxDB writes the good points of a batch).
type PermanentError struct {
	StatusCode int
	Dropped    int // as reported by InfluxDB, 0 if unknown
	Msg        string
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("influxdb refused the batch (HTTP %d, %d points dropped): %s", e.StatusCode, e.Dropped, e.Msg)
}

var droppedRe = regexp.MustCompile(`dropped=(\d+)`)

// Write writes lines (newline-separated line protocol, n points). It returns
// nil once written, a *PermanentError when InfluxDB refused some points for
// good, or ctx's error; every other failure is retried with capped backoff.
func (w *Writer) Write(ctx context.Context, lines []byte, n int) error {
	if len(lines) == 0 {
		return nil
	}
	body := string(lines)
	delay := w.cfg.RetryInitial
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := w.api.WriteRecord(ctx, body)
		if err == nil {
			w.metrics.writeDuration.Observe(time.Since(start).Seconds())
			w.setUp(true)
			w.metrics.lastWrite.Set(float64(w.now().UnixNano()) / 1e9)
			if attempt > 1 {
				w.log.Info("influxdb write succeeded after retries", "attempts", attempt, "points", n)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var herr *ihttp.Error
		if errors.As(err, &herr) && permanent(herr.StatusCode) {
			w.setUp(true) // it answered
			w.metrics.writeErrors.WithLabelValues("permanent").Inc()
			pe := &PermanentError{StatusCode: herr.StatusCode, Msg: textclip.Clip(herr.Error(), 300)}
			if m := droppedRe.FindStringSubmatch(herr.Message); m != nil {
				pe.Dropped, _ = strconv.Atoi(m[1])
			} else {
				pe.Dropped = n
			}
			w.metrics.dropped.Add(float64(pe.Dropped))
			return pe
		}
		w.setUp(false)
		w.metrics.writeErrors.WithLabelValues("retryable").Inc()
		// 1st, 2nd, 4th, 8th... failure are logged; a long outage doesn't flood the log.
		if attempt&(attempt-1) == 0 {
			w.log.Warn("influxdb write failed, retrying", "attempt", attempt, "points", n, "next_in", delay, "err", err)
		}
		if herr != nil && herr.RetryAfter > 0 {
			delay = max(delay, time.Duration(herr.RetryAfter)*time.Second)
		}
		// ±20 % jitter so several collectors don't hammer InfluxDB in step.
		sleep := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, w.cfg.RetryMax)
	}
}

// permanent says whether an HTTP status means "this batch will never be
// accepted": 400 (unparsable point or field type conflict; InfluxDB still
// writes the good points of the batch) and 422 (points outside the retention
// policy). Everything else is retried: 401/403 and 404 (database missing) are
// fixed by an operator, and dropping data because of a config mistake would
// be a loss; 408, 429 and 5xx pass by themselves.
func permanent(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusUnprocessableEntity
}
