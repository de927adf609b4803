package main

import (
	"context"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// prove checks one event of the caller's own in the log, as its filer (a
// bank) would: the record the log commits to hashes to a leaf that the
// inclusion proof places under a checkpoint signed with the pinned key (and
// cosigned by the witnesses required); the checkpoint extends the one
// verified before; and each identity number's commitment opens to the number
// the filer gave. The bank needs nobody else's records to do it.
func (v *verifier) prove(ctx context.Context, number string, ids []string) error {
	st, _, _, err := v.start(ctx)
	if err != nil {
		return err
	}
	var got registry.LogEvent
	resp, err := v.api.api.GetLogEvent(ctx, number)
	if err := decode("GET /log/events/"+number, resp, err, &got); err != nil {
		return err
	}
	nv, err := note.NewVerifier(st.VerifierKey)
	if err != nil {
		return err
	}
	cosigned, err := translog.OpenCosigned([]byte(got.Checkpoint), nv, v.witnesses)
	if err != nil {
		v.find("the checkpoint given with the event does not verify: %v", err)
		return errFindings
	}
	cp := cosigned.Checkpoint
	if len(cosigned.Witnesses) < v.quorum {
		v.find("the checkpoint is cosigned by %d of the %s required", len(cosigned.Witnesses), plural(v.quorum, "witness", "witnesses"))
	}
	if st.Checkpoint.Size > 0 && cp.Size >= st.Checkpoint.Size {
		if err := v.extends(ctx, cp, st.Checkpoint.Size, st.Checkpoint.Root); err != nil {
			v.find("the checkpoint of %d events does not extend the one of %d verified before", cp.Size, st.Checkpoint.Size)
		}
	}
	leaf := tlog.RecordHash(got.Record)
	switch {
	case leaf != got.LeafHash:
		v.find("event %s: its record does not hash to the leaf given", number)
	case tlog.CheckRecord(got.Inclusion.Proof, cp.Size, cp.Root, got.Index, leaf) != nil:
		v.find("event %s: the proof does not place it at log position %d under the signed checkpoint of %d events", number, got.Index, cp.Size)
	default:
		v.note("event %s is log entry %d, included in the signed checkpoint of %s (root %s)", number, got.Index, plural(cp.Size, "event", "events"), cp.Root)
	}
	rec, err := registry.OpenRecord(got.Record, got.Openings)
	switch {
	case err != nil:
		v.find("event %s: %v", number, err)
	case rec.Number != number:
		v.find("the record given is event %s's, not %s's", rec.Number, number)
	}
	for _, id := range ids {
		opened := false
		for _, o := range got.Openings {
			opened = opened || (o.Check() && o.IDNumber == strings.ToUpper(id) && strings.Contains(string(got.Record), `"id_commitment":"`+o.Commitment+`"`))
		}
		if !opened {
			v.find("identity number %s: no commitment in the record opens to it", id)
		} else {
			v.note("identity number %s: its commitment in the record opens to it", id)
		}
	}
	if v.findings > 0 {
		return errFindings
	}
	return nil
}
