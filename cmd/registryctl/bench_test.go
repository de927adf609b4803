package main

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkVerify runs registryctl verify over a register of 1,000
// registrations (1,000 log entries, 1,000 GETs to compare, the audit trail).
func BenchmarkVerify(b *testing.B) {
	r := newRegister(b)
	for i := range 1000 {
		r.call("POST", "/registrations", r.bank, filing(fmt.Sprintf("上海星辰精密机械%d有限公司", i), "91310115MA1K3YJ12G", fmt.Sprintf("B-%d", i)), 201)
	}
	r.publish()
	state := filepath.Join(b.TempDir(), "state.json")
	for b.Loop() {
		if code, out := r.registryctl(state, "verify"); code != 0 {
			b.Fatalf("exit %d\n%s", code, out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1008, "µs/event")
}
