package postgres

import (
	"context"
	"strings"

	"gorm.io/gorm"
)

// Inside a transaction a view's statements go through q, which flushes the
// write buffer first, or w, which also marks the buffer dirty: the running
// write has changed the database itself, and a batch cannot then take it
// back alone. Both hand GORM a context that names the buffer, and the
// callbacks checkWrites registers see every statement run on such a
// context: one that writes marks the buffer as w would even when it came
// through q, and a search's detached buffer refuses it. A write inside a
// transaction has no way around the mark.

// bufferKey is the context key of the buffer a statement runs for.
type bufferKey struct{}

// withBuffer is ctx naming buf as the buffer of its statements.
func withBuffer(ctx context.Context, buf *writeBuffer) context.Context {
	return context.WithValue(ctx, bufferKey{}, buf)
}

// bufferOf is the buffer a statement runs for, if any.
func bufferOf(db *gorm.DB) *writeBuffer {
	if db.Statement == nil || db.Statement.Context == nil {
		return nil
	}
	buf, _ := db.Statement.Context.Value(bufferKey{}).(*writeBuffer)
	return buf
}

const writeCheck = "registry:write_check"

// checkWrites registers the callbacks on db (and so on every session and
// transaction made from it), once.
func checkWrites(db *gorm.DB) error {
	cb := db.Callback()
	// Statements that change the database whatever their text: marked
	// (or refused) before they run.
	for _, p := range []struct {
		get func(string) func(*gorm.DB)
		reg func(string, func(*gorm.DB)) error
	}{
		{cb.Raw().Get, cb.Raw().Before("gorm:raw").Register},
		{cb.Create().Get, cb.Create().Before("gorm:create").Register},
		{cb.Update().Get, cb.Update().Before("gorm:update").Register},
		{cb.Delete().Get, cb.Delete().Before("gorm:delete").Register},
	} {
		if p.get(writeCheck) == nil {
			if err := p.reg(writeCheck, markWrite); err != nil {
				return err
			}
		}
	}
	// Queries: marked after they ran (the builder makes their text) when
	// their text writes or locks.
	if cb.Query().Get(writeCheck) == nil {
		if err := cb.Query().After("gorm:query").Register(writeCheck, markQuery); err != nil {
			return err
		}
	}
	if cb.Row().Get(writeCheck) == nil {
		if err := cb.Row().After("gorm:row").Register(writeCheck, markQuery); err != nil {
			return err
		}
	}
	return nil
}

// markWrite marks the buffer of a statement that writes.
func markWrite(db *gorm.DB) {
	if buf := bufferOf(db); buf != nil {
		if err := buf.wrote(); err != nil {
			_ = db.AddError(err)
		}
	}
}

// markQuery marks the buffer of a query whose text writes or locks rows. A
// search's detached buffer is only marked: a query never fails for it.
func markQuery(db *gorm.DB) {
	if buf := bufferOf(db); buf != nil && !buf.detached && writes(db.Statement.SQL.String()) {
		buf.dirty = true
	}
}

// writes reports whether a statement's text may change the database or
// lock rows: it does not start as a read does, or it names a statement or
// clause that writes or locks. String literals and quoted names are not
// looked in. A read taken for a write costs only a rerun of its batch should
// it fail.
func writes(sql string) bool {
	first := true
	var prev string
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(sql[i+1:], c)
			if j < 0 {
				return first
			}
			i += j + 2
			continue
		case isWordByte(c):
			j := i
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			w := strings.ToUpper(sql[i:j])
			i = j
			if first {
				first = false
				switch w {
				case "SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN":
				default:
					return true
				}
			}
			switch {
			case w == "INSERT", w == "UPDATE", w == "DELETE", w == "MERGE", w == "TRUNCATE", w == "COPY", w == "CALL", w == "LOCK",
				w == "NEXTVAL", w == "SETVAL", w == "PG_NOTIFY", strings.HasPrefix(w, "PG_ADVISORY"), strings.HasPrefix(w, "PG_TRY_ADVISORY"):
				return true
			case w == "SHARE" && (prev == "FOR" || prev == "KEY"):
				return true
			}
			prev = w
			continue
		}
		i++
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
