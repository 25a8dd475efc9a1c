package schema

import (
	"encoding/json"
	"time"
)

// testNow is the receiver's clock for every test: an hour after the docs/events.md
// examples happened.
func testNow() time.Time { return time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC) }

// example is one docs/events.md example with the line protocol it must produce,
// written out by hand rather than computed, so the test checks the mapping
// instead of restating the code.
type example struct {
	kind    Kind
	topic   string
	payload string
	line    string
}

// examples returns the docs/events.md examples, one per kind, verbatim.
func examples() []example {
	return []example{
		{
			kind:    KindRating,
			topic:   "pscm/v1/anlao/rating",
			payload: `{"id":"01JDX8K3Q7A1","ts":"2026-11-25T01:15:02.123456789Z","site":"anlao","counter":"c03","kiosk":"k03","level":"satisfied","reasons":[],"session":"s-8812"}`,
			line:    "rating,counter=c03,kiosk=k03,level=satisfied,site=anlao id=\"01JDX8K3Q7A1\",session=\"s-8812\" 1795569302123456789\n",
		},
		{
			kind:    KindQueue,
			topic:   "pscm/v1/anlao/queue",
			payload: `{"id":"01JDX8K3Q7A2","ts":"2026-11-25T01:02:10Z","site":"anlao","ticket":"A012","service":"ho-tich","counter":"c03","step":"called"}`,
			line:    "queue,counter=c03,service=ho-tich,site=anlao,step=called id=\"01JDX8K3Q7A2\",ticket=\"A012\" 1795568530000000000\n",
		},
		{
			kind:    KindOccupancy,
			topic:   "pscm/v1/anlao/occupancy",
			payload: `{"id":"01JDX8K3Q7A3","ts":"2026-11-25T01:02:40Z","site":"anlao","camera":"cam1","counter":"c03","zone":"citizen","occupied":true,"confidence":0.93}`,
			line:    "occupancy,camera=cam1,counter=c03,site=anlao,zone=citizen confidence=0.93,id=\"01JDX8K3Q7A3\",occupied=true 1795568560000000000\n",
		},
		{
			kind:    KindSession,
			topic:   "pscm/v1/anlao/session",
			payload: `{"id":"s-8812","ts":"2026-11-25T01:14:55Z","site":"anlao","counter":"c03","start":"2026-11-25T01:02:41Z","end":"2026-11-25T01:14:55Z","wait_s":612.0,"service_s":734.0,"source":"fused","ticket":"A012"}`,
			line:    "session,counter=c03,site=anlao,source=fused end=\"2026-11-25T01:14:55Z\",id=\"s-8812\",service_s=734,start=\"2026-11-25T01:02:41Z\",ticket=\"A012\",wait_s=612 1795569295000000000\n",
		},
		{
			kind:    KindDossier,
			topic:   "pscm/v1/anlao/dossier",
			payload: `{"id":"01JDX8K3Q7A4","ts":"2026-11-25T03:00:00Z","site":"anlao","dossier":"000.00.12.H10-261125-0001","procedure":"1.001234","received":"2026-11-20T02:00:00Z","due":"2026-11-27T10:00:00Z","resolved":"2026-11-25T03:00:00Z","outcome":"early"}`,
			line:    "dossier,outcome=early,site=anlao dossier=\"000.00.12.H10-261125-0001\",due=\"2026-11-27T10:00:00Z\",id=\"01JDX8K3Q7A4\",procedure=\"1.001234\",received=\"2026-11-20T02:00:00Z\",resolved=\"2026-11-25T03:00:00Z\" 1795575600000000000\n",
		},
		{
			kind:    KindCamera,
			topic:   "pscm/v1/anlao/camera",
			payload: `{"id":"01JDX8K3Q7A5","ts":"2026-11-25T01:15:00Z","site":"anlao","camera":"cam1","up":true,"fps":25.0,"kbps":3990,"gop_s":2.0,"width":1920,"height":1080,"codec":"h264","reconnects":0}`,
			line:    "camera,camera=cam1,codec=h264,site=anlao fps=25,gop_s=2,height=1080i,id=\"01JDX8K3Q7A5\",kbps=3990,reconnects=0i,up=true,width=1920i 1795569300000000000\n",
		},
		{
			kind:    KindAgent,
			topic:   "pscm/v1/anlao/agent/anlao-edge-1",
			payload: `{"id":"01JDX8K3Q7A6","ts":"2026-11-25T01:15:00Z","site":"anlao","agent":"anlao-edge-1","status":"online","version":"0.1.0","spool_depth":0,"uptime_s":3600}`,
			line:    "agent,agent=anlao-edge-1,site=anlao id=\"01JDX8K3Q7A6\",spool_depth=0i,status=\"online\",uptime_s=3600,version=\"0.1.0\" 1795569300000000000\n",
		},
		{
			kind:    KindCase,
			topic:   "pscm/v1/anlao/case",
			payload: `{"id":"anlao-2026-00042-3","ts":"2026-11-25T01:30:00Z","site":"anlao","case":"anlao-2026-00042","case_kind":"phan_anh","channel":"kiosk","step":"answered","counter":"c03","received":"2026-11-20T02:10:00Z","due":"2026-12-11T10:00:00Z","late":false}`,
			line:    "case,case_kind=phan_anh,channel=kiosk,counter=c03,site=anlao,step=answered case=\"anlao-2026-00042\",due=\"2026-12-11T10:00:00Z\",id=\"anlao-2026-00042-3\",late=false,received=\"2026-11-20T02:10:00Z\" 1795570200000000000\n",
		},
	}
}

