// Package cases is the domain of citizens' feedback and complaints, the
// plan's target of "100 % handled": a case's kinds, channels and life
// (received → acknowledged → assigned → answered → closed, or transferred
// to the competent body, or rejected as not legitimate with its reason),
// its deadlines in working days (internal/workcal) by rules per kind, and
// whether it was handled on time. Every transition is kept, who, when and
// what, and never edited: a case is its history.
//
// The package decides; it stores nothing and sends nothing. A case's
// message and phone number are personal data (Law 91/2025/QH15): they live
// in the case record only, never in its events.
package cases

import (
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pscm/pscm/internal/workcal"
)

// Kind is what a citizen brings: the five of the plan's target 4.
type Kind string

// Kinds.
const (
	KindFeedback       Kind = "gop_y"     // góp ý: an opinion
	KindRecommendation Kind = "kien_nghi" // kiến nghị: a recommendation
	KindReflection     Kind = "phan_anh"  // phản ánh: a report of a problem
	KindComplaint      Kind = "khieu_nai" // khiếu nại: a complaint against a decision or act
	KindDenunciation   Kind = "to_cao"    // tố cáo: a denunciation of a violation
)

// Kinds lists them in the plan's order.
func Kinds() []Kind {
	return []Kind{KindFeedback, KindRecommendation, KindReflection, KindComplaint, KindDenunciation}
}

// Valid reports whether k is a kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds() {
		if k == x {
			return true
		}
	}
	return false
}

// Names are a kind's words, Vietnamese and English.
func (k Kind) Names() (vi, en string) {
	switch k {
	case KindFeedback:
		return "Góp ý", "Feedback"
	case KindRecommendation:
		return "Kiến nghị", "Recommendation"
	case KindReflection:
		return "Phản ánh", "Report"
	case KindComplaint:
		return "Khiếu nại", "Complaint"
	case KindDenunciation:
		return "Tố cáo", "Denunciation"
	}
	return string(k), string(k)
}

// Channel is how a case came in.
type Channel string

// Channels.
const (
	ChannelKiosk     Channel = "kiosk"     // the center's kiosk
	ChannelInPerson  Channel = "in_person" // at the counter or the office
	ChannelPhone     Channel = "phone"     // by phone
	ChannelLetter    Channel = "letter"    // by letter
	ChannelZalo      Channel = "zalo"      // the commune's Zalo account
	ChannelHotline   Channel = "hotline"   // the hotline
	ChannelReception Channel = "reception" // the citizen-reception day (lịch tiếp công dân)
	ChannelProvince  Channel = "province"  // imported from the province's feedback system
)

// Channels lists them.
func Channels() []Channel {
	return []Channel{ChannelKiosk, ChannelInPerson, ChannelPhone, ChannelLetter, ChannelZalo, ChannelHotline, ChannelReception, ChannelProvince}
}

// Valid reports whether c is a channel.
func (c Channel) Valid() bool {
	for _, x := range Channels() {
		if c == x {
			return true
		}
	}
	return false
}

// State is where a case is in its life.
type State string

// States.
const (
	StateReceived     State = "received"
	StateAcknowledged State = "acknowledged" // accepted for handling (thụ lý)
	StateAssigned     State = "assigned"     // given to a department or an official
	StateAnswered     State = "answered"     // the answer is given to the citizen
	StateClosed       State = "closed"
	StateTransferred  State = "transferred" // sent to the competent body
	StateRejected     State = "rejected"    // not legitimate; the reason is told
)

// Done reports whether the case is handled: nothing is due from the center
// any more.
func (s State) Done() bool {
	return s == StateAnswered || s == StateClosed || s == StateTransferred || s == StateRejected
}

// next are the transitions allowed from each state. Assigned may be
// assigned again (to someone else); an answered case may be reopened by
// assigning it again when the citizen is not satisfied.
var next = map[State][]State{
	StateReceived:     {StateAcknowledged, StateAssigned, StateTransferred, StateRejected},
	StateAcknowledged: {StateAssigned, StateTransferred, StateRejected},
	StateAssigned:     {StateAssigned, StateAnswered, StateTransferred, StateRejected},
	StateAnswered:     {StateClosed, StateAssigned},
}

// Limits on what people type.
const (
	MaxMessage = 2000 // runes of a citizen's message
	MaxNote    = 2000 // runes of a handler's answer or note
	MaxName    = 120  // runes of a name (assignee, handler)
	MaxExtend  = 60   // working days one extension may add
)

var phoneRe = regexp.MustCompile(`^(\+84|0)[0-9]{8,10}$`)

