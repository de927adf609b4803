package identifiers

import "testing"

func BenchmarkCanonicalUSCC(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CanonicalUSCC("91310115MA1K3YJ12G"); err != nil {
			b.Fatal(err)
		}
	}
}
