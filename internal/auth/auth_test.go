package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPermissionTable(t *testing.T) {
	tests := []struct {
		name   string
		roles  []Role
		action Action
		want   bool
	}{
		{"a registrant files", []Role{Registrant}, FileRegistration, true},
		{"a searcher does not file", []Role{Searcher}, FileRegistration, false},
		{"an admin does not file", []Role{Admin}, FileRegistration, false},
		{"an auditor does not cancel", []Role{Auditor}, CancelRegistration, false},
		{"a searcher searches", []Role{Searcher}, Search, true},
		{"a registrant alone does not search", []Role{Registrant}, Search, false},
		{"an auditor reads stored searches", []Role{Auditor}, ReadSearch, true},
		{"anyone reads their own account", []Role{Searcher}, ReadMe, true},
		{"an org_admin creates users", []Role{OrgAdmin}, CreateUser, true},
		{"an org_admin does not create organizations", []Role{OrgAdmin}, CreateOrganization, false},
		{"no roles, no actions", nil, ReadRegistration, true},
		{"an admin approves organizations", []Role{Admin}, ApproveOrganization, true},
		{"an org_admin does not approve organizations", []Role{OrgAdmin}, ApproveOrganization, false},
		{"an auditor lists organizations", []Role{Auditor}, ListOrganizations, true},
		{"an auditor does not suspend users", []Role{Auditor}, SuspendUser, false},
		{"sign-up needs no role", nil, SignUp, true},
		{"an unknown action is refused", []Role{Admin, Registrant, Searcher, Auditor, OrgAdmin}, Action("registration.delete"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Principal{Roles: tt.roles}).Can(tt.action); got != tt.want {
				t.Errorf("Can(%s) = %v, want %v", tt.action, got, tt.want)
			}
		})
	}
}

func TestPermissionBeyondOwn(t *testing.T) {
	tests := []struct {
		name   string
		roles  []Role
		action Action
		want   bool
	}{
		{"a searcher reads anyone's registration", []Role{Searcher}, ReadRegistration, true},
		{"an org_admin alone reads only its own", []Role{OrgAdmin}, ReadRegistration, false},
		{"a registrant alone reads only its own", []Role{Registrant}, ReadRegistration, false},
		{"no roles, only one's own", nil, ReadRegistration, false},
		{"an action without a rule beyond one's own is as the table says", []Role{Registrant}, FileRegistration, true},
		{"and refused where the table refuses", []Role{Searcher}, FileRegistration, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Principal{Roles: tt.roles}).CanBeyondOwn(tt.action); got != tt.want {
				t.Errorf("CanBeyondOwn(%s) = %v, want %v", tt.action, got, tt.want)
			}
		})
	}
	if got := RolesBeyondOwn(ReadRegistration); len(got) != 1 || got[0] != Searcher {
		t.Errorf("RolesBeyondOwn(registration.read) = %v, want [searcher]", got)
	}
}

func TestPasswords(t *testing.T) {
	h := HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id in PHC form", h)
	}
	if h2 := HashPassword("correct horse battery"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		if ok, err := CheckPassword(pw, h); err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if _, err := CheckPassword("x", "$2a$10$bcrypt"); err == nil {
		t.Error("a non-argon2id hash is accepted")
	}
}

func TestSecrets(t *testing.T) {
	s, h := NewSecret("rgt_")
	if !strings.HasPrefix(s, "rgt_") || len(s) != 4+43 {
		t.Errorf("secret %q: want rgt_ and 43 base64url characters (256 bits)", s)
	}
	if !SameSecret(s, h) || SameSecret(s+"x", h) {
		t.Error("SameSecret does not tell the secret from another")
	}
	if s2, _ := NewSecret("rgt_"); s2 == s {
		t.Error("two secrets are equal")
	}
}

func TestBackoff(t *testing.T) {
	b := &Backoff{Free: 3, Base: time.Second, Max: 8 * time.Second}
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	now := t0
	for i := 1; i <= 3; i++ {
		b.Fail("k", now)
		if w := b.Wait("k", now); w != 0 {
			t.Fatalf("after %d failures (free 3): wait %v", i, w)
		}
	}
	// The 4th failure costs 1 s, the 5th 2 s, then 4 s, then 8 s and no more.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		b.Fail("k", now)
		if w := b.Wait("k", now); w != want {
			t.Errorf("after %d failures: wait %v, want %v", 4+i, w, want)
		}
		if w := b.Wait("k", now.Add(want-time.Nanosecond)); w != time.Nanosecond {
			t.Errorf("after %d failures, 1 ns before the end: wait %v", 4+i, w)
		}
		if w := b.Wait("other", now); w != 0 {
			t.Errorf("another key waits %v", w)
		}
		now = now.Add(want)
	}
	b.Clear("k")
	b.Fail("k", now)
	if w := b.Wait("k", now); w != 0 {
		t.Errorf("after Clear and one failure: wait %v", w)
	}
	// A key quiet for longer than Max starts again.
	for range 5 {
		b.Fail("q", t0)
	}
	b.Fail("q", t0.Add(9*time.Second))
	if w := b.Wait("q", t0.Add(9*time.Second)); w != 0 {
		t.Errorf("a key quiet for longer than Max still waits %v", w)
	}
}

func TestAddressKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"2001:db8:1:2::1":         "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:1:2:3": "2001:db8:1:2::/64",
		"::ffff:192.0.2.7":        "::ffff:192.0.2.7",
		"not an address":          "not an address",
		"fe80::1%eth0":            "fe80::/64",
	} {
		if got := AddressKey(addr); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

// An individual's account holds no registrant role, yet objects as the
// person it is; it files nothing.
func TestAnIndividualObjectsWithoutRegistrant(t *testing.T) {
	person := Principal{OrganizationID: "o", OrganizationIDNumber: "11010519491231002X", Roles: []Role{OrgAdmin, Searcher}}
	for _, a := range []Action{FileObjection, WithdrawObjection, SubmitCaseNotice, Search} {
		if !person.Can(a) {
			t.Errorf("an individual's user may not %s", a)
		}
	}
	for _, a := range []Action{FileRegistration, AmendRegistration, CancelRegistration, ExtendRegistration, CreateDraft, Attach} {
		if person.Can(a) {
			t.Errorf("an individual's user may %s", a)
		}
	}
	if (Principal{OrganizationID: "o", OrganizationUSCC: "91310000132209458L", Roles: []Role{Searcher}}).Can(FileObjection) {
		t.Error("an organization's searcher may file an objection")
	}
}
