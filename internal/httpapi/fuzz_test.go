package httpapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// The fuzz targets feed bodies to the strict decoder and the checks behind
// the API's creating calls. Whatever the bytes: no panic; a refusal is a
// problem (400/413/422) or a validation error naming its fields; and what
// is accepted is accepted again after a round trip through JSON.

func fuzzBody[T any](f *testing.F, seeds []string, validate func(*T) error) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v T
		err := decodeBytes(body, &v)
		if err != nil {
			if p := httpx.ProblemFor(err); p.Status != 400 && p.Status != 413 && p.Status != 422 {
				t.Fatalf("decoding %q: %v is not a client's problem (%d)", body, err, p.Status)
			}
			return
		}
		if err := validate(&v); err != nil {
			var verr *registry.ValidationError
			if !errors.As(err, &verr) || len(verr.Errors) == 0 {
				t.Fatalf("validating %q: %v is not a validation error", body, err)
			}
			for _, fe := range verr.Errors {
				if fe.Field == "" || strings.ContainsAny(fe.Field, " \n") {
					t.Fatalf("validating %q: an error names the field %q", body, fe.Field)
				}
			}
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var w T
		if err := decodeBytes(again, &w); err != nil {
			t.Fatalf("%q accepted, then its own JSON %s refused: %v", body, again, err)
		}
		if err := validate(&w); err != nil {
			t.Fatalf("%q valid, then its own JSON %s invalid: %v", body, again, err)
		}
	})
}

func FuzzDecodeFiling(f *testing.F) {
	fuzzBody(f, []string{
		`{"kind":"chattel_mortgage","grantors":[{"type":"organization","name":"上海星辰精密机械有限公司","uscc":"91310115MA1K3YJ12G","address":"上海市","legal_representative":"王建国"}],"secured_parties":[{"type":"organization","name":"某银行","uscc":"91310000132209458L","address":"上海市","legal_representative":"李明","financial_institution_code":"B0015S231000001"}],"collateral":{"description":"设备","items":[{"type":"equipment","serial_number":"DMG-1"}]},"period_months":12,"agreed_with_grantor":true,"principal_amount":{"amount":"100","currency":"CNY"},"security_scope":"本金","transfer_restriction":"不得转让"}`,
		`{"kind":"chattel_mortgage","kind":"lease"}`, `{"Kind":"x"}`, `{"grantors":[{"type":"individual","name":"张三","id_number":"11010119900307803X"}]}`,
		`{"max_secured_amount":{"amount":"1e999","currency":"CNY"}}`, "{\"reference\":\"\xff\"}", `[]`, ``, `{"period_months":1.5}`,
	}, (*registry.Filing).Validate)
}

func FuzzDecodeAmendment(f *testing.F) {
	fuzzBody(f, []string{
		`{"add_items":[{"type":"equipment","serial_number":"LINDE-H25-77812","description":"forklift"}],"note":"second drawdown"}`,
		`{"remove_items":["x"],"rename_grantors":[{"index":0,"name":"新名称"}]}`, `{"description":""}`, `{"assignment":{"secured_parties":[]}}`, `{}`,
	}, (*registry.Amendment).Validate)
}
