package httpx

import "net/http"

// secure sets the headers every answer carries: no sniffing of types, no
// framing, a content security policy that lets an answer load nothing, no
// referrer, and no caching of anything that was asked for with credentials.
func secure(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
		h.Set("Cache-Control", "no-store")
		h.Add("Vary", "Authorization")
	}
}
