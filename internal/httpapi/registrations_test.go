package httpapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/identifiers"
	"github.com/movable-registry/registry/internal/registry"
)

const grantorName = "上海星辰精密机械有限公司"

func TestFileRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	searcher := e.newAccount(usccs[2], "searcher")

	t.Run("201: the registration, its number, times and modification code", func(t *testing.T) {
		before := e.clock.Now().UTC()
		r := e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1]))
		reg := e.must(201, r)
		number := reg["number"].(string)
		if err := identifiers.CheckNumber(number); err != nil {
			t.Errorf("number %s: %v", number, err)
		}
		if want := before.In(registry.Shanghai).Format("20060102"); !strings.HasPrefix(number, want) {
			t.Errorf("number %s does not start with today's date %s", number, want)
		}
		if loc := r.Header.Get("Location"); loc != "/api/v1/registrations/"+number {
			t.Errorf("Location %q", loc)
		}
		at, err := time.Parse(time.RFC3339Nano, reg["registered_at"].(string))
		if err != nil || at.Before(before.Truncate(time.Microsecond)) || at.Nanosecond()%1000 != 0 {
			t.Errorf("registered_at %v (%v), before %v", reg["registered_at"], err, before)
		}
		exp, _ := time.Parse(time.RFC3339Nano, reg["expires_at"].(string))
		if !exp.Equal(registry.AddMonths(at, 36)) {
			t.Errorf("expires_at %v, want %v", exp, registry.AddMonths(at, 36))
		}
		code, _ := reg["modification_code"].(string)
		if len(code) < 20 {
			t.Errorf("modification code %q", code)
		}
		if n := e.count("SELECT count(*) FROM registrations WHERE modification_code_hash = sha256($1::bytea)", []byte(code)); n != 1 {
			t.Errorf("modification code stored as hash: %d rows", n)
		}
		if reg["status"] != "effective" || reg["version"] != 1.0 || reg["controller"].(map[string]any)["organization_id"] != bank.OrgID {
			t.Errorf("registration = %v", reg)
		}
		items := reg["collateral"].(map[string]any)["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["registered_at"] != reg["registered_at"] {
			t.Errorf("items = %v", items)
		}
		hist := reg["history"].([]any)
		if len(hist) != 1 || hist[0].(map[string]any)["number"] != number || hist[0].(map[string]any)["type"] != "initial" {
			t.Errorf("history = %v", hist)
		}
		if n := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.file' AND outcome = 'success' AND target = $1", number); n != 1 {
			t.Errorf("%d audit entries for the filing, want 1", n)
		}
	})
	t.Run("201: individuals, foreign organizations and lower-case x", func(t *testing.T) {
		f := filing(grantorName, usccs[1])
		f["grantors"] = []any{
			map[string]any{"type": "individual", "name": "张三", "id_number": "44030419851231002x", "address": "上海市浦东新区张江路88号"},
			map[string]any{"type": "organization", "name": "Pacific Rim Trading Co., Ltd.", "country": "HK", "registration_number": "1234567", "lei": "5493001KJTIIGC8Y1R12", "address": "上海市浦东新区张江路88号"},
		}
		f["max_secured_amount"] = map[string]any{"amount": "1200000", "currency": "USD"}
		reg := e.must(201, e.do("POST", "/registrations", bank.Token, f))
		if diff := cmp.Diff(reg["max_secured_amount"], map[string]any{"amount": "1200000.00", "currency": "USD"}); diff != "" {
			t.Errorf("max_secured_amount (-got +want):\n%s", diff)
		}
		g := reg["grantors"].([]any)
		if g[0].(map[string]any)["id_number"] != "44030419851231002X" || g[1].(map[string]any)["country"] != "HK" {
			t.Errorf("grantors = %v", g)
		}
	})

	refused := func(t *testing.T) {
		t.Helper()
		// A refused filing leaves nothing behind but its audit entry.
		for _, table := range []string{"registrations", "events", "parties", "items"} {
			before := e.count("SELECT count(*) FROM " + table)
			defer func(table string, before int) {
				t.Helper()
				if after := e.count("SELECT count(*) FROM " + table); after != before {
					t.Errorf("%s: %d rows before, %d after a refused filing", table, before, after)
				}
			}(table, before)
		}
	}
	t.Run("422: every bad field is named", func(t *testing.T) {
		tests := []struct {
			name   string
			change func(f map[string]any)
			code   string
			want   []string
		}{
			{"a grantor's USCC with a wrong check character", func(f map[string]any) {
				f["grantors"].([]any)[0].(map[string]any)["uscc"] = "91310115MA1K3YJ12H"
			}, "invalid_uscc", []string{"grantors[0].uscc invalid_uscc"}},
			{"a second secured party's identity number", func(f map[string]any) {
				f["secured_parties"] = append(f["secured_parties"].([]any), map[string]any{"type": "individual", "name": "李四", "id_number": "110101199003071234", "address": "上海市浦东新区张江路88号"})
			}, "invalid_id_number", []string{"secured_parties[1].id_number invalid_id_number"}},
			{"a bad LEI", func(f map[string]any) {
				f["grantors"] = []any{map[string]any{"type": "organization", "name": "Pacific Rim", "country": "HK", "registration_number": "1", "lei": "5493001KJTIIGC8Y1R13", "address": "上海市浦东新区张江路88号"}}
			}, "invalid_lei", []string{"grantors[0].lei invalid_lei"}},
			{"an unknown country", func(f map[string]any) {
				f["grantors"] = []any{map[string]any{"type": "organization", "name": "Pacific Rim", "country": "XX", "registration_number": "1", "address": "上海市浦东新区张江路88号"}}
			}, "invalid_field", []string{"grantors[0].country invalid_field"}},
			{"an individual without an identity number", func(f map[string]any) {
				f["grantors"] = []any{map[string]any{"type": "individual", "name": "张三", "address": "上海市浦东新区张江路88号"}}
			}, "invalid_field", []string{"grantors[0].id_number invalid_field"}},
			{"period of 0 and 361 months", func(f map[string]any) { f["period_months"] = 0 }, "invalid_field", []string{"period_months invalid_field"}},
			{"period of 361 months", func(f map[string]any) { f["period_months"] = 361 }, "invalid_field", []string{"period_months invalid_field"}},
			{"unknown kind, no description, bad item, bad money", func(f map[string]any) {
				f["kind"] = "motor_vehicle_mortgage"
				f["collateral"] = map[string]any{"description": "  ", "items": []any{map[string]any{"type": "spaceship", "serial_number": ""}}}
				f["max_secured_amount"] = map[string]any{"amount": "5,000,000", "currency": "RMB"}
			}, "invalid_field", []string{"kind invalid_field", "collateral.description invalid_field", "collateral.items[0].type invalid_field",
				"collateral.items[0].serial_number invalid_field", "max_secured_amount.amount invalid_field", "max_secured_amount.currency invalid_field"}},
			{"no grantors, no secured parties", func(f map[string]any) { f["grantors"] = []any{}; delete(f, "secured_parties") }, "invalid_field",
				[]string{"grantors invalid_field", "secured_parties invalid_field"}},
			{"the same serial twice", func(f map[string]any) {
				f["collateral"].(map[string]any)["items"] = []any{
					map[string]any{"type": "vehicle", "serial_number": "LSVAU2180N2183294"},
					map[string]any{"type": "vehicle", "serial_number": "lsvau2180n2183294"},
				}
			}, "invalid_field", []string{"collateral.items[1].serial_number invalid_field"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				refused(t)
				f := filing(grantorName, usccs[1])
				tt.change(f)
				p := e.problem(e.do("POST", "/registrations", bank.Token, f), 422, tt.code)
				if diff := cmp.Diff(fieldErrors(p), tt.want); diff != "" {
					t.Errorf("errors (-got +want):\n%s", diff)
				}
			})
		}
	})
	t.Run("400: malformed bodies", func(t *testing.T) {
		tests := map[string]string{
			"broken JSON":               `{"kind": "chattel_mortgage",`,
			"unknown top-level field":   `{"kind": "chattel_mortgage", "priority": 1}`,
			"unknown nested field":      `{"grantors": [{"type": "organization", "name": "X", "uscc": "911100001000065859", "evil": true}]}`,
			"period as a string":        `{"period_months": "36"}`,
			"grantors as an object":     `{"grantors": {"type": "individual"}}`,
			"an item id from a client":  `{"collateral": {"description": "x", "items": [{"id": "1", "type": "other", "serial_number": "1"}]}}`,
			"a fractional period":       `{"period_months": 1.5}`,
			"a period beyond int range": `{"period_months": 1e30}`,
		}
		for name, body := range tests {
			t.Run(name, func(t *testing.T) {
				refused(t)
				e.problem(e.do("POST", "/registrations", bank.Token, body), 400, "malformed_request")
			})
		}
	})
	t.Run("401, 403, 413", func(t *testing.T) {
		refused(t)
		e.problem(e.do("POST", "/registrations", "", filing(grantorName, usccs[1])), 401, "unauthenticated")
		e.problem(e.do("POST", "/registrations", searcher.Token, filing(grantorName, usccs[1])), 403, "forbidden")
		e.problem(e.do("POST", "/registrations", adminToken, filing(grantorName, usccs[1])), 403, "forbidden")
		f := filing(grantorName, usccs[1])
		f["collateral"].(map[string]any)["description"] = strings.Repeat("设备", 200000)
		e.problem(e.do("POST", "/registrations", bank.Token, f), 413, "payload_too_large")
	})
}

func TestGetRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	searcher := e.newAccount(usccs[2], "searcher")
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))
	number := reg["number"].(string)
	cancelled := e.must(201, e.do("POST", "/registrations/"+number+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`))
	cancelNumber := cancelled["history"].([]any)[1].(map[string]any)["number"].(string)

	t.Run("200: by its number and by a later event's number, without the modification code", func(t *testing.T) {
		for _, n := range []string{number, cancelNumber} {
			r := e.do("GET", "/registrations/"+n, searcher.Token, nil)
			got := e.must(200, r)
			if got["number"] != number || got["status"] != "cancelled" || len(got["history"].([]any)) != 2 {
				t.Errorf("GET %s = %v", n, got)
			}
			if _, shown := got["modification_code"]; shown {
				t.Error("the modification code is shown again")
			}
			if r.Header.Get("ETag") != `"2"` {
				t.Errorf("ETag %q", r.Header.Get("ETag"))
			}
		}
	})
	t.Run("404: a well-formed number nobody has", func(t *testing.T) {
		body := "202611260000009999"
		e.problem(e.do("GET", "/registrations/"+body+identifiers.NumberCheckDigits(body), searcher.Token, nil), 404, "not_found")
	})
	t.Run("422: a number with a wrong check digit or the wrong length", func(t *testing.T) {
		bad := number[:19] + string("0123456789"[(int(number[19]-'0')+1)%10])
		p := e.problem(e.do("GET", "/registrations/"+bad, searcher.Token, nil), 422, "invalid_number")
		if diff := cmp.Diff(fieldErrors(p), []string{"number invalid_number"}); diff != "" {
			t.Errorf("errors (-got +want):\n%s", diff)
		}
		e.problem(e.do("GET", "/registrations/123", searcher.Token, nil), 422, "invalid_number")
	})
	t.Run("401", func(t *testing.T) {
		e.problem(e.do("GET", "/registrations/"+number, "", nil), 401, "unauthenticated")
	})
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	agent := e.newAccount(usccs[3], "registrant")
	searcher := e.newAccount(usccs[2], "searcher")
	file := func() (string, string) {
		reg := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))
		return reg["number"].(string), reg["modification_code"].(string)
	}

	t.Run("201 by the controller, then 409 registration_not_effective", func(t *testing.T) {
		n, _ := file()
		r := e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"debt_repaid","note":"repaid on 2026-11-20"}`))
		hist := r["history"].([]any)
		if r["status"] != "cancelled" || len(hist) != 2 || hist[1].(map[string]any)["type"] != "cancellation" {
			t.Fatalf("cancelled = %v", r)
		}
		if c := hist[1].(map[string]any)["number"].(string); c <= n || identifiers.CheckNumber(c) != nil {
			t.Errorf("cancellation number %s after %s", c, n)
		}
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`), 409, "registration_not_effective")
	})
	t.Run("201 by another organization's registrant with the modification code", func(t *testing.T) {
		n, code := file()
		e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", agent.Token, `{"reason":"security_waived"}`, "Modification-Code", strings.ToLower(code)))
	})
	t.Run("403", func(t *testing.T) {
		n, code := file()
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", agent.Token, `{"reason":"other"}`), 403, "forbidden")
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", agent.Token, `{"reason":"other"}`, "Modification-Code", "AAAA-BBBB-CCCC-DDDD-EEEE"), 403, "forbidden")
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", searcher.Token, `{"reason":"other"}`, "Modification-Code", code), 403, "forbidden")
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", adminToken, `{"reason":"other"}`), 403, "forbidden")
		if got := e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil)); got["status"] != "effective" {
			t.Errorf("status after refused cancellations: %v", got["status"])
		}
	})
	t.Run("409 after expiry: the clock alone ends a registration", func(t *testing.T) {
		f := filing(grantorName, usccs[1])
		f["period_months"] = 1
		reg := e.must(201, e.do("POST", "/registrations", bank.Token, f))
		n := reg["number"].(string)
		exp, _ := time.Parse(time.RFC3339Nano, reg["expires_at"].(string))
		// The instant before expiry it is effective; at expiry it is not.
		e.clock.Stop(t, exp.Add(-time.Microsecond))
		// A token issued now: the first one has expired by this time.
		token := e.must(201, e.do("POST", "/tokens", adminToken, map[string]any{"user_id": bank.UserID}))["token"].(string)
		if got := e.must(200, e.do("GET", "/registrations/"+n, token, nil)); got["status"] != "effective" {
			t.Errorf("status just before expiry: %v", got["status"])
		}
		e.clock.Stop(t, exp)
		if got := e.must(200, e.do("GET", "/registrations/"+n, token, nil)); got["status"] != "expired" {
			t.Errorf("status after expiry: %v", got["status"])
		}
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", token, `{"reason":"debt_repaid"}`), 409, "registration_not_effective")
	})
	t.Run("422, 404, 400, 401", func(t *testing.T) {
		n, _ := file()
		p := e.problem(e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"paid"}`), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"reason invalid_field"}); diff != "" {
			t.Errorf("errors (-got +want):\n%s", diff)
		}
		body := "202611260000009999"
		e.problem(e.do("POST", "/registrations/"+body+identifiers.NumberCheckDigits(body)+"/cancellation", bank.Token, `{"reason":"other"}`), 404, "not_found")
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"other","when":"now"}`), 400, "malformed_request")
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", "", `{"reason":"other"}`), 401, "unauthenticated")
		if n := e.count("SELECT count(*) FROM events WHERE type = 'cancellation' AND registration_number = $1", n); n != 0 {
			t.Errorf("%d cancellation events after refusals", n)
		}
	})
}

// TestConcurrentFilingsAreOrdered files 40 registrations at once: their numbers
// are distinct, numbers and times sort the same way, and a search returns them
// in that order.
func TestConcurrentFilingsAreOrdered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	const n = 40
	type filed struct {
		number string
		at     time.Time
	}
	results := make([]filed, n)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := e.do("POST", "/registrations", bank.Token, filing("并发测试有限公司", usccs[1]))
			if r.Status != 201 {
				errs <- r.String()
				return
			}
			var m struct {
				Number       string    `json:"number"`
				RegisteredAt time.Time `json:"registered_at"`
			}
			if err := json.Unmarshal(r.Body, &m); err != nil {
				errs <- err.Error()
				return
			}
			results[i] = filed{m.Number, m.RegisteredAt}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	byNumber := slices.Clone(results)
	slices.SortFunc(byNumber, func(a, b filed) int { return strings.Compare(a.number, b.number) })
	for i := 1; i < n; i++ {
		if byNumber[i].number == byNumber[i-1].number {
			t.Fatalf("number %s given twice", byNumber[i].number)
		}
		if !byNumber[i].at.After(byNumber[i-1].at) {
			t.Errorf("%s at %v is not after %s at %v", byNumber[i].number, byNumber[i].at, byNumber[i-1].number, byNumber[i-1].at)
		}
	}
	s := e.must(201, e.do("POST", "/searches", bank.Token, `{"criteria":{"grantor_name":"并发测试有限公司"}}`))
	var got []string
	for _, r := range s["results"].([]any) {
		got = append(got, r.(map[string]any)["registration"].(map[string]any)["number"].(string))
	}
	var want []string
	for _, f := range byNumber {
		want = append(want, f.number)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("search order (-got +want):\n%s", diff)
	}
	if s["register_position"] != float64(n) {
		t.Errorf("register_position %v, want %d", s["register_position"], n)
	}
	// The log positions are 0..n-1 without a gap, in number order.
	if c := e.count("SELECT count(*) FROM events e1 JOIN events e2 ON e1.log_index < e2.log_index WHERE e1.number > e2.number OR e1.registered_at >= e2.registered_at"); c != 0 {
		t.Errorf("%d pairs of events whose log order disagrees with their number or time order", c)
	}
	if c := e.count("SELECT max(log_index) + 1 - count(*) FROM events"); c != 0 {
		t.Errorf("%d gaps in the log positions", c)
	}
}
