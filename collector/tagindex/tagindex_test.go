package tagindex

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/store"
	"github.com/pscm/pscm/internal/testenv"
)

// TestReadsTheIndex runs the statements against a real InfluxDB 1.8: the
// sites and IDs of the contract's measurements, per site, sorted, bounded,
// in batches of statements; another measurement's tags are not read.
func TestReadsTheIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs InfluxDB (run without -short)")
	}
	db := testenv.StartInflux(t, testenv.WithoutFlux())
	cfg := store.Defaults()
	cfg.URL, cfg.Bucket = db.URL(), db.Bucket()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// An empty database holds nothing, and that is no error.
	if sites, err := r.Sites(ctx, 10); err != nil || len(sites) != 0 {
		t.Fatalf("empty database: Sites = %v, %v", sites, err)
	}

	ts := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC).UnixNano()
	var lines strings.Builder
	for i, l := range []string{
		`rating,counter=c03,kiosk=k03,level=satisfied,site=anlao id="1"`,
		`rating,counter=c01,kiosk=k01,level=neutral,site=anlao id="2"`,
		`queue,counter=c02,service=ho-tich,site=anlao,step=called id="3",ticket="A1"`,
		`occupancy,camera=cam1,counter=c09,site=anlao,zone=staff id="4",occupied=true`,
		`session,counter=c01,site=hoaiduc,source=queue id="5",wait_s=1`,
		`dossier,outcome=early,site=phuoc-thanh id="6"`,
		`agent,agent=anlao-edge-1,site=anlao id="7",status="online"`,
		`weather,counter=c77,site=zzz id="8"`, // not an event kind
	} {
		fmt.Fprintf(&lines, "%s %d\n", l, ts+int64(i))
	}
	db.Write(t, lines.String())

	sites, err := r.Sites(ctx, 10)
	if err != nil || !slices.Equal(sites, []string{"anlao", "hoaiduc", "phuoc-thanh"}) {
		t.Errorf("Sites = %v, %v; want anlao, hoaiduc, phuoc-thanh", sites, err)
	}
	if sites, _ := r.Sites(ctx, 2); !slices.Equal(sites, []string{"anlao", "hoaiduc"}) {
		t.Errorf("Sites(limit 2) = %v", sites)
	}
	ids, err := r.IDs(ctx, "counter", []string{"anlao", "hoaiduc", "zzz"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"anlao": {"c01", "c02", "c03", "c09"}, "hoaiduc": {"c01"}, "zzz": nil}
	for s, w := range want {
		if !slices.Equal(ids[s], w) {
			t.Errorf("counter IDs of %s = %v, want %v", s, ids[s], w)
		}
	}
	if ids, _ := r.IDs(ctx, "counter", []string{"anlao"}, 2); !slices.Equal(ids["anlao"], []string{"c01", "c02"}) {
		t.Errorf("counter IDs of anlao, limit 2 = %v", ids["anlao"])
	}
	for key, w := range map[string][]string{"kiosk": {"k01", "k03"}, "camera": {"cam1"}, "service": {"ho-tich"}, "agent": {"anlao-edge-1"}} {
		if ids, err := r.IDs(ctx, key, []string{"anlao"}, 10); err != nil || !slices.Equal(ids["anlao"], w) {
			t.Errorf("%s IDs of anlao = %v, %v; want %v", key, ids["anlao"], err, w)
		}
	}

	// More sites than one request holds.
	many := make([]string, 250)
	for i := range many {
		many[i] = fmt.Sprintf("site-%03d", i)
	}
	many[249] = "anlao"
	ids, err = r.IDs(ctx, "counter", many, 10)
	if err != nil || len(ids) != 250 || len(ids["anlao"]) != 4 || len(ids["site-000"]) != 0 {
		t.Errorf("250 sites: %d answers, anlao %v, err %v", len(ids), ids["anlao"], err)
	}

	if _, err := r.IDs(ctx, "weather", []string{"anlao"}, 10); err == nil {
		t.Error("a key no event kind has was queried")
	}
	if _, err := r.IDs(ctx, "counter", []string{"x' OR 1=1"}, 10); err == nil {
		t.Error("an invalid site ID was written into a statement")
	}
}

// TestDatabaseMissing: an answer with an error is an error (Load retries).
func TestDatabaseMissing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs InfluxDB (run without -short)")
	}
	db := testenv.StartInflux(t, testenv.WithoutFlux())
	cfg := store.Defaults()
	cfg.URL, cfg.Bucket = db.URL(), "nosuchdb/autogen"
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Sites(context.Background(), 10); err == nil || !strings.Contains(err.Error(), "database not found") {
		t.Fatalf("Sites on a missing database = %v, want InfluxDB's error", err)
	}
}
