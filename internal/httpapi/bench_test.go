package httpapi_test

import (
	"sync/atomic"
	"testing"
)

// BenchmarkFileAndSearch measures filings and searches through the real router
// on real PostgreSQL, from parallel clients; every write passes the sequencer.
func BenchmarkFileAndSearch(b *testing.B) {
	b.Run("file", func(b *testing.B) {
		e := newEnv(b)
		bank := e.newAccount(usccs[0], "registrant", "searcher")
		body := filing(grantorName, usccs[1])
		b.SetParallelism(8) // 16 clients on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if r := e.do("POST", "/registrations", bank.Token, body); r.Status != 201 {
					b.Error(r)
				}
			}
		})
	})
	b.Run("search by USCC", func(b *testing.B) {
		e := newEnv(b)
		bank := e.newAccount(usccs[0], "registrant", "searcher")
		for i := 0; i < 20; i++ {
			e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))
		}
		b.SetParallelism(8) // 16 clients on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if r := e.do("POST", "/searches", bank.Token, `{"criteria":{"uscc":"91310115MA1K3YJ12G"}}`); r.Status != 201 {
					b.Error(r)
				}
			}
		})
	})
	b.Run("amend", func(b *testing.B) {
		e := newEnv(b)
		bank := e.newAccount(usccs[0], "registrant")
		var regs []string
		for i := 0; i < 64; i++ {
			regs = append(regs, e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string))
		}
		var next atomic.Int64
		b.SetParallelism(8) // 16 clients on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := regs[next.Add(1)%int64(len(regs))]
				if r := e.do("POST", "/registrations/"+n+"/amendments", bank.Token, `{"description":"amended collateral"}`); r.Status != 201 {
					b.Error(r)
				}
			}
		})
	})
}
