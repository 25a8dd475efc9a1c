package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExamples(t *testing.T) {
	for _, ex := range examples() {
		t.Run(string(ex.kind), func(t *testing.T) {
			ev, err := DecodeMessage(ex.topic, []byte(ex.payload), testNow())
			if err != nil {
				t.Fatalf("DecodeMessage: %v", err)
			}
			if ev.Kind() != ex.kind {
				t.Errorf("Kind() = %q, want %q", ev.Kind(), ex.kind)
			}
			if got := string(ev.AppendLine(nil)); got != ex.line {
				t.Errorf("AppendLine:\n got %q\nwant %q", got, ex.line)
			}
			// Appending keeps what dst held, so the collector can batch.
			if got := string(ev.AppendLine([]byte("x\n"))); got != "x\n"+ex.line {
				t.Errorf("AppendLine onto a batch: got %q", got)
			}
			again := redecode(t, ex.topic, ev)
			if got := string(again.AppendLine(nil)); got != ex.line {
				t.Errorf("after json.Marshal and decoding again:\n got %q\nwant %q", got, ex.line)
			}
		})
	}
}

// redecode encodes ev as a publisher would and decodes it again.
func redecode(t testing.TB, topic string, ev Event) Event {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// json.Marshal's HTML escaping can multiply the size of text holding
	// <, > or &; publishers should turn it off like this.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		t.Fatalf("encode %T: %v", ev, err)
	}
	again, err := DecodeMessage(topic, buf.Bytes(), testNow())
	if err != nil {
		t.Fatalf("decode re-encoded %s: %v", buf.Bytes(), err)
	}
	return again
}

