package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/movable-registry/registry/internal/registry"
)

// A session is a bearer token of the API kept in an HttpOnly cookie: it
// expires with the token, ends when the user signs out (the token is
// revoked), and stops at once when the user or its organization is
// suspended, because the token stops working.
const (
	sessionCookie = "registry_session"
	csrfCookie    = "registry_csrf"
	langCookie    = "registry_lang"
)

func (s *site) secure(r *http.Request) bool { return r.TLS != nil || s.opts.SecureCookies }

// scheme is the site's scheme as the browser sees it: https when the
// connection is TLS or, behind a TLS-terminating proxy, secure_cookies says
// so (as its cookies are Secure).
func (s *site) scheme(r *http.Request) string {
	if s.secure(r) {
		return "https"
	}
	return "http"
}

// sameOrigin reports whether a browser's Origin header is this site's own
// origin: scheme, host and port alike. A page of http://registry… is not
// the https site, whatever its host (a man in the middle can write one).
func (s *site) sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	scheme := s.scheme(r)
	return strings.EqualFold(u.Scheme, scheme) && u.Host != "" &&
		strings.EqualFold(withoutDefaultPort(u.Host, scheme), withoutDefaultPort(r.Host, scheme))
}

// withoutDefaultPort drops the scheme's default port, which browsers leave
// out of Origin and clients may put into Host.
func withoutDefaultPort(host, scheme string) string {
	if scheme == "https" {
		return strings.TrimSuffix(host, ":443")
	}
	return strings.TrimSuffix(host, ":80")
}

// cookieName gives a cookie the __Host- prefix where it is Secure, so that
// no other host (a sibling subdomain) can set it.
func (s *site) cookieName(r *http.Request, name string) string {
	if s.secure(r) {
		return "__Host-" + name
	}
	return name
}

func (s *site) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(r, name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func (s *site) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(s.cookieName(r, name))
	if err != nil {
		return ""
	}
	return c.Value
}

// authenticate turns the session cookie into the caller's principal. A
// cookie whose token no longer works is cleared: the session has ended.
func (s *site) authenticate(w http.ResponseWriter, r *http.Request, c *call) error {
	token := s.cookie(r, sessionCookie)
	if token == "" {
		return nil
	}
	p, err := s.svc.Authenticate(r.Context(), token)
	if errors.Is(err, registry.ErrUnauthenticated) {
		s.clearSession(w, r)
		c.ended = true
		return nil
	}
	if err != nil {
		return err
	}
	c.caller.Principal = p
	me, err := s.svc.Me(r.Context(), c.caller)
	if err != nil {
		return err
	}
	c.me = &me
	return nil
}

func (s *site) startSession(w http.ResponseWriter, r *http.Request, token string) {
	// A session cookie: it also ends when the browser closes.
	s.setCookie(w, r, sessionCookie, token, 0)
	// A new session gets a new CSRF token, so one planted before sign-in
	// is worth nothing after it.
	s.setCookie(w, r, csrfCookie, newSecret(), 0)
}

func (s *site) clearSession(w http.ResponseWriter, r *http.Request) {
	s.setCookie(w, r, sessionCookie, "", -1)
}

// csrfToken returns the CSRF token that the request's forms carry, making
// the random CSRF cookie if there is none. The token is not the cookie
// itself but an HMAC, keyed by the cookie, of the session: a cookie planted
// from a sibling host cannot be turned into a token without the session
// (an HttpOnly cookie), and a token taken from one session is worth nothing
// in another. session is the session cookie's value when the session works.
func (s *site) csrfToken(w http.ResponseWriter, r *http.Request, session string) string {
	nonce := s.cookie(r, csrfCookie)
	if len(nonce) != 43 {
		nonce = newSecret()
		s.setCookie(w, r, csrfCookie, nonce, 0)
	}
	return csrfMAC(nonce, session)
}

func csrfMAC(nonce, session string) string {
	m := hmac.New(sha256.New, []byte(nonce))
	m.Write([]byte("registry csrf\x00"))
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfSource checks what a browser says of a posted form before its body
// is read: a request it says comes from another site, or whose Origin is
// another host, or that carries no CSRF cookie, did not come from this
// registry's page.
func (s *site) csrfSource(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r, o) {
		return false
	}
	return s.cookie(r, csrfCookie) != ""
}

// csrfMatches checks a form's CSRF token against the one its cookie makes.
func csrfMatches(got, token string) bool {
	return got != "" && hmac.Equal([]byte(got), []byte(token))
}

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// language is the user's chosen language: Chinese unless English was chosen.
func language(r *http.Request) string {
	for _, name := range []string{langCookie, "__Host-" + langCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value == "en" {
			return "en"
		}
	}
	return "zh"
}
