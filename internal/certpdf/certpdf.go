// Package certpdf makes the registry's certificates as PDF documents: a
// registration's verification statement and a search certificate, in
// Chinese or English, laid out as a certificate (the register's name, the
// number large, a table), every character drawn in a font that has it, with
// the certificate's digest and the QR code of its verification address, and
// signed by the registry (PAdES). A certificate is made once per number,
// language and version and kept, so that the same request gets the same
// bytes.
package certpdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signintech/gopdf"
	"golang.org/x/sync/singleflight"

	"github.com/movable-registry/registry/internal/display"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/words"
)

// Keeper keeps the certificates made, by number, language and edition (a
// registration's version and status; a search's is fixed).
type Keeper interface {
	// Document returns a kept certificate, registry.ErrNotFound if none is.
	Document(ctx context.Context, number, lang, edition string) ([]byte, error)
	// KeepDocument keeps pdf unless one is kept under the same key already,
	// and returns the one kept: of two makers at once, both serve the first.
	KeepDocument(ctx context.Context, number, lang, edition string, pdf []byte) ([]byte, error)
}

// Options configure a Maker.
type Options struct {
	// Fonts are the TrueType fonts to draw with, asked in order for each
	// character (DefaultFonts when empty).
	Fonts []string
	// Signer signs each certificate; nil leaves them unsigned (a trial).
	Signer *Signer
	// Keeper keeps what is made; nil makes each certificate every time.
	Keeper Keeper
	// Concurrent bounds the certificates made at once (default: the number
	// of CPUs); one that waits longer than Wait (default 10 s) for its turn
	// is refused as unavailable, like a password hash.
	Concurrent int
	Wait       time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Sandbox marks every page of every certificate as a test register's,
	// which proves nothing (config's sandbox).
	Sandbox bool
}

// Maker makes certificates. Its fonts are read at the first certificate
// (again after a failure, so that installing them needs no restart).
type Maker struct {
	opts   Options
	turns  chan struct{}
	making singleflight.Group
	made   atomic.Int64 // certificates made, for tests

	mu    sync.Mutex
	fonts *fontSet
}

// New makes certificates as opts say.
func New(opts Options) *Maker {
	if len(opts.Fonts) == 0 {
		opts.Fonts = DefaultFonts
	}
	if opts.Concurrent <= 0 {
		opts.Concurrent = runtime.NumCPU()
	}
	if opts.Wait <= 0 {
		opts.Wait = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Maker{opts: opts, turns: make(chan struct{}, opts.Concurrent)}
}

// Check reads the fonts, and says what is missing (registryd's start logs
// it, so an operator learns of a missing package before a clerk does).
func (m *Maker) Check() error {
	_, err := m.fontSet()
	return err
}

// Signed reports whether certificates are signed.
func (m *Maker) Signed() bool { return m.opts.Signer != nil }

func (m *Maker) fontSet() (*fontSet, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fonts != nil {
		return m.fonts, nil
	}
	fs, err := loadFonts(m.opts.Fonts)
	if err != nil {
		return nil, err
	}
	m.fonts = fs
	return fs, nil
}

// Registration is a registration's verification statement: its state as r
// shows it, with the digest its number is verified by (cert).
func (m *Maker) Registration(ctx context.Context, r registry.Registration, cert registry.Certificate, lang, verifyURL string) ([]byte, error) {
	edition := strconv.Itoa(r.Version) + "/" + r.Status
	if r.ErasedAt != nil {
		// Its individuals' personal data erased: never the copy made before.
		edition += "/erased"
	}
	if n := len(registry.StandingObjections(r)); n > 0 {
		// Under objection: an edition of its own for as many as stand, so
		// that one lapsing (true before the lapse is recorded) is not
		// served from the copy that showed it standing.
		edition += "/objections:" + strconv.Itoa(n)
	}
	return m.once(ctx, r.Number, lang, edition, func(d *doc) {
		d.registration(r, cert, verifyURL)
	})
}

// Search is a search certificate: its criteria and what it found.
func (m *Maker) Search(ctx context.Context, s registry.SearchCertificate, cert registry.Certificate, lang, verifyURL string) ([]byte, error) {
	edition := "1"
	if s.ErasedAt != nil {
		// Individuals in it erased: never the copy made before, nor the
		// one made before a later erasure.
		edition += "/erased:" + strconv.FormatInt(s.ErasedAt.UnixMicro(), 10)
	}
	return m.once(ctx, s.Number, lang, edition, func(d *doc) {
		d.search(s, cert, verifyURL)
	})
}

// once returns the certificate kept for number, lang and edition, or makes,
// signs and keeps it.
func (m *Maker) once(ctx context.Context, number, lang, edition string, lay func(*doc)) ([]byte, error) {
	catalogs, err := words.Catalogs()
	if err != nil {
		return nil, err
	}
	if _, ok := catalogs[lang]; !ok {
		lang = words.Languages[0]
	}
	// A sandbox's certificates are kept apart from the real register's:
	// each has its own database, and should one database ever serve both,
	// an unmarked certificate is still never served as a sandbox's, nor a
	// marked one as the real register's.
	if m.opts.Sandbox {
		edition += "/sandbox"
	}
	if k := m.opts.Keeper; k != nil {
		b, err := k.Document(ctx, number, lang, edition)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, registry.ErrNotFound) {
			return nil, err
		}
	}
	// Of many asking at once for one certificate, one makes it and all get
	// it: forty clerks opening the same statement cost one making, not
	// forty. The making outlives a caller that gives up, for the others.
	key := number + "\x00" + lang + "\x00" + edition
	res := m.making.DoChan(key, func() (any, error) {
		return m.makeAndKeep(context.WithoutCancel(ctx), number, lang, edition, lay)
	})
	select {
	case r := <-res:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]byte), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// makeAndKeep waits its turn (at most Wait), makes the certificate and
