package report

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/kpi"
)

// empty is a Loader with no figures: the cases section stands alone.
type empty struct{}

func (empty) Load(context.Context, string, time.Time, time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	return kpi.NewStats(), map[string]kpi.Stats{}, nil
}

func (e empty) LoadTotals(ctx context.Context, site string, a, b time.Time) (kpi.Stats, map[string]kpi.Stats, error) {
	return e.Load(ctx, site, a, b)
}

// caseStub answers each site's summary from a table.
type caseStub map[string]cases.Summary

func (c caseStub) CaseSummary(_ context.Context, site string, _, _ time.Time) (cases.Summary, error) {
	return c[site], nil
}

// The feedback and complaints section, in the workbook and on the page:
// the two sites summed, the on-time share against the plan's 100 %.
func TestCasesSection(t *testing.T) {
	a, b := cases.NewSummary(), cases.NewSummary()
	a.Received, a.Handled, a.OnTime, a.Late, a.Transferred, a.Open, a.Overdue = 10, 8, 7, 1, 2, 3, 1
	a.ByKind[cases.KindReflection], a.ByKind[cases.KindFeedback] = 6, 4
	a.ByChannel[cases.ChannelKiosk], a.ByChannel[cases.ChannelPhone] = 7, 3
	b.Received, b.Handled, b.OnTime, b.Rejected = 2, 2, 2, 1
	b.ByKind[cases.KindComplaint], b.ByChannel[cases.ChannelReception] = 2, 2
	loc := time.FixedZone("ICT", 7*3600)
	r, err := Build(context.Background(), empty{}, Params{Sites: []Site{{ID: "anlao", Name: "An Lão"}, {ID: "hoaan", Name: "Hoài Ân"}},
		From: time.Date(2026, 6, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 12, 1, 0, 0, 0, 0, loc), Loc: loc,
		Targets: kpi.DefaultTargets(), Cases: caseStub{"anlao": a, "hoaan": b}})
	if err != nil {
		t.Fatal(err)
	}
	var x bytes.Buffer
	if err := r.WriteXLSX(&x); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(x.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for addr, want := range map[string]string{
		cell("B", RowCasesReceived): "12", cell("B", RowCasesHandled): "10", cell("B", RowCasesOnTime): "9", cell("C", RowCasesOnTime): "0.9",
		cell("E", RowCasesOnTime): "Chưa đạt / Not met", cell("B", RowCasesLate): "1", cell("B", RowCasesTransferred): "2",
		cell("B", RowCasesRejected): "1", cell("B", RowCasesOpen): "3", cell("B", RowCasesOverdue): "1",
		cell("B", RowCasesKinds+2): "6", cell("B", RowCasesKinds+3): "2", cell("B", RowCasesChannels): "7", cell("B", RowCasesChannels+6): "2",
		cell("A", RowCasesSites+2): "Hoài Ân", cell("C", RowCasesSites+2): "2",
	} {
		got, err := f.GetCellValue(SheetCases, addr, excelize.Options{RawCellValue: true})
		if err != nil || got != want {
			t.Errorf("%s!%s = %q (%v), want %q", SheetCases, addr, got, err, want)
		}
	}
	var h bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	for _, want := range []string{`data-cases="received">12<`, `data-cases="on-time">9 (90,0 %)<`, `class="n miss" data-cases="on-time"`,
		`data-case-kind="phan_anh">6<`, `data-case-channel="reception">2<`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// Without a source, no section.
	r.Cases = nil
	h.Reset()
	if err := r.WriteHTML(&h); err != nil || strings.Contains(h.String(), "data-cases") {
		t.Errorf("a report without cases shows the section (%v)", err)
	}
}
