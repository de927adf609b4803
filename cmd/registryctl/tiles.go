package main

import (
	"bytes"
	"context"
	"sync"
	"time"

	apiclient "github.com/movable-registry/registry/client"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// fetchers is how many requests the bulk reads keep in flight.
const fetchers = 4

// fetchEntries reads the first n entries of the log in bulk: the records
// from the entry bundles (C2SP tlog-tiles), their stored leaf hashes from
// the level-0 hash tiles, and the columns and openings from /log/columns,
// all at once. A bundle the registry cannot serve (a record too long for
// one, entries missing) is read from /log/entries instead, which serves
// what there is. The entries come back in log order.
func (v *verifier) fetchEntries(ctx context.Context, n int64) ([]entry, error) {
	tiles := (n + translog.TileWidth - 1) / translog.TileWidth
	bundles := make([][]entry, tiles)
	errs := make([]error, tiles)
	work := make(chan int64)
	var wg sync.WaitGroup
	for range fetchers {
		wg.Go(func() {
			for k := range work {
				bundles[k], errs[k] = v.fetchTile(ctx, k, n)
			}
		})
	}
	var columns map[int64]registry.LogColumns
	var columnsErr error
	wg.Go(func() { columns, columnsErr = v.fetchColumns(ctx, n) })
	for k := range tiles {
		work <- k
	}
	close(work)
	wg.Wait()
	if columnsErr != nil {
		return nil, columnsErr
	}
	out := make([]entry, 0, n)
	for k := range tiles {
		if errs[k] != nil {
			return nil, errs[k]
		}
		for _, e := range bundles[k] {
			if c, ok := columns[e.Index]; ok {
				e.Openings = c.Openings
				if c.ErasedAt != nil {
					e.ErasedAt = &c.ErasedAt.Time
				}
				e.Indexed.Number, e.Indexed.RegistrationNumber, e.Indexed.Type, e.Indexed.RegisteredAt = c.Indexed.Number, c.Indexed.RegistrationNumber, c.Indexed.Type, c.Indexed.RegisteredAt.Time
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// fetchTile reads bundle k of a log of n entries with its hash tile.
func (v *verifier) fetchTile(ctx context.Context, k, n int64) ([]entry, error) {
	w := min(n-k*translog.TileWidth, translog.TileWidth)
	t := translog.Tile{H: translog.TileHeight, L: -1, N: k, W: int(w)}
	bundle, berr := v.api.bytes(ctx, "/log/"+translog.TilePath(t))
	t.L = 0
	hashes, err := v.api.bytes(ctx, "/log/"+translog.TilePath(t))
	if err != nil {
		return nil, err
	}
	var records [][]byte
	if berr == nil {
		records, berr = translog.SplitBundle(bundle)
	}
	if berr != nil || len(records) != int(w) {
		return v.entriesPage(ctx, k*translog.TileWidth, k*translog.TileWidth+w)
	}
	out := make([]entry, w)
	for i := range out {
		out[i].Index, out[i].Record = k*translog.TileWidth+int64(i), records[i]
		copy(out[i].LeafHash[:], hashes[32*i:])
	}
	return out, nil
}

// entriesPage reads entries from..to-1 from /log/entries, as served; to
// below 0 reads to the log's end.
func (v *verifier) entriesPage(ctx context.Context, from, to int64) ([]entry, error) {
	var out []entry
	for to < 0 || from < to {
		var page struct {
			Items []entry `json:"items"`
		}
		params := &apiclient.ListLogEntriesParams{From: ptr(int(from))}
		if to >= 0 {
			params.To = ptr(int(to))
		}
		resp, err := v.api.api.ListLogEntries(ctx, params)
		if err := decode("GET /log/entries", resp, err, &page); err != nil {
			return nil, err
		}
		if len(page.Items) == 0 {
			break
		}
		out = append(out, page.Items...)
		from = page.Items[len(page.Items)-1].Index + 1
	}
	return out, nil
}

// fetchColumns reads the columns of the first n events, by log position.
func (v *verifier) fetchColumns(ctx context.Context, n int64) (map[int64]registry.LogColumns, error) {
	out := make(map[int64]registry.LogColumns, n)
	for from := int64(0); from < n; {
		var page registry.Page[registry.LogColumns]
		resp, err := v.api.api.ListLogColumns(ctx, &apiclient.ListLogColumnsParams{From: ptr(int(from)), To: ptr(int(n))})
		if err := decode("GET /log/columns", resp, err, &page); err != nil {
			return nil, err
		}
		if len(page.Items) == 0 {
			break
		}
		for _, c := range page.Items {
			out[c.Index] = c
		}
		from = page.Items[len(page.Items)-1].Index + 1
	}
	return out, nil
}

// fetchStates reads the digest of every registration as the API derives it
// from the log's first n events, with statuses at instant at, a page of
// thousands at a time.
func (v *verifier) fetchStates(ctx context.Context, n int64, at time.Time) ([]registry.RegistrationDigest, error) {
	var served []registry.RegistrationDigest
	for after := ""; ; {
		var page registry.Page[registry.RegistrationDigest]
		resp, err := v.api.api.ListLogState(ctx, &apiclient.ListLogStateParams{Size: ptr(int(n)), At: &at, After: &after})
		if err := decode("GET /log/state", resp, err, &page); err != nil {
			return nil, err
		}
		served = append(served, page.Items...)
		if page.NextCursor == "" {
			return served, nil
		}
		after = page.NextCursor
	}
}

// compareStates replays every registration from the log's first n events
// and compares its digest with the one the API derives; a registration
// whose digests differ is then fetched whole, to say where.
func (v *verifier) compareStates(ctx context.Context, records []registry.EventRecord, served []registry.RegistrationDigest, at time.Time, n int64) error {
	regs, err := registry.Replay(records, farFuture, at)
	if err != nil {
		v.find("the log's events do not replay: %v", err)
		return nil
	}
	// Both processors make the digests.
	digests := make([][]byte, len(regs))
	var wg sync.WaitGroup
	for part := range 2 {
		wg.Go(func() {
			for i := part; i < len(regs); i += 2 {
				digests[i] = registry.StateDigest(regs[i])
			}
		})
	}
	wg.Wait()
	local := make(map[string][]byte, len(regs))
	for i, r := range regs {
		local[r.Number] = digests[i]
	}
	seen := make(map[string]bool, len(served))
	for _, d := range served {
		seen[d.Number] = true
		want, ok := local[d.Number]
		switch {
		case !ok:
			v.find("registration %s: the API derives it from the log's first %d events, which hold none of it", d.Number, n)
		case !bytes.Equal(want, d.Digest):
			var own []registry.EventRecord
			for _, r := range records {
				if r.RegistrationNumber == d.Number {
					own = append(own, r)
				}
			}
			detail, err := v.registration(ctx, d.Number, own)
			if err != nil {
				return err
			}
			if detail == "" {
				detail = "its state's digest differs from the replay's"
			}
			v.find("registration %s: %s", d.Number, detail)
		}
	}
	for number := range local {
		if !seen[number] {
			v.find("registration %s: the log holds it, the API does not derive it", number)
		}
	}
	v.note("%s replayed from the log and compared with the API's state by digest", plural(len(local), "registration", "registrations"))
	return nil
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
