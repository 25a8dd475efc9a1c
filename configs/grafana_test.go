package configs

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// The seeded day, in UTC; the dashboards' time range is 01:00 to 03:59:59.999.
var (
	day       = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	rangeFrom = day.Add(time.Hour)
	rangeTo   = day.Add(4*time.Hour - time.Millisecond)
)

func at(hhmm string) time.Time {
	d, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	return day.Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute)
}

// seedEvents are the known events the expected answers below are computed
// from by hand. Each is validated and written through the contract's line
// protocol, exactly as the collector writes it.
func seedEvents() []schema.Event {
	var evs []schema.Event
	n := 0
	h := func(site string, ts time.Time) schema.Header {
		n++
		return schema.Header{ID: fmt.Sprintf("ev-%03d", n), TS: ts, Site: site}
	}
	rating := func(site, counter, level string, ts time.Time) {
		evs = append(evs, &schema.Rating{Header: h(site, ts), Counter: counter, Kiosk: "k-" + counter, Level: schema.Level(level)})
	}
	for _, r := range []struct{ site, counter, level, at string }{
		{"anlao", "c01", "very_satisfied", "01:10"}, {"anlao", "c01", "satisfied", "01:20"}, {"anlao", "c01", "satisfied", "01:30"},
		{"anlao", "c01", "dissatisfied", "02:10"}, {"anlao", "c01", "satisfied", "02:20"}, {"anlao", "c01", "neutral", "03:40"},
		{"anlao", "c02", "neutral", "01:15"}, {"anlao", "c02", "very_satisfied", "02:15"}, {"anlao", "c02", "very_satisfied", "02:25"},
		{"anlao", "c02", "satisfied", "02:35"}, {"anlao", "c02", "satisfied", "03:05"},
		{"hoaan", "c01", "satisfied", "01:00"}, {"hoaan", "c01", "very_satisfied", "01:30"},
	} {
		rating(r.site, r.counter, r.level, at(r.at))
	}
	// Outside the range: the evening before, and the first instant after it.
	rating("anlao", "c01", "dissatisfied", day.Add(-time.Hour))
	rating("anlao", "c01", "very_satisfied", day.Add(4*time.Hour))

	dossier := func(site, outcome string, ts time.Time) {
		evs = append(evs, &schema.Dossier{Header: h(site, ts), Dossier: fmt.Sprintf("D-%d", n), Procedure: "1.001234",
			Received: ts.Add(-72 * time.Hour), Due: ts.Add(24 * time.Hour), Resolved: ts, Outcome: schema.Outcome(outcome)})
	}
	for _, d := range []struct{ site, outcome, at string }{
		{"anlao", "early", "01:10"}, {"anlao", "early", "01:40"}, {"anlao", "early", "02:10"},
		{"anlao", "on_time", "02:40"}, {"anlao", "on_time", "03:10"}, {"anlao", "late", "03:20"},
		{"hoaan", "early", "01:30"}, {"hoaan", "late", "02:30"},
	} {
		dossier(d.site, d.outcome, at(d.at))
	}
	dossier("anlao", "late", day.Add(-2*time.Hour))

	session := func(site, counter string, end time.Time, wait, service float64) {
		start := end.Add(-time.Duration(service) * time.Second)
		evs = append(evs, &schema.Session{Header: h(site, end), Counter: counter, Start: start, End: end,
			WaitS: wait, ServiceS: service, Source: schema.SessionSource("fused")})
	}
	session("anlao", "c01", at("01:05"), 60, 300)
	session("anlao", "c01", at("01:35"), 120, 600)
	session("anlao", "c01", at("02:05"), 180, 900)
	session("anlao", "c02", at("02:30"), 30, 200)
	session("hoaan", "c01", at("01:20"), 300, 400)

	occ := func(counter, zone string, occupied bool, ts time.Time) {
		evs = append(evs, &schema.Occupancy{Header: h("anlao", ts), Camera: "cam1", Counter: counter,
			Zone: schema.Zone(zone), Occupied: occupied, Confidence: 0.9})
	}
	occ("c01", "staff", true, at("01:00"))
	occ("c01", "staff", false, at("01:50"))
	occ("c01", "staff", true, at("02:10"))
	occ("c01", "citizen", true, at("01:30"))
	occ("c02", "staff", true, at("01:40"))

	queue := func(counter, step string, ts time.Time) {
		evs = append(evs, &schema.Queue{Header: h("anlao", ts), Ticket: fmt.Sprintf("A%03d", n), Service: "ho-tich",
			Counter: counter, Step: schema.Step(step)})
	}
	queue("", "issued", at("01:01"))
	queue("", "issued", at("01:02"))
	queue("", "issued", at("02:03"))
	queue("c01", "called", at("01:05"))

	camera := func(site, cam string, up bool, fps, kbps float64, reconnects int64, ts time.Time) {
		c := &schema.Camera{Header: h(site, ts), Camera: cam, Up: up, FPS: fps, Kbps: kbps, Reconnects: reconnects}
		if up {
			c.GopS, c.Width, c.Height, c.Codec = 2, 1920, 1080, "h264"
		}
		evs = append(evs, c)
	}
	camera("anlao", "cam1", true, 25, 4000, 0, at("01:00"))
	camera("anlao", "cam1", false, 0, 0, 2, at("03:00"))
	camera("anlao", "cam2", true, 12.5, 1000, 1, at("02:00"))
	camera("hoaan", "cam1", true, 25, 3000, 0, at("01:00"))

	agent := func(site, name, status, version string, spool int64, ts time.Time) {
		evs = append(evs, &schema.Agent{Header: h(site, ts), Agent: name, Status: status, Version: version, SpoolDepth: spool, UptimeS: 60})
	}
	agent("anlao", "edge-1", "online", "0.1.0", 0, at("01:00"))
	agent("anlao", "edge-1", "online", "0.1.0", 5, at("03:30"))
	agent("anlao", "edge-2", "offline", "", 0, at("02:00"))
	agent("hoaan", "hoaan-edge-1", "online", "0.1.0", 0, at("01:00"))
	return evs
}

