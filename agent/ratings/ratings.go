// Package ratings turns a citizen's press — a tap on the kiosk page or a
// hardware button — into a `rating` event: it applies the anti-abuse rules
// (a minimum interval per kiosk, one rating per service session), links the
// rating to the session that just ended at the counter, and spools it. A
// press is acknowledged only once its event is durable.
package ratings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// Config is the anti-abuse policy.
type Config struct {
	// MinInterval is the least time between two accepted presses at one kiosk.
	MinInterval time.Duration `yaml:"min_interval"`
	// OnePerSession ignores a second rating for the same service session.
	OnePerSession bool `yaml:"one_per_session"`
	// ReasonsWindow is how long after a press its follow-up reasons are taken.
	ReasonsWindow time.Duration `yaml:"reasons_window"`
}

// Defaults returns the configuration used where a file says nothing.
func Defaults() Config {
	return Config{MinInterval: 5 * time.Second, OnePerSession: true, ReasonsWindow: 2 * time.Minute}
}

// Validate checks the fields.
func (c Config) Validate() error {
	if c.MinInterval < 0 || c.MinInterval > time.Hour {
		return fmt.Errorf("min_interval: %v outside 0..1h", c.MinInterval)
	}
	if c.ReasonsWindow < 10*time.Second || c.ReasonsWindow > time.Hour {
		return fmt.Errorf("reasons_window: %v outside 10s..1h", c.ReasonsWindow)
	}
	return nil
}

// Kiosk is a configured kiosk: where it stands and what its buttons mean.
type Kiosk struct {
	ID, Counter string
}

// Emitter spools events (outbox.Outbox).
type Emitter interface {
	Header() schema.Header
	Emit(ctx context.Context, ev schema.Event) error
}

// Sessions links ratings to service sessions (queue.Tracker).
type Sessions interface {
	ClaimSession(counter string, now time.Time) (id string, rated, ok bool)
	// UnclaimSession undoes a claim whose rating could not be spooled.
	UnclaimSession(counter, id string)
}

// Result of a press.
type Result struct {
	RatingID string
	// Ignored is "" for an accepted press, else why it was not sent as a
	// rating: "too_soon" or "session_rated".
	Ignored    string
	AskReasons bool
}

var (
	// ErrUnknownKiosk: the press names a kiosk that is not configured.
	ErrUnknownKiosk = errors.New("ratings: unknown kiosk")
	// ErrUnknownButton: a hardware button number with no level.
	ErrUnknownButton = errors.New("ratings: unknown button")
	// ErrUnknownRating: follow-up reasons for a rating that is not recent.
	ErrUnknownRating = errors.New("ratings: unknown or expired rating")
	// ErrDuplicate: a hardware press whose seq was already seen.
	ErrDuplicate = errors.New("ratings: duplicate press")
	// ErrPressConflict: a press ID already used for another level. A tablet
	// retrying a tap sends the same level; another level under the same ID
	// is not that tap.
	ErrPressConflict = errors.New("ratings: press ID already used for another level")
)

type kioskState struct {
	counter      string
	lastAccepted time.Time
	recentPress  map[string]*pending // press_id -> tap, so a retried tap is answered, not counted twice
	pressOrder   []string
	seqs         []uint64 // recent hardware seqs
}

type recent struct {
	ev      *schema.Rating
	expires time.Time
}

// Service is safe for concurrent use.
type Service struct {
	cfg        Config
	buttons    []schema.Level // hardware button N -> buttons[N-1]
	askReasons map[schema.Level]bool
	reasonIDs  map[string]bool
	out        Emitter
	sessions   Sessions
	log        *slog.Logger
	now        func() time.Time

	mu      sync.Mutex
	kiosks  map[string]*kioskState
	recents map[string]recent // rating id -> event, for follow-up reasons

	presses *prometheus.CounterVec
	limit   *logging.Limiter
}

