package schema

import "strings"

// Topic is a parsed pscm topic:
//
//	pscm/v1/{site}/{kind}                 any publisher
//	pscm/v1/{site}/{kind}/{source}        a publisher that names itself
//	pscm/v1/{site}/kiosk/{kiosk}/press    raw hardware press (Press is true)
//
// For a press topic Kind is "kiosk", which is not a valid Kind, and Source is
// the kiosk ID.
type Topic struct {
	Site   string
	Kind   Kind
	Source string
	Press  bool
}

// ParseTopic parses and checks a topic name. It accepts only the three shapes
// above with valid IDs, and agent topics only with their source: a retained
// agent status without the agent ID would overwrite every other agent's at
// the same site. Errors are *Error with ReasonBadTopic, or ReasonUnknownKind
// when only the kind segment is wrong.
func ParseTopic(s string) (Topic, error) {
	if !strings.HasPrefix(s, TopicPrefix) {
		return Topic{}, badTopic("does not start with " + TopicPrefix)
	}
	if strings.ContainsAny(s, "+#") {
		// A filter is never a message's topic; say so rather than "invalid id".
		return Topic{}, badTopic("wildcards + and # are not allowed in a topic name")
	}
	var seg [4]string
	n := 0
	for rest := s[len(TopicPrefix):]; ; {
		if n == len(seg) {
			return Topic{}, badTopic("too many segments")
		}
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			seg[n] = rest
			n++
			break
		}
		seg[n], rest = rest[:i], rest[i+1:]
		n++
	}
	for i := range n {
		if seg[i] == "" {
			return Topic{}, badTopic("empty segment")
		}
	}
	if n < 2 {
		return Topic{}, badTopic("want " + TopicPrefix + "{site}/{kind} or " + TopicPrefix + "{site}/{kind}/{source}")
	}
	site, kind := seg[0], seg[1]
	if !ValidID(site) {
		return Topic{}, badTopic("site " + quote(site) + " does not match " + IDPattern)
	}
	if n == 4 {
		if kind != kioskSegment || seg[3] != "press" {
			return Topic{}, badTopic("four segments are only allowed as " + TopicPrefix + "{site}/kiosk/{kiosk}/press")
		}
		if !ValidID(seg[2]) {
			return Topic{}, badTopic("kiosk " + quote(seg[2]) + " does not match " + IDPattern)
		}
		return Topic{Site: site, Kind: kioskSegment, Source: seg[2], Press: true}, nil
	}
	if kind == kioskSegment {
		return Topic{}, badTopic("kiosk topics carry raw presses only: " + TopicPrefix + "{site}/kiosk/{kiosk}/press")
	}
	if !Kind(kind).Valid() {
		return Topic{}, newError(ReasonUnknownKind, "topic", "kind "+quote(kind)+" is not one of "+kindList)
	}
	t := Topic{Site: site, Kind: Kind(kind)}
	if n == 3 {
		if !ValidID(seg[2]) {
			return Topic{}, badTopic("source " + quote(seg[2]) + " does not match " + IDPattern)
		}
		t.Source = seg[2]
	}
	if t.Kind == KindAgent && t.Source == "" {
		return Topic{}, badTopic("agent topics need the agent ID: " + TopicPrefix + "{site}/agent/{agent}")
	}
	return t, nil
}

func badTopic(msg string) error {
	return newError(ReasonBadTopic, "topic", msg)
}

// String formats t as a topic name without checking it; use TopicFor to
// build a topic to publish to.
func (t Topic) String() string {
	if t.Press {
		return TopicPrefix + t.Site + "/" + kioskSegment + "/" + t.Source + "/press"
	}
	if t.Source == "" {
		return TopicPrefix + t.Site + "/" + string(t.Kind)
	}
	return TopicPrefix + t.Site + "/" + string(t.Kind) + "/" + t.Source
}

// TopicFor returns the topic an event of kind from site is published to;
// source, the publisher's own ID, may be "" except for KindAgent, whose
// retained status must name its agent.
//
// It returns "" when the parts cannot form a topic that ParseTopic accepts.
// Publishers check their configured IDs with ValidID at startup; the empty
// result makes a missed check fail at the broker, which refuses an empty
// topic, instead of publishing where no consumer listens.
func TopicFor(site string, kind Kind, source string) string {
	if !ValidID(site) || !kind.Valid() || source != "" && !ValidID(source) || kind == KindAgent && source == "" {
		return ""
	}
	return Topic{Site: site, Kind: kind, Source: source}.String()
}

// AnySite is the site segment of a filter that matches every site.
const AnySite = "+"

// SiteFilters returns the subscription filters matching every event of the
// given kinds (all seven when none are given) from site: each kind with and
// without its publisher's source segment. site is an ID or AnySite. Every
// program that subscribes builds its filters here, so the shapes ParseTopic
// accepts and the shapes anyone listens on cannot drift apart. Never a bare
// "#": raw kiosk presses (PressFilter) and anything else on the broker are
// not events.
//
// It returns nil when site or a kind could not appear in a topic that
// ParseTopic accepts, for the same reason TopicFor returns "".
func SiteFilters(site string, kinds ...Kind) []string {
	if site != AnySite && !ValidID(site) {
		return nil
	}
	if len(kinds) == 0 {
		kinds = Kinds()
	}
	fs := make([]string, 0, 2*len(kinds))
	for _, k := range kinds {
		if !k.Valid() {
			return nil
		}
		base := TopicPrefix + site + "/" + string(k)
		fs = append(fs, base, base+"/+")
	}
	return fs
}

// AnyKindFilters returns the filters matching every event topic of site
// (an ID or AnySite) whatever its kind, known to this contract or not: the
// collector's, so that an event of a kind it does not know (from an agent
// newer than itself) is received and refused as unknown_kind, counted and
// logged, rather than never seen. Raw kiosk presses have four segments after
// the prefix and match neither. It returns nil for an invalid site.
func AnyKindFilters(site string) []string {
	if site != AnySite && !ValidID(site) {
		return nil
	}
	base := TopicPrefix + site + "/+"
	return []string{base, base + "/+"}
}

// PressFilter returns the filter matching the raw hardware presses of every
// kiosk of site (an ID or AnySite), or "" when site is neither.
func PressFilter(site string) string {
	if site != AnySite && !ValidID(site) {
		return ""
	}
	return TopicPrefix + site + "/" + kioskSegment + "/+/press"
}
