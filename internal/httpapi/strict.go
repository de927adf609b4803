package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// Go's JSON decoder is lenient where a registry must not be: a key given
// twice keeps the last value, a key matches a field in any letter case, and
// invalid UTF-8 becomes U+FFFD without a word. A proxy or a firewall that
// reads the same body another way would then see another request than the
// registry files. checkBody reads the body as the contract writes it first,
// and refuses what the decoder would quietly accept.

// checkBody walks body's JSON beside the Go type it is decoded into. A key
// given twice, or in another letter case than the contract's, is 400
// malformed_request naming the field; a string that is not valid UTF-8 is
// 422 naming the field. A body that is not JSON at all is left to the
// decoder, which says where.
func checkBody(body []byte, t reflect.Type) error {
	w := walker{body: body, dec: json.NewDecoder(bytes.NewReader(body))}
	w.dec.UseNumber()
	err := w.value(t, "")
	if _, syntax := err.(syntaxError); syntax {
		return nil
	}
	return err
}

// syntaxError stops the walk at JSON the decoder will refuse itself.
type syntaxError struct{ error }

type walker struct {
	body []byte
	dec  *json.Decoder
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// value reads one JSON value that is to fill a t (nil: anything, checked
// for repeated keys only) found at path.
func (w *walker) value(t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(unmarshaler) || t.Implements(unmarshaler)) {
		// A type that reads itself: its keys are its own business, but
		// none may come twice.
		t = nil
	}
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return syntaxError{err}
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '{':
			return w.object(t, path)
		case '[':
			var elem reflect.Type
			if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				elem = t.Elem()
			}
			for i := 0; w.dec.More(); i++ {
				if err := w.value(elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
					return err
				}
			}
			if _, err := w.dec.Token(); err != nil {
				return syntaxError{err}
			}
		}
	case string:
		if strings.ContainsRune(tok, utf8.RuneError) && !honestReplacement(w.body[start:w.dec.InputOffset()]) {
			return registry.Invalid(fieldName(path), registry.CodeInvalidField, "is not valid UTF-8")
		}
	}
	return nil
}

// honestReplacement reports whether a string's raw JSON holds U+FFFD as
// such (written out or escaped) rather than as the decoder's stand-in for
// bytes that are not UTF-8 or an escaped lone surrogate.
func honestReplacement(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	return bytes.Contains(raw, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`))
}

// object reads the members of an object after its '{'.
func (w *walker) object(t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return syntaxError{err}
		}
		key, _ := tok.(string)
		at := key
		if path != "" {
			at = path + "." + key
		}
		if seen[key] {
			return malformedField(at, fmt.Sprintf("%q is given twice: give each field once", key))
		}
		seen[key] = true
		next := elem
		if fields != nil {
			ft, ok := fields[key]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return malformedField(at, fmt.Sprintf("unknown field %q: the field is written %q", key, name))
					}
				}
				// Unknown outright: the decoder says so.
			}
			next = ft
		}
		if err := w.value(next, at); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return syntaxError{err}
	}
	return nil
}

// jsonFields are the names a struct's fields are read under, exactly as
// their tags give them (embedded structs' fields included).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func malformedField(field, message string) *httpx.Problem {
	p := httpx.NewProblem(http.StatusBadRequest, "malformed_request", field+": "+message)
	p.Errors = []registry.FieldError{{Field: field, Code: "malformed_request", Message: message}}
	return p
}
