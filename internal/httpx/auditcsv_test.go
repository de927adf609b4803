package httpx

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/audit"
)

// TestAuditRowDisarmsFormulas checks that no text cell of the CSV export
// begins with what a spreadsheet runs as a formula.
func TestAuditRowDisarmsFormulas(t *testing.T) {
	t.Parallel()
	r := auditRow(audit.Record{ID: 7, Entry: audit.Entry{Actor: audit.Anonymous, Action: "token.signin", Target: "=HYPERLINK(\"http://x\")",
		Source: "@evil", RequestID: "-1+1", Detail: "'quoted", UserID: "\n=1+1", OrganizationID: "\r=1+1"}, Chain: []byte{0xfb, 0xff}})
	want := []string{"'\n=1+1", "'\r=1+1", "'=HYPERLINK(\"http://x\")", "'@evil", "'-1+1", "''quoted", "+/8="}
	got := []string{r[3], r[4], r[6], r[8], r[9], r[10], r[11]}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("cells (-got +want):\n%s", diff)
	}
}
