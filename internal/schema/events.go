package schema

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is one decoded, validated event. Every kind's pointer type
// implements it, so the collector handles all kinds through this interface
// and a type switch recovers the concrete kind.
type Event interface {
	// Kind returns the event's kind, which is also its InfluxDB measurement.
	Kind() Kind
	// Head returns the fields every kind shares.
	Head() *Header
	// Validate checks every field rule of the contract; now is the
	// receiver's clock, against which ts may be at most 24 h ahead. The
	// error is an *Error.
	Validate(now time.Time) error
	// AppendLine appends the event's InfluxDB line-protocol point, ending
	// in '\n', with ts as the timestamp in nanoseconds. The event must have
	// passed Validate: tag values are written unescaped because validated
	// tags cannot need escaping.
	AppendLine(dst []byte) []byte
}

// Header holds the fields every event carries.
type Header struct {
	// ID is unique per event (a ULID, or the session ID for sessions). It
	// is a field, not a tag, since it is unbounded.
	ID string `json:"id"`
	// TS is when the event happened at the source, in UTC. Measurement +
	// tags + ts is the point's identity in InfluxDB, so a redelivered event
	// overwrites itself instead of counting twice, and two distinct events
	// must never share it: the agent keeps the source's millisecond and
	// chooses the nanoseconds below it (PointTime).
	TS   time.Time `json:"ts"`
	Site string    `json:"site"`
}

// Head returns h itself, so embedding Header gives every kind its Head method.
func (h *Header) Head() *Header { return h }

// Accepted range of ts, in Unix seconds: from 2020-01-01T00:00:00Z up to
// maxAhead after the receiver's clock. An earlier ts is a device whose clock
// was never set; a later one would overwrite the future of a series.
const (
	minTSUnix = 1577836800 // 2020-01-01T00:00:00Z
	maxAhead  = 24 * time.Hour
)

// Accepted range of the other time fields, in Unix seconds: 2000-01-01 up to
// 2100-01-01 (exclusive). Due dates lie in the future, so "now" is no bound;
// the range keeps every value printable as RFC 3339 and as nanoseconds.
const (
	minTimeUnix = 946684800  // 2000-01-01T00:00:00Z
	endTimeUnix = 4102444800 // 2100-01-01T00:00:00Z
)

func (h *Header) validate(now time.Time) error {
	if err := checkText("id", h.ID, true); err != nil {
		return err
	}
	if h.TS.IsZero() {
		return missing("ts")
	}
	if _, off := h.TS.Zone(); off != 0 {
		// JSON would carry the offset, which the collector rejects.
		return newError(ReasonInvalidValue, "ts", "must be UTC, has offset "+h.TS.Format("-07:00"))
	}
	if h.TS.Unix() < minTSUnix {
		return newError(ReasonTimeRange, "ts", h.TS.Format(time.RFC3339Nano)+" is before 2020-01-01T00:00:00Z")
	}
	if limit := now.Add(maxAhead); h.TS.After(limit) {
		return newError(ReasonTimeRange, "ts", h.TS.Format(time.RFC3339Nano)+" is more than 24h after now ("+now.UTC().Format(time.RFC3339)+")")
	}
	return checkID("site", h.Site, true)
}

// checkTime requires a non-ts time to be set and within minTimeUnix..endTimeUnix.
func checkTime(field string, t time.Time) error {
	if t.IsZero() {
		return missing(field)
	}
	if s := t.Unix(); s < minTimeUnix || s >= endTimeUnix {
		return newError(ReasonTimeRange, field, t.UTC().Format(time.RFC3339Nano)+" is outside 2000-01-01..2099-12-31")
	}
	return nil
}

// checkNonNeg requires a finite number >= 0; InfluxDB cannot store NaN or
// infinities, and JSON cannot carry them either, so only Go callers hit this.
func checkNonNeg(field string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 1) {
		return newError(ReasonInvalidValue, field, formatFloat(v)+" is not a finite number >= 0")
	}
	return nil
}

