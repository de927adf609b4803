package registry

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

// A succession records that an organization has merged into, or divided
// into, another, which takes its place: every effective registration the
// organization controls passes to the successor, each by an assignment of
// its own (an amendment that replaces the predecessor among the secured
// parties with the successor and hands it control), numbered, logged,
// audited and noticed to both as any change is. The registrations to pass
// are fixed when the succession is asked for; a job passes them a chunk at
// a time (RunSuccessions), marking each passed in the transaction of its
// event, so that a run cut short (a crash, a restart) resumes where it was
// and passes none twice.

// SuccessionBases are what a succession may follow.
var SuccessionBases = []string{"merger", "division"}

// Succession statuses.
const (
	SuccessionRunning = "running"
	SuccessionDone    = "done"
)

// SuccessionRequest asks for a succession (POST
// /organizations/{id}/succession).
type SuccessionRequest struct {
	SuccessorUSCC  string `json:"successor_uscc"`
	Basis          string `json:"basis"`
	DocumentNumber string `json:"document_number"`
	// Attachment names an upload of the predecessor's or the successor's
	// (the document the succession rests on), by id.
	Attachment string `json:"attachment,omitempty"`
	// SuccessorAddress and SuccessorLegalRepresentative are the successor's
	// domicile and legal representative, which the 2021 Measures ask of a
	// party added by amendment: each assignment names the successor with
	// them. Without them it is named by name and USCC alone.
	SuccessorAddress             string `json:"successor_address,omitempty"`
	SuccessorLegalRepresentative string `json:"successor_legal_representative,omitempty"`
}

// Validate checks a succession request on its own.
func (r *SuccessionRequest) Validate() error {
	var p problems
	if uscc, err := identifiers.CanonicalUSCC(r.SuccessorUSCC); err != nil {
		p.add("successor_uscc", CodeInvalidUSCC, err.Error())
	} else {
		r.SuccessorUSCC = uscc
	}
	checkEnum(&p, "basis", r.Basis, SuccessionBases)
	r.DocumentNumber = checkText(&p, "document_number", r.DocumentNumber, true, maxName)
	r.SuccessorAddress = checkText(&p, "successor_address", r.SuccessorAddress, false, maxText)
	r.SuccessorLegalRepresentative = checkText(&p, "successor_legal_representative", r.SuccessorLegalRepresentative, false, maxName)
	if r.Attachment != "" && !isUUID(r.Attachment) {
		p.add("attachment", CodeInvalidField, "is not an attachment's id")
	}
	return p.err()
}

// Succession is a succession and how far it has got.
type Succession struct {
	ID             string `json:"id"`
	PredecessorID  string `json:"predecessor_id"`
	SuccessorID    string `json:"successor_id"`
	SuccessorUSCC  string `json:"successor_uscc"`
	Basis          string `json:"basis"`
	DocumentNumber string `json:"document_number"`
	// The successor's domicile and legal representative, as each
	// assignment names it (empty when not given).
	SuccessorAddress             string      `json:"successor_address,omitempty"`
	SuccessorLegalRepresentative string      `json:"successor_legal_representative,omitempty"`
	Attachment                   *Attachment `json:"attachment,omitempty"`
	Status                       string      `json:"status"`
	// Total registrations to pass; Done passed; Failed not passed, because
	// by their turn they had ended or passed to another.
	Total       int   `json:"total"`
	Done        int   `json:"done"`
	Failed      int   `json:"failed"`
	RequestedAt Time  `json:"requested_at"`
	FinishedAt  *Time `json:"finished_at,omitempty"`
	// RequestedBy is the admin who asked, whose act each assignment is.
	RequestedBy auth.Principal `json:"-"`
}

// successionRecord is what an assignment by succession records besides the
// assignment itself.
type successionRecord struct {
	ID              string      `json:"id"`
	Basis           string      `json:"basis"`
	DocumentNumber  string      `json:"document_number"`
	PredecessorUSCC string      `json:"predecessor_uscc"`
	Attachment      *Attachment `json:"attachment,omitempty"`
}

