package translog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// The log is also served as C2SP tlog-tiles: hash tiles 256 wide (height 8)
// at tile/<L>/<N>[.p/<W>], and entry bundles at tile/entries/<N>[.p/<W>],
// where N is written in three-digit groups (x001/x234/067). These are the
// tiles of Go's checksum database with the height left out of the path and
// "data" called "entries".

// TileHeight is the height of every tile: 2^8 = 256 hashes wide.
const TileHeight = 8

// TileWidth is the number of hashes (or entries) in a full tile.
const TileWidth = 1 << TileHeight

// Tile is a tile's coordinates: level L (-1 for an entry bundle), index N and
// width W.
type Tile = tlog.Tile

// ErrBadTilePath is a path that names no tile.
var ErrBadTilePath = errors.New("not a tile path")

// ParseTilePath reads a C2SP tile path ("tile/0/x001/234.p/17" or
// "tile/entries/005"), without the log's prefix.
func ParseTilePath(path string) (Tile, error) {
	var sumdb string
	switch {
	case strings.HasPrefix(path, "tile/entries/"):
		sumdb = "tile/8/data/" + strings.TrimPrefix(path, "tile/entries/")
	case strings.HasPrefix(path, "tile/"):
		sumdb = "tile/8/" + strings.TrimPrefix(path, "tile/")
	default:
		return Tile{}, ErrBadTilePath
	}
	t, err := tlog.ParseTilePath(sumdb)
	if err != nil || TilePath(t) != path || t.L > 63 {
		return Tile{}, fmt.Errorf("%w: %q", ErrBadTilePath, path)
	}
	return t, nil
}

// TilePath is the C2SP path of tile t, without the log's prefix.
func TilePath(t Tile) string {
	p := t.Path()
	if t.L == -1 {
		return "tile/entries/" + strings.TrimPrefix(p, "tile/8/data/")
	}
	return "tile/" + strings.TrimPrefix(p, "tile/8/")
}

// TileEnd is one past the last record that tile t covers: a tree of at least
// this many records holds the whole tile. A tile no tree of 2^63 records
// could hold ends at math.MaxInt64: a shift by 64 bits or more is 0 in Go,
// which once let tiles at impossible levels pass for tiles of any tree.
func TileEnd(t Tile) int64 {
	level := max(t.L, 0)
	if t.N < 0 || t.W < 0 || t.N > (math.MaxInt64-int64(t.W))/TileWidth {
		return math.MaxInt64
	}
	end := uint64(t.N*TileWidth + int64(t.W))
	shift := TileHeight * level
	if shift >= 63 || bits.Len64(end)+shift > 63 {
		return math.MaxInt64
	}
	return int64(end << shift)
}

// ReadTile reads the hashes of hash tile t from the stored hashes.
func ReadTile(ctx context.Context, r HashReader, t Tile) ([]byte, error) {
	return tlog.ReadTileData(t, reader(ctx, r))
}

// MaxBundleEntry is the longest record an entry bundle can hold: its length
// is written in two bytes.
const MaxBundleEntry = 0xFFFF

// AppendBundleEntry adds a record to an entry bundle.
func AppendBundleEntry(bundle, record []byte) ([]byte, error) {
	if len(record) > MaxBundleEntry {
		return nil, fmt.Errorf("a record of %d bytes is longer than an entry bundle holds (%d)", len(record), MaxBundleEntry)
	}
	bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(record)))
	return append(bundle, record...), nil
}

// SplitBundle reads an entry bundle into its records.
func SplitBundle(bundle []byte) ([][]byte, error) {
	var out [][]byte
	for len(bundle) > 0 {
		if len(bundle) < 2 {
			return nil, errors.New("entry bundle: a length cut short")
		}
		n := int(binary.BigEndian.Uint16(bundle))
		if len(bundle) < 2+n {
			return nil, fmt.Errorf("entry bundle: entry %d is cut short", len(out))
		}
		out, bundle = append(out, bundle[2:2+n]), bundle[2+n:]
	}
	return out, nil
}