func checkNonNegInt(field string, v int64) error {
	if v < 0 {
		return newError(ReasonInvalidValue, field, strconv.FormatInt(v, 10)+" is negative")
	}
	return nil
}

func checkEnum(field, v string, valid bool, allowed string) error {
	if v == "" {
		return missing(field)
	}
	if !valid {
		return newError(ReasonInvalidValue, field, quote(v)+" is not one of "+allowed)
	}
	return nil
}

// Level is how satisfied a citizen said they were. Which levels count as
// satisfied is configuration, not code.
type Level string

// Rating levels, from best to worst.
const (
	LevelVerySatisfied Level = "very_satisfied"
	LevelSatisfied     Level = "satisfied"
	LevelNeutral       Level = "neutral"
	LevelDissatisfied  Level = "dissatisfied"
)

const levelList = "very_satisfied, satisfied, neutral, dissatisfied"

// Valid reports whether l is one of the four levels.
func (l Level) Valid() bool {
	switch l {
	case LevelVerySatisfied, LevelSatisfied, LevelNeutral, LevelDissatisfied:
		return true
	}
	return false
}

// Step is a stage in a queue ticket's life.
type Step string

// Queue steps, in the order a ticket goes through them.
const (
	StepIssued   Step = "issued"
	StepCalled   Step = "called"
	StepStarted  Step = "started"
	StepFinished Step = "finished"
	StepNoShow   Step = "no_show"
)

const stepList = "issued, called, started, finished, no_show"

// Valid reports whether s is one of the five steps.
func (s Step) Valid() bool {
	switch s {
	case StepIssued, StepCalled, StepStarted, StepFinished, StepNoShow:
		return true
	}
	return false
}

// Zone is the part of a counter a camera watches.
type Zone string

// Zones: the official's seat, the citizen's seat, the waiting area.
const (
	ZoneStaff   Zone = "staff"
	ZoneCitizen Zone = "citizen"
	ZoneWaiting Zone = "waiting"
)

const zoneList = "staff, citizen, waiting"

// ZoneState is what an occupancy event says it knows of its zone.
type ZoneState string

// Zone states.
const (
	ZoneOccupied ZoneState = "occupied"
	ZoneVacant   ZoneState = "vacant"
	ZoneUnknown  ZoneState = "unknown"
)

const zoneStateList = "occupied, vacant, unknown"

// Valid reports whether s is a ZoneState.
func (s ZoneState) Valid() bool {
	return s == ZoneOccupied || s == ZoneVacant || s == ZoneUnknown
}

// Valid reports whether z is one of the three zones.
func (z Zone) Valid() bool {
	switch z {
	case ZoneStaff, ZoneCitizen, ZoneWaiting:
		return true
	}
	return false
}

// SessionSource says what a session was derived from.
type SessionSource string

// Session sources: camera occupancy alone, queue events alone, or both.
const (
	SourceCamera SessionSource = "camera"
	SourceQueue  SessionSource = "queue"
	SourceFused  SessionSource = "fused"
)

const sourceList = "camera, queue, fused"

// Valid reports whether s is one of the three sources.
func (s SessionSource) Valid() bool {
	switch s {
	case SourceCamera, SourceQueue, SourceFused:
		return true
	}
	return false
}

// Outcome is how a dossier's resolution compares with its due time; the
// plan target is early + on_time above 98 %.
type Outcome string

// Dossier outcomes.
const (
	OutcomeEarly  Outcome = "early"
	OutcomeOnTime Outcome = "on_time"
	OutcomeLate   Outcome = "late"
)

const outcomeList = "early, on_time, late"

// Valid reports whether o is one of the three outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeEarly, OutcomeOnTime, OutcomeLate:
		return true
	}
	return false
}

// Camera codecs accepted in Camera.Codec. The set is small because codec is
// a tag: an open set would let one odd camera add series forever.
const (
	CodecH264    = "h264"
	CodecH265    = "h265"
	CodecMJPEG   = "mjpeg"
	CodecUnknown = "unknown"
)

