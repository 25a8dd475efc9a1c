package schema

// CheckKeys refuses a JSON document in which an object names a key twice,
// exactly or differing only in case: encoding/json matches keys to fields
// without regard to case and keeps the last, so
// {"level":"very_satisfied","Level":"dissatisfied"} would be taken as
// dissatisfied while a reader of the payload sees very_satisfied. b must be
// valid JSON (call it after a successful decode). The error is an *Error
// with ReasonMalformed naming the key. It allocates only for objects with
// more than 16 keys.
func CheckKeys(b []byte) error {
	var sets [16]keySet // the objects open at once; deeper ones are not checked
	var open [64]byte   // '{' or '[' of each open container
	containers := open[:0]
	objects := 0 // objects open
	expectKey := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{':
			if objects >= 0 && objects < len(sets) {
				sets[objects].reset()
			}
			objects++
			containers = append(containers, c)
			expectKey = true
		case '[':
			containers = append(containers, c)
			expectKey = false
		case '}', ']':
			if c == '}' {
				objects--
			}
			if len(containers) > 0 {
				containers = containers[:len(containers)-1]
			}
			expectKey = false
		case ',':
			// In an object a key follows, in an array a value.
			expectKey = len(containers) > 0 && containers[len(containers)-1] == '{'
		case '"':
			end := stringEnd(b, i)
			if end >= len(b) {
				return nil // not JSON; the decoder says so
			}
			if expectKey && objects > 0 && objects <= len(sets) {
				key := b[i+1 : end]
				if sets[objects-1].seen(key) {
					return newError(ReasonMalformed, string(textKey(key)), "key "+quote(string(textKey(key)))+" appears twice in one object (keys are matched without regard to case)")
				}
			}
			expectKey = false
			i = end
		}
	}
	return nil
}

// stringEnd returns the index of the quote closing the string opened at i,
// len(b) when there is none.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return len(b)
}

// textKey is a key as written, escapes left as they are: enough to name it.
func textKey(k []byte) []byte {
	if len(k) > maxQuoted {
		return k[:maxQuoted]
	}
	return k
}

// keySet holds the keys of one object, folded to lower case ASCII. Keys of
// the contract are short ASCII; a key with escapes or non-ASCII bytes is
// compared as written, folded byte by byte.
type keySet struct {
	n    int
	keys [16][]byte
	more [][]byte
}

func (s *keySet) reset() { s.n, s.more = 0, s.more[:0] }

// seen adds k and reports whether an equal key (ignoring ASCII case) was
// already there.
func (s *keySet) seen(k []byte) bool {
	for _, o := range s.keys[:min(s.n, len(s.keys))] {
		if equalFold(o, k) {
			return true
		}
	}
	for _, o := range s.more {
		if equalFold(o, k) {
			return true
		}
	}
	if s.n < len(s.keys) {
		s.keys[s.n] = k
	} else {
		s.more = append(s.more, k)
	}
	s.n++
	return false
}

func equalFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
