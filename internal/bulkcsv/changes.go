package bulkcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/movable-registry/registry/internal/registry"
)

// ChangeColumns are the columns of a CSV of amendments, one a row (the
// bulk changes page): number is required; if_match is the version the row
// expects (as the registration's page shows it); description replaces the
// collateral's description; add_serial_numbers (';'-separated) adds
// equipment items; remove_item_ids (';'-separated) removes items by their
// ids; note is the amendment's note. A row must change something.
var ChangeColumns = []string{"number", "if_match", "description", "add_serial_numbers", "remove_item_ids", "note"}

// ReadAmendments reads the amendments of a CSV file, unchecked (the registry
// checks each as it makes it, as alone).
func ReadAmendments(raw []byte) ([]registry.Change, error) {
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
		if !slices.Contains(ChangeColumns, h) {
			return nil, fmt.Errorf("the CSV's column %q is not one of %s", h, strings.Join(ChangeColumns, ", "))
		}
		col[h] = i
	}
	if _, ok := col["number"]; !ok {
		return nil, errors.New(`the CSV has no "number" column`)
	}
	var out []registry.Change
	for _, row := range rows[1:] {
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(row) {
				return strings.TrimSpace(row[i])
			}
			return ""
		}
		ch := registry.Change{Number: get("number"), Amendment: &registry.Amendment{Note: get("note")}}
		if v := get("if_match"); v != "" {
			ch.IfMatch = `"` + strings.Trim(v, `"`) + `"`
		}
		if v := get("description"); v != "" {
			ch.Amendment.Description = &v
		}
		for s := range strings.SplitSeq(get("add_serial_numbers"), ";") {
			if s = strings.TrimSpace(s); s != "" {
				ch.Amendment.AddItems = append(ch.Amendment.AddItems, registry.ItemInput{Type: "equipment", SerialNumber: s})
			}
		}
		for s := range strings.SplitSeq(get("remove_item_ids"), ";") {
			if s = strings.TrimSpace(s); s != "" {
				ch.Amendment.RemoveItemIDs = append(ch.Amendment.RemoveItemIDs, s)
			}
		}
		out = append(out, ch)
	}
	return out, nil
}