const codecList = "h264, h265, mjpeg, unknown"

func validCodec(c string) bool {
	switch c {
	case CodecH264, CodecH265, CodecMJPEG, CodecUnknown:
		return true
	}
	return false
}

// Agent statuses. StatusOffline is the agent's MQTT last will.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)

const statusList = "online, offline"

// Rating is a citizen's press of a rating button at a counter's kiosk.
type Rating struct {
	Header
	Counter string   `json:"counter"`
	Kiosk   string   `json:"kiosk"`
	Level   Level    `json:"level"`
	Reasons []string `json:"reasons,omitempty"`
	Session string   `json:"session,omitempty"`
	// PressID is the kiosk page's ID of the tap, PressSeq the button box's
	// count of the press: the keys a retry or a redelivery repeats, so the
	// agent can recognise one from its spool after a restart.
	PressID  string `json:"press_id,omitempty"`
	PressSeq int64  `json:"press_seq,omitempty"`
}

// Kind returns KindRating.
func (e *Rating) Kind() Kind { return KindRating }

// Validate checks e against the contract.
func (e *Rating) Validate(now time.Time) error {
	if err := e.Header.validate(now); err != nil {
		return err
	}
	if err := checkID("counter", e.Counter, true); err != nil {
		return err
	}
	if err := checkID("kiosk", e.Kiosk, true); err != nil {
		return err
	}
	if err := checkEnum("level", string(e.Level), e.Level.Valid(), levelList); err != nil {
		return err
	}
	if len(e.Reasons) > maxReasons {
		return newError(ReasonInvalidValue, "reasons", strconv.Itoa(len(e.Reasons))+" entries, more than "+strconv.Itoa(maxReasons))
	}
	for i, r := range e.Reasons {
		entry := "entry " + strconv.Itoa(i) + " "
		if r == "" {
			return newError(ReasonInvalidValue, "reasons", entry+"is empty")
		}
		if reason, msg := textProblem(r); reason != "" {
			return newError(reason, "reasons", entry+msg)
		}
		// The line protocol joins reasons with commas.
		if strings.IndexByte(r, ',') >= 0 {
			return newError(ReasonInvalidValue, "reasons", entry+quote(r)+" contains a comma")
		}
	}
	if err := checkText("session", e.Session, false); err != nil {
		return err
	}
	if e.PressID != "" && !ValidPressID(e.PressID) {
		return newError(ReasonInvalidValue, "press_id", quote(e.PressID)+" is not 8 to 64 characters of A-Z, a-z, 0-9, _ and -")
	}
	return checkNonNegInt("press_seq", e.PressSeq)
}

// ValidPressID reports whether s can be a kiosk page's press ID: 8 to 64
// characters of A-Z, a-z, 0-9, _ and -.
func ValidPressID(s string) bool { return ValidToken(s, 8, 64) }