// New returns a service. buttons maps hardware button numbers (1-based) to
// levels, in the order of the kiosk page's buttons; askReasons are the
// levels that get the follow-up; reasonIDs the allowed reasons.
func New(cfg Config, kiosks []Kiosk, buttons []schema.Level, askReasons []schema.Level, reasonIDs []string,
	out Emitter, sessions Sessions, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) *Service {
	s := &Service{
		cfg: cfg, buttons: buttons, out: out, sessions: sessions, log: log, now: now,
		askReasons: map[schema.Level]bool{}, reasonIDs: map[string]bool{},
		kiosks:  map[string]*kioskState{},
		recents: map[string]recent{},
		limit:   logging.NewLimiter(10 * time.Second),
		presses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "presses_total",
			Help: "Rating presses by kiosk, source (touch, button) and result. refused counts attempts the spool could not take; the tablet or the center's broker sends the same press again, and accepted counts it once when it is taken.",
		}, []string{"kiosk", "source", "result"}),
	}
	for _, l := range askReasons {
		s.askReasons[l] = true
	}
	for _, r := range reasonIDs {
		s.reasonIDs[r] = true
	}
	for _, k := range kiosks {
		s.kiosks[k.ID] = &kioskState{counter: k.Counter, recentPress: map[string]*pending{}}
		for _, src := range []string{"touch", "button"} {
			for _, res := range []string{"accepted", "too_soon", "session_rated", "duplicate", "refused", "bad_input", "retained"} {
				s.presses.WithLabelValues(k.ID, src, res)
			}
		}
	}
	reg.MustRegister(s.presses)
	return s
}

// Press handles a tap from the kiosk page. pressID (made by the page per
// tap) makes a retried request idempotent.
func (s *Service) Press(ctx context.Context, kiosk string, level schema.Level, pressID string) (Result, error) {
	return s.press(ctx, kiosk, level, pressID, 0, s.now(), "touch")
}

// press handles a tap (pressID) or a button press (seq); the key goes into
// the event, so the spool holds it across a restart (Restore).
func (s *Service) press(ctx context.Context, kiosk string, level schema.Level, pressID string, seq int64, at time.Time, source string) (Result, error) {
	if !level.Valid() {
		return Result{}, &schema.Error{Reason: schema.ReasonInvalidValue, Field: "level", Msg: fmt.Sprintf("unknown level %q", textclip.Clip(string(level), maxQuoted))}
	}
	s.mu.Lock()
	k, ok := s.kiosks[kiosk]
	if !ok {
		s.mu.Unlock()
		return Result{}, ErrUnknownKiosk
	}
	var p *pending
	if pressID != "" {
		// One press, one event: a press ID is held from its first request
		// until its outcome is known. A retry or a parallel duplicate waits
		// for that outcome and gets the same answer; it never builds a
		// second event, and never counts a second time.
		for {
			old, seen := k.recentPress[pressID]
			if !seen {
				p = &pending{level: level, busy: make(chan struct{})}
				k.remember(pressID, p)
				break
			}
			if old.level != level {
				s.mu.Unlock()
				s.count(kiosk, source, "bad_input")
				return Result{}, fmt.Errorf("%w: press %s was %s, now %s", ErrPressConflict, pressID, old.level, level)
			}
			if old.done {
				s.mu.Unlock()
				return old.res, nil
			}
			if old.busy == nil {
				// Its spooling failed or timed out (it may even be stored):
				// send the very same event again, so that at worst it
				// overwrites itself downstream instead of counting twice.
				old.busy = make(chan struct{})
				p = old
				break
			}
			busy := old.busy
			s.mu.Unlock()
			select {
			case <-busy:
			case <-ctx.Done():
				return Result{}, ctx.Err()
			}
			s.mu.Lock()
		}
	}
	s.mu.Unlock()

	var ev *schema.Rating
	if p != nil {
		ev = p.ev
	}
	var res Result
	var err error
	if ev == nil {
		res, ev, err = s.newRating(ctx, k, kiosk, level, pressID, seq, at, source)
	} else {
		res, err = s.spool(ctx, ev, nil, kiosk, source)
	}
	if p != nil {
		s.mu.Lock()
		p.ev = ev
		switch {
		case err == nil:
			// Accepted or ignored: the answer to this press for good.
			p.done, p.res = true, res
		case ev == nil:
			// Refused before an event existed: the press may come again as new.
			delete(k.recentPress, pressID)
		}
		close(p.busy)
		p.busy = nil
		s.mu.Unlock()
	}
	return res, err
}

