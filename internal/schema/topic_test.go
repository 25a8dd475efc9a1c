package schema

import (
	"strings"
	"testing"
)

func TestTopicRoundTrip(t *testing.T) {
	tests := []struct {
		site   string
		kind   Kind
		source string
		want   string
	}{
		{"anlao", KindRating, "", "pscm/v1/anlao/rating"},
		{"anlao", KindQueue, "qms-1", "pscm/v1/anlao/queue/qms-1"},
		{"anlao", KindOccupancy, "anlao-edge-1", "pscm/v1/anlao/occupancy/anlao-edge-1"},
		{"0", KindSession, "", "pscm/v1/0/session"},
		{"an_lao", KindDossier, "mot_cua", "pscm/v1/an_lao/dossier/mot_cua"},
		{"anlao", KindCamera, "", "pscm/v1/anlao/camera"},
		{"anlao", KindAgent, "anlao-edge-1", "pscm/v1/anlao/agent/anlao-edge-1"},
		{strings.Repeat("s", 63), KindRating, strings.Repeat("x", 63), "pscm/v1/" + strings.Repeat("s", 63) + "/rating/" + strings.Repeat("x", 63)},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := TopicFor(tt.site, tt.kind, tt.source)
			if got != tt.want {
				t.Fatalf("TopicFor = %q, want %q", got, tt.want)
			}
			tp, err := ParseTopic(got)
			if err != nil {
				t.Fatalf("ParseTopic: %v", err)
			}
			want := Topic{Site: tt.site, Kind: tt.kind, Source: tt.source}
			if tp != want {
				t.Errorf("ParseTopic = %+v, want %+v", tp, want)
			}
			if tp.String() != got {
				t.Errorf("String() = %q", tp.String())
			}
		})
	}
}

func TestTopicForRefuses(t *testing.T) {
	tests := []struct {
		name   string
		site   string
		kind   Kind
		source string
	}{
		{"agent without source", "anlao", KindAgent, ""},
		{"empty site", "", KindRating, ""},
		{"site in capitals", "Anlao", KindRating, ""},
		{"site with a slash", "an/lao", KindRating, ""},
		{"wildcard site", "+", KindRating, ""},
		{"unknown kind", "anlao", "ratings", ""},
		{"kiosk is not a kind", "anlao", "kiosk", "k03"},
		{"source with a slash", "anlao", KindCamera, "edge/1"},
		{"source wildcard", "anlao", KindCamera, "#"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TopicFor(tt.site, tt.kind, tt.source); got != "" {
				t.Errorf("TopicFor = %q, want \"\"", got)
			}
		})
	}
}

