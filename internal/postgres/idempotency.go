package postgres

import (
	"bytes"
	"context"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// ClaimIdempotencyKey records a new key, or returns what the request that
// first used it stored. A concurrent first use holds the key's row until it
// commits or rolls back; this waits for it. A key first used before
// notBefore has expired, and is replaced.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, id, fingerprint []byte, at, notBefore time.Time) (registry.IdempotentResponse, bool, error) {
	if s.buf != nil && s.buf.shared {
		// In a batch, a claim only reads: the key is written with the
		// write's other rows, so that a replay or a refusal leaves nothing
		// to undo and never spoils the batch.
		var rows []struct {
			Fingerprint []byte
			Response    []byte
		}
		if err := s.q(ctx).Raw("SELECT fingerprint, response FROM idempotency_keys WHERE id = ? AND created_at >= ?", bytea(id), notBefore).Scan(&rows).Error; err != nil {
			return registry.IdempotentResponse{}, false, translate(err)
		}
		if len(rows) == 1 {
			return registry.IdempotentResponse{Fingerprint: rows[0].Fingerprint, Sealed: rows[0].Response}, false, nil
		}
		s.buf.keys = append(s.buf.keys, keyRow{ID: id, Fingerprint: fingerprint, CreatedAt: at, NotBefore: notBefore})
		return registry.IdempotentResponse{}, true, nil
	}
	db := s.w(ctx)
	if err := db.Exec("DELETE FROM idempotency_keys WHERE id = ? AND created_at < ?", bytea(id), notBefore).Error; err != nil {
		return registry.IdempotentResponse{}, false, translate(err)
	}
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
	if s.buf != nil && s.buf.shared {
		for i := range s.buf.keys {
			if bytes.Equal(s.buf.keys[i].ID, id) {
				s.buf.keys[i].Response = sealed
				return nil
			}
		}
	}
	return translate(s.w(ctx).Exec("UPDATE idempotency_keys SET response = ? WHERE id = ?", bytea(sealed), bytea(id)).Error)
}

// PurgeIdempotencyKeys deletes up to limit keys first used before before,
// with their sealed answers.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int, error) {
	res := s.w(ctx).Exec(`DELETE FROM idempotency_keys WHERE id IN (
		SELECT id FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)`, before, limit)
	return int(res.RowsAffected), translate(res.Error)
}
