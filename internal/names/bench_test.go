package names

import "testing"

func BenchmarkNormalize(b *testing.B) {
	for _, name := range []string{"上海星辰（集团）精密机械有限公司", "The Pacific Rim Trading Co., Ltd."} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Normalize(name)
			}
		})
	}
}