// scenario is one dashboard with its template variables set as Grafana
// interpolates them in a regex (a multi-value or All selection becomes
// (a|b)), and the exact answer of every query, keyed by
// "<panel title>/<refId>" or "$<variable>". Rows are rendered by render.
type scenario struct {
	file string
	vars map[string]string
	want map[string][]string
}

var grafanaScenarios = []scenario{
	{
		file: "grafana/dashboards/center.json",
		vars: map[string]string{"site": "anlao", "counter": "c01"},
		want: map[string][]string{
			"$site":    {"key=site value=anlao", "key=site value=hoaan"},
			"$counter": {"key=counter value=c01", "key=counter value=c02"},
			"Tỷ lệ hài lòng / Satisfaction %/A":              {"count=4"},
			"Tỷ lệ hài lòng / Satisfaction %/B":              {"count=6"},
			"Tỷ lệ hài lòng / Satisfaction %/C":              {"C=66.6667"},
			"Hồ sơ đúng hạn / Dossiers on time or early %/A": {"count=5"},
			"Hồ sơ đúng hạn / Dossiers on time or early %/B": {"count=6"},
			"Hồ sơ đúng hạn / Dossiers on time or early %/C": {"C=83.3333"},
			"Tổng đánh giá theo mức / Ratings by level/A": {
				"level=dissatisfied count=1", "level=neutral count=1", "level=satisfied count=3", "level=very_satisfied count=1"},
			"Hồ sơ theo kết quả / Dossiers by outcome/A": {"outcome=early count=3", "outcome=late count=1", "outcome=on_time count=2"},
			"Đánh giá theo thời gian / Ratings over time/A": {
				"level=dissatisfied 01:00 count=0", "level=dissatisfied 02:00 count=1", "level=dissatisfied 03:00 count=0",
				"level=neutral 01:00 count=0", "level=neutral 02:00 count=0", "level=neutral 03:00 count=1",
				"level=satisfied 01:00 count=2", "level=satisfied 02:00 count=1", "level=satisfied 03:00 count=0",
				"level=very_satisfied 01:00 count=1", "level=very_satisfied 02:00 count=0", "level=very_satisfied 03:00 count=0"},
			"Thời gian chờ và phục vụ / Wait and service time/A": {
				"01:00 wait_mean=90 wait_p90=120 service_mean=450 service_p90=600",
				"02:00 wait_mean=180 wait_p90=180 service_mean=900 service_p90=900"},
			"Phiên phục vụ theo quầy / Sessions by counter/A": {"counter=c01 sessions=3 wait_mean=120 service_mean=600"},
			"Cán bộ có mặt tại quầy / Staff seat occupied/A": {
				"counter=c01 01:00 last=false", "counter=c01 02:00 last=true", "counter=c01 03:00 last=true"},
			"Vé xếp hàng đã phát / Queue tickets issued/A": {"01:00 count=2", "02:00 count=1", "03:00 count=0"},
			"Camera/A": {
				"camera=cam1 up=false fps=0 kbps=0 reconnects=2", "camera=cam2 up=true fps=12.5 kbps=1000 reconnects=1"},
			"Máy trạm / Agents/A": {
				"agent=edge-1 status=online spool_depth=5 version=0.1.0", "agent=edge-2 status=offline spool_depth=0 version=null"},
		},
	},
	{
		file: "grafana/dashboards/province.json",
		vars: map[string]string{"site": "(anlao|hoaan)"},
		want: map[string][]string{
			"$site": {"key=site value=anlao", "key=site value=hoaan"},
			"Tỷ lệ hài lòng theo điểm / Satisfaction % by site/A":              {"site=anlao count=8", "site=hoaan count=2"},
			"Tỷ lệ hài lòng theo điểm / Satisfaction % by site/B":              {"site=anlao count=11", "site=hoaan count=2"},
			"Tỷ lệ hài lòng theo điểm / Satisfaction % by site/C":              {"site=anlao C=72.7273", "site=hoaan C=100"},
			"Hồ sơ đúng hạn theo điểm / Dossiers on time or early % by site/A": {"site=anlao count=5", "site=hoaan count=1"},
			"Hồ sơ đúng hạn theo điểm / Dossiers on time or early % by site/B": {"site=anlao count=6", "site=hoaan count=2"},
			"Hồ sơ đúng hạn theo điểm / Dossiers on time or early % by site/C": {"site=anlao C=83.3333", "site=hoaan C=50"},
			"Đánh giá theo thời gian / Ratings over time by site/A": {
				"site=anlao 01:00 count=4", "site=anlao 02:00 count=5", "site=anlao 03:00 count=2",
				"site=hoaan 01:00 count=2", "site=hoaan 02:00 count=0", "site=hoaan 03:00 count=0"},
			"Đánh giá theo điểm và mức / Ratings by site and level/A": {
				"level=dissatisfied,site=anlao ratings=1", "level=neutral,site=anlao ratings=2",
				"level=satisfied,site=anlao ratings=5", "level=satisfied,site=hoaan ratings=1",
				"level=very_satisfied,site=anlao ratings=3", "level=very_satisfied,site=hoaan ratings=1"},
			"Thời gian chờ và phục vụ theo điểm / Wait and service time by site/A": {
				"site=anlao wait_mean=97.5 service_mean=500", "site=hoaan wait_mean=300 service_mean=400"},
			"Máy trạm / Agents/A": {
				"agent=edge-1,site=anlao status=online", "agent=edge-2,site=anlao status=offline",
				"agent=hoaan-edge-1,site=hoaan status=online"},
			"Camera/A": {"camera=cam1,site=anlao up=false", "camera=cam1,site=hoaan up=true", "camera=cam2,site=anlao up=true"},
		},
	},
}

