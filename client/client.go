// Package client is the registry's Go client, generated from its OpenAPI
// document (the one served at /api/v1/openapi.yaml) by oapi-codegen, with a
// few conveniences written by hand in this file.
//
// client.gen.go is generated: do not edit it. After a change to
// internal/httpapi/openapi.yaml, run
//
//	go generate ./client
//
// and commit the result; TestTheClientIsCurrent fails until then. registryctl
// makes its calls through this package, so the project uses what it ships.
//
// A day's calls:
//
//	c, err := client.New("https://registry.example", token)
//	res, err := c.FileRegistrationWithResponse(ctx, &client.FileRegistrationParams{IdempotencyKey: &key}, filing)
//	if res.JSON201 == nil { ... res.ApplicationproblemJSON422 ... }
//
// Each operation has a method that returns the raw *http.Response and one
// (…WithResponse) that decodes the answer into a field per status code.
package client

//go:generate go tool oapi-codegen -config cfg.yaml ../internal/httpapi/openapi.yaml

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIPath is where the API is served under the registry's address.
const APIPath = "/api/v1"

// New returns a client of the registry at baseURL (its address, such as
// https://registry.example; /api/v1 is added when missing) that sends token
// as a bearer token on every request (none when token is empty), through
// http.DefaultClient wrapped to wait out 429 and 503 answers (see Retrying).
// More options (WithHTTPClient, WithRequestEditorFn) apply after these.
func New(baseURL, token string, opts ...ClientOption) (*ClientWithResponses, error) {
	all := []ClientOption{WithHTTPClient(&Retrying{Doer: http.DefaultClient})}
	if token != "" {
		all = append(all, WithRequestEditorFn(BearerToken(token)))
	}
	return NewClientWithResponses(Server(baseURL), append(all, opts...)...)
}

// Server is the API's root for a registry at baseURL: baseURL with /api/v1
// added when it does not end with it already.
func Server(baseURL string) string {
	s := strings.TrimRight(baseURL, "/")
	if !strings.HasSuffix(s, APIPath) {
		s += APIPath
	}
	return s
}

// BearerToken is a request editor that authenticates each request with token
// (a token from POST /tokens, or one an organization's administrator made).
func BearerToken(token string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// Retrying is an HTTP doer that sends a request again when the registry
// answers 429 (too many requests) or 503 (unavailable), after the wait its
// Retry-After header gives (a second when it gives none), up to MaxRetries
// times. It retries only what is safe to send twice: a GET or HEAD, or a
// request with an Idempotency-Key (the registry answers a replay as the
// first time).
type Retrying struct {
	Doer       HttpRequestDoer
	MaxRetries int // 0 means 20
	// MaxWait caps one wait; 0 means a minute.
	MaxWait time.Duration
}

// Do sends req, and again while it may.
func (r *Retrying) Do(req *http.Request) (*http.Response, error) {
	limit := r.MaxRetries
	if limit == 0 {
		limit = 20
	}
	maxWait := r.MaxWait
	if maxWait == 0 {
		maxWait = time.Minute
	}
	replayable := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Header.Get("Idempotency-Key") != ""
	if req.Body != nil && req.GetBody == nil {
		replayable = false
	}
	for attempt := 0; ; attempt++ {
		resp, err := r.Doer.Do(req)
		if err != nil || !replayable || attempt == limit ||
			(resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
			return resp, err
		}
		wait := time.Second
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			wait = time.Duration(secs) * time.Second
		}
		wait = min(wait, maxWait)
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(wait):
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
	}
}

// ErrUnexpected is wrapped by Unexpected's errors.
var ErrUnexpected = errors.New("unexpected answer")

// Unexpected is the error for an answer that is not the one the caller
// wanted: its status and, when the registry sent one, its problem's body.
func Unexpected(op string, resp *http.Response, body []byte) error {
	status := "no answer"
	if resp != nil {
		status = resp.Status
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	return &unexpectedError{op: op, status: status, body: msg}
}

type unexpectedError struct{ op, status, body string }

func (e *unexpectedError) Error() string {
	if e.body == "" {
		return e.op + ": " + e.status
	}
	return e.op + ": " + e.status + ": " + e.body
}

func (e *unexpectedError) Unwrap() error { return ErrUnexpected }
