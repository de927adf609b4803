package certpdf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"golang.org/x/image/font/sfnt"

	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/words"
)

const (
	longName = "上海星辰精密机械有限公司131500049上海星辰精密机械有限公司浦东新区张江高科技园区分公司"
	rareName = "𠮷野家" // 𠮷 is U+20BB7, in CJK Extension B
)

var testDigest = registry.Certificate{Digest: "sha256:8a1f0c5e2b7d4a93e6f1c08b5d2e7a4c9f3b6d1e0a8c7b5f2d4e6a1c3b9f0e7d"}

// sampleRegistration has what makes certificates hard: a long name that
// wraps, a name outside the Basic Multilingual Plane, Latin and CJK mixed,
// an amount, items and history.
func sampleRegistration() registry.Registration {
	at := registry.At(time.Date(2026, 12, 7, 5, 21, 38, 0, time.UTC))
	return registry.Registration{
		Number: "0261207000012345K", Kind: "chattel_mortgage", Status: "effective", Version: 2,
		RegisteredAt: at, ExpiresAt: registry.At(time.Date(2027, 12, 7, 5, 21, 38, 0, time.UTC)), PeriodMonths: 12,
		Grantors: []registry.Party{
			{Type: "organization", Name: longName, USCC: "91310000MA1FL3LR4X", Address: "上海市浦东新区张江路 88 号 3 幢 501 室", LegalRepresentative: "欧阳建国"},
			{Type: "individual", Name: rareName, IDNumber: "110101199003070017", Address: "北京市东城区东华门街道 1 号"},
		},
		SecuredParties: []registry.Party{{Type: "organization", Name: "中国工商银行股份有限公司上海市分行", USCC: "913100008322333637", Address: "上海市黄浦区中山东一路 24 号",
			LegalRepresentative: "李明", FinancialInstitutionCode: "B0001H231000001"}},
		AgreedWithGrantor: true, PrincipalAmount: &registry.Money{Amount: "2500000.00", Currency: "CNY"},
		SecurityScope: "主债权本金、利息、违约金及实现担保物权的费用", TransferRestriction: "未经抵押权人书面同意，抵押人不得转让抵押财产",
		Collateral: registry.Collateral{Description: "数控机床 3 台（DMG MORI NHX 4000），及其附属设备、备件。Three CNC machining centres with their spare parts; «quoted» & ~tilde~ {braces} [brackets] @ # $ % ^ * _ + = | \\ / ? < > ` '",
			Items: []registry.Item{{ID: "i1", Type: "equipment", SerialNumber: "NHX4000-2023-0042", Description: "卧式加工中心", RegisteredAt: at}}},
		MaxSecuredAmount: &registry.Money{Amount: "3000000.00", Currency: "CNY"},
		History:          []registry.HistoryEntry{{Number: "0261207000012345K", Type: "initial", RegisteredAt: at}, {Number: "0261207000012399M", Type: "amendment", RegisteredAt: at}},
	}
}

// catalogWord is the site's word for key in lang.
func catalogWord(t *testing.T, lang, key string) string {
	t.Helper()
	c, err := words.Catalogs()
	if err != nil {
		t.Fatal(err)
	}
	w, ok := c[lang][key]
	if !ok {
		t.Fatalf("no %s in %s", key, lang)
	}
	return w
}

func sampleSearch() registry.SearchCertificate {
	r := sampleRegistration()
	return registry.SearchCertificate{Number: "S261207000000077Q", SearchedAt: r.RegisteredAt, AsOf: r.RegisteredAt,
		Criteria: registry.Criteria{GrantorName: rareName}, RegisterPosition: 1234, ResultCount: 3,
		Results: []registry.SearchResult{{Registration: r, MatchedBy: registry.MatchCurrentName}}, Truncated: true}
}

func newTestMaker(t *testing.T, opts Options) *Maker {
	t.Helper()
	m := New(opts)
	if err := m.Check(); err != nil {
		t.Fatalf("%v: make test installs them", err)
	}
	return m
}

