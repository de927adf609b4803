package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	apiclient "github.com/movable-registry/registry/client"
	"github.com/movable-registry/registry/internal/bulkcsv"
	"github.com/movable-registry/registry/internal/registry"
)

// fileChunk is how many rows go in one bulk request.
const fileChunk = 250

// fileCSV files every row of a CSV through POST /registrations/batch, a
// chunk at a time, with a progress bar on log, and writes each row's
// outcome to out as CSV: row, status, number, problem. Each chunk carries an
// Idempotency-Key made of the file's digest and the chunk's place, so that
// running it again (after a failure half-way) files what is missing and
// answers the rest as before. It reports whether every row was filed.
func fileCSV(ctx context.Context, args []string, getenv func(string) string, out, log io.Writer) (allFiled bool, err error) {
	fs := flag.NewFlagSet("file", flag.ContinueOnError)
	fs.SetOutput(log)
	path := fs.String("csv", "", "the CSV file to file (columns: "+strings.Join(bulkcsv.Columns, ", ")+")")
	base := fs.String("url", or(getenv("REGISTRY_URL"), "http://127.0.0.1:8080"), "the registry's address")
	token := fs.String("token", getenv("REGISTRY_TOKEN"), "a registrant's bearer token")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if *path == "" {
		return false, errors.New("file: -csv FILE is required")
	}
	if *token == "" {
		return false, errors.New(strings.TrimPrefix(noToken("file", tokenFor["file"]), "registryctl "))
	}
	raw, err := os.ReadFile(*path)
	if err != nil {
		return false, err
	}
	filings, err := bulkcsv.Read(raw)
	if err != nil {
		return false, err
	}
	digest := sha256.Sum256(raw)
	w := csv.NewWriter(out)
	_ = w.Write([]string{"row", "status", "number", "problem"})
	allFiled = true
	// The chunk's own retries (below) wait out an unreachable registry; the
	// client's doer waits out 429 and 503, which the Idempotency-Key makes
	// safe to send again.
	api, _ := apiclient.New(*base, *token, apiclient.WithHTTPClient(&apiclient.Retrying{Doer: &http.Client{Timeout: 5 * time.Minute}, MaxRetries: maxRetries}))
	for start := 0; start < len(filings); start += fileChunk {
		chunk := filings[start:min(start+fileChunk, len(filings))]
		key := fmt.Sprintf("registryctl-file-%s-%d", hex.EncodeToString(digest[:8]), start/fileChunk)
		results, err := fileChunkOnce(ctx, api, key, chunk)
		if err != nil {
			w.Flush()
			return false, fmt.Errorf("rows %d to %d: %w", start+1, start+len(chunk), err)
		}
		for _, r := range results {
			row := strconv.Itoa(start + r.Index + 1)
			if r.Registration != nil {
				_ = w.Write([]string{row, strconv.Itoa(r.Status), r.Registration.Number, ""})
				continue
			}
			allFiled = false
			_ = w.Write([]string{row, strconv.Itoa(r.Status), "", describe(r.Problem)})
		}
		w.Flush()
		progress(log, start+len(chunk), len(filings))
	}
	fmt.Fprintln(log)
	return allFiled, w.Error()
}

// describe writes a refused row's problem on one line.
func describe(p *apiclient.Problem) string {
	if p == nil {
		return ""
	}
	var parts []string
	if p.Errors != nil {
		for _, e := range *p.Errors {
			parts = append(parts, e.Field+": "+e.Message)
		}
	}
	if len(parts) == 0 && p.Detail != nil {
		parts = append(parts, *p.Detail)
	}
	return string(p.Code) + ": " + strings.Join(parts, "; ")
}

// fileChunkOnce sends one chunk, sending it again (same key) while the
// registry cannot be reached, up to twenty times; api's doer waits out a 429
// or 503 as often. The filings are the domain's own (as bulkcsv reads them),
// sent as the JSON body of the document's fileBatch operation.
func fileChunkOnce(ctx context.Context, api *apiclient.ClientWithResponses, key string, chunk []registry.Filing) ([]apiclient.BatchResult, error) {
	body, err := json.Marshal(map[string]any{"filings": chunk})
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		res, err := api.FileBatchWithBodyWithResponse(ctx, &apiclient.FileBatchParams{IdempotencyKey: &key}, "application/json", bytes.NewReader(body))
		if err == nil {
			if res.JSON200 == nil {
				return nil, fmt.Errorf("%s: %s", res.HTTPResponse.Status, strings.TrimSpace(string(res.Body)))
			}
			return res.JSON200.Results, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if attempt == maxRetries {
			return nil, fmt.Errorf("no answer after %d attempts: %v", attempt, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// progress draws a bar of done out of total on one line.
func progress(w io.Writer, done, total int) {
	const width = 30
	filled := width * done / total
	fmt.Fprintf(w, "\rfiling [%s%s] %d/%d", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total)
}
