package names

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func add(x *Index, names ...string) {
	for _, n := range names {
		x.Add(Normalize(n).Key, n)
	}
}

func similar(x *Index, name string, max int) []string {
	out := []string{}
	for _, c := range x.Similar(Normalize(name).Key, name, max) {
		out = append(out, c.Name)
	}
	return out
}

func TestSimilar(t *testing.T) {
	x := New()
	add(x, "上海星辰（集团）精密机械有限公司", "上海星晨精密机械有限公司", "上海星辰智能装备股份有限公司", "上海华为技术有限公司",
		"北京星辰科技有限公司", "Acme Trading Ltd", "上海星辰(集团)精密机械有限公司")
	if x.Len() != 6 {
		t.Errorf("%d names held, want 6: a name typed another way is the same key", x.Len())
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"上海星辰精密机械有限公司", []string{"上海星晨精密机械有限公司", "上海星辰（集团）精密机械有限公司", "上海星辰智能装备股份有限公司"}},
		{"上海星辰（集团）精密机城有限公司", []string{"上海星辰（集团）精密机械有限公司"}},
		{"下海华为技术有限公司", []string{"上海华为技术有限公司"}},
		{"ACME Tradin Limited", []string{"Acme Trading Ltd"}},
		{"广州月亮贸易有限公司", []string{}},
		// The name searched is never similar to itself.
		{"上海华为技术有限公司", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if diff := cmp.Diff(similar(x, tt.query, 5), tt.want); diff != "" {
				t.Errorf("similar (-got +want):\n%s", diff)
			}
		})
	}
	if got := similar(x, "上海星辰精密机械有限公司", 1); len(got) != 1 || got[0] != "上海星晨精密机械有限公司" {
		t.Errorf("the first of one: %v", got)
	}
}

// Many names, added in runs that merge, are all still found.
func TestSimilarAfterManyAdds(t *testing.T) {
	x := New()
	for i := range 20000 {
		add(x, fmt.Sprintf("上海测%05d试机械有限公司", i))
	}
	for _, i := range []int{0, 255, 256, 4097, 19999} {
		q := fmt.Sprintf("上海测%05d试机城有限公司", i)
		if got := similar(x, q, 5); len(got) != 1 || got[0] != fmt.Sprintf("上海测%05d试机械有限公司", i) {
			t.Errorf("%s: %v", q, got)
		}
	}
	if s := x.Stats(); s.Names != 20000 || s.Bytes <= 0 {
		t.Errorf("stats %+v", s)
	}
}

// Names added all at once are found as if added one by one, once each.
func TestAddAll(t *testing.T) {
	one, all := New(), New()
	var batch []Name
	for i := range 5000 {
		n := fmt.Sprintf("上海测%05d试机械有限公司", i)
		add(one, n)
		batch = append(batch, Name{Key: Normalize(n).Key, Name: n})
	}
	add(all, "上海测00007试机械有限公司")
	all.AddAll(append(batch, batch[:10]...))
	if all.Len() != 5000 {
		t.Errorf("%d names, want 5000: each once", all.Len())
	}
	loaded := New()
	i := 0
	if err := loaded.Load(len(batch), func() (Name, bool, error) {
		if i == len(batch) {
			return Name{}, false, nil
		}
		i++
		return batch[i-1], true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if loaded.Len() != 5000 {
		t.Errorf("loaded %d names, want 5000", loaded.Len())
	}
	for _, i := range []int{0, 7, 4999} {
		q := fmt.Sprintf("上海测%05d试机城有限公司", i)
		a, b, c := similar(one, q, 5), similar(all, q, 5), similar(loaded, q, 5)
		if cmp.Diff(a, b) != "" || cmp.Diff(a, c) != "" || len(b) != 1 {
			t.Errorf("%s: one by one %v, all at once %v, loaded %v", q, a, b, c)
		}
	}
}
