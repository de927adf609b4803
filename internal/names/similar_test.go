package names

import "testing"

func parts(name string) NameParts { return Parts(name, Normalize(name).Key) }

func TestDistinctivePart(t *testing.T) {
	tests := []struct{ name, region, distinctive string }{
		{"上海星辰精密机械有限公司", "上海", "星辰"},
		{"上海星辰（集团）精密机械有限公司", "上海", "星辰"},
		{"上海市浦东新区星辰精密机械股份有限公司", "上海", "星辰"},
		{"北京华为技术有限公司", "北京", "华为"},
		{"深圳市腾讯计算机系统有限公司", "深圳", "腾讯计算机系统"},
		{"星辰科技有限公司", "", "星辰"},
		{"上海金华鑫物流有限公司", "上海", "金华鑫"},
		{"The Acme Trading Company of Asia Ltd.", "", "acme trading asia"},
		{"Pacific Rim Holdings & Co", "", "pacific rim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parts(tt.name)
			if p.Region != tt.region || p.Distinctive != tt.distinctive {
				t.Errorf("region %q, distinctive %q; want %q, %q", p.Region, p.Distinctive, tt.region, tt.distinctive)
			}
		})
	}
}

func TestSimilarNames(t *testing.T) {
	tests := []struct {
		why  string
		a, b string
		want Similarity
	}{
		// One slip apart, anywhere in the name.
		{"a look-alike character in the trade name", "上海星辰精密机械有限公司", "上海星晨精密机械有限公司", OneSlip},
		{"the first character mistyped", "上海星辰精密机械有限公司", "下海星辰精密机械有限公司", OneSlip},
		{"a character dropped from the industry", "上海星辰精密机械有限公司", "上海星辰精机械有限公司", OneSlip},
		{"a character added to the legal form", "上海星辰精密机械有限公司", "上海星辰精密机械有限责公司", OneSlip},
		{"two neighbours swapped", "上海星辰精密机械有限公司", "上海辰星精密机械有限公司", OneSlip},
		{"the same name with brackets is not similar but equal", "上海星辰（集团）精密机械有限公司", "上海星辰(集团)精密机械有限公司", NotSimilar},
		{"a Latin letter mistyped", "Acme Trading Ltd", "Acme Tradng Ltd", OneSlip},
		{"a Latin first letter mistyped", "Acme Trading Ltd", "Scme Trading Limited", OneSlip},
		// The same firm: trade name and region kept, the rest changed.
		{"a rename that keeps the trade name", "上海星辰精密机械有限公司", "上海星辰智能装备股份有限公司", SameFirm},
		{"the group word added", "上海星辰精密机械有限公司", "上海星辰（集团）精密机械有限公司", SameFirm},
		{"a former name written with its district", "上海市浦东新区星辰精密机械有限公司", "上海星辰物流有限公司", SameFirm},
		{"Latin names that differ in noise words only", "The Acme Trading Company of Asia", "Acme Trading Asia Holdings Inc", SameFirm},
		// Not similar.
		{"only the region and 有限公司 shared", "上海星辰精密机械有限公司", "上海华为技术有限公司", NotSimilar},
		{"a one-character trade name replaced whole", "上海甲有限公司", "上海乙有限公司", NotSimilar},
		{"the same trade name in another city", "上海星辰精密机械有限公司", "北京星辰科技有限公司", NotSimilar},
		{"two slips", "上海星辰精密机械有限公司", "上海星晨精密机城有限公司", NotSimilar},
		{"different Latin names", "Acme Trading Ltd", "Apex Shipping Ltd", NotSimilar},
		{"a Latin name and a Chinese one", "Xingchen Machinery Co", "星辰机械有限公司", NotSimilar},
		{"a two-letter Latin name is not a firm", "AB Ltd", "AB Trading Ltd", NotSimilar},
	}
	for _, tt := range tests {
		t.Run(tt.why, func(t *testing.T) {
			a, b := parts(tt.a), parts(tt.b)
			if got := Compare(a, b); got != tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d (parts %+v, %+v)", tt.a, tt.b, got, tt.want, a, b)
			}
			if got := Compare(b, a); got != tt.want {
				t.Errorf("Compare is not symmetric for %q, %q", tt.a, tt.b)
			}
		})
	}
}

func TestOneSlipApart(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"abc", "abc", false}, {"abc", "abd", true}, {"abc", "ab", true}, {"abc", "bc", true}, {"abc", "xabc", true},
		{"abc", "acb", true}, {"abcd", "badc", false}, {"abc", "a", false}, {"", "a", true}, {"星辰", "星晨", true}, {"星辰", "辰星", true}, {"星辰", "晨星", false},
		{"abcd", "abdc", true}, {"abcd", "axcy", false},
	}
	for _, tt := range tests {
		if got := oneSlip(tt.a, tt.b); got != tt.want {
			t.Errorf("oneSlip(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
