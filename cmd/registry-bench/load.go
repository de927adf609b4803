package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/jackc/pgx/v5"
)

// workload holds what the operations draw on: the banks, how many
// registrations the register had at the start, and a sample of them.
type workload struct {
	srv *server
	// bases are the instances the requests go to, in turn at random (the
	// first server's alone unless a phase runs several).
	bases    []string
	dsn      string
	banks    []Bank
	preload  int64
	next     atomic.Int64 // the next new filing's index
	numbers  []sampled    // for searches by number and amendments
	cancels  []sampled    // each cancelled once
	nextCanc atomic.Int64
}

type sampled struct {
	number string
	bank   int
}

func newWorkload(_ context.Context, srv *server, dsn string, banks []Bank, preload int64) *workload {
	w := &workload{srv: srv, dsn: dsn, banks: banks, preload: preload, bases: []string{srv.base}}
	// New filings take indexes past any a register of this size was
	// preloaded with, so their grantors are new companies.
	w.next.Store(max(preload, 1) * 2)
	return w
}

// sample reads registration numbers to amend, cancel and search by:
// effective registrations controlled by the banks, spread over the register.
func (w *workload) sample(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, w.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	bankOf := map[string]int{}
	ids := make([]string, len(w.banks))
	for i, b := range w.banks {
		bankOf[b.ID], ids[i] = i, b.ID
	}
	// A large register is sampled by pages (2%); a small one is read whole.
	sample := ""
	if w.preload > 200_000 {
		sample = "TABLESAMPLE SYSTEM (2)"
	}
	rows, err := conn.Query(ctx, `SELECT number, controller_id::text FROM registrations `+sample+`
		WHERE status = 'effective' AND controller_id = ANY($1::uuid[]) LIMIT 40000`, ids)
	if err != nil {
		return err
	}
	for rows.Next() {
		var s sampled
		var ctrl string
		if err := rows.Scan(&s.number, &ctrl); err != nil {
			return err
		}
		s.bank = bankOf[ctrl]
		if len(w.numbers) <= len(w.cancels) {
			w.numbers = append(w.numbers, s)
		} else {
			w.cancels = append(w.cancels, s)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(w.numbers) == 0 {
		return fmt.Errorf("no registrations to sample: preload some")
	}
	return nil
}

// op is one kind of request.
type op struct {
	name string
	do   func(ctx context.Context, rng *rand.Rand) (status int, err error)
}

func (w *workload) ops() map[string]op {
	apiOf := func(rng *rand.Rand) string { return w.bases[rng.IntN(len(w.bases))] + "/api/v1" }
	bank := func(rng *rand.Rand) (int, Bank) { b := rng.IntN(len(w.banks)); return b, w.banks[b] }
	// A grantor among the preloaded: organizations only for name and USCC.
	grantor := func(rng *rand.Rand) Company {
		g := rng.Int64N(max(w.preload/2, 1))
		if g%8 == 7 {
			g--
		}
		return company(g)
	}
	search := func(ctx context.Context, rng *rand.Rand, criteria map[string]string) (int, error) {
		_, b := bank(rng)
		status, _, err := call(ctx, "POST", apiOf(rng)+"/searches", b.Token, map[string]any{"criteria": criteria})
		return status, err
	}
	return map[string]op{
		"file": {"file", func(ctx context.Context, rng *rand.Rand) (int, error) {
			_, b := bank(rng)
			status, _, err := call(ctx, "POST", apiOf(rng)+"/registrations", b.Token, filing(w.next.Add(1), b.Company))
			return status, err
		}},
		"search_name": {"search_name", func(ctx context.Context, rng *rand.Rand) (int, error) {
			return search(ctx, rng, map[string]string{"grantor_name": grantor(rng).Name})
		}},
		"search_uscc": {"search_uscc", func(ctx context.Context, rng *rand.Rand) (int, error) {
			return search(ctx, rng, map[string]string{"uscc": grantor(rng).USCC})
		}},
		"search_serial": {"search_serial", func(ctx context.Context, rng *rand.Rand) (int, error) {
			return search(ctx, rng, map[string]string{"serial_number": preloadedSerial(rng, w.preload)})
		}},
		"search_number": {"search_number", func(ctx context.Context, rng *rand.Rand) (int, error) {
			return search(ctx, rng, map[string]string{"registration_number": w.numbers[rng.IntN(len(w.numbers))].number})
		}},
		"amend": {"amend", func(ctx context.Context, rng *rand.Rand) (int, error) {
			s := w.numbers[rng.IntN(len(w.numbers))]
			status, _, err := call(ctx, "POST", apiOf(rng)+"/registrations/"+s.number+"/amendments", w.banks[s.bank].Token,
				map[string]any{"add_items": []map[string]string{{"type": "equipment", "serial_number": fmt.Sprintf("BENCH-%d-%06d", rng.IntN(1000), rng.IntN(1_000_000)), "description": "追加设备"}},
					"note": "基准测试变更"})
			return status, err
		}},
		"cancel": {"cancel", func(ctx context.Context, rng *rand.Rand) (int, error) {
			i := w.nextCanc.Add(1) - 1
			if i >= int64(len(w.cancels)) {
				return 0, errExhausted
			}
			s := w.cancels[i]
			status, _, err := call(ctx, "POST", apiOf(rng)+"/registrations/"+s.number+"/cancellation", w.banks[s.bank].Token,
				map[string]string{"reason": "debt_repaid", "note": "贷款已结清"})
			return status, err
		}},
	}
}

// preloadedSerial is the serial number of an item of a preloaded
// registration, drawn at random.
func preloadedSerial(rng *rand.Rand, preload int64) string {
	for {
		items := filing(rng.Int64N(max(preload, 1)), Company{}).Collateral.Items
		if len(items) > 0 {
			return items[rng.IntN(len(items))].SerialNumber
		}
	}
}

var errExhausted = fmt.Errorf("no registration left to cancel")

type weighted struct {
	op     op
	weight int
}

func parseMix(mix string, ops map[string]op) ([]weighted, int, error) {
	var out []weighted
	total := 0
	for _, part := range strings.Split(mix, ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(part), "=")
		weight, err := strconv.Atoi(n)
		o, known := ops[name]
		if !ok || err != nil || weight < 0 || !known {
			return nil, 0, fmt.Errorf("mix: %q is not OP=WEIGHT with OP one of file, search_name, search_uscc, search_number, amend, cancel", part)
		}
		out, total = append(out, weighted{o, weight}), total+weight
	}
	if total == 0 {
		return nil, 0, fmt.Errorf("mix %q has no weight", mix)
	}
	return out, total, nil
}

// firstRound is client c's share of the operations with a weight: the
// clients split them among themselves in turn, rarest first, so that
// together they send each one in their first ceil(ops/clients) requests
// and the rarest in their very first.
func firstRound(mixes []weighted, clients, c int) []op {
	var weighed []weighted
	for _, m := range mixes {
		if m.weight > 0 {
			weighed = append(weighed, m)
		}
	}
	slices.SortStableFunc(weighed, func(a, b weighted) int { return a.weight - b.weight })
	var mine []op
	for i := c; i < len(weighed); i += clients {
		mine = append(mine, weighed[i].op)
	}
	return mine
}

// phase runs clients concurrent clients for d, each sending the mix's
// operations back to back, and reports each operation's throughput and
// latency (HDR histograms, microseconds, 3 significant figures).
func (w *workload) phase(ctx context.Context, o options, name string, clients int, d time.Duration, mix string) PhaseResult {
	mixes, total, err := parseMix(mix, w.ops())
	if err != nil {
		return PhaseResult{Name: name, Error: err.Error()}
	}
	type stats struct {
		hist   map[string]*hdrhistogram.Histogram
		errors map[string]map[string]int
	}
	per := make([]stats, clients)
	var done atomic.Int64
	var failed atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	if o.profile {
		go saveProfile(w.srv, fmt.Sprintf("%s/cpu-%s.pprof", o.out, name), min(20*time.Second, d-2*time.Second))
	}
	var wg sync.WaitGroup
	for c := range clients {
		per[c] = stats{hist: map[string]*hdrhistogram.Histogram{}, errors: map[string]map[string]int{}}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c)+1, uint64(time.Now().UnixNano())))
			st := per[c]
			// Each client first sends each operation of its share of the
			// mix once, so that a short phase measures every operation
			// the mix names, however rare its weight; then it draws.
			first := firstRound(mixes, clients, c)
			for i := 0; ctx.Err() == nil; i++ {
				var chosen op
				if i < len(first) {
					chosen = first[i]
				} else {
					pick := rng.IntN(total)
					for _, m := range mixes {
						if pick < m.weight {
							chosen = m.op
							break
						}
						pick -= m.weight
					}
				}
				t0 := time.Now()
				status, err := chosen.do(ctx, rng)
				elapsed := time.Since(t0)
				if ctx.Err() != nil {
					return // cut off by the phase's end: not counted
				}
				if err != nil || status >= 300 {
					what := strconv.Itoa(status)
					if err != nil {
						what = err.Error()
						if len(what) > 60 {
							what = what[:60]
						}
					}
					if st.errors[chosen.name] == nil {
						st.errors[chosen.name] = map[string]int{}
					}
					st.errors[chosen.name][what]++
					failed.Add(1)
					if err == errExhausted {
						time.Sleep(time.Millisecond)
					}
					continue
				}
				h := st.hist[chosen.name]
				if h == nil {
					h = hdrhistogram.New(1, 60_000_000, 3)
					st.hist[chosen.name] = h
				}
				_ = h.RecordValue(elapsed.Microseconds())
				done.Add(1)
			}
		})
	}
	ticker := time.NewTicker(time.Second)
	last, lastAt := int64(0), start
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case now := <-ticker.C:
			n := done.Load()
			rate := float64(n-last) / now.Sub(lastAt).Seconds()
			last, lastAt = n, now
			progress(os.Stderr, name, float64(now.Sub(start))/float64(d), fmt.Sprintf("%s/%s %8.0f ok/s, %d failed, server RSS %.0f MB",
				now.Sub(start).Round(time.Second), d, rate, failed.Load(), procStatusMB(w.srv.cmd.Process.Pid, "VmRSS")))
		}
	}
	ticker.Stop()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if o.profile {
		saveHeap(w.srv, fmt.Sprintf("%s/heap-%s.pprof", o.out, name))
	}
	fmt.Fprintln(os.Stderr)
	res := PhaseResult{Name: name, Clients: clients, Seconds: elapsed, Mix: mix}
	merged := map[string]*hdrhistogram.Histogram{}
	errs := map[string]map[string]int{}
	for _, st := range per {
		for k, h := range st.hist {
			if merged[k] == nil {
				merged[k] = hdrhistogram.New(1, 60_000_000, 3)
			}
			merged[k].Merge(h)
		}
		for k, m := range st.errors {
			if errs[k] == nil {
				errs[k] = map[string]int{}
			}
			for what, n := range m {
				errs[k][what] += n
			}
		}
	}
	for _, m := range mixes {
		h := merged[m.op.name]
		r := OpResult{Op: m.op.name, Errors: errs[m.op.name]}
		if h != nil {
			r.Count = h.TotalCount()
			r.PerSecond = float64(r.Count) / elapsed
			ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
			r.P50, r.P90, r.P99, r.Max = ms(50), ms(90), ms(99), float64(h.Max())/1000
		}
		res.Ops = append(res.Ops, r)
		res.PerSecond += r.PerSecond
	}
	return res
}

// saveHeap fetches a heap profile of registryd from its debug address.
func saveHeap(s *server, path string) { fetchTo(s.debug+"/debug/pprof/heap", path) }

// saveProfile fetches a CPU profile of registryd from its debug address.
func saveProfile(s *server, path string, d time.Duration) {
	if d >= time.Second {
		fetchTo(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.debug, int(d.Seconds())), path)
	}
}

// fetchTo saves what url answers in path; a profile that cannot be had is
// left out of the results.
func fetchTo(url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}
