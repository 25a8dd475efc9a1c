package admission

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// Config is the collector's `admission:` section.
type Config struct {
	Inventory Inventory `yaml:"inventory"`
	// MaxLag is how far behind the collector's clock the ts of an event
	// made at a center (rating, queue, occupancy, session, camera) may be.
	// The agent spools to disk while its uplink is down and replays in
	// order when it is back, so the bound must cover the longest outage
	// that is still repaired rather than written off: a center closed over
	// Tết (up to 9 days) whose broken link is found when it reopens.
	MaxLag time.Duration `yaml:"max_lag"`
	// DossierMaxLag is MaxLag for dossier events, stamped with the time the
	// one-stop-shop software resolved them: that software may publish a
	// month's resolutions at once, and a re-export after a fix repeats them.
	DossierMaxLag time.Duration `yaml:"dossier_max_lag"`
	// ClosedThrough names the last reporting period already reported
	// ("2026H1": 01/12/2025 to 31/05/2026, Vietnam time); no point may be
	// added to it or to any period before it. Empty: none is closed.
	// Periods are reported in order, so one label says it all and no
	// period can be left open by mistake between two closed ones.
	ClosedThrough string `yaml:"closed_through"`
	// Reopen lets points of one site into one period, closed or beyond the
	// lag, until a time: a deliberate correction, never a standing rule.
	Reopen []Reopen `yaml:"reopen"`
}

// Inventory bounds the IDs that become InfluxDB tags, per site.
type Inventory struct {
	// MaxSites bounds the sites tracked besides those listed in Sites: a
	// publisher that may name any site (the one-stop-shop software's login
	// may publish dossiers for every site) must not create sites forever.
	MaxSites int `yaml:"max_sites"`
	// Caps bounds the distinct IDs of each key at a site without a list
	// for that key.
	Caps Caps `yaml:"caps"`
	// Sites lists, for some sites, the exact IDs they may use; a key left
	// out of a site's entry falls back to its cap.
	Sites []SiteInventory `yaml:"sites"`
}

// Caps is the number of distinct IDs per site for each ID tag key.
type Caps struct {
	Counter int `yaml:"counter"`
	Kiosk   int `yaml:"kiosk"`
	Camera  int `yaml:"camera"`
	Service int `yaml:"service"`
	Agent   int `yaml:"agent"`
	// Staff bounds the officials a site's queue events may name;
	// Official those its dossiers may name.
	Staff    int `yaml:"staff"`
	Official int `yaml:"official"`
}

// of returns the cap of key k.
func (c Caps) of(k Key) int {
	switch k {
	case KeyCounter:
		return c.Counter
	case KeyKiosk:
		return c.Kiosk
	case KeyCamera:
		return c.Camera
	case KeyService:
		return c.Service
	case KeyAgent:
		return c.Agent
	case KeyStaff:
		return c.Staff
	case KeyOfficial:
		return c.Official
	}
	return 0
}

// SiteInventory is one site's exact IDs; a nil list means the cap applies.
type SiteInventory struct {
	ID       string   `yaml:"id"`
	Counter  []string `yaml:"counter"`
	Kiosk    []string `yaml:"kiosk"`
	Camera   []string `yaml:"camera"`
	Service  []string `yaml:"service"`
	Agent    []string `yaml:"agent"`
	Staff    []string `yaml:"staff"`
	Official []string `yaml:"official"`
}

// list returns the site's list for key k, nil when it has none.
func (s SiteInventory) list(k Key) []string {
	switch k {
	case KeyCounter:
		return s.Counter
	case KeyKiosk:
		return s.Kiosk
	case KeyCamera:
		return s.Camera
	case KeyService:
		return s.Service
	case KeyAgent:
		return s.Agent
	case KeyStaff:
		return s.Staff
	case KeyOfficial:
		return s.Official
	}
	return nil
}

// Reopen is one operator override: points of Site whose ts lies in Period
// are admitted, whether the period is closed or older than the lag bound,
// until Until. It ends by itself, and each one in force is logged at start
// with its reason, so the log says who let what in and why.
type Reopen struct {
	Site   string `yaml:"site"`
	Period string `yaml:"period"`
	// Until is an RFC 3339 time with its offset, e.g.
	// 2026-06-20T17:00:00+07:00: a bare date would leave the zone to guess.
	Until string `yaml:"until"`
	// Reason says why, for the audit trail: a ticket, a name.
	Reason string `yaml:"reason"`
}

// Bounds of the configuration. Each keeps the memory of what it sizes
// bounded whatever the file says.
const (
	maxCap         = 10_000
	maxSitesBound  = 100_000
	maxListedSites = 10_000
	maxListLen     = 10_000
	maxReopens     = 100
	maxReasonLen   = 200
	minLag         = time.Hour
	maxLag         = 366 * 24 * time.Hour
	// MaxReopenAhead is how far ahead of now a reopening may end, so that an
	// override cannot quietly become permanent ("until: 2099-...").
	MaxReopenAhead = 31 * 24 * time.Hour
)

// Defaults returns the admission used where the file says nothing.
//
// The caps: a commune's center has 4 to 20 counters, the busiest ones about
// 40, each with its kiosk and a camera; a ticket machine offers under 20
// services; a center runs one agent (a spare and a renamed replacement
// make 3). With these caps one site can make at most about 18,000 series
// (rating 40 counters x 40 kiosks x 4 levels, queue 32 services x 41
// counter values x 5 steps, occupancy 40 cameras x 40 counters x 3 zones,
// and far fewer for the other kinds), under 2 % of InfluxDB's default
// max-series-per-database of 1,000,000. MaxSites 2,000 covers a province's
// centers many times over; each tracked site costs a few kB.
func Defaults() Config {
	return Config{
		Inventory: Inventory{
			MaxSites: 2000,
			Caps:     Caps{Counter: 40, Kiosk: 40, Camera: 40, Service: 32, Agent: 4, Staff: 80, Official: 80},
		},
		MaxLag:        14 * 24 * time.Hour,
		DossierMaxLag: 45 * 24 * time.Hour,
	}
}

