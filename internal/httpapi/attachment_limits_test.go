package httpapi_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// csvOf is a CSV attachment of about size bytes, made unique by n.
func csvOf(n, size int) []byte {
	head := fmt.Appendf(nil, "serial_number,description\nSN-%d,first\n", n)
	return append(head, bytes.Repeat([]byte("SN-0,spare\n"), (size-len(head))/11)...)
}

// TestAttachmentQuota: an organization's attachments hold at most
// attachments.max_bytes between them, named or not; an upload beyond it is
// 409 quota_exceeded, audited as refused, and another organization is not
// held back. Two uploads at once racing for the room only one fits in:
// exactly one is taken, every time.
func TestAttachmentQuota(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	e := newEnvWith(t, func(c *registry.Config) { c.AttachmentsMaxBytes = 3*mib + mib/2 })
	bank := e.newAccount(usccs[0], "registrant")
	other := e.newAccount(usccs[2], "registrant")

	for i := range 3 {
		e.must(201, e.do("POST", "/attachments", bank.Token, fileUpload("list.csv", csvOf(i, mib))))
	}
	p := e.problem(e.do("POST", "/attachments", bank.Token, fileUpload("list.csv", csvOf(3, mib))), 409, "quota_exceeded")
	if d, _ := p["detail"].(string); d == "" {
		t.Errorf("the refusal does not say why: %v", p)
	}
	if n := e.count("SELECT count(*) FROM audit_entries WHERE action = 'attachment.create' AND outcome = 'invalid' AND detail LIKE 'quota_exceeded%' AND user_id = $1", bank.UserID); n != 1 {
		t.Errorf("%d refusals audited, want 1", n)
	}
	// What is left still takes a smaller file; the other organization
	// has its own room.
	e.must(201, e.do("POST", "/attachments", bank.Token, fileUpload("list.csv", csvOf(4, mib/4))))
	e.must(201, e.do("POST", "/attachments", other.Token, fileUpload("list.csv", csvOf(5, mib))))

	t.Run("two uploads at once racing for the last room", func(t *testing.T) {
		// Each round, a new organization holds 2.5 MiB; 1 MiB more fits,
		// 2 MiB do not.
		for round := range 5 {
			a := e.newAccount(freshUSCC(), "registrant")
			e.must(201, e.do("POST", "/attachments", a.Token, fileUpload("list.csv", csvOf(100*round, 2*mib+mib/2))))
			statuses := make([]int, 2)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range statuses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					statuses[i] = e.do("POST", "/attachments", a.Token, fileUpload("list.csv", csvOf(100*round+1+i, mib))).Status
				}()
			}
			close(start)
			wg.Wait()
			if !(statuses[0] == 201 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 201) {
				t.Fatalf("round %d: the two uploads got %v, want one 201 and one 409", round, statuses)
			}
			if held := e.count("SELECT coalesce(sum(size), 0) FROM attachments WHERE organization_id = $1", a.OrgID); held > 3*mib+mib/2 {
				t.Fatalf("round %d: the organization holds %d bytes, over its quota", round, held)
			}
		}
	})
}

// TestUnnamedAttachmentsAreRemoved: an upload that no filing or amendment
// names is removed once attachments.unnamed_retention (7 days) has passed,
// by the clock the service is given; one that a filing or an amendment
// names is kept however old; a removed upload no longer counts against the
// quota, and a filing that names it is refused naming the field.
func TestUnnamedAttachmentsAreRemoved(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	e := newEnvWith(t, func(c *registry.Config) { c.AttachmentsMaxBytes = 5 * mib; longLived(c) })
	bank := e.newAccount(usccs[0], "registrant")
	upload := func(i int) string {
		t.Helper()
		return e.must(201, e.do("POST", "/attachments", bank.Token, fileUpload("list.csv", csvOf(i, mib))))["id"].(string)
	}
	filed, amended, unnamed, late := upload(1), upload(2), upload(3), upload(4)
	f := filing(grantorName, usccs[1])
	f["collateral"].(map[string]any)["attachments"] = []any{filed}
	number := e.must(201, e.do("POST", "/registrations", bank.Token, f))["number"].(string)
	e.must(201, e.do("POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"add_attachments": []any{amended}}))
	e.problem(e.do("POST", "/attachments", bank.Token, fileUpload("list.csv", csvOf(5, 2*mib))), 409, "quota_exceeded")

	remove := func(want int) {
		t.Helper()
		n, err := e.svc.RemoveUnnamedAttachments(t.Context())
		if err != nil || n != want {
			t.Fatalf("removed %d (%v), want %d", n, err, want)
		}
	}
	present := func(id string, want bool) {
		t.Helper()
		if got := e.do("GET", "/attachments/"+id, bank.Token, nil).Status == 200; got != want {
			t.Errorf("attachment %s present: %v, want %v", id, got, want)
		}
	}
	e.clock.Advance(6 * 24 * time.Hour)
	remove(0)
	e.clock.Advance(24*time.Hour + time.Minute)
	remove(2) // unnamed and late, both past seven days
	for id, want := range map[string]bool{filed: true, amended: true, unnamed: false, late: false} {
		present(id, want)
	}
	if n := e.count("SELECT count(*) FROM attachments"); n != 2 {
		t.Errorf("%d attachments stored, want the two named", n)
	}
	// The room is free again, and what was removed cannot be named.
	e.must(201, e.do("POST", "/attachments", bank.Token, fileUpload("list.csv", csvOf(6, 2*mib))))
	g := filing(grantorName, usccs[1])
	g["collateral"].(map[string]any)["attachments"] = []any{unnamed}
	p := e.problem(e.do("POST", "/registrations", bank.Token, g), 422, "invalid_field")
	if errs := fieldErrors(p); len(errs) != 1 || errs[0] != "collateral.attachments[0] invalid_field" {
		t.Errorf("naming a removed attachment: %v", p)
	}
	// Named ones stay, years on.
	e.clock.Advance(3 * 365 * 24 * time.Hour)
	remove(1)
	present(filed, true)
	present(amended, true)
}
