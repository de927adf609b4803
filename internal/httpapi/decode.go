package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// decodeError turns a JSON decoding failure into a 400 or 413 problem that
// names the field where it can.
func decodeError(err error) *httpx.Problem {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return httpx.NewProblem(http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit))
	case errors.Is(err, io.EOF):
		return httpx.NewProblem(http.StatusBadRequest, "malformed_request", "a JSON body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return httpx.NewProblem(http.StatusBadRequest, "malformed_request", "the JSON body ends too early")
	case errors.As(err, &syntax):
		return httpx.NewProblem(http.StatusBadRequest, "malformed_request", fmt.Sprintf("the body is not valid JSON (at byte %d): %s", syntax.Offset, syntax.Error()))
	case errors.As(err, &typ):
		p := httpx.NewProblem(http.StatusBadRequest, "malformed_request", fmt.Sprintf("%s must be %s, not %s", fieldName(typ.Field), jsonKind(typ.Type.Kind().String()), typ.Value))
		p.Errors = []registry.FieldError{{Field: fieldName(typ.Field), Code: "malformed_request", Message: p.Detail}}
		return p
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p := httpx.NewProblem(http.StatusBadRequest, "malformed_request", fmt.Sprintf("unknown field %q", name))
		p.Errors = []registry.FieldError{{Field: name, Code: "malformed_request", Message: "unknown field"}}
		return p
	}
	return httpx.NewProblem(http.StatusBadRequest, "malformed_request", err.Error())
}

func fieldName(f string) string {
	if f == "" {
		return "(body)"
	}
	return f
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}

// decodeOptional reads the body of a request that needs none: empty, or an
// empty JSON object.
func decodeOptional(c *gin.Context) error {
	var empty struct{}
	return decodeOptionalInto(c, &empty)
}

// decodeOptionalInto reads a body that may be left out: empty leaves v as it
// is; anything else is read as decode reads it.
func decodeOptionalInto(c *gin.Context, v any) error {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(b))
	return decode(c, v)
}

// decode reads a JSON body strictly: unknown fields, a field given twice or
// in another letter case, wrong types and trailing data are 400
// malformed_request; a string that is not UTF-8 is 422; an oversized body
// is 413.
func decode(c *gin.Context, v any) error {
	if err := jsonMediaType(c.GetHeader("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return decodeError(err)
	}
	return decodeBytes(body, v)
}

// jsonMediaType refuses a body declared as anything but JSON with 415
// unsupported_media_type: text/plain or a form read as JSON would be a guess
// at what the client meant. A body sent with no Content-Type is read as
// JSON, as the API has always done.
func jsonMediaType(contentType string) error {
	if strings.TrimSpace(contentType) == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return httpx.NewProblem(http.StatusUnsupportedMediaType, "unsupported_media_type",
		fmt.Sprintf("the body must be sent as application/json, not %q", contentType))
}

// decodeBytes is decode on a body already read.
func decodeBytes(body []byte, v any) error {
	if err := checkBody(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err)
		}
		return httpx.NewProblem(http.StatusBadRequest, "malformed_request", "the body must hold a single JSON value")
	}
	return nil
}

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
	w := walker{dec: jsontext.NewDecoder(bytes.NewReader(body))}
	err := w.value(t)
	var se *jsontext.SyntacticError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName):
		field := jsonPath(se.JSONPointer)
		name := field[strings.LastIndexAny(field, ".")+1:]
		return malformedField(field, fmt.Sprintf("%q is given twice: give each field once", name))
	case errors.As(err, &se) && strings.Contains(se.Err.Error(), "UTF-8"):
		// A string with bytes that are not UTF-8, or an escaped lone
		// surrogate: named by the member it belongs to.
		return registry.Invalid(fieldName(jsonPath(se.JSONPointer)), registry.CodeInvalidField, "is not valid UTF-8")
	}
	var p *httpx.Problem
	var v *registry.ValidationError
	if errors.As(err, &p) || errors.As(err, &v) {
		return err
	}
	// Not JSON, cut short, or empty: the decoder says what is wrong.
	return nil
}

// jsonPath writes a JSON Pointer (/grantors/0/name) as a field's path in
// problems (grantors[0].name).
func jsonPath(p jsontext.Pointer) string {
	var b strings.Builder
	for _, tok := range strings.Split(string(p), "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteString(".")
		}
		b.WriteString(tok)
	}
	return b.String()
}

type walker struct {
	dec *jsontext.Decoder
	// at is the path to the value being read, kept as pieces ("grantors",
	// "[0]", "name") and joined only for an error.
	at []string
}

func (w *walker) path() string {
	var b strings.Builder
	for i, p := range w.at {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// fieldsOf caches jsonFields by type: a body is read for every request.
var fieldsOf sync.Map // reflect.Type → map[string]reflect.Type

func cachedFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldsOf.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	f := jsonFields(t)
	fieldsOf.Store(t, f)
	return f
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// value reads one JSON value that is to fill a t (nil: anything, checked by
// the tokenizer only) found at w.path(). The tokenizer itself refuses a name
// given twice and text that is not UTF-8.
func (w *walker) value(t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(unmarshaler) || t.Implements(unmarshaler)) {
		t = nil
	}
	tok, err := w.dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case '{':
		return w.object(t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.dec.PeekKind() != ']'; i++ {
			w.at = append(w.at, "["+strconv.Itoa(i)+"]")
			if err := w.value(elem); err != nil {
				return err
			}
			w.at = w.at[:len(w.at)-1]
		}
		if _, err := w.dec.ReadToken(); err != nil {
			return err
		}
	}
	return nil
}

// object reads the members of an object after its '{'.
func (w *walker) object(t reflect.Type) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = cachedFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	for w.dec.PeekKind() != '}' {
		tok, err := w.dec.ReadToken()
		if err != nil {
			return err
		}
		key := tok.String()
		w.at = append(w.at, key)
		next := elem
		if fields != nil {
			ft, ok := fields[key]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return malformedField(w.path(), fmt.Sprintf("unknown field %q: the field is written %q", key, name))
					}
				}
				// Unknown outright: the decoder says so.
			}
			next = ft
		}
		if err := w.value(next); err != nil {
			return err
		}
		w.at = w.at[:len(w.at)-1]
	}
	_, err := w.dec.ReadToken()
	return err
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