// CheckPhone checks an optional phone number and returns it without its
// spaces and dots ("" stays ""): a Vietnamese number, 0 or +84 and 8 to 10
// digits.
func CheckPhone(s string) (string, error) {
	phone := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(s), " ", ""), ".", "")
	if phone != "" && !phoneRe.MatchString(phone) {
		return "", errors.New("phone: not a Vietnamese phone number (0 or +84 and 8 to 10 digits)")
	}
	return phone, nil
}

// ErrTransition is a transition the case's state does not allow.
var ErrTransition = errors.New("cases: transition not allowed")

// Transition is one step of a case's life, as kept forever.
type Transition struct {
	At time.Time `json:"at"`
	// By is who did it: a user name, "kiosk", "import".
	By   string `json:"by"`
	From State  `json:"from"`
	To   State  `json:"to"`
	// Assignee is the department or official a case is assigned to.
	Assignee string `json:"assignee,omitempty"`
	// Note is the answer (to answered), the reason (to rejected, for an
	// extension), or where it went (to transferred).
	Note string `json:"note,omitempty"`
	// ExtendDays > 0 records an extension of the resolve deadline (the
	// state does not change: From == To).
	ExtendDays int `json:"extend_days,omitempty"`
	// Due is the case's resolve deadline after this step (zero while the
	// rules set none); Late, whether this step came after the deadline it
	// answers (accepting the case, or handling it). Both are the facts of
	// the moment, kept with the step: the case event reports them.
	Due  time.Time `json:"due,omitzero"`
	Late bool      `json:"late,omitempty"`
}

// Case is one citizen's case. Its times are UTC.
type Case struct {
	// Number is the case number shown to the citizen: <site>-<year>-<seq>.
	Number string `json:"number"`
	// Code is the short code that, with the number, opens the public
	// status page.
	Code     string    `json:"code"`
	Site     string    `json:"site"`
	Kind     Kind      `json:"kind"`
	Channel  Channel   `json:"channel"`
	Received time.Time `json:"received"`
	// Counter, Service, Official: what the case concerns, when known.
	Counter  string `json:"counter,omitempty"`
	Service  string `json:"service,omitempty"`
	Official string `json:"official,omitempty"`
	// Message and Phone are personal data, emptied at the end of their
	// retention (Erased says when).
	Message string    `json:"message"`
	Phone   string    `json:"phone,omitempty"`
	Erased  time.Time `json:"erased,omitzero"`
	// Complex marks a complaint the rules give the longer time.
	Complex bool `json:"complex,omitempty"`

	State State `json:"state"`
	// Assignee is who the case is assigned to now: the last assignment's
	// (the history has them all).
	Assignee string `json:"assignee,omitempty"`
	// AcknowledgeBy and ResolveBy are the deadlines (the end of their last
	// working day); zero when the rules set none.
	AcknowledgeBy time.Time    `json:"acknowledge_by,omitzero"`
	ResolveBy     time.Time    `json:"resolve_by,omitzero"`
	History       []Transition `json:"history"`
}

// Intake is what a new case is made from.
type Intake struct {
	Number, Code, Site string
	Kind               Kind
	Channel            Channel
	Received           time.Time
	Counter, Service   string
	Official           string
	Message, Phone     string
	Complex            bool
	By                 string
}

// New opens a case: the input checked, the deadlines set from the rules.
func New(in Intake, r Rules, cal *workcal.Calendar) (Case, error) {
	msg, err := CleanText(in.Message, MaxMessage)
	if err != nil {
		return Case{}, fmt.Errorf("message: %w", err)
	}
	if msg == "" {
		return Case{}, errors.New("message: empty")
	}
	phone, phoneErr := CheckPhone(in.Phone)
	switch {
	case !in.Kind.Valid():
		return Case{}, fmt.Errorf("kind %q: want one of %v", in.Kind, Kinds())
	case !in.Channel.Valid():
		return Case{}, fmt.Errorf("channel %q: want one of %v", in.Channel, Channels())
	case in.Received.IsZero():
		return Case{}, errors.New("received: required")
	case phoneErr != nil:
		return Case{}, phoneErr
	case in.Number == "" || in.Code == "" || in.Site == "":
		return Case{}, errors.New("number, code and site: required")
	}
	by, err := CleanText(in.By, MaxName)
	if err != nil || by == "" {
		return Case{}, errors.New("by: who received the case is required")
	}
	c := Case{Number: in.Number, Code: in.Code, Site: in.Site, Kind: in.Kind, Channel: in.Channel, Received: in.Received.UTC(),
		Counter: in.Counter, Service: in.Service, Official: in.Official, Message: msg, Phone: phone, Complex: in.Complex,
		State: StateReceived}
	rule := r.For(in.Kind)
	if rule.AcknowledgeDays > 0 {
		if c.AcknowledgeBy, err = cal.AddWorkdays(in.Received, rule.AcknowledgeDays); err != nil {
			return Case{}, err
		}
		c.AcknowledgeBy = c.AcknowledgeBy.UTC()
	}
	if days := rule.resolve(in.Complex); days > 0 && !rule.ResolveFromAcknowledge {
		if c.ResolveBy, err = cal.AddWorkdays(in.Received, days); err != nil {
			return Case{}, err
		}
		c.ResolveBy = c.ResolveBy.UTC()
	}
	c.History = []Transition{{At: c.Received, By: by, To: StateReceived, Due: c.ResolveBy}}
	return c, nil
}

