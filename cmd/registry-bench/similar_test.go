package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/names"
)

// The grantor names a register of this many registrations holds: company
// g files registrations 2g and 2g+1, one company in eight is an individual.
func grantorNames(registrations int64) []string {
	var out []string
	for g := range registrations / 2 {
		if g%8 != 7 {
			out = append(out, company(g).Name)
		}
	}
	return out
}

var latinWords = []string{"pacific", "rim", "acme", "northern", "star", "global", "harbor", "summit", "crescent", "golden", "river",
	"eastern", "silk", "road", "dragon", "phoenix", "orient", "meridian", "atlas", "apex", "vertex", "zenith", "crown", "lotus", "jade",
	"trading", "logistics", "machinery", "shipping", "capital", "textiles", "electronics", "foods", "chemicals", "metals"}
var latinForms = []string{"Ltd", "Limited", "Co., Ltd.", "Inc", "Corporation", "LLC", "GmbH", "Pte Ltd"}

// latinName is synthetic Latin-script company n: three or four words and a
// legal form.
func latinName(n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	w := 3 + r.IntN(2)
	s := ""
	for range w {
		word := latinWords[r.IntN(len(latinWords))]
		s += string(word[0]-32) + word[1:] + " "
	}
	return s + latinForms[r.IntN(len(latinForms))]
}

// slip makes one typing slip in name: a character changed, dropped or
// added, anywhere, the first included.
func slip(r *rand.Rand, name string, alphabet []rune) string {
	rs := []rune(name)
	i := r.IntN(len(rs))
	c := alphabet[r.IntN(len(alphabet))]
	switch r.IntN(3) {
	case 0:
		for c == rs[i] {
			c = alphabet[r.IntN(len(alphabet))]
		}
		rs[i] = c
	case 1:
		rs = append(rs[:i], rs[i+1:]...)
	default:
		rs = append(rs[:i], append([]rune{c}, rs[i:]...)...)
	}
	return string(rs)
}

// nearMiss makes one slip in orig and reports whether the index offers orig
// among the five names similar to it; ok is false when the search key
// forgives the slip (the name is then found, not similar).
func nearMiss(x *names.Index, r *rand.Rand, orig string, alphabet []rune) (q string, hit, ok bool) {
	q = slip(r, orig, alphabet)
	k, want := names.Normalize(q).Key, names.Normalize(orig).Key
	if k == want {
		return q, false, false
	}
	for _, c := range x.Similar(k, q, 5) {
		if c.Key == want {
			return q, true, true
		}
	}
	return q, false, true
}

func buildIndex(all []string) (*names.Index, time.Duration) {
	x := names.New()
	start := time.Now()
	for _, n := range all {
		x.Add(names.Normalize(n).Key, n)
	}
	return x, time.Since(start)
}

// BenchmarkSimilarNames measures the similar-names index over the grantor
// names of a 1,000,000-registration register (437,500 Chinese names) and
// 50,000 synthetic Latin ones: each query is a name with one slip, and
// recall is how often the name it came from is among the five offered.
//
// SIMILAR_NAMES_REGISTRATIONS sets the register's size (10000000 for the
// large one: 4,375,000 names).
func BenchmarkSimilarNames(b *testing.B) {
	registrations := int64(1_000_000)
	if v, err := strconv.ParseInt(os.Getenv("SIMILAR_NAMES_REGISTRATIONS"), 10, 64); err == nil && v > 0 {
		registrations = v
	}
	chinese := grantorNames(registrations)
	var latin []string
	for i := range 50_000 {
		latin = append(latin, latinName(i))
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x, took := buildIndex(append(append([]string{}, chinese...), latin...))
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.Logf("built over %d names in %v: %d bytes a name by its own count, heap %d MB", x.Len(), took,
		x.Stats().Bytes/int64(x.Len()), (after.HeapAlloc-before.HeapAlloc)>>20)
	hanAlphabet := []rune("华信达盛恒通瑞泰鑫隆宏源嘉丰兴远昌德安和金明辉新永康正中天海星光博润祥凯联创宇腾科技机械制造物流国际贸易电子有限公司上北深广杭")
	latinAlphabet := []rune("abcdefghijklmnopqrstuvwxyz ")
	for _, set := range []struct {
		name     string
		names    []string
		alphabet []rune
	}{{"chinese", chinese, hanAlphabet}, {"latin", latin, latinAlphabet}} {
		b.Run(set.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			found, asked := 0, 0
			for b.Loop() {
				orig := set.names[r.IntN(len(set.names))]
				q, hit, ok := nearMiss(x, r, orig, set.alphabet)
				if !ok {
					continue
				}
				asked++
				if hit {
					found++
				} else if set.name == "latin" && asked-found < 6 && b.N < 200 {
					b.Logf("missed %q → %q", orig, q)
				}
			}
			if testing.Verbose() && asked > 0 && found < asked {
				b.Logf("%s: %d of %d found", set.name, found, asked)
			}
			if asked > 0 {
				b.ReportMetric(100*float64(found)/float64(asked), "recall%")
			}
		})
	}
}

// The recall the issue asks for (≥ 99%), checked on a smaller register so
// that make test stays quick.
func TestSimilarNamesRecall(t *testing.T) {
	t.Parallel()
	all := grantorNames(100_000)
	x, _ := buildIndex(all)
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("华信达盛恒通瑞泰鑫隆宏源嘉丰兴远昌德安和金明辉新永康正中天海星光博润祥凯联创宇腾科技机械制造物流有限公司")
	found, asked := 0, 0
	var missed []string
	for range 2000 {
		orig := all[r.IntN(len(all))]
		q, hit, ok := nearMiss(x, r, orig, alphabet)
		if !ok {
			continue
		}
		asked++
		if hit {
			found++
		} else if len(missed) < 5 {
			missed = append(missed, fmt.Sprintf("%s → %s", orig, q))
		}
	}
	if recall := float64(found) / float64(asked); recall < 0.99 {
		t.Errorf("recall %.3f over %d near misses; missed e.g. %v", recall, asked, missed)
	}
}
