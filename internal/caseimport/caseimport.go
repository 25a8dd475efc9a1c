// Package caseimport reads a file of citizens' cases exported by the
// province's feedback system (issue 16): CSV with a header (comma or
// semicolon, UTF-8 with or without a byte-order mark, Vietnamese or English
// column names) or a JSON array. Every row is checked before anything is
// kept; each bad row is reported with its line (or index) and column, and
// a file with any bad row is refused whole.
//
// Each row becomes a case received through the province channel, numbered
// <site>-<year>-P<the province's ID>: importing the same file again finds
// the same numbers, so a re-import adds nothing twice.
package caseimport

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/schema"
)

// Row is one case of the file.
type Row struct {
	// Line is the row's line in a CSV file (the header is 1), or its
	// index from 1 in a JSON array.
	Line     int
	ID       string
	Kind     cases.Kind
	Received time.Time
	Message  string
	Phone    string
	Counter  string
	Service  string
}

// Number is the case number the row is kept under.
func (r Row) Number(site string, loc *time.Location) string {
	return fmt.Sprintf("%s-%d-P%s", site, r.Received.In(loc).Year(), r.ID)
}

// LineError is one bad row.
type LineError struct {
	Line   int
	Column string
	Reason string
}

func (e LineError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("%d: %s: %s", e.Line, e.Column, e.Reason)
}

// Limits of a file.
const (
	MaxBytes = 16 << 20
	MaxRows  = 50000
	maxID    = 40
)

// columns are the fields and the header names that find them (compared
// without case, accents kept: exports carry them).
var columns = []struct {
	field string
	names []string
	req   bool
}{
	{"id", []string{"mã phản ánh", "mã", "mã hồ sơ", "số phản ánh", "id"}, true},
	{"kind", []string{"loại", "hình thức", "kind"}, true},
	{"received", []string{"ngày tiếp nhận", "ngày nhận", "thời gian tiếp nhận", "received"}, true},
	{"message", []string{"nội dung", "nội dung phản ánh", "message"}, true},
	{"phone", []string{"số điện thoại", "điện thoại", "phone"}, false},
	{"counter", []string{"quầy", "counter"}, false},
	{"service", []string{"dịch vụ", "lĩnh vực", "service"}, false},
}

// Parse reads data, CSV or JSON (by its first non-blank byte), with times
// in loc. It returns the rows, or every bad row's error (and no rows).
func Parse(data []byte, loc *time.Location) ([]Row, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("caseimport: %d bytes, more than %d", len(data), MaxBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeftFunc(data, unicode.IsSpace)
	var rows []Row
	var bad []error
	if len(trimmed) > 0 && trimmed[0] == '[' {
		rows, bad = parseJSON(trimmed, loc)
	} else {
		var err error
		if rows, bad, err = parseCSV(data, loc); err != nil {
			return nil, err
		}
	}
	if len(bad) > 0 {
		return nil, errors.Join(bad...)
	}
	if len(rows) == 0 {
		return nil, errors.New("caseimport: no case in the file")
	}
	return rows, nil
}

func parseCSV(data []byte, loc *time.Location) ([]Row, []error, error) {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	rd := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		rd.Comma = ';'
	}
	rd.FieldsPerRecord = -1
	rd.LazyQuotes = true // exports put quotes inside unquoted cells
	header, err := rd.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("caseimport: no header row: %w", err)
	}
	idx := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.Join(strings.Fields(h), " "))
		for _, c := range columns {
			for _, n := range c.names {
				if h == n || strings.HasPrefix(h, n+" (") || strings.HasSuffix(h, "("+n+")") {
					if _, ok := idx[c.field]; !ok {
						idx[c.field] = i
					}
				}
			}
		}
	}
	for _, c := range columns {
		if _, ok := idx[c.field]; c.req && !ok {
			return nil, nil, fmt.Errorf("caseimport: no %s column (one of: %s)", c.field, strings.Join(c.names, ", "))
		}
	}
	var rows []Row
	var bad []error
	seen := map[string]int{}
	for n := 0; ; n++ {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := rd.FieldPos(0)
		if err != nil {
			bad = append(bad, LineError{Line: line, Reason: err.Error()})
			break
		}
		if n >= MaxRows {
			return nil, nil, fmt.Errorf("caseimport: more than %d rows", MaxRows)
		}
		get := func(f string) string {
			if i, ok := idx[f]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		r, errs := row(line, get, loc, seen)
		if len(errs) > 0 {
			bad = append(bad, errs...)
			continue
		}
		rows = append(rows, r)
	}
	return rows, bad, nil
}

