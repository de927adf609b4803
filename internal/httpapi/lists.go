package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// MaxListBytes is how large a list's answer may grow by default (docs/api.md,
// "Limits"): limit bounds the items, this their bytes, since one item (a
// draft, a registration of a thousand items, a log entry) can be large.
const MaxListBytes = 4 << 20

// writeList answers a page of a list, {"items": [...], "next_cursor"}, with
// its items encoded one at a time so that it stops at the byte budget: the
// answer ends before the item that would pass it, and its next_cursor
// starts there. The first item is always written, however large, so that a
// client paging with the cursors always moves on.
func (a *api) writeList(c *gin.Context, l registry.List) {
	markReplay(c)
	budget := a.opts.MaxListBytes
	var b, item bytes.Buffer
	enc := json.NewEncoder(&item)
	enc.SetEscapeHTML(false)
	b.WriteString(`{"items":[`)
	n := 0
	for ; n < l.Len(); n++ {
		item.Reset()
		if err := enc.Encode(l.Item(n)); err != nil {
			a.log.Error("encode response", "error", err)
			c.Data(http.StatusInternalServerError, "application/json; charset=utf-8", []byte(`{"code":"internal_error"}`))
			return
		}
		encoded := bytes.TrimSuffix(item.Bytes(), []byte("\n"))
		// What the answer would be with this item as its last.
		size := b.Len() + len(encoded) + len(listEnd(l.CursorAfter(n+1)))
		if n > 0 {
			size++ // the comma before it
		}
		if n > 0 && size > budget {
			if l.CursorAfter(n) != "" {
				break
			}
			// A list that cannot resume mid-page is answered whole: an
			// answer too large beats one that loses items.
			a.log.Error("a list's page could not be cut at its byte limit", "route", c.FullPath())
			budget = int(^uint(0) >> 1)
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(encoded)
	}
	b.WriteString(listEnd(l.CursorAfter(n)))
	c.Data(http.StatusOK, "application/json; charset=utf-8", b.Bytes())
}

// listEnd closes a list's answer, with the cursor of the rest if there is
// any.
func listEnd(cursor string) string {
	if cursor == "" {
		return "]}\n"
	}
	q, _ := json.Marshal(cursor)
	return `],"next_cursor":` + string(q) + "}\n"
}
