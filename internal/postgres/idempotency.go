package postgres

import (
	"context"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// ClaimIdempotencyKey records a new key, or returns what the request that
// first used it stored. A concurrent first use holds the key's row until it
// commits or rolls back; this waits for it.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, id, fingerprint []byte, at time.Time) (registry.IdempotentResponse, bool, error) {
	db := s.w(ctx)
	res := db.Exec("INSERT INTO idempotency_keys (id, fingerprint, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING", bytea(id), bytea(fingerprint), at)
	if res.Error != nil {
		return registry.IdempotentResponse{}, false, translate(res.Error)
	}
	if res.RowsAffected == 1 {
		return registry.IdempotentResponse{}, true, nil
	}
	var row struct {
		Fingerprint []byte
		Response    []byte
	}
	err := db.Raw("SELECT fingerprint, response FROM idempotency_keys WHERE id = ?", bytea(id)).Scan(&row).Error
	return registry.IdempotentResponse{Fingerprint: row.Fingerprint, Sealed: row.Response}, false, translate(err)
}

// SaveIdempotentResponse stores the sealed first answer under its key.
func (s *Store) SaveIdempotentResponse(ctx context.Context, id, sealed []byte) error {
	return translate(s.w(ctx).Exec("UPDATE idempotency_keys SET response = ? WHERE id = ?", bytea(sealed), bytea(id)).Error)
}
