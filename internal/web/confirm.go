package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// An irreversible change (a cancellation, a new modification code, a
// revocation, an objection's withdrawal) is made in two steps, without
// script: its form posts to a page that says what will happen and what
// cannot be undone, and only that page's button, which posts the same form
// with confirm=1, makes the change. A click on the first button changes
// nothing.

// confirmPage is the page between an irreversible change's form and the
// change.
type confirmPage struct {
	// What names the change: cancel, rotate, revoke, withdraw.
	What string
	// Action is the address the confirmed form posts to.
	Action string
	// Fields are the form's values, posted again as they were sent.
	Fields []confirmField
	Reg    registry.Registration
	// Objection is the objection the change concerns, if any.
	Objection string
	// Reason is a cancellation's reason, one of the register's.
	Reason string
}

type confirmField struct{ Name, Value string }

// confirmed reports whether the form was sent from its confirmation page.
// If not, it shows that page (to those who may make the change; others are
// refused as the change would refuse them) and the handler stops.
func (s *site) confirmed(w http.ResponseWriter, r *http.Request, c *call, what string, action auth.Action) (bool, error) {
	if r.PostFormValue("confirm") == "1" {
		return true, nil
	}
	number := r.PathValue("number")
	c.audited(action, number)
	if !c.caller.Can(action) {
		return false, registry.Forbidden(c.caller.Principal, action)
	}
	reg, err := s.svc.Registration(c.ctx(), c.caller, number)
	if err != nil {
		return false, err
	}
	if what == "cancel" && reg.Status != registry.StatusEffective {
		// Nothing to confirm: the page says so, and offers the
		// registration as it is now.
		return false, registry.ErrNotEffective
	}
	data := confirmPage{What: what, Action: r.URL.Path, Reg: reg, Objection: r.PathValue("objection")}
	for _, name := range slices.Sorted(maps.Keys(r.PostForm)) {
		if name == "csrf" || name == "confirm" {
			continue
		}
		for _, v := range r.PostForm[name] {
			data.Fields = append(data.Fields, confirmField{name, v})
		}
	}
	if reason := r.PostFormValue("reason"); slices.Contains(registry.CancellationReasons, reason) {
		data.Reason = reason
	}
	if data.Objection == "" {
		data.Objection = r.PostFormValue("objection")
	}
	s.renderForm(w, c, http.StatusOK, "confirm", data, url.Values(r.PostForm), nil)
	return false, nil
}
