//go:build linux

package badinput

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/textclip"
)

// The agent's spool counter: every event it accepts is appended there
// before it is acknowledged, so "nothing spooled" is this not moving.
const spoolAppended = "pscm_agent_spool_appended_total"

func pressMetric(kiosk, result string) string {
	return fmt.Sprintf(`pscm_agent_presses_total{kiosk="%s",result="%s",source="button"}`, kiosk, result)
}

func queueRejected(reason string) string {
	return `pscm_agent_queue_rejected_total{reason="` + reason + `"}`
}

// localCase is one message on the center's broker. log is the message of
// the agent's log line it must cause ("" when it must not reach the agent
// at all) and logErr a part of that line's err; metric, when set, must go
// up by one.
type localCase struct {
	name    string
	topic   string
	payload string
	log     string
	logErr  string
	metric  string
}

func pressTopic(kiosk string) string { return "pscm/v1/" + agentSite + "/kiosk/" + kiosk + "/press" }

func queueStep(kv ...any) string {
	e := ev{"id": "qs-1", "ts": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano), "site": agentSite,
		"ticket": "A001", "service": "ho-tich", "counter": "c01", "step": "called"}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(e, kv[i].(string))
		} else {
			e[kv[i].(string)] = kv[i+1]
		}
	}
	b, _ := json.Marshal(e)
	return string(b)
}

func localCases() []localCase {
	qt := "pscm/v1/" + agentSite + "/queue"
	return []localCase{
		{"unknown kiosk", pressTopic("k99"), "1", "refused", "unknown kiosk", ""},
		{"kiosk ID upper case", pressTopic("K01"), "1", "message on an unexpected topic", "", ""},
		{"kiosk ID of 10k chars", pressTopic(strings.Repeat("k", 10000)), "1", "message on an unexpected topic", "", ""},
		{"another site's kiosk", "pscm/v1/hoaiduc/kiosk/k01/press", "1", "", "", ""},
		{"extra level", pressTopic("k01") + "/x", "1", "", "", ""},
		{"button 0", pressTopic("k01"), "0", "refused", "button", pressMetric("k01", "bad_input")},
		{"button 5 of 4", pressTopic("k01"), "5", "refused", "unknown button", pressMetric("k01", "bad_input")},
		{"button 10", pressTopic("k01"), "10", "refused", "button", pressMetric("k01", "bad_input")},
		{"button -1", pressTopic("k01"), "-1", "refused", "malformed_json", pressMetric("k01", "bad_input")},
		{"button a word", pressTopic("k01"), "three", "refused", "malformed_json", pressMetric("k01", "bad_input")},
		{"empty payload", pressTopic("k01"), "", "refused", "missing_field", pressMetric("k01", "bad_input")},
		{"JSON without button", pressTopic("k01"), `{"seq":4}`, "refused", "missing_field", pressMetric("k01", "bad_input")},
		{"button a string", pressTopic("k01"), `{"button":"1"}`, "refused", "wrong_type", pressMetric("k01", "bad_input")},
		{"button 12 in JSON", pressTopic("k01"), `{"button":12}`, "refused", "invalid_value", pressMetric("k01", "bad_input")},
		{"truncated JSON", pressTopic("k01"), `{"button":`, "refused", "malformed_json", pressMetric("k01", "bad_input")},
		{"invalid UTF-8", pressTopic("k01"), "1\xff", "refused", "invalid_utf8", pressMetric("k01", "bad_input")},
		{"over 8 KiB", pressTopic("k01"), "1" + strings.Repeat(" ", 9000), "refused", "too_large", pressMetric("k01", "bad_input")},
		{"queue: not JSON", qt, "called A001", "refused", "malformed_json", queueRejected("malformed_json")},
		{"queue: unknown step", qt, queueStep("step", "teleported"), "refused", "invalid_value", queueRejected("invalid_value")},
		// Issue 18, rows 8, 2, 3 and 12 on the center's broker.
		{"button twice, in two cases", pressTopic("k01"), `{"button":1,"Button":4}`, "refused", "malformed_json", pressMetric("k01", "bad_input")},
		{"box time before 2020", pressTopic("k01"), `{"button":1,"ts":"2019-12-31T23:59:59Z"}`, "refused", "ts_out_of_range", pressMetric("k01", "bad_input")},
		{"queue: unknown service", qt, queueStep("service", "xuat-nhap-canh"), "refused", "invalid_value", queueRejected("invalid_value")},
		{"queue: 13 h old", qt, queueStep("ts", time.Now().Add(-13*time.Hour).UTC().Format(time.RFC3339)), "refused", "ts_out_of_range", queueRejected("ts_out_of_range")},
		{"queue: wrong site", qt, queueStep("site", "hoaiduc"), "refused", "site_mismatch", queueRejected("site_mismatch")},
		{"queue: no ticket", qt, queueStep("ticket", nil), "refused", "missing_field", queueRejected("missing_field")},
		{"queue: injection in counter", qt, queueStep("counter", "c01 x=1"), "refused", "invalid_id", queueRejected("invalid_id")},
		{"queue: ts far future", qt, queueStep("ts", "2099-01-01T00:00:00Z"), "refused", "ts_out_of_range", queueRejected("ts_out_of_range")},
		{"queue: over 8 KiB", qt, queueStep("pad", strings.Repeat("x", 9000)), "refused", "too_large", queueRejected("too_large")},
		{"queue: another site's topic", "pscm/v1/hoaiduc/queue", queueStep("site", "hoaiduc"), "", "", ""},
	}
}