// Validate checks the section on its own, naming the key at fault; it
// changes nothing. Check adds what depends on the clock.
func (c Config) Validate() error {
	if err := c.Inventory.validate(); err != nil {
		return fmt.Errorf("inventory.%w", err)
	}
	if c.MaxLag < minLag || c.MaxLag > maxLag {
		return fmt.Errorf("max_lag: %v outside %v..%v", c.MaxLag, minLag, maxLag)
	}
	if c.DossierMaxLag < minLag || c.DossierMaxLag > maxLag {
		return fmt.Errorf("dossier_max_lag: %v outside %v..%v", c.DossierMaxLag, minLag, maxLag)
	}
	if c.ClosedThrough != "" {
		if _, _, _, err := kpi.ParseReportPeriod(c.ClosedThrough, nil); err != nil {
			return fmt.Errorf("closed_through: %w", err)
		}
	}
	if len(c.Reopen) > maxReopens {
		return fmt.Errorf("reopen: %d entries, at most %d", len(c.Reopen), maxReopens)
	}
	seen := map[string]int{}
	for i, r := range c.Reopen {
		key, err := r.validate()
		if err != nil {
			return fmt.Errorf("reopen[%d].%w", i, err)
		}
		if j, dup := seen[key]; dup {
			return fmt.Errorf("reopen[%d]: site %q and period %s already reopened by reopen[%d]", i, r.Site, r.Period, j)
		}
		seen[key] = i
	}
	return nil
}

// Check is Validate plus the rules that depend on now, for -config.check
// and the start: a period can be closed only once it has ended (closing
// the current one would refuse every event), and a reopening must end
// within MaxReopenAhead. A reopening already over is accepted (logged at
// start): a collector restarted after its end must still start.
func (c Config) Check(now time.Time) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.ClosedThrough != "" {
		_, to, label, _ := kpi.ParseReportPeriod(c.ClosedThrough, nil)
		if to.After(now) {
			return fmt.Errorf("closed_through: %s runs until %s, after now: a period is closed once it has ended and been reported",
				label, to.Format(time.RFC3339))
		}
	}
	for i, r := range c.Reopen {
		until, _ := time.Parse(time.RFC3339, r.Until)
		if until.After(now.Add(MaxReopenAhead)) {
			return fmt.Errorf("reopen[%d].until: %s is more than %v after now: a reopening must end by itself soon",
				i, r.Until, MaxReopenAhead)
		}
	}
	return nil
}

func (inv Inventory) validate() error {
	if inv.MaxSites < 1 || inv.MaxSites > maxSitesBound {
		return fmt.Errorf("max_sites: %d outside 1..%d", inv.MaxSites, maxSitesBound)
	}
	for _, k := range Keys() {
		if n := inv.Caps.of(k); n < 1 || n > maxCap {
			return fmt.Errorf("caps.%s: %d outside 1..%d", k, n, maxCap)
		}
	}
	if len(inv.Sites) > maxListedSites {
		return fmt.Errorf("sites: %d entries, at most %d", len(inv.Sites), maxListedSites)
	}
	sites := map[string]bool{}
	for i, s := range inv.Sites {
		if !schema.ValidID(s.ID) {
			return fmt.Errorf("sites[%d].id: %q is not a valid site ID", i, s.ID)
		}
		if sites[s.ID] {
			return fmt.Errorf("sites[%d].id: %q listed twice", i, s.ID)
		}
		sites[s.ID] = true
		for _, k := range Keys() {
			if err := validateList(s.list(k)); err != nil {
				return fmt.Errorf("sites[%d].%s: %w", i, k, err)
			}
		}
	}
	return nil
}

// validateList checks one site's list of one key.
func validateList(ids []string) error {
	if ids == nil {
		return nil
	}
	if len(ids) == 0 {
		// An empty list would refuse every ID of the key: almost always a
		// mistake for "no list".
		return errors.New("empty list; leave the key out for the cap")
	}
	if len(ids) > maxListLen {
		return fmt.Errorf("%d IDs, at most %d", len(ids), maxListLen)
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !schema.ValidID(id) {
			return fmt.Errorf("%q does not match %s", id, schema.IDPattern)
		}
		if seen[id] {
			return fmt.Errorf("%q listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// validate checks one reopening and returns its identity (site and
// canonical period).
func (r Reopen) validate() (string, error) {
	if !schema.ValidID(r.Site) {
		return "", fmt.Errorf("site: %q is not a valid site ID", r.Site)
	}
	_, _, label, err := kpi.ParseReportPeriod(r.Period, nil)
	if err != nil {
		return "", fmt.Errorf("period: %w", err)
	}
	if _, err := time.Parse(time.RFC3339, r.Until); err != nil {
		return "", fmt.Errorf("until: %q is not an RFC 3339 time with its offset, like 2026-06-20T17:00:00+07:00", r.Until)
	}
	if r.Reason == "" {
		return "", errors.New("reason: required (who asked, and why): it goes in the log with every start")
	}
	if len(r.Reason) > maxReasonLen || !utf8.ValidString(r.Reason) {
		return "", fmt.Errorf("reason: at most %d bytes of UTF-8", maxReasonLen)
	}
	for _, c := range r.Reason {
		if c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("reason: control character U+%04X: it goes in one log line", c)
		}
	}
	return r.Site + "/" + label, nil
}