// Step is a transition asked for.
type Step struct {
	To       State
	At       time.Time
	By       string
	Assignee string
	Note     string
	// ExtendDays > 0 asks for an extension instead of a change of state.
	ExtendDays int
}

// Apply returns the case after step, or an error and the case unchanged:
// a transition its state allows, in time order, with what it needs (an
// assignee to assign, an answer to answer, a reason to reject or extend,
// the body to transfer to).
func Apply(c Case, s Step, r Rules, cal *workcal.Calendar) (Case, error) {
	by, err := CleanText(s.By, MaxName)
	if err != nil || by == "" {
		return c, errors.New("by: who does it is required")
	}
	note, err := CleanText(s.Note, MaxNote)
	if err != nil {
		return c, fmt.Errorf("note: %w", err)
	}
	assignee, err := CleanText(s.Assignee, MaxName)
	if err != nil {
		return c, fmt.Errorf("assignee: %w", err)
	}
	if s.At.IsZero() {
		return c, errors.New("at: required")
	}
	if last := c.History[len(c.History)-1].At; s.At.Before(last) {
		return c, fmt.Errorf("at: %s is before the case's last step (%s)", s.At.UTC().Format(time.RFC3339), last.Format(time.RFC3339))
	}
	t := Transition{At: s.At.UTC(), By: by, From: c.State, To: s.To, Assignee: assignee, Note: note}
	if s.ExtendDays != 0 {
		switch {
		case s.ExtendDays < 0 || s.ExtendDays > MaxExtend:
			return c, fmt.Errorf("extend_days %d: want 1 to %d", s.ExtendDays, MaxExtend)
		case c.State.Done():
			return c, fmt.Errorf("%w: the case is %s", ErrTransition, c.State)
		case c.ResolveBy.IsZero():
			return c, errors.New("extend: the case has no deadline to extend")
		case note == "":
			return c, errors.New("note: an extension needs its reason")
		}
		end, err := cal.AddWorkdays(c.ResolveBy.Add(-time.Nanosecond), s.ExtendDays)
		if err != nil {
			return c, err
		}
		t.To, t.ExtendDays = c.State, s.ExtendDays
		c.ResolveBy = end.UTC()
		t.Due = c.ResolveBy
		c.History = append(append([]Transition(nil), c.History...), t)
		return c, nil
	}
	allowed := false
	for _, n := range next[c.State] {
		allowed = allowed || n == s.To
	}
	if !allowed {
		return c, fmt.Errorf("%w: %s → %s", ErrTransition, c.State, s.To)
	}
	switch s.To {
	case StateAssigned:
		if assignee == "" {
			return c, errors.New("assignee: a case is assigned to a department or an official")
		}
	case StateAnswered:
		if note == "" {
			return c, errors.New("note: the answer is required")
		}
	case StateRejected:
		if note == "" {
			return c, errors.New("note: the reason the case is not legitimate is required; the citizen is told")
		}
	case StateTransferred:
		if note == "" {
			return c, errors.New("note: the body the case is transferred to is required")
		}
	}
	rule := r.For(c.Kind)
	if c.State == StateReceived && (s.To == StateAcknowledged || s.To == StateAssigned) && rule.ResolveFromAcknowledge {
		// Accepted: the time to settle runs from today.
		if days := rule.resolve(c.Complex); days > 0 {
			end, err := cal.AddWorkdays(s.At, days)
			if err != nil {
				return c, err
			}
			c.ResolveBy = end.UTC()
		}
	}
	t.Late = stepLate(c, t)
	c.State = s.To
	if assignee != "" {
		c.Assignee = assignee
	}
	t.Due = c.ResolveBy
	c.History = append(append([]Transition(nil), c.History...), t)
	return c, nil
}