// decodeBatch reads a bulk filing's body, {"filings": [...]}.
func decodeBatch(body io.Reader) ([]registry.Filing, error) {
	return decodeRows[registry.Filing](body, "filings", registry.MaxBatchFilings)
}

// decodeChanges reads a bulk change's body, {"changes": [...]}.
func decodeChanges(body io.Reader) ([]registry.Change, error) {
	return decodeRows[registry.Change](body, "changes", registry.MaxBatchChanges)
}

// decodeRows reads a bulk request's body, {member: [...]}, as it comes:
// one row's bytes at a time, each decoded as decode would decode it alone,
// so that what is held is the rows decoded, never the body as well. It is
// as strict as decode: a field given twice or in another letter case, an
// unknown field, trailing data and text that is not UTF-8 are refused,
// naming the field (filings[3].grantors[0].name). Reading stops after one
// row more than most: the service refuses that many without the rest.
func decodeRows[T any](body io.Reader, member string, most int) ([]T, error) {
	dec := jsontext.NewDecoder(body)
	var rows []T
	if err := expect(dec, '{'); err != nil {
		return nil, err
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, batchSyntax(err)
		}
		switch name := tok.String(); {
		case name == member:
		case strings.EqualFold(name, member):
			return nil, malformedField(name, fmt.Sprintf("unknown field %q: the field is written %q", name, member))
		default:
			return nil, malformedField(name, "unknown field")
		}
		switch dec.PeekKind() {
		case 'n':
			if _, err := dec.ReadToken(); err != nil {
				return nil, batchSyntax(err)
			}
			rows = nil
			continue
		case '[':
		default:
			if _, err := dec.ReadValue(); err != nil {
				return nil, batchSyntax(err)
			}
			return nil, malformedField(member, "must be an array")
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, batchSyntax(err)
		}
		rows = rows[:0]
		for i := 0; dec.PeekKind() != ']'; i++ {
			raw, err := dec.ReadValue()
			if err != nil {
				return nil, batchSyntax(err)
			}
			var f T
			if err := decodeBytes(raw, &f); err != nil {
				return nil, within(member+"["+strconv.Itoa(i)+"]", err)
			}
			if rows = append(rows, f); len(rows) > most {
				return rows, nil
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, batchSyntax(err)
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, batchSyntax(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, decodeError(err)
		}
		return nil, httpx.NewProblem(http.StatusBadRequest, "malformed_request", "the body must hold a single JSON value")
	}
	return rows, nil
}

// expect reads the next token, which must be kind.
func expect(dec *jsontext.Decoder, kind jsontext.Kind) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return batchSyntax(err)
	}
	if tok.Kind() != kind {
		return httpx.NewProblem(http.StatusBadRequest, "malformed_request", "the body must be a JSON object")
	}
	return nil
}

// batchSyntax is a streamed body that is not JSON, is cut short or is too
// large, as decode would say it.
func batchSyntax(err error) error {
	var tooBig *http.MaxBytesError
	var se *jsontext.SyntacticError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return decodeError(err)
	case errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName):
		field := jsonPath(se.JSONPointer)
		return malformedField(field, fmt.Sprintf("%q is given twice: give each field once", field))
	case errors.As(err, &se) && strings.Contains(se.Err.Error(), "UTF-8"):
		return registry.Invalid(fieldName(jsonPath(se.JSONPointer)), registry.CodeInvalidField, "is not valid UTF-8")
	}
	return httpx.NewProblem(http.StatusBadRequest, "malformed_request", "the body is not valid JSON: "+err.Error())
}

// within names the fields of err, a refusal of one element of an array, by
// their place in the whole body: name becomes filings[3].name.
func within(prefix string, err error) error {
	var p *httpx.Problem
	var v *registry.ValidationError
	switch {
	case errors.As(err, &p):
		q := *p
		q.Errors = make([]registry.FieldError, len(p.Errors))
		for i, f := range p.Errors {
			f.Field = joinField(prefix, f.Field)
			q.Errors[i] = f
		}
		if len(p.Errors) > 0 && p.Errors[0].Field != "" && strings.HasPrefix(p.Detail, p.Errors[0].Field) {
			q.Detail = q.Errors[0].Field + strings.TrimPrefix(p.Detail, p.Errors[0].Field)
		} else {
			q.Detail = prefix + ": " + q.Detail
		}
		return &q
	case errors.As(err, &v):
		w := &registry.ValidationError{Errors: make([]registry.FieldError, len(v.Errors))}
		for i, f := range v.Errors {
			f.Field = joinField(prefix, f.Field)
			w.Errors[i] = f
		}
		return w
	}
	return err
}

func joinField(prefix, field string) string {
	if field == "" || field == "(body)" {
		return prefix
	}
	if strings.HasPrefix(field, "[") {
		return prefix + field
	}
	return prefix + "." + field
}
