// Package intake takes the feedback and reports citizens leave at a kiosk
// (issue 16): it gives each a case number and a code at once, keeps it on
// disk (fsynced) before answering, and sends it to the dashboard, which
// keeps the cases, again until the dashboard has it. The citizen leaves
// with a number whether or not the center's uplink is up.
//
// Numbers are <site>-<year>-K<6 digits>, the K telling them from the
// dashboard's own, counted by this agent (one agent per site takes kiosk
// cases). The message and the phone number are personal data: they stay
// in the agent's directory only until the dashboard has them, travel only
// to the dashboard over its HTTPS URL with the site's token, and are never
// logged.
package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/config"
)

// Config is the agent's cases: section.
type Config struct {
	// Enabled lets citizens leave feedback at the kiosks.
	Enabled bool `yaml:"enabled"`
	// Dashboard is the dashboard's intake URL, https://…/api/intake.
	Dashboard string `yaml:"dashboard"`
	// Token is the site's intake token (the dashboard's cases.intake).
	Token config.Secret `yaml:"token"`
	// PublicURL is the citizens' status page, https://…/tra-cuu, which
	// the case's QR code opens with its number and code.
	PublicURL string `yaml:"public_url"`
	// MaxPending bounds the cases waiting for the dashboard; past it the
	// kiosk says the service is unavailable rather than keep more.
	MaxPending int `yaml:"max_pending"`
	// RetentionMonths is what the kiosk's notice says personal data is
	// kept for (the dashboard's retention).
	RetentionMonths int `yaml:"retention_months"`
}

// Defaults of the section.
func Defaults() Config { return Config{MaxPending: 10000, RetentionMonths: 24} }

// Validate checks the section when it is enabled.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	for name, v := range map[string]string{"dashboard": c.Dashboard, "public_url": c.PublicURL} {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return fmt.Errorf("cases.%s: %q is not an http(s) URL without credentials or query", name, v)
		}
	}
	if !c.Token.IsSet() {
		return errors.New("cases.token: required (file, env or credential)")
	}
	if c.MaxPending < 1 || c.MaxPending > 1_000_000 {
		return fmt.Errorf("cases.max_pending: %d outside 1..1000000", c.MaxPending)
	}
	if c.RetentionMonths < 1 || c.RetentionMonths > 120 {
		return fmt.Errorf("cases.retention_months: %d outside 1..120", c.RetentionMonths)
	}
	return nil
}

// Kinds a citizen chooses at a kiosk: a complaint or a denunciation has a
// procedure of its own (a signed petition), which the staff receive.
var Kinds = []cases.Kind{cases.KindFeedback, cases.KindReflection, cases.KindRecommendation}

// Case is one case as kept and sent: the dashboard's intake request.
type Case struct {
	Number   string        `json:"number"`
	Code     string        `json:"code"`
	Site     string        `json:"site"`
	Kind     cases.Kind    `json:"kind"`
	Channel  cases.Channel `json:"channel"`
	Received time.Time     `json:"received"`
	Counter  string        `json:"counter"`
	Message  string        `json:"message"`
	Phone    string        `json:"phone,omitempty"`
}

// Receipt is what the citizen is shown.
type Receipt struct {
	Number string `json:"number"`
	Code   string `json:"code"`
	// URL opens the case's public page with both filled in.
	URL string `json:"url"`
}

// Errors of Take.
var (
	// ErrInvalid: the citizen's input is refused (the error says why).
	ErrInvalid = errors.New("intake: invalid")
	// ErrFull: MaxPending cases wait for the dashboard already.
	ErrFull = errors.New("intake: too many cases waiting for the dashboard")
)

// Desk is the agent's intake. Open, then Run.
type Desk struct {
	cfg    Config
	token  string
	site   string
	dir    string // pending cases, one file each, and the number counter
	loc    *time.Location
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex // orders numbering and the pending count
	seq     int
	pending int

	poke chan struct{}

	waiting prometheus.Gauge
	sent    prometheus.Counter
	refused prometheus.Counter
}

// seqFile holds the last number given, saved before the number is shown.
const seqFile = "seq"

// Open prepares the intake of site in dir (created if missing), reading
// back the cases a previous run had not sent.
func Open(cfg Config, site, dir string, loc *time.Location, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*Desk, error) {
	if !cfg.Enabled {
		return nil, errors.New("intake: not enabled")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	token, err := cfg.Token.Value()
	if err != nil {
		return nil, fmt.Errorf("cases.token: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "refused"), 0o700); err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	d := &Desk{cfg: cfg, token: token, site: site, dir: dir, loc: loc, log: log, now: now,
		client: &http.Client{Timeout: 30 * time.Second}, poke: make(chan struct{}, 1),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pscm_agent_cases_pending",
			Help: "Cases left at the kiosks that the dashboard has not received yet."}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "pscm_agent_cases_sent_total",
			Help: "Cases left at the kiosks that the dashboard received."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "pscm_agent_cases_refused_total",
			Help: "Cases the dashboard refused for good (kept in the intake's refused directory)."}),
	}
	for _, c := range []prometheus.Collector{d.waiting, d.sent, d.refused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("intake: %w", err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, seqFile)); err == nil {
		if d.seq, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || d.seq < 0 {
			return nil, fmt.Errorf("intake: %s: %q is not a count", filepath.Join(dir, seqFile), b)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("intake: %w", err)
	}
	names, err := d.pendingFiles()
	if err != nil {
		return nil, err
	}
	d.pending = len(names)
	d.waiting.Set(float64(d.pending))
	return d, nil
}