// keeps it.
func (m *Maker) makeAndKeep(ctx context.Context, number, lang, edition string, lay func(*doc)) ([]byte, error) {
	wait := time.NewTimer(m.opts.Wait)
	defer wait.Stop()
	select {
	case m.turns <- struct{}{}:
	case <-wait.C:
		return nil, &registry.UnavailableError{RetryAfter: 5 * time.Second, Reason: "too many certificates are being made just now"}
	}
	defer func() { <-m.turns }()
	m.made.Add(1)
	pdf, err := m.make(lang, number, lay)
	if err != nil {
		return nil, err
	}
	if k := m.opts.Keeper; k != nil {
		return k.KeepDocument(ctx, number, lang, edition, pdf)
	}
	return pdf, nil
}

// make lays a certificate out and signs it.
func (m *Maker) make(lang, number string, lay func(*doc)) ([]byte, error) {
	fs, err := m.fontSet()
	if err != nil {
		return nil, err
	}
	now := m.opts.Now()
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: gopdf.Rect{W: pageW, H: pageH}, Unit: gopdf.UnitPT})
	catalogs, err := words.Catalogs()
	if err != nil {
		return nil, err
	}
	d := &doc{pdf: pdf, fonts: fs, added: make([]bool, len(fs.faces)), l: catalogs[lang], lang: lang, footer: number, sandbox: m.opts.Sandbox}
	pdf.SetInfo(gopdf.PdfInfo{Title: d.word("site.name") + " " + number, Creator: "registry", Producer: "registry", CreationDate: now})
	d.newPage()
	lay(d)
	d.signatureNote(m.Signed())
	d.pageNumbers()
	if d.err != nil {
		return nil, fmt.Errorf("laying out certificate %s: %w", number, d.err)
	}
	var b bytes.Buffer
	if _, err := pdf.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("writing certificate %s: %w", number, err)
	}
	if m.opts.Signer == nil {
		return b.Bytes(), nil
	}
	return m.opts.Signer.Sign(b.Bytes(), now)
}

// heading draws the register's name, the certificate's title and its number.
func (d *doc) heading(title, numberLabel, number string) {
	d.text(d.word("site.name"), 10, "C")
	d.y += 6
	d.text(d.word(title), 22, "C")
	d.y += 6
	d.text(d.word(numberLabel), 10, "C")
	d.text(number, 18, "C")
	d.y += 8
	d.rule(12)
}

// digestAndQR draws the digest the number verifies by, and how to verify.
func (d *doc) digestAndQR(cert registry.Certificate, verifyURL string) {
	d.y += 10
	d.room(4*9*lineFactor + 8 + 104) // the digest stays with its QR code
	d.text(d.word("cert.digest"), 9, "L")
	d.text(cert.Digest, 9, "L")
	d.text(d.word("digest_note"), 8, "L")
	d.y += 8
	d.qr(verifyURL)
}

func (d *doc) signatureNote(signed bool) {
	note := "unsigned"
	if signed {
		note = "signed"
	}
	d.y += 4
	d.text(d.word(note), 8, "L")
}

