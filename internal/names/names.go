// Package names is what the register knows of names: the search key a name
// is compared by (Normalize, normalize.go), when two names are similar
// (Compare, similar.go: one slip apart, or the same firm), and the
// similar-names index: every grantor organization name the register holds,
// in memory, arranged so that the names similar to a searched one are found
// in microseconds whatever the size of the register.
//
// One slip apart is found through the deletion neighbourhood of each search
// key: a name is filed under its key and under its key with each one
// character taken away, so two keys one change, drop, addition or swap apart
// always share an entry, and a query of n characters reads n+1 posting
// lists. The same firm is found under the name's firm key (region and
// distinctive part). Candidates are checked with the rule itself, so a hash
// that collides costs a comparison, never a wrong answer.
//
// Entries are 64-bit words (the upper half a 32-bit hash, the lower a name's
// id) in sorted runs that merge as a binary counter does (a run of 256 new
// entries, two runs of equal size into one), so adding is cheap, a lookup
// reads a logarithmic number of runs, and nothing holds pointers for the
// garbage collector to follow.
package names

import (
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Index holds names; it is safe for concurrent use.
type Index struct {
	mu    sync.RWMutex
	seed  maphash.Seed
	arena []byte
	// entries[id] is where name id's key (and, when it differs, its
	// display name) lie in the arena.
	entries []entry
	slips   postings
	firms   postings
}

type entry struct {
	off     uint32
	keyLen  uint16
	nameLen uint16 // 0: the display name is the key
}

// New returns an empty index.
func New() *Index { return &Index{seed: maphash.MakeSeed()} }

// Candidate is a similar name and how it is similar.
type Candidate struct {
	Key, Name string
	How       Similarity
	// Distance is the edit distance between the keys, which orders the
	// candidates within one kind of similarity.
	Distance int
	// sameFirm: the candidate's distinctive part is the query's, so the
	// slip fell outside it; such a name ranks before one whose trade name
	// differs, among names as near.
	sameFirm bool
}

// Stats describes the index's size.
type Stats struct {
	Names int
	// Bytes is the memory the index holds: names, entries and posting runs.
	Bytes int64
}

// Stats reports the index's size.
func (x *Index) Stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	b := int64(cap(x.arena)) + int64(cap(x.entries))*8 + x.slips.bytes() + x.firms.bytes()
	return Stats{Names: len(x.entries), Bytes: b}
}

// Len is the number of names held.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.entries)
}