// testAgentMQTT publishes each case on the center's broker, then a valid
// press of button 1 at kiosk k02 from the same client. The agent handles
// the center's broker in order, so once the sentinel is spooled the case
// was handled: the spool must have taken the sentinel only.
func testAgentMQTT(t *testing.T, w *world) (sentinels int) {
	// Refusals are logged at most once per topic, reason and 10 s: a line
	// is required for the first case of each topic and metric (a closed
	// set standing for the reason); later ones are counted, maybe logged.
	logged := map[string]bool{}
	for _, c := range localCases() {
		t.Run(c.name, func(t *testing.T) {
			before := w.metrics(t, w.agentAdmin)
			mark := markLog(t, w.agent)
			publish(t, w.pubLocal, c.topic, []byte(c.payload))
			publish(t, w.pubLocal, pressTopic("k02"), []byte("1"))
			sentinels++
			accepted := pressMetric("k02", "accepted")
			testenv.Eventually(t, wait, tick, func() bool {
				return w.metrics(t, w.agentAdmin)[accepted] == before[accepted]+1
			}, "the sentinel press after %q was never accepted", c.name)
			after := w.metrics(t, w.agentAdmin)
			if d := after[spoolAppended] - before[spoolAppended]; d != 1 {
				t.Errorf("spool took %v records, want 1 (the sentinel's)", d)
			}
			if c.metric != "" && after[c.metric]-before[c.metric] != 1 {
				t.Errorf("%s went up by %v, want 1", c.metric, after[c.metric]-before[c.metric])
			}
			for k, v := range after {
				if (strings.HasPrefix(k, "pscm_agent_queue_rejected_total") || strings.Contains(k, `result="bad_input"`)) &&
					k != c.metric && v != before[k] {
					t.Errorf("%s went up by %v, want 0", k, v-before[k])
				}
			}
			if c.log == "" {
				for _, line := range mark.since(t) {
					if strings.Contains(line, `"refused"`) || strings.Contains(line, "unexpected topic") {
						t.Errorf("the agent saw a message the broker should not have routed to it: %s", textclip.Clip(line, 300))
					}
				}
				return
			}
			for _, line := range mark.since(t) {
				if len(line) > 2000 {
					t.Errorf("log line of %d bytes: a hostile input must not blow up the log: %s", len(line), textclip.Clip(line, 200))
				}
			}
			key := c.topic + " " + c.metric
			first := !logged[key] || c.log != "refused"
			logged[key] = true
			if first && mark.logLine(t, c.log, "err", c.logErr) == "" {
				t.Errorf("no log line %q with err containing %q; log since the case:\n%s", c.log, c.logErr,
					textclip.Clip(strings.Join(mark.since(t), "\n"), 4000))
			}
		})
	}
	return sentinels
}

// httpCase is one request to the agent. reason is the JSON error's reason
// (kiosk API) or a part of the plain-text error (queue webhook); metric,
// when set, must go up by one.
type httpCase struct {
	name   string
	method string
	path   string
	token  string // Authorization header value, "" for none
	ctype  string
	body   string
	status int
	reason string
	metric string
	// refused: the refusal is counted in pscm_agent_http_refused_total
	// under the endpoint (kiosk, queue) and reason, and a "request refused"
	// warning names the reason, unless another of its kind was logged in
	// the last 10 s (refusal logs are rate-limited, the count is not).
	refused bool
}