// TestEveryCharacterIsDrawnWithItsGlyph: in both languages, each glyph a
// certificate draws is, by the character map of the font it is drawn from,
// the glyph of the character it stands for, and has an outline (no empty
// boxes: the default font of old had no Latin letters, digits or ASCII
// punctuation); and nothing the certificate holds is left out.
func TestEveryCharacterIsDrawnWithItsGlyph(t *testing.T) {
	m := newTestMaker(t, Options{})
	originals := map[string]*sfnt.Font{}
	for i, p := range DefaultFonts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := sfnt.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		originals["f"+strconv.Itoa(i)] = f
	}
	ctx := context.Background()
	for _, lang := range []string{"zh", "en"} {
		reg, err := m.Registration(ctx, sampleRegistration(), testDigest, lang, "https://registry.example.cn/verify?number=0261207000012345K")
		if err != nil {
			t.Fatal(err)
		}
		search, err := m.Search(ctx, sampleSearch(), testDigest, lang, "https://registry.example.cn/verify?number=S261207000000077Q")
		if err != nil {
			t.Fatal(err)
		}
		for name, pdf := range map[string][]byte{"registration": reg, "search": search} {
			t.Run(lang+" "+name, func(t *testing.T) {
				ds := glyphs(t, pdf)
				if len(ds) < 200 {
					t.Fatalf("only %d glyphs drawn", len(ds))
				}
				var buf sfnt.Buffer
				for _, d := range ds {
					if d.glyph == 0 {
						t.Errorf("%q is drawn as .notdef (an empty box) in %s", d.char, d.font)
						continue
					}
					orig := originals[d.font]
					if orig == nil {
						t.Fatalf("font %s is not one of DefaultFonts", d.font)
					}
					if g, err := orig.GlyphIndex(&buf, d.char); err != nil || uint16(g) != d.glyph {
						t.Errorf("%q (U+%04X) is drawn as glyph %d of %s, whose character map gives %d", d.char, d.char, d.glyph, d.font, g)
					}
					if !d.outline && !unicode.IsSpace(d.char) {
						t.Errorf("%q is drawn with a glyph of %s that has no outline", d.char, d.font)
					}
				}
				drawn := strings.ReplaceAll(text(ds), " ", "")
				// The 2021 Measures' content: a representative, a financial
				// institution code, the principal amount, the scope, the
				// restriction on transfer, the declaration.
				measures := []string{"欧阳建国", "B0001H231000001", "2,500,000.00", "主债权本金、利息、违约金及实现担保物权的费用",
					"未经抵押权人书面同意，抵押人不得转让抵押财产", catalogWord(t, lang, "reg.agreed_declared")}
				for _, want := range append([]string{longName, rareName, "0261207000012345K", "91310000MA1FL3LR4X", "3,000,000.00", "叁佰万元整",
					"https://registry.example.cn/verify?number=", testDigest.Digest, "«quoted»&~tilde~{braces}[brackets]@#$%^*_+=|\\/?<>`'"}, measures...) {
					if name == "search" && (want == "91310000MA1FL3LR4X" || want == "3,000,000.00" || want == "叁佰万元整" || strings.HasPrefix(want, "«") || slices.Contains(measures, want)) {
						continue
					}
					if !strings.Contains(drawn, strings.ReplaceAll(want, " ", "")) {
						t.Errorf("%q is not drawn whole", want)
					}
				}
			})
		}
	}
}

// TestLongNamesWrapWhole: a name longer than its cell wraps onto lines that
// hold every character once, in order, as poppler reads them back; and the
// rendering of every page succeeds.
func TestLongNamesWrapWhole(t *testing.T) {
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: make test installs poppler-utils", tool)
		}
	}
	m := newTestMaker(t, Options{})
	pdf, err := m.Registration(context.Background(), sampleRegistration(), testDigest, "zh", "http://127.0.0.1/verify")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "c.pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	joined := strings.Join(lines, "")
	if !strings.Contains(joined, longName) {
		t.Errorf("the long name does not survive its wrapping:\n%s", out)
	}
	if strings.Contains(string(out), longName) {
		t.Errorf("the long name was not wrapped at all, so this test tests nothing")
	}
	if !strings.Contains(string(out), rareName) {
		t.Errorf("%s is not in the text", rareName)
	}
	if err := exec.Command("pdftoppm", "-png", "-r", "72", file, filepath.Join(dir, "page")).Run(); err != nil {
		t.Fatalf("pdftoppm: %v", err)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(pngs) == 0 {
		t.Fatal("no page rendered")
	}
}

