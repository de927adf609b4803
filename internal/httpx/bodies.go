package httpx

import (
	"net/http"
	"runtime"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// LargeBody is the size past which a request's body is large: it is read
// only with one of the gate's places (bulk filing, attachments, the bulk
// page), and a multipart body spills to disk beyond it.
const LargeBody = 1 << 20

// bodyGate bounds how many large bodies are read at once, across the API
// and the pages: each may hold tens of MiB while it is decoded, so their
// number, not their size alone, is what bounds the memory they take.
type bodyGate chan struct{}

// newBodyGate makes a gate of n places (the number of CPUs when n < 1):
// decoding is CPU work, and more at once than there are CPUs only holds
// more memory longer.
func newBodyGate(n int) bodyGate {
	if n < 1 {
		n = runtime.NumCPU()
	}
	return make(bodyGate, n)
}

// AdmitBody lets r's body be read: at once when it is small, else when one
// of the gate's places is free, which the caller gives back with release
// once it is done with the body (and with what it decoded from it). A large
// body with no place free is refused with 503 unavailable and a
// Retry-After, without a byte of it read. The caller has checked by then
// everything it can check without the body: who asks, and that they may.
func (req *Request) AdmitBody(r *http.Request) (release func(), err error) {
	if req == nil || req.bodies == nil || !large(r) {
		return func() {}, nil
	}
	select {
	case req.bodies <- struct{}{}:
		return func() { <-req.bodies }, nil
	default:
		return nil, &registry.UnavailableError{RetryAfter: time.Second,
			Reason: "too many large requests are being read at once: retry after the time Retry-After gives"}
	}
}

// large reports whether r's body may exceed LargeBody: it says so, or it
// does not say (chunked).
func large(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	return r.ContentLength > LargeBody || r.ContentLength < 0
}
