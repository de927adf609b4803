package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/registry"
)

// TestCertificateSaysWhatItCertifiesAndTheStatusNow: GET /certificates
// answers, without a token, what a number certifies and how the
// registration it belongs to stands now (a cancelled or expired one says
// so, whichever of its numbers is asked), with the digest of the certified
// record; a number typed in groups is the same number.
func TestCertificateSaysWhatItCertifiesAndTheStatusNow(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	file := func(months int) registry.Registration {
		t.Helper()
		f := filing(grantorName, usccs[1])
		f["period_months"] = months
		var r registry.Registration
		res := e.do("POST", "/registrations", bank.Token, f)
		if err := json.Unmarshal(res.Body, &r); err != nil || res.Status != 201 {
			t.Fatalf("filing: %s", res)
		}
		return r
	}
	lastEventNumber := func(reg map[string]any) string {
		h := reg["history"].([]any)
		return h[len(h)-1].(map[string]any)["number"].(string)
	}
	effective, cancelled, lapsing := file(12), file(12), file(1)
	amendment := lastEventNumber(e.must(201, e.do("POST", "/registrations/"+effective.Number+"/amendments", bank.Token, map[string]any{"description": "全部数控机床"})))
	cancellation := lastEventNumber(e.must(201, e.do("POST", "/registrations/"+cancelled.Number+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`)))
	search := e.must(201, e.do("POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))

	// digest is worked out here, apart from the code under test, from
	// what the database holds.
	digest := func(query, number string) string {
		t.Helper()
		var b []byte
		if err := e.db.QueryRow(query, number).Scan(&b); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		return "sha256:" + hex.EncodeToString(h[:])
	}
	eventCert := func(number, kindOf string, r registry.Registration, status string) registry.Certificate {
		t.Helper()
		var at time.Time
		if err := e.db.QueryRow("SELECT registered_at FROM events WHERE number = $1", number).Scan(&at); err != nil {
			t.Fatal(err)
		}
		registered, expires := r.RegisteredAt, r.ExpiresAt
		return registry.Certificate{Number: number, KindOfCertificate: kindOf, IssuedAt: registry.At(at),
			Digest: digest("SELECT record FROM events WHERE number = $1", number), RegistrationNumber: r.Number,
			Kind: r.Kind, Status: status, RegisteredAt: &registered, ExpiresAt: &expires}
	}
	searchedAt, _ := time.Parse(time.RFC3339Nano, search["searched_at"].(string))
	searchNumber := search["number"].(string)
	// grouped is a number as a person copies it off paper.
	grouped := func(n string) string { return n[:4] + " " + n[4:8] + "-" + n[8:12] + " " + n[12:16] + "-" + n[16:] }

	get := func(t *testing.T, asked string) registry.Certificate {
		t.Helper()
		r := e.do("GET", "/certificates/"+url.PathEscape(asked), "", nil)
		var got registry.Certificate
		if err := json.Unmarshal(r.Body, &got); err != nil || r.Status != 200 {
			t.Fatalf("GET /certificates/%s: %s", asked, r)
		}
		return got
	}
	for _, tc := range []struct {
		name, asked string
		want        registry.Certificate
	}{
		{"an effective registration is effective, with its kind and times", effective.Number,
			eventCert(effective.Number, "registration", effective, "effective")},
		{"an amendment's number names its registration and how that stands", amendment,
			eventCert(amendment, "amendment", effective, "effective")},
		{"a cancelled registration says so by its own number", cancelled.Number,
			eventCert(cancelled.Number, "registration", cancelled, "cancelled")},
		{"and by its cancellation's number", cancellation,
			eventCert(cancellation, "cancellation", cancelled, "cancelled")},
		{"a search certificate has no status and no registration times", searchNumber,
			registry.Certificate{Number: searchNumber, KindOfCertificate: "search", Kind: "search", IssuedAt: registry.At(searchedAt),
				Digest: digest("SELECT body FROM searches WHERE number = $1", searchNumber)}},
		{"a number typed with spaces and dashes is the number", grouped(amendment),
			eventCert(amendment, "amendment", effective, "effective")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(get(t, tc.asked), tc.want); diff != "" {
				t.Errorf("(-got +want)\n%s", diff)
			}
		})
	}

	t.Run("a bad check digit is 422 naming the number", func(t *testing.T) {
		bad := effective.Number[:19] + string("0123456789"[(int(effective.Number[19]-'0')+1)%10])
		p := e.problem(e.do("GET", "/certificates/"+url.PathEscape(grouped(bad)), "", nil), 422, "invalid_number")
		if got := fieldErrors(p); len(got) != 1 || got[0] != "number invalid_number" {
			t.Errorf("field errors %v", got)
		}
	})
	t.Run("a registration past its expiry is expired, whichever number is asked", func(t *testing.T) {
		e.clock.Advance(time.Until(lapsing.ExpiresAt.Time) + time.Minute)
		if got := get(t, lapsing.Number); got.Status != "expired" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(lapsing.ExpiresAt.Time) {
			t.Errorf("after expiry: %+v", got)
		}
		if got := get(t, cancelled.Number); got.Status != "cancelled" {
			t.Errorf("a cancelled one stays cancelled after its expiry: %s", got.Status)
		}
	})
}