func bearer(tok string) string { return "Bearer " + tok }

func kioskCases() []httpCase {
	k1 := bearer(kioskToken("k01"))
	okBody := `{"level":"satisfied","press_id":"press-0001"}`
	j := "application/json"
	bad := `pscm_agent_kiosk_requests_total{kiosk="k01",result="bad_request"}`
	unauth := `pscm_agent_kiosk_requests_total{kiosk="k01",result="unauthorized"}`
	unknown := "pscm_agent_kiosk_unknown_requests_total"
	return []httpCase{
		{"no token", "POST", "/kiosk/k01/press", "", j, okBody, 401, "unauthorized", unauth, true},
		{"wrong token", "POST", "/kiosk/k01/press", bearer("not-the-token-0123456789"), j, okBody, 401, "unauthorized", unauth, true},
		{"other kiosk's token", "POST", "/kiosk/k01/press", bearer(kioskToken("k02")), j, okBody, 401, "unauthorized", unauth, true},
		{"basic auth", "POST", "/kiosk/k01/press", "Basic " + kioskToken("k01"), j, okBody, 401, "unauthorized", unauth, true},
		{"token with a byte more", "POST", "/kiosk/k01/press", k1 + "x", j, okBody, 401, "unauthorized", unauth, true},
		{"unknown kiosk", "POST", "/kiosk/k99/press", k1, j, okBody, 404, "unknown_kiosk", unknown, false},
		{"kiosk ID of 10k chars", "POST", "/kiosk/" + strings.Repeat("k", 10000) + "/press", k1, j, okBody, 404, "unknown_kiosk", unknown, false},
		{"kiosk ID with injection", "POST", "/kiosk/k01%2Cx=1/press", k1, j, okBody, 404, "unknown_kiosk", unknown, false},
		{"unknown resource", "POST", "/kiosk/k01/delete", k1, j, okBody, 404, "not_found", bad, true},
		{"GET press", "GET", "/kiosk/k01/press", k1, "", "", 405, "method_not_allowed", bad, true},
		{"PUT press", "PUT", "/kiosk/k01/press", k1, j, okBody, 405, "method_not_allowed", bad, true},
		{"unknown level", "POST", "/kiosk/k01/press", k1, j, `{"level":"ecstatic","press_id":"press-0001"}`, 400, "unknown_level", bad, true},
		{"no level", "POST", "/kiosk/k01/press", k1, j, `{"press_id":"press-0001"}`, 400, "unknown_level", bad, true},
		{"level a number", "POST", "/kiosk/k01/press", k1, j, `{"level":2,"press_id":"press-0001"}`, 400, "malformed_json", bad, true},
		{"no press ID", "POST", "/kiosk/k01/press", k1, j, `{"level":"satisfied"}`, 400, "invalid_press_id", bad, true},
		{"press ID too short", "POST", "/kiosk/k01/press", k1, j, `{"level":"satisfied","press_id":"abc"}`, 400, "invalid_press_id", bad, true},
		{"press ID of 65 chars", "POST", "/kiosk/k01/press", k1, j, `{"level":"satisfied","press_id":"` + strings.Repeat("p", 65) + `"}`, 400, "invalid_press_id", bad, true},
		{"press ID with injection", "POST", "/kiosk/k01/press", k1, j, `{"level":"satisfied","press_id":"p1234567,x=1 y"}`, 400, "invalid_press_id", bad, true},
		{"press ID with NUL", "POST", "/kiosk/k01/press", k1, j, `{"level":"satisfied","press_id":"p1234567\u0000"}`, 400, "invalid_press_id", bad, true},
		{"unknown key", "POST", "/kiosk/k01/press", k1, j, `{"level":"satisfied","press_id":"press-0001","kiosk":"k02"}`, 400, "malformed_json", bad, true},
		{"not JSON", "POST", "/kiosk/k01/press", k1, j, `satisfied`, 400, "malformed_json", bad, true},
		{"truncated JSON", "POST", "/kiosk/k01/press", k1, j, `{"level":"satis`, 400, "malformed_json", bad, true},
		{"two objects", "POST", "/kiosk/k01/press", k1, j, okBody + okBody, 400, "malformed_json", bad, true},
		{"invalid UTF-8", "POST", "/kiosk/k01/press", k1, j, "{\"level\":\"satisfied\xff\",\"press_id\":\"press-0001\"}", 400, "unknown_level", bad, true},
		{"form instead of JSON", "POST", "/kiosk/k01/press", k1, "application/x-www-form-urlencoded", "level=satisfied&press_id=press-0001", 400, "malformed_json", bad, true},
		{"body over 4 KiB", "POST", "/kiosk/k01/press", k1, j, `{"level":"satisfied","press_id":"press-0001","x":"` + strings.Repeat("x", 5000) + `"}`, 413, "too_large", bad, true},
		{"body of 1 MiB", "POST", "/kiosk/k01/press", k1, j, strings.Repeat("[", 1<<20), 413, "too_large", bad, true},
		// Issue 18, row 8: the last of two keys matched without regard to
		// case would win, and dissatisfied be stored for very_satisfied.
		{"level twice, in two cases", "POST", "/kiosk/k01/press", k1, j, `{"level":"very_satisfied","press_id":"press-0001","Level":"dissatisfied"}`, 400, "malformed_json", bad, true},
		{"press ID twice", "POST", "/kiosk/k01/press", k1, j, `{"level":"satisfied","press_id":"press-0001","press_id":"press-0002"}`, 400, "malformed_json", bad, true},
		// Issue 18, row 7: one bearer parser; these pass the token check
		// (the body then fails, so nothing is spooled).
		{"bearer in lower case", "POST", "/kiosk/k01/press", "bearer " + kioskToken("k01"), j, `{"level":2}`, 400, "malformed_json", bad, true},
		{"two spaces after Bearer", "POST", "/kiosk/k01/press", "Bearer  " + kioskToken("k01"), j, `{"level":2}`, 400, "malformed_json", bad, true},
		{"reasons: unknown rating", "POST", "/kiosk/k01/reasons", k1, j, `{"rating_id":"nope","reasons":["cho-lau"]}`, 404, "unknown_rating", bad, true},
		{"reasons: unknown reason", "POST", "/kiosk/k01/reasons", k1, j, `{"rating_id":"r1","reasons":["x,y=1"]}`, 400, "unknown_reason", bad, true},
		{"reasons: none", "POST", "/kiosk/k01/reasons", k1, j, `{"rating_id":"r1","reasons":[]}`, 400, "no_reasons", bad, true},
		{"reasons: twice", "POST", "/kiosk/k01/reasons", k1, j, `{"rating_id":"r1","reasons":["cho-lau","cho-lau"]}`, 400, "duplicate_reason", bad, true},
	}
}

