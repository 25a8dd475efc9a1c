package textclip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short", "pscm/v1/anlao/rating", 160, "pscm/v1/anlao/rating"},
		{"exactly the limit", "abcde", 5, "abcde"},
		{"one over", "abcdef", 5, "ab…"},
		{"empty", "", 10, ""},
		{"room for the ellipsis only", "abcd", 3, "…"},
		{"cut before a straddling rune", "aaầ", 4, "a…"},
		{"cut between runes", strings.Repeat("é", 10), 10, "ééé…"},
		{"Vietnamese under the limit", "Trung tâm Phục vụ hành chính công", 64, "Trung tâm Phục vụ hành chính công"},
		{"Vietnamese cut", "Trung tâm Phục vụ hành chính công", 16, "Trung tâm Ph…"},
		{"a valid U+FFFD is kept", "a\uFFFDb", 10, "a\uFFFDb"},
		{"invalid byte replaced", "a\xffb", 10, "a\uFFFDb"},
		{"each invalid byte replaced", "abc\xe1\xba", 10, "abc\uFFFD\uFFFD"},
		{"invalid bytes replaced, then cut", strings.Repeat("\x80", 50), 40, strings.Repeat("\uFFFD", 12) + "…"},
		{"replacement longer than the limit", "\xff\xff", 5, "…"},
		{"no room for the ellipsis", "abc", 2, "ab"},
		{"no room for the ellipsis, whole runes only", "éa", 2, "é"},
		{"no room for one rune", "é", 1, ""},
		{"zero", "abc", 0, ""},
		{"negative", "abc", -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Clip(tt.in, tt.limit)
			if got != tt.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
			if !utf8.ValidString(got) || len(got) > max(tt.limit, 0) {
				t.Errorf("Clip(%q, %d) = %q: invalid or too long", tt.in, tt.limit, got)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short", "c 03", 40, `"c 03"`},
		{"control characters escaped", "a\nb", 40, `"a\nb"`},
		{"cut inside the quotes", "abcdef", 5, `"ab…"`},
		{"invalid UTF-8 shown as U+FFFD", "a\xff", 40, `"a` + "\uFFFD" + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quote(tt.in, tt.limit); got != tt.want {
				t.Errorf("Quote(%q, %d) = %s, want %s", tt.in, tt.limit, got, tt.want)
			}
		})
	}
}

// FuzzClip checks Clip's promise on any input: valid UTF-8 within the
// limit, a prefix of the input with invalid bytes replaced, nothing cut
// that would have fitted, and a valid input that fits left alone.
func FuzzClip(f *testing.F) {
	f.Add("pscm/v1/anlao/rating", 160)
	f.Add("Trung tâm Phục vụ hành chính công xã An Lão", 20)
	f.Add(strings.Repeat("ầ", 30), 40)
	f.Add("a\xff\xfeb\xe1\xba", 4)
	f.Add("", 0)
	f.Add("…", 3)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		got := Clip(s, limit)
		if !utf8.ValidString(got) {
			t.Fatalf("Clip(%q, %d) = %q: invalid UTF-8", s, limit, got)
		}
		if len(got) > max(limit, 0) {
			t.Fatalf("Clip(%q, %d) = %q: %d bytes", s, limit, got, len(got))
		}
		if utf8.ValidString(s) && len(s) <= limit && got != s {
			t.Fatalf("Clip(%q, %d) = %q: changed a valid string that fits", s, limit, got)
		}
		whole := string([]rune(s))
		if len(whole) <= limit {
			if got != whole {
				t.Fatalf("Clip(%q, %d) = %q, want %q: nothing to cut", s, limit, got, whole)
			}
			return
		}
		marker := Ellipsis
		if limit < len(marker) {
			marker = ""
		}
		head, ok := strings.CutSuffix(got, marker)
		if !ok {
			t.Fatalf("Clip(%q, %d) = %q: cut without %q", s, limit, got, marker)
		}
		if !strings.HasPrefix(whole, head) {
			t.Fatalf("Clip(%q, %d) = %q: not a prefix of %q", s, limit, got, whole)
		}
		// The next character did not fit.
		if _, size := utf8.DecodeRuneInString(whole[len(head):]); len(head)+size+len(marker) <= limit {
			t.Fatalf("Clip(%q, %d) = %q: cut short of the limit", s, limit, got)
		}
	})
}
