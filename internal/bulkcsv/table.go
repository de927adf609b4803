package bulkcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// table is a CSV file read whole: its header's columns by name, and the
// rows under it. Filings and amendments are both read as one.
type table struct {
	col  map[string]int
	rows [][]string
}

// readTable reads raw as a CSV whose header names some of columns, in any
// order, each of required among them.
func readTable(raw []byte, columns, required []string) (*table, error) {
	r := csv.NewReader(bytes.NewReader(raw))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("the CSV: %w", err)
	}
	if len(rows) < 2 {
		return nil, errors.New("the CSV has no rows under its header")
	}
	t := &table{col: map[string]int{}, rows: rows[1:]}
	for i, h := range rows[0] {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(columns, h) {
			return nil, fmt.Errorf("the CSV's column %q is not one of %s", h, strings.Join(columns, ", "))
		}
		t.col[h] = i
	}
	for _, need := range required {
		if _, ok := t.col[need]; !ok {
			return nil, fmt.Errorf("the CSV has no %q column", need)
		}
	}
	return t, nil
}

// get is row's value in the column name, trimmed ("" where the file has
// no such column or the row is short).
func (t *table) get(row []string, name string) string {
	if i, ok := t.col[name]; ok && i < len(row) {
		return strings.TrimSpace(row[i])
	}
	return ""
}

// list is row's ';'-separated values in the column name, each trimmed, the
// empty ones left out.
func (t *table) list(row []string, name string) []string {
	var out []string
	for s := range strings.SplitSeq(t.get(row, name), ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