func webhookCases() []httpCase {
	tok := bearer(webhookToken)
	j := "application/json"
	step := queueStep()
	return []httpCase{
		{"no token", "POST", "/queue", "", j, step, 401, "unauthorized", "", true},
		{"wrong token", "POST", "/queue", bearer("not-the-token-0123456789"), j, step, 401, "unauthorized", "", true},
		{"empty bearer", "POST", "/queue", "Bearer ", j, step, 401, "unauthorized", "", true},
		{"kiosk token", "POST", "/queue", bearer(kioskToken("k01")), j, step, 401, "unauthorized", "", true},
		{"token as basic", "POST", "/queue", "Basic " + webhookToken, j, step, 401, "unauthorized", "", true},
		{"GET", "GET", "/queue", tok, "", "", 405, "Method Not Allowed", "", false},
		{"not JSON", "POST", "/queue", tok, j, "called A001", 400, "malformed_json", queueRejected("malformed_json"), true},
		{"truncated", "POST", "/queue", tok, j, step[:len(step)/2], 400, "malformed_json", queueRejected("malformed_json"), true},
		{"empty body", "POST", "/queue", tok, j, "", 400, "malformed_json", queueRejected("malformed_json"), true},
		{"over 8 KiB", "POST", "/queue", tok, j, queueStep("pad", strings.Repeat("x", 9000)), 413, "too_large", "", true},
		{"unknown step", "POST", "/queue", tok, j, queueStep("step", "teleported"), 400, "invalid_value", queueRejected("invalid_value"), true},
		{"step a number", "POST", "/queue", tok, j, queueStep("step", 2), 400, "wrong_type", queueRejected("wrong_type"), true},
		{"no ticket", "POST", "/queue", tok, j, queueStep("ticket", nil), 400, "missing_field", queueRejected("missing_field"), true},
		{"wrong site", "POST", "/queue", tok, j, queueStep("site", "hoaiduc"), 400, "site_mismatch", queueRejected("site_mismatch"), true},
		{"injection in service", "POST", "/queue", tok, j, queueStep("service", "a,b=c d=1"), 400, "invalid_id", queueRejected("invalid_id"), true},
		{"newline in ticket", "POST", "/queue", tok, j, queueStep("ticket", "A1\nqueue x=1"), 400, "invalid_value", queueRejected("invalid_value"), true},
		{"ts far past", "POST", "/queue", tok, j, queueStep("ts", "2001-01-01T00:00:00Z"), 400, "ts_out_of_range", queueRejected("ts_out_of_range"), true},
		{"invalid UTF-8", "POST", "/queue", tok, j, strings.Replace(step, "A001", "A\xff01", 1), 400, "invalid_utf8", queueRejected("invalid_utf8"), true},
		// Issue 18, row 3: a ticket issued in 2020, or a step 13 h old, would
		// make a session years or hours long; one 23 h ahead, a session
		// ending tomorrow.
		{"issued in 2020", "POST", "/queue", tok, j, queueStep("ts", "2020-01-01T00:00:00Z", "step", "issued", "counter", nil), 400, "ts_out_of_range", queueRejected("ts_out_of_range"), true},
		{"13 h old", "POST", "/queue", tok, j, queueStep("ts", time.Now().Add(-13*time.Hour).UTC().Format(time.RFC3339)), 400, "ts_out_of_range", queueRejected("ts_out_of_range"), true},
		{"finished 23 h ahead", "POST", "/queue", tok, j, queueStep("ts", time.Now().Add(23*time.Hour).UTC().Format(time.RFC3339), "step", "finished"), 400, "ts_out_of_range", queueRejected("ts_out_of_range"), true},
		// Issue 18, row 12: services and counters the center does not have.
		{"unknown service", "POST", "/queue", tok, j, queueStep("service", "xuat-nhap-canh"), 400, "invalid_value", queueRejected("invalid_value"), true},
		{"unknown counter", "POST", "/queue", tok, j, queueStep("counter", "c99"), 400, "invalid_value", queueRejected("invalid_value"), true},
		// Issue 18, row 8.
		{"step twice, in two cases", "POST", "/queue", tok, j, strings.Replace(step, `"step":"called"`, `"step":"called","Step":"finished"`, 1), 400, "malformed_json", queueRejected("malformed_json"), true},
		{"right-to-left override in the ticket", "POST", "/queue", tok, j, queueStep("ticket", "A0\u202e10"), 400, "invalid_value", queueRejected("invalid_value"), true},
		// Issue 18, row 7: the same bearer parser as the kiosk API (the
		// body then fails, so nothing is spooled).
		{"bearer in lower case", "POST", "/queue", "bearer " + webhookToken, j, "called A001", 400, "malformed_json", queueRejected("malformed_json"), true},
		{"two spaces after Bearer", "POST", "/queue", "Bearer  " + webhookToken, j, "called A001", 400, "malformed_json", queueRejected("malformed_json"), true},
	}
}