// SuccessionStore keeps the successions and which registrations each has
// passed.
type SuccessionStore interface {
	// InsertSuccession stores a succession with the registrations its
	// predecessor controls, effective at s.RequestedAt, as the ones to
	// pass, and fills in s.Total; ErrConflict when one for the same
	// predecessor is still running.
	InsertSuccession(ctx context.Context, s *Succession, predecessorUSCC string) error
	// Succession returns one with its progress; ErrNotFound when none.
	Succession(ctx context.Context, id string) (Succession, error)
	// RunningSuccessions lists the successions still running, oldest first.
	RunningSuccessions(ctx context.Context) ([]Succession, error)
	// PendingSuccessionItems lists up to limit registrations a succession
	// has yet to pass, in order.
	PendingSuccessionItems(ctx context.Context, id string, limit int) ([]string, error)
	// MarkSuccessionItem records a registration passed (with its event's
	// number) or failed (with why); only a pending one changes
	// (ErrConflict when it is not).
	MarkSuccessionItem(ctx context.Context, id, number, eventNumber, problem string) error
	// FinishSuccession marks a succession done.
	FinishSuccession(ctx context.Context, id string, at time.Time) error
}

// StartSuccession records that the organization id is succeeded by the
// organization holding req.SuccessorUSCC, which must have an active account,
// and fixes the registrations to pass: those id controls and that are
// effective now. The passing itself is RunSuccessions', a job's.
func (s *Service) StartSuccession(ctx context.Context, c Caller, id string, req SuccessionRequest) (Succession, error) {
	if err := allow(c, auth.StartSuccession); err != nil {
		return Succession{}, err
	}
	if !isUUID(id) {
		return Succession{}, ErrNotFound
	}
	if err := req.Validate(); err != nil {
		return Succession{}, err
	}
	var out Succession
	err := s.administer(ctx, c, auth.StartSuccession, &out, func(tx Tx, at time.Time) (string, error) {
		pred, err := tx.Organization(ctx, id)
		if err != nil {
			return "", err
		}
		succ, err := tx.OrganizationByUSCC(ctx, req.SuccessorUSCC)
		switch {
		case errors.Is(err, ErrNotFound):
			return "", Invalid("successor_uscc", CodeInvalidField, "no organization with this USCC has an account with the registry")
		case err != nil:
			return "", err
		case succ.ID == pred.ID:
			return "", Invalid("successor_uscc", CodeInvalidField, "is the organization's own: a successor is another organization")
		case succ.Status != OrgActive:
			return "", Invalid("successor_uscc", CodeInvalidField, "names an organization that is "+succ.Status+", not active")
		}
		out = Succession{ID: uuid.Must(uuid.NewV7()).String(), PredecessorID: pred.ID, SuccessorID: succ.ID, SuccessorUSCC: succ.USCC,
			Basis: req.Basis, DocumentNumber: req.DocumentNumber, SuccessorAddress: req.SuccessorAddress,
			SuccessorLegalRepresentative: req.SuccessorLegalRepresentative, Status: SuccessionRunning, RequestedAt: At(at), RequestedBy: c.Principal}
		if req.Attachment != "" {
			a, err := tx.Attachment(ctx, req.Attachment)
			if err == nil && a.OrganizationID != pred.ID && a.OrganizationID != succ.ID {
				err = ErrNotFound
			}
			if err == nil {
				err = tx.NameAttachment(ctx, a.ID)
			}
			if errors.Is(err, ErrNotFound) {
				return "", Invalid("attachment", CodeInvalidField, "names no upload of the organization's or its successor's")
			}
			if err != nil {
				return "", err
			}
			out.Attachment = &a.Attachment
		}
		if err := tx.InsertSuccession(ctx, &out, pred.USCC); err != nil {
			if errors.Is(err, ErrConflict) {
				return "", refused(ErrConflict, "a succession of this organization is still running")
			}
			return "", err
		}
		return pred.ID, nil
	})
	return out, err
}

// Succession returns a succession with its progress, to the registry's staff.
func (s *Service) Succession(ctx context.Context, c Caller, id string) (Succession, error) {
	if err := allow(c, auth.ReadSuccession); err != nil {
		return Succession{}, err
	}
	if !isUUID(id) {
		return Succession{}, ErrNotFound
	}
	return s.store.Succession(ctx, id)
}

// errNotToPass is a registration a succession leaves: it is no longer
// effective, or no longer the predecessor's.
type errNotToPass struct{ why string }

func (e *errNotToPass) Error() string { return e.why }

// errPassed is a registration already passed (or failed): nothing to do.
var errPassed = errors.New("already passed by this succession")