// TestACharacterNoFontHasIsShownAsAPlaceholder: a character that none of the
// fonts has is neither dropped nor a failure: it is drawn as a visible
// placeholder naming it.
func TestACharacterNoFontHasIsShownAsAPlaceholder(t *testing.T) {
	m := newTestMaker(t, Options{})
	fs, _ := m.fontSet()
	var missing rune
	for _, r := range []rune{0x1E900, 0x16A0, 0x11400, 0x1D400, 0xA000, 0x1F600} { // Adlam, Runic, Newa, maths, Yi, emoji
		if fs.pick(r) < 0 {
			missing = r
			break
		}
	}
	if missing == 0 {
		t.Skip("every candidate character has a font here")
	}
	r := sampleRegistration()
	r.Grantors[1].Name = "张" + string(missing) + "三"
	pdf, err := m.Registration(context.Background(), r, testDigest, "zh", "http://127.0.0.1/verify")
	if err != nil {
		t.Fatal(err)
	}
	if want := "张" + placeholder(missing) + "三"; !strings.Contains(text(glyphs(t, pdf)), want) {
		t.Errorf("%U is not shown as %q", missing, want)
	}
}

// TestSignedCertificatesVerify: poppler's pdfsig finds the registry's
// signature valid and covering the whole document.
func TestSignedCertificatesVerify(t *testing.T) {
	if _, err := exec.LookPath("pdfsig"); err != nil {
		t.Fatal("pdfsig is needed: make test installs poppler-utils")
	}
	key, cert, err := SelfSigned("Test Registry", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	m := newTestMaker(t, Options{Signer: s})
	for _, lang := range []string{"zh", "en"} {
		pdf, err := m.Registration(context.Background(), sampleRegistration(), testDigest, lang, "http://127.0.0.1/verify")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "signed.pdf")
		if err := os.WriteFile(file, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("pdfsig", file).CombinedOutput()
		for _, want := range []string{"Signer Certificate Common Name: Test Registry", "Total document signed", "Signature Validation: Signature is Valid."} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: pdfsig does not say %q:\n%s", lang, want, out)
			}
		}
		if strings.Contains(string(out), "Syntax Error") {
			t.Errorf("%s: pdfsig finds syntax errors:\n%s", lang, out)
		}
	}
	if _, err := ParseSigner(key, []byte("not a certificate")); err == nil {
		t.Error("a signer without a certificate was accepted")
	}
	otherKey, _, _ := SelfSigned("Other", time.Now())
	if _, err := ParseSigner(otherKey, cert); err == nil {
		t.Error("a certificate of another key was accepted")
	}
}

// keeper is a Keeper in memory that can hold a maker at KeepDocument.
type keeper struct {
	mu   sync.Mutex
	docs map[string][]byte
	hold chan struct{}
}

func (k *keeper) Document(_ context.Context, number, lang, edition string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.docs[number+lang+edition]; ok {
		return b, nil
	}
	return nil, registry.ErrNotFound
}

