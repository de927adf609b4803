package postgres

import (
	"context"

	"github.com/movable-registry/registry/internal/registry"
)

// ExecThroughRead runs a statement through tx's handle for reads (q), as a
// careless write might.
func ExecThroughRead(ctx context.Context, tx registry.Tx, sql string, args ...any) error {
	return tx.(*Store).q(ctx).Exec(sql, args...).Error
}
