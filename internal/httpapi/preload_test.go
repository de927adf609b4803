package httpapi_test

import (
	"context"
	"fmt"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// preload files n registrations controlled by a's organization straight
// into the register with COPY (postgres.Bulk), each as File would have
// filed it, and returns their numbers in order: thousands in a second or
// two, where the API would take a minute. The register's log must be
// empty (accounts may exist).
func (e *env) preload(a account, n int) []string {
	e.t.Helper()
	ctx := context.Background()
	bulk, err := postgres.OpenBulk(ctx, e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	defer bulk.Close(ctx)
	c := registry.Caller{Principal: auth.Principal{UserID: a.UserID, OrganizationID: a.OrgID, OrganizationUSCC: a.OrgUSCC,
		Roles: []auth.Role{auth.Registrant}}, Source: "test preload"}
	org := registry.Organization{ID: a.OrgID, USCC: a.OrgUSCC}
	numbers := make([]string, 0, n)
	for lo := 0; lo < n; lo += 5000 {
		var filed []postgres.Filed
		for i := lo; i < min(lo+5000, n); i++ {
			f := registry.Filing{
				Kind:              "chattel_mortgage",
				Grantors:          []registry.Party{{Type: "organization", Name: grantorName, USCC: usccs[1], Address: "上海市浦东新区张江路1号", LegalRepresentative: "王建国"}},
				SecuredParties:    []registry.Party{{Type: "organization", Name: "Org " + a.OrgUSCC, USCC: a.OrgUSCC, Address: "上海市黄浦区中山东一路1号", LegalRepresentative: "李明"}},
				AgreedWithGrantor: true,
				Collateral: registry.CollateralInput{Description: fmt.Sprintf("Machine tools, lot %d", i),
					Items: []registry.ItemInput{{Type: "equipment", SerialNumber: fmt.Sprintf("PRE-%06d", i)}}},
				PeriodMonths: 36,
			}
			w, err := e.svc.PrepareFiling(c, org, f, bulk.Stamp(e.clock.Now(), registry.StampEvent))
			if err != nil {
				e.t.Fatal(err)
			}
			filed = append(filed, postgres.Filed{Written: w, CodeHash: auth.HashSecret(fmt.Sprint("code", i, time.Now().UnixNano()))})
			numbers = append(numbers, w.Head.Number)
		}
		if err := bulk.Load(ctx, filed); err != nil {
			e.t.Fatal(err)
		}
	}
	return numbers
}