// stepLate reports whether t, about to be applied to c, comes after the
// deadline it answers: accepting a case that was only received, against
// the time to acknowledge; handling it, against the time to resolve (or
// to acknowledge, when it is rejected or transferred before any time to
// resolve runs).
func stepLate(c Case, t Transition) bool {
	var due time.Time
	switch {
	case t.To == StateAnswered || t.To == StateTransferred || t.To == StateRejected:
		if due = c.ResolveBy; due.IsZero() {
			due = c.AcknowledgeBy
		}
	case c.State == StateReceived && (t.To == StateAcknowledged || t.To == StateAssigned):
		due = c.AcknowledgeBy
	}
	return !due.IsZero() && !t.At.Before(due) // as StatusAt judges a handled case
}

// Deadline is the deadline the case is held to now: to acknowledge it
// while it is only received (when the rules set one), else to resolve it;
// zero when there is none.
func (c Case) Deadline() time.Time {
	if c.State == StateReceived && !c.AcknowledgeBy.IsZero() && (c.ResolveBy.IsZero() || c.AcknowledgeBy.Before(c.ResolveBy)) {
		return c.AcknowledgeBy
	}
	return c.ResolveBy
}

// HandledAt is when the case was handled (answered, transferred or
// rejected), zero while it is not.
func (c Case) HandledAt() time.Time {
	for _, t := range c.History {
		if t.To == StateAnswered || t.To == StateTransferred || t.To == StateRejected {
			return t.At
		}
	}
	return time.Time{}
}

// Answer is the latest answer given, "" before one.
func (c Case) Answer() string {
	for i := len(c.History) - 1; i >= 0; i-- {
		if t := c.History[i]; t.To == StateAnswered || t.To == StateRejected || t.To == StateTransferred {
			return t.Note
		}
	}
	return ""
}

// Standing is where a case stands against its deadline.
type Standing string

// Standings.
const (
	OnTime  Standing = "on_time" // handled by its deadline, or open with time left
	AtRisk  Standing = "at_risk" // open, within Rules.WarnDays of its deadline
	Overdue Standing = "overdue" // open past its deadline
	Late    Standing = "late"    // handled after its deadline
)

// Status is a case's standing at now, with the working days left (or
// overdue) before the resolve deadline.
type Status struct {
	Standing Standing `json:"standing"`
	// DaysLeft is the working days after today up to the deadline's last
	// day when open and not overdue; the working days overdue when
	// Overdue; 0 otherwise.
	DaysLeft int `json:"days_left"`
}

// StatusAt judges c at now.
func StatusAt(c Case, now time.Time, r Rules, cal *workcal.Calendar) (Status, error) {
	if h := c.HandledAt(); !h.IsZero() {
		// Handled: on time if by the deadline it was held to then (to
		// resolve; to acknowledge, when rejected or transferred before
		// being accepted).
		due := c.ResolveBy
		if due.IsZero() {
			due = c.AcknowledgeBy
		}
		if due.IsZero() || h.Before(due) {
			return Status{Standing: OnTime}, nil
		}
		return Status{Standing: Late}, nil
	}
	due := c.Deadline()
	if due.IsZero() {
		return Status{Standing: OnTime}, nil
	}
	days, overdue, err := cal.Left(now, due)
	if err != nil {
		return Status{}, err
	}
	switch {
	case overdue:
		return Status{Standing: Overdue, DaysLeft: days}, nil
	case days < r.WarnDays:
		return Status{Standing: AtRisk, DaysLeft: days}, nil
	}
	return Status{Standing: OnTime, DaysLeft: days}, nil
}

// CleanText checks text people typed: valid UTF-8, at most max runes, no
// control characters but newlines and tabs (kept as spaces), trimmed. It
// refuses rather than repairs, so what is stored is what was sent.
func CleanText(s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > max {
		return "", fmt.Errorf("%d characters: at most %d", n, max)
	}
	for _, r := range s {
		if r == '\n' || r == '\t' || r == '\r' {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return "", fmt.Errorf("control character U+%04X", r)
		}
	}
	return s, nil
}

// CodeAlphabet is what a case's code is made of: no letters people confuse
// (I, O, 0, 1), and 32 of them, so a random byte maps to one evenly.
const CodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// NewCode is a case's short code: 8 characters, 40 bits from crypto/rand;
// with the number it opens the citizens' page. The dashboard and the
// agents' kiosks make them alike.
func NewCode() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = CodeAlphabet[int(b[i])%len(CodeAlphabet)]
	}
	return string(b), nil
}

// ValidCode reports whether s is a code NewCode could make.
func ValidCode(s string) bool { return len(s) == 8 && strings.Trim(s, CodeAlphabet) == "" }
