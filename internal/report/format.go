package report

import (
	"math"
	"strconv"
	"strings"
	"time"
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
func formatDec(v float64, thousands, point string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', 1, 64)
	ip, fp, _ := strings.Cut(s, ".")
	out := group(ip, thousands) + point + fp
	if v < 0 && s != "0.0" {
		out = "-" + out
	}
	return out
}

func intVI(n int64) string      { return formatInt(n, ".") }
func intEN(n int64) string      { return formatInt(n, ",") }
func decVI(v float64) string    { return formatDec(v, ".", ",") }
func decEN(v float64) string    { return formatDec(v, ",", ".") }
func pctVI(v float64) string    { return decVI(v) + " %" }
func pctEN(v float64) string    { return decEN(v) + " %" }
func dateVI(t time.Time) string { return t.Format("02/01/2006") }