// newRating applies the anti-abuse rules to a new press and spools its
// rating. It returns the event it built (nil when the press was ignored or
// refused before one existed).
//
// The minimum interval and the rating's time are the press's own (at): a
// press the center's broker held while the agent was away is judged
// against the one before it, not against its arrival beside the others.
func (s *Service) newRating(ctx context.Context, k *kioskState, kiosk string, level schema.Level, pressID string, seq int64, at time.Time, source string) (Result, *schema.Rating, error) {
	s.mu.Lock()
	if gap := at.Sub(k.lastAccepted).Abs(); s.cfg.MinInterval > 0 && !k.lastAccepted.IsZero() && gap < s.cfg.MinInterval {
		s.mu.Unlock()
		s.count(kiosk, source, "too_soon")
		s.logLimited(slog.LevelInfo, kiosk+"/too_soon", "press ignored: too soon after the last one", "kiosk", kiosk, "source", source, "gap", gap)
		return Result{Ignored: "too_soon"}, nil, nil
	}
	// Reserve the slot now so two presses racing past the check can't
	// both become ratings; released if the spool refuses.
	prevAccepted := k.lastAccepted
	if at.After(k.lastAccepted) {
		k.lastAccepted = at
	}
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		k.lastAccepted = prevAccepted
		s.mu.Unlock()
	}
	var session string
	claimed := false
	if s.sessions != nil {
		id, rated, ok := s.sessions.ClaimSession(k.counter, at)
		if ok && rated && s.cfg.OnePerSession {
			release()
			s.count(kiosk, source, "session_rated")
			s.logLimited(slog.LevelInfo, kiosk+"/session_rated", "press ignored: this session already has a rating", "kiosk", kiosk, "session", id)
			return Result{Ignored: "session_rated"}, nil, nil
		}
		if ok {
			session, claimed = id, !rated
		}
	}
	h := s.out.Header()
	h.TS = at.UTC() // the outbox gives it its own point in its millisecond
	ev := &schema.Rating{Header: h, Counter: k.counter, Kiosk: kiosk, Level: level, Session: session,
		PressID: pressID, PressSeq: seq}
	res, err := s.spool(ctx, ev, func() {
		release()
		if claimed {
			s.sessions.UnclaimSession(k.counter, session)
		}
	}, kiosk, source)
	return res, ev, err
}

// spool emits ev and counts the outcome; undo runs if the spool refused it.
func (s *Service) spool(ctx context.Context, ev *schema.Rating, undo func(), kiosk, source string) (Result, error) {
	if err := s.out.Emit(ctx, ev); err != nil {
		if undo != nil {
			undo()
		}
		s.count(kiosk, source, "refused")
		// Warn, limited: the kiosk retries (tablet) or the broker redelivers
		// (button), and a full spool refuses every one of them.
		s.logLimited(slog.LevelWarn, kiosk+"/refused", "press not spooled yet: the kiosk or the broker will send it again", "kiosk", kiosk, "err", err)
		return Result{}, err
	}
	res := Result{RatingID: ev.ID, AskReasons: s.askReasons[ev.Level] && len(s.reasonIDs) > 0}
	if res.AskReasons {
		now := s.now()
		s.mu.Lock()
		s.expireRecents(now)
		s.recents[ev.ID] = recent{ev: ev, expires: now.Add(s.cfg.ReasonsWindow)}
		s.mu.Unlock()
	}
	s.count(kiosk, source, "accepted")
	return res, nil
}