func TestParseTopic(t *testing.T) {
	tests := []struct {
		topic  string
		want   Topic
		reason Reason
	}{
		{"pscm/v1/anlao/rating", Topic{Site: "anlao", Kind: KindRating}, noReason},
		{"pscm/v1/anlao/camera/anlao-edge-1", Topic{Site: "anlao", Kind: KindCamera, Source: "anlao-edge-1"}, noReason},
		{"pscm/v1/anlao/agent/anlao-edge-1", Topic{Site: "anlao", Kind: KindAgent, Source: "anlao-edge-1"}, noReason},
		{"pscm/v1/anlao/kiosk/k03/press", Topic{Site: "anlao", Kind: "kiosk", Source: "k03", Press: true}, noReason},

		{"", Topic{}, ReasonBadTopic},
		{"pscm/v1/", Topic{}, ReasonBadTopic},
		{"pscm/v1", Topic{}, ReasonBadTopic},
		{"pscm/v2/anlao/rating", Topic{}, ReasonBadTopic},
		{"PSCM/v1/anlao/rating", Topic{}, ReasonBadTopic},
		{"/pscm/v1/anlao/rating", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/", Topic{}, ReasonBadTopic},
		{"pscm/v1//rating", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/rating/", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao//x", Topic{}, ReasonBadTopic},
		{"pscm/v1/+/rating", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/+", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/#", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/rating/#", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/rating/a+b", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/rating/a/b", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/rating/a/b/c", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/kiosk/k03/press/x", Topic{}, ReasonBadTopic},
		{"pscm/v1/Anlao/rating", Topic{}, ReasonBadTopic},
		{"pscm/v1/an lao/rating", Topic{}, ReasonBadTopic},
		{"pscm/v1/" + strings.Repeat("s", 64) + "/rating", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/rating/Edge-1", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/rating/edge,1", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/agent", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/kiosk", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/kiosk/k03", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/kiosk/k03/pressed", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/kiosk/K03/press", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/rating/k03/press", Topic{}, ReasonBadTopic},
		{"pscm/v1/anlao/ratings", Topic{}, ReasonUnknownKind},
		{"pscm/v1/anlao/Rating", Topic{}, ReasonUnknownKind},
		{"pscm/v1/anlao/press", Topic{}, ReasonUnknownKind},
		{"pscm/v1/anlao/" + strings.Repeat("k", 300) + "/x", Topic{}, ReasonUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			got, err := ParseTopic(tt.topic)
			if tt.reason == noReason {
				if err != nil {
					t.Fatalf("ParseTopic: %v", err)
				}
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
				if got.String() != tt.topic {
					t.Errorf("String() = %q", got.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted as %+v", got)
			}
			checkError(t, err, tt.reason, "topic", tt.topic)
		})
	}
}

func TestSiteFilters(t *testing.T) {
	tests := []struct {
		name  string
		site  string
		kinds []Kind
		want  []string
	}{
		{"one kind", "anlao", []Kind{KindRating}, []string{"pscm/v1/anlao/rating", "pscm/v1/anlao/rating/+"}},
		{"two kinds in order", "anlao", []Kind{KindQueue, KindAgent},
			[]string{"pscm/v1/anlao/queue", "pscm/v1/anlao/queue/+", "pscm/v1/anlao/agent", "pscm/v1/anlao/agent/+"}},
		{"any site", AnySite, []Kind{KindDossier}, []string{"pscm/v1/+/dossier", "pscm/v1/+/dossier/+"}},
		{"invalid site", "An/lao", []Kind{KindRating}, nil},
		{"multi-level wildcard site", "#", nil, nil},
		{"empty site", "", nil, nil},
		{"kiosk is not a kind", "anlao", []Kind{"kiosk"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SiteFilters(tt.site, tt.kinds...)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("SiteFilters(%q, %v) = %q, want %q", tt.site, tt.kinds, got, tt.want)
			}
		})
	}
}

// TestSiteFiltersMatchTopicFor: with no kinds, the filters cover every kind
// of the contract, and each topic TopicFor builds matches exactly one of them.
func TestSiteFiltersMatchTopicFor(t *testing.T) {
	fs := SiteFilters("anlao")
	if len(fs) != 2*len(Kinds()) {
		t.Fatalf("%d filters for %d kinds", len(fs), len(Kinds()))
	}
	for _, k := range Kinds() {
		for _, src := range []string{"", "edge-1"} {
			topic := TopicFor("anlao", k, src)
			if topic == "" {
				continue // an agent topic needs its source
			}
			n := 0
			for _, f := range fs {
				if filterMatches(f, topic) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s matches %d filters, want 1", topic, n)
			}
			if filterMatches(PressFilter("anlao"), topic) {
				t.Errorf("press filter matches the event topic %s", topic)
			}
		}
	}
	press := Topic{Site: "anlao", Kind: kioskSegment, Source: "k03", Press: true}.String()
	if !filterMatches(PressFilter("anlao"), press) || !filterMatches(PressFilter(AnySite), press) {
		t.Errorf("press filter does not match %s", press)
	}
	for _, f := range fs {
		if filterMatches(f, press) {
			t.Errorf("event filter %s matches the press topic %s", f, press)
		}
	}
	if PressFilter("an lao") != "" {
		t.Error("PressFilter accepted an invalid site")
	}
}

// filterMatches is MQTT's matching of a filter with single-level wildcards
// against a topic name.
func filterMatches(filter, topic string) bool {
	f, tp := strings.Split(filter, "/"), strings.Split(topic, "/")
	if len(f) != len(tp) {
		return false
	}
	for i := range f {
		if f[i] != "+" && f[i] != tp[i] {
			return false
		}
	}
	return true
}