type dashboardJSON struct {
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panelJSON `json:"panels"`
}

type panelJSON struct {
	Title   string      `json:"title"`
	Type    string      `json:"type"`
	Panels  []panelJSON `json:"panels"` // a row's panels
	Targets []struct {
		RefID      string `json:"refId"`
		Query      string `json:"query"`
		RawQuery   bool   `json:"rawQuery"`
		Type       string `json:"type"`
		Expression string `json:"expression"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
}

func flatten(ps []panelJSON) []panelJSON {
	var out []panelJSON
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

var leftVarRe = regexp.MustCompile(`\$\{?[A-Za-z_]`)

// interpolate does what Grafana does to a query before sending it to
// InfluxDB: $timeFilter, $__interval and the template variables.
func interpolate(t *testing.T, q string, vars map[string]string) string {
	t.Helper()
	q = strings.ReplaceAll(q, "$timeFilter",
		fmt.Sprintf("time >= %dms and time <= %dms", rangeFrom.UnixMilli(), rangeTo.UnixMilli()))
	q = strings.ReplaceAll(q, "$__interval", "1h")
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, k := range names {
		q = strings.ReplaceAll(q, "$"+k, vars[k])
	}
	if leftVarRe.MatchString(q) { // a regex's end anchor "$/" is not a variable
		t.Fatalf("query still has a variable after interpolation: %s", q)
	}
	return q
}

// render turns a result into one line per row: the series' tags (sorted),
// the time (hh:mm UTC) when the query groups by time, then column=value.
// Numbers are rounded to 4 decimals.
func render(series []testenv.Series, byTime bool) []string {
	var lines []string
	for _, s := range series {
		tags := make([]string, 0, len(s.Tags))
		for k, v := range s.Tags {
			tags = append(tags, k+"="+v)
		}
		sort.Strings(tags)
		for _, row := range s.Values {
			var parts []string
			if len(tags) > 0 {
				parts = append(parts, strings.Join(tags, ","))
			}
			for i, col := range s.Columns {
				if col == "time" {
					if byTime {
						ns, _ := row[i].(json.Number).Int64()
						parts = append(parts, time.Unix(0, ns).UTC().Format("15:04"))
					}
					continue
				}
				parts = append(parts, col+"="+value(row[i]))
			}
			lines = append(lines, strings.Join(parts, " "))
		}
	}
	return lines
}

func value(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return number(f)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func number(f float64) string {
	return strconv.FormatFloat(math.Round(f*1e4)/1e4, 'f', -1, 64)
}

var mathRe = regexp.MustCompile(`^\$([A-Z]) / \$([A-Z]) \* 100$`)

// evalMath evaluates a Grafana math expression of the form "$A / $B * 100"
// row by row, joining A and B on their tags, as Grafana's server-side
// expressions join series by labels.
func evalMath(t *testing.T, expr string, results map[string][]testenv.Series) []string {
	t.Helper()
	m := mathRe.FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("math expression %q: only \"$X / $Y * 100\" is supported by this test", expr)
	}
	key := func(s testenv.Series) string {
		tags := make([]string, 0, len(s.Tags))
		for k, v := range s.Tags {
			tags = append(tags, k+"="+v)
		}
		sort.Strings(tags)
		return strings.Join(tags, ",")
	}
	num := results[m[1]]
	den := map[string]float64{}
	for _, s := range results[m[2]] {
		if len(s.Values) != 1 || len(s.Columns) != 2 {
			t.Fatalf("$%s: math needs one value per series, got %+v", m[2], s)
		}
		f, _ := s.Values[0][1].(json.Number).Float64()
		den[key(s)] = f
	}
	var lines []string
	for _, s := range num {
		if len(s.Values) != 1 || len(s.Columns) != 2 {
			t.Fatalf("$%s: math needs one value per series, got %+v", m[1], s)
		}
		f, _ := s.Values[0][1].(json.Number).Float64()
		d, ok := den[key(s)]
		if !ok {
			t.Fatalf("$%s has no series with tags %q", m[2], key(s))
		}
		line := "C=" + number(f/d*100)
		if k := key(s); k != "" {
			line = k + " " + line
		}
		lines = append(lines, line)
	}
	return lines
}

// TestGrafanaDashboards runs every query of every shipped dashboard (panel
// targets, math expressions and template variables) against a real InfluxDB
// 1.8 seeded with known events, and checks each answer exactly. A query the
// table does not cover fails, as does an expected answer no query produced.
func TestGrafanaDashboards(t *testing.T) {
	db := testenv.StartInflux(t, testenv.WithoutFlux())
	now := day.Add(24 * time.Hour)
	var lines []byte
	for _, ev := range seedEvents() {
		if err := ev.Validate(now); err != nil {
			t.Fatalf("seed event %+v: %v", ev, err)
		}
		lines = ev.AppendLine(lines)
	}
	db.Write(t, string(lines))

	files, err := filepath.Glob("grafana/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in grafana/dashboards: %v", err)
	}
	covered := map[string]bool{}
	for _, sc := range grafanaScenarios {
		covered[sc.file] = true
		t.Run(sc.file, func(t *testing.T) {
			b, err := os.ReadFile(sc.file)
			if err != nil {
				t.Fatal(err)
			}
			var d dashboardJSON
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("%s: %v", sc.file, err)
			}
			got := map[string][]string{}
			check := func(key string, lines []string) {
				t.Helper()
				got[key] = lines
				want, ok := sc.want[key]
				switch {
				case !ok:
					t.Errorf("%q: query not covered by the test; it returns %q", key, lines)
				case strings.Join(lines, "\n") != strings.Join(want, "\n"):
					t.Errorf("%q:\n got  %q\n want %q", key, lines, want)
				}
			}
			for _, v := range d.Templating.List {
				check("$"+v.Name, render(db.Query(t, interpolate(t, v.Query, sc.vars)), false))
			}
			for _, p := range flatten(d.Panels) {
				if p.Type == "row" {
					continue
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				results := map[string][]testenv.Series{}
				for _, tg := range p.Targets {
					key := p.Title + "/" + tg.RefID
					switch {
					case tg.Datasource.Type == "__expr__" && tg.Type == "math":
						check(key, evalMath(t, tg.Expression, results))
					case tg.Datasource.Type == "influxdb" && tg.Datasource.UID == "pscm-influxdb" && tg.RawQuery:
						q := interpolate(t, tg.Query, sc.vars)
						series := db.Query(t, q)
						results[tg.RefID] = series
						check(key, render(series, strings.Contains(q, "GROUP BY time(")))
					default:
						t.Errorf("%q: target is neither a raw InfluxQL query on pscm-influxdb nor a math expression", key)
					}
				}
			}
			for key := range sc.want {
				if _, ok := got[key]; !ok {
					t.Errorf("%q: expected, but no query of %s has that panel title and refId", key, sc.file)
				}
			}
		})
	}
	for _, f := range files {
		if !covered[f] {
			t.Errorf("%s: dashboard without a test scenario", f)
		}
	}
}

// TestGrafanaProvisioning: the datasource reads the database setup.iql
// creates, as InfluxQL, with the uid the dashboards use and no password in
// the file; the dashboard provider points where make install puts the JSON.
func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			UID            string            `yaml:"uid"`
			Type           string            `yaml:"type"`
			JSONData       map[string]any    `yaml:"jsonData"`
			SecureJSONData map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/pscm.yml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources: %+v", ds)
	}
	d := ds.Datasources[0]
	setup, err := os.ReadFile("influxdb/setup.iql")
	if err != nil {
		t.Fatal(err)
	}
	db := regexp.MustCompile(`(?m)^CREATE DATABASE (\w+)`).FindSubmatch(setup)
	if db == nil {
		t.Fatal("setup.iql creates no database")
	}
	if d.UID != "pscm-influxdb" || d.Type != "influxdb" || d.JSONData["version"] != "InfluxQL" || d.JSONData["dbName"] != string(db[1]) {
		t.Errorf("datasource uid=%q type=%q jsonData=%v; want pscm-influxdb, influxdb, InfluxQL on database %s", d.UID, d.Type, d.JSONData, db[1])
	}
	if pw := d.SecureJSONData["password"]; !strings.HasPrefix(pw, "$") {
		t.Errorf("the password must come from the environment, not the file: %q", pw)
	}
	var prov struct {
		Providers []struct {
			Type    string         `yaml:"type"`
			Options map[string]any `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/pscm.yml", &prov)
	if len(prov.Providers) != 1 || prov.Providers[0].Type != "file" ||
		prov.Providers[0].Options["path"] != "/usr/local/share/pscm/grafana/dashboards" {
		t.Errorf("dashboard provider: %+v; want type file at /usr/local/share/pscm/grafana/dashboards", prov.Providers)
	}
}

// TestPassRuleEverywhere: Grafana and Prometheus judge the plan's targets
// by the one pass rule (kpi.Passes: strictly above, "trên 95 %"). Grafana
// colours a value at or above a step's value with that step, so "green"
// starts a hair above each target: no share of fewer than 10^8 ratings
// falls between. The 3-day alert fires at 5 % unsatisfied, where 95 %
// satisfied is already "not met" (issue 14: Grafana turned green at 95,
// the alert waited for more than 5 %).
func TestPassRuleEverywhere(t *testing.T) {
	targets := kpi.DefaultTargets()
	for _, f := range []string{"grafana/dashboards/center.json", "grafana/dashboards/province.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var steps []float64
		for _, m := range regexp.MustCompile(`"color": "green",\s*"value": ([0-9.]+)`).FindAllSubmatch(b, -1) {
			v, _ := strconv.ParseFloat(string(m[1]), 64)
			steps = append(steps, v)
		}
		if len(steps) < 2 {
			t.Fatalf("%s: %d green threshold steps, want the satisfaction and on-time ones", f, len(steps))
		}
		for _, v := range steps {
			var target float64
			switch {
			case math.Floor(v) == targets.SatisfactionPct:
				target = targets.SatisfactionPct
			case math.Floor(v) == targets.OnTimePct:
				target = targets.OnTimePct
			default:
				t.Errorf("%s: green from %v, which is not one of the plan's targets", f, v)
				continue
			}
			// A share just at the target fails, the smallest share above it
			// a realistic count can make passes, and Grafana agrees on both.
			if kpi.Passes(int64(target*1e6), 1e8, target, kpi.RuleAbove) || v <= target || v > target+1e-5 {
				t.Errorf("%s: green from %v for the %v target: want just above it", f, v, target)
			}
		}
	}
	alerts, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	budget := (100 - targets.SatisfactionPct) / 100
	for _, w := range []string{"ratio_rate3d", "ratio_rate1d"} {
		want := fmt.Sprintf("site:pscm_collector_ratings_unsatisfied:%s >= %s", w, strconv.FormatFloat(budget, 'f', -1, 64))
		if !strings.Contains(string(alerts), want) {
			t.Errorf("alerts.yml lacks %q: exactly %v %% satisfied is not met and must alert", want, targets.SatisfactionPct)
		}
	}
}
