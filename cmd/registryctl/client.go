package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	apiclient "github.com/movable-registry/registry/client"
)

// client calls the registry's API through the public Go client (package
// client, generated from the OpenAPI document), so that registryctl is the
// first user of what integrators are given. The few answers that are not
// JSON operations of the document's shape in practice (the log's tiles and
// entry bundles, whose paths are the tlog-tiles layout) go through the same
// retrying doer as plain GETs.
type client struct {
	base string
	// http sends every request: the token's header is set by api's editor
	// and by get, and a 429 or 503 is waited out as its Retry-After says (a
	// verification of a large register makes many requests, and the
	// registry's limit per token applies to it).
	http  apiclient.HttpRequestDoer
	token string
	api   *apiclient.ClientWithResponses
}

// maxRetries bounds how often one request waits out a 429 or 503.
const maxRetries = 20

func newClient(base, token string) *client {
	doer := &apiclient.Retrying{Doer: &http.Client{Timeout: 2 * time.Minute}, MaxRetries: maxRetries}
	// New fails only when an option does, and these do not.
	api, _ := apiclient.New(base, token, apiclient.WithHTTPClient(doer))
	return &client{base: apiclient.Server(base), token: token, http: doer, api: api}
}

// ok returns resp when a generated operation's answer is a 200; anything
// else is an error carrying the problem the registry sent, named by op.
func ok(op string, resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s: %s: %s", op, resp.Status, strings.TrimSpace(string(body)))
	}
	return resp, nil
}

// body reads a 200's whole body.
func body(op string, resp *http.Response, err error) ([]byte, error) {
	resp, err = ok(op, resp, err)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// decode reads a 200's JSON into v with go-json-experiment's decoder in
// encoding/json's mode: the same result in half the time of the generated
// client's own decoding, for the pages of a verification of millions, and
// into the domain's own types, which the verifier recomputes with.
func decode(op string, resp *http.Response, err error, v any) error {
	b, err := body(op, resp, err)
	if err != nil {
		return err
	}
	if err := jsonv2.Unmarshal(b, v, jsonv1.DefaultOptionsV1()); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// get fetches path (under /api/v1) as a plain GET and returns the response
// if it is a 200: for the log's tiles and entry bundles.
func (c *client) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	return ok("GET "+path, resp, err)
}

func (c *client) bytes(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.get(ctx, path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// ptr is v's address, for the generated client's optional parameters.
func ptr[T any](v T) *T { return &v }