func TestDecodeAccepts(t *testing.T) {
	pad := func(k Kind, size int) string {
		// Grow the example with an unknown key to exactly size bytes.
		base := edit(k, "pad", `""`)
		return edit(k, "pad", `"`+strings.Repeat("x", size-len(base))+`"`)
	}
	tests := []struct {
		name    string
		topic   string
		payload string
		line    string
	}{
		{
			name:    "unknown keys are ignored",
			topic:   "pscm/v1/anlao/rating",
			payload: edit(KindRating, "mood", `{"nested":[1,"x",null],"deep":{"a":true}}`),
			line:    exampleOf(KindRating).line,
		},
		{
			name:    "payload of exactly MaxPayload bytes",
			topic:   "pscm/v1/anlao/rating",
			payload: pad(KindRating, MaxPayload),
			line:    exampleOf(KindRating).line,
		},
		{
			name:    "null optional values count as absent",
			topic:   "pscm/v1/anlao/rating",
			payload: `{"id":"r1","ts":"2026-11-25T01:15:02Z","site":"anlao","counter":"c03","kiosk":"k03","level":"neutral","reasons":null,"session":null}`,
			line:    "rating,counter=c03,kiosk=k03,level=neutral,site=anlao id=\"r1\" 1795569302000000000\n",
		},
		{
			name:    "reasons joined, strings escaped",
			topic:   "pscm/v1/anlao/rating",
			payload: `{"id":"r\"1\\","ts":"2026-11-25T01:15:02Z","site":"anlao","counter":"c03","kiosk":"k03","level":"dissatisfied","reasons":["chờ lâu","thái độ"],"session":"s 1"}`,
			line:    "rating,counter=c03,kiosk=k03,level=dissatisfied,site=anlao id=\"r\\\"1\\\\\",reasons=\"chờ lâu,thái độ\",session=\"s 1\" 1795569302000000000\n",
		},
		{
			name:    "queue issued without counter",
			topic:   "pscm/v1/anlao/queue/qms",
			payload: `{"id":"q1","ts":"2026-11-25T01:00:00Z","site":"anlao","ticket":"A013","service":"ho-tich","step":"issued"}`,
			line:    "queue,service=ho-tich,site=anlao,step=issued id=\"q1\",ticket=\"A013\" 1795568400000000000\n",
		},
		{
			name:    "occupancy false without confidence",
			topic:   "pscm/v1/anlao/occupancy",
			payload: `{"id":"o1","ts":"2026-11-25T01:00:00Z","site":"anlao","camera":"cam1","counter":"c03","zone":"staff","occupied":false}`,
			line:    "occupancy,camera=cam1,counter=c03,site=anlao,zone=staff id=\"o1\",occupied=false 1795568400000000000\n",
		},
		{
			name:    "occupancy unknown: no data, occupied false",
			topic:   "pscm/v1/anlao/occupancy",
			payload: `{"id":"o1","ts":"2026-11-25T01:00:00Z","site":"anlao","camera":"cam1","counter":"c03","zone":"staff","occupied":false,"state":"unknown"}`,
			line:    "occupancy,camera=cam1,counter=c03,site=anlao,zone=staff id=\"o1\",occupied=false,state=\"unknown\" 1795568400000000000\n",
		},
		{
			name:    "occupancy confidence 0 means not reported",
			topic:   "pscm/v1/anlao/occupancy",
			payload: `{"id":"o1","ts":"2026-11-25T01:00:00Z","site":"anlao","camera":"cam1","counter":"c03","zone":"waiting","occupied":true,"confidence":0}`,
			line:    "occupancy,camera=cam1,counter=c03,site=anlao,zone=waiting id=\"o1\",occupied=true 1795568400000000000\n",
		},
		{
			name:    "session times with offsets are written in UTC, nanoseconds kept",
			topic:   "pscm/v1/anlao/session",
			payload: `{"id":"s1","ts":"2026-11-25T01:14:55.000000001Z","site":"anlao","counter":"c03","start":"2026-11-25T08:02:41.5+07:00","end":"2026-11-25T01:14:55.000000001Z","wait_s":0,"service_s":733.500000001,"source":"camera"}`,
			line:    "session,counter=c03,site=anlao,source=camera end=\"2026-11-25T01:14:55.000000001Z\",id=\"s1\",service_s=733.500000001,start=\"2026-11-25T01:02:41.5Z\",wait_s=0 1795569295000000001\n",
		},
		{
			name:    "fraction beyond nanoseconds is cut, -00:00 is UTC",
			topic:   "pscm/v1/anlao/session",
			payload: `{"id":"s1","ts":"2026-11-25T01:14:55.1234567891Z","site":"anlao","counter":"c03","start":"2026-11-25T01:02:41.1234567891-00:00","end":"2026-11-26T01:14:55+23:59","wait_s":1,"service_s":2,"source":"queue"}`,
			line:    "session,counter=c03,site=anlao,source=queue end=\"2026-11-25T01:15:55Z\",id=\"s1\",service_s=2,start=\"2026-11-25T01:02:41.123456789Z\",wait_s=1 1795569295123456789\n",
		},
		{
			name:    "camera down with only the required keys",
			topic:   "pscm/v1/anlao/camera/anlao-edge-1",
			payload: `{"id":"c1","ts":"2026-11-25T01:15:10Z","site":"anlao","camera":"cam2","up":false,"reconnects":7}`,
			line:    "camera,camera=cam2,site=anlao fps=0,gop_s=0,height=0i,id=\"c1\",kbps=0,reconnects=7i,up=false,width=0i 1795569310000000000\n",
		},
		{
			name:    "camera extreme numbers",
			topic:   "pscm/v1/anlao/camera",
			payload: `{"id":"c1","ts":"2026-11-25T01:15:10Z","site":"anlao","camera":"cam2","up":true,"fps":1e-7,"kbps":1e300,"gop_s":-0,"width":0,"height":0,"reconnects":9223372036854775807}`,
			line:    "camera,camera=cam2,site=anlao fps=1e-07,gop_s=0,height=0i,id=\"c1\",kbps=1e+300,reconnects=9223372036854775807i,up=true,width=0i 1795569310000000000\n",
		},
		{
			name:    "agent last will",
			topic:   "pscm/v1/anlao/agent/anlao-edge-1",
			payload: `{"id":"will-1","ts":"2026-11-25T00:00:00Z","site":"anlao","agent":"anlao-edge-1","status":"offline"}`,
			line:    "agent,agent=anlao-edge-1,site=anlao id=\"will-1\",spool_depth=0i,status=\"offline\",uptime_s=0 1795564800000000000\n",
		},
		{
			name:    "ts at the earliest accepted instant",
			topic:   "pscm/v1/anlao/queue",
			payload: edit(KindQueue, "ts", `"2020-01-01T00:00:00Z"`),
			line:    "queue,counter=c03,service=ho-tich,site=anlao,step=called id=\"01JDX8K3Q7A2\",ticket=\"A012\" 1577836800000000000\n",
		},
		{
			name:    "ts exactly 24h ahead",
			topic:   "pscm/v1/anlao/queue",
			payload: edit(KindQueue, "ts", `"2026-11-26T02:00:00Z"`),
			line:    "queue,counter=c03,service=ho-tich,site=anlao,step=called id=\"01JDX8K3Q7A2\",ticket=\"A012\" 1795658400000000000\n",
		},
		{
			name:    "longest IDs and texts",
			topic:   "pscm/v1/" + strings.Repeat("s", 63) + "/queue",
			payload: `{"id":"` + strings.Repeat("i", 128) + `","ts":"2026-11-25T01:00:00Z","site":"` + strings.Repeat("s", 63) + `","ticket":"` + strings.Repeat("t", 128) + `","service":"` + strings.Repeat("v", 63) + `","counter":"9-_","step":"no_show"}`,
			line:    "queue,counter=9-_,service=" + strings.Repeat("v", 63) + ",site=" + strings.Repeat("s", 63) + ",step=no_show id=\"" + strings.Repeat("i", 128) + "\",ticket=\"" + strings.Repeat("t", 128) + "\" 1795568400000000000\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeMessage(tt.topic, []byte(tt.payload), testNow())
			if err != nil {
				t.Fatalf("DecodeMessage: %v", err)
			}
			if got := string(ev.AppendLine(nil)); got != tt.line {
				t.Errorf("AppendLine:\n got %q\nwant %q", got, tt.line)
			}
			if got := string(redecode(t, tt.topic, ev).AppendLine(nil)); got != tt.line {
				t.Errorf("after re-encoding:\n got %q\nwant %q", got, tt.line)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	rating := exampleOf(KindRating).payload
	long := strings.Repeat("x", 200)
	tests := []struct {
		name    string
		topic   string // "" means the example's topic for kind
		kind    Kind
		payload string
		reason  Reason
		field   string
	}{
		// Payload as a whole.
		{"over the limit", "", KindRating, edit(KindRating, "pad", `"`+strings.Repeat("x", MaxPayload)+`"`), ReasonTooLarge, ""},
		{"too large beats a bad topic", "nope", KindRating, strings.Repeat(" ", MaxPayload+1), ReasonTooLarge, ""},
		{"invalid UTF-8 in a string", "", KindRating, strings.Replace(rating, "s-8812", "s-\xff", 1), ReasonInvalidUTF8, ""},
		{"invalid UTF-8 in an unknown key", "", KindRating, "{\"\xc3\":1," + rating[1:], ReasonInvalidUTF8, ""},
		{"truncated JSON", "", KindRating, rating[:40], ReasonMalformed, ""},
		{"empty payload", "", KindRating, "", ReasonMalformed, ""},
		{"trailing data", "", KindRating, rating + ` {}`, ReasonMalformed, ""},
		{"trailing garbage", "", KindRating, rating + `x`, ReasonMalformed, ""},
		{"null", "", KindRating, `null`, ReasonMalformed, ""},
		{"array", "", KindRating, `[` + rating + `]`, ReasonMalformed, ""},
		{"string", "", KindRating, `"rating"`, ReasonMalformed, ""},
		{"single quotes", "", KindRating, `{'id':'x'}`, ReasonMalformed, ""},

		// Wrong JSON types name the key.
		{"level is a number", "", KindRating, edit(KindRating, "level", `1`), ReasonWrongType, "level"},
		{"ts is a number", "", KindRating, edit(KindRating, "ts", `1795569302`), ReasonWrongType, "ts"},
		{"id is an object", "", KindRating, edit(KindRating, "id", `{}`), ReasonWrongType, "id"},
		{"site is an array", "", KindRating, edit(KindRating, "site", `["anlao"]`), ReasonWrongType, "site"},
		{"reasons is a string", "", KindRating, edit(KindRating, "reasons", `"slow"`), ReasonWrongType, "reasons"},
		{"reasons holds a number", "", KindRating, edit(KindRating, "reasons", `["slow",1]`), ReasonWrongType, "reasons"},
		{"occupied is a string", "", KindOccupancy, edit(KindOccupancy, "occupied", `"true"`), ReasonWrongType, "occupied"},
		{"confidence is a string", "", KindOccupancy, edit(KindOccupancy, "confidence", `"0.9"`), ReasonWrongType, "confidence"},
		{"wait_s is a string", "", KindSession, edit(KindSession, "wait_s", `"612"`), ReasonWrongType, "wait_s"},
		{"start is a number", "", KindSession, edit(KindSession, "start", `0`), ReasonWrongType, "start"},
		{"width is fractional", "", KindCamera, edit(KindCamera, "width", `1920.5`), ReasonWrongType, "width"},
		{"reconnects overflows", "", KindCamera, edit(KindCamera, "reconnects", `1e30`), ReasonWrongType, "reconnects"},
		{"up is a number", "", KindCamera, edit(KindCamera, "up", `1`), ReasonWrongType, "up"},
		{"fps overflows float64", "", KindCamera, edit(KindCamera, "fps", `1e999`), ReasonWrongType, "fps"},
		{"spool_depth is a bool", "", KindAgent, edit(KindAgent, "spool_depth", `false`), ReasonWrongType, "spool_depth"},

		{"dossier official not an ID", "", KindDossier, edit(KindDossier, "official", `"Nguyễn Lan"`), ReasonInvalidID, "official"},

		// A citizen's case step (issue 16).
		{"case without late", "", KindCase, edit(KindCase, "late", ""), ReasonMissing, "late"},
		{"case late is a string", "", KindCase, edit(KindCase, "late", `"no"`), ReasonWrongType, "late"},
		{"case without received", "", KindCase, edit(KindCase, "received", ""), ReasonMissing, "received"},
		{"case without number", "", KindCase, edit(KindCase, "case", ""), ReasonMissing, "case"},
		{"case kind unknown", "", KindCase, edit(KindCase, "case_kind", `"than_phien"`), ReasonInvalidValue, "case_kind"},
		{"case channel unknown", "", KindCase, edit(KindCase, "channel", `"email"`), ReasonInvalidValue, "channel"},
		{"case due before received", "", KindCase, edit(KindCase, "due", `"2026-11-19T00:00:00Z"`), ReasonInvalidValue, "due"},
		{"case extended by nothing", "", KindCase, edit(KindCase, "step", `"extended"`), ReasonInvalidValue, "extend_days"},
		{"case extended by too much", "", KindCase, editPayload(edit(KindCase, "step", `"extended"`), "extend_days", "61"), ReasonInvalidValue, "extend_days"},
		{"case extended without a deadline", "", KindCase, editPayload(editPayload(edit(KindCase, "step", `"extended"`), "extend_days", "5"), "due", ""), ReasonMissing, "due"},
		{"case extension on another step", "", KindCase, edit(KindCase, "extend_days", "5"), ReasonInvalidValue, "extend_days"},
		{"case counter not an ID", "", KindCase, edit(KindCase, "counter", `"Quầy 3"`), ReasonInvalidID, "counter"},
		{"case staff key", "", KindCase, edit(KindCase, "staff", `"lan"`), ReasonInvalidValue, "staff"},

		// Topics.
		{"unknown kind topic", "pscm/v1/anlao/ratings", KindRating, rating, ReasonUnknownKind, "topic"},
		{"kind in capitals", "pscm/v1/anlao/Rating", KindRating, rating, ReasonUnknownKind, "topic"},
		{"wrong prefix", "pscm/v2/anlao/rating", KindRating, rating, ReasonBadTopic, "topic"},
		{"press topic", "pscm/v1/anlao/kiosk/k03/press", KindRating, `3`, ReasonBadTopic, "topic"},
		{"agent topic without source", "pscm/v1/anlao/agent", KindAgent, exampleOf(KindAgent).payload, ReasonBadTopic, "topic"},
		{"topic site differs", "pscm/v1/other/rating", KindRating, rating, ReasonSiteMismatch, "site"},
		{"agent topic source differs", "pscm/v1/anlao/agent/anlao-edge-2", KindAgent, exampleOf(KindAgent).payload, ReasonSiteMismatch, "agent"},

		// Enums.
		{"unknown level", "", KindRating, edit(KindRating, "level", `"happy"`), ReasonInvalidValue, "level"},
		{"level in capitals", "", KindRating, edit(KindRating, "level", `"Satisfied"`), ReasonInvalidValue, "level"},
		{"unknown step", "", KindQueue, edit(KindQueue, "step", `"served"`), ReasonInvalidValue, "step"},
		{"unknown zone", "", KindOccupancy, edit(KindOccupancy, "zone", `"desk"`), ReasonInvalidValue, "zone"},
		{"unknown source", "", KindSession, edit(KindSession, "source", `"manual"`), ReasonInvalidValue, "source"},
		{"unknown outcome", "", KindDossier, edit(KindDossier, "outcome", `"in_time"`), ReasonInvalidValue, "outcome"},
		{"unknown codec", "", KindCamera, edit(KindCamera, "codec", `"vp8"`), ReasonInvalidValue, "codec"},
		{"unknown status", "", KindAgent, edit(KindAgent, "status", `"busy"`), ReasonInvalidValue, "status"},

		// IDs.
		{"counter with a space", "", KindRating, edit(KindRating, "counter", `"c 03"`), ReasonInvalidID, "counter"},
		{"counter with a comma", "", KindRating, edit(KindRating, "counter", `"c,03"`), ReasonInvalidID, "counter"},
		{"counter with an equals sign", "", KindRating, edit(KindRating, "counter", `"c=03"`), ReasonInvalidID, "counter"},
		{"kiosk with a quote", "", KindRating, edit(KindRating, "kiosk", `"k\"03"`), ReasonInvalidID, "kiosk"},
		{"kiosk with a backslash", "", KindRating, edit(KindRating, "kiosk", `"k\\03"`), ReasonInvalidID, "kiosk"},
		{"kiosk with a newline", "", KindRating, edit(KindRating, "kiosk", `"k03\n"`), ReasonInvalidID, "kiosk"},
		{"camera of 200 characters", "", KindCamera, edit(KindCamera, "camera", `"`+long+`"`), ReasonInvalidID, "camera"},
		{"camera of 64 characters", "", KindCamera, edit(KindCamera, "camera", `"`+strings.Repeat("c", 64)+`"`), ReasonInvalidID, "camera"},
		{"service in capitals", "", KindQueue, edit(KindQueue, "service", `"HoTich"`), ReasonInvalidID, "service"},
		{"service with a slash", "", KindQueue, edit(KindQueue, "service", `"ho/tich"`), ReasonInvalidID, "service"},
		{"counter starting with a dash", "", KindSession, edit(KindSession, "counter", `"-c03"`), ReasonInvalidID, "counter"},
		{"counter in Vietnamese", "", KindOccupancy, edit(KindOccupancy, "counter", `"quầy-3"`), ReasonInvalidID, "counter"},
		{"site in capitals", "pscm/v1/anlao/rating", KindRating, edit(KindRating, "site", `"Anlao"`), ReasonInvalidID, "site"},
		{"agent with a space", "pscm/v1/anlao/agent/anlao-edge-1", KindAgent, edit(KindAgent, "agent", `"anlao edge"`), ReasonInvalidID, "agent"},

		// Times.
		{"ts more than a day ahead", "", KindRating, edit(KindRating, "ts", `"2026-11-26T02:00:00.000000001Z"`), ReasonTimeRange, "ts"},
		{"ts before 2020", "", KindRating, edit(KindRating, "ts", `"2019-12-31T23:59:59.999999999Z"`), ReasonTimeRange, "ts"},
		{"ts with +07:00 offset", "", KindRating, edit(KindRating, "ts", `"2026-11-25T08:15:02+07:00"`), ReasonInvalidValue, "ts"},
		{"ts with +00:00 offset", "", KindRating, edit(KindRating, "ts", `"2026-11-25T01:15:02+00:00"`), ReasonInvalidValue, "ts"},
		{"ts with lowercase z", "", KindRating, edit(KindRating, "ts", `"2026-11-25T01:15:02z"`), ReasonInvalidValue, "ts"},
		{"ts with a space", "", KindRating, edit(KindRating, "ts", `"2026-11-25 01:15:02Z"`), ReasonInvalidValue, "ts"},
		{"ts without zone", "", KindRating, edit(KindRating, "ts", `"2026-11-25T01:15:02"`), ReasonInvalidValue, "ts"},
		{"ts hour 24", "", KindRating, edit(KindRating, "ts", `"2026-11-25T24:00:00Z"`), ReasonInvalidValue, "ts"},
		{"ts with a comma before the fraction", "", KindRating, edit(KindRating, "ts", `"2026-11-25T01:15:02,5Z"`), ReasonInvalidValue, "ts"},
		{"ts with an empty fraction", "", KindRating, edit(KindRating, "ts", `"2026-11-25T01:15:02.Z"`), ReasonInvalidValue, "ts"},
		{"ts with a one-digit hour", "", KindRating, edit(KindRating, "ts", `"2026-11-25T1:15:02Z"`), ReasonInvalidValue, "ts"},
		{"ts on 30 February", "", KindRating, edit(KindRating, "ts", `"2026-02-30T01:15:02Z"`), ReasonInvalidValue, "ts"},
		{"start with offset +24:00", "", KindSession, edit(KindSession, "start", `"2026-11-25T01:02:41+24:00"`), ReasonInvalidValue, "start"},
		{"start with offset minutes 60", "", KindSession, edit(KindSession, "start", `"2026-11-25T01:02:41+07:60"`), ReasonInvalidValue, "start"},
		{"start with a short offset", "", KindSession, edit(KindSession, "start", `"2026-11-25T01:02:41+07"`), ReasonInvalidValue, "start"},
		{"ts as Unix seconds text", "", KindRating, edit(KindRating, "ts", `"1795569302"`), ReasonInvalidValue, "ts"},
		{"start not RFC 3339", "", KindSession, edit(KindSession, "start", `"25/11/2026 08:02"`), ReasonInvalidValue, "start"},
		{"start before 2000", "", KindSession, edit(KindSession, "start", `"1999-12-31T23:59:59Z"`), ReasonTimeRange, "start"},
		{"due after 2099", "", KindDossier, edit(KindDossier, "due", `"2100-01-01T00:00:00Z"`), ReasonTimeRange, "due"},
		{"end before start", "", KindSession, edit(KindSession, "end", `"2026-11-25T01:02:40Z"`), ReasonInvalidValue, "end"},
		{"resolved before received", "", KindDossier, edit(KindDossier, "resolved", `"2026-11-19T00:00:00Z"`), ReasonInvalidValue, "resolved"},

		// Numbers.
		{"unknown yet occupied", "", KindOccupancy, edit(KindOccupancy, "state", `"unknown"`), ReasonInvalidValue, "occupied"},
		{"vacant yet occupied", "", KindOccupancy, edit(KindOccupancy, "state", `"vacant"`), ReasonInvalidValue, "occupied"},
		{"state not a state", "", KindOccupancy, edit(KindOccupancy, "state", `"asleep"`), ReasonInvalidValue, "state"},
		{"confidence above 1", "", KindOccupancy, edit(KindOccupancy, "confidence", `1.01`), ReasonInvalidValue, "confidence"},
		{"confidence negative", "", KindOccupancy, edit(KindOccupancy, "confidence", `-0.1`), ReasonInvalidValue, "confidence"},
		{"wait_s negative", "", KindSession, edit(KindSession, "wait_s", `-1`), ReasonInvalidValue, "wait_s"},
		{"service_s negative", "", KindSession, edit(KindSession, "service_s", `-0.5`), ReasonInvalidValue, "service_s"},
		{"fps negative", "", KindCamera, edit(KindCamera, "fps", `-25`), ReasonInvalidValue, "fps"},
		{"kbps negative", "", KindCamera, edit(KindCamera, "kbps", `-1`), ReasonInvalidValue, "kbps"},
		{"gop_s negative", "", KindCamera, edit(KindCamera, "gop_s", `-2`), ReasonInvalidValue, "gop_s"},
		{"width negative", "", KindCamera, edit(KindCamera, "width", `-1920`), ReasonInvalidValue, "width"},
		{"height negative", "", KindCamera, edit(KindCamera, "height", `-1`), ReasonInvalidValue, "height"},
		{"reconnects negative", "", KindCamera, edit(KindCamera, "reconnects", `-1`), ReasonInvalidValue, "reconnects"},
		{"spool_depth negative", "", KindAgent, edit(KindAgent, "spool_depth", `-1`), ReasonInvalidValue, "spool_depth"},
		{"uptime_s negative", "", KindAgent, edit(KindAgent, "uptime_s", `-1`), ReasonInvalidValue, "uptime_s"},

		// Free text.
		{"id of 129 bytes", "", KindRating, edit(KindRating, "id", `"`+strings.Repeat("i", 129)+`"`), ReasonInvalidValue, "id"},
		{"id with NUL", "", KindRating, edit(KindRating, "id", `"a\u0000b"`), ReasonInvalidValue, "id"},
		{"id with newline", "", KindRating, edit(KindRating, "id", `"a\nb"`), ReasonInvalidValue, "id"},
		{"ticket with a C1 control", "", KindQueue, edit(KindQueue, "ticket", `"A\u0085012"`), ReasonInvalidValue, "ticket"},
		{"ticket with DEL", "", KindQueue, edit(KindQueue, "ticket", `"A\u007f"`), ReasonInvalidValue, "ticket"},
		{"press_id too short", "", KindRating, edit(KindRating, "press_id", `"abc"`), ReasonInvalidValue, "press_id"},
		{"press_id with a space", "", KindRating, edit(KindRating, "press_id", `"tap 7f3a9c21"`), ReasonInvalidValue, "press_id"},
		{"negative press_seq", "", KindRating, edit(KindRating, "press_seq", `-1`), ReasonInvalidValue, "press_seq"},
		{"session of 200 bytes", "", KindRating, edit(KindRating, "session", `"`+long+`"`), ReasonInvalidValue, "session"},
		{"17 reasons", "", KindRating, edit(KindRating, "reasons", `[`+strings.TrimSuffix(strings.Repeat(`"r",`, 17), ",")+`]`), ReasonInvalidValue, "reasons"},
		{"reason with a comma", "", KindRating, edit(KindRating, "reasons", `["slow,rude"]`), ReasonInvalidValue, "reasons"},
		{"empty reason", "", KindRating, edit(KindRating, "reasons", `["slow",""]`), ReasonInvalidValue, "reasons"},
		{"null reason", "", KindRating, edit(KindRating, "reasons", `[null]`), ReasonInvalidValue, "reasons"},
		{"reason with a tab", "", KindRating, edit(KindRating, "reasons", `["slow\t"]`), ReasonInvalidValue, "reasons"},
		{"procedure of 129 bytes", "", KindDossier, edit(KindDossier, "procedure", `"`+strings.Repeat("p", 129)+`"`), ReasonInvalidValue, "procedure"},
		{"version with a newline", "", KindAgent, edit(KindAgent, "version", `"0.1.0\n"`), ReasonInvalidValue, "version"},

		// Conditionally required.
		{"queue called without counter", "", KindQueue, edit(KindQueue, "counter", ""), ReasonMissing, "counter"},
		{"queue finished with empty counter", "", KindQueue, strings.Replace(edit(KindQueue, "step", `"finished"`), `"c03"`, `""`, 1), ReasonMissing, "counter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := tt.topic
			if topic == "" {
				topic = exampleOf(tt.kind).topic
			}
			ev, err := DecodeMessage(topic, []byte(tt.payload), testNow())
			if err == nil {
				t.Fatalf("accepted: %s", ev.AppendLine(nil))
			}
			checkError(t, err, tt.reason, tt.field, tt.payload)
		})
	}
}

// noReason marks table rows where the input must be accepted.
const noReason Reason = ""

// checkError checks err's reason and field and that its message stays short.
func checkError(t *testing.T, err error, reason Reason, field, payload string) {
	t.Helper()
	e, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("error %T is not an *Error: %v", err, err)
	}
	if e.Reason != reason || e.Field != field {
		t.Errorf("got reason %q field %q, want %q %q (%v)", e.Reason, e.Field, reason, field, err)
	}
	if ReasonOf(err) != reason {
		t.Errorf("ReasonOf = %q", ReasonOf(err))
	}
	checkErrorSize(t, err, payload)
}

func checkErrorSize(t testing.TB, err error, payload string) {
	t.Helper()
	const maxMsg = 400
	msg := err.Error()
	if len(msg) > maxMsg {
		t.Errorf("error message is %d bytes: %s", len(msg), msg)
	}
	// A longer payload cannot fit in a short message; skipping the search
	// also keeps the fuzzers from chasing coverage inside strings.Index.
	if len(payload) > 50 && len(payload) <= maxMsg && strings.Contains(msg, payload) {
		t.Errorf("error message holds the payload: %s", msg)
	}
}

// TestDecodeMissing removes each required key of each kind in turn, and sets
// it to null and to "", all of which must read as missing.
func TestDecodeMissing(t *testing.T) {
	for _, ex := range examples() {
		for _, f := range Fields(ex.kind) {
			if !f.Required {
				continue
			}
			values := map[string]string{"absent": "", "null": "null"}
			if strings.HasPrefix(f.JSON, "string") {
				values["empty"] = `""`
			}
			for how, raw := range values {
				t.Run(fmt.Sprintf("%s/%s/%s", ex.kind, f.Name, how), func(t *testing.T) {
					payload := edit(ex.kind, f.Name, raw)
					ev, err := DecodeMessage(ex.topic, []byte(payload), testNow())
					if err == nil {
						t.Fatalf("accepted: %s", ev.AppendLine(nil))
					}
					checkError(t, err, ReasonMissing, f.Name, payload)
				})
			}
		}
	}
}

// TestDecodeKind covers Decode itself, which DecodeMessage wraps.
func TestDecodeKind(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		payload string
		reason  Reason
		field   string
	}{
		{"rating example", KindRating, exampleOf(KindRating).payload, noReason, ""},
		{"no site check against a topic", KindAgent, edit(KindAgent, "site", `"other"`), noReason, ""},
		{"unknown kind", Kind("kiosk"), `3`, ReasonUnknownKind, "kind"},
		{"empty kind", "", exampleOf(KindRating).payload, ReasonUnknownKind, "kind"},
		{"payload of another kind", KindQueue, exampleOf(KindRating).payload, ReasonMissing, "ticket"},
		{"too large before unknown kind", Kind("x"), strings.Repeat("x", MaxPayload+1), ReasonTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode(tt.kind, []byte(tt.payload), testNow())
			if tt.reason == noReason {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if ev.Kind() != tt.kind {
					t.Errorf("Kind() = %q", ev.Kind())
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %s", ev.AppendLine(nil))
			}
			checkError(t, err, tt.reason, tt.field, tt.payload)
		})
	}
}

