package insights

import "strconv"

// Counts in text: Vietnamese groups thousands with '.', English with ','.
// (Workbook cells hold numbers, which the reader's spreadsheet formats.)

func group(n int64, sep byte) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, sep)
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func intVI(n int64) string { return group(n, '.') }
func intEN(n int64) string { return group(n, ',') }
