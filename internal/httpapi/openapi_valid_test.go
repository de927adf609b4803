package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"github.com/movable-registry/registry/internal/httpapi"
)

// The OpenAPI document is checked by a validator that is not ours
// (pb33f/libopenapi-validator): the document itself, and every answer the
// API tests receive, against the response the document declares for its
// route and status.

var (
	specOnce      sync.Once
	specValidator validator.Validator
	specErr       error
)

func openAPIValidator(t testing.TB) validator.Validator {
	t.Helper()
	specOnce.Do(func() {
		doc, err := libopenapi.NewDocument(httpapi.OpenAPI)
		if err != nil {
			specErr = err
			return
		}
		// The validator looks for undeclared headers only in an answer
		// that declares some: an answer declaring none (a 401, a 204)
		// would let any header through. Each is given an empty list, so
		// that strict mode checks every answer's headers. The document
		// builds its model once; the validator below uses this one.
		model, err := doc.BuildV3Model()
		if err != nil {
			specErr = err
			return
		}
		for _, item := range model.Model.Paths.PathItems.FromOldest() {
			for _, op := range item.GetOperations().FromOldest() {
				if op.Responses == nil {
					continue
				}
				for _, r := range op.Responses.Codes.FromOldest() {
					if r.Headers == nil {
						r.Headers = orderedmap.New[string, *v3.Header]()
					}
				}
			}
		}
		// Strict: a property or header of an answer that the document does
		// not declare is refused, as a generated client would never see it.
		v, errs := validator.NewValidator(doc,
			config.WithStrictMode(),
			// A log entry's event is the event in full, an open map
			// (LogEventRecord) whose fields are the event type's.
			config.WithStrictIgnorePaths("$.body.items[*].event.**"),
			// Headers the front sends on every answer (httpx's security
			// headers) are not the operations' to declare.
			config.WithStrictIgnoredHeadersExtra("Content-Security-Policy", "X-Content-Type-Options",
				"X-Frame-Options", "Referrer-Policy", "Cross-Origin-Resource-Policy"))
		if len(errs) > 0 {
			specErr = errs[0]
			return
		}
		specValidator = v
	})
	if specErr != nil {
		t.Fatalf("the OpenAPI document cannot be read: %v", specErr)
	}
	return specValidator
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	ok, errs := openAPIValidator(t).ValidateDocument()
	for _, e := range errs {
		t.Errorf("%s: %s", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			t.Errorf("  %s at %s", se.Reason, se.FieldPath)
		}
	}
	if !ok && len(errs) == 0 {
		t.Error("invalid, with no reason given")
	}
}

// checkAnswer validates one answer of the API against the document.
func checkAnswer(t testing.TB, req *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, httpapi.BasePath+"/") || strings.HasSuffix(req.URL.Path, "/openapi.yaml") {
		return
	}
	if strings.HasPrefix(req.URL.Path, httpapi.BasePath+"/log/tile/") {
		// An OpenAPI path parameter holds no slash, and a tile's path has
		// several; the tile tests check these answers.
		return
	}
	res := w.Result()
	res.Body = io.NopCloser(bytes.NewReader(w.Body.Bytes()))
	// The validator reads the request's body again for nothing it needs.
	req.Body = http.NoBody
	if ok, errs := openAPIValidator(t).ValidateHttpResponse(req, res); !ok {
		for _, e := range errs {
			if (w.Code == http.StatusNotFound || w.Code == http.StatusMethodNotAllowed) && strings.Contains(e.Message, "not found") {
				// An answer to a path or method that the API does not
				// have: the document rightly does not list it.
				continue
			}
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += "; " + se.Reason + " at " + se.FieldPath
			}
			t.Errorf("%s %s answered %d, not as the OpenAPI document says: %s\n%.300s", req.Method, req.URL.Path, w.Code, msg, w.Body.Bytes())
		}
	}
}

// TestInternalErrorIsAsDocumented: the registry's own fault (here, a table
// gone from under it) is a 500 internal_error that says nothing more, as
// the document's shared InternalError declares it, with the request's id
// in the body as in X-Request-Id.
func TestInternalErrorIsAsDocumented(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.Exec(`ALTER TABLE organizations RENAME TO organizations_gone`); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/organizations", adminToken, nil, "X-Request-Id", "req-500")
	p := e.must(http.StatusInternalServerError, r)
	if p["code"] != "internal_error" || p["detail"] != "internal error" || p["request_id"] != "req-500" || r.Header.Get("X-Request-Id") != "req-500" {
		t.Errorf("the answer: %s, X-Request-Id %q", r.Body, r.Header.Get("X-Request-Id"))
	}
}
