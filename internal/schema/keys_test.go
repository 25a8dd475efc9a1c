package schema

import (
	"strings"
	"testing"
)

func TestCheckKeys(t *testing.T) {
	for _, tc := range []struct {
		name, json, dup string
	}{
		{"flat, distinct", `{"level":"satisfied","press_id":"abcdefgh"}`, ""},
		{"exact duplicate", `{"level":"very_satisfied","level":"dissatisfied"}`, "level"},
		{"case variant", `{"level":"very_satisfied","Level":"dissatisfied"}`, "Level"},
		{"duplicate after an array", `{"reasons":["a","b"],"rating_id":"x","RATING_ID":"y"}`, "RATING_ID"},
		{"same key in two objects", `{"a":{"k":1},"b":{"k":2}}`, ""},
		{"nested duplicate", `{"a":{"k":1,"K":2}}`, "K"},
		{"strings that look like keys", `{"a":["k","k"],"b":"{\"k\":1,\"k\":2}"}`, ""},
		{"escaped quote in a key", `{"a\"b":1,"a\"c":2}`, ""},
		{"objects in an array", `[{"k":1},{"k":2}]`, ""},
		{"duplicate in an object in an array", `[{"k":1},{"k":2,"k":3}]`, "k"},
		{"many keys", `{` + manyKeys(40) + `,"k39":0}`, "k39"},
		{"not an object", `"level"`, ""},
	} {
		err := CheckKeys([]byte(tc.json))
		switch {
		case tc.dup == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.dup != "" && (err == nil || ReasonOf(err) != ReasonMalformed || !strings.Contains(err.Error(), tc.dup)):
			t.Errorf("%s: %v, want malformed_json naming %q", tc.name, err, tc.dup)
		}
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + itoa(i) + `":0`)
	}
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func FuzzCheckKeys(f *testing.F) {
	f.Add([]byte(`{"level":"very_satisfied","Level":"dissatisfied"}`))
	f.Add([]byte(`[{"k":1},{"k":2,"k":3}]`))
	f.Add([]byte(`{"a\"b":1,"b":[1,{"c":2}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = CheckKeys(b) // never panics, on any bytes
	})
}
