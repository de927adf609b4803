package httpapi_test

import (
	"testing"

	"github.com/movable-registry/registry/internal/registry"
)

// TestASandboxsCertificatesSayTheyAreASandboxs: on a sandbox, GET
// /certificates/{number} answers sandbox: true for a registration's, an
// event's and a search's number, so that a verifier cannot take it for the
// real register's; the real register's answers carry no sandbox at all.
func TestASandboxsCertificatesSayTheyAreASandboxs(t *testing.T) {
	t.Parallel()
	for _, sandbox := range []bool{true, false} {
		e := newEnvWith(t, func(c *registry.Config) { c.Sandbox = sandbox })
		bank := e.newAccount(usccs[0], "registrant", "searcher")
		number := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string)
		amended := e.must(201, e.do("POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"description": "全部数控机床"}))
		history := amended["history"].([]any)
		event := history[len(history)-1].(map[string]any)["number"].(string)
		search := e.must(201, e.do("POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))["number"].(string)
		for name, n := range map[string]string{"registration": number, "amendment": event, "search": search} {
			got := e.must(200, e.do("GET", "/certificates/"+n, "", nil))
			v, present := got["sandbox"]
			switch {
			case sandbox && v != true:
				t.Errorf("a sandbox's %s certificate answers sandbox %v, want true", name, v)
			case !sandbox && present:
				t.Errorf("the real register's %s certificate answers sandbox %v, want none", name, v)
			}
		}
	}
}
