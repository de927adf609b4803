package httpapi_test

import (
	"testing"
)

// TestReadingTheRegisterIsSearchingIt: registration numbers are computable,
// so reading a registration by number is a search of the register. A
// registration's parties (grantor, secured party, by USCC), its controller
// and the registry's staff read it, and its certificate, with any roles;
// anyone else needs the searcher role (else 403, audited as denied), and
// each read of theirs, a registration's number or an amendment's, is
// audited as registration.read with outcome success.
func TestReadingTheRegisterIsSearchingIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The filing names usccs[1] as grantor and usccs[0] as secured party;
	// an agent (usccs[6]) files it and controls it.
	agent := e.newAccount(usccs[6], "registrant")
	reg := e.must(201, e.do("POST", "/registrations", agent.Token, filing(grantorName, usccs[1])))
	number := reg["number"].(string)
	amendment := e.must(201, e.do("POST", "/registrations/"+number+"/amendments", agent.Token, map[string]any{"description": "补充: 另有备件一批"}))
	amendmentNumber := list(amendment["history"])[1].(map[string]any)["number"].(string)

	accounts := map[string]account{
		"controller's org_admin": e.newUser(agent.OrgID, usccs[6], "org_admin"),
		"grantor's org_admin":    e.newAccount(usccs[1], "org_admin"),
		"secured party's user":   e.newAccount(usccs[0], "org_admin"),
		"auditor":                e.newAccount(usccs[7], "auditor"),
		"outsider org_admin":     e.newAccount(usccs[2], "org_admin"),
		"outsider registrant":    e.newAccount(usccs[3], "registrant"),
		"outsider searcher":      e.newAccount(usccs[4], "searcher"),
	}
	tests := []struct {
		who     string
		status  int
		audited bool // a read audited as registration.read, success
	}{
		{"controller's org_admin", 200, false},
		{"grantor's org_admin", 200, false},
		{"secured party's user", 200, false},
		{"auditor", 200, false},
		{"outsider org_admin", 403, false},
		{"outsider registrant", 403, false},
		{"outsider searcher", 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.who, func(t *testing.T) {
			a := accounts[tt.who]
			for _, path := range []string{"/registrations/" + number, "/registrations/" + amendmentNumber, "/registrations/" + number + "/certificate.pdf"} {
				got := e.do("GET", path, a.Token, nil)
				if got.Status != tt.status {
					t.Fatalf("GET %s: %s, want %d", path, got, tt.status)
				}
				if tt.status == 403 {
					p := e.problem(got, 403, "forbidden")
					if d, _ := p["detail"].(string); d == "" {
						t.Errorf("the refusal does not say why: %v", p)
					}
				}
			}
			successes := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.read' AND outcome = 'success' AND user_id = $1", a.UserID)
			denials := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.read' AND outcome = 'denied' AND user_id = $1", a.UserID)
			switch {
			case tt.audited && successes != 3:
				t.Errorf("%d reads audited as registration.read success, want 3", successes)
			case !tt.audited && successes != 0:
				t.Errorf("%d reads of one's own registration audited, want none", successes)
			case tt.status == 403 && denials != 3:
				t.Errorf("%d refusals audited, want 3", denials)
			}
			if tt.audited {
				for _, target := range []string{number, amendmentNumber} {
					if n := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.read' AND outcome = 'success' AND user_id = $1 AND target = $2", a.UserID, target); n == 0 {
						t.Errorf("no read audited with %s as its target", target)
					}
				}
			}
		})
	}
}
