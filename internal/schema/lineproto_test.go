package schema

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// point is a line-protocol point as the tests read it back.
type point struct {
	measurement string
	tags        [][2]string // in line order
	fields      []lpField   // in line order
	ts          int64
}

type lpField struct {
	key   string
	value string // unescaped for strings, as written otherwise
	col   Column
}

// parseLine reads one point the way InfluxDB 1.8 does for the subset the
// package writes: unescaped measurement and tags (they must not need
// escaping), string fields with \" and \\ escapes, integers with the i
// suffix, booleans, floats, a nanosecond timestamp and one final newline.
// It is strict so that the tests catch anything InfluxDB might misread.
func parseLine(line string) (point, error) {
	var p point
	if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
		return p, errors.New("want exactly one newline, at the end")
	}
	s := line[:len(line)-1]
	sp := strings.IndexByte(s, ' ')
	if sp < 0 {
		return p, errors.New("no field set")
	}
	series := strings.Split(s[:sp], ",")
	p.measurement = series[0]
	for _, kv := range series[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return p, fmt.Errorf("bad tag %q", kv)
		}
		if !plainToken(k) || !plainToken(v) {
			return p, fmt.Errorf("tag %q needs escaping", kv)
		}
		p.tags = append(p.tags, [2]string{k, v})
	}
	if !plainToken(p.measurement) {
		return p, fmt.Errorf("measurement %q needs escaping", p.measurement)
	}
	rest := s[sp+1:]
	for {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return p, fmt.Errorf("bad field at %q", rest)
		}
		f := lpField{key: rest[:eq]}
		if !plainToken(f.key) {
			return p, fmt.Errorf("field key %q needs escaping", f.key)
		}
		rest = rest[eq+1:]
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) && (rest[i+1] == '"' || rest[i+1] == '\\') {
					i++
				} else if rest[i] == '\\' {
					return p, fmt.Errorf("field %s: lone backslash", f.key)
				}
				b.WriteByte(rest[i])
			}
			if i == len(rest) {
				return p, fmt.Errorf("field %s: unterminated string", f.key)
			}
			f.value, f.col, rest = b.String(), ColumnString, rest[i+1:]
		} else {
			end := strings.IndexAny(rest, ", ")
			if end < 0 {
				return p, errors.New("no timestamp")
			}
			f.value, rest = rest[:end], rest[end:]
			switch {
			case f.value == "true" || f.value == "false":
				f.col = ColumnBoolean
			case strings.HasSuffix(f.value, "i"):
				if _, err := strconv.ParseInt(f.value[:len(f.value)-1], 10, 64); err != nil {
					return p, fmt.Errorf("field %s: bad integer %q", f.key, f.value)
				}
				f.col = ColumnInteger
			default:
				if _, err := strconv.ParseFloat(f.value, 64); err != nil || strings.ContainsAny(f.value, "NnIi") {
					return p, fmt.Errorf("field %s: bad float %q", f.key, f.value)
				}
				f.col = ColumnFloat
			}
		}
		p.fields = append(p.fields, f)
		if rest == "" {
			return p, errors.New("no timestamp")
		}
		if rest[0] == ' ' {
			rest = rest[1:]
			break
		}
		rest = rest[1:] // ','
	}
	ts, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return p, fmt.Errorf("bad timestamp %q", rest)
	}
	p.ts = ts
	return p, nil
}

// plainToken reports whether s is non-empty and holds only bytes that need
// no escaping anywhere in the line protocol.
func plainToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkPoint checks a parsed point against the kind's FieldSpec table:
// measurement, sorted tags and fields, only declared keys, each with its
// declared column, id always present.
func checkPoint(p point, k Kind) error {
	if p.measurement != string(k) {
		return fmt.Errorf("measurement %q, want %q", p.measurement, k)
	}
	cols := map[string]Column{}
	for _, f := range Fields(k) {
		cols[f.Name] = f.Column
	}
	var tagKeys, fieldKeys []string
	for _, t := range p.tags {
		if cols[t[0]] != ColumnTag {
			return fmt.Errorf("tag %q is not a tag of %s", t[0], k)
		}
		tagKeys = append(tagKeys, t[0])
	}
	for _, f := range p.fields {
		if cols[f.key] != f.col {
			return fmt.Errorf("field %q written as %s, spec says %q", f.key, f.col, cols[f.key])
		}
		fieldKeys = append(fieldKeys, f.key)
	}
	if !slices.IsSorted(tagKeys) || len(slices.Compact(slices.Clone(tagKeys))) != len(tagKeys) {
		return fmt.Errorf("tags not sorted or repeated: %v", tagKeys)
	}
	if !slices.IsSorted(fieldKeys) || len(slices.Compact(slices.Clone(fieldKeys))) != len(fieldKeys) {
		return fmt.Errorf("fields not sorted or repeated: %v", fieldKeys)
	}
	if !slices.Contains(fieldKeys, "id") {
		return errors.New("no id field")
	}
	if !slices.Contains(tagKeys, "site") {
		return errors.New("no site tag")
	}
	return nil
}
