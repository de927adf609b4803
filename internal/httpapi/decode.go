package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"

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
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return decodeError(err)
	}
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
