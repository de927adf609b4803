package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestTheAuditTrailNamesPeopleAndFindsThemByEmailAndName: GET /audit gives
// each actor's name, email and organization's name beside the ids, and the
// name of a user or organization a target is the id of; an auditor finds
// entries by an email, by part of an organization's name and by a list of
// actions, while the filters by id keep working.
func TestTheAuditTrailNamesPeopleAndFindsThemByEmailAndName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	other := e.newAccount(usccs[2], "registrant")
	staff := e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "登记机构", "uscc": usccs[3], "kind": "registry"}))
	auditor := e.newUser(staff["id"].(string), usccs[3], "auditor")
	email := e.must(200, e.do("GET", "/me", bank.Token, nil))["user"].(map[string]any)["email"].(string)
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string)
	e.must(201, e.do("POST", "/registrations/"+reg+"/amendments", bank.Token, map[string]any{"description": "补充"}))
	e.problem(e.do("POST", "/registrations/"+reg+"/cancellation", other.Token, map[string]any{"reason": "debt_repaid"}), 403, "forbidden")

	actor := func(a map[string]any) map[string]any { return a["actor"].(map[string]any) }
	for _, tc := range []struct {
		name, query string
		check       func(map[string]any) bool
		atLeast     int
	}{
		{"by the actor's email, in any letter case, each named", "actor_email=" + url.QueryEscape(strings.ToUpper(email)), func(a map[string]any) bool {
			return actor(a)["user_id"] == bank.UserID && actor(a)["email"] == email && actor(a)["display_name"] == "Test User" &&
				actor(a)["organization_name"] == "Org "+usccs[0]
		}, 3},
		{"by part of the organization's name, in any letter case", "organization_name=" + url.QueryEscape("org "+usccs[2][:10]), func(a map[string]any) bool {
			return actor(a)["organization_id"] == other.OrgID && actor(a)["organization_name"] == "Org "+usccs[2]
		}, 2},
		{"by a list of actions", "action=registration.file&action=registration.amend", func(a map[string]any) bool {
			return a["action"] == "registration.file" || a["action"] == "registration.amend"
		}, 2},
		{"the email and an action together select that person's alone", "actor_email=" + url.QueryEscape(email) + "&action=registration.cancel", func(map[string]any) bool { return false }, 0},
		{"a target that is a user's id is named", "action=user.create&target=" + bank.UserID, func(a map[string]any) bool {
			return a["target_name"] == "Test User"
		}, 1},
		{"a target that is an organization's id is named", "action=organization.create&target=" + other.OrgID, func(a map[string]any) bool {
			return a["target_name"] == "Org "+usccs[2]
		}, 1},
		{"the filter by user id still works", "actor=" + bank.UserID, func(a map[string]any) bool { return actor(a)["email"] == email }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.auditPages(auditor.Token, tc.query, 2)
			if len(got) < tc.atLeast {
				t.Errorf("%d entries, want at least %d", len(got), tc.atLeast)
			}
			for _, a := range got {
				if !tc.check(a) {
					t.Errorf("entry does not match %s: %v", tc.query, a)
				}
			}
		})
	}
	t.Run("a list of actions selects each of them", func(t *testing.T) {
		var actions []string
		for _, a := range e.auditPages(auditor.Token, "action=registration.file&action=registration.amend&action=registration.cancel", 2) {
			if !slices.Contains(actions, a["action"].(string)) {
				actions = append(actions, a["action"].(string))
			}
		}
		slices.Sort(actions)
		if want := []string{"registration.amend", "registration.cancel", "registration.file"}; !slices.Equal(actions, want) {
			t.Errorf("actions %v, want %v", actions, want)
		}
	})
	t.Run("bad filters are named", func(t *testing.T) {
		for q, field := range map[string]string{
			"actor_email=" + strings.Repeat("a", 255):       "actor_email",
			"organization_name=" + strings.Repeat("名", 201): "organization_name",
			"action=" + strings.Repeat("a", 101):            "action",
		} {
			p := e.problem(e.do("GET", "/audit?"+q, auditor.Token, nil), 422, "invalid_field")
			if got := fieldErrors(p); len(got) != 1 || !strings.HasPrefix(got[0], field+" ") {
				t.Errorf("%s: %v", q[:20], got)
			}
		}
	})
}

// No text cell of the audit export begins with what a spreadsheet would run
// as a formula, a line feed before it included: a caller chooses targets
// (here a webhook id in the path), and an auditor opens the export.
func TestAuditExportDisarmsFormulasAfterALineFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.newAccount(usccs[0], "org_admin")
	for _, target := range []string{"\n=1+1", "\r=1+1", "\t=1+1", "=1+1", "\n\n@SUM(A1)"} {
		e.do("DELETE", "/webhooks/"+url.PathEscape(target), admin.Token, nil)
	}
	r := e.do("GET", "/audit/export", adminToken, nil)
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || r.Status != 200 {
		t.Fatalf("export: %d %v", r.Status, err)
	}
	seen := 0
	for _, row := range rows[1:] {
		for i, cell := range row[2:11] {
			if cell != "" && strings.ContainsRune("=+-@\t\r\n", rune(cell[0])) {
				t.Errorf("row %s, column %s begins with %q: %q", row[0], rows[0][i+2], cell[0], cell)
			}
		}
		if strings.Contains(row[6], "1+1") || strings.Contains(row[6], "SUM") {
			seen++
		}
	}
	if seen != 5 {
		t.Errorf("%d of the 5 targets are in the export", seen)
	}
}
