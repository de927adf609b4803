package postgres

import (
	"context"

	"github.com/movable-registry/registry/internal/registry"
)

// Document returns a kept PDF certificate (certpdf.Keeper).
func (s *Store) Document(ctx context.Context, number, lang, edition string) ([]byte, error) {
	return readOn(s, ctx, -1, func(v *Store) ([]byte, error) { return v.document(ctx, number, lang, edition) })
}

// document is Document on s.
func (s *Store) document(ctx context.Context, number, lang, edition string) ([]byte, error) {
	var row struct{ Body []byte }
	res := s.q(ctx).Raw("SELECT body FROM certificate_documents WHERE number = ? AND lang = ? AND edition = ?", number, lang, edition).Scan(&row)
	if res.Error == nil && res.RowsAffected == 0 {
		return nil, registry.ErrNotFound
	}
	return row.Body, translate(res.Error)
}

// KeepDocument keeps a PDF certificate unless one is kept under its key
// already, and returns the one kept, on the primary: of two made at once,
// both are answered with the first.
func (s *Store) KeepDocument(ctx context.Context, number, lang, edition string, pdf []byte) ([]byte, error) {
	if err := s.w(ctx).Exec("INSERT INTO certificate_documents (number, lang, edition, body) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
		number, lang, edition, bytea(pdf)).Error; err != nil {
		return nil, translate(err)
	}
	return s.document(ctx, number, lang, edition)
}
