package names

import "testing"

func TestNormalizeEqualVariants(t *testing.T) {
	// Each row is a real typing variant of the first name of its group.
	groups := []struct {
		name     string
		variants []string
	}{
		{"full-width brackets", []string{"上海星辰（集团）精密机械有限公司", "上海星辰(集团)精密机械有限公司", "上海星辰【集团】精密机械有限公司", "上海星辰〔集团〕精密机械有限公司"}},
		{"ideographic and ordinary spaces", []string{"上海星辰精密机械有限公司", "上海星辰　精密机械有限公司", " 上海 星辰 精密机械有限公司 "}},
		{"zero-width characters, soft hyphen, BOM", []string{"上海星辰精密机械有限公司", "上海\u200b星辰\u200d精密\u00ad机械\ufeff有限公司", "\u2060上海星辰精密机械有限公司"}},
		{"full-width Latin letters and digits", []string{"深圳ABC123科技有限公司", "深圳ＡＢＣ１２３科技有限公司", "深圳abc123科技有限公司"}},
		{"quotes and punctuation", []string{"北京“星辰”贸易有限公司", "北京\"星辰\"贸易有限公司", "北京「星辰」贸易有限公司", "北京星辰贸易有限公司"}},
		{"Latin legal-form endings", []string{"Pacific Rim Trading Co., Ltd.", "PACIFIC RIM TRADING COMPANY LIMITED", "Pacific Rim Trading", "pacific rim trading ltd", "Pacific-Rim Trading, Inc."}},
		{"ampersand and a leading The", []string{"The Smith & Jones Corporation", "Smith and Jones", "SMITH AND JONES CORP."}},
		{"accents", []string{"Société Générale", "SOCIETE GENERALE S.A."}},
		{"full-width Latin name", []string{"ＡＣＭＥ　Ｌｔｄ．", "Acme Ltd."}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			want := Normalize(g.variants[0]).Key
			if want == "" {
				t.Fatalf("empty key for %q", g.variants[0])
			}
			for _, v := range g.variants[1:] {
				if got := Normalize(v).Key; got != want {
					t.Errorf("Normalize(%q) = %q, want %q (as %q)", v, got, want, g.variants[0])
				}
			}
		})
	}
}

func TestNormalizeKeepsDistinctNamesApart(t *testing.T) {
	pairs := []struct {
		name, a, b string
	}{
		{"Chinese legal-form words are part of the name", "上海星辰精密机械有限公司", "上海星辰精密机械股份有限公司"},
		{"集团 is part of the name", "上海星辰集团", "上海星辰"},
		{"one character differs", "上海星辰精密机械有限公司", "上海星晨精密机械有限公司"},
		{"Cyrillic а is not a Latin a", "Acme Trading", "\u0410cme Trading"},
		{"traditional and simplified characters differ", "上海星辰机械", "上海星辰機械"},
		{"a name made only of legal-form words keeps a word", "Limited", "Company"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if a, b := Normalize(p.a).Key, Normalize(p.b).Key; a == b {
				t.Errorf("Normalize(%q) = Normalize(%q) = %q", p.a, p.b, a)
			}
		})
	}
}

func TestNormalizeFlagsMixedScripts(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"Acme Trading", false},
		{"\u0410cme Trading", true},        // Cyrillic capital A
		{"P\u0430cific Rim", true},         // Cyrillic small a
		{"Alpha \u0392eta", true},          // Greek capital Beta
		{"TCL科技集团股份有限公司", false},           // Latin with Han is an ordinary Chinese name
		{"Общество с ограниченной", false}, // Cyrillic alone
	}
	for _, tt := range tests {
		if got := Normalize(tt.in).MixedScripts; got != tt.want {
			t.Errorf("Normalize(%q).MixedScripts = %v, want %v", tt.in, got, tt.want)
		}
	}
}
