package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"
)

// The receiver accepts a signature made as API.md says and refuses a
// changed body, another secret, a stale time and a header without parts.
func TestCheckSignature(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"7","kind":"registration_filed"}`)
	sign := func(secret string, at time.Time, body []byte) string {
		ts := strconv.FormatInt(at.Unix(), 10)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "." + string(body)))
		return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
	}
	good := sign("s3cret-s3cret-s3cret", now, body)
	if err := checkSignature(good, "s3cret-s3cret-s3cret", body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("a good signature refused: %v", err)
	}
	for name, c := range map[string]struct {
		header, secret string
		body           []byte
		at             time.Time
	}{
		"changed body":    {good, "s3cret-s3cret-s3cret", []byte(`{"id":"8"}`), now},
		"another secret":  {good, "another-secret-0000", body, now},
		"stale":           {good, "s3cret-s3cret-s3cret", body, now.Add(6 * time.Minute)},
		"from the future": {sign("s3cret-s3cret-s3cret", now.Add(10*time.Minute), body), "s3cret-s3cret-s3cret", body, now},
		"no parts":        {"", "s3cret-s3cret-s3cret", body, now},
		"no v1":           {"t=" + strconv.FormatInt(now.Unix(), 10), "s3cret-s3cret-s3cret", body, now},
	} {
		if err := checkSignature(c.header, c.secret, c.body, c.at, 5*time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