// exampleOf returns the example of kind k.
func exampleOf(k Kind) example {
	for _, e := range examples() {
		if e.kind == k {
			return e
		}
	}
	panic("no example of kind " + string(k))
}

// edit returns the example payload of kind k with key set to the raw JSON
// value raw, or removed when raw is "". Key order is lost, which JSON
// allows.
func edit(k Kind, key, raw string) string {
	return editPayload(exampleOf(k).payload, key, raw)
}

// editPayload is edit on any JSON object.
func editPayload(payload, key, raw string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		panic(err)
	}
	if raw == "" {
		delete(m, key)
	} else {
		m[key] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// fullEvents returns one event of each kind with every optional field set,
// so that AppendLine writes every tag and field of the kind.
func fullEvents() []Event {
	ts := time.Date(2026, 11, 25, 1, 15, 2, 123456789, time.UTC)
	h := Header{ID: "01JDX8K3Q7A1", TS: ts, Site: "anlao"}
	return []Event{
		&Rating{Header: h, Counter: "c03", Kiosk: "k03", Level: LevelVerySatisfied, Reasons: []string{"fast", "kind"}, Session: "s-1", PressID: "tap-7f3a9c21", PressSeq: 17},
		&Queue{Header: h, Ticket: "A012", Service: "ho-tich", Counter: "c03", Step: StepFinished, Staff: "lan"},
		&Occupancy{Header: h, Camera: "cam1", Counter: "c03", Zone: ZoneStaff, Occupied: true, Confidence: 0.5, State: ZoneOccupied},
		&Session{Header: h, Counter: "c03", Start: ts.Add(-time.Minute), End: ts, WaitS: 1.5, ServiceS: 60, Source: SourceQueue, Ticket: "A012"},
		&Dossier{Header: h, Dossier: "d-1", Procedure: "1.001234", Received: ts.Add(-48 * time.Hour), Due: ts.Add(time.Hour), Resolved: ts, Outcome: OutcomeOnTime, Official: "lan"},
		&Camera{Header: h, Camera: "cam1", Up: true, FPS: 12.5, Kbps: 1000, GopS: 1, Width: 1280, Height: 720, Codec: CodecH265, Reconnects: 3},
		&Agent{Header: h, Agent: "anlao-edge-1", Status: StatusOffline, Version: "0.2.0", SpoolDepth: 12, UptimeS: 0.25},
		&Case{Header: h, Case: "anlao-2026-00042", CaseKind: "khieu_nai", Channel: "reception", Step: CaseExtended, Counter: "c03", Service: "dat-dai",
			Received: ts.Add(-72 * time.Hour), Due: ts.Add(30 * 24 * time.Hour), Late: true, ExtendDays: 10},
	}
}
