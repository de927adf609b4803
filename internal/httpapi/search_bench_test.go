package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/httpapi"
)

// BenchmarkSearchOne measures what one search costs registryd as a bank's
// system searches: by grantor name and by USCC in turn, each finding one
// registration, through the real router on real PostgreSQL, from 16
// parallel clients; the answers are not checked against the API's schema
// (a test's cost, not the service's). cpu-µs/op is this process's CPU time
// (user and system) a search, which other load on the machine changes far
// less than the time a search takes.
func BenchmarkSearchOne(b *testing.B) {
	e := newEnv(b)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	var bodies []string
	for i, uscc := range usccs[1:] {
		name := "上海星辰精密机械有限公司第" + string(rune('一'+i)) + "分公司"
		e.must(201, e.do("POST", "/registrations", bank.Token, filing(name, uscc)))
		bodies = append(bodies, `{"criteria":{"uscc":"`+uscc+`"}}`, `{"criteria":{"grantor_name":"`+name+`"}}`)
	}
	var next atomic.Int64
	b.SetParallelism(8) // 16 clients on 2 cores
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", httpapi.BasePath+"/searches", strings.NewReader(bodies[next.Add(1)%int64(len(bodies))]))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+bank.Token)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, req)
			if w.Code != 201 || !strings.Contains(w.Body.String(), `"result_count":1,`) {
				b.Errorf("%d %s", w.Code, w.Body)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
