package schema

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// maxFuzzInput bounds the payloads the fuzzers try.
const maxFuzzInput = 512

// Seeds beyond testdata/fuzz: every example on its own topic, plus edge
// cases that steer the fuzzer towards each rule.

func FuzzDecodeMessage(f *testing.F) {
	for _, ex := range examples() {
		f.Add(ex.topic, []byte(ex.payload))
		f.Add(ex.topic+"/src", []byte(ex.payload))
	}
	f.Add("pscm/v1/anlao/queue", []byte(`{"id":"q1","ts":"2026-11-25T01:00:00Z","site":"anlao","ticket":"A013","service":"ho-tich","step":"issued"}`))
	f.Add("pscm/v1/anlao/rating", []byte(`{"id":"r\"1\\","ts":"2026-11-25T01:15:02Z","site":"anlao","counter":"c03","kiosk":"k03","level":"neutral","reasons":["chờ lâu","a<b&c"]}`))
	f.Add("pscm/v1/anlao/session", []byte(`{"id":"s1","ts":"2026-11-25T01:14:55Z","site":"anlao","counter":"c03","start":"2026-11-25T08:02:41.5+07:00","end":"2026-11-25T01:14:55Z","wait_s":1e-7,"service_s":0,"source":"camera"}`))
	f.Add("pscm/v1/anlao/camera", []byte(`{"id":"c1","ts":"2026-11-25T01:15:10Z","site":"anlao","camera":"cam2","up":false}`))
	f.Add("pscm/v1/anlao/kiosk/k03/press", []byte(`3`))
	f.Add("pscm/v1/anlao/agent", []byte(exampleOf(KindAgent).payload))
	f.Add("pscm/v1/anlao/rating", []byte(`{"id":1}`))
	f.Add("pscm/v1/anlao/rating", []byte("{\"id\":\"\xff\"}"))

	now := testNow()
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		// Real events are a few hundred bytes. A long input that finds new
		// coverage (often just a loop running more often) costs the fuzzer
		// seconds of minimization; the tables cover the size limit and
		// TestReencodedSize the largest valid events.
		if len(payload) > maxFuzzInput {
			return
		}
		ev, err := DecodeMessage(topic, payload, now)
		if err != nil {
			checkRejection(t, err, string(payload))
			return
		}
		line := ev.AppendLine(nil)
		if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("line has not exactly one newline, at the end: %q", line)
		}
		if !bytes.HasPrefix(line, []byte(string(ev.Kind())+",")) {
			t.Fatalf("line does not start with %q: %q", ev.Kind(), line)
		}
		p, err := parseLine(string(line))
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if err := checkPoint(p, ev.Kind()); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if again, err := DecodeMessage(topic, payload, now); err != nil || !bytes.Equal(again.AppendLine(nil), line) {
			t.Fatalf("second decode differs: %v", err)
		}
		if got := redecode(t, topic, ev).AppendLine(nil); !bytes.Equal(got, line) {
			t.Fatalf("re-encoded event gives another line:\n%q\n%q", got, line)
		}
	})
}

// checkRejection holds every error to the contract: an *Error whose reason
// is in the closed set, with a short message that never replays the input.
func checkRejection(t *testing.T, err error, input string) {
	t.Helper()
	if se := (*Error)(nil); !errors.As(err, &se) {
		t.Fatalf("error %T is not an *Error: %v", err, err)
	}
	if r := ReasonOf(err); !slices.Contains(Reasons(), r) {
		t.Fatalf("reason %q is not in Reasons(): %v", r, err)
	}
	checkErrorSize(t, err, input)
}

func FuzzParseTopic(f *testing.F) {
	for _, s := range []string{
		"pscm/v1/anlao/rating",
		"pscm/v1/anlao/agent/anlao-edge-1",
		"pscm/v1/anlao/kiosk/k03/press",
		"pscm/v1/anlao/camera/edge_2",
		"pscm/v1/anlao/agent",
		"pscm/v1/anlao/kiosk",
		"pscm/v1/anlao/rating/a/b",
		"pscm/v1/+/rating",
		"pscm/v1/anlao/#",
		"pscm/v1//rating",
		"pscm/v2/anlao/rating",
		"pscm/v1/Anlao/rating",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTopic(s)
		if err != nil {
			checkRejection(t, err, s)
			if r := ReasonOf(err); r != ReasonBadTopic && r != ReasonUnknownKind {
				t.Fatalf("reason %q for a topic", r)
			}
			return
		}
		// Parsing is strict, so an accepted topic is already canonical.
		if tp.String() != s {
			t.Fatalf("String() = %q, parsed from %q", tp.String(), s)
		}
		if again, err := ParseTopic(tp.String()); err != nil || again != tp {
			t.Fatalf("round trip: %+v %v, want %+v", again, err, tp)
		}
		if !ValidID(tp.Site) || !ValidID(tp.Source) && tp.Source != "" {
			t.Fatalf("accepted invalid IDs: %+v", tp)
		}
		if tp.Press {
			if tp.Kind != "kiosk" || tp.Source == "" {
				t.Fatalf("press topic %+v", tp)
			}
			return
		}
		if got := TopicFor(tp.Site, tp.Kind, tp.Source); got != s {
			t.Fatalf("TopicFor = %q, want %q", got, s)
		}
	})
}

func FuzzDecodePress(f *testing.F) {
	for _, s := range []string{"1", "9", " 3\n", "0", "10", "-1", "", `{"button":3,"seq":17}`, `{"button":3}`, `{"seq":1}`, `{"button":"3"}`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		// Presses are a few bytes; see FuzzDecodeMessage.
		if len(payload) > maxFuzzInput {
			return
		}
		p, err := DecodePress(payload)
		if err != nil {
			checkRejection(t, err, string(payload))
			return
		}
		if p.Button < 1 || p.Button > 9 {
			t.Fatalf("accepted button %d", p.Button)
		}
		if trimmed := strings.TrimSpace(string(payload)); !strings.HasPrefix(trimmed, "{") && p.Seq != 0 {
			t.Fatalf("bare press with seq %d", p.Seq)
		}
	})
}