func parseJSON(data []byte, loc *time.Location) ([]Row, []error) {
	var items []map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&items); err != nil {
		return nil, []error{LineError{Line: 1, Reason: "not a JSON array of objects: " + err.Error()}}
	}
	if len(items) > MaxRows {
		return nil, []error{fmt.Errorf("caseimport: more than %d rows", MaxRows)}
	}
	var rows []Row
	var bad []error
	seen := map[string]int{}
	for i, it := range items {
		for k := range it {
			if !knownKey(k) {
				bad = append(bad, LineError{i + 1, k, "unknown key"})
			}
		}
		typed := true
		get := func(f string) string {
			var s string
			if raw, ok := it[f]; ok && string(raw) != "null" && json.Unmarshal(raw, &s) != nil {
				bad = append(bad, LineError{i + 1, f, "not a string"})
				typed = false
			}
			return strings.TrimSpace(s)
		}
		r, errs := row(i+1, get, loc, seen)
		if !typed {
			continue
		}
		if len(errs) > 0 {
			bad = append(bad, errs...)
			continue
		}
		rows = append(rows, r)
	}
	return rows, bad
}

func knownKey(k string) bool {
	for _, c := range columns {
		if c.field == k {
			return true
		}
	}
	return false
}

// kinds are the kinds by the words a province's export uses.
var kinds = map[string]cases.Kind{
	"gop_y": cases.KindFeedback, "góp ý": cases.KindFeedback,
	"kien_nghi": cases.KindRecommendation, "kiến nghị": cases.KindRecommendation,
	"phan_anh": cases.KindReflection, "phản ánh": cases.KindReflection,
	"khieu_nai": cases.KindComplaint, "khiếu nại": cases.KindComplaint,
	"to_cao": cases.KindDenunciation, "tố cáo": cases.KindDenunciation,
}

// row checks one row's fields.
func row(line int, get func(string) string, loc *time.Location, seen map[string]int) (Row, []error) {
	var errs []error
	fail := func(col, reason string) { errs = append(errs, LineError{line, col, reason}) }
	r := Row{Line: line, ID: get("id"), Phone: get("phone"), Counter: get("counter"), Service: get("service")}
	first, dup := seen[r.ID]
	if !dup {
		seen[r.ID] = line
	}
	switch {
	case dup && r.ID != "":
		fail("id", fmt.Sprintf("%q already on %d", r.ID, first))
	case r.ID == "":
		fail("id", "required")
	case len(r.ID) > maxID || strings.Trim(r.ID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != "":
		fail("id", fmt.Sprintf("%q: at most %d letters, digits and -", r.ID, maxID))
	}
	k, ok := kinds[strings.ToLower(get("kind"))]
	if !ok {
		fail("kind", fmt.Sprintf("%q: want Góp ý, Kiến nghị, Phản ánh, Khiếu nại or Tố cáo", get("kind")))
	}
	r.Kind = k
	var err error
	if r.Received, err = parseTime(get("received"), loc); err != nil {
		fail("received", err.Error())
	}
	if r.Message, err = cases.CleanText(get("message"), cases.MaxMessage); err != nil || r.Message == "" {
		if err == nil {
			err = errors.New("required")
		}
		fail("message", err.Error())
	}
	if r.Phone, err = cases.CheckPhone(r.Phone); err != nil {
		fail("phone", err.Error())
	}
	for col, v := range map[string]string{"counter": r.Counter, "service": r.Service} {
		if v != "" && !schema.ValidID(v) {
			fail(col, fmt.Sprintf("%q is not an ID (a-z, 0-9, - and _)", v))
		}
	}
	return r, errs
}

var timeLayouts = []string{"02/01/2006 15:04:05", "02/01/2006 15:04", "02/01/2006", "2/1/2006 15:04", "2/1/2006"}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("required")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, strings.ReplaceAll(s, "-", "/"), loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time dd/mm/yyyy [HH:MM[:SS]] or RFC 3339", s)
}