func (k *keeper) KeepDocument(_ context.Context, number, lang, edition string, pdf []byte) ([]byte, error) {
	if k.hold != nil {
		<-k.hold
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.docs[number+lang+edition]; ok {
		return b, nil
	}
	k.docs[number+lang+edition] = pdf
	return pdf, nil
}

// TestCertificatesAreMadeOnceAndBounded: the same certificate is the same
// bytes every time, a new version is made anew, and a maker that has all
// its turns taken refuses with a retry rather than queueing without end.
func TestCertificatesAreMadeOnceAndBounded(t *testing.T) {
	k := &keeper{docs: map[string][]byte{}}
	clock := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	m := newTestMaker(t, Options{Keeper: k, Now: func() time.Time { clock = clock.Add(time.Second); return clock }, Concurrent: 1, Wait: 100 * time.Millisecond})
	ctx := context.Background()
	r := sampleRegistration()
	a, err := m.Registration(ctx, r, testDigest, "en", "http://127.0.0.1/verify")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Registration(ctx, r, testDigest, "en", "http://127.0.0.1/verify")
	if string(a) != string(b) {
		t.Error("the same certificate came out as other bytes")
	}
	r.Version++
	c, _ := m.Registration(ctx, r, testDigest, "en", "http://127.0.0.1/verify")
	if string(a) == string(c) {
		t.Error("a new version came out as the old certificate")
	}

	k.hold = make(chan struct{})
	done := make(chan error, 1)
	r.Version++
	go func() {
		_, err := m.Registration(ctx, r, testDigest, "zh", "http://127.0.0.1/verify")
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(m.turns) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	_, err = m.Search(ctx, sampleSearch(), testDigest, "zh", "http://127.0.0.1/verify")
	var busy *registry.UnavailableError
	if !errors.As(err, &busy) || busy.RetryAfter <= 0 {
		t.Errorf("a maker with no turn free answered %v, want unavailable with a retry", err)
	}
	close(k.hold)
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestMissingFontsSayWhatToInstall: a font that is not there makes each
// certificate fail with the package that brings it, not a panic.
func TestMissingFontsSayWhatToInstall(t *testing.T) {
	m := New(Options{Fonts: []string{"/nonexistent/font.ttf"}})
	_, err := m.Registration(context.Background(), sampleRegistration(), testDigest, "zh", "http://x/verify")
	if err == nil || !strings.Contains(err.Error(), "apt-get install "+FontPackages) {
		t.Errorf("got %v", err)
	}
}

// TestManyAskingAtOnceCostOneMaking: forty clerks opening the same long
// statement at once get the same bytes, and it is made once.
func TestManyAskingAtOnceCostOneMaking(t *testing.T) {
	m := newTestMaker(t, Options{Keeper: &keeper{docs: map[string][]byte{}}})
	r := sampleRegistration()
	for i := range 1000 {
		r.Collateral.Items = append(r.Collateral.Items, registry.Item{ID: strconv.Itoa(i), Type: "equipment",
			SerialNumber: "SN-" + strconv.Itoa(100000+i), Description: "数控机床配套刀库", RegisteredAt: r.RegisteredAt})
	}
	var wg sync.WaitGroup
	got := make([][]byte, 40)
	errs := make([]error, 40)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = m.Registration(context.Background(), r, testDigest, "zh", "http://127.0.0.1/verify")
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("asker %d: %v", i, errs[i])
		}
		if string(got[i]) != string(got[0]) {
			t.Fatalf("asker %d got other bytes", i)
		}
	}
	if n := m.made.Load(); n != 1 {
		t.Errorf("made %d times, want once", n)
	}
}

func BenchmarkRegistrationPDF(b *testing.B) {
	for _, items := range []int{1, 1000} {
		b.Run(strconv.Itoa(items)+" items", func(b *testing.B) {
			m := New(Options{})
			r := sampleRegistration()
			for i := range items {
				r.Collateral.Items = append(r.Collateral.Items, registry.Item{ID: strconv.Itoa(i), Type: "equipment",
					SerialNumber: "SN-" + strconv.Itoa(100000+i), Description: "数控机床配套刀库", RegisteredAt: r.RegisteredAt})
			}
			for b.Loop() {
				r.Version++ // no keeper: each is made anew anyway
				if _, err := m.Registration(context.Background(), r, testDigest, "zh", "http://127.0.0.1/verify"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestAnObjectionThatStandsIsOnTheCertificate: a registration under
// objection says so on its certificate, in either language: the objection's
// number, when it was filed and when it lapses (or, once litigating, that it
// stands until the case ends); an objection that no longer stands is not
// called one. The search certificate marks such a result as well. And the
// certificate names a mainland party's representative as the page does
// (法定代表人或负责人).
func TestAnObjectionThatStandsIsOnTheCertificate(t *testing.T) {
	m := newTestMaker(t, Options{})
	ctx := context.Background()
	filed := registry.At(time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC))
	lapses := registry.At(time.Date(2027, 1, 7, 2, 0, 0, 0, time.UTC))
	objected := sampleRegistration()
	objected.Number = "02612070000123OBJ"
	objected.Objections = []registry.Objection{
		{Number: "02612080000000771", Status: registry.ObjectionActive, FiledAt: filed, LapsesAt: &lapses},
		{Number: "02612080000000882", Status: registry.ObjectionLitigating, FiledAt: filed},
		{Number: "02612080000000993", Status: registry.ObjectionWithdrawn, FiledAt: filed},
	}
	withdrawn := sampleRegistration()
	withdrawn.Number = "02612070000123WDN"
	withdrawn.Objections = []registry.Objection{{Number: "02612080000000993", Status: registry.ObjectionWithdrawn, FiledAt: filed}}
	search := sampleSearch()
	search.Number = "S26120700000OBJ"
	search.Results = []registry.SearchResult{{Registration: objected, MatchedBy: registry.MatchCurrentName}}
	for _, lang := range []string{"zh", "en"} {
		pdf, err := m.Registration(ctx, objected, testDigest, lang, "https://registry.example.cn/verify")
		if err != nil {
			t.Fatal(err)
		}
		saveForLooking(t, "objected-registration-"+lang+".pdf", pdf)
		drawn := strings.ReplaceAll(text(glyphs(t, pdf)), " ", "")
		for _, want := range []string{catalogWord(t, lang, "pdf.under_objection"), catalogWord(t, lang, "objection.standing_note"),
			"02612080000000771", "02612080000000882", catalogWord(t, lang, "objection.lapses_at"), catalogWord(t, lang, "objection.until_case"),
			"2027", catalogWord(t, lang, "party.legal_representative")} {
			if !strings.Contains(drawn, strings.ReplaceAll(want, " ", "")) {
				t.Errorf("%s: the certificate of a registration under objection lacks %q", lang, want)
			}
		}
		if strings.Contains(drawn, "02612080000000993") {
			t.Errorf("%s: a withdrawn objection is shown as standing", lang)
		}
		pdf, err = m.Registration(ctx, withdrawn, testDigest, lang, "https://registry.example.cn/verify")
		if err != nil {
			t.Fatal(err)
		}
		if drawn := strings.ReplaceAll(text(glyphs(t, pdf)), " ", ""); strings.Contains(drawn, strings.ReplaceAll(catalogWord(t, lang, "pdf.under_objection"), " ", "")) {
			t.Errorf("%s: a registration whose objection was withdrawn is said to be under objection", lang)
		}
		pdf, err = m.Search(ctx, search, testDigest, lang, "https://registry.example.cn/verify")
		if err != nil {
			t.Fatal(err)
		}
		if drawn := strings.ReplaceAll(text(glyphs(t, pdf)), " ", ""); !strings.Contains(drawn, strings.ReplaceAll(catalogWord(t, lang, "objection.under"), " ", "")) {
			t.Errorf("%s: the search certificate does not mark a result under objection", lang)
		}
		saveForLooking(t, "objected-search-"+lang+".pdf", pdf)
	}
}

// saveForLooking keeps a certificate under REGISTRY_SCREENSHOTS, when set,
// for a person to look at.
func saveForLooking(t *testing.T, name string, pdf []byte) {
	t.Helper()
	if dir := os.Getenv("REGISTRY_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCountsAgreeWithTheirNumber: the English search certificate says "1
// registration", "1 month", "1 more result", and the plural for more; the
// Chinese one has no plural and says the same words for any count.
func TestCountsAgreeWithTheirNumber(t *testing.T) {
	m := newTestMaker(t, Options{})
	ctx := context.Background()
	for _, c := range []struct {
		lang    string
		results int
		want    []string
		notWant []string
	}{
		{"en", 1, []string{"1registration", "1month"}, []string{"1registrations", "1months"}},
		{"en", 2, []string{"2registrations", "1moreresultis"}, []string{"1moreresultsare"}},
		{"en", 3, []string{"3registrations", "2moreresultsare"}, nil},
		{"zh", 1, []string{"共1项登记"}, nil},
	} {
		t.Run(fmt.Sprintf("%s %d", c.lang, c.results), func(t *testing.T) {
			s := sampleSearch()
			s.ResultCount = c.results
			s.Truncated = c.results > 1
			s.Results[0].Registration.PeriodMonths = 1
			pdf, err := m.Search(ctx, s, testDigest, c.lang, "https://registry.example.cn/verify")
			if err != nil {
				t.Fatal(err)
			}
			reg, err := m.Registration(ctx, s.Results[0].Registration, testDigest, c.lang, "https://registry.example.cn/verify")
			if err != nil {
				t.Fatal(err)
			}
			saveForLooking(t, fmt.Sprintf("count-%s-%d.pdf", c.lang, c.results), pdf)
			drawn := strings.ReplaceAll(text(glyphs(t, pdf))+text(glyphs(t, reg)), " ", "")
			for _, w := range c.want {
				if !strings.Contains(drawn, w) {
					t.Errorf("the certificates do not say %q:\n%s", w, drawn)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(drawn, w) {
					t.Errorf("the certificates say %q", w)
				}
			}
		})
	}
}
