package registry_test

import (
	"errors"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// PrepareFiling, which a bulk loader uses in place of File, makes File's
// checks: the permission, the organization, the filing.
func TestPrepareFilingChecksAsFileDoes(t *testing.T) {
	svc := registry.NewService(nil, time.Now, registry.Config{})
	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	st := registry.Stamp{Number: registry.FormatNumber(at, 1), At: at, LogIndex: 0, LogSize: 1}
	org := registry.Organization{ID: "0190f1c4-3c44-7d1e-8000-000000000002", USCC: "91310000132209458L"}
	caller := func(roles ...auth.Role) registry.Caller {
		return registry.Caller{Principal: auth.Principal{UserID: "0190f1c4-3c44-7d1e-8000-000000000001", OrganizationID: org.ID, Roles: roles}}
	}
	if _, err := svc.PrepareFiling(caller(auth.Searcher), org, benchFiling(), st); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("a searcher: %v, want forbidden", err)
	}
	other := org
	other.ID = "0190f1c4-3c44-7d1e-8000-000000000003"
	if _, err := svc.PrepareFiling(caller(auth.Registrant), other, benchFiling(), st); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("for another organization: %v, want forbidden", err)
	}
	bad := benchFiling()
	bad.PeriodMonths = 0
	var v *registry.ValidationError
	if _, err := svc.PrepareFiling(caller(auth.Registrant), org, bad, st); !errors.As(err, &v) {
		t.Errorf("an invalid filing: %v, want a validation error", err)
	}
	if w, err := svc.PrepareFiling(caller(auth.Registrant), org, benchFiling(), st); err != nil || w.Event.Number != st.Number {
		t.Errorf("a good filing: %v, %+v", err, w.Event)
	}
}