// Notice is the one line the kiosk shows of what is kept and why (Law
// 91/2025/QH15), Vietnamese and English.
func (d *Desk) Notice() (vi, en string) {
	return fmt.Sprintf("Ý kiến và số điện thoại (nếu có) chỉ dùng để xử lý, trả lời Ông/Bà và được xóa sau %d tháng.", d.cfg.RetentionMonths),
		fmt.Sprintf("Your message and phone number (if any) are used only to handle and answer it, and erased after %d months.", d.cfg.RetentionMonths)
}

// Take receives a case a citizen left at kiosk (of counter): checked,
// numbered, written and synced, then answered.
func (d *Desk) Take(kind cases.Kind, counter, message, phone string) (Receipt, error) {
	if !slices.Contains(Kinds, kind) {
		return Receipt{}, fmt.Errorf("%w: kind %q: want one of %v", ErrInvalid, kind, Kinds)
	}
	msg, err := cases.CleanText(message, cases.MaxMessage)
	if err != nil || msg == "" {
		if err == nil {
			err = errors.New("empty")
		}
		return Receipt{}, fmt.Errorf("%w: message: %w", ErrInvalid, err)
	}
	if phone, err = cases.CheckPhone(phone); err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	code, err := cases.NewCode()
	if err != nil {
		return Receipt{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending >= d.cfg.MaxPending {
		return Receipt{}, ErrFull
	}
	at := d.now().UTC()
	// The number is on disk before it is used: a crash after never gives
	// it twice (at worst it skips one).
	if err := spool.WriteFileAtomic(d.dir, seqFile, []byte(strconv.Itoa(d.seq+1)+"\n")); err != nil {
		return Receipt{}, err
	}
	d.seq++
	c := Case{Number: fmt.Sprintf("%s-%d-K%06d", d.site, at.In(d.loc).Year(), d.seq), Code: code, Site: d.site, Kind: kind,
		Channel: cases.ChannelKiosk, Received: at, Counter: counter, Message: msg, Phone: phone}
	b, err := json.Marshal(c)
	if err != nil {
		return Receipt{}, err
	}
	if err := spool.WriteFileAtomic(d.dir, c.Number+".json", b); err != nil {
		return Receipt{}, err
	}
	d.pending++
	d.waiting.Set(float64(d.pending))
	select {
	case d.poke <- struct{}{}:
	default:
	}
	d.log.Info("case left at a kiosk", "case", c.Number, "kind", kind, "counter", counter)
	return Receipt{Number: c.Number, Code: c.Code, URL: d.cfg.PublicURL + "?" + url.Values{"so": {c.Number}, "ma": {c.Code}}.Encode()}, nil
}

// Run sends the pending cases until ctx ends: oldest first, each until the
// dashboard answers 2xx (a retry of one it has is answered 200 too); one
// it refuses for good (another 4xx) is moved aside and counted, never
// dropped. After a failure it waits 1 s, doubling to a minute.
func (d *Desk) Run(ctx context.Context) {
	wait := time.Second
	for {
		err := d.sendAll(ctx)
		if err == nil {
			wait = time.Second
		} else if ctx.Err() == nil {
			d.log.Warn("cases not sent to the dashboard yet; retrying", "err", err, "in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.poke:
		case <-t.C:
		}
		t.Stop()
		if err != nil {
			wait = min(2*wait, time.Minute)
		}
	}
}

func (d *Desk) sendAll(ctx context.Context) error {
	names, err := d.pendingFiles()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := d.send(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (d *Desk) send(ctx context.Context, name string) error {
	path := filepath.Join(d.dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.Dashboard, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the configuration
		}
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		err = os.Remove(path)
		d.sent.Inc()
	case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests &&
		resp.StatusCode != http.StatusUnauthorized:
		// Kept aside for the operator, never sent again as it is.
		err = os.Rename(path, filepath.Join(d.dir, "refused", name))
		d.refused.Inc()
		d.log.Error("the dashboard refused a kiosk case; kept in the refused directory", "case", strings.TrimSuffix(name, ".json"),
			"status", resp.StatusCode, "answer", strings.TrimSpace(string(msg)))
	default:
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.pending--
	d.waiting.Set(float64(d.pending))
	d.mu.Unlock()
	return nil
}

// pendingFiles are the cases waiting, oldest number first.
func (d *Desk) pendingFiles() ([]string, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	slices.Sort(out) // same site and width: the year, then the number
	return out, nil
}
