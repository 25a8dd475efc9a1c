package caseimport

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/cases"
)

var ict = time.FixedZone("ICT", 7*3600)

func TestParseCSV(t *testing.T) {
	file := "\xef\xbb\xbfSTT;Mã phản ánh;Loại;Ngày tiếp nhận;Nội dung;Số điện thoại;Quầy\n" +
		"1;PA-0012;Phản ánh;02/12/2026 09:15;\"Chờ lâu; không ai hướng dẫn\";0912 345 678;c02\n" +
		";;;;;;\n" +
		"2;PA-0013;Góp ý;3/12/2026;Nên thêm ghế chờ.;;\n"
	rows, err := Parse([]byte(file), ict)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	if r.Line != 2 || r.ID != "PA-0012" || r.Kind != cases.KindReflection || !r.Received.Equal(time.Date(2026, 12, 2, 9, 15, 0, 0, ict)) ||
		r.Message != "Chờ lâu; không ai hướng dẫn" || r.Phone != "0912345678" || r.Counter != "c02" {
		t.Fatalf("first row %+v", r)
	}
	if rows[1].Line != 4 || rows[1].Kind != cases.KindFeedback || r.Number("anlao", ict) != "anlao-2026-PPA-0012" {
		t.Fatalf("second row %+v, number %s", rows[1], r.Number("anlao", ict))
	}
}

func TestParseJSON(t *testing.T) {
	rows, err := Parse([]byte(`[{"id":"7781","kind":"khieu_nai","received":"2026-12-01T02:00:00Z","message":"Khiếu nại quyết định.","phone":null}]`), ict)
	if err != nil || len(rows) != 1 || rows[0].Kind != cases.KindComplaint || rows[0].Line != 1 {
		t.Fatalf("%+v %v", rows, err)
	}
}

// Every bad row is named with its line and column, and nothing is read.
func TestParseRefuses(t *testing.T) {
	file := "Mã;Loại;Ngày tiếp nhận;Nội dung;Số điện thoại;Quầy\n" +
		"A1;Than phiền;02/12/2026;x;;\n" + // 2: kind
		"A2;Góp ý;31/02/2026;x;;\n" + // 3: received
		"A3;Góp ý;02/12/2026;;;\n" + // 4: message
		"A4;Góp ý;02/12/2026;x;12345;\n" + // 5: phone
		"A5;Góp ý;02/12/2026;x;;Quầy 3\n" + // 6: counter
		"A 6;Góp ý;02/12/2026;x;;\n" + // 7: id
		"A1;Góp ý;02/12/2026;=HYPERLINK(\"x\");;\n" + // 8: duplicate id (a formula is only text here)
		"A8;Góp ý;02/12/2026;a\x01b;;\n" // 9: control character
	_, err := Parse([]byte(file), ict)
	if err == nil {
		t.Fatal("accepted")
	}
	var lines []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var le LineError
		if errors.As(e, &le) {
			lines = append(lines, le.Error()[:strings.Index(le.Error(), ":")+1]+" "+le.Column)
		}
	}
	want := "2: kind,3: received,4: message,5: phone,6: counter,7: id,8: id,9: message"
	if strings.Join(lines, ",") != want {
		t.Errorf("errors %v\nwant %s\n%v", lines, want, err)
	}
	for name, bad := range map[string]string{
		"no header":      "",
		"no id column":   "Loại;Ngày tiếp nhận;Nội dung\nGóp ý;02/12/2026;x\n",
		"empty":          "Mã;Loại;Ngày tiếp nhận;Nội dung\n",
		"json not array": `{"id":"1"}`,
		"json bad key":   `[{"id":"1","kind":"gop_y","received":"02/12/2026","message":"x","email":"a@b"}]`,
		"json number":    `[{"id":1,"kind":"gop_y","received":"02/12/2026","message":"x"}]`,
	} {
		if _, err := Parse([]byte(bad), ict); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("Mã;Loại;Ngày tiếp nhận;Nội dung\nA1;Góp ý;02/12/2026;x\n"))
	f.Add([]byte(`[{"id":"1","kind":"gop_y","received":"02/12/2026","message":"x"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := Parse(data, ict)
		if err == nil && len(rows) == 0 {
			t.Fatal("no error and no row")
		}
		for _, r := range rows {
			if r.ID == "" || r.Message == "" || r.Received.IsZero() || !r.Kind.Valid() {
				t.Fatalf("accepted row %+v", r)
			}
		}
	})
}
