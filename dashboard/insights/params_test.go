package insights

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/timezone"
)

// TestParse: every refusal with its status and the words that say why,
// and the days a good request covers.
func TestParse(t *testing.T) {
	vn := timezone.Vietnam()
	now := time.Date(2026, time.June, 15, 10, 0, 0, 0, vn)
	sites := []kpi.Site{{ID: "anlao", Name: "An Lão"}, {ID: "baclieu", Name: "Bạc Liêu"}}
	// The user may see anlao and the unconfigured "ghost", not baclieu.
	allowed := func(_ *http.Request, site string) bool { return site == "anlao" || site == "ghost" }
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, vn) }

	for _, c := range []struct {
		query    string
		status   int
		says     string // part of the message, "" for a good request
		from, to time.Time
	}{
		{"site=anlao&from=2026-03-01&to=2026-03-31", 200, "", day(2026, 3, 1), day(2026, 4, 1)},
		{"site=anlao&from=2026-06-15&to=2026-06-15", 200, "", day(2026, 6, 15), day(2026, 6, 16)}, // today alone
		{"site=anlao&from=2026-06-01&to=2026-12-31", 200, "", day(2026, 6, 1), day(2027, 1, 1)},   // may end ahead
		{"site=anlao&from=2023-06-16&to=2026-06-15", 200, "", day(2023, 6, 16), day(2026, 6, 16)}, // exactly 3 years
		{"site=anlao&from=2024-02-29&to=2024-02-29", 200, "", day(2024, 2, 29), day(2024, 3, 1)},
		{"site=anlao&from=2023-06-15&to=2026-06-15", 400, "longer than 3 years", time.Time{}, time.Time{}},
		{"site=anlao&from=2026-03-31&to=2026-03-01", 400, "before the first", time.Time{}, time.Time{}},
		{"site=anlao&from=2026-02-30&to=2026-03-01", 400, "is not a day", time.Time{}, time.Time{}},
		{"site=anlao&from=2025-02-29&to=2025-03-01", 400, "is not a day", time.Time{}, time.Time{}},
		{"site=anlao&from=2026-3-1&to=2026-03-31", 400, "is not a day", time.Time{}, time.Time{}},
		{"site=anlao&from=01/03/2026&to=2026-03-31", 400, "is not a day", time.Time{}, time.Time{}},
		{"site=anlao&from=2026-03-01T00:00:00Z&to=2026-03-31", 400, "is not a day", time.Time{}, time.Time{}},
		{"site=anlao&from=+2026-03-01&to=2026-03-31", 400, "is not a day", time.Time{}, time.Time{}},
		{"site=anlao&from=2026-03-01&to=2026-03-31%00", 400, "is not a day", time.Time{}, time.Time{}},
		{"site=anlao&from=2026-03-01", 400, "to is required", time.Time{}, time.Time{}},
		{"site=anlao&to=2026-03-01", 400, "from is required", time.Time{}, time.Time{}},
		{"site=anlao&from=1999-12-31&to=2000-01-01", 400, "too early", time.Time{}, time.Time{}},
		{"site=anlao&from=2026-06-16&to=2026-06-30", 400, "after today", time.Time{}, time.Time{}},
		{"from=2026-03-01&to=2026-03-31", 400, "site is required", time.Time{}, time.Time{}},
		{"site=An%20L%C3%A3o&from=2026-03-01&to=2026-03-31", 400, "not a valid site ID", time.Time{}, time.Time{}},
		{"site=anlao'%20OR%201=1&from=2026-03-01&to=2026-03-31", 400, "not a valid site ID", time.Time{}, time.Time{}},
		{"site=baclieu&from=2026-03-01&to=2026-03-31", 403, "outside your scope", time.Time{}, time.Time{}},
		{"site=baclieu&from=garbage", 403, "outside your scope", time.Time{}, time.Time{}}, // scope first
		{"site=nowhere&from=2026-03-01&to=2026-03-31", 403, "outside your scope", time.Time{}, time.Time{}},
		{"site=ghost&from=2026-03-01&to=2026-03-31", 400, "not configured", time.Time{}, time.Time{}},
		{"site=anlao&site=baclieu&from=2026-03-01&to=2026-03-31", 400, "repeated", time.Time{}, time.Time{}},
		{"site=anlao&from=2026-03-01&to=2026-03-31&format=csv", 400, "not supported", time.Time{}, time.Time{}},
		{"site=anlao&from=2026-03-01&to=2026-03-31&" + strings.Repeat("x", 200) + "=1", 400, "not supported", time.Time{}, time.Time{}},
		{"site=anlao&from=%zz", 400, "cannot be read", time.Time{}, time.Time{}},
	} {
		r := httptest.NewRequest(http.MethodGet, "/api/insights?"+c.query, nil)
		req, err := parse(r, sites, allowed, now, vn)
		if c.says == "" {
			if err != nil {
				t.Errorf("%s: %v", c.query, err)
				continue
			}
			if !req.from.Equal(c.from) || !req.to.Equal(c.to) || req.site.ID != "anlao" {
				t.Errorf("%s: %s %v .. %v, want %v .. %v", c.query, req.site.ID, req.from, req.to, c.from, c.to)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", c.query)
			continue
		}
		if err.status != c.status || !strings.Contains(err.msg, c.says) || !strings.Contains(err.msg, " / ") {
			t.Errorf("%s: %d %q, want %d with %q in Vietnamese / English", c.query, err.status, err.msg, c.status, c.says)
		}
		if len(err.msg) > 300 {
			t.Errorf("%s: message of %d bytes quotes too much", c.query, len(err.msg))
		}
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64][2]string{0: {"0", "0"}, 999: {"999", "999"}, 1000: {"1.000", "1,000"},
		1234567: {"1.234.567", "1,234,567"}, -45000: {"-45.000", "-45,000"}} {
		if intVI(n) != want[0] || intEN(n) != want[1] {
			t.Errorf("%d: %s, %s", n, intVI(n), intEN(n))
		}
	}
}
