package httpapi_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/identifiers"
)

// numbers lists the registration numbers of a search answer, in order.
func numbers(s map[string]any) []string {
	out := []string{}
	for _, r := range s["results"].([]any) {
		out = append(out, r.(map[string]any)["registration"].(map[string]any)["number"].(string))
	}
	return out
}

func TestSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	other := e.newAccount(usccs[3], "searcher")
	auditor := e.newAccount(usccs[4], "auditor")
	registrantOnly := e.newUser(bank.OrgID, bank.OrgUSCC, "registrant")

	f1 := filing("上海星辰（集团）精密机械有限公司", usccs[1])
	r1 := e.must(201, e.do("POST", "/registrations", bank.Token, f1))["number"].(string)
	f2 := filing("Pacific Rim Trading Co., Ltd.", "")
	f2["grantors"] = []any{
		map[string]any{"type": "organization", "name": "Pacific Rim Trading Co., Ltd.", "country": "HK", "registration_number": "1234567", "lei": "5493001KJTIIGC8Y1R12", "address": "上海市浦东新区张江路88号"},
		map[string]any{"type": "individual", "name": "张三", "id_number": "110101199003071233", "address": "上海市浦东新区张江路88号"},
	}
	f2["collateral"].(map[string]any)["items"] = []any{map[string]any{"type": "vehicle", "serial_number": "LSVAU2180N2183294"}}
	r2 := e.must(201, e.do("POST", "/registrations", bank.Token, f2))["number"].(string)
	f3 := filing("上海星辰（集团）精密机械有限公司", usccs[1])
	r3 := e.must(201, e.do("POST", "/registrations", bank.Token, f3))["number"].(string)
	beforeCancel := e.clock.Now()
	cancel := e.must(201, e.do("POST", "/registrations/"+r3+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`))
	cancelNumber := cancel["history"].([]any)[1].(map[string]any)["number"].(string)
	e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星晨（集团）精密机械有限公司", usccs[5])))

	t.Run("201: each criterion finds what it should, in registration order", func(t *testing.T) {
		tests := []struct {
			name     string
			body     string
			want     []string
			matched  string
			inactive bool
		}{
			{"name as filed", `{"criteria":{"grantor_name":"上海星辰（集团）精密机械有限公司"}}`, []string{r1}, "current_name", false},
			{"name with half-width brackets and spaces", `{"criteria":{"grantor_name":"上海星辰 (集团) 精密机械有限公司"}}`, []string{r1}, "current_name", false},
			{"name with an ideographic space and a zero-width space", "{\"criteria\":{\"grantor_name\":\"上海星辰\u3000(集团)\u200b精密机械有限公司\"}}", []string{r1}, "current_name", false},
			{"name, inactive included", `{"criteria":{"grantor_name":"上海星辰(集团)精密机械有限公司"},"include_inactive":true}`, []string{r1, r3}, "current_name", true},
			{"Latin name without its legal form", `{"criteria":{"grantor_name":"PACIFIC RIM TRADING"}}`, []string{r2}, "current_name", false},
			{"USCC, lower case", `{"criteria":{"uscc":"91310115ma1k3yj12g"}}`, []string{r1}, "uscc", false},
			{"LEI", `{"criteria":{"lei":"5493001KJTIIGC8Y1R12"}}`, []string{r2}, "lei", false},
			{"identity number", `{"criteria":{"id_number":"110101199003071233"}}`, []string{r2}, "id_number", false},
			{"serial number typed differently", `{"criteria":{"serial_number":"lsvau 2180 n2183294"}}`, []string{r2}, "serial_number", false},
			{"registration number", `{"criteria":{"registration_number":"` + r1 + `"}}`, []string{r1}, "registration_number", false},
			{"a cancelled registration by number, without asking for inactive ones", `{"criteria":{"registration_number":"` + r3 + `"}}`, []string{r3}, "registration_number", false},
			{"a registration by its cancellation's number", `{"criteria":{"registration_number":"` + cancelNumber + `"}}`, []string{r3}, "registration_number", false},
			{"a name nobody has", `{"criteria":{"grantor_name":"北京月亮贸易有限公司"}}`, []string{}, "", false},
			{"a grantor's name never finds an individual", `{"criteria":{"grantor_name":"张三"}}`, []string{}, "", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do("POST", "/searches", bank.Token, tt.body)
				s := e.must(201, r)
				if diff := cmp.Diff(numbers(s), tt.want); diff != "" {
					t.Errorf("results (-got +want):\n%s", diff)
				}
				if s["result_count"] != float64(len(tt.want)) {
					t.Errorf("result_count %v", s["result_count"])
				}
				for _, res := range s["results"].([]any) {
					if m := res.(map[string]any)["matched_by"]; m != tt.matched {
						t.Errorf("matched_by %v, want %s", m, tt.matched)
					}
				}
				number := s["number"].(string)
				if err := identifiers.CheckNumber(number); err != nil {
					t.Errorf("certificate number %s: %v", number, err)
				}
				if r.Header.Get("Location") != "/api/v1/searches/"+number {
					t.Errorf("Location %q", r.Header.Get("Location"))
				}
				if s["register_position"] != 5.0 {
					t.Errorf("register_position %v, want 5 events", s["register_position"])
				}
			})
		}
	})
	t.Run("results carry each registration's whole history", func(t *testing.T) {
		s := e.must(201, e.do("POST", "/searches", bank.Token, `{"criteria":{"registration_number":"`+r3+`"}}`))
		reg := s["results"].([]any)[0].(map[string]any)["registration"].(map[string]any)
		if reg["status"] != "cancelled" || len(reg["history"].([]any)) != 2 {
			t.Errorf("registration = %v", reg)
		}
	})
	t.Run("similar names are offered beside, not inside, the result", func(t *testing.T) {
		s := e.must(201, e.do("POST", "/searches", bank.Token, `{"criteria":{"grantor_name":"上海星辰（集团）精密机械有限公司"}}`))
		if diff := cmp.Diff(s["similar_names"], []any{"上海星晨（集团）精密机械有限公司"}); diff != "" {
			t.Errorf("similar_names (-got +want):\n%s", diff)
		}
		// One slip from the first name, two from the second (another trade
		// name and the typo): only the first is offered.
		s = e.must(201, e.do("POST", "/searches", bank.Token, `{"criteria":{"grantor_name":"上海星辰（集团）精密机城有限公司"}}`))
		if len(s["results"].([]any)) != 0 || cmp.Diff(s["similar_names"], []any{"上海星辰（集团）精密机械有限公司"}) != "" {
			t.Errorf("a typo finds nothing but offers the name meant: %v", s)
		}
	})
	t.Run("a mixed-script name is flagged", func(t *testing.T) {
		s := e.must(201, e.do("POST", "/searches", bank.Token, "{\"criteria\":{\"grantor_name\":\"P\u0430cific Rim Trading\"}}"))
		if len(s["results"].([]any)) != 0 || s["warnings"] == nil {
			t.Errorf("search = %v", s)
		}
	})
	t.Run("as_of: the register as it stood before the cancellation", func(t *testing.T) {
		asOf := beforeCancel.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		s := e.must(201, e.do("POST", "/searches", bank.Token, `{"criteria":{"grantor_name":"上海星辰(集团)精密机械有限公司"},"as_of":"`+asOf+`"}`))
		if diff := cmp.Diff(numbers(s), []string{r1, r3}); diff != "" {
			t.Errorf("results (-got +want):\n%s", diff)
		}
		reg := s["results"].([]any)[1].(map[string]any)["registration"].(map[string]any)
		if reg["status"] != "effective" || len(reg["history"].([]any)) != 1 {
			t.Errorf("as of before its cancellation, r3 = %v", reg)
		}
		// (RFC 3339 with nanoseconds drops trailing zeros; the answer always has six digits.)
		if s["register_position"] != 3.0 || !ts(t, s["as_of"]).Equal(beforeCancel.Truncate(time.Microsecond)) {
			t.Errorf("register_position %v, as_of %v", s["register_position"], s["as_of"])
		}
	})
	t.Run("GET /searches/{number} returns the identical bytes, later too", func(t *testing.T) {
		first := e.do("POST", "/searches", bank.Token, `{"criteria":{"uscc":"91310115MA1K3YJ12G"},"include_inactive":true}`)
		number := e.must(201, first)["number"].(string)
		e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰（集团）精密机械有限公司", usccs[1])))
		for _, token := range []string{bank.Token, registrantOnly.Token, auditor.Token} {
			again := e.do("GET", "/searches/"+number, token, nil)
			if token == registrantOnly.Token {
				e.problem(again, 403, "forbidden")
				continue
			}
			if again.Status != 200 || !bytes.Equal(again.Body, first.Body) {
				t.Errorf("stored search differs:\n%s\n%s", first.Body, again.Body)
			}
		}
		e.problem(e.do("GET", "/searches/"+number, other.Token, nil), 403, "forbidden")
		body := "202611260000009999"
		e.problem(e.do("GET", "/searches/"+body+identifiers.NumberCheckDigits(body), bank.Token, nil), 404, "not_found")
		e.problem(e.do("GET", "/searches/"+number[:19]+"x", bank.Token, nil), 422, "invalid_number")
	})
	t.Run("422", func(t *testing.T) {
		tests := []struct {
			name, body, code string
			want             []string
		}{
			{"no criterion", `{"criteria":{}}`, "invalid_field", []string{"criteria invalid_field"}},
			{"two criteria", `{"criteria":{"uscc":"91310115MA1K3YJ12G","lei":"5493001KJTIIGC8Y1R12"}}`, "invalid_field", []string{"criteria invalid_field"}},
			{"a bad USCC", `{"criteria":{"uscc":"91310115MA1K3YJ12H"}}`, "invalid_uscc", []string{"criteria.uscc invalid_uscc"}},
			{"a bad identity number", `{"criteria":{"id_number":"110101199003071234"}}`, "invalid_id_number", []string{"criteria.id_number invalid_id_number"}},
			{"a bad LEI", `{"criteria":{"lei":"5493001KJTIIGC8Y1R13"}}`, "invalid_lei", []string{"criteria.lei invalid_lei"}},
			{"a bad registration number", `{"criteria":{"registration_number":"20261126000000001247"}}`, "invalid_number", []string{"criteria.registration_number invalid_number"}},
			{"punctuation only", `{"criteria":{"grantor_name":"（）"}}`, "invalid_field", []string{"criteria.grantor_name invalid_field"}},
			{"as_of in the future", `{"criteria":{"uscc":"91310115MA1K3YJ12G"},"as_of":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`, "invalid_field", []string{"as_of invalid_field"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.count("SELECT count(*) FROM searches")
				p := e.problem(e.do("POST", "/searches", bank.Token, tt.body), 422, tt.code)
				if diff := cmp.Diff(fieldErrors(p), tt.want); diff != "" {
					t.Errorf("errors (-got +want):\n%s", diff)
				}
				if after := e.count("SELECT count(*) FROM searches"); after != before {
					t.Error("a refused search was stored")
				}
			})
		}
	})
	t.Run("400, 401, 403", func(t *testing.T) {
		e.problem(e.do("POST", "/searches", bank.Token, `{"criteria":{"name":"x"}}`), 400, "malformed_request")
		e.problem(e.do("POST", "/searches", bank.Token, `{"criteria":{"uscc":"x"},"as_of":"yesterday"}`), 400, "malformed_request")
		e.problem(e.do("POST", "/searches", "", `{"criteria":{"uscc":"91310115MA1K3YJ12G"}}`), 401, "unauthenticated")
		e.problem(e.do("POST", "/searches", registrantOnly.Token, `{"criteria":{"uscc":"91310115MA1K3YJ12G"}}`), 403, "forbidden")
	})
	t.Run("every search is in the audit trail with its certificate number", func(t *testing.T) {
		if n, s := e.count("SELECT count(*) FROM audit_entries WHERE action = 'search.create' AND outcome = 'success'"), e.count("SELECT count(*) FROM searches"); n != s || n == 0 {
			t.Errorf("%d audit entries for %d searches", n, s)
		}
	})
}

func TestCertificates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))
	number := reg["number"].(string)
	cancel := e.must(201, e.do("POST", "/registrations/"+number+"/cancellation", bank.Token, `{"reason":"other"}`))
	cancelNumber := cancel["history"].([]any)[1].(map[string]any)["number"].(string)
	search := e.do("POST", "/searches", bank.Token, `{"criteria":{"registration_number":"`+number+`"}}`)
	searchNumber := e.must(201, search)["number"].(string)

	t.Run("200 without a token, for each kind of number", func(t *testing.T) {
		tests := []struct{ number, kind, issued string }{
			{number, "registration", reg["registered_at"].(string)},
			{cancelNumber, "cancellation", cancel["history"].([]any)[1].(map[string]any)["registered_at"].(string)},
			{searchNumber, "search", search.JSON(t)["searched_at"].(string)},
		}
		for _, tt := range tests {
			c := e.must(200, e.do("GET", "/certificates/"+tt.number, "", nil))
			if c["number"] != tt.number || c["kind_of_certificate"] != tt.kind || c["issued_at"] != tt.issued || !strings.HasPrefix(c["digest"].(string), "sha256:") {
				t.Errorf("certificate %s = %v", tt.number, c)
			}
		}
	})
	t.Run("404 and 422", func(t *testing.T) {
		body := "202611260000009999"
		e.problem(e.do("GET", "/certificates/"+body+identifiers.NumberCheckDigits(body), "", nil), 404, "not_found")
		swapped := number[:10] + number[11:12] + number[10:11] + number[12:]
		if swapped != number {
			e.problem(e.do("GET", "/certificates/"+swapped, "", nil), 422, "invalid_number")
		}
		e.problem(e.do("GET", "/certificates/20261126000000001247", "", nil), 422, "invalid_number")
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		r := httptestGet(e, path)
		if r.Status != 200 {
			t.Errorf("GET %s: %s", path, r)
		}
	}
	if r := httptestGet(e, "/metrics"); r.Status != 404 {
		t.Errorf("GET /metrics with no metrics token configured: %d, want 404", r.Status)
	}
	t.Run("readyz is 503 when a migration is pending", func(t *testing.T) {
		if _, err := e.db.Exec("DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)"); err != nil {
			t.Fatal(err)
		}
		if r := httptestGet(e, "/readyz"); r.Status != 503 {
			t.Errorf("GET /readyz: %s", r)
		}
	})
	t.Run("unknown routes and methods are problems too", func(t *testing.T) {
		e.problem(e.do("GET", "/nothing-here", adminToken, nil), 404, "not_found")
		e.problem(e.do("DELETE", "/registrations", adminToken, nil), 405, "method_not_allowed")
	})
}

// Similar names follow the register: a name is offered from the moment it is
// filed, under its new name once renamed (and still under its former one),
// no longer once its registration is cancelled (unless inactive ones are
// asked for), and as of an instant, as it was then.
func TestSimilarNamesFollowTheRegister(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	similar := func(name, extra string) []any {
		t.Helper()
		s := e.must(201, e.do("POST", "/searches", bank.Token, `{"criteria":{"grantor_name":"`+name+`"}`+extra+`}`))
		return s["similar_names"].([]any)
	}
	before := e.clock.Now()
	e.clock.Advance(time.Second)
	if got := similar("上海星晨精密机械有限公司", ""); len(got) != 0 {
		t.Fatalf("an empty register offers %v", got)
	}
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))
	number := reg["number"].(string)
	if diff := cmp.Diff(similar("上海星晨精密机械有限公司", ""), []any{"上海星辰精密机械有限公司"}); diff != "" {
		t.Errorf("once filed (-got +want):\n%s", diff)
	}
	asOf := func(t time.Time) string {
		return `,"as_of":"` + t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano) + `"`
	}
	if got := similar("上海星晨精密机械有限公司", asOf(before)); len(got) != 0 {
		t.Errorf("as of before the filing: %v", got)
	}
	e.clock.Advance(time.Second)
	rename := `{"rename_grantors":[{"from":{"type":"organization","name":"上海星辰精密机械有限公司","uscc":"` + usccs[1] + `"},
		"to":{"type":"organization","name":"上海星光智能装备有限公司","uscc":"` + usccs[1] + `"}}]}`
	e.must(201, e.do("POST", "/registrations/"+number+"/amendments", bank.Token, rename))
	if diff := cmp.Diff(similar("上海星光智能装备有眼公司", ""), []any{"上海星光智能装备有限公司"}); diff != "" {
		t.Errorf("the new name (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(similar("上海星晨精密机械有限公司", ""), []any{"上海星辰精密机械有限公司"}); diff != "" {
		t.Errorf("the former name, which a search still finds (-got +want):\n%s", diff)
	}
	e.clock.Advance(time.Second)
	beforeCancel := e.clock.Now()
	e.clock.Advance(time.Second)
	e.must(201, e.do("POST", "/registrations/"+number+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`))
	if got := similar("上海星晨精密机械有限公司", ""); len(got) != 0 {
		t.Errorf("after the cancellation: %v", got)
	}
	if diff := cmp.Diff(similar("上海星晨精密机械有限公司", `,"include_inactive":true`), []any{"上海星辰精密机械有限公司"}); diff != "" {
		t.Errorf("with inactive registrations (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(similar("上海星晨精密机械有限公司", asOf(beforeCancel)), []any{"上海星辰精密机械有限公司"}); diff != "" {
		t.Errorf("as of before the cancellation (-got +want):\n%s", diff)
	}
}
