package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestWebhookDelivery: a filing against a grantor whose org_admin keeps a
// webhook reaches a real receiver on loopback, signed as API.md says; the
// receiver fails three times, then succeeds, and gets the notice exactly
// once more: four attempts, one delivery.
func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for retries")
	}
	const secret = "the grantor's webhook secret 0123456789"
	var mu sync.Mutex
	attempts := map[string]int{}
	delivered := map[string]int{}
	var badSignatures int
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !signed(r.Header.Get("Registry-Signature"), secret, body) {
			badSignatures++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n struct{ ID, Kind string }
		_ = json.Unmarshal(body, &n)
		attempts[n.ID]++
		if attempts[n.ID] <= 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		delivered[n.ID]++
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	addr, admin, _ := startServerWith(t, map[string]string{
		"REGISTRY_WEBHOOK_ALLOW_HOSTS": "127.0.0.1/32", "REGISTRY_WEBHOOK_RETRY_BASE": "100ms", "REGISTRY_SHUTDOWN_GRACE": "0s",
	})
	base := "http://" + addr
	c := &caller{t: t}
	token := bankClerk(c, base, admin, `"registrant"`)
	grantor := c.json("POST", base+"/api/v1/organizations", admin, `{"name":"上海星辰精密机械有限公司","uscc":"91310115MA1K3YJ12G","kind":"enterprise"}`, 201)["id"]
	c.json("POST", base+"/api/v1/users", admin, fmt.Sprintf(`{"organization_id":%q,"email":"it@grantor.example","display_name":"乙","roles":["org_admin"],"password":"a long enough password"}`, grantor), 201)
	grantorAdmin := c.json("POST", base+"/api/v1/tokens", "", `{"email":"it@grantor.example","password":"a long enough password"}`, 201)["token"].(string)
	hook := c.json("POST", base+"/api/v1/webhooks", grantorAdmin, fmt.Sprintf(`{"url":%q,"secret":%q}`, receiver.URL+"/notices", secret), 201)["id"].(string)

	number := c.json("POST", base+"/api/v1/registrations", token, filingBody("设备一批"), 201)["number"].(string)
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(delivered)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery within 60 s (attempts %v)", attempts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for a duplicate to show
	mu.Lock()
	defer mu.Unlock()
	if len(delivered) != 1 || badSignatures != 0 {
		t.Fatalf("delivered %v, %d bad signatures", delivered, badSignatures)
	}
	for id, n := range delivered {
		if n != 1 || attempts[id] != 4 {
			t.Errorf("notice %s: delivered %d times after %d attempts, want once after 4", id, n, attempts[id])
		}
	}
	// The deliveries log: newest first, three refusals, then the delivery.
	log, _ := c.json("GET", base+"/api/v1/webhooks/"+hook+"/deliveries", grantorAdmin, "", 200)["items"].([]any)
	var statuses []string
	for _, x := range log {
		a := x.(map[string]any)
		statuses = append(statuses, fmt.Sprint(a["attempt"], ":", a["status_code"]))
	}
	if strings.Join(statuses, " ") != "4:204 3:502 2:502 1:502" {
		t.Errorf("deliveries log %v", statuses)
	}
	// The metrics count the notices and the attempts, and the queue is empty.
	for name, want := range map[string]float64{
		`registry_notices_total{kind="registration_filed"}`:                1,
		`registry_deliveries_total{channel="webhook",outcome="failed"}`:    3,
		`registry_deliveries_total{channel="webhook",outcome="delivered"}`: 1,
		`registry_delivery_queue_depth{stage="jobs"}`:                      0,
		`registry_delivery_queue_depth{stage="outbox"}`:                    0,
		`registry_delivery_oldest_undelivered_seconds`:                     0,
	} {
		if got, ok := sample(t, base, name); !ok || got != want {
			t.Errorf("%s = %v (shown: %v), want %v", name, got, ok, want)
		}
	}
	t.Logf("the filing %s's notice reached the webhook on its fourth attempt", number)
}

// signed checks a Registry-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
func signed(header, secret string, body []byte) bool {
	var ts, v1 string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(t, 0)).Abs() > 5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want, _ := hex.DecodeString(v1)
	return hmac.Equal(m.Sum(nil), want)
}

// TestDeliveriesSurviveKill: 200 notices pending delivery (the receiver
// refuses them) survive kill -9 of registryd, and all arrive once another
// registryd runs on the database.
func TestDeliveriesSurviveKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts registryd processes")
	}
	const secret = "the grantor's webhook secret 0123456789"
	var mu sync.Mutex
	accepting := false
	got := map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !accepting || !signed(r.Header.Get("Registry-Signature"), secret, body) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var n struct{ ID string }
		_ = json.Unmarshal(body, &n)
		got[n.ID]++
		w.WriteHeader(http.StatusOK)
	}))
	defer receiver.Close()
	ps := newProcesses(t, "deliveries-admin-token-0123456789abcdef")
	admin := ps.admin
	start := func(name string) *instance {
		in := ps.start(name, func(string) []string {
			return []string{"REGISTRY_WEBHOOK_ALLOW_HOSTS=127.0.0.1/32", "REGISTRY_WEBHOOK_RETRY_BASE=100ms"}
		})
		waitReady(t, in)
		return in
	}
	first := start("registryd-1")
	c := &caller{t: t}
	token := bankClerk(c, first.base, admin, `"registrant"`)
	grantor := c.json("POST", first.base+"/api/v1/organizations", admin, `{"name":"上海星辰精密机械有限公司","uscc":"91310115MA1K3YJ12G","kind":"enterprise"}`, 201)["id"]
	c.json("POST", first.base+"/api/v1/users", admin, fmt.Sprintf(`{"organization_id":%q,"email":"it@grantor.example","display_name":"乙","roles":["org_admin"],"password":"a long enough password"}`, grantor), 201)
	grantorAdmin := c.json("POST", first.base+"/api/v1/tokens", "", `{"email":"it@grantor.example","password":"a long enough password"}`, 201)["token"].(string)
	c.json("POST", first.base+"/api/v1/webhooks", grantorAdmin, fmt.Sprintf(`{"url":%q,"secret":%q}`, receiver.URL+"/notices", secret), 201)

	var wg sync.WaitGroup
	for k := range 8 {
		wg.Go(func() {
			for i := range 25 {
				c.json("POST", first.base+"/api/v1/registrations", token, filingBody(fmt.Sprintf("设备 %d-%d", k, i)), 201)
			}
		})
	}
	wg.Wait()
	time.Sleep(2 * time.Second) // the deliveries enqueued and refused at least once
	_ = first.cmd.Process.Signal(syscall.SIGKILL)
	_ = first.cmd.Wait()
	mu.Lock()
	accepting = true
	mu.Unlock()
	start("registryd-2")
	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		n, dup := len(got), 0
		for _, k := range got {
			dup += k - 1
		}
		mu.Unlock()
		if n == 200 {
			t.Logf("all 200 notices delivered after kill -9 (%d duplicates, which receivers drop by id)", dup)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 200 notices delivered within 90 s of the restart", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
