package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	pgdriver "gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/registry"
)

// TestDriverErrorsBecomeTheDomains: the store says in the domain's terms
// (registry.ErrStoreUnavailable, with the driver's error beside it) which
// errors mean that the database could not take the work, and leaves every
// other error as it is.
func TestDriverErrorsBecomeTheDomains(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return &pgconn.PgError{Code: code, Message: "sqlstate " + code} }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"a connection exception is unavailable", pg("08006"), true},
		{"a connection that could not be made is unavailable", pg("08001"), true},
		{"an admin shutdown is unavailable", pg("57P01"), true},
		{"a crash shutdown is unavailable", pg("57P02"), true},
		{"a server that cannot connect now is unavailable", pg("57P03"), true},
		{"too many connections is unavailable", pg("53300"), true},
		{"a read-only standby is unavailable", pg("25006"), true},
		{"a cancelled statement is unavailable", pg("57014"), true},
		{"a wrapped connection exception is unavailable", fmt.Errorf("read: %w", pg("08003")), true},
		{"a refused dial is unavailable", refused, true},
		{"a net error of any operation is unavailable", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("timeout")}, true},
		{"a bad connection is unavailable", fmt.Errorf("exec: %w", driver.ErrBadConn), true},
		{"an answer cut short is unavailable", io.ErrUnexpectedEOF, true},
		{"a reset connection is unavailable", syscall.ECONNRESET, true},
		{"a broken pipe is unavailable", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"a refused connection without its dial is unavailable", syscall.ECONNREFUSED, true},
		{"a statement that never reached the server is unavailable", safeToRetry{}, true},
		{"a unique key taken is not", pg("23505"), false},
		{"a serialization failure is not", pg("40001"), false},
		{"a syntax error is not", pg("42601"), false},
		{"an error of a statement that may have run is not", unsafeToRetry{}, false},
		{"a row not found is not", gorm.ErrRecordNotFound, false},
		{"a domain error is not", registry.ErrConflict, false},
		{"an ended context alone is the caller's, not the database's", context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if is := errors.Is(got, registry.ErrStoreUnavailable); is != tt.unavailable {
				t.Fatalf("classify(%v) = %v: ErrStoreUnavailable %v, want %v", tt.err, got, is, tt.unavailable)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) = %v lost its cause", tt.err, got)
			}
			if tt.unavailable && !registry.Unavailable(got) {
				t.Errorf("registry.Unavailable(%v) = false", got)
			}
			if again := classify(got); again != got {
				t.Errorf("classify twice = %v, want %v as it was", again, got)
			}
			if tt.unavailable {
				var p *pgconn.PgError
				if errors.As(tt.err, &p) && !errors.As(got, &p) {
					t.Errorf("classify(%v) hides the PostgreSQL error", tt.err)
				}
			}
		})
	}
}

// TestTheDialectorTranslatesThenClassifies: GORM's own translations (a
// unique key taken is gorm.ErrDuplicatedKey, which translate makes
// registry.ErrConflict) still happen, and a database that cannot take the
// work is the domain's.
func TestTheDialectorTranslatesThenClassifies(t *testing.T) {
	t.Parallel()
	d := dialector{&pgdriver.Dialector{Config: &pgdriver.Config{}}}
	if err := d.Translate(&pgconn.PgError{Code: "23505"}); !errors.Is(err, gorm.ErrDuplicatedKey) || !errors.Is(translate(err), registry.ErrConflict) {
		t.Errorf("a unique key taken: %v, translated %v", err, translate(err))
	}
	if err := d.Translate(&pgconn.PgError{Code: "57P01"}); !errors.Is(err, registry.ErrStoreUnavailable) {
		t.Errorf("an admin shutdown: %v, want ErrStoreUnavailable", err)
	}
}

// safeToRetry is pgconn's kind of error of a statement that never reached
// the server.
type safeToRetry struct{}

func (safeToRetry) Error() string     { return "conn closed" }
func (safeToRetry) SafeToRetry() bool { return true }

// unsafeToRetry is one that may have reached it.
type unsafeToRetry struct{}

func (unsafeToRetry) Error() string     { return "conn lost after the statement was sent" }
func (unsafeToRetry) SafeToRetry() bool { return false }
