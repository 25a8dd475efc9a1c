package schema

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFieldsMatchStructs holds the FieldSpec table against the JSON tags and
// Go types of the structs, so the generated reference documents exactly the
// keys the code reads and writes.
func TestFieldsMatchStructs(t *testing.T) {
	for _, ev := range fullEvents() {
		k := ev.Kind()
		t.Run(string(k), func(t *testing.T) {
			keys := jsonKeys(reflect.TypeOf(ev).Elem())
			spec := Fields(k)
			var names []string
			for _, f := range spec {
				names = append(names, f.Name)
			}
			var tagged []string
			for _, kt := range keys {
				tagged = append(tagged, kt.name)
			}
			if !slices.Equal(names, tagged) {
				t.Fatalf("spec keys %v, struct JSON keys %v (same order expected)", names, tagged)
			}
			for i, f := range spec {
				if want := jsonTypeOf(keys[i].typ); !strings.HasPrefix(f.JSON, want) {
					t.Errorf("%s: spec says JSON %q, Go type %v reads %q", f.Name, f.JSON, keys[i].typ, want)
				}
				if (f.JSON == JSONEnum) != (f.Values != nil) {
					t.Errorf("%s: enum %v but Values %v", f.Name, f.JSON == JSONEnum, f.Values)
				}
				switch f.Column {
				case ColumnTime, ColumnTag, ColumnString, ColumnFloat, ColumnInteger, ColumnBoolean:
				default:
					t.Errorf("%s: unknown column %q", f.Name, f.Column)
				}
			}
		})
	}
	if Fields("kiosk") != nil {
		t.Error("Fields of an invalid kind is not nil")
	}
}

type keyType struct {
	name string
	typ  reflect.Type
}

// jsonKeys lists the JSON keys of a struct in field order, entering embedded
// structs the way encoding/json does.
func jsonKeys(rt reflect.Type) []keyType {
	var out []keyType
	for i := range rt.NumField() {
		sf := rt.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			out = append(out, jsonKeys(sf.Type)...)
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, keyType{name, sf.Type})
	}
	return out
}

func jsonTypeOf(rt reflect.Type) string {
	if rt == reflect.TypeFor[time.Time]() {
		return JSONTime
	}
	switch rt.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return JSONBoolean
	case reflect.Int, reflect.Int64:
		return JSONInteger
	case reflect.Float64:
		return JSONNumber
	case reflect.Slice:
		if rt.Elem().Kind() == reflect.String {
			return JSONStrings
		}
	}
	return "unsupported " + rt.String()
}

// TestFieldsMatchLine checks that a fully populated event of each kind
// writes every tag and field the spec declares, each as its declared column.
func TestFieldsMatchLine(t *testing.T) {
	for _, ev := range fullEvents() {
		k := ev.Kind()
		t.Run(string(k), func(t *testing.T) {
			if err := ev.Validate(testNow()); err != nil {
				t.Fatalf("full event invalid: %v", err)
			}
			line := string(ev.AppendLine(nil))
			p, err := parseLine(line)
			if err != nil {
				t.Fatalf("parse %q: %v", line, err)
			}
			if err := checkPoint(p, k); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			written := map[string]bool{}
			for _, tag := range p.tags {
				written[tag[0]] = true
			}
			for _, f := range p.fields {
				written[f.key] = true
			}
			for _, f := range Fields(k) {
				if f.Column == ColumnTime {
					if p.ts != ev.Head().TS.UnixNano() {
						t.Errorf("timestamp %d, want %d", p.ts, ev.Head().TS.UnixNano())
					}
					continue
				}
				if !written[f.Name] {
					t.Errorf("%s not written: %q", f.Name, line)
				}
			}
		})
	}
}

// TestFieldsEnumValues checks that every documented enum value is accepted
// and that the rejection of an unknown one names all of them.
func TestFieldsEnumValues(t *testing.T) {
	for _, ex := range examples() {
		for _, f := range Fields(ex.kind) {
			if f.Values == nil {
				continue
			}
			t.Run(string(ex.kind)+"/"+f.Name, func(t *testing.T) {
				for _, v := range f.Values {
					payload := edit(ex.kind, f.Name, `"`+v+`"`)
					if ex.kind == KindOccupancy && f.Name == "state" {
						// occupied must agree with the state it sits beside.
						payload = editPayload(payload, "occupied", strconv.FormatBool(v == "occupied"))
					}
					if ex.kind == KindCase && v == string(CaseExtended) {
						// an extension says by how much.
						payload = editPayload(payload, "extend_days", "10")
					}
					if _, err := DecodeMessage(ex.topic, []byte(payload), testNow()); err != nil {
						t.Errorf("%q rejected: %v", v, err)
					}
				}
				_, err := DecodeMessage(ex.topic, []byte(edit(ex.kind, f.Name, `"bogus"`)), testNow())
				if ReasonOf(err) != ReasonInvalidValue {
					t.Fatalf("bogus value: %v", err)
				}
				if want := strings.Join(f.Values, ", "); !strings.HasSuffix(err.Error(), want) {
					t.Errorf("error %q does not list %q", err, want)
				}
			})
		}
	}
}