// count is the certificate's text for key with the count n in it, in the
// key's ".one" form for one where the language has one (words.Counted).
func (d *doc) count(key string, n any) string {
	if words.Counted(d.l, "pdf."+key, n) != "pdf."+key {
		key += ".one"
	}
	return fmt.Sprintf(d.word(key), n)
}

// word is the certificate's word for key in its language: its own
// ("pdf.key") or the register's (a kind, a status, an event), or, for a
// value added since (a kind without a name yet), the value's code.
func (d *doc) word(key string) string {
	if w, ok := d.l["pdf."+key]; ok {
		return w
	}
	if w, ok := d.l[key]; ok {
		return w
	}
	if _, code, ok := strings.Cut(key, "."); ok {
		return code
	}
	return key
}

func (d *doc) when(t registry.Time) string { return display.Time(t, d.lang) }

// name is a party's name, or says that an individual's was erased.
func (d *doc) name(p registry.Party) string {
	if p.Name == "" && p.Type == "individual" {
		return d.word("erased_party")
	}
	return p.Name
}

// party is a party's name with its identifiers and address, one per line.
func (d *doc) party(p registry.Party) string {
	lines := []string{d.name(p)}
	for _, f := range []struct{ label, value string }{
		{"uscc", p.USCC}, {"id_number", p.IDNumber}, {"foreign_reg", p.RegistrationNumber}, {"lei", p.LEI},
		{"fi_code", p.FinancialInstitutionCode}, {"legal_rep", p.LegalRepresentative}, {"address", p.Address},
	} {
		if f.value != "" {
			lines = append(lines, d.word(f.label)+f.value)
		}
	}
	if len(p.FormerNames) > 0 {
		lines = append(lines, d.word("formerly")+strings.Join(p.FormerNames, d.word("sep")))
	}
	return strings.Join(lines, "\n")
}

func (d *doc) parties(ps []registry.Party) string {
	var out []string
	for _, p := range ps {
		out = append(out, d.party(p))
	}
	return strings.Join(out, "\n\n")
}

