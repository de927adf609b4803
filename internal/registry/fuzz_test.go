package registry

import (
	"errors"
	"strconv"
	"testing"
)

// FuzzSearchCriteria: whatever a searcher sends as one criterion, checking
// it never panics, refuses with a validation error naming a criteria field,
// and what it accepts (in its stored form) it accepts again, with the same
// keys.
func FuzzSearchCriteria(f *testing.F) {
	for _, s := range []string{"上海星辰（集团）精密机械有限公司", "91310115MA1K3YJ12G", "5493001KJTIIGC8Y1R12", "11010119900307803X",
		"20261126000000001225", "dmg 2019 004411", "", " ", "\u200b", "\xff", "ＡＣＭＥ　Ｌｔｄ．"} {
		for k := range 6 {
			f.Add(s, k)
		}
	}
	f.Fuzz(func(t *testing.T, value string, which int) {
		var c Criteria
		fields := []*string{&c.GrantorName, &c.USCC, &c.LEI, &c.IDNumber, &c.RegistrationNumber, &c.SerialNumber}
		if which < 0 {
			which = -which
		}
		*fields[which%len(fields)] = value
		q, _, err := c.query()
		if err != nil {
			var v *ValidationError
			if !errors.As(err, &v) || len(v.Errors) == 0 {
				t.Fatalf("%q: %v is not a validation error", value, err)
			}
			for _, fe := range v.Errors {
				if fe.Field != "criteria" && len(fe.Field) < len("criteria.") {
					t.Fatalf("%q: an error names %q", value, fe.Field)
				}
			}
			return
		}
		again := q.Criteria
		q2, _, err := again.query()
		if err != nil || q2.NameKey != q.NameKey || q2.SerialKey != q.SerialKey || q2.Criteria != q.Criteria {
			t.Fatalf("%q accepted as %+v, then %+v, %v", value, q, q2, err)
		}
	})
}

// FuzzCursor: a list's limit and cursor, whatever they are, are read
// without panic, refused naming the field; a cursor a page gave reads back
// as the key it was made from.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", "MTIz", "!!!", "bm90LWEta2V5", "-1", "101"} {
		f.Add("20", s, "key-1")
	}
	f.Fuzz(func(t *testing.T, limit, cursor, key string) {
		var p problems
		n, after := readPage(&p, limit, cursor, func(s string) bool { _, err := strconv.Atoi(s); return err == nil })
		if err := p.err(); err != nil {
			var v *ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("limit %q, cursor %q: %v", limit, cursor, err)
			}
			for _, fe := range v.Errors {
				if fe.Field != "limit" && fe.Field != "cursor" {
					t.Fatalf("limit %q, cursor %q: an error names %q", limit, cursor, fe.Field)
				}
			}
		} else if n < 1 || n > maxPage {
			t.Fatalf("limit %q read as %d", limit, n)
		} else if cursor != "" {
			if _, err := strconv.Atoi(after); err != nil {
				t.Fatalf("cursor %q read as %q, which is not a key", cursor, after)
			}
		}
		page := pageOf([]string{"a", key}, 1, func(s string) string { return s })
		var q problems
		if _, back := readPage(&q, "", page.NextCursor, func(string) bool { return true }); back != "a" || q.err() != nil {
			t.Fatalf("the cursor of key %q reads back as %q (%v)", "a", back, q.err())
		}
	})
}
