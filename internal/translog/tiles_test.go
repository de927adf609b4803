package translog

import (
	"context"
	"fmt"
	"math"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// tiles serves tiles from stored hashes as a registry does, to tlog's own
// tile reader.
type tiles struct {
	m     *memory
	reads int
}

func (tiles) Height() int { return TileHeight }

func (ts *tiles) ReadTiles(list []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(list))
	for i, t := range list {
		ts.reads++
		// Through the path, as a client over HTTP would name it.
		parsed, err := ParseTilePath(TilePath(t))
		if err != nil || parsed != t {
			return nil, fmt.Errorf("tile %+v: path %q reads back as %+v, %v", t, TilePath(t), parsed, err)
		}
		if out[i], err = ReadTile(context.Background(), ts.m, parsed); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (*tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// TestTilesReproduceTheRoot reads trees of many sizes, across tile and level
// boundaries, through tlog.TileHashReader, which checks every tile against
// the tree's root; the root and a proof made from tiles must agree with the
// stored hashes'.
func TestTilesReproduceTheRoot(t *testing.T) {
	ctx := context.Background()
	m := &memory{}
	const n = 70000
	for i := range int64(n) {
		hs, err := Append(ctx, m, i, fmt.Appendf(nil, `{"n":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		*m = append(*m, hs...)
	}
	for _, size := range []int64{1, 255, 256, 257, 65535, 65536, 65537, n} {
		root, err := TreeHash(ctx, m, size)
		if err != nil {
			t.Fatal(err)
		}
		ts := &tiles{m: m}
		hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, ts)
		got, err := tlog.TreeHash(size, hr)
		if err != nil || got != root {
			t.Fatalf("size %d: tiles give root %v, %v; want %v", size, got, err, root)
		}
		p, err := tlog.ProveRecord(size, size/2, hr)
		if err != nil || tlog.CheckRecord(p, size, root, size/2, tlog.RecordHash(fmt.Appendf(nil, `{"n":%d}`, size/2))) != nil {
			t.Fatalf("size %d: a proof from tiles does not verify: %v", size, err)
		}
		// A tree whose root is not the tiles' is refused.
		bad := root
		bad[0] ^= 1
		if _, err := tlog.TreeHash(size, tlog.TileHashReader(tlog.Tree{N: size, Hash: bad}, &tiles{m: m})); err == nil {
			t.Fatalf("size %d: tiles verify against a wrong root", size)
		}
	}
}

func TestTilePaths(t *testing.T) {
	for path, want := range map[string]Tile{
		"tile/0/000":             {H: 8, L: 0, N: 0, W: 256},
		"tile/0/x001/x234/067":   {H: 8, L: 0, N: 1234067, W: 256},
		"tile/1/000.p/17":        {H: 8, L: 1, N: 0, W: 17},
		"tile/entries/x001/005":  {H: 8, L: -1, N: 1005, W: 256},
		"tile/entries/273.p/112": {H: 8, L: -1, N: 273, W: 112},
	} {
		got, err := ParseTilePath(path)
		if err != nil || got != want || TilePath(got) != path {
			t.Errorf("%s: %+v, %v; path back %q", path, got, err, TilePath(got))
		}
	}
	for _, bad := range []string{"tile/0/1", "tile/0/0001", "tile/64/000", "tile/0/000.p/256", "tile/0/000.p/0", "tile/entries/", "entries/000", "tile/0/x1/000", "tile/data/000", "tile/0/000.p/017"} {
		if got, err := ParseTilePath(bad); err == nil {
			t.Errorf("%s reads as %+v", bad, got)
		}
	}
	if TileEnd(Tile{H: 8, L: 1, N: 0, W: 17}) != 17*256 || TileEnd(Tile{H: 8, L: -1, N: 2, W: 3}) != 515 {
		t.Error("TileEnd")
	}
	// Tiles no tree of 2^63 records holds end past every tree, not at the
	// 0 a shift of 64 bits gives.
	for _, tile := range []Tile{{H: 8, L: 8, W: 1}, {H: 8, L: 63, W: 1}, {H: 8, L: 7, N: 128, W: 1}, {H: 8, L: 0, N: 1 << 62, W: 1}} {
		if end := TileEnd(tile); end != math.MaxInt64 {
			t.Errorf("TileEnd(%+v) = %d", tile, end)
		}
	}
	if end := TileEnd(Tile{H: 8, L: 7, W: 1}); end != 1<<56 {
		t.Errorf("TileEnd of the first level-7 tile: %d", end)
	}
}

func TestEntryBundles(t *testing.T) {
	var b []byte
	records := [][]byte{[]byte("a"), {}, make([]byte, MaxBundleEntry)}
	for _, r := range records {
		var err error
		if b, err = AppendBundleEntry(b, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := SplitBundle(b)
	if err != nil || len(got) != 3 || string(got[0]) != "a" || len(got[1]) != 0 || len(got[2]) != MaxBundleEntry {
		t.Fatalf("split: %d records, %v", len(got), err)
	}
	if _, err := AppendBundleEntry(nil, make([]byte, MaxBundleEntry+1)); err == nil {
		t.Error("an entry too long for two bytes of length is bundled")
	}
	if _, err := SplitBundle(b[:len(b)-1]); err == nil {
		t.Error("a cut bundle splits")
	}
}