// testHTTP sends each request and checks the answer: status, reason, the
// metric, the log line; and that the spool took nothing. HTTP answers only
// after the agent is done with the request, so no sentinel is needed.
func testHTTP(t *testing.T, w *world, cases []httpCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := w.metrics(t, w.agentAdmin)
			mark := markLog(t, w.agent)
			req, err := http.NewRequest(c.method, w.agentURL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.token != "" {
				req.Header.Set("Authorization", c.token)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := w.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.reason) {
				t.Errorf("%s %s: %d %q, want %d with %q", c.method, textclip.Clip(c.path, 60), resp.StatusCode, textclip.Clip(string(body), 300), c.status, c.reason)
			}
			if len(body) > 1024 {
				t.Errorf("error body of %d bytes: it must not echo the input", len(body))
			}
			after := w.metrics(t, w.agentAdmin)
			if d := after[spoolAppended] - before[spoolAppended]; d != 0 {
				t.Errorf("spool took %v records, want none", d)
			}
			if c.metric != "" && after[c.metric]-before[c.metric] != 1 {
				t.Errorf("%s went up by %v, want 1", c.metric, after[c.metric]-before[c.metric])
			}
			if c.refused {
				endpoint := "kiosk"
				if c.path == "/queue" {
					endpoint = "queue"
				}
				m := `pscm_agent_http_refused_total{endpoint="` + endpoint + `",reason="` + c.reason + `"}`
				if d := after[m] - before[m]; d != 1 {
					t.Errorf("%s went up by %v, want 1", m, d)
				}
				if after[m] == 1 && mark.logLine(t, "request refused", "reason", c.reason) == "" {
					t.Errorf("no log line \"request refused\" with reason %s for the first such refusal; log since the case:\n%s", c.reason,
						textclip.Clip(strings.Join(mark.since(t), "\n"), 3000))
				}
			}
			for _, line := range mark.since(t) {
				if strings.Contains(line, "token-") {
					t.Errorf("a token is in the agent's log: %s", textclip.Clip(line, 300))
				}
			}
		})
	}
}

