package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// noticesPage is the organization's notices in one list, newest first, the
// unread marked and counted above it. (A list of the unread above a list of
// all showed each unread notice twice.)
type noticesPage struct {
	First bool
	// Unread are the unread notices (the first hundred), for their count.
	Unread []registry.Notice
	All    registry.Page[registry.Notice]
	Next   string
}

// notices handles GET /notices.
func (s *site) notices(w http.ResponseWriter, r *http.Request, c *call) error {
	cursor := r.URL.Query().Get("cursor")
	c.audited(auth.ReadNotices, "")
	var data noticesPage
	if data.First = cursor == ""; data.First {
		unread, err := s.svc.Notices(c.ctx(), c.caller, registry.NoticesRequest{Unread: "true", Limit: "100"})
		if err != nil {
			return err
		}
		data.Unread = unread.Items
	}
	all, err := s.svc.Notices(c.ctx(), c.caller, registry.NoticesRequest{Cursor: cursor})
	if err != nil {
		return err
	}
	data.All, data.Next = all, nextPage("/notices", nil, all.NextCursor)
	s.render(w, c, http.StatusOK, "notices", data)
	return nil
}

// readNotice handles POST /notices/{id}/read.
func (s *site) readNotice(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.audited(auth.MarkNoticeRead, id)
	if err := s.svc.MarkNoticeRead(c.ctx(), c.caller, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/notices?done=notice_read", http.StatusSeeOther)
	return nil
}

// watchKinds are the keys a watch may name, in the form's order.
var watchKinds = []string{"uscc", "grantor_name", "serial_number", "lei"}

type watchesPage struct {
	Kinds []string
	Page  registry.Page[registry.Watch]
	Next  string
}

func (s *site) watchList(c *call, cursor string) (watchesPage, error) {
	c.audited(auth.ListWatches, "")
	page, err := s.svc.Watches(c.ctx(), c.caller, "", cursor)
	if err != nil {
		return watchesPage{}, err
	}
	return watchesPage{Kinds: watchKinds, Page: page, Next: nextPage("/watches", nil, page.NextCursor)}, nil
}

// watches handles GET /watches: the organization's watches and a form for
// a new one.
func (s *site) watches(w http.ResponseWriter, r *http.Request, c *call) error {
	data, err := s.watchList(c, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	s.renderForm(w, c, http.StatusOK, "watches", data, url.Values{"kind": {"uscc"}}, nil)
	return nil
}

// createWatch handles POST /watches.
func (s *site) createWatch(w http.ResponseWriter, r *http.Request, c *call) error {
	f := r.PostForm
	kind, key := f.Get("kind"), strings.TrimSpace(f.Get("key"))
	req := registry.WatchRequest{Note: strings.TrimSpace(f.Get("note"))}
	switch kind {
	case "uscc":
		req.Criteria.USCC = key
	case "grantor_name":
		req.Criteria.GrantorName = key
	case "serial_number":
		req.Criteria.SerialNumber = key
	case "lei":
		req.Criteria.LEI = key
	}
	form := url.Values{"kind": {kind}, "key": {key}, "note": {req.Note}}
	c.audited(auth.CreateWatch, "")
	var err error
	if slices.Contains(watchKinds, kind) {
		_, err = s.svc.CreateWatch(c.ctx(), c.caller, req)
	} else {
		err = registry.Broke("kind", registry.RuleRequired, "is required")
	}
	if err != nil {
		data, lerr := s.watchList(c, "")
		if lerr != nil {
			return err
		}
		c.audited(auth.CreateWatch, "")
		return s.formFailed(w, c, "watches", data, form, "watch.", err)
	}
	http.Redirect(w, r, "/watches?done=watch_created", http.StatusSeeOther)
	return nil
}

// deleteWatch handles POST /watches/{id}/deletion.
func (s *site) deleteWatch(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.audited(auth.DeleteWatch, id)
	if err := s.svc.DeleteWatch(c.ctx(), c.caller, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/watches?done=watch_deleted", http.StatusSeeOther)
	return nil
}

type webhooksPage struct {
	Page registry.Page[registry.Webhook]
	Next string
}

func (s *site) webhookList(c *call, cursor string) (webhooksPage, error) {
	c.audited(auth.ListWebhooks, "")
	page, err := s.svc.Webhooks(c.ctx(), c.caller, "", cursor)
	if err != nil {
		return webhooksPage{}, err
	}
	return webhooksPage{Page: page, Next: nextPage("/webhooks", nil, page.NextCursor)}, nil
}

// webhooks handles GET /webhooks: the organization's webhooks and a form
// for a new one (its org_admin's).
func (s *site) webhooks(w http.ResponseWriter, r *http.Request, c *call) error {
	data, err := s.webhookList(c, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	s.render(w, c, http.StatusOK, "webhooks", data)
	return nil
}

// createWebhook handles POST /webhooks.
func (s *site) createWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	req := registry.WebhookRequest{URL: strings.TrimSpace(r.PostFormValue("url")), Secret: r.PostFormValue("secret")}
	c.audited(auth.CreateWebhook, "")
	if _, err := s.svc.CreateWebhook(c.ctx(), c.caller, req); err != nil {
		data, lerr := s.webhookList(c, "")
		if lerr != nil {
			return err
		}
		c.audited(auth.CreateWebhook, "")
		return s.formFailed(w, c, "webhooks", data, url.Values{"url": {req.URL}}, "webhook.", err)
	}
	http.Redirect(w, r, "/webhooks?done=webhook_created", http.StatusSeeOther)
	return nil
}

// deleteWebhook handles POST /webhooks/{id}/deletion.
func (s *site) deleteWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.audited(auth.DeleteWebhook, id)
	if err := s.svc.DeleteWebhook(c.ctx(), c.caller, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/webhooks?done=webhook_deleted", http.StatusSeeOther)
	return nil
}

type deliveriesPage struct {
	WebhookID string
	Page      registry.Page[registry.DeliveryAttempt]
	Next      string
}

// deliveries handles GET /webhooks/{id}/deliveries: every attempt, newest
// first.
func (s *site) deliveries(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.audited(auth.ListWebhooks, id)
	page, err := s.svc.Deliveries(c.ctx(), c.caller, id, "", r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	s.render(w, c, http.StatusOK, "deliveries", deliveriesPage{WebhookID: id, Page: page, Next: nextPage("/webhooks/"+url.PathEscape(id)+"/deliveries", nil, page.NextCursor)})
	return nil
}
