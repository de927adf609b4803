package names

import (
	"fmt"
	"testing"
)

// Runs of nearly equal sizes, as a follower's catch-ups make them, merge
// into a logarithmic number of runs, and names added one at a time after a
// large load never merge the large run again and again.
func TestRunsStayFew(t *testing.T) {
	x := New()
	for c := range 40 {
		var chunk []Name
		for i := range 1000 + c%7 {
			n := fmt.Sprintf("上海测%03d%04d试机械有限公司", c, i)
			chunk = append(chunk, Name{Key: n, Name: n})
		}
		x.AddAll(chunk)
	}
	if r := len(x.slips.runs); r > 8 {
		t.Errorf("%d runs after 40 catch-ups of about 1,000 names", r)
	}
	before := x.Stats().Bytes
	for i := range 5000 {
		n := fmt.Sprintf("北京测%05d试机械有限公司", i)
		x.Add(n, n)
	}
	if r := len(x.slips.runs); r > 16 {
		t.Errorf("%d runs", r)
	}
	if grown := x.Stats().Bytes - before; grown > 5000*400 {
		t.Errorf("5,000 names added %d bytes", grown)
	}
	if got := similar(x, "上海测0120005试机城有限公司", 5); len(got) != 1 {
		t.Errorf("similar: %v", got)
	}
}
