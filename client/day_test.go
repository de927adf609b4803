package client_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/movable-registry/registry/client"
	"github.com/movable-registry/registry/internal/registrytest"
)

const adminToken = registrytest.AdminToken

// TestABanksDay runs the package's example against the real router on a
// fresh database: the operator makes a bank and its clerk with the typed
// client, and the clerk's day (sign in, file, amend under If-Match, search
// and page, certificate, cancel) goes through as the example shows it.
func TestABanksDay(t *testing.T) {
	t.Parallel()
	srv := registrytest.New(t).Serve(t)
	ctx := context.Background()

	password := bankAndClerk(t, ctx, srv.URL, "clerk@bank.example")

	// The example prints as it goes; what it prints is the day's record.
	var out bytes.Buffer
	if err := bankDay(ctx, &out, srv.URL, "clerk@bank.example", password, "SN-2026-0001"); err != nil {
		t.Fatalf("the day stopped: %v\n%s", err, out.String())
	}
	for _, want := range []string{"filed ", " true\n", "found 1\n", "certificate ", "chattel_mortgage true", "cancelled true"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the day's record lacks %q:\n%s", want, out.String())
		}
	}
}

// bankAndClerk makes, as the operator through the typed client, a bank and
// its clerk (a registrant and searcher) with email, and returns the clerk's
// password.
func bankAndClerk(t *testing.T, ctx context.Context, url, email string) string {
	t.Helper()
	op, err := client.New(url, adminToken)
	if err != nil {
		t.Fatal(err)
	}
	org, err := op.CreateOrganizationWithResponse(ctx, nil, client.NewOrganization{
		Kind: client.NewOrganizationKindFinancialInstitution, Name: "示例银行上海分行", Uscc: "91310000132209458L",
	})
	if err != nil || org.JSON201 == nil {
		t.Fatalf("POST /organizations: %v %s", err, org.Body)
	}
	password := "a long enough password"
	user, err := op.CreateUserWithResponse(ctx, nil, client.NewUser{
		OrganizationId: org.JSON201.Id, Email: openapi_types.Email(email), DisplayName: "柜员",
		Roles: []client.Role{client.RoleRegistrant, client.RoleSearcher}, Password: &password,
	})
	if err != nil || user.JSON201 == nil {
		t.Fatalf("POST /users: %v %s", err, user.Body)
	}
	return password
}
