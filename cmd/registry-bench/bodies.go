package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BodiesResult is what large request bodies cost registryd (the bodies
// phase): bulk filings of Size bytes, Clients at once, sent first by a
// searcher, who may not file (each should be refused before a byte is
// read), then by a registrant, whose bodies are read only
// large_bodies.concurrent at a time, while one reader reads a registration.
type BodiesResult struct {
	Clients, Size int
	Sides         []BodiesSide
}

// BodiesSide is one caller's bodies: the answers' statuses (and, for bulk
// answers, their filings'), the answers' times, registryd's peak resident
// memory during them, and the reader's times meanwhile.
type BodiesSide struct {
	Caller                                   string
	Statuses, Filings                        map[int]int
	LargestAnswerBytes                       int
	AnswerMinMs, AnswerMedianMs, AnswerMaxMs float64
	RSSBeforeMB, PeakRSSMB                   float64
	Reads                                    int
	ReadP50Ms, ReadP99Ms                     float64
}

// bodiesPhase sends the bodies. The searcher is a user of the first bank
// with that role alone; the registrant, the first bank's clerk.
func bodiesPhase(ctx context.Context, srv *server, banks []Bank, clients, size int) (BodiesResult, error) {
	api := srv.base + "/api/v1"
	bank := banks[0]
	searcher, err := signedInUser(ctx, srv, bank, "searcher@bodies.bench.example", "searcher")
	if err != nil {
		return BodiesResult{}, err
	}
	status, body, err := call(ctx, "POST", api+"/registrations", bank.Token, filing(0, bank.Company))
	if err != nil || status != 201 {
		return BodiesResult{}, fmt.Errorf("a registration to read: %d %s %v", status, body, err)
	}
	var reg struct{ Number string }
	_ = json.Unmarshal(body, &reg)
	payload, err := bulkBody(bank, size)
	if err != nil {
		return BodiesResult{}, err
	}
	res := BodiesResult{Clients: clients, Size: len(payload)}
	pid := srv.cmd.Process.Pid
	for _, side := range []struct{ caller, token string }{{"searcher", searcher}, {"registrant", bank.Token}} {
		// The peak of each side its own (Linux: 5 to clear_refs resets
		// VmHWM to the present resident size).
		_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
		s := BodiesSide{Caller: side.caller, Statuses: map[int]int{}, Filings: map[int]int{}, RSSBeforeMB: procStatusMB(pid, "VmHWM")}
		stop := make(chan struct{})
		readings := make(chan []time.Duration, 1)
		go func() { readings <- readLoop(ctx, api+"/registrations/"+reg.Number, bank.Token, stop) }()
		var mu sync.Mutex
		var times []time.Duration
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				t0 := time.Now()
				status, body, err := call(ctx, "POST", api+"/registrations/batch", side.token, payload)
				d := time.Since(t0)
				var answer struct{ Results []struct{ Status int } }
				_ = json.Unmarshal(body, &answer)
				mu.Lock()
				defer mu.Unlock()
				for _, r := range answer.Results {
					s.Filings[r.Status]++
				}
				if status == 200 {
					s.LargestAnswerBytes = max(s.LargestAnswerBytes, len(body))
				}
				if err != nil {
					status = -1
				}
				s.Statuses[status]++
				times = append(times, d)
			})
		}
		wg.Wait()
		time.Sleep(500 * time.Millisecond)
		close(stop)
		reads := <-readings
		slices.Sort(times)
		slices.Sort(reads)
		s.AnswerMinMs, s.AnswerMedianMs, s.AnswerMaxMs = ms(times[0]), ms(times[len(times)/2]), ms(times[len(times)-1])
		s.PeakRSSMB = procStatusMB(pid, "VmHWM")
		if s.Reads = len(reads); s.Reads > 0 {
			s.ReadP50Ms, s.ReadP99Ms = ms(reads[len(reads)/2]), ms(reads[min(len(reads)-1, len(reads)*99/100)])
		}
		res.Sides = append(res.Sides, s)
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// signedInUser makes (or finds) a user of bank's organization with role
// alone, and signs it in.
func signedInUser(ctx context.Context, srv *server, bank Bank, email, role string) (string, error) {
	api := srv.base + "/api/v1"
	const password = "bench pass phrase of a searcher"
	status, body, err := call(ctx, "POST", api+"/users", srv.admin, map[string]any{"organization_id": bank.ID, "email": email,
		"display_name": "基准测试查询员", "roles": []string{role}, "password": password})
	if err != nil || (status != 201 && status != 409) {
		return "", fmt.Errorf("a %s user: %d %s %v", role, status, body, err)
	}
	status, body, err = call(ctx, "POST", api+"/tokens", "", map[string]string{"email": email, "password": password})
	if err != nil || status != 201 {
		return "", fmt.Errorf("sign the %s in: %d %s %v", role, status, body, err)
	}
	var tok struct{ Token string }
	_ = json.Unmarshal(body, &tok)
	return tok.Token, nil
}

// bulkBody is a bulk filing of 1,000 of bank's filings, padded with spaces
// to size bytes, as the attacker of issue 31 sent.
func bulkBody(bank Bank, size int) ([]byte, error) {
	filings := make([]any, 1000)
	for i := range filings {
		filings[i] = filing(int64(i+1), bank.Company)
	}
	b, err := json.Marshal(map[string]any{"filings": filings})
	if err != nil {
		return nil, err
	}
	if pad := size - len(b); pad > 0 {
		b = append(b[:len(b)-1:len(b)-1], append(bytes.Repeat([]byte(" "), pad), '}')...)
	}
	return b, nil
}

// readLoop GETs url, 20 a second at most, until stop (or 10,000 reads),
// and returns the times of the answers that were 200.
func readLoop(ctx context.Context, url, token string, stop chan struct{}) []time.Duration {
	var out []time.Duration
	for range 10_000 {
		select {
		case <-stop:
			return out
		case <-time.After(50 * time.Millisecond):
		}
		t0 := time.Now()
		if status, _, err := get(ctx, url, token); err == nil && status == 200 {
			out = append(out, time.Since(t0))
		}
	}
	return out
}

// markdown writes the phase's figures.
func (r *BodiesResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "Large bodies: %d bulk filings of %d bytes at once, from each caller:\n\n", r.Clients, r.Size)
	b.WriteString("| caller | answers | filings in them | answer ms (min / median / max) | largest answer | registryd peak RSS MB (before) | reader p50 / p99 ms (reads) |\n|---|---|---|---|---:|---:|---|\n")
	for _, s := range r.Sides {
		fmt.Fprintf(b, "| %s | %v | %v | %.0f / %.0f / %.0f | %d | %.0f (%.0f) | %.1f / %.1f (%d) |\n", s.Caller, s.Statuses, s.Filings,
			s.AnswerMinMs, s.AnswerMedianMs, s.AnswerMaxMs, s.LargestAnswerBytes, s.PeakRSSMB, s.RSSBeforeMB, s.ReadP50Ms, s.ReadP99Ms, s.Reads)
	}
	b.WriteString("\n")
}
