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
	"slices"
	"strconv"
	"strings"
	"time"
)

// csvColumns are the columns registryctl file reads, by header name; the
// first five are required.
var csvColumns = []string{"kind", "grantor_name", "grantor_uscc", "secured_name", "secured_uscc",
	"description", "period_months", "serial_numbers", "max_amount", "currency", "reference"}

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
	path := fs.String("csv", "", "the CSV file to file (columns: "+strings.Join(csvColumns, ", ")+")")
	base := fs.String("url", or(getenv("REGISTRY_URL"), "http://127.0.0.1:8080"), "the registry's address")
	token := fs.String("token", getenv("REGISTRY_TOKEN"), "a registrant's bearer token")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if *path == "" {
		return false, errors.New("file: -csv FILE is required")
	}
	raw, err := os.ReadFile(*path)
	if err != nil {
		return false, err
	}
	filings, err := readFilings(raw)
	if err != nil {
		return false, err
	}
	digest := sha256.Sum256(raw)
	w := csv.NewWriter(out)
	_ = w.Write([]string{"row", "status", "number", "problem"})
	allFiled = true
	client := &http.Client{Timeout: 5 * time.Minute}
	for start := 0; start < len(filings); start += fileChunk {
		chunk := filings[start:min(start+fileChunk, len(filings))]
		key := fmt.Sprintf("registryctl-file-%s-%d", hex.EncodeToString(digest[:8]), start/fileChunk)
		results, err := fileChunkOnce(ctx, client, strings.TrimRight(*base, "/")+"/api/v1/registrations/batch", *token, key, chunk)
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

// readFilings reads the CSV's rows as filings.
func readFilings(raw []byte) ([]map[string]any, error) {
	r := csv.NewReader(bytes.NewReader(raw))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("the CSV: %w", err)
	}
	if len(rows) < 2 {
		return nil, errors.New("the CSV has no rows under its header")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(csvColumns, h) {
			return nil, fmt.Errorf("the CSV's column %q is not one of %s", h, strings.Join(csvColumns, ", "))
		}
		col[h] = i
	}
	for _, need := range csvColumns[:5] {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("the CSV has no %q column", need)
		}
	}
	var out []map[string]any
	for n, row := range rows[1:] {
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(row) {
				return strings.TrimSpace(row[i])
			}
			return ""
		}
		f := map[string]any{
			"kind":            get("kind"),
			"grantors":        []any{map[string]any{"type": "organization", "name": get("grantor_name"), "uscc": get("grantor_uscc")}},
			"secured_parties": []any{map[string]any{"type": "organization", "name": get("secured_name"), "uscc": get("secured_uscc")}},
			"collateral":      map[string]any{"description": get("description"), "items": items(get("serial_numbers"))},
			"reference":       get("reference"),
		}
		if p := get("period_months"); p != "" {
			months, err := strconv.Atoi(p)
			if err != nil {
				return nil, fmt.Errorf("row %d: period_months %q is not a number", n+1, p)
			}
			f["period_months"] = months
		}
		if a := get("max_amount"); a != "" {
			f["max_secured_amount"] = map[string]any{"amount": a, "currency": or(get("currency"), "CNY")}
		}
		out = append(out, f)
	}
	return out, nil
}

func items(serials string) []any {
	out := []any{}
	for s := range strings.SplitSeq(serials, ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, map[string]any{"type": "equipment", "serial_number": s})
		}
	}
	return out
}

type batchOutcome struct {
	Index        int `json:"index"`
	Status       int `json:"status"`
	Registration *struct {
		Number string `json:"number"`
	} `json:"registration"`
	Problem *batchProblem `json:"problem"`
}

// batchProblem is a refused row's problem.
type batchProblem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field, Message string
	} `json:"errors"`
}

// describe writes a refused row's problem on one line.
func describe(p *batchProblem) string {
	if p == nil {
		return ""
	}
	var parts []string
	for _, e := range p.Errors {
		parts = append(parts, e.Field+": "+e.Message)
	}
	if len(parts) == 0 {
		parts = append(parts, p.Detail)
	}
	return p.Code + ": " + strings.Join(parts, "; ")
}

// fileChunkOnce sends one chunk, sending it again (same key) while the
// registry answers 429 or 503, or cannot be reached, up to twenty times.
func fileChunkOnce(ctx context.Context, client *http.Client, url, token, key string, chunk []map[string]any) ([]batchOutcome, error) {
	body, err := json.Marshal(map[string]any{"filings": chunk})
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", key)
		resp, err := client.Do(req)
		wait := time.Second
		if err == nil {
			answer, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr == nil && resp.StatusCode == http.StatusOK:
				var out struct {
					Results []batchOutcome `json:"results"`
				}
				if err := json.Unmarshal(answer, &out); err != nil {
					return nil, err
				}
				return out.Results, nil
			case resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable:
				return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(answer)))
			}
			if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
				wait = time.Duration(secs) * time.Second
			}
		}
		if attempt == maxRetries {
			return nil, fmt.Errorf("no answer after %d attempts: %v", attempt, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// progress draws a bar of done out of total on one line.
func progress(w io.Writer, done, total int) {
	const width = 30
	filled := width * done / total
	fmt.Fprintf(w, "\rfiling [%s%s] %d/%d", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total)
}