// checkAgentInflux: after the agent's cases, InfluxDB holds from the
// agent's site exactly the sentinel presses' ratings, and nothing else.
func checkAgentInflux(t *testing.T, w *world, before map[string]int64, sentinels int, extra map[string]int64) {
	t.Helper()
	testenv.Eventually(t, wait, 50*time.Millisecond, func() bool {
		return w.db.Count(t, "rating", "id") >= before["rating.count_id"]+int64(sentinels)
	}, "the %d sentinel ratings never all reached InfluxDB", sentinels)
	after := w.snapshot(t)
	want := plus(plus(before, map[string]int64{"rating.count_id": int64(sentinels)}), extra)
	if d := diff(want, after); d != "" {
		t.Errorf("InfluxDB, beyond the %d sentinel ratings: %s", sentinels, d)
	}
	n := w.db.Query(t, `SELECT count("id") FROM "rating" WHERE "site" = '`+agentSite+`' AND "kiosk" != 'k02'`)
	if len(n) != 0 {
		t.Errorf("ratings from kiosks other than the sentinel's k02: %+v", n)
	}
}

// testIncompleteBody (issue 18, row 6): a body that ends before its
// Content-Length (the client hung up; a stalled one ends the same way at
// the server's read timeout) is a 408 at both doors, which the kiosk page
// and a queue system send again, not a 413 "too large" or a 400 "not
// JSON" that they would take as final. Nothing is spooled.
func testIncompleteBody(t *testing.T, w *world) {
	for _, c := range []struct{ path, token string }{
		{"/kiosk/k01/press", kioskToken("k01")},
		{"/queue", webhookToken},
	} {
		t.Run(c.path, func(t *testing.T) {
			before := w.metrics(t, w.agentAdmin)
			conn, err := net.Dial("tcp", strings.TrimPrefix(w.agentURL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"level\":\"sat", c.path, c.token)
			_ = conn.(*net.TCPConn).CloseWrite()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("incomplete body: HTTP %d, want 408", resp.StatusCode)
			}
			after := w.metrics(t, w.agentAdmin)
			if d := after[spoolAppended] - before[spoolAppended]; d != 0 {
				t.Errorf("spool took %v records, want none", d)
			}
		})
	}
}

