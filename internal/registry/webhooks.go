package registry

import (
	"context"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/auth"
)

// A webhook is an organization's address for its notices, called with each
// notice signed with the webhook's secret (delivery: not yet built).

// MaxWebhooks is how many webhooks an organization may keep.
const MaxWebhooks = 10

// Webhook is an organization's notice address.
type Webhook struct {
	ID             string `json:"id"`
	URL            string `json:"url"`
	CreatedAt      Time   `json:"created_at"`
	OrganizationID string `json:"-"`
	Secret         string `json:"-"`
}

// WebhookRequest is POST /webhooks.
type WebhookRequest struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// Delivery is one notice to deliver to one webhook, or by email to one
// user.
type Delivery struct {
	NotificationID int64
	WebhookID      string
	UserID         string
}

// DeliveryAttempt is one try at a delivery, as its log shows it.
type DeliveryAttempt struct {
	NotificationID string `json:"notification_id"`
	Attempt        int    `json:"attempt"`
	At             Time   `json:"at"`
	StatusCode     int    `json:"status_code,omitempty"`
	Error          string `json:"error,omitempty"`
	WebhookID      string `json:"-"`
	// ID orders a webhook's attempts (the list's cursor).
	ID int64 `json:"-"`
}

// WebhookStore keeps the webhooks.
type WebhookStore interface {
	// InsertWebhook stores a webhook: ErrWebhookLimit at MaxWebhooks.
	InsertWebhook(ctx context.Context, w Webhook) error
	Webhooks(ctx context.Context, organizationID, after string, limit int) ([]Webhook, error)
	DeleteWebhook(ctx context.Context, organizationID, id string) error
}

// ErrWebhookLimit refuses a webhook beyond MaxWebhooks.
var ErrWebhookLimit = refused(ErrConflict, "the organization already keeps the most webhooks allowed (10)")

// CreateWebhook registers an address for the caller's organization's
// notices, once the address is one the registry may call.
func (s *Service) CreateWebhook(ctx context.Context, c Caller, req WebhookRequest) (Webhook, error) {
	if err := allow(c, auth.CreateWebhook); err != nil {
		return Webhook{}, err
	}
	var p problems
	if req.URL == "" {
		p.broke("url", RuleRequired, "is required")
	} else if len(req.URL) > 2048 || !utf8.ValidString(req.URL) {
		p.brokeMax("url", RuleTooLong, "must be at most 2048 bytes of UTF-8", 2048)
	}
	switch n := len(req.Secret); {
	case n == 0:
		p.broke("secret", RuleRequired, "is required: deliveries are signed with it")
	case n < 16 || n > 256:
		p.add("secret", CodeInvalidField, "must have 16 to 256 characters")
	}
	if err := p.err(); err != nil {
		return Webhook{}, err
	}
	if s.cfg.CheckWebhookURL == nil {
		return Webhook{}, Invalid("url", CodeInvalidField, "this registry calls no webhooks")
	}
	if err := s.cfg.CheckWebhookURL(ctx, req.URL); err != nil {
		return Webhook{}, Invalid("url", CodeInvalidField, err.Error())
	}
	if c.OrganizationID == "" {
		return Webhook{}, refused(ErrForbidden, "the operator's token belongs to no organization")
	}
	w := Webhook{ID: uuid.Must(uuid.NewV7()).String(), URL: req.URL, Secret: req.Secret, OrganizationID: c.OrganizationID}
	err := s.administer(ctx, c, auth.CreateWebhook, &w, func(tx Tx, at time.Time) (string, error) {
		w.CreatedAt = At(at)
		return w.ID, tx.InsertWebhook(ctx, w)
	})
	return w, err
}

// Webhooks lists the caller's organization's webhooks, oldest first.
func (s *Service) Webhooks(ctx context.Context, c Caller, limit, cursor string) (Page[Webhook], error) {
	if err := allow(c, auth.ListWebhooks); err != nil {
		return Page[Webhook]{}, err
	}
	var p problems
	n, after := readPage(&p, limit, cursor, isUUID)
	if err := p.err(); err != nil {
		return Page[Webhook]{}, err
	}
	if c.OrganizationID == "" {
		return Page[Webhook]{Items: []Webhook{}}, nil
	}
	ws, err := s.store.Webhooks(ctx, c.OrganizationID, after, n+1)
	if err != nil {
		return Page[Webhook]{}, err
	}
	return pageOf(ws, n, func(w Webhook) string { return w.ID }), nil
}

// DeleteWebhook removes one of the caller's organization's webhooks.
func (s *Service) DeleteWebhook(ctx context.Context, c Caller, id string) error {
	if err := allow(c, auth.DeleteWebhook); err != nil {
		return err
	}
	if !isUUID(id) || c.OrganizationID == "" {
		return ErrNotFound
	}
	return s.administer(ctx, c, auth.DeleteWebhook, &struct{}{}, func(tx Tx, _ time.Time) (string, error) {
		return id, tx.DeleteWebhook(ctx, c.OrganizationID, id)
	})
}

// DeliveryStore reads the deliveries' log.
type DeliveryStore interface {
	// Deliveries returns a webhook's attempts, newest first, before the
	// attempt before (0: the newest).
	Deliveries(ctx context.Context, organizationID, webhookID string, before int64, limit int) ([]DeliveryAttempt, error)
}

// Deliveries lists the attempts at delivering to one of the caller's
// organization's webhooks, newest first.
func (s *Service) Deliveries(ctx context.Context, c Caller, webhookID, limit, cursor string) (Page[DeliveryAttempt], error) {
	if err := allow(c, auth.ListWebhooks); err != nil {
		return Page[DeliveryAttempt]{}, err
	}
	if !isUUID(webhookID) || c.OrganizationID == "" {
		return Page[DeliveryAttempt]{}, ErrNotFound
	}
	var p problems
	n, before := readPage(&p, limit, cursor, isSerial)
	if err := p.err(); err != nil {
		return Page[DeliveryAttempt]{}, err
	}
	b, _ := strconv.ParseInt(before, 10, 64)
	attempts, err := s.store.Deliveries(ctx, c.OrganizationID, webhookID, b, n+1)
	if err != nil {
		return Page[DeliveryAttempt]{}, err
	}
	return pageOf(attempts, n, func(a DeliveryAttempt) string { return strconv.FormatInt(a.ID, 10) }), nil
}