// Add files a name under its search key; a key already held is left as it
// is (its first display name stays). It reports whether the name was new.
func (x *Index) Add(key, name string) bool {
	if key == "" || len(key) > 0xffff || len(name) > 0xffff {
		return false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	full := x.hash(key, -1, 0)
	found := false
	x.slips.each(full, func(id uint32) bool {
		if x.key(id) == key {
			found = true
			return false
		}
		return true
	})
	if found {
		return false
	}
	slips, firms := x.file(key, name, nil, nil)
	for _, e := range slips {
		x.slips.add(e)
	}
	for _, e := range firms {
		x.firms.add(e)
	}
	return true
}

// file keeps a name and appends the entries it is filed under: its key and
// its key with each character taken away, and its firm.
func (x *Index) file(key, name string, slips, firms []uint64) ([]uint64, []uint64) {
	id := uint64(x.append(key, name))
	slips = append(slips, uint64(x.hash(key, -1, 0))<<32|id)
	for i, r := range key {
		slips = append(slips, uint64(x.hash(key, i, utf8.RuneLen(r)))<<32|id)
	}
	if fk := Parts(name, key).FirmKey(); fk != "" {
		firms = append(firms, uint64(x.hash(fk, -1, 0))<<32|id)
	}
	return slips, firms
}

// Name is a name and its search key, for AddAll.
type Name struct{ Key, Name string }

// AddAll files many names at once, as Add would one by one, sorting their
// entries once instead of merging run after run: the index a register is
// loaded into at start, or a follower's large catch-up, costs one sort.
func (x *Index) AddAll(all []Name) {
	if len(all) < freshMax {
		for _, n := range all {
			x.Add(n.Key, n.Name)
		}
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var slips, firms []uint64
	batch := make(map[string]bool, len(all))
	for _, n := range all {
		key, name := n.Key, n.Name
		if key == "" || len(key) > 0xffff || len(name) > 0xffff || batch[key] {
			continue
		}
		full := x.hash(key, -1, 0)
		held := false
		x.slips.each(full, func(id uint32) bool {
			held = x.key(id) == key
			return !held
		})
		if held {
			continue
		}
		batch[key] = true
		slips, firms = x.file(key, name, slips, firms)
	}
	x.slips.addRun(slips)
	x.firms.addRun(firms)
}

// Load fills an empty index with the names next yields (each key once, as
// a register's grantor_names holds them), about n of them: their entries go
// into one run each, sorted once, so that the index a register is loaded
// into at start costs one sort and no merging, and a lookup reads the
// fewest runs. It holds the index until it is done. On an index that holds
// names already, it adds them as AddAll would.
func (x *Index) Load(n int, next func() (Name, bool, error)) error {
	x.mu.Lock()
	if len(x.entries) == 0 {
		defer x.mu.Unlock()
		return x.load(n, next)
	}
	x.mu.Unlock()
	var chunk []Name
	for {
		nm, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			x.AddAll(chunk)
			return nil
		}
		if chunk = append(chunk, nm); len(chunk) == 65536 {
			x.AddAll(chunk)
			chunk = chunk[:0]
		}
	}
}

// load fills the empty index, which the caller holds.
func (x *Index) load(n int, next func() (Name, bool, error)) error {
	// Room for a Chinese name's fourteen entries and forty bytes (most
	// are shorter), so that nothing is copied as it grows.
	slips, firms := make([]uint64, 0, n*14), make([]uint64, 0, n)
	x.arena, x.entries = make([]byte, 0, n*40), make([]entry, 0, n)
	for {
		nm, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		key, name := nm.Key, nm.Name
		if key == "" || len(key) > 0xffff || len(name) > 0xffff {
			continue
		}
		slips, firms = x.file(key, name, slips, firms)
	}
	x.slips.addRun(slips)
	x.firms.addRun(firms)
	return nil
}

// Similar returns up to max names similar to the one searched (its search
// key and the name as typed), one slip apart first, then the same firm,
// each group nearest first, then in key order.
func (x *Index) Similar(key, name string, max int) []Candidate {
	if key == "" || max <= 0 {
		return nil
	}
	q := Parts(name, key)
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []Candidate
	seen := map[uint32]bool{}
	consider := func(id uint32) bool {
		if seen[id] {
			return true
		}
		seen[id] = true
		k, n := x.key(id), x.name(id)
		p := Parts(n, k)
		if how := Compare(q, p); how != NotSimilar {
			out = append(out, Candidate{Key: k, Name: n, How: how, Distance: distance(key, k), sameFirm: p.Distinctive == q.Distinctive})
		}
		return len(seen) < maxCandidates
	}
	x.slips.each(x.hash(key, -1, 0), consider)
	for i, r := range key {
		x.slips.each(x.hash(key, i, utf8.RuneLen(r)), consider)
	}
	if fk := q.FirmKey(); fk != "" {
		x.firms.each(x.hash(fk, -1, 0), consider)
	}
	// A slip in a Latin name's legal-form words: the name it was meant as.
	for _, v := range LegalFormSlips(key) {
		x.slips.each(x.hash(v, -1, 0), func(id uint32) bool {
			if k := x.key(id); k == v && !seen[id] {
				seen[id] = true
				out = append(out, Candidate{Key: k, Name: x.name(id), How: OneSlip, Distance: distance(key, k)})
			}
			return true
		})
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if a.How != b.How {
			return int(a.How) - int(b.How)
		}
		if a.Distance != b.Distance {
			return a.Distance - b.Distance
		}
		if a.sameFirm != b.sameFirm {
			if a.sameFirm {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// append keeps a name's key and display name and returns its id.
func (x *Index) append(key, name string) uint32 {
	id := uint32(len(x.entries))
	e := entry{off: uint32(len(x.arena)), keyLen: uint16(len(key))}
	x.arena = append(x.arena, key...)
	if name != key {
		e.nameLen = uint16(len(name))
		x.arena = append(x.arena, name...)
	}
	x.entries = append(x.entries, e)
	return id
}

// maxCandidates bounds the names one query compares, so that a firm key
// shared by thousands of names costs no more than a few microseconds each.
const maxCandidates = 2000

func (x *Index) key(id uint32) string {
	e := x.entries[id]
	return string(x.arena[e.off : e.off+uint32(e.keyLen)])
}

func (x *Index) name(id uint32) string {
	e := x.entries[id]
	if e.nameLen == 0 {
		return x.key(id)
	}
	start := e.off + uint32(e.keyLen)
	return string(x.arena[start : start+uint32(e.nameLen)])
}

// hash is the 32-bit hash of s with the size bytes at skip taken away
// (skip < 0: s whole).
func (x *Index) hash(s string, skip, size int) uint32 {
	var h maphash.Hash
	h.SetSeed(x.seed)
	if skip < 0 {
		h.WriteString(s)
	} else {
		h.WriteString(s[:skip])
		h.WriteString(s[skip+size:])
	}
	return uint32(h.Sum64() >> 32)
}

// postings maps 32-bit hashes to ids: sorted runs of hash<<32|id, and the
// newest entries unsorted.
type postings struct {
	runs  []run
	fresh []uint64
}

// run is a sorted run of entries with a directory by the hashes' top bits:
// dir[b] is where the entries whose hash starts with b begin, so a lookup
// reads one small bucket instead of binary-searching megabytes, which
// costs a cache miss a step.
type run struct {
	entries []uint64
	dir     []uint32
	shift   uint
}

func newRun(entries []uint64) run {
	r := run{entries: entries}
	bits := uint(0)
	for len(entries)>>(bits+3) > 0 && bits < 24 {
		bits++
	}
	if bits < 8 {
		return r // small: binary search
	}
	r.shift = 32 - bits
	r.dir = make([]uint32, 1<<bits+1)
	b := 0
	for i, e := range entries {
		for top := int(uint32(e>>32) >> r.shift); b <= top; b++ {
			r.dir[b] = uint32(i)
		}
	}
	for ; b < len(r.dir); b++ {
		r.dir[b] = uint32(len(entries))
	}
	return r
}

// first is the index of the first entry filed under h, or where it would be.
func (r run) first(h uint32) int {
	lo, hi := 0, len(r.entries)
	if r.dir != nil {
		b := h >> r.shift
		lo, hi = int(r.dir[b]), int(r.dir[b+1])
	}
	key := uint64(h) << 32
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.entries[mid] < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

const freshMax = 256

func (p *postings) add(entry uint64) {
	p.fresh = append(p.fresh, entry)
	if len(p.fresh) < freshMax {
		return
	}
	entries := slices.Clone(p.fresh)
	p.fresh = p.fresh[:0]
	p.addRun(entries)
}

// addRun files a run of entries (sorted here), merging runs as a binary
// counter does so that there are a logarithmic number of them. A run larger
// than those before it goes first: runs are kept largest first.
func (p *postings) addRun(entries []uint64) {
	if len(entries) == 0 {
		return
	}
	if cap(entries)-len(entries) > len(entries)/8 {
		entries = slices.Clone(entries) // near its size: runs live long
	}
	slices.Sort(entries)
	p.runs = append(p.runs, newRun(entries))
	slices.SortStableFunc(p.runs, func(a, b run) int { return len(b.entries) - len(a.entries) })
	// Two runs of one size class (the same power of two) merge, and the
	// merged run with another of its new class: an entry is merged about
	// log2(n/256) times in all, and runs of nearly equal sizes (a
	// follower's catch-ups) do not pile up.
	for n := len(p.runs); n >= 2 && sizeClass(p.runs[n-1]) >= sizeClass(p.runs[n-2]); n = len(p.runs) {
		p.runs[n-2] = newRun(merge(p.runs[n-2].entries, p.runs[n-1].entries))
		p.runs[n-1] = run{}
		p.runs = p.runs[:n-1]
	}
}

func sizeClass(r run) int { return bits.Len(uint(len(r.entries))) }

// each calls fn with every id filed under h until fn returns false.
func (p *postings) each(h uint32, fn func(id uint32) bool) {
	for _, r := range p.runs {
		for i := r.first(h); i < len(r.entries) && uint32(r.entries[i]>>32) == h; i++ {
			if !fn(uint32(r.entries[i])) {
				return
			}
		}
	}
	for _, v := range p.fresh {
		if uint32(v>>32) == h && !fn(uint32(v)) {
			return
		}
	}
}

func (p *postings) bytes() int64 {
	n := int64(cap(p.fresh)) * 8
	for _, r := range p.runs {
		n += int64(cap(r.entries))*8 + int64(cap(r.dir))*4
	}
	return n
}

func merge(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] <= b[j] {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// distance is the Levenshtein distance between two keys.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	row := make([]int, len(rb)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		prev := row[0]
		row[0] = i
		for j := 1; j <= len(rb); j++ {
			cur := row[j]
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			row[j] = min(row[j]+1, row[j-1]+1, prev+cost)
			prev = cur
		}
	}
	return row[len(rb)]
}
