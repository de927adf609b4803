package bulkcsv

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/registry"
)

func TestReadAmendments(t *testing.T) {
	desc := "Two lathes, as amended"
	got, err := ReadAmendments([]byte("\ufeffnumber,if_match,description,add_serial_numbers,remove_item_ids,note\n" +
		"D20261207000001A,3,\"Two lathes, as amended\",LATHE-1; LATHE-2,,\n" +
		"D20261207000002B,,,,i1;i2,sold\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []registry.Change{
		{Number: "D20261207000001A", IfMatch: `"3"`, Amendment: &registry.Amendment{Description: &desc,
			AddItems: []registry.ItemInput{{Type: "equipment", SerialNumber: "LATHE-1"}, {Type: "equipment", SerialNumber: "LATHE-2"}}}},
		{Number: "D20261207000002B", Amendment: &registry.Amendment{RemoveItemIDs: []string{"i1", "i2"}, Note: "sold"}},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
	for name, raw := range map[string]string{
		"no number column":  "description\nx\n",
		"an unknown column": "number,colour\nD1,red\n",
		"no rows":           "number\n",
	} {
		if _, err := ReadAmendments([]byte(raw)); err == nil {
			t.Errorf("%s: read", name)
		}
	}
}
