package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/kpi"
)

// Vietnamese number and date conventions: thousands grouped with '.', the
// decimal comma, dates dd/mm/yyyy. The English beside them uses ',' and '.'.

// group inserts sep every three digits of an unsigned digit string.
func group(digits, sep string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

func formatInt(n int64, sep string) string {
	if n < 0 {
		return "-" + group(strconv.FormatUint(uint64(-n), 10), sep)
	}
	return group(strconv.FormatInt(n, 10), sep)
}

// formatDec formats v with one decimal, grouping the integer part.
func formatDec(v float64, thousands, point string) string { return formatDecN(v, 1, thousands, point) }

// formatDecN formats v with d decimals, grouping the integer part.
func formatDecN(v float64, d int, thousands, point string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', d, 64)
	ip, fp, _ := strings.Cut(s, ".")
	out := group(ip, thousands) + point + fp
	if v < 0 && strings.Trim(s, "0.") != "" {
		out = "-" + out
	}
	return out
}

func intVI(n int64) string   { return formatInt(n, ".") }
func intEN(n int64) string   { return formatInt(n, ",") }
func decVI(v float64) string { return formatDec(v, ".", ",") }
func decEN(v float64) string { return formatDec(v, ",", ".") }
func pctVI(v float64) string { return decVI(v) + " %" }
func pctEN(v float64) string { return decEN(v) + " %" }

// shownVI and shownEN are a share against its target as kpi rounds it
// (Targets.SatisfactionShown, OnTimeShown): never across the target, so
// the number and its verdict agree.
func shownVI(v float64, d int) string { return formatDecN(v, d, ".", ",") + " %" }
func shownEN(v float64, d int) string { return formatDecN(v, d, ",", ".") + " %" }

// targetVI is a target with its rule: "> 95,0 %", "≥ 95,0 %".
func targetVI(pct float64, r kpi.Rule) string { return r.Symbol() + " " + pctVI(pct) }
func dateVI(t time.Time) string               { return t.Format("02/01/2006") }
