package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// receive runs a webhook receiver: it checks each delivery's
// Registry-Signature with the webhook's secret and writes each notice it
// accepts as one line of JSON to out, once (the notice's id drops
// retries). It answers 204 to a good delivery and 401 to a bad signature,
// and stops when ctx ends. It is what a bank's own receiver must do.
func receive(ctx context.Context, args []string, getenv func(string) string, out, log io.Writer) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	fs.SetOutput(log)
	addr := fs.String("addr", "127.0.0.1:9099", "the address to listen on")
	secret := fs.String("secret", getenv("REGISTRY_WEBHOOK_SECRET"), "the webhook's secret (REGISTRY_WEBHOOK_SECRET)")
	tolerance := fs.Duration("tolerance", 5*time.Minute, "how far a signature's time may be from now")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("receive: -secret (or REGISTRY_WEBHOOK_SECRET) is required")
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if err := checkSignature(r.Header.Get("Registry-Signature"), *secret, body, time.Now(), *tolerance); err != nil {
			fmt.Fprintln(log, "registryctl receive: refused a delivery:", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &n); err != nil || n.ID == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !seen[n.ID] {
			seen[n.ID] = true
			fmt.Fprintf(out, "%s\n", body)
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintln(log, "registryctl receive: listening on", l.Addr())
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkSignature checks header, "t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
// "<t>.<body>")>", against body, and that t is within tolerance of now.
func checkSignature(header, secret string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("no t= and v1= in Registry-Signature")
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signed at %s, too far from now", time.Unix(t, 0).UTC().Format(time.RFC3339))
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("the signature does not match the body and the secret")
}