// objections says which objections stand against a registration: each one's
// number, when it was filed, and when it lapses unless a case notice
// follows (or that it stands until the case ends), after a line that says
// what an objection means to whoever relies on the certificate.
func (d *doc) objections(standing []registry.StandingObjection) string {
	lines := []string{d.word("objection.standing_note")}
	for _, o := range standing {
		line := o.Number + d.word("sep") + d.word("objection.filed_at") + " " + d.when(o.FiledAt)
		if o.LapsesAt != nil {
			line += d.word("sep") + d.word("objection.lapses_at") + " " + d.when(*o.LapsesAt)
		} else {
			line += d.word("sep") + d.word("objection.until_case")
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// registration lays out a verification statement.
func (d *doc) registration(r registry.Registration, cert registry.Certificate, verifyURL string) {
	d.heading("registration", "reg.number", r.Number)
	d.row(d.word("reg.kind"), d.word("kind."+r.Kind))
	d.row(d.word("reg.status"), d.word("status."+r.Status)+d.word("status_note"))
	if standing := registry.StandingObjections(r); len(standing) > 0 {
		d.row(d.word("under_objection"), d.objections(standing))
	}
	d.row(d.word("reg.registered_at"), d.when(r.RegisteredAt))
	d.row(d.word("reg.expires_at"), d.when(r.ExpiresAt))
	if r.EndedAt != nil {
		d.row(d.word("ended_at"), d.when(*r.EndedAt))
	}
	if r.ErasedAt != nil {
		d.row(d.word("erased_at"), d.when(*r.ErasedAt)+"\n"+d.word("erased_note"))
	}
	if r.PeriodMonths > 0 {
		d.row(d.word("period"), d.count("months", r.PeriodMonths))
	}
	d.row(d.word("reg.grantors"), d.parties(r.Grantors))
	d.row(d.word("reg.secured_parties"), d.parties(r.SecuredParties))
	d.row(d.word("reg.collateral"), r.Collateral.Description)
	if len(r.Collateral.Items) > 0 {
		var items []string
		for i, it := range r.Collateral.Items {
			line := fmt.Sprintf("%d. %s%s%s%s", i+1, d.word("item."+it.Type), d.word("sep"), d.word("serial"), it.SerialNumber)
			if it.Description != "" {
				line += d.word("sep") + it.Description
			}
			line += d.word("sep") + d.word("item_registered") + d.when(it.RegisteredAt)
			items = append(items, line)
		}
		d.row(d.word("reg.items"), strings.Join(items, "\n"))
	}
	if len(r.Collateral.Attachments) > 0 {
		var atts []string
		for _, a := range r.Collateral.Attachments {
			atts = append(atts, a.MediaType+"\n"+a.SHA256)
		}
		d.row(d.word("attachments"), strings.Join(atts, "\n"))
	}
	if m := r.MaxSecuredAmount; m != nil {
		d.row(d.word("reg.max_amount"), display.Money(*m, d.lang))
	}
	if m := r.PrincipalAmount; m != nil {
		d.row(d.word("reg.principal_amount"), display.Money(*m, d.lang))
	}
	if r.SecurityScope != "" {
		d.row(d.word("reg.security_scope"), r.SecurityScope)
	}
	if r.TransferRestriction != "" {
		d.row(d.word("reg.transfer_restriction"), r.TransferRestriction)
	}
	if r.AgreedWithGrantor {
		d.row(d.word("reg.agreed_with_grantor"), d.word("reg.agreed_declared"))
	}
	if r.Reference != "" {
		d.row(d.word("reg.reference"), r.Reference)
	}
	if len(r.History) > 0 {
		var hist []string
		for _, h := range r.History {
			line := h.Number + "  " + d.word("event."+h.Type)
			if sr := h.Succession; sr != nil {
				line += "\n" + fmt.Sprintf(d.word("history.succession."+sr.Basis), sr.PredecessorUSCC, sr.DocumentNumber)
			}
			hist = append(hist, line+"\n"+d.when(h.RegisteredAt))
		}
		d.row(d.word("reg.history"), strings.Join(hist, "\n"))
	}
	d.digestAndQR(cert, verifyURL)
}

// search lays out a search certificate.
func (d *doc) search(s registry.SearchCertificate, cert registry.Certificate, verifyURL string) {
	d.heading("search", "result.number", s.Number)
	d.row(d.word("result.searched_at"), d.when(s.SearchedAt))
	d.row(d.word("result.as_of"), d.when(s.AsOf))
	c := s.Criteria
	var crit []string
	for _, f := range []struct{ key, value string }{
		{"grantor_name", c.GrantorName}, {"uscc", c.USCC}, {"lei", c.LEI}, {"id_number", c.IDNumber},
		{"registration_number", c.RegistrationNumber}, {"serial_number", c.SerialNumber},
	} {
		if f.value != "" {
			crit = append(crit, d.word("criterion."+f.key)+d.word("colon")+f.value)
		}
	}
	if s.CriteriaErased {
		crit = []string{d.word("result.criteria_erased")}
	}
	d.row(d.word("result.criteria"), strings.Join(crit, "\n"))
	scope := "inactive.no"
	if s.IncludeInactive {
		scope = "inactive.yes"
	}
	d.row(d.word("inactive"), d.word(scope))
	d.row(d.word("result.position"), d.count("position_note", s.RegisterPosition))
	d.row(d.word("cert.result_count"), d.count("count_text", s.ResultCount))
	if s.ErasedAt != nil {
		d.row(d.word("erased_at"), d.when(*s.ErasedAt)+"\n"+d.word("search_erased_note"))
	}
	for i, res := range s.Results {
		r := res.Registration
		objected := ""
		if r.UnderObjection() {
			objected = d.word("sep") + d.word("objection.under")
		}
		var grantors []string
		for _, g := range r.Grantors {
			grantors = append(grantors, d.name(g))
		}
		v := r.Number + "\n" +
			d.word("kind."+r.Kind) + d.word("sep") + d.word("status."+r.Status) + objected + "\n" +
			d.word("reg.registered_at") + d.word("colon") + d.when(r.RegisteredAt) + "\n" +
			d.word("reg.expires_at") + d.word("colon") + d.when(r.ExpiresAt) + "\n" +
			d.word("reg.grantors") + d.word("colon") + strings.Join(grantors, d.word("sep")) + "\n" +
			d.word("matched."+res.MatchedBy)
		d.row(fmt.Sprintf(d.word("result"), i+1), v)
	}
	if s.Truncated || len(s.Results) < s.ResultCount {
		d.y += 4
		d.text(d.count("truncated", s.ResultCount-len(s.Results)), 9, "L")
	}
	if len(s.SimilarNames) > 0 {
		d.row(d.word("result.similar"), strings.Join(s.SimilarNames, "\n"))
	}
	d.digestAndQR(cert, verifyURL)
}