// pending is a tap by press ID: its level, its event once built, while it
// is being handled a channel closed when that ends, and once handled for
// good its answer.
type pending struct {
	level schema.Level
	ev    *schema.Rating
	busy  chan struct{}
	done  bool
	res   Result
}

// remember keeps the last 64 taps of a kiosk by press ID. Called with mu held.
func (k *kioskState) remember(pressID string, p *pending) {
	k.recentPress[pressID] = p
	k.pressOrder = append(k.pressOrder, pressID)
	if len(k.pressOrder) > 64 {
		delete(k.recentPress, k.pressOrder[0])
		k.pressOrder = k.pressOrder[1:]
	}
}

// expireRecents drops follow-up candidates past their window, and bounds
// the map. Called with mu held.
func (s *Service) expireRecents(now time.Time) {
	for id, r := range s.recents {
		if now.After(r.expires) || len(s.recents) > 1000 {
			delete(s.recents, id)
		}
	}
}

// Reasons adds follow-up reasons to a recent rating by spooling the same
// event again with reasons: same measurement, tags and time, so downstream it
// overwrites the first point rather than counting a second rating.
func (s *Service) Reasons(ctx context.Context, kiosk, ratingID string, reasons []string) error {
	if len(reasons) == 0 || len(reasons) > 16 {
		return &schema.Error{Reason: schema.ReasonInvalidValue, Field: "reasons", Msg: "1 to 16 reasons"}
	}
	for _, r := range reasons {
		if !s.reasonIDs[r] {
			return &schema.Error{Reason: schema.ReasonInvalidValue, Field: "reasons", Msg: fmt.Sprintf("unknown reason %q", textclip.Clip(r, maxQuoted))}
		}
	}
	s.mu.Lock()
	r, ok := s.recents[ratingID]
	if !ok || r.ev.Kiosk != kiosk || s.now().After(r.expires) {
		s.mu.Unlock()
		return ErrUnknownRating
	}
	ev := *r.ev
	s.mu.Unlock()
	ev.Reasons = slices.Compact(slices.Sorted(slices.Values(reasons)))
	if err := s.out.Emit(ctx, &ev); err != nil {
		return err // still in recents: the page may send the reasons again
	}
	s.mu.Lock()
	delete(s.recents, ratingID) // one follow-up per rating
	s.mu.Unlock()
	return nil
}

// HardwarePress handles a raw press from pscm/v1/{site}/kiosk/{kiosk}/press.
func (s *Service) HardwarePress(ctx context.Context, kiosk string, payload []byte) (Result, error) {
	p, err := schema.DecodePress(payload)
	if err != nil {
		s.count(kiosk, "button", "bad_input")
		return Result{}, err
	}
	if p.Button < 1 || p.Button > len(s.buttons) {
		s.count(kiosk, "button", "bad_input")
		return Result{}, fmt.Errorf("%w: %d (configured 1..%d)", ErrUnknownButton, p.Button, len(s.buttons))
	}
	s.mu.Lock()
	k, ok := s.kiosks[kiosk]
	if !ok {
		s.mu.Unlock()
		return Result{}, ErrUnknownKiosk
	}
	if p.Seq != 0 && slices.Contains(k.seqs, p.Seq) {
		s.mu.Unlock()
		s.count(kiosk, "button", "duplicate")
		return Result{}, ErrDuplicate
	}
	s.mu.Unlock()
	res, err := s.press(ctx, kiosk, s.buttons[p.Button-1], "", int64(p.Seq), s.pressTime(kiosk, p.TS), "button")
	if err == nil && p.Seq != 0 {
		// Remembered only once spooled, so a redelivery after a failure is
		// taken. A short memory, not "seq must grow": a button box that
		// reboots starts counting again.
		s.mu.Lock()
		k.rememberSeq(p.Seq)
		s.mu.Unlock()
	}
	return res, err
}

