// Package textclip bounds strings that come from outside (MQTT topics, CSV
// cells, HTTP paths, camera answers, server error bodies) before they go
// into a log line or an error message. A hostile or broken peer must not
// be able to blow up a log, and a cut must never split a UTF-8 character:
// half a Vietnamese letter is invalid UTF-8, which log tooling mangles or
// refuses. Invalid UTF-8 in the input is made safe the same way, so what
// Clip returns is always valid UTF-8.
package textclip

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Ellipsis ends a clipped string, so a reader knows there was more.
const Ellipsis = "…"

// replacement stands in for each byte of s that is not part of a valid
// UTF-8 encoding, as encoding/json and a range loop over a string do.
const replacement = string(utf8.RuneError)

// Clip returns s bounded to limit bytes, Ellipsis included. A valid s of
// at most limit bytes comes back unchanged. Otherwise each invalid byte
// becomes U+FFFD and, if that is longer than limit bytes, the result is cut
// after the last whole character that leaves room for Ellipsis, which is
// then appended. With limit smaller than Ellipsis there is no room for it,
// and the result is only the characters that fit.
//
// So the result is valid UTF-8, at most max(limit, 0) bytes long, and
// without Ellipsis a prefix of string([]rune(s)).
func Clip(s string, limit int) string {
	if len(s) <= limit && utf8.ValidString(s) {
		return s
	}
	marker := Ellipsis
	if limit < len(marker) {
		marker = ""
	}
	room := limit - len(marker)
	var b strings.Builder
	b.Grow(max(0, min(limit, 3*len(s))))
	cut := 0 // length of b at the last character boundary within room
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+size]
		if r == utf8.RuneError && size == 1 {
			piece = replacement
		}
		i += size
		if b.Len()+len(piece) > limit {
			return b.String()[:cut] + marker
		}
		b.WriteString(piece)
		if b.Len() <= room {
			cut = b.Len()
		}
	}
	return b.String() // invalid bytes replaced, and all of it fits
}

// Quote is Clip's result quoted as strconv.Quote quotes it, for messages
// that show where a value begins and ends. limit bounds the clipped value;
// escapes can make its quoted form longer.
func Quote(s string, limit int) string {
	return strconv.Quote(Clip(s, limit))
}
