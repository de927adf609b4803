package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// The content the 2021 Measures ask of a filing (docs/rules.md, "The 2021
// Measures, article by article"): every party's address, a mainland
// organization's legal representative, the filer's declaration that the
// grantor agreed; and what the parties may agree to register besides.

func TestFilingUnderTheMeasures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")

	t.Run("422: each missing part is named", func(t *testing.T) {
		grantor := func(f map[string]any) map[string]any { return f["grantors"].([]any)[0].(map[string]any) }
		tests := []struct {
			name   string
			change func(f map[string]any)
			want   []string
			rule   string
		}{
			{"a grantor without an address", func(f map[string]any) { delete(grantor(f), "address") },
				[]string{"grantors[0].address invalid_field"}, "required"},
			{"a secured party with a blank address", func(f map[string]any) {
				f["secured_parties"].([]any)[0].(map[string]any)["address"] = "  "
			}, []string{"secured_parties[0].address invalid_field"}, "required"},
			{"an individual without an address", func(f map[string]any) {
				f["grantors"] = []any{map[string]any{"type": "individual", "name": "张三", "id_number": "11010119900307803X"}}
			}, []string{"grantors[0].address invalid_field"}, "required"},
			{"a mainland grantor without its legal representative", func(f map[string]any) { delete(grantor(f), "legal_representative") },
				[]string{"grantors[0].legal_representative invalid_field"}, "required"},
			{"no declaration", func(f map[string]any) { delete(f, "agreed_with_grantor") },
				[]string{"agreed_with_grantor invalid_field"}, "agreed_with_grantor"},
			{"a declaration of false", func(f map[string]any) { f["agreed_with_grantor"] = false },
				[]string{"agreed_with_grantor invalid_field"}, "agreed_with_grantor"},
			{"a principal amount that is no amount", func(f map[string]any) {
				f["principal_amount"] = map[string]any{"amount": "1,000", "currency": "CNY"}
			}, []string{"principal_amount.amount invalid_field"}, "amount"},
			{"a scope too long", func(f map[string]any) { f["security_scope"] = strings.Repeat("担", 501) },
				[]string{"security_scope invalid_field"}, "too_long"},
			{"a transfer restriction too long", func(f map[string]any) { f["transfer_restriction"] = strings.Repeat("转", 501) },
				[]string{"transfer_restriction invalid_field"}, "too_long"},
			{"an individual with a legal representative", func(f map[string]any) {
				f["grantors"] = []any{map[string]any{"type": "individual", "name": "张三", "id_number": "11010119900307803X", "address": "北京市东城区", "legal_representative": "李四"}}
			}, []string{"grantors[0].legal_representative invalid_field"}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.count("SELECT count(*) FROM events")
				f := filing(grantorName, usccs[1])
				tt.change(f)
				p := e.problem(e.do("POST", "/registrations", bank.Token, f), 422, "invalid_field")
				if diff := cmp.Diff(fieldErrors(p), tt.want); diff != "" {
					t.Errorf("errors (-got +want):\n%s", diff)
				}
				if rule, _ := p["errors"].([]any)[0].(map[string]any)["rule"].(string); rule != tt.rule {
					t.Errorf("rule %q, want %q", rule, tt.rule)
				}
				if after := e.count("SELECT count(*) FROM events"); after != before {
					t.Errorf("a refused filing wrote %d events", after-before)
				}
			})
		}
	})

	t.Run("201: what is declared is recorded and shown", func(t *testing.T) {
		f := filing(grantorName, usccs[1])
		f["secured_parties"].([]any)[0].(map[string]any)["financial_institution_code"] = "B0015S231000001"
		f["principal_amount"] = map[string]any{"amount": "3000000", "currency": "CNY"}
		f["security_scope"] = "主债权本金、利息、违约金及实现担保物权的费用"
		f["transfer_restriction"] = "未经抵押权人书面同意，抵押人不得转让抵押财产"
		reg := e.must(201, e.do("POST", "/registrations", bank.Token, f))
		number := reg["number"].(string)
		again := e.must(200, e.do("GET", "/registrations/"+number, bank.Token, nil))
		for _, r := range []map[string]any{reg, again} {
			if r["agreed_with_grantor"] != true || r["security_scope"] != f["security_scope"] || r["transfer_restriction"] != f["transfer_restriction"] {
				t.Errorf("registration = %v", r)
			}
			if diff := cmp.Diff(r["principal_amount"], map[string]any{"amount": "3000000.00", "currency": "CNY"}); diff != "" {
				t.Errorf("principal_amount (-got +want):\n%s", diff)
			}
			g, s := r["grantors"].([]any)[0].(map[string]any), r["secured_parties"].([]any)[0].(map[string]any)
			if g["address"] != "上海市浦东新区张江路88号" || g["legal_representative"] != "王建国" || s["financial_institution_code"] != "B0015S231000001" {
				t.Errorf("parties = %v, %v", g, s)
			}
		}
		// The initial event records the declaration and the rest.
		var rec string
		if err := e.db.QueryRow("SELECT convert_from(record, 'UTF8') FROM events WHERE number = $1", number).Scan(&rec); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"agreed_with_grantor":true`, `"principal_amount":{"amount":"3000000.00","currency":"CNY"}`, `"legal_representative":"王建国"`} {
			if !strings.Contains(strings.ReplaceAll(rec, `": `, `":`), want) {
				t.Errorf("the event does not record %s: %s", want, rec)
			}
		}
	})

	t.Run("amendments: parties added carry an address", func(t *testing.T) {
		number := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string)
		added := map[string]any{"type": "organization", "name": "上海北辰贸易有限公司", "uscc": usccs[5]}
		p := e.problem(e.do("POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"add_grantors": []any{added}}), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"add_grantors[0].address invalid_field"}); diff != "" {
			t.Errorf("add_grantors (-got +want):\n%s", diff)
		}
		assignee := map[string]any{"type": "organization", "name": "深圳示例商业保理有限公司", "uscc": usccs[4]}
		p = e.problem(e.do("POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"secured_parties": []any{assignee}}), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"secured_parties[0].address invalid_field"}); diff != "" {
			t.Errorf("an assignment (-got +want):\n%s", diff)
		}
		// An amendment asks for no legal representative, and a grantor
		// removed is found by its identifiers and name alone.
		added["address"] = "上海市静安区南京西路1号"
		reg := e.must(201, e.do("POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"add_grantors": []any{added}}))
		if g := reg["grantors"].([]any); len(g) != 2 || g[1].(map[string]any)["address"] != "上海市静安区南京西路1号" {
			t.Errorf("grantors = %v", g)
		}
		e.must(201, e.do("POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{
			"remove_grantors": []any{map[string]any{"type": "organization", "name": "上海北辰贸易有限公司", "uscc": usccs[5]}}}))
	})
}

// A registration filed before the Measures' content was asked for (its
// parties without address or representative, no declaration) is loaded as
// such a register holds it; it is read, amended, extended, found and
// replayed as before.
func TestRegistrationsFiledBeforeTheMeasures(t *testing.T) {
	t.Parallel()
	// Extensions at any time while effective, as registryd's default.
	e := newEnvWith(t, func(c *registry.Config) { c.ExtensionWindowDays = 0 })
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	ctx := context.Background()
	bulk, err := postgres.OpenBulk(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer bulk.Close(ctx)
	f := registry.Filing{Kind: "chattel_mortgage",
		Grantors: []registry.Party{{Type: "organization", Name: grantorName, USCC: usccs[1], Address: "OLD-ADDRESS", LegalRepresentative: "OLD-REP"}},
		SecuredParties: []registry.Party{{Type: "organization", Name: "上海浦东发展银行股份有限公司张江科技支行", USCC: usccs[0],
			Address: "OLD-ADDRESS", LegalRepresentative: "OLD-REP"}},
		Collateral: registry.CollateralInput{Description: "浦东厂区数控加工中心12台"}, PeriodMonths: 12, AgreedWithGrantor: true}
	c := registry.Caller{Principal: auth.Principal{UserID: bank.UserID, OrganizationID: bank.OrgID, OrganizationUSCC: bank.OrgUSCC, Roles: []auth.Role{"registrant"}}}
	w, err := e.svc.PrepareFiling(c, registry.Organization{ID: bank.OrgID, USCC: bank.OrgUSCC}, f, bulk.Stamp(e.clock.Now(), registry.StampEvent))
	if err != nil {
		t.Fatal(err)
	}
	// The record as the register kept it before: none of the new content.
	rec := string(w.Event.Record)
	for _, cut := range []string{`,"address":"OLD-ADDRESS"`, `,"legal_representative":"OLD-REP"`, `,"agreed_with_grantor":true`} {
		if !strings.Contains(rec, cut) {
			t.Fatalf("the record has no %s: %s", cut, rec)
		}
		rec = strings.ReplaceAll(rec, cut, "")
	}
	w.Event.Record = []byte(rec)
	for i := range w.Parties {
		w.Parties[i].Address = ""
	}
	if err := bulk.Load(ctx, []postgres.Filed{{Written: w, CodeHash: auth.HashSecret("an old code")}}); err != nil {
		t.Fatal(err)
	}
	number := w.Event.Number

	reg := e.must(200, e.do("GET", "/registrations/"+number, bank.Token, nil))
	if _, ok := reg["agreed_with_grantor"]; ok {
		t.Errorf("an old registration answers a declaration: %v", reg)
	}
	if g := reg["grantors"].([]any)[0].(map[string]any); g["address"] != nil || g["legal_representative"] != nil {
		t.Errorf("grantor = %v", g)
	}
	reg = e.must(201, e.do("POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{
		"add_items": []any{map[string]any{"type": "equipment", "serial_number": "DMG-2019-009999"}},
		"rename_grantors": []any{map[string]any{"from": map[string]any{"type": "organization", "name": grantorName, "uscc": usccs[1]},
			"to": map[string]any{"type": "organization", "name": "上海星辰智能装备有限公司", "uscc": usccs[1]}}}}))
	if g := reg["grantors"].([]any)[0].(map[string]any); g["name"] != "上海星辰智能装备有限公司" || g["address"] != nil {
		t.Errorf("renamed grantor = %v", g)
	}
	reg = e.must(201, e.do("POST", "/registrations/"+number+"/extensions", bank.Token, map[string]any{"period_months": 12}))
	if reg["period_months"] != float64(24) || reg["version"] != float64(3) {
		t.Errorf("extended = %v", reg)
	}
	found := e.must(201, e.do("POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"grantor_name": grantorName}}))
	if n := len(found["results"].([]any)); n != 1 {
		t.Errorf("%d results for the former name", n)
	}
	// Its certificate is issued as for any other.
	if r := e.do("GET", "/registrations/"+number+"/certificate.pdf", bank.Token, nil); r.Status != 200 {
		t.Errorf("certificate: %d %s", r.Status, r.Body)
	}
}
