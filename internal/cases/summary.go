package cases

import "time"

// Summary is a period's cases for the report (issue 16): what came in, what
// was handled and how, what was left open at the end. The plan's target
// is every legitimate case handled on time.
type Summary struct {
	// Received in the period, in all and by kind and channel.
	Received  int             `json:"received"`
	ByKind    map[Kind]int    `json:"by_kind"`
	ByChannel map[Channel]int `json:"by_channel"`
	// Handled in the period (answered, transferred or rejected), on time
	// or late by the step's own record; Transferred and Rejected are among
	// them.
	Handled     int `json:"handled"`
	OnTime      int `json:"on_time"`
	Late        int `json:"late"`
	Transferred int `json:"transferred"`
	Rejected    int `json:"rejected"`
	// Open at the period's end, and of those past their deadline then.
	Open    int `json:"open"`
	Overdue int `json:"overdue"`
}

// NewSummary returns an empty summary.
func NewSummary() Summary {
	return Summary{ByKind: map[Kind]int{}, ByChannel: map[Channel]int{}}
}

// Add counts c, with its whole history, into the period [from, to).
func (s *Summary) Add(c Case, from, to time.Time) {
	if !c.Received.Before(to) {
		return
	}
	if !c.Received.Before(from) {
		s.Received++
		s.ByKind[c.Kind]++
		s.ByChannel[c.Channel]++
	}
	// The case as it stood at the period's end: its last step before it.
	var last *Transition
	var handled *Transition
	for i := range c.History {
		t := &c.History[i]
		if !t.At.Before(to) {
			break
		}
		last = t
		if handled == nil && (t.To == StateAnswered || t.To == StateTransferred || t.To == StateRejected) && t.ExtendDays == 0 {
			handled = t
		}
	}
	if last == nil {
		return
	}
	if handled != nil {
		if !handled.At.Before(from) {
			s.Handled++
			if handled.Late {
				s.Late++
			} else {
				s.OnTime++
			}
			switch handled.To {
			case StateTransferred:
				s.Transferred++
			case StateRejected:
				s.Rejected++
			}
		}
		return
	}
	s.Open++
	due := last.Due
	if last.To == StateReceived && !c.AcknowledgeBy.IsZero() && (due.IsZero() || c.AcknowledgeBy.Before(due)) {
		due = c.AcknowledgeBy
	}
	if !due.IsZero() && !due.After(to) {
		s.Overdue++
	}
}

// Merge adds o's counts to s.
func (s *Summary) Merge(o Summary) {
	s.Received += o.Received
	for k, n := range o.ByKind {
		s.ByKind[k] += n
	}
	for c, n := range o.ByChannel {
		s.ByChannel[c] += n
	}
	s.Handled += o.Handled
	s.OnTime += o.OnTime
	s.Late += o.Late
	s.Transferred += o.Transferred
	s.Rejected += o.Rejected
	s.Open += o.Open
	s.Overdue += o.Overdue
}