// Bounds on a button box's own time for a press: up to pressAhead after the
// agent's clock (clocks drift) and pressBehind before it (how long the
// center's broker may hold a press for an agent that is away; its queue
// holds a working week).
const (
	pressAhead  = time.Minute
	pressBehind = 7 * 24 * time.Hour
)

// pressTime is when a button press happened: the box's own time when it
// sent one within the bounds, else its arrival now.
func (s *Service) pressTime(kiosk string, ts time.Time) time.Time {
	now := s.now()
	if ts.IsZero() {
		return now
	}
	if ts.After(now.Add(pressAhead)) || ts.Before(now.Add(-pressBehind)) {
		s.logLimited(slog.LevelWarn, kiosk+"/clock", "button box's clock is off: press taken at its arrival", "kiosk", kiosk,
			"box_time", ts.Format(time.RFC3339), "agent_time", now.UTC().Format(time.RFC3339))
		return now
	}
	return ts
}

// logLimited logs once per key and 10 s, with how many lines were held
// back meanwhile: a flood of presses must not flood the journal (the
// presses_total metric counts every one).
func (s *Service) logLimited(level slog.Level, key, msg string, args ...any) {
	if ok, held := s.limit.Allow(key, s.now()); ok {
		if held > 0 {
			args = append(args, "similar_lines_held_back", held)
		}
		s.log.Log(context.Background(), level, msg, args...)
	}
}

// rememberSeq keeps the last 64 button seqs of a kiosk. Called with mu held.
func (k *kioskState) rememberSeq(seq uint64) {
	if slices.Contains(k.seqs, seq) {
		return
	}
	k.seqs = append(k.seqs, seq)
	if len(k.seqs) > 64 {
		k.seqs = k.seqs[1:]
	}
}

// Restore takes back a rating the spool still held when the agent started
// (outbox.Recover, oldest first), so the memory a crash wiped is what it
// was: a tap retried with its press_id gets the answer it was owed, with the
// same rating ID, and a button press the center's broker redelivers is a
// duplicate by its seq; neither becomes a second rating. The minimum
// interval counts from the latest rating, and a rating still inside its
// reasons window can still get them. Events of unknown kiosks are skipped.
func (s *Service) Restore(ev *schema.Rating) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.kiosks[ev.Kiosk]
	if !ok {
		return
	}
	if ev.TS.After(k.lastAccepted) {
		k.lastAccepted = ev.TS
	}
	ask := s.askReasons[ev.Level] && len(s.reasonIDs) > 0
	if ev.PressID != "" {
		if p, seen := k.recentPress[ev.PressID]; seen {
			p.ev = ev // the same rating spooled again, with its reasons
		} else {
			k.remember(ev.PressID, &pending{level: ev.Level, ev: ev, done: true,
				res: Result{RatingID: ev.ID, AskReasons: ask}})
		}
	}
	if ev.PressSeq > 0 {
		k.rememberSeq(uint64(ev.PressSeq))
	}
	switch now := s.now(); {
	case len(ev.Reasons) > 0:
		delete(s.recents, ev.ID) // its one follow-up was taken
	case ask && now.Sub(ev.TS) < s.cfg.ReasonsWindow:
		s.expireRecents(now)
		s.recents[ev.ID] = recent{ev: ev, expires: ev.TS.Add(s.cfg.ReasonsWindow)}
	}
}

// RetainedPress counts a hardware press refused because the center's
// broker delivered it as a retained message: one the broker keeps and hands
// to every new subscription, so taken it would be a new rating at every
// restart or reconnect of the agent. The press was taken when it was
// published, if the agent was subscribed then.
func (s *Service) RetainedPress(kiosk string) {
	s.count(kiosk, "button", "retained")
}

func (s *Service) count(kiosk, source, result string) {
	if _, ok := s.kiosks[kiosk]; !ok {
		return // only configured kiosks are label values
	}
	s.presses.WithLabelValues(kiosk, source, result).Inc()
}

// maxQuoted is how many bytes of an unknown level or reason an error shows.
const maxQuoted = 40
