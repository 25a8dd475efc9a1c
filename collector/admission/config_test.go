package admission

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	reopen := func(r Reopen) func(*Config) { return func(c *Config) { c.Reopen = []Reopen{r} } }
	good := Reopen{Site: "anlao", Period: "2026H1", Until: "2026-06-20T17:00:00+07:00", Reason: "ticket 142"}
	with := func(f func(*Reopen)) Reopen { r := good; f(&r); return r }
	tests := []struct {
		name string
		cfg  func(*Config)
		want string // "" valid
	}{
		{"defaults", nil, ""},
		{"a full example", func(c *Config) {
			c.Inventory.Sites = []SiteInventory{{ID: "anlao", Counter: []string{"c01", "c02"}, Agent: []string{"anlao-edge-1"}}}
			c.ClosedThrough = "2026-H1"
			c.Reopen = []Reopen{good, with(func(r *Reopen) { r.Site = "hoaiduc" })}
		}, ""},
		{"no sites", func(c *Config) { c.Inventory.MaxSites = 0 }, "inventory.max_sites: 0 outside 1..100000"},
		{"cap zero", func(c *Config) { c.Inventory.Caps.Camera = 0 }, "inventory.caps.camera: 0 outside 1..10000"},
		{"cap huge", func(c *Config) { c.Inventory.Caps.Agent = 10001 }, "inventory.caps.agent: 10001 outside 1..10000"},
		{"bad site", func(c *Config) { c.Inventory.Sites = []SiteInventory{{ID: "An Lao"}} }, `inventory.sites[0].id: "An Lao" is not a valid site ID`},
		{"site twice", func(c *Config) { c.Inventory.Sites = []SiteInventory{{ID: "a"}, {ID: "a"}} }, `inventory.sites[1].id: "a" listed twice`},
		{"empty list", func(c *Config) { c.Inventory.Sites = []SiteInventory{{ID: "a", Kiosk: []string{}}} }, "inventory.sites[0].kiosk: empty list; leave the key out for the cap"},
		{"bad ID", func(c *Config) { c.Inventory.Sites = []SiteInventory{{ID: "a", Counter: []string{"c,1"}}} }, `inventory.sites[0].counter: "c,1" does not match`},
		{"ID twice", func(c *Config) { c.Inventory.Sites = []SiteInventory{{ID: "a", Service: []string{"x", "x"}}} }, `inventory.sites[0].service: "x" listed twice`},
		{"lag too short", func(c *Config) { c.MaxLag = time.Minute }, "max_lag: 1m0s outside 1h0m0s..8784h0m0s"},
		{"dossier lag too long", func(c *Config) { c.DossierMaxLag = 400 * 24 * time.Hour }, "dossier_max_lag: 9600h0m0s outside"},
		{"closed period", func(c *Config) { c.ClosedThrough = "2026H3" }, `closed_through: period "2026H3" is not YYYYH1 or YYYYH2`},
		{"reopen bad site", reopen(with(func(r *Reopen) { r.Site = "" })), `reopen[0].site: "" is not a valid site ID`},
		{"reopen bad period", reopen(with(func(r *Reopen) { r.Period = "June" })), `reopen[0].period: period "June" is not YYYYH1 or YYYYH2`},
		{"reopen date only", reopen(with(func(r *Reopen) { r.Until = "2026-06-20" })), `reopen[0].until: "2026-06-20" is not an RFC 3339 time with its offset`},
		{"reopen no reason", reopen(with(func(r *Reopen) { r.Reason = "" })), "reopen[0].reason: required"},
		{"reopen reason with newline", reopen(with(func(r *Reopen) { r.Reason = "a\nb" })), "reopen[0].reason: control character U+000A"},
		{"reopen reason too long", reopen(with(func(r *Reopen) { r.Reason = strings.Repeat("x", 201) })), "reopen[0].reason: at most 200 bytes"},
		{"reopen twice", func(c *Config) { c.Reopen = []Reopen{good, with(func(r *Reopen) { r.Period = "2026h1" })} },
			`reopen[1]: site "anlao" and period 2026h1 already reopened by reopen[0]`},
		{"too many reopens", func(c *Config) { c.Reopen = make([]Reopen, 101) }, "reopen: 101 entries, at most 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			if tt.cfg != nil {
				tt.cfg(&c)
			}
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestCheck: what depends on now. A period may be closed once it has
// ended; a reopening ends within a month; one already over is accepted, so
// that a collector restarted after its end still starts.
func TestCheck(t *testing.T) {
	june5 := time.Date(2026, 6, 5, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		closedThrough string
		until         string
		want          string
	}{
		{"closing the period just ended", "2026H1", "", ""},
		{"closing the current period", "2026H2", "", "closed_through: 2026H2 runs until 2026-12-01T00:00:00+07:00, after now"},
		{"reopening for two weeks", "2026H1", "2026-06-19T17:00:00+07:00", ""},
		{"reopening already over", "2026H1", "2026-06-01T00:00:00Z", ""},
		{"reopening for a year", "2026H1", "2027-06-05T00:00:00Z", "reopen[0].until: 2027-06-05T00:00:00Z is more than 744h0m0s after now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			c.ClosedThrough = tt.closedThrough
			if tt.until != "" {
				c.Reopen = []Reopen{{Site: "anlao", Period: "2026H1", Until: tt.until, Reason: "test"}}
			}
			err := c.Check(june5)
			if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want %q", err, tt.want)
			}
		})
	}
}
