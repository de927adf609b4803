package postgres

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	pgdriver "gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/registry"
)

// unavailable reports whether err means that the database could not be
// reached or would not take the work just now: a connection refused, reset
// or lost mid-answer, a server shutting down, starting or in recovery, too
// many connections, a standby that refuses writes (a failover under way), or
// a statement cancelled (the statement timeout, or the cancel request sent
// when its context ended). Such a statement changed nothing the caller was
// told of, and the request may be sent again.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch code := pg.Code; {
		case strings.HasPrefix(code, "08"), // connection exception
			code == "57P01", code == "57P02", code == "57P03", // admin or crash shutdown, cannot connect now
			code == "53300", // too many connections
			code == "25006", // read-only transaction: a standby
			code == "57014": // canceled: the statement timeout or the request's deadline
			return true
		}
		return false
	}
	// pgconn's errors that say the statement never reached the server (a
	// closed or busy connection).
	var retry interface{ SafeToRetry() bool }
	if errors.As(err, &retry) && retry.SafeToRetry() {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// classify gives an error of the database that could not take the work the
// domain's meaning, registry.ErrStoreUnavailable, beside its cause; any other
// error is returned as it is. It is idempotent, so that an error may cross
// it more than once on its way out of the store.
func classify(err error) error {
	if err == nil || errors.Is(err, registry.ErrStoreUnavailable) || !unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", registry.ErrStoreUnavailable, err)
}

// dialector is PostgreSQL's GORM dialector whose error translation also
// classifies (GORM calls Translate on every error a statement, a BEGIN or
// a COMMIT adds): every error that leaves a GORM handle of the store is in
// the domain's terms.
type dialector struct{ *pgdriver.Dialector }

// Translate is the driver's translation (unique keys and the like), then
// classify.
func (d dialector) Translate(err error) error { return classify(d.Dialector.Translate(err)) }

var _ gorm.ErrorTranslator = dialector{}