// ValidToken reports whether s is an opaque ID safe to log and to put in an
// event: min to max characters of A-Z, a-z, 0-9, _ and -.
func ValidToken(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Queue is a step in a queue ticket's life, from the ticket system.
type Queue struct {
	Header
	Ticket  string `json:"ticket"`
	Service string `json:"service"`
	Counter string `json:"counter,omitempty"` // empty only for StepIssued: no counter is chosen yet
	Step    Step   `json:"step"`
	// Staff is the official logged in at the counter in the queue system,
	// when it says: who served, for the officials' figures (issue 17).
	Staff string `json:"staff,omitempty"`
}

// Kind returns KindQueue.
func (e *Queue) Kind() Kind { return KindQueue }

// Validate checks e against the contract.
func (e *Queue) Validate(now time.Time) error {
	if err := e.Header.validate(now); err != nil {
		return err
	}
	if err := checkText("ticket", e.Ticket, true); err != nil {
		return err
	}
	if err := checkID("service", e.Service, true); err != nil {
		return err
	}
	if err := checkEnum("step", string(e.Step), e.Step.Valid(), stepList); err != nil {
		return err
	}
	if e.Counter == "" && e.Step != StepIssued {
		return newError(ReasonMissing, "counter", "required unless step is issued")
	}
	if err := checkID("counter", e.Counter, false); err != nil {
		return err
	}
	if e.Staff != "" && e.Counter == "" {
		return newError(ReasonInvalidValue, "staff", "an official is logged in at a counter: staff needs counter")
	}
	return checkID("staff", e.Staff, false)
}

// Occupancy is a change of state of one zone at a counter, seen by a camera.
// Only this derived state leaves the agent, never an image.
type Occupancy struct {
	Header
	Camera   string `json:"camera"`
	Counter  string `json:"counter"`
	Zone     Zone   `json:"zone"`
	Occupied bool   `json:"occupied"`
	// Confidence is the detector's confidence in Occupied, in (0, 1]; 0
	// means not reported, and is left out of the JSON and the point so it
	// does not drag averages down.
	Confidence float64 `json:"confidence,omitempty"`
	// State says whether the zone's state is known: "unknown" when the
	// camera is down, tampered with, re-learning, the detector unsure or
	// the agent was not running (Occupied is then false and means
	// nothing). Empty, from agents older than the field, means known, as
	// Occupied says. Presence and absence are counted on known time only.
	State ZoneState `json:"state,omitempty"`
}

// Known reports whether e says what the zone holds (not unknown).
func (e *Occupancy) Known() bool { return e.State != ZoneUnknown }

// Kind returns KindOccupancy.
func (e *Occupancy) Kind() Kind { return KindOccupancy }

// Validate checks e against the contract. Whether Occupied was present in
// JSON is checked by Decode: a Go bool cannot be absent.
func (e *Occupancy) Validate(now time.Time) error {
	if err := e.Header.validate(now); err != nil {
		return err
	}
	if err := checkID("camera", e.Camera, true); err != nil {
		return err
	}
	if err := checkID("counter", e.Counter, true); err != nil {
		return err
	}
	if err := checkEnum("zone", string(e.Zone), e.Zone.Valid(), zoneList); err != nil {
		return err
	}
	if !(e.Confidence >= 0 && e.Confidence <= 1) {
		return newError(ReasonInvalidValue, "confidence", formatFloat(e.Confidence)+" is not in [0, 1]")
	}
	if e.State == "" {
		return nil
	}
	if err := checkEnum("state", string(e.State), e.State.Valid(), zoneStateList); err != nil {
		return err
	}
	if e.Occupied != (e.State == ZoneOccupied) {
		return newError(ReasonInvalidValue, "occupied", strconv.FormatBool(e.Occupied)+" disagrees with state "+strconv.Quote(string(e.State)))
	}
	return nil
}

// Session is one citizen served at a counter, from start to end.
type Session struct {
	Header
	Counter  string        `json:"counter"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	WaitS    float64       `json:"wait_s"`
	ServiceS float64       `json:"service_s"`
	Source   SessionSource `json:"source"`
	Ticket   string        `json:"ticket,omitempty"`
}

// Kind returns KindSession.
func (e *Session) Kind() Kind { return KindSession }

// Validate checks e against the contract.
func (e *Session) Validate(now time.Time) error {
	if err := e.Header.validate(now); err != nil {
		return err
	}
	if err := checkID("counter", e.Counter, true); err != nil {
		return err
	}
	if err := checkTime("start", e.Start); err != nil {
		return err
	}
	if err := checkTime("end", e.End); err != nil {
		return err
	}
	if e.End.Before(e.Start) {
		return newError(ReasonInvalidValue, "end", "is before start")
	}
	if err := checkNonNeg("wait_s", e.WaitS); err != nil {
		return err
	}
	if err := checkNonNeg("service_s", e.ServiceS); err != nil {
		return err
	}
	if err := checkEnum("source", string(e.Source), e.Source.Valid(), sourceList); err != nil {
		return err
	}
	return checkText("ticket", e.Ticket, false)
}

// Dossier is a dossier resolved by the one-stop-shop software.
type Dossier struct {
	Header
	Dossier   string    `json:"dossier"`
	Procedure string    `json:"procedure"`
	Received  time.Time `json:"received"`
	Due       time.Time `json:"due"`
	Resolved  time.Time `json:"resolved"`
	Outcome   Outcome   `json:"outcome"`
	// Official is who handled the dossier (their roster ID), when the
	// one-stop-shop software says (issue 17).
	Official string `json:"official,omitempty"`
}

// Kind returns KindDossier.
func (e *Dossier) Kind() Kind { return KindDossier }

// Validate checks e against the contract. Outcome is taken as sent, not
// recomputed from due and resolved: the one-stop-shop software decides what
// counts as on time (working days, extensions).
func (e *Dossier) Validate(now time.Time) error {
	if err := e.Header.validate(now); err != nil {
		return err
	}
	if err := checkText("dossier", e.Dossier, true); err != nil {
		return err
	}
	if err := checkText("procedure", e.Procedure, true); err != nil {
		return err
	}
	if err := checkTime("received", e.Received); err != nil {
		return err
	}
	if err := checkTime("due", e.Due); err != nil {
		return err
	}
	if err := checkTime("resolved", e.Resolved); err != nil {
		return err
	}
	if e.Resolved.Before(e.Received) {
		return newError(ReasonInvalidValue, "resolved", "is before received")
	}
	if err := checkID("official", e.Official, false); err != nil {
		return err
	}
	return checkEnum("outcome", string(e.Outcome), e.Outcome.Valid(), outcomeList)
}

// Camera is a camera's health, reported by the agent every 10 s. The
// numbers are always written, as 0 when the camera is down.
type Camera struct {
	Header
	Camera     string  `json:"camera"`
	Up         bool    `json:"up"`
	FPS        float64 `json:"fps"`
	Kbps       float64 `json:"kbps"`
	GopS       float64 `json:"gop_s"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	Codec      string  `json:"codec,omitempty"`
	Reconnects int64   `json:"reconnects"`
}

// Kind returns KindCamera.
func (e *Camera) Kind() Kind { return KindCamera }

// Validate checks e against the contract. Whether Up was present in JSON is
// checked by Decode.
func (e *Camera) Validate(now time.Time) error {
	if err := e.Header.validate(now); err != nil {
		return err
	}
	if err := checkID("camera", e.Camera, true); err != nil {
		return err
	}
	if err := checkNonNeg("fps", e.FPS); err != nil {
		return err
	}
	if err := checkNonNeg("kbps", e.Kbps); err != nil {
		return err
	}
	if err := checkNonNeg("gop_s", e.GopS); err != nil {
		return err
	}
	if err := checkNonNegInt("width", int64(e.Width)); err != nil {
		return err
	}
	if err := checkNonNegInt("height", int64(e.Height)); err != nil {
		return err
	}
	if e.Codec != "" && !validCodec(e.Codec) {
		return newError(ReasonInvalidValue, "codec", quote(e.Codec)+" is not one of "+codecList)
	}
	return checkNonNegInt("reconnects", e.Reconnects)
}

// Agent is an agent's status, published retained on
// pscm/v1/{site}/agent/{agent}; its MQTT last will is the same event with
// status offline.
type Agent struct {
	Header
	Agent      string  `json:"agent"`
	Status     string  `json:"status"`
	Version    string  `json:"version,omitempty"`
	SpoolDepth int64   `json:"spool_depth"`
	UptimeS    float64 `json:"uptime_s"`
}

// Kind returns KindAgent.
func (e *Agent) Kind() Kind { return KindAgent }

// Validate checks e against the contract.
func (e *Agent) Validate(now time.Time) error {
	if err := e.Header.validate(now); err != nil {
		return err
	}
	if err := checkID("agent", e.Agent, true); err != nil {
		return err
	}
	if err := checkEnum("status", e.Status, e.Status == StatusOnline || e.Status == StatusOffline, statusList); err != nil {
		return err
	}
	if err := checkText("version", e.Version, false); err != nil {
		return err
	}
	if err := checkNonNegInt("spool_depth", e.SpoolDepth); err != nil {
		return err
	}
	return checkNonNeg("uptime_s", e.UptimeS)
}

// CaseStep is the step of a citizen's case an event reports: the state the
// case reached, or an extension of its deadline.
type CaseStep string

// Case steps, in a case's life.
const (
	CaseReceived     CaseStep = "received"
	CaseAcknowledged CaseStep = "acknowledged"
	CaseAssigned     CaseStep = "assigned"
	CaseAnswered     CaseStep = "answered"
	CaseClosed       CaseStep = "closed"
	CaseTransferred  CaseStep = "transferred"
	CaseRejected     CaseStep = "rejected"
	CaseExtended     CaseStep = "extended"
)

var (
	caseSteps    = []string{"received", "acknowledged", "assigned", "answered", "closed", "transferred", "rejected", "extended"}
	caseKinds    = []string{"gop_y", "kien_nghi", "phan_anh", "khieu_nai", "to_cao"}
	caseChannels = []string{"kiosk", "in_person", "phone", "letter", "zalo", "hotline", "reception", "province"}
)

// maxExtendDays bounds one extension, in working days.
const maxExtendDays = 60

// Case is one step of a citizen's feedback or complaint case (issue 16):
// the counts and timings, never the citizen's message or phone, which stay
// in the case store.
type Case struct {
	Header
	Case     string   `json:"case"`
	CaseKind string   `json:"case_kind"`
	Channel  string   `json:"channel"`
	Step     CaseStep `json:"step"`
	Counter  string   `json:"counter,omitempty"`
	Service  string   `json:"service,omitempty"`
	// Received is when the case came in; Due its resolve deadline after
	// this step (zero while the rules set none yet).
	Received time.Time `json:"received"`
	Due      time.Time `json:"due,omitzero"`
	// Late: this step came after the deadline it answers.
	Late       bool `json:"late"`
	ExtendDays int  `json:"extend_days,omitempty"`
}

// Kind returns KindCase.
func (e *Case) Kind() Kind { return KindCase }

// Validate checks e against the contract. Whether Late was present in JSON
// is checked by Decode.
func (e *Case) Validate(now time.Time) error {
	if err := e.Header.validate(now); err != nil {
		return err
	}
	if err := checkText("case", e.Case, true); err != nil {
		return err
	}
	if err := checkEnum("case_kind", e.CaseKind, slices.Contains(caseKinds, e.CaseKind), strings.Join(caseKinds, ", ")); err != nil {
		return err
	}
	if err := checkEnum("channel", e.Channel, slices.Contains(caseChannels, e.Channel), strings.Join(caseChannels, ", ")); err != nil {
		return err
	}
	if err := checkEnum("step", string(e.Step), slices.Contains(caseSteps, string(e.Step)), strings.Join(caseSteps, ", ")); err != nil {
		return err
	}
	if err := checkID("counter", e.Counter, false); err != nil {
		return err
	}
	if err := checkID("service", e.Service, false); err != nil {
		return err
	}
	if err := checkTime("received", e.Received); err != nil {
		return err
	}
	if !e.Due.IsZero() {
		if err := checkTime("due", e.Due); err != nil {
			return err
		}
		if e.Due.Before(e.Received) {
			return newError(ReasonInvalidValue, "due", "is before received")
		}
	}
	switch {
	case e.Step == CaseExtended && (e.ExtendDays < 1 || e.ExtendDays > maxExtendDays):
		return newError(ReasonInvalidValue, "extend_days", "an extension needs 1 to "+strconv.Itoa(maxExtendDays)+" working days, got "+strconv.Itoa(e.ExtendDays))
	case e.Step != CaseExtended && e.ExtendDays != 0:
		return newError(ReasonInvalidValue, "extend_days", "only an extended step carries it")
	case e.Step == CaseExtended && e.Due.IsZero():
		return newError(ReasonMissing, "due", "an extension sets the new deadline")
	}
	return nil
}
