package bulkcsv

import (
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
	t, err := readTable(raw, ChangeColumns, []string{"number"})
	if err != nil {
		return nil, err
	}
	var out []registry.Change
	for _, row := range t.rows {
		get := func(name string) string { return t.get(row, name) }
		ch := registry.Change{Number: get("number"), Amendment: &registry.Amendment{Note: get("note")}}
		if v := get("if_match"); v != "" {
			ch.IfMatch = `"` + strings.Trim(v, `"`) + `"`
		}
		if v := get("description"); v != "" {
			ch.Amendment.Description = &v
		}
		for _, s := range t.list(row, "add_serial_numbers") {
			ch.Amendment.AddItems = append(ch.Amendment.AddItems, registry.ItemInput{Type: "equipment", SerialNumber: s})
		}
		ch.Amendment.RemoveItemIDs = t.list(row, "remove_item_ids")
		out = append(out, ch)
	}
	return out, nil
}
