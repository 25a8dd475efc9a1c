package cases

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/workcal"
)

var ict = time.FixedZone("ICT", 7*3600)

func at(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, ict) }

func calendar(t *testing.T) *workcal.Calendar {
	t.Helper()
	c, err := workcal.Load(filepath.Join("..", "..", "configs", "calendar", "vn.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func intake(k Kind, received time.Time) Intake {
	return Intake{Number: "anlao-2025-000001", Code: "K7P2QX", Site: "anlao", Kind: k, Channel: ChannelKiosk,
		Received: received, Counter: "c03", Message: "Chờ quá lâu ở quầy 3, cán bộ không hướng dẫn.", Phone: "0912 345 678", By: "kiosk"}
}

// A reflection received on Tuesday 29/4/2025: acknowledged within 2
// working days (30/4, 1/5, 2/5 off, the weekend: Monday 5/5 and Tuesday
// 6/5) and answered within 15 (5-9/5, 12-16/5, 19-23/5: Friday 23/5).
func TestLifeOfAReflection(t *testing.T) {
	cal, r := calendar(t), DefaultRules()
	c, err := New(intake(KindReflection, at(2025, 4, 29, 10)), r, cal)
	if err != nil {
		t.Fatal(err)
	}
	if c.Phone != "0912345678" || c.State != StateReceived || len(c.History) != 1 {
		t.Fatalf("new case %+v", c)
	}
	if !c.AcknowledgeBy.Equal(at(2025, 5, 7, 0)) || !c.ResolveBy.Equal(at(2025, 5, 24, 0)) {
		t.Fatalf("deadlines %s, %s; want the end of 6/5 and of 23/5", c.AcknowledgeBy.In(ict), c.ResolveBy.In(ict))
	}
	if c.Deadline() != c.AcknowledgeBy {
		t.Fatal("a received case is held to acknowledging it")
	}
	st, err := StatusAt(c, at(2025, 5, 5, 9), r, cal)
	if err != nil || st.Standing != AtRisk || st.DaysLeft != 1 {
		t.Fatalf("on 5/5: %+v %v, want at risk, 1 day left", st, err)
	}
	steps := []Step{
		{To: StateAcknowledged, At: at(2025, 5, 5, 9), By: "lan"},
		{To: StateAssigned, At: at(2025, 5, 5, 10), By: "lan", Assignee: "Văn phòng HĐND & UBND"},
		{To: StateAnswered, At: at(2025, 5, 20, 15), By: "minh", Note: "Đã nhắc nhở cán bộ quầy 3; bổ sung hướng dẫn."},
		{To: StateClosed, At: at(2025, 5, 21, 8), By: "lan"},
	}
	for _, s := range steps {
		if c, err = Apply(c, s, r, cal); err != nil {
			t.Fatalf("%s: %v", s.To, err)
		}
	}
	if c.State != StateClosed || len(c.History) != 5 || c.Answer() != steps[2].Note || !c.HandledAt().Equal(steps[2].At.UTC()) {
		t.Fatalf("closed case %+v", c)
	}
	if st, _ := StatusAt(c, at(2025, 6, 30, 9), r, cal); st.Standing != OnTime {
		t.Fatalf("answered on 20/5 for 23/5: %+v", st)
	}
}

// A complaint's 30 working days run from its acceptance (thụ lý), and an
// extension adds working days with its reason.
func TestComplaintFromAcceptance(t *testing.T) {
	cal, r := calendar(t), DefaultRules()
	c, err := New(intake(KindComplaint, at(2025, 8, 25, 9)), r, cal)
	if err != nil {
		t.Fatal(err)
	}
	// 10 working days from Monday 25/8: 26-29 (4), 1-2/9 off, 3-5 (7),
	// 8-10 (10): the end of Wednesday 10/9. No resolve deadline yet.
	if !c.AcknowledgeBy.Equal(at(2025, 9, 11, 0)) || !c.ResolveBy.IsZero() {
		t.Fatalf("deadlines %s %s", c.AcknowledgeBy.In(ict), c.ResolveBy)
	}
	c, err = Apply(c, Step{To: StateAcknowledged, At: at(2025, 9, 3, 9), By: "lan"}, r, cal)
	if err != nil {
		t.Fatal(err)
	}
	// 30 working days from Wednesday 3/9: 4-5 (2), 8-12 (7), 15-19 (12),
	// 22-26 (17), 29/9-3/10 (22), 6-10/10 (27), 13-15/10 (30).
	if !c.ResolveBy.Equal(at(2025, 10, 16, 0)) {
		t.Fatalf("resolve by %s, want the end of 15/10", c.ResolveBy.In(ict))
	}
	c, err = Apply(c, Step{At: at(2025, 10, 10, 9), By: "lan", ExtendDays: 5, Note: "Cần xác minh thêm tại Sở Tài nguyên."}, r, cal)
	if err != nil {
		t.Fatal(err)
	}
	// Five more: 16, 17, 20, 21, 22/10.
	if !c.ResolveBy.Equal(at(2025, 10, 23, 0)) || c.State != StateAcknowledged || c.History[2].ExtendDays != 5 {
		t.Fatalf("extended to %s, state %s, history %+v", c.ResolveBy.In(ict), c.State, c.History)
	}
	st, err := StatusAt(c, at(2025, 10, 24, 9), r, cal)
	// The last day was Wednesday 22/10: Thursday 23 and Friday 24 late.
	if err != nil || st.Standing != Overdue || st.DaysLeft != 2 {
		t.Fatalf("on 24/10: %+v %v, want two working days overdue", st, err)
	}
	c, _ = Apply(c, Step{To: StateAssigned, At: at(2025, 10, 24, 10), By: "lan", Assignee: "Phó Chủ tịch UBND"}, r, cal)
	c, _ = Apply(c, Step{To: StateAnswered, At: at(2025, 10, 27, 10), By: "pct", Note: "Quyết định giải quyết khiếu nại lần đầu số 12/QĐ."}, r, cal)
	if st, _ := StatusAt(c, at(2025, 11, 1, 9), r, cal); st.Standing != Late {
		t.Fatalf("answered after its deadline: %+v", st)
	}
	// Each step keeps the deadline it left and whether it came late: no
	// deadline to resolve at receipt, 15/10 from the acceptance (on time,
	// 3/9 for 10/9), 22/10 from the extension, the answer late.
	want := []struct {
		due  time.Time
		late bool
	}{{time.Time{}, false}, {at(2025, 10, 16, 0), false}, {at(2025, 10, 23, 0), false}, {at(2025, 10, 23, 0), false}, {at(2025, 10, 23, 0), true}}
	if len(c.History) != len(want) {
		t.Fatalf("history %+v", c.History)
	}
	for i, w := range want {
		if h := c.History[i]; !h.Due.Equal(w.due) || h.Late != w.late {
			t.Errorf("step %d (%s): due %s late %v, want %s %v", i, h.To, h.Due.In(ict), h.Late, w.due.In(ict), w.late)
		}
	}
	late, err := New(intake(KindComplaint, at(2025, 8, 25, 9)), r, cal)
	if err != nil {
		t.Fatal(err)
	}
	// Accepted on 11/9, the day after its last day to be.
	if late, err = Apply(late, Step{To: StateAcknowledged, At: at(2025, 9, 11, 9), By: "lan"}, r, cal); err != nil || !late.History[1].Late {
		t.Errorf("accepted after 10/9: %+v %v, want late", late.History[1], err)
	}
}

func TestApplyRefuses(t *testing.T) {
	cal, r := calendar(t), DefaultRules()
	c, err := New(intake(KindFeedback, at(2025, 6, 2, 9)), r, cal)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		s    Step
		want string
	}{
		"skipping to answered": {Step{To: StateAnswered, At: at(2025, 6, 2, 10), By: "lan", Note: "x"}, "not allowed"},
		"closed at once":       {Step{To: StateClosed, At: at(2025, 6, 2, 10), By: "lan"}, "not allowed"},
		"assigned to nobody":   {Step{To: StateAssigned, At: at(2025, 6, 2, 10), By: "lan"}, "assignee"},
		"rejected without why": {Step{To: StateRejected, At: at(2025, 6, 2, 10), By: "lan"}, "reason"},
		"transferred nowhere":  {Step{To: StateTransferred, At: at(2025, 6, 2, 10), By: "lan"}, "body"},
		"by nobody":            {Step{To: StateAcknowledged, At: at(2025, 6, 2, 10)}, "by"},
		"before the last step": {Step{To: StateAcknowledged, At: at(2025, 6, 1, 10), By: "lan"}, "before"},
		"extension too long":   {Step{At: at(2025, 6, 2, 10), By: "lan", ExtendDays: 61, Note: "x"}, "extend_days"},
		"extension no reason":  {Step{At: at(2025, 6, 2, 10), By: "lan", ExtendDays: 3}, "reason"},
		"control characters":   {Step{To: StateRejected, At: at(2025, 6, 2, 10), By: "lan", Note: "spam\x1b[31m"}, "control character"},
		"bidi override":        {Step{To: StateRejected, At: at(2025, 6, 2, 10), By: "lan", Note: "a\u202eb"}, "control character"},
		"answer too long":      {Step{To: StateRejected, At: at(2025, 6, 2, 10), By: "lan", Note: strings.Repeat("ư", MaxNote+1)}, "at most"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Apply(c, tc.s, r, cal)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if got.State != c.State || len(got.History) != len(c.History) || got.ResolveBy != c.ResolveBy {
				t.Fatal("a refused step changed the case")
			}
		})
	}
	closed := c
	for _, s := range []Step{
		{To: StateRejected, At: at(2025, 6, 3, 9), By: "lan", Note: "Nội dung không thuộc thẩm quyền và không có thông tin."},
	} {
		if closed, err = Apply(closed, s, r, cal); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Apply(closed, Step{To: StateAssigned, At: at(2025, 6, 4, 9), By: "lan", Assignee: "x"}, r, cal); !errors.Is(err, ErrTransition) {
		t.Fatalf("a rejected case reopened: %v", err)
	}
	if len(c.History) != 1 {
		t.Fatal("Apply changed the history of the case it was given")
	}
}

func TestNewRefuses(t *testing.T) {
	cal, r := calendar(t), DefaultRules()
	for name, tc := range map[string]struct {
		mod  func(*Intake)
		want string
	}{
		"empty message":    {func(in *Intake) { in.Message = "   " }, "empty"},
		"too long":         {func(in *Intake) { in.Message = strings.Repeat("a", MaxMessage+1) }, "at most"},
		"invalid UTF-8":    {func(in *Intake) { in.Message = "a\xffb" }, "UTF-8"},
		"NUL":              {func(in *Intake) { in.Message = "a\x00b" }, "control character"},
		"kind":             {func(in *Intake) { in.Kind = "spam" }, "kind"},
		"channel":          {func(in *Intake) { in.Channel = "fax" }, "channel"},
		"phone":            {func(in *Intake) { in.Phone = "12345" }, "phone"},
		"foreign phone":    {func(in *Intake) { in.Phone = "+1 555 0100" }, "phone"},
		"no number":        {func(in *Intake) { in.Number = "" }, "required"},
		"no time":          {func(in *Intake) { in.Received = time.Time{} }, "received"},
		"outside calendar": {func(in *Intake) { in.Received = at(2027, 12, 20, 9) }, "outside"},
	} {
		t.Run(name, func(t *testing.T) {
			in := intake(KindReflection, at(2025, 6, 2, 9))
			tc.mod(&in)
			if _, err := New(in, r, cal); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	// Hostile but printable text is kept as sent: escaping is the job of
	// whatever shows it (HTML, the XLSX's formula guard).
	in := intake(KindReflection, at(2025, 6, 2, 9))
	in.Message = `<script>alert(1)</script> =HYPERLINK("x")`
	if c, err := New(in, r, cal); err != nil || c.Message != in.Message {
		t.Fatalf("printable text: %v %q", err, c.Message)
	}
}

func TestRulesValidate(t *testing.T) {
	if err := DefaultRules().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Rules){
		"missing kind":   func(r *Rules) { delete(r.Kinds, KindDenunciation) },
		"unknown kind":   func(r *Rules) { r.Kinds["spam"] = Rule{} },
		"negative":       func(r *Rules) { r.Kinds[KindFeedback] = Rule{ResolveDays: -1} },
		"ack after":      func(r *Rules) { r.Kinds[KindFeedback] = Rule{AcknowledgeDays: 20, ResolveDays: 15} },
		"complex sooner": func(r *Rules) { r.Kinds[KindComplaint] = Rule{ResolveDays: 30, ComplexResolveDays: 20} },
		"warn":           func(r *Rules) { r.WarnDays = 31 },
	} {
		r := DefaultRules()
		kinds := map[Kind]Rule{}
		for k, v := range r.Kinds {
			kinds[k] = v
		}
		r.Kinds = kinds
		mod(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A period's summary: received by kind and channel, handled on time or
// late by each step's own record, what was open and overdue at the end,
// cases received before the period and handled in it counted as handled.
func TestSummary(t *testing.T) {
	cal, r := calendar(t), DefaultRules()
	mk := func(k Kind, ch Channel, received time.Time, steps ...Step) Case {
		in := intake(k, received)
		in.Channel = ch
		c, err := New(in, r, cal)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if c, err = Apply(c, s, r, cal); err != nil {
				t.Fatalf("%s: %v", s.To, err)
			}
		}
		return c
	}
	from, to := at(2025, 6, 1, 0), at(2025, 7, 1, 0)
	all := []Case{
		// Received in May, answered on time in June: handled, not received.
		mk(KindReflection, ChannelKiosk, at(2025, 5, 26, 9), Step{To: StateAssigned, At: at(2025, 5, 27, 9), By: "lan", Assignee: "VP"},
			Step{To: StateAnswered, At: at(2025, 6, 3, 9), By: "lan", Note: "ok"}),
		// Received in June and answered late (15 working days from 2/6 end on 20/6).
		mk(KindFeedback, ChannelPhone, at(2025, 6, 2, 9), Step{To: StateAssigned, At: at(2025, 6, 3, 9), By: "lan", Assignee: "VP"},
			Step{To: StateAnswered, At: at(2025, 6, 25, 9), By: "lan", Note: "late"}),
		// Received in June, transferred on time.
		mk(KindRecommendation, ChannelLetter, at(2025, 6, 10, 9), Step{To: StateTransferred, At: at(2025, 6, 11, 9), By: "lan", Note: "Sở Nội vụ"}),
		// Received in June, still open at the end and past its 2 days to acknowledge.
		mk(KindFeedback, ChannelKiosk, at(2025, 6, 20, 9)),
		// Received in June, answered in July: open at the end, not overdue.
		mk(KindComplaint, ChannelReception, at(2025, 6, 27, 9), Step{To: StateAcknowledged, At: at(2025, 6, 30, 9), By: "lan"},
			Step{To: StateAssigned, At: at(2025, 7, 2, 9), By: "lan", Assignee: "PCT"}, Step{To: StateAnswered, At: at(2025, 7, 3, 9), By: "pct", Note: "QĐ"}),
		// Received in July: nothing.
		mk(KindFeedback, ChannelKiosk, at(2025, 7, 2, 9)),
	}
	s := NewSummary()
	for _, c := range all {
		s.Add(c, from, to)
	}
	want := Summary{Received: 4, Handled: 3, OnTime: 2, Late: 1, Transferred: 1, Open: 2, Overdue: 1}
	got := s
	got.ByKind, got.ByChannel = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary %+v, want %+v", got, want)
	}
	if s.ByKind[KindFeedback] != 2 || s.ByKind[KindComplaint] != 1 || s.ByChannel[ChannelKiosk] != 1 || s.ByChannel[ChannelLetter] != 1 {
		t.Errorf("by kind %v, by channel %v", s.ByKind, s.ByChannel)
	}
	m := NewSummary()
	m.Merge(s)
	m.Merge(s)
	if m.Received != 8 || m.ByKind[KindFeedback] != 4 {
		t.Errorf("merged %+v", m)
	}
}
