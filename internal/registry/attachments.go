package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/auth"
)

// MaxAttachmentBytes is the largest attachment; maxAttachments is how many
// one registration may name.
const (
	MaxAttachmentBytes = 10 << 20
	maxAttachments     = 20
)

// Attachment is an uploaded file as a filing names it and the log records
// it: its content is certified by its SHA-256.
type Attachment struct {
	ID        string `json:"id"`
	SHA256    string `json:"sha256"`
	MediaType string `json:"media_type"`
	Size      int    `json:"size"`
}

// StoredAttachment is an attachment with its bytes and owner.
type StoredAttachment struct {
	Attachment
	OrganizationID string
	Data           []byte
	CreatedAt      time.Time
}

// AttachmentStore keeps the attachments.
type AttachmentStore interface {
	InsertAttachment(ctx context.Context, a StoredAttachment) error
	// Attachment returns one, bytes included; ErrNotFound when none.
	Attachment(ctx context.Context, id string) (StoredAttachment, error)
	// LockAttachments holds an organization's attachments until the
	// transaction ends (one upload at a time weighs against its quota)
	// and returns the bytes they hold.
	LockAttachments(ctx context.Context, organizationID string) (int64, error)
	// NameAttachment records that a filing names the attachment, which is
	// then kept for ever; ErrNotFound when it is gone.
	NameAttachment(ctx context.Context, id string) error
	// DeleteUnnamedAttachments deletes up to limit attachments uploaded
	// before before that nothing names, and says how many.
	DeleteUnnamedAttachments(ctx context.Context, before time.Time, limit int) (int, error)
}

// AttachmentTypes are the media types an attachment may have.
var AttachmentTypes = []string{"application/pdf", "image/png", "image/jpeg", "text/csv"}

// Attach stores a file for the caller's organization to name in its
// filings: PDF, PNG, JPEG or CSV, at most 10 MiB. mt is its type as its
// content tells it (the transport sniffs it: httpx.AttachmentType), never
// as its name or the client says.
func (s *Service) Attach(ctx context.Context, c Caller, data []byte, mt string) (Attachment, error) {
	if err := allow(c, auth.Attach); err != nil {
		return Attachment{}, err
	}
	switch {
	case len(data) == 0:
		return Attachment{}, Broke("file", RuleRequired, "is required: one PDF, PNG, JPEG or CSV file")
	case len(data) > MaxAttachmentBytes:
		return Attachment{}, BrokeMax("file", RuleTooLong, "must be at most 10 MiB", MaxAttachmentBytes)
	}
	if !slices.Contains(AttachmentTypes, mt) {
		return Attachment{}, Invalid("file", CodeInvalidField, "must be a PDF, PNG, JPEG or CSV file (its content says otherwise)")
	}
	if c.OrganizationID == "" {
		return Attachment{}, refused(ErrForbidden, "the operator's token belongs to no organization")
	}
	sum := sha256.Sum256(data)
	a := StoredAttachment{Attachment: Attachment{ID: uuid.Must(uuid.NewV7()).String(), SHA256: hex.EncodeToString(sum[:]), MediaType: mt, Size: len(data)},
		OrganizationID: c.OrganizationID, Data: data}
	err := s.administer(ctx, c, auth.Attach, &a.Attachment, func(tx Tx, at time.Time) (string, error) {
		// The check and the insert are one under the organization's lock:
		// two uploads at once cannot both take the last room.
		held, err := tx.LockAttachments(ctx, c.OrganizationID)
		if err != nil {
			return "", err
		}
		if held+int64(len(data)) > s.cfg.AttachmentsMaxBytes {
			return "", &Refusal{Kind: ErrQuotaExceeded, Detail: fmt.Sprintf(
				"the organization's attachments hold %d bytes of the %d it may hold (attachments.max_bytes): this file of %d bytes does not fit; uploads that no filing names are removed after %s",
				held, s.cfg.AttachmentsMaxBytes, len(data), s.cfg.AttachmentsUnnamedRetention)}
		}
		a.CreatedAt = at
		return a.ID, tx.InsertAttachment(ctx, a)
	})
	return a.Attachment, err
}

// RemoveUnnamedAttachments deletes the uploads that no filing or amendment
// names once they are older than cfg.AttachmentsUnnamedRetention, on one
// instance at a time, and says how many. One that is named is never
// removed, even while the filing naming it is being made.
func (s *Service) RemoveUnnamedAttachments(ctx context.Context) (removed int, err error) {
	_, err = s.store.Exclusive(ctx, "registry: remove unnamed attachments", func() error {
		before := s.clock().Add(-s.cfg.AttachmentsUnnamedRetention)
		for {
			n, err := s.store.DeleteUnnamedAttachments(ctx, before, 100)
			removed += n
			if err != nil || n < 100 {
				return err
			}
		}
	})
	return removed, err
}

// AttachmentFile returns an attachment's bytes, byte for byte, to any
// authenticated caller.
func (s *Service) AttachmentFile(ctx context.Context, c Caller, id string) (StoredAttachment, error) {
	if err := allow(c, auth.ReadAttachment); err != nil {
		return StoredAttachment{}, err
	}
	if !isUUID(id) {
		return StoredAttachment{}, ErrNotFound
	}
	return s.store.Attachment(ctx, id)
}

// attachments resolves the attachment ids a filing or amendment names
// under field: each must be the caller's organization's upload, named once,
// and not one the registration already has.
func (s *Service) attachments(ctx context.Context, tx Tx, c Caller, field string, ids []string, has []Attachment) ([]Attachment, error) {
	var p problems
	var out []Attachment
	seen := map[string]bool{}
	for _, a := range has {
		seen[a.ID] = true
	}
	if len(ids)+len(has) > maxAttachments {
		return nil, BrokeMax(field, RuleAtMost, fmt.Sprintf("a registration may name at most %d attachments", maxAttachments), maxAttachments)
	}
	base := field
	for i, id := range ids {
		field := fmt.Sprintf("%s[%d]", base, i)
		if seen[id] {
			p.broke(field, RuleRepeats, "names an attachment already named")
			continue
		}
		seen[id] = true
		if !isUUID(id) {
			p.add(field, CodeInvalidField, "is not an attachment's id")
			continue
		}
		a, err := tx.Attachment(ctx, id)
		if err == nil && a.OrganizationID == c.OrganizationID {
			// Named, it is kept for ever; gone meanwhile (unnamed past
			// its retention), it is as if it never was.
			err = tx.NameAttachment(ctx, id)
		}
		if err == ErrNotFound || (err == nil && a.OrganizationID != c.OrganizationID) {
			p.add(field, CodeInvalidField, "names no attachment of this organization's")
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a.Attachment)
	}
	return out, p.err()
}