func TestValidate(t *testing.T) {
	now := testNow()
	local := time.FixedZone("ICT", 7*3600)
	h := func(ts time.Time) Header { return Header{ID: "x", TS: ts, Site: "anlao"} }
	ts := now.Add(-time.Hour)
	tests := []struct {
		name   string
		ev     Event
		reason Reason
		field  string
	}{
		{"zero event", &Rating{}, ReasonMissing, "id"},
		{"no ts", &Rating{Header: Header{ID: "x", Site: "anlao"}}, ReasonMissing, "ts"},
		{"ts in local time", &Queue{Header: h(ts.In(local)), Ticket: "A1", Service: "s", Step: StepIssued}, ReasonInvalidValue, "ts"},
		{"ts as UTC", &Queue{Header: h(ts), Ticket: "A1", Service: "s", Step: StepIssued}, noReason, ""},
		{"session times in local time are fine", &Session{Header: h(ts), Counter: "c1", Start: ts.In(local), End: ts.In(local), Source: SourceFused}, noReason, ""},
		{"NaN confidence", &Occupancy{Header: h(ts), Camera: "c", Counter: "c", Zone: ZoneStaff, Confidence: nan()}, ReasonInvalidValue, "confidence"},
		{"NaN fps", &Camera{Header: h(ts), Camera: "c", FPS: nan()}, ReasonInvalidValue, "fps"},
		{"infinite uptime", &Agent{Header: h(ts), Agent: "a", Status: StatusOnline, UptimeS: inf()}, ReasonInvalidValue, "uptime_s"},
		{"invalid UTF-8 id", &Agent{Header: Header{ID: "a\xff", TS: ts, Site: "anlao"}, Agent: "a", Status: StatusOnline}, ReasonInvalidUTF8, "id"},
		{"invalid UTF-8 reason", &Rating{Header: h(ts), Counter: "c", Kiosk: "k", Level: LevelNeutral, Reasons: []string{"\xff"}}, ReasonInvalidUTF8, "reasons"},
		{"no dossier times", &Dossier{Header: h(ts), Dossier: "d", Procedure: "p", Outcome: OutcomeLate}, ReasonMissing, "received"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ev.Validate(now)
			if tt.reason == noReason {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			checkError(t, err, tt.reason, tt.field, "")
		})
	}
}

