package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// client calls the registry's API.
type client struct {
	base, token string
	http        *http.Client
}

func newClient(base, token string) *client {
	return &client{base: strings.TrimRight(base, "/") + "/api/v1", token: token, http: &http.Client{Timeout: 2 * time.Minute}}
}

// maxRetries bounds how often one GET waits out a 429 or 503.
const maxRetries = 20

// get fetches path and returns the response if it is a 200; anything else
// is an error carrying the problem the registry sent. A 429 or 503 is
// waited out as its Retry-After says: a verification of a large register
// makes many requests, and the registry's limit per token applies to it.
func (c *client) get(ctx context.Context, path string) (*http.Response, error) {
	var resp *http.Response
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
		if err != nil {
			return nil, err
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		if resp, err = c.http.Do(req); err != nil {
			return nil, err
		}
		if (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) || attempt == maxRetries {
			break
		}
		wait := time.Second
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			wait = time.Duration(secs) * time.Second
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return resp, nil
}

func (c *client) bytes(ctx context.Context, path string) ([]byte, *http.Response, error) {
	resp, err := c.get(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp, err
}

func (c *client) json(ctx context.Context, path string, v any) (*http.Response, error) {
	b, resp, err := c.bytes(ctx, path)
	if err != nil {
		return nil, err
	}
	// go-json-experiment's decoder in encoding/json's mode: the same
	// result in half the time, for the pages of a verification of millions.
	if err := jsonv2.Unmarshal(b, v, jsonv1.DefaultOptionsV1()); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return resp, nil
}