// successionChunk is how many registrations a run takes at a time, and
// successionWorkers how many of them it passes side by side, so that the
// sequencer batches their events into few transactions (half its largest
// batch: a request's write still waits behind one batch at most).
const (
	successionChunk   = 500
	successionWorkers = 128
)

// RunSuccessions passes the registrations of every running succession, a
// chunk at a time, until all are passed or ctx ends, on one instance at a
// time; it returns how many it passed. Cut short, the next run goes on
// where this one stopped: each registration's mark commits with its event.
func (s *Service) RunSuccessions(ctx context.Context) (passed int, err error) {
	_, err = s.store.Exclusive(ctx, "registry: successions", func() error {
		running, err := s.store.RunningSuccessions(ctx)
		if err != nil {
			return err
		}
		for _, succ := range running {
			n, err := s.runSuccession(ctx, succ)
			passed += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	return passed, err
}

func (s *Service) runSuccession(ctx context.Context, succ Succession) (passed int, err error) {
	pred, err := s.store.Organization(ctx, succ.PredecessorID)
	if err != nil {
		return 0, err
	}
	next, err := s.store.Organization(ctx, succ.SuccessorID)
	if err != nil {
		return 0, err
	}
	c := Caller{Principal: succ.RequestedBy, Source: "succession " + succ.ID}
	for {
		numbers, err := s.store.PendingSuccessionItems(ctx, succ.ID, successionChunk)
		if err != nil {
			return passed, err
		}
		if len(numbers) == 0 {
			return passed, s.store.FinishSuccession(ctx, succ.ID, s.clock())
		}
		var mu sync.Mutex
		var firstErr error
		turns := make(chan struct{}, successionWorkers)
		var wg sync.WaitGroup
		for _, number := range numbers {
			if ctx.Err() != nil {
				break
			}
			turns <- struct{}{}
			wg.Go(func() {
				defer func() { <-turns }()
				err := s.pass(ctx, c, succ, pred, next, number)
				var leave *errNotToPass
				switch {
				case errors.As(err, &leave):
					err = s.store.MarkSuccessionItem(ctx, succ.ID, number, "", leave.why)
				case errors.Is(err, errPassed):
					err = nil
				}
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					passed++
				} else if firstErr == nil {
					firstErr = err
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return passed, firstErr
		}
		if err := ctx.Err(); err != nil {
			return passed, err
		}
	}
}

// pass assigns one registration to the successor, as an amendment that
// replaces the predecessor among its secured parties with the successor
// (first, as control passes to the first) and names the successor its
// controller, and marks it passed in the same transaction.
func (s *Service) pass(ctx context.Context, c Caller, succ Succession, pred, next Organization, number string) error {
	_, err := s.change(ctx, c, auth.AssignBySuccession, number, func(tx Tx, st Stamp, cur Registration, _ RegistrationState) (string, any, error) {
		switch {
		case cur.Status != StatusEffective:
			return "", nil, &errNotToPass{"the registration is " + cur.Status}
		case cur.Controller.OrganizationID != pred.ID && (cur.Controller.OrganizationID != "" || cur.Controller.USCC != pred.USCC):
			return "", nil, &errNotToPass{"the registration is no longer controlled by the predecessor"}
		}
		successor := Party{Type: "organization", Name: next.Name, USCC: next.USCC, Address: succ.SuccessorAddress,
			LegalRepresentative: succ.SuccessorLegalRepresentative}
		parties := []Party{successor}
		for _, p := range cur.SecuredParties {
			if p.USCC != pred.USCC && p.USCC != next.USCC {
				parties = append(parties, p)
			}
		}
		data := amendmentData{SecuredParties: slices.Clip(parties), Controller: &Controller{OrganizationID: next.ID, USCC: next.USCC},
			Succession: &successionRecord{ID: succ.ID, Basis: succ.Basis, DocumentNumber: succ.DocumentNumber, PredecessorUSCC: pred.USCC, Attachment: succ.Attachment}}
		// The mark is the check: only a registration still pending is
		// marked, under its lock, so that none passes twice.
		if err := tx.MarkSuccessionItem(ctx, succ.ID, cur.Number, st.Number, ""); errors.Is(err, ErrConflict) {
			return "", nil, errPassed
		} else if err != nil {
			return "", nil, err
		}
		return EventAmendment, data, nil
	})
	return err
}
