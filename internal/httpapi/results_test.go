package httpapi_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/movable-registry/registry/internal/registry"
)

// A search that finds more than an answer holds answers the first page,
// says it was truncated and how much it found, and the rest is read page by
// page from the stored search: whole, in registration order, every
// registration once, the same bytes on a second read, and as of the search's
// instant even after the register has moved on.
func TestResultsAtScale(t *testing.T) {
	t.Parallel()
	// An answer of 100 (the register's default is larger) and 250 found:
	// a first page, a full one and a part one, as at any size.
	e := newEnvWith(t, func(c *registry.Config) { c.MaxResults = 100 })
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	other := e.newAccount(usccs[3], "searcher")
	auditor := e.newAccount(usccs[4], "auditor")
	const n = 250
	filed := make([]string, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				filed[i] = e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))["number"].(string)
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()

	s := e.must(201, e.do("POST", "/searches", bank.Token, `{"criteria":{"uscc":"`+usccs[1]+`"}}`))
	number := s["number"].(string)
	if s["result_count"] != float64(n) || s["truncated"] != true || len(s["results"].([]any)) != 100 || s["next_cursor"] != "100" {
		t.Fatalf("the answer: result_count %v, truncated %v, %d results, next_cursor %v", s["result_count"], s["truncated"], len(s["results"].([]any)), s["next_cursor"])
	}
	// The register moves on: a later filing is not in the stored search.
	e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))

	got := numbers(s)
	pages := map[string][]byte{}
	for cursor := s["next_cursor"].(string); cursor != ""; {
		r := e.do("GET", "/searches/"+number+"/results?cursor="+cursor, bank.Token, nil)
		page := e.must(200, r)
		pages[cursor] = r.Body
		if page["cursor"] != cursor || page["result_count"] != float64(n) || page["number"] != number {
			t.Fatalf("page %s: %v %v %v", cursor, page["cursor"], page["result_count"], page["number"])
		}
		got = append(got, numbers(page)...)
		next, _ := page["next_cursor"].(string)
		cursor = next
	}
	seen := map[string]bool{}
	for i, num := range got {
		if seen[num] {
			t.Fatalf("%s twice", num)
		}
		seen[num] = true
		if i > 0 && num <= got[i-1] {
			t.Fatalf("out of registration order at %d: %s after %s", i, num, got[i-1])
		}
	}
	if len(got) != n {
		t.Fatalf("paged back %d of %d", len(got), n)
	}
	for _, num := range filed {
		if !seen[num] {
			t.Fatalf("%s was filed but not paged back", num)
		}
	}
	for cursor, body := range pages {
		again := e.do("GET", "/searches/"+number+"/results?cursor="+cursor, auditor.Token, nil)
		if !bytes.Equal(again.Body, body) {
			t.Errorf("page %s differs on a second read (by an auditor)", cursor)
		}
	}
	first := e.must(200, e.do("GET", "/searches/"+number+"/results", bank.Token, nil))
	if len(first["results"].([]any)) != 100 || first["next_cursor"] != "100" {
		t.Errorf("the first page from the stored search: %d results, next %v", len(first["results"].([]any)), first["next_cursor"])
	}

	t.Run("bad cursors are named", func(t *testing.T) {
		for _, c := range []string{"-1", "abc", "0100", "250", "99999999999999999999"} {
			p := e.problem(e.do("GET", "/searches/"+number+"/results?cursor="+c, bank.Token, nil), 422, "invalid_field")
			if !strings.Contains(string(mustJSON(t, p)), `"cursor"`) {
				t.Errorf("cursor %s: %v", c, p)
			}
		}
	})
	t.Run("another organization may not page it", func(t *testing.T) {
		e.problem(e.do("GET", "/searches/"+number+"/results?cursor=100", other.Token, nil), 403, "forbidden")
	})
	t.Run("an answer of a few large registrations stops at its byte limit", func(t *testing.T) {
		small := newEnvWith(t, func(c *registry.Config) { c.MaxAnswerBytes = 4000 })
		b := small.newAccount(usccs[0], "registrant", "searcher")
		for range 5 {
			small.must(201, small.do("POST", "/registrations", b.Token, filing("上海星辰精密机械有限公司", usccs[1])))
		}
		r := small.do("POST", "/searches", b.Token, `{"criteria":{"uscc":"`+usccs[1]+`"}}`)
		s := small.must(201, r)
		if s["truncated"] != true || s["result_count"] != 5.0 || len(s["results"].([]any)) >= 5 || len(s["results"].([]any)) == 0 {
			t.Fatalf("truncated %v, %d of %v", s["truncated"], len(s["results"].([]any)), s["result_count"])
		}
		total := len(numbers(s))
		for cursor, _ := s["next_cursor"].(string); cursor != ""; {
			p := small.must(200, small.do("GET", "/searches/"+s["number"].(string)+"/results?cursor="+cursor, b.Token, nil))
			total += len(numbers(p))
			cursor, _ = p["next_cursor"].(string)
		}
		if total != 5 {
			t.Errorf("paged back %d of 5", total)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Searches that race filings see exactly the registrations stamped before
// them: no more (a filing committed while the search read), no fewer (one
// stamped before it but still committing).
func TestSearchesRacingFilings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.checkOnce() // 150 searches and 150 filings, alike in shape
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	var mu sync.Mutex
	var filed []string
	searches := map[string][]string{}
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Go(func() {
			for range 25 {
				if w%2 == 0 {
					n := e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))["number"].(string)
					mu.Lock()
					filed = append(filed, n)
					mu.Unlock()
					continue
				}
				s := e.must(201, e.do("POST", "/searches", bank.Token, `{"criteria":{"uscc":"`+usccs[1]+`"}}`))
				mu.Lock()
				searches[s["number"].(string)] = numbers(s)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for number, got := range searches {
		want := []string{}
		for _, f := range filed {
			if f < number {
				want = append(want, f)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("search %s saw %d registrations, %d were stamped before it", number, len(got), len(want))
		}
	}
}