// testPressID (issue 18, rows 4 and 5): one tap of kiosk k02, then 20
// parallel copies of the same request (the same press_id), then the same
// press_id with another level. The tap is spooled once and every copy gets
// its answer, with the same rating ID; the other level is a 409 that says
// why, and spools nothing. It returns the ratings it made (one).
func testPressID(t *testing.T, w *world) int {
	post := func(body string) (int, string, string) {
		req, _ := http.NewRequest(http.MethodPost, w.agentURL+"/kiosk/k02/press", strings.NewReader(body))
		req.Header.Set("Authorization", bearer(kioskToken("k02")))
		req.Header.Set("Content-Type", "application/json")
		resp, err := w.http.Do(req)
		if err != nil {
			t.Error(err)
			return 0, "", ""
		}
		defer resp.Body.Close()
		var out struct {
			Status, Reason, RatingID string `json:"-"`
		}
		var raw map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&raw)
		out.Status, _ = raw["status"].(string)
		out.Reason, _ = raw["reason"].(string)
		out.RatingID, _ = raw["rating_id"].(string)
		return resp.StatusCode, out.Status + out.Reason, out.RatingID
	}
	before := w.metrics(t, w.agentAdmin)
	tap := `{"level":"satisfied","press_id":"catalogue-tap-0001"}`
	code, status, id := post(tap)
	if code != http.StatusOK || status != "accepted" || id == "" {
		t.Fatalf("the tap: %d %s %q", code, status, id)
	}
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Go(func() {
			if code, status, rid := post(tap); code == http.StatusOK && status == "accepted" {
				ids[i] = rid
			}
		})
	}
	wg.Wait()
	for i, rid := range ids {
		if rid != id {
			t.Errorf("copy %d answered rating %q, want the tap's %q", i, rid, id)
		}
	}
	if code, reason, _ := post(`{"level":"dissatisfied","press_id":"catalogue-tap-0001"}`); code != http.StatusConflict || reason != "press_id_conflict" {
		t.Errorf("the same press_id with another level: %d %s, want 409 press_id_conflict", code, reason)
	}
	after := w.metrics(t, w.agentAdmin)
	if d := after[spoolAppended] - before[spoolAppended]; d != 1 {
		t.Errorf("spool took %v records, want 1: the tap, once", d)
	}
	accepted := `pscm_agent_presses_total{kiosk="k02",result="accepted",source="touch"}`
	if d := after[accepted] - before[accepted]; d != 1 {
		t.Errorf("%s went up by %v, want 1", accepted, d)
	}
	return 1
}

// testHeldAndRetained (issue 18, rows 1 and 2): a press published with the
// retain flag while the agent listens is one rating; three presses with
// their box's times 6 s apart are published while the agent is stopped and
// held by the center's broker. After the restart the three are ratings at
// their own times, and the retained press, delivered again to the new
// subscription, is refused and counted, not a second rating. It returns
// the ratings made (four).
func testHeldAndRetained(t *testing.T, w *world) int {
	retained := pressMetric("k02", "retained")
	accepted := pressMetric("k02", "accepted")
	before := w.metrics(t, w.agentAdmin)
	if tok := w.pubLocal.Publish(pressTopic("k02"), 1, true, `{"button":2,"seq":7001}`); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("retained press: %v", tok.Error())
	}
	testenv.Eventually(t, wait, tick, func() bool { return w.metrics(t, w.agentAdmin)[accepted] == before[accepted]+1 },
		"the retained press, published while the agent listened, was not taken")
	// Clear it at the end, so no later start of the agent meets it.
	defer func() { w.pubLocal.Publish(pressTopic("k02"), 1, true, []byte{}).WaitTimeout(10 * time.Second) }()

	w.agent.Stop(t)
	first := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	for i := range 3 {
		publish(t, w.pubLocal, pressTopic("k02"), fmt.Appendf(nil, `{"button":1,"seq":%d,"ts":%q}`, 7002+i,
			first.Add(time.Duration(6*i)*time.Second).Format(time.RFC3339Nano)))
	}
	w.agent.Start(t)
	testenv.Eventually(t, wait, tick, func() bool {
		m := w.metrics(t, w.agentAdmin) // a restarted agent counts from zero
		return m[accepted] == 3 && m[retained] == 1
	}, "after the restart the held presses were not all taken (%v of 3), or the retained one not refused (%v of 1)",
		w.metrics(t, w.agentAdmin)[accepted], w.metrics(t, w.agentAdmin)[retained])
	rows := w.db.Query(t, `SELECT "press_seq" FROM "rating" WHERE "press_seq" >= 7002`)
	testenv.Eventually(t, wait, tick, func() bool {
		rows = w.db.Query(t, `SELECT "press_seq" FROM "rating" WHERE "press_seq" >= 7002`)
		return len(rows) == 1 && len(rows[0].Values) == 3
	}, "the three held presses never all reached InfluxDB")
	for i, v := range rows[0].Values {
		ns, err := strconv.ParseInt(fmt.Sprint(v[0]), 10, 64)
		want := first.Add(time.Duration(6*i) * time.Second)
		if got := time.Unix(0, ns).UTC().Truncate(time.Millisecond); err != nil || !got.Equal(want) {
			t.Errorf("held press %d stored at %v, want its own time %v", i, got, want)
		}
	}
	return 4
}