func nan() float64 { var z float64; return z / z }
func inf() float64 { var z float64; return 1 / z }

func TestErrorMessage(t *testing.T) {
	_, err := DecodeMessage("pscm/v1/anlao/rating", []byte(edit(KindRating, "counter", `"c 03"`)), testNow())
	want := `schema: field "counter": invalid_id: "c 03" does not match ^[a-z0-9][a-z0-9_-]{0,62}$`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}

	long := strings.Repeat("é", 100) // 200 bytes, cut inside no rune
	_, err = DecodeMessage("pscm/v1/anlao/rating", []byte(edit(KindRating, "counter", `"`+long+`"`)), testNow())
	want = `schema: field "counter": invalid_id: "` + strings.Repeat("é", 18) + `…" (200 bytes) does not match ^[a-z0-9][a-z0-9_-]{0,62}$`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}

	err = &Error{Reason: ReasonMalformed, Msg: "payload is not a JSON object"}
	if got := err.Error(); got != "schema: malformed_json: payload is not a JSON object" {
		t.Errorf("without field: %s", got)
	}
}

func TestReasonOf(t *testing.T) {
	e := &Error{Reason: ReasonInvalidID, Field: "site"}
	tests := []struct {
		name string
		err  error
		want Reason
	}{
		{"nil", nil, ""},
		{"schema error", e, ReasonInvalidID},
		{"wrapped", fmt.Errorf("collector: %w", e), ReasonInvalidID},
		{"other error", errors.New("boom"), ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReasonOf(tt.err); got != tt.want {
				t.Errorf("ReasonOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKindsAndReasons(t *testing.T) {
	kinds := Kinds()
	want := []Kind{"rating", "queue", "occupancy", "session", "dossier", "camera", "agent", "case"}
	if !slices.Equal(kinds, want) {
		t.Errorf("Kinds() = %v", kinds)
	}
	for _, k := range kinds {
		if !k.Valid() {
			t.Errorf("%q not Valid", k)
		}
		if !strings.Contains(kindList, string(k)) {
			t.Errorf("kindList lacks %q", k)
		}
	}
	for _, k := range []Kind{"", "kiosk", "Rating", "ratings"} {
		if k.Valid() {
			t.Errorf("%q Valid", k)
		}
	}
	kinds[0] = "changed"
	if Kinds()[0] != KindRating {
		t.Error("Kinds() shares its slice")
	}

	reasons := Reasons()
	if len(reasons) != 15 || len(slices.Compact(slices.Sorted(slices.Values(reasons)))) != 15 {
		t.Errorf("Reasons() = %v, want 15 distinct", reasons)
	}
	for _, r := range reasons {
		// A Prometheus label value is free-form, but keep them plain.
		if !plainToken(string(r)) {
			t.Errorf("reason %q is not a plain token", r)
		}
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"a", true},
		{"0", true},
		{"c03", true},
		{"anlao-edge-1", true},
		{"ho_tich", true},
		{"9-_", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"-a", false},
		{"_a", false},
		{"A", false},
		{"aB", false},
		{"a b", false},
		{"a,b", false},
		{"a=b", false},
		{`a"b`, false},
		{`a\b`, false},
		{"a/b", false},
		{"a.b", false},
		{"a\n", false},
		{"a+", false},
		{"#", false},
		{"quầy", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.id), func(t *testing.T) {
			if got := ValidID(tt.id); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

// TestTagValuesNeedNoEscaping is why AppendLine writes tags unescaped: no
// byte that the line protocol escapes in a tag (comma, space, equals sign,
// backslash) or that ends a line can appear in a valid ID or an enum value.
func TestTagValuesNeedNoEscaping(t *testing.T) {
	for c := range 256 {
		if ValidID("a"+string(rune(c))) && !plainToken("a"+string(rune(c))) {
			t.Errorf("ValidID accepts byte %#x, which may need escaping", c)
		}
	}
	for _, k := range Kinds() {
		for _, f := range Fields(k) {
			for _, v := range f.Values {
				if !ValidID(v) {
					t.Errorf("%s.%s value %q is not ID-safe", k, f.Name, v)
				}
			}
			if f.Column == ColumnTag && f.JSON != JSONID && f.JSON != JSONEnum {
				t.Errorf("%s.%s is a tag but neither an ID nor an enum", k, f.Name)
			}
		}
	}
	for _, ex := range examples() {
		p, err := parseLine(ex.line)
		if err != nil {
			t.Errorf("%s: %v", ex.kind, err)
			continue
		}
		if err := checkPoint(p, ex.kind); err != nil {
			t.Errorf("%s: %v", ex.kind, err)
		}
	}
}

func TestDecodePress(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    Press
		reason  Reason
		field   string
	}{
		{"bare number", "3", Press{Button: 3}, noReason, ""},
		{"one", "1", Press{Button: 1}, noReason, ""},
		{"nine", "9", Press{Button: 9}, noReason, ""},
		{"surrounding whitespace", " \t7\r\n", Press{Button: 7}, noReason, ""},
		{"JSON with seq", `{"button":3,"seq":17}`, Press{Button: 3, Seq: 17}, noReason, ""},
		{"JSON without seq", ` {"button":2} `, Press{Button: 2}, noReason, ""},
		{"JSON with largest seq", `{"button":2,"seq":9223372036854775807,"fw":"1.2"}`, Press{Button: 2, Seq: 9223372036854775807}, noReason, ""},
		{"JSON with the box's time", `{"button":1,"seq":5,"ts":"2026-11-25T08:15:02.25+07:00"}`, Press{Button: 1, Seq: 5, TS: time.Date(2026, 11, 25, 1, 15, 2, 250e6, time.UTC)}, noReason, ""},
		{"time before 2020", `{"button":1,"ts":"1970-01-01T00:00:07Z"}`, Press{}, ReasonTimeRange, "ts"},
		{"time not a time", `{"button":1,"ts":"yesterday"}`, Press{}, ReasonMalformed, ""},
		{"seq above an InfluxDB integer", `{"button":2,"seq":9223372036854775808}`, Press{}, ReasonInvalidValue, "seq"},

		{"zero", "0", Press{}, ReasonInvalidValue, "button"},
		{"ten", "10", Press{}, ReasonInvalidValue, "button"},
		{"leading zero", "03", Press{}, ReasonInvalidValue, "button"},
		{"negative", "-1", Press{}, ReasonMalformed, ""},
		{"decimal", "1.0", Press{}, ReasonMalformed, ""},
		{"letter", "a", Press{}, ReasonMalformed, ""},
		{"two numbers", "1 2", Press{}, ReasonMalformed, ""},
		{"Arabic-Indic digit", "٣", Press{}, ReasonMalformed, ""},
		{"quoted number", `"3"`, Press{}, ReasonMalformed, ""},
		{"empty", "", Press{}, ReasonMissing, "button"},
		{"blank", " \n", Press{}, ReasonMissing, "button"},
		{"JSON without button", `{"seq":1}`, Press{}, ReasonMissing, "button"},
		{"JSON null button", `{"button":null}`, Press{}, ReasonMissing, "button"},
		{"JSON button 0", `{"button":0}`, Press{}, ReasonInvalidValue, "button"},
		{"JSON button 10", `{"button":10}`, Press{}, ReasonInvalidValue, "button"},
		{"JSON button as string", `{"button":"3"}`, Press{}, ReasonWrongType, "button"},
		{"JSON button fractional", `{"button":3.5}`, Press{}, ReasonWrongType, "button"},
		{"JSON negative seq", `{"button":3,"seq":-1}`, Press{}, ReasonWrongType, "seq"},
		{"JSON trailing data", `{"button":3}{}`, Press{}, ReasonMalformed, ""},
		{"JSON truncated", `{"button":3`, Press{}, ReasonMalformed, ""},
		{"invalid UTF-8", "3\xff", Press{}, ReasonInvalidUTF8, ""},
		{"too large", strings.Repeat(" ", MaxPayload) + "3", Press{}, ReasonTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePress([]byte(tt.payload))
			if tt.reason == noReason {
				if err != nil {
					t.Fatalf("DecodePress: %v", err)
				}
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			checkError(t, err, tt.reason, tt.field, tt.payload)
		})
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "c 03", `"c 03"`},
		{"exactly the limit", strings.Repeat("a", 40), `"` + strings.Repeat("a", 40) + `"`},
		{"cut", strings.Repeat("a", 41), `"` + strings.Repeat("a", 37) + `…" (41 bytes)`},
		{"cut before a straddling rune", strings.Repeat("a", 36) + "ầầ", `"` + strings.Repeat("a", 36) + `…" (42 bytes)`},
		{"invalid UTF-8 is replaced, not dropped", "ab\xffc", `"ab` + "\uFFFD" + `c" (4 bytes)`},
		{"invalid UTF-8 replaced, then cut", strings.Repeat("\x80", 50), `"` + strings.Repeat("\uFFFD", 12) + `…" (50 bytes)`},
		{"control characters escaped", "a\nb", `"a\nb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quote(tt.in); got != tt.want {
				t.Errorf("quote = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestReencodedSize checks that the largest valid events still fit in
// MaxPayload once re-encoded: text made only of characters that JSON must
// escape doubles in size. (json.Marshal's default HTML escaping would turn
// each '<' into six bytes, so publishers encode with SetEscapeHTML(false).)
func TestReencodedSize(t *testing.T) {
	text := strings.Repeat(`"`, maxTextLen)
	reasons := make([]string, maxReasons)
	for i := range reasons {
		reasons[i] = strings.Repeat("\u2028", maxTextLen/3)
	}
	ts := testNow().Add(-time.Hour)
	h := Header{ID: text, TS: ts, Site: strings.Repeat("s", maxIDLen)}
	id := strings.Repeat("i", maxIDLen)
	events := []Event{
		&Rating{Header: h, Counter: id, Kiosk: id, Level: LevelVerySatisfied, Reasons: reasons, Session: text},
		&Session{Header: h, Counter: id, Start: ts, End: ts, WaitS: 1e300, ServiceS: 1e-300, Source: SourceFused, Ticket: text},
		&Dossier{Header: h, Dossier: text, Procedure: text, Received: ts, Due: ts, Resolved: ts, Outcome: OutcomeOnTime},
		&Agent{Header: h, Agent: id, Status: StatusOffline, Version: text, SpoolDepth: 1 << 62, UptimeS: 1e300},
	}
	for _, ev := range events {
		t.Run(string(ev.Kind()), func(t *testing.T) {
			if err := ev.Validate(testNow()); err != nil {
				t.Fatal(err)
			}
			topic := TopicFor(h.Site, ev.Kind(), "")
			if a, ok := ev.(*Agent); ok {
				topic = TopicFor(h.Site, KindAgent, a.Agent)
			}
			want := ev.AppendLine(nil)
			if got := redecode(t, topic, ev).AppendLine(nil); !bytes.Equal(got, want) {
				t.Errorf("re-decoded line differs:\n%s\n%s", got, want)
			}
		})
	}
}

// TestDecodeRefusesTwiceNamedKeys (issue 18, row 8): a key given twice, or
// in two cases, is refused at every door that decodes with the schema (the
// collector, the agent's webhook and presses), and so is a text with an
// invisible format character such as a right-to-left override.
func TestDecodeRefusesTwiceNamedKeys(t *testing.T) {
	now := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, payload string
		field         string
	}{
		{"level twice in two cases", `{"id":"r1","ts":"2026-11-25T01:15:02Z","site":"anlao","counter":"c03","kiosk":"k03","level":"very_satisfied","Level":"dissatisfied"}`, "Level"},
		{"id twice", `{"id":"r1","id":"r2","ts":"2026-11-25T01:15:02Z","site":"anlao","counter":"c03","kiosk":"k03","level":"neutral"}`, "id"},
	} {
		if _, err := Decode(KindRating, []byte(tc.payload), now); ReasonOf(err) != ReasonMalformed || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v, want malformed_json naming %s", tc.name, err, tc.field)
		}
	}
	if _, err := DecodePress([]byte(`{"button":1,"Button":4}`)); ReasonOf(err) != ReasonMalformed {
		t.Errorf("press with button twice: %v, want malformed_json", err)
	}
	rlo := `{"id":"q1","ts":"2026-11-25T01:15:02Z","site":"anlao","ticket":"A0` + "\u202e" + `21","service":"ho-tich","step":"issued"}`
	if _, err := Decode(KindQueue, []byte(rlo), now); ReasonOf(err) != ReasonInvalidValue || !strings.Contains(err.Error(), "U+202E") {
		t.Errorf("ticket with a right-to-left override: %v, want invalid_value naming U+202E", err)
	}
}

// The queue event's staff: the official logged in at the counter, on
// queue events only; any other kind carrying it is refused, not ignored.
func TestStaffOnQueueOnly(t *testing.T) {
	now := testNow()
	ts := now.Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	ok := `{"id":"q1","ts":"` + ts + `","site":"anlao","ticket":"A012","service":"ho-tich","counter":"c03","step":"called","staff":"lan"}`
	ev, err := Decode(KindQueue, []byte(ok), now)
	if err != nil || ev.(*Queue).Staff != "lan" {
		t.Fatalf("queue with staff: %v %+v", err, ev)
	}
	if line := string(ev.AppendLine(nil)); !strings.Contains(line, ",staff=lan,") {
		t.Errorf("staff not a tag: %s", line)
	}
	for name, tc := range map[string]struct {
		kind    Kind
		payload string
		reason  Reason
	}{
		"rating":     {KindRating, `{"id":"r1","ts":"` + ts + `","site":"anlao","counter":"c03","kiosk":"k03","level":"satisfied","staff":"lan"}`, ReasonInvalidValue},
		"not an ID":  {KindQueue, strings.Replace(ok, `"lan"`, `"Lan Nguyen"`, 1), ReasonInvalidID},
		"no counter": {KindQueue, `{"id":"q1","ts":"` + ts + `","site":"anlao","ticket":"A012","service":"ho-tich","step":"issued","staff":"lan"}`, ReasonInvalidValue},
	} {
		if _, err := Decode(tc.kind, []byte(tc.payload), now); ReasonOf(err) != tc.reason {
			t.Errorf("%s: %v, want %s", name, err, tc.reason)
		}
	}
	// null is absent, as for every optional key; the word in a text is no
	// key.
	null := `{"id":"r1","ts":"` + ts + `","site":"anlao","counter":"c03","kiosk":"k03","level":"satisfied","staff":null}`
	if _, err := Decode(KindRating, []byte(null), now); err != nil {
		t.Errorf("null staff refused: %v", err)
	}
	text := `{"id":"r1","ts":"` + ts + `","site":"anlao","counter":"c03","kiosk":"k03","level":"satisfied","session":"\"staff\""}`
	if _, err := Decode(KindRating, []byte(text), now); err != nil {
		t.Errorf("\"staff\" inside a value refused: %v", err)
	}
}
