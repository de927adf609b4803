package httpapi_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
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

// BenchmarkAccess measures what every request pays for access control, and
// that sign-in costs the same whether the email exists or not.
func BenchmarkAccess(b *testing.B) {
	noSlowdown := func(c *registry.Config) { c.SignInFailures = 1 << 30 }
	read := func(b *testing.B, e *env) {
		a := e.newAccount(usccs[0], "searcher")
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if r := e.do("GET", "/me", a.Token, nil); r.Status != 200 {
					b.Error(r)
				}
			}
		})
	}
	b.Run("GET /me, no rate limits", func(b *testing.B) { read(b, newEnvWith(b, noSlowdown)) })
	b.Run("GET /me, rate limits on", func(b *testing.B) {
		read(b, newEnvWith(b, noSlowdown, func(o *stack) {
			// High enough never to refuse: the cost of the bookkeeping alone.
			o.HTTP.PerAddress = httpx.Limit{Rate: 1e9, Burst: 1e9}
			o.API.PerToken = httpx.Limit{Rate: 1e9, Burst: 1e9}
		}))
	})
	e := newEnvWith(b, noSlowdown)
	a := e.newAccount(usccs[0], "searcher")
	var email string
	{
		r := e.must(200, e.do("GET", "/me", a.Token, nil))
		email = r["user"].(map[string]any)["email"].(string)
	}
	b.Run("sign in: right password", func(b *testing.B) {
		body := map[string]any{"email": email, "password": "a long enough password"}
		for b.Loop() {
			if r := e.do("POST", "/tokens", "", body); r.Status != 201 {
				b.Fatal(r)
			}
		}
	})
	// A wrong password for an email that exists and for one that does not,
	// taken in turns so that drift in the machine's speed hits both alike;
	// the ratio of their medians should be 1.
	b.Run("sign in: wrong password vs unknown email", func(b *testing.B) {
		var known, unknown []time.Duration
		for i := 0; b.Loop(); i++ {
			who, into := email, &known
			if i%2 == 1 {
				who, into = "nobody-at-all@example.cn", &unknown
			}
			start := time.Now()
			if r := e.do("POST", "/tokens", "", map[string]any{"email": who, "password": "not the password at all"}); r.Status != 401 {
				b.Fatal(r)
			}
			*into = append(*into, time.Since(start))
		}
		if len(unknown) > 0 {
			slices.Sort(known)
			slices.Sort(unknown)
			k, u := known[len(known)/2], unknown[len(unknown)/2]
			b.ReportMetric(float64(k.Microseconds())/1000, "known-median-ms")
			b.ReportMetric(float64(u.Microseconds())/1000, "unknown-median-ms")
			b.ReportMetric(float64(u)/float64(k), "unknown/known")
		}
	})
}

// BenchmarkLog measures what the log and the audit trail serve: a proof in a
// log of 500 events, a page of 500 entries, and the audit export by rows.
func BenchmarkLog(b *testing.B) {
	e := newEnvWith(b, longLived)
	bank := e.newAccount(usccs[0], "registrant")
	for range 500 {
		e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))
	}
	if _, err := e.svc.PublishCheckpoint(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Run("inclusion proof", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = (i + 7) % 500
			e.must(200, e.do("GET", "/log/proof/inclusion?index="+strconv.Itoa(i), bank.Token, nil))
		}
	})
	b.Run("consistency proof", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = i%499 + 1
			e.must(200, e.do("GET", "/log/proof/consistency?from="+strconv.Itoa(i), bank.Token, nil))
		}
	})
	b.Run("500 entries", func(b *testing.B) {
		for b.Loop() {
			e.must(200, e.do("GET", "/log/entries?from=0&to=500", adminToken, nil))
		}
	})
	b.Run("audit export", func(b *testing.B) {
		rows := 0
		for b.Loop() {
			r := e.do("GET", "/audit/export", adminToken, nil)
			if r.Status != 200 {
				b.Fatal(r)
			}
			rows = bytes.Count(r.Body, []byte("\n")) - 1
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkSearchLargeGrantor measures a search by the USCC of a grantor
// with one registration beside one with 10,000, whose answer is its first
// page (search.max_results, 1,000) and the rest is paged from the stored
// search; and reading one later page.
func BenchmarkSearchLargeGrantor(b *testing.B) {
	e := newEnv(b)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[2])))
	work := make(chan int)
	done := make(chan struct{})
	for range 16 {
		go func() {
			for range work {
				if r := e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])); r.Status != 201 {
					b.Error(r)
				}
			}
			done <- struct{}{}
		}()
	}
	for i := range 10_000 {
		work <- i
	}
	close(work)
	for range 16 {
		<-done
	}
	search := func(uscc string) map[string]any {
		return e.must(201, e.do("POST", "/searches", bank.Token, `{"criteria":{"uscc":"`+uscc+`"}}`))
	}
	b.Run("1 registration", func(b *testing.B) {
		for b.Loop() {
			search(usccs[2])
		}
	})
	b.Run("10,000 registrations, first page", func(b *testing.B) {
		for b.Loop() {
			if s := search(usccs[1]); s["truncated"] != true {
				b.Fatal("not truncated")
			}
		}
	})
	b.Run("10,000 registrations, a later page", func(b *testing.B) {
		number := search(usccs[1])["number"].(string)
		cursors := []string{"1000", "2000", "3000", "4000", "5000", "6000", "7000", "8000", "9000"}
		i := 0
		for b.Loop() {
			// A page first read is made and kept; later reads are the kept bytes.
			if i == len(cursors) {
				number, i = search(usccs[1])["number"].(string), 0
			}
			e.must(200, e.do("GET", "/searches/"+number+"/results?cursor="+cursors[i], bank.Token, nil))
			i++
		}
	})
}

// BenchmarkSuccession measures a succession at the size TestSuccession was
// first written for: an organization controlling 10,000 registrations merges
// into another, and one run passes them all (each an assignment with its
// event, audit entry, log leaf and notices). It reports registrations passed
// per second; TestSuccession checks the behaviour on 2,000. A round takes
// tens of seconds, so the default -benchtime runs one.
func BenchmarkSuccession(b *testing.B) {
	const n = 10000
	var took time.Duration
	passes := 0
	for b.Loop() {
		b.StopTimer()
		e := newEnvWith(b, func(c *registry.Config) { c.ExtensionWindowDays = 0 })
		pred := e.newAccount(usccs[0], "registrant")
		succ := e.newAccount(usccs[3], "registrant")
		staff := e.newAccount(usccs[6], "admin")
		e.preload(pred, n)
		e.must(202, e.do("POST", "/organizations/"+pred.OrgID+"/succession", staff.Token, map[string]any{
			"successor_uscc": succ.OrgUSCC, "basis": "merger", "document_number": "沪市监合〔2026〕第18号"}))
		b.StartTimer()
		start := time.Now()
		passed, err := e.svc.RunSuccessions(context.Background())
		took += time.Since(start)
		if err != nil || passed != n {
			b.Fatalf("passed %d of %d: %v", passed, n, err)
		}
		passes += passed
	}
	b.ReportMetric(float64(passes)/took.Seconds(), "registrations/s")
}
