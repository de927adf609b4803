package registry

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mutator sets one leaf field of a value of some type, making the lists and
// optional parts on its way; with set false it makes only those.
type mutator struct {
	path string
	set  func(v reflect.Value, set bool)
}

var timeType = reflect.TypeOf(Time{})

func mutators(t reflect.Type, path string) []mutator {
	switch {
	case t == timeType:
		return []mutator{{path, func(v reflect.Value, set bool) {
			if set {
				v.Set(reflect.ValueOf(At(time.Unix(1, 0))))
			}
		}}}
	case t.Kind() == reflect.Struct:
		var out []mutator
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			for _, m := range mutators(f.Type, path+"."+f.Name) {
				out = append(out, mutator{m.path, func(v reflect.Value, set bool) { m.set(v.Field(i), set) }})
			}
		}
		return out
	case t.Kind() == reflect.Pointer:
		var out []mutator
		for _, m := range mutators(t.Elem(), path) {
			out = append(out, mutator{m.path, func(v reflect.Value, set bool) {
				v.Set(reflect.New(t.Elem()))
				m.set(v.Elem(), set)
			}})
		}
		return out
	case t.Kind() == reflect.Slice:
		var out []mutator
		for _, m := range mutators(t.Elem(), path+"[0]") {
			out = append(out, mutator{m.path, func(v reflect.Value, set bool) {
				v.Set(reflect.MakeSlice(t, 1, 1))
				m.set(v.Index(0), set)
			}})
		}
		return out
	case t.Kind() == reflect.String:
		return []mutator{{path, func(v reflect.Value, set bool) {
			if set {
				v.SetString("x")
			}
		}}}
	case t.Kind() == reflect.Bool:
		return []mutator{{path, func(v reflect.Value, set bool) {
			if set {
				v.SetBool(true)
			}
		}}}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return []mutator{{path, func(v reflect.Value, set bool) {
			if set {
				v.SetInt(7)
			}
		}}}
	}
	panic("the state digest test knows no " + t.String() + " (" + path + ")")
}

// TestStateDigestCoversEveryField sets each exported field of a
// Registration in turn, down to the last list and optional part: the
// digest must differ from the same registration without it. A field added
// to Registration and not to StateDigest fails here.
func TestStateDigestCoversEveryField(t *testing.T) {
	ms := mutators(reflect.TypeOf(Registration{}), "registration")
	if len(ms) < 40 {
		t.Fatalf("only %d fields found", len(ms))
	}
	for _, m := range ms {
		var base, changed Registration
		m.set(reflect.ValueOf(&base).Elem(), false)
		m.set(reflect.ValueOf(&changed).Elem(), true)
		if bytes.Equal(StateDigest(base), StateDigest(changed)) {
			t.Errorf("%s does not change the state digest", m.path)
		}
	}
	// Lists and optional parts count as such: one empty party is not none.
	if bytes.Equal(StateDigest(Registration{}), StateDigest(Registration{Grantors: []Party{{}}})) ||
		bytes.Equal(StateDigest(Registration{Number: "ab"}), StateDigest(Registration{Number: "a", Kind: "b"})) {
		t.Error("the digest is ambiguous")
	}
	if !strings.Contains(ms[0].path, "registration.Number") {
		t.Errorf("first field %s", ms[0].path)
	}
}
