package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/words"
)

// The browser tests drive Debian's chromium, headless, through the pages a
// bank clerk, a grantor and an auditor use, in each language. A screenshot
// of each step goes to REGISTRY_SCREENSHOTS when it is set (make
// screenshots sets artifacts/screenshots); a failure's screenshot is kept
// always, its path in the test's log.

func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	// Chromium's headless shell first: the same Blink, without the full
	// browser around it. Measured beside the full browser's headless mode
	// on the same pages: a third of the CPU a navigation takes, a fifth of a
	// new tab's, and about nothing while idle; the web tests' Chromium
	// used more CPU than any other process of make test.
	for _, name := range []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium: make test installs it (apt-get install chromium), or set CHROMIUM to a Chrome binary")
	return ""
}

// catalog is a language's translations, as the site reads them.
type catalog map[string]string

func loadCatalog(t *testing.T, lang string) catalog {
	t.Helper()
	c, err := words.Catalogs()
	if err != nil {
		t.Fatal(err)
	}
	return c[lang]
}

func (c catalog) tr(key string, args ...any) string {
	msg, ok := c[key]
	if !ok {
		panic("no translation " + key)
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// tab is one tab on the site, in a browser context of its own (so its own
// cookies and storage, as a profile of its own would have).
type tab struct {
	t    *testing.T
	ctx  context.Context
	site *site
	lang string
	shot string // the screenshot folder
}

// theBrowser is the one Chromium the package's tests share, started by the
// first tab and stopped by TestMain: a browser takes seconds to start, a
// browser context a few milliseconds.
var theBrowser struct {
	once sync.Once
	ctx  context.Context // the browser's first tab, the parent of every other
	stop func()
	err  error
}

// chromiumContext is the shared browser's context, started on the first call.
func chromiumContext(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	theBrowser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.WindowSize(1280, 900),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		// The first call starts the browser and must not time out: a
		// timeout on it would stop the browser.
		ctx, cancelFirst := chromedp.NewContext(actx)
		theBrowser.ctx, theBrowser.stop = ctx, func() { cancelFirst(); cancelAlloc() }
		theBrowser.err = chromedp.Do(ctx)
	})
	if theBrowser.err != nil {
		t.Fatalf("starting %s: %v", path, theBrowser.err)
	}
	return theBrowser.ctx
}

// TestMain stops the shared browser, if a test started it, and drops the
// pool's databases (pgtest.Close) after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if theBrowser.stop != nil {
		theBrowser.stop()
	}
	pgtest.Close()
	os.Exit(code)
}

func (s *site) open(t *testing.T, lang string) *tab {
	t.Helper()
	browserTurn(t)
	ctx, cancelTab := takeTab(t)
	t.Cleanup(func() { giveBackTab(t, ctx, cancelTab) })
	dir := os.Getenv("REGISTRY_SCREENSHOTS")
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b := &tab{t: t, ctx: ctx, site: s, lang: lang, shot: dir}
	b.do(chromedp.Navigate(s.url + "/lang/" + lang + "?next=/"))
	return b
}

// tabs are the tabs of tests that passed, kept for later tests: each in a
// browser context of its own, blank and without cookies (so as a new
// profile would be: the site's sessions and language are cookies, and each
// test's site has an origin of its own). A new browser context and its
// renderer cost the browser about 0.17 CPU seconds, clearing one next to
// nothing.
var tabs struct {
	sync.Mutex
	free []pooledTab
}

type pooledTab struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// takeTab is a kept tab, or a new one in a new browser context, in a window
// of its own (so it is never hidden behind another tab).
func takeTab(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	tabs.Lock()
	if n := len(tabs.free); n > 0 {
		p := tabs.free[n-1]
		tabs.free = tabs.free[:n-1]
		tabs.Unlock()
		return p.ctx, p.cancel
	}
	tabs.Unlock()
	ctx, cancel := chromedp.NewContext(chromiumContext(t), chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx, cancel
}

// giveBackTab keeps a passed test's tab for the next, blank, without cookies
// and printing as a screen; a failed test's tab (whatever state it was left
// in) is closed with its browser context.
func giveBackTab(t *testing.T, ctx context.Context, cancel context.CancelFunc) {
	if t.Failed() {
		cancel()
		return
	}
	clear, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	_, err := chromedp.Run(clear, chromedp.Steps(chromedp.Navigate("about:blank"), chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		if _, err := cdp.Call(ctx, target, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		return err
	})))
	if err != nil {
		cancel()
		return
	}
	tabs.Lock()
	tabs.free = append(tabs.free, pooledTab{ctx, cancel})
	tabs.Unlock()
}

// browsers bounds the tests that drive a browser at once to one for each
// two CPUs: a browser keeps a CPU busy, and its steps time out after 30 s.
var browsers = struct {
	sync.Mutex
	turn   chan struct{}
	taking map[*testing.T]bool
}{turn: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)), taking: map[*testing.T]bool{}}

// browserTurn waits for t's turn to drive browsers, which it keeps (for
// every tab it opens) until it ends.
func browserTurn(t *testing.T) {
	browsers.Lock()
	has := browsers.taking[t]
	browsers.taking[t] = true
	browsers.Unlock()
	if has {
		return
	}
	browsers.turn <- struct{}{}
	t.Cleanup(func() {
		browsers.Lock()
		delete(browsers.taking, t)
		browsers.Unlock()
		<-browsers.turn
	})
}

// do runs steps in the browser, each batch within 30 seconds.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	run(b, chromedp.Steps(steps...))
}

// run runs one action in the browser and returns its value; a failure ends
// the test with the page's address and a screenshot.
func run[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.keepScreenshot("failure")
		b.t.Fatalf("in the browser at %s: %v", loc, err)
	}
	return v
}

// typeIn enters text into the first visible element sel selects, focused,
// as a keyboard's input method or a paste enters it: in one input event
// (Input.insertText), so the page's scripts see it as they see a user's.
// A trailing Enter is pressed as a key, which submits the form. Typed a
// key at a time (chromedp.SendKeys), text cost the browser about 3 ms of
// CPU a character, a fifth of what the web tests' Chromium spent.
func typeIn(sel, text string) chromedp.Action[chromedp.Void] {
	enter := strings.HasSuffix(text, kb.Enter)
	text = strings.TrimSuffix(text, kb.Enter)
	// One query waits for the element to be visible and focuses it.
	steps := []chromedp.Action[chromedp.Void]{chromedp.Focus(chromedp.CSS(sel), chromedp.NodeVisible)}
	if text != "" {
		steps = append(steps, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
			return err
		}))
	}
	if enter {
		steps = append(steps, chromedp.KeyEvent(kb.Enter))
	}
	return chromedp.Steps(steps...)
}

// text is the visible text of the first element sel selects.
func (b *tab) text(sel string) string {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	return strings.TrimSpace(run(b, chromedp.Text(chromedp.CSS(sel))))
}

// screenshot saves the whole page as REGISTRY_SCREENSHOTS/<lang>-<name>.png,
// for people to look at, when that is set. make test leaves it unset: a
// full-page PNG of every step was a third of the browser's CPU in a run.
func (b *tab) screenshot(name string) {
	if b.shot != "" {
		b.keepScreenshot(name)
	}
}

// keepScreenshot saves the whole page, in REGISTRY_SCREENSHOTS or else in
// a directory of its own that outlives the test, and logs where.
func (b *tab) keepScreenshot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := b.shot
	if dir == "" {
		if dir, err = os.MkdirTemp("", "registry-screenshot-"); err != nil {
			b.t.Error(err)
			return
		}
	}
	path := filepath.Join(dir, b.lang+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Error(err)
		return
	}
	if b.shot == "" {
		b.t.Logf("the page as it was: %s", path)
	}
}

// signIn signs in with the keyboard alone: type, then Enter.
func (b *tab) signIn(u user) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.site.url+"/signin"), chromedp.WaitVisible(chromedp.CSS("#email")),
		typeIn("#email", u.Email),
		typeIn("#password", password+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("form[action='/signout']")))
}

func (b *tab) search(name string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.site.url+"/search"), chromedp.WaitVisible(chromedp.CSS("#value")),
		chromedp.SetValue(chromedp.CSS("#criterion"), "grantor_name"),
		typeIn("#value", name+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#count")))
}

// measures fills, on the filing form, what the 2021 Measures ask of a new
// filing besides what a flow types: the first grantor's and secured
// party's address and legal representative, and the declaration that the
// grantor agreed.
func (b *tab) measures() {
	b.t.Helper()
	for _, side := range []string{"grantor", "secured"} {
		r := "[data-rows=" + side + "] [data-row]:nth-child(1) "
		b.do(chromedp.SetValue(chromedp.CSS(r+"input[name="+side+"_address]"), "上海市浦东新区张江路88号"),
			chromedp.SetValue(chromedp.CSS(r+"input[name="+side+"_legal_representative]"), "王建国"))
	}
	run(b, chromedp.Evaluate[bool](`(c => (c.checked = true))(document.querySelector("#agreed_with_grantor"))`))
}

// searchPage opens the search form and checks its fields are labelled.
func (b *tab) searchPage() {
	b.t.Helper()
	b.do(chromedp.Navigate(b.site.url+"/search"), chromedp.WaitVisible(chromedp.CSS("#value")))
	b.labelled()
	b.screenshot("search")
}

// labelled checks that every form field on the page has a label a screen
// reader announces: a <label>, or aria-label.
func (b *tab) labelled() {
	b.t.Helper()
	unlabelled := run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
		.filter(e => e.labels.length === 0 && !e.getAttribute("aria-label")).map(e => e.name || e.id)`))
	if len(unlabelled) > 0 {
		loc := run(b, chromedp.Location())
		b.t.Errorf("fields without a label on %s: %v", loc, unlabelled)
	}
}

// media emulates a CSS media type ("print"), or stops ("").
func (b *tab) media(m string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
		return err
	}))
}

// readQR decodes the QR code in a PNG with ZXing's decoder.
func readQR(t *testing.T, pngBytes []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the QR code does not decode: %v", err)
	}
	return res.GetText()
}

// fitsThePhone checks that a phone-wide page needs no sideways scrolling.
func (b *tab) fitsThePhone(path, name string) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(b.site.url+path), chromedp.WaitVisible(chromedp.CSS("main")))
	overflow := run(b, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	b.screenshot("phone-" + name)
	if overflow {
		b.t.Errorf("%s is wider than a phone's screen", path)
	}
	b.do(chromedp.EmulateViewport(1280, 900))
}

func TestBrowserFlows(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser flows take a while")
	}
	for i, lang := range []string{"zh", "en"} {
		t.Run(lang, func(t *testing.T) {
			// Each language on a register of its own, beside the other.
			t.Parallel()
			s := newSite(t)
			auditor := s.staff("auditor")
			c := loadCatalog(t, lang)
			bankID, bankCode := s.org(fmt.Sprintf("上海浦东发展银行股份有限公司张江科技支行%d", i), "financial_institution")
			bank := s.user(bankID, bankCode, "registrant", "searcher")
			grantorID, grantorCode := s.org(fmt.Sprintf("上海星辰精密机械有限公司%d", i), "enterprise")
			grantor := s.user(grantorID, grantorCode, "registrant")
			// Each language files under its own name, so their searches
			// do not find each other's registrations.
			name := []string{"上海星辰精密机械(集团)有限公司", "上海北辰精密机械(集团)有限公司"}[i]
			fullWidth := strings.NewReplacer("(", "（", ")", "）").Replace(name)

			var number string
			t.Run("a bank files, searches, prints and cancels", func(t *testing.T) {
				b := s.open(t, lang)
				b.do(chromedp.WaitVisible(chromedp.CSS("body")), chromedp.KeyEvent(kb.Tab))
				first := run(b, chromedp.Evaluate[string](`document.activeElement.className`))
				if first != "skip" {
					t.Errorf("the first Tab reaches %q, not the skip link", first)
				}
				b.signIn(bank)
				b.searchPage()
				b.do(chromedp.Click(chromedp.CSS("a[href='/registrations/new']")), chromedp.WaitVisible(chromedp.CSS("form[action='/registrations']")))
				b.labelled()
				if got := b.text("h1"); got != c.tr("file.title") {
					t.Errorf("filing page heading %q", got)
				}
				g := "[data-rows=grantor] [data-row] "
				b.do(typeIn(g+"input[name=grantor_name]", name),
					typeIn(g+"input[name=grantor_uscc]", "91310115MA1K3YJ12X"))
				// The USCC is checked as it is typed.
				if got := b.text(g + ".field-error"); got != c.tr("error.invalid_uscc") {
					t.Errorf("a USCC with a wrong check character shows %q", got)
				}
				run(b, chromedp.Evaluate[bool](`(i => (i.value = "", true))(document.querySelector("[data-rows=grantor] input[name=grantor_uscc]"))`))
				b.do(typeIn(g+"input[name=grantor_uscc]", grantorCode))
				shown := run(b, chromedp.Text(chromedp.CSS(g+".field-error"), chromedp.NodeReady))
				if strings.TrimSpace(shown) != "" {
					t.Errorf("a valid USCC still shows %q", shown)
				}
				// Repeatable rows: a second item.
				b.do(chromedp.Click(chromedp.CSS("[data-add-row=item]")),
					typeIn("[data-rows=item] [data-row]:nth-child(1) input[name=item_serial_number]", "DMG-2019-004411"),
					typeIn("[data-rows=item] [data-row]:nth-child(2) input[name=item_serial_number]", "DMG-2019-004412"),
					chromedp.SetValue(chromedp.CSS("#max_amount"), "5000000.00"))
				// Without a description the server refuses, and says so
				// beside the field, keeping what was typed.
				b.do(chromedp.Click(chromedp.CSS("form[action='/registrations'] button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#description + .field-error")))
				if got := b.text("#description + .field-error"); got != c.tr("field.required") {
					t.Errorf("the missing description shows %q", got)
				}
				// So are what the 2021 Measures ask of a new filing: the
				// grantor's address and legal representative, and the
				// declaration that the grantor agreed.
				for _, sel := range []string{g + "label:has(input[name=grantor_address]) + .field-error", g + "label:has(input[name=grantor_legal_representative]) + .field-error"} {
					if got := b.text(sel); got != c.tr("field.required") {
						t.Errorf("%s shows %q", sel, got)
					}
				}
				if got := b.text("#agreed-hint + .field-error"); got != c.tr("field.agreed_with_grantor") {
					t.Errorf("the missing declaration shows %q", got)
				}
				summary := b.text("#errors")
				for _, label := range []string{c.tr("party.address"), c.tr("party.legal_representative"), c.tr("file.agreed_with_grantor")} {
					if !strings.Contains(summary, label) {
						t.Errorf("the error summary does not name %q: %q", label, summary)
					}
				}
				items := run(b, chromedp.Evaluate[int](`document.querySelectorAll("[data-rows=item] [data-row]").length`))
				if items != 2 {
					t.Errorf("%d item rows after the refusal, want the 2 typed", items)
				}
				b.screenshot("filing-errors")
				b.measures()
				b.do(chromedp.SetValue(chromedp.CSS("#principal_amount"), "3000000.00"),
					typeIn("#security_scope", "主债权本金及利息"))
				b.do(typeIn("#description", "12 CNC machining centres at the Pudong plant"),
					chromedp.Click(chromedp.CSS("form[action='/registrations'] button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#modification-code")))
				number = b.text("dl.facts dd.number")
				if len(number) != 20 || len(b.text("#modification-code")) < 20 {
					t.Fatalf("filed as %q", number)
				}
				b.screenshot("filed")
				facts := b.text("dl.facts")
				for _, want := range []string{c.tr("reg.principal_amount"), c.tr("reg.security_scope"), "主债权本金及利息", c.tr("reg.agreed_declared")} {
					if !strings.Contains(facts, want) {
						t.Errorf("the filed registration does not show %q: %q", want, facts)
					}
				}
				if parties := b.text("ul.parties"); !strings.Contains(parties, "上海市浦东新区张江路88号") || !strings.Contains(parties, "王建国") {
					t.Errorf("the parties shown: %q", parties)
				}
				// Each party's address and representative on a line of its own.
				if d := run(b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("ul.parties .detail")).display`)); d != "block" {
					t.Errorf("a party's details are shown %q, not on lines of their own", d)
				}
				// The printable certificate says the same.
				b.do(chromedp.Navigate(s.url+"/registrations/"+number+"/certificate"), chromedp.WaitVisible(chromedp.CSS("article.certificate")))
				if cert := b.text("article.certificate"); !strings.Contains(cert, c.tr("reg.agreed_declared")) || !strings.Contains(cert, "主债权本金及利息") ||
					!strings.Contains(cert, "上海市浦东新区张江路88号") {
					t.Errorf("the certificate: %q", cert)
				}
				b.screenshot("registration-certificate")

				// Search by the name with full-width brackets.
				b.search(fullWidth)
				if got := b.text("#count"); got != c.tr("result.count", 1) {
					t.Fatalf("search for %s: %q", fullWidth, got)
				}
				if got := b.text("article.result h3 a"); got != number {
					t.Errorf("the result is %q, want %s", got, number)
				}
				b.screenshot("search-result")
				b.labelled()
				searchNumber := b.text("dl.facts dd.number")

				b.do(chromedp.Click(chromedp.CSS("a[href$='/certificate']")), chromedp.WaitVisible(chromedp.CSS("svg.qr")))
				if got := b.text(".cert-number .number"); got != searchNumber {
					t.Errorf("the certificate's number %q, want %s", got, searchNumber)
				}
				if got := b.text(".qr-box .url"); !strings.HasSuffix(got, "/verify?number="+searchNumber) {
					t.Errorf("the QR code's address %q", got)
				}
				// The QR code, as the browser drew it, reads as the address.
				if got := readQR(t, run(b, chromedp.ScreenshotScale(chromedp.CSS("svg.qr"), 2))); got != b.text(".qr-box .url") {
					t.Errorf("the QR code reads %q", got)
				}
				b.screenshot("search-certificate")
				// The PDF the page offers, fetched with the browser's session
				// (the page's policy allows it no fetch of its own).
				href := run(b, chromedp.AttributeValue(chromedp.CSS("a.pdf"), "href")).Value
				var cookies []*network.Cookie
				b.do(chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
					res, err := cdp.Call(ctx, target, network.GetCookies, network.GetCookiesParams{})
					cookies = res.Cookies
					return err
				}))
				req, _ := http.NewRequest("GET", s.url+href, nil)
				for _, ck := range cookies {
					req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
				}
				if resp, err := http.DefaultClient.Do(req); err != nil {
					t.Error(err)
				} else {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-")) {
						t.Errorf("the certificate's PDF (%s): %s %s", href, resp.Status, resp.Header.Get("Content-Type"))
					}
					// The registry's signature holds, over the whole document.
					file := filepath.Join(t.TempDir(), "certificate.pdf")
					if err := os.WriteFile(file, body, 0o644); err != nil {
						t.Fatal(err)
					}
					sig, _ := exec.Command("pdfsig", file).CombinedOutput()
					if !strings.Contains(string(sig), "Signature is Valid.") || !strings.Contains(string(sig), "Total document signed") {
						t.Errorf("pdfsig on the certificate's PDF (%s):\n%s", href, sig)
					}
				}
				// Printed, the certificate stands alone: no navigation, no buttons.
				b.media("print")
				hidden := run(b, chromedp.Evaluate[bool](`["header.top", "footer", ".no-print"].every(s => getComputedStyle(document.querySelector(s)).display === "none")`))
				if !hidden {
					t.Error("the printed certificate shows the page's navigation or buttons")
				}
				pdf := run(b, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4)))
				if len(pdf) == 0 {
					t.Error("the printed certificate is an empty PDF")
				} else if b.shot != "" {
					if err := os.WriteFile(filepath.Join(b.shot, lang+"-search-certificate.pdf"), pdf, 0o644); err != nil {
						t.Error(err)
					}
				}
				b.media("")

				b.do(chromedp.Navigate(s.url+"/registrations/"+number), chromedp.WaitVisible(chromedp.CSS("#cancel"), chromedp.NodeReady))
				b.labelled()
				// The amount the registration secures, grouped, and in
				// capital numerals.
				if got := b.text("dl.facts dd.amount"); !strings.Contains(got, "5,000,000.00") || !strings.Contains(got, "人民币伍佰万元整") {
					t.Errorf("the amount is shown as %q", got)
				}

				// An amendment with an amount that is not one: the refusal is
				// summed up at the top of the page, which has the focus, and
				// shown beside the field, in the form left open.
				b.do(chromedp.Click(chromedp.CSS("details:has(#amend) > summary")),
					chromedp.SetValue(chromedp.CSS("#amend-max"), "三百万"),
					chromedp.Click(chromedp.CSS("#amend > button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#errors")))
				if got := run(b, chromedp.Evaluate[string](`document.activeElement.id`)); got != "errors" {
					t.Errorf("after the refusal the focus is on %q, not the summary of errors", got)
				}
				if top := run(b, chromedp.Evaluate[float64](`document.querySelector("#errors").getBoundingClientRect().top`)); top < 0 || top > 900 {
					t.Errorf("the summary of errors is out of sight, %v px down", top)
				}
				target := run(b, chromedp.AttributeValue(chromedp.CSS("#errors a"), "href")).Value
				beside := run(b, chromedp.Evaluate[bool](`(e => !!(e && e.previousElementSibling && e.previousElementSibling.querySelector("#amend-max")))(document.getElementById(document.querySelector("#errors a").hash.slice(1)))`))
				if !strings.HasPrefix(target, "#err-amend-max_secured_amount") || !beside {
					t.Errorf("the summary links to %q (beside the amount: %v), not to the error beside the amount", target, beside)
				}
				if open := run(b, chromedp.Evaluate[bool](`document.querySelector("details:has(#amend)").open`)); !open {
					t.Error("the amendment form with the error is folded away")
				}
				b.labelled()
				b.screenshot("amend-errors")

				// Extending a year before expiry is refused with the day the
				// window opens.
				b.do(chromedp.Navigate(s.url+"/registrations/"+number), chromedp.WaitVisible(chromedp.CSS("#extend"), chromedp.NodeReady),
					chromedp.Click(chromedp.CSS("details:has(#extend) > summary")),
					typeIn("#extend-months", "12"),
					chromedp.Click(chromedp.CSS("#extend button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#errors")))
				if got := b.text("#errors"); !strings.Contains(got, map[string]string{"zh": "（北京时间）起可以展期", "en": "(UTC+8)"}[lang]) {
					t.Errorf("the extension refusal does not say when: %q", got)
				}
				b.screenshot("extend-refused")

				// A new modification code, confirmed first.
				b.do(chromedp.Click(chromedp.CSS("form[action$='/modification-code'] button")), chromedp.WaitVisible(chromedp.CSS("#confirm-final")))
				b.screenshot("rotate-confirm")
				b.do(chromedp.Click(chromedp.CSS(".confirm-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#modification-code")))
				if got := b.text("#code-h + .code + p"); !strings.Contains(got, c.tr("code.replaced")) {
					t.Errorf("the new code does not say the old one stopped working: %q", got)
				}
				b.screenshot("code-rotated")

				// Cancelling takes a second step that says what cannot be
				// undone; going back changes nothing.
				b.do(chromedp.Navigate(s.url+"/registrations/"+number), chromedp.WaitVisible(chromedp.CSS("#cancel"), chromedp.NodeReady),
					chromedp.Click(chromedp.CSS("details:has(#cancel) > summary")),
					chromedp.SetValue(chromedp.CSS("#cancel-reason"), "debt_repaid"),
					chromedp.Click(chromedp.CSS("#cancel button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#confirm-final")))
				if got := b.text("h1"); got != c.tr("confirm.cancel.title") {
					t.Errorf("the confirmation's heading %q", got)
				}
				if got := b.text("#confirm-final"); got != c.tr("confirm.cancel.final") {
					t.Errorf("the confirmation says %q", got)
				}
				b.screenshot("cancel-confirm")
				b.do(chromedp.Click(chromedp.CSS(".confirm-form a")), chromedp.WaitVisible(chromedp.CSS("#cancel"), chromedp.NodeReady))
				if got := b.text("dl.facts .status"); got != c.tr("status.effective") {
					t.Errorf("status %q after going back from the confirmation", got)
				}
				b.do(chromedp.Click(chromedp.CSS("details:has(#cancel) > summary")),
					chromedp.SetValue(chromedp.CSS("#cancel-reason"), "debt_repaid"),
					chromedp.Click(chromedp.CSS("#cancel button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#confirm-final")),
					chromedp.Click(chromedp.CSS(".confirm-form button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS(".notice")))
				if got := b.text(".notice"); got != c.tr("notice.cancelled") {
					t.Errorf("after cancelling: %q", got)
				}
				if got := b.text("dl.facts .status"); got != c.tr("status.cancelled") {
					t.Errorf("status %q after cancelling", got)
				}
				b.search(fullWidth)
				if got := b.text("#count"); got != c.tr("result.count", 0) {
					t.Errorf("search after the cancellation: %q", got)
				}

				// A search sent after the session ended comes back, after
				// signing in again, as it was typed.
				b.do(chromedp.Navigate(s.url+"/search"), chromedp.WaitVisible(chromedp.CSS("#value")),
					chromedp.SetValue(chromedp.CSS("#criterion"), "serial_number"),
					typeIn("#value", "DMG-2019-004411"),
					chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
						// The session ends: its cookie is gone, the language stays.
						_, err := cdp.Call(ctx, target, network.DeleteCookies, network.DeleteCookiesParams{Name: "registry_session", URL: s.url})
						return err
					}),
					chromedp.Click(chromedp.CSS("form[action='/search'] button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#email")))
				if got := b.text(".notice"); got != c.tr("notice.session_ended_kept") {
					t.Errorf("the sign-in page after the session ended says %q", got)
				}
				b.screenshot("signin-session-ended")
				b.do(typeIn("#email", bank.Email),
					typeIn("#password", password+kb.Enter),
					chromedp.WaitVisible(chromedp.CSS("form[action='/signout']")), chromedp.WaitVisible(chromedp.CSS("#value")))
				if got := run(b, chromedp.Evaluate[string](`document.querySelector("#criterion").value + " " + document.querySelector("#value").value`)); got != "serial_number DMG-2019-004411" {
					t.Errorf("the search after signing in again: %q", got)
				}
				b.fitsThePhone("/search", "search")
				b.fitsThePhone("/registrations/new", "filing")
				b.fitsThePhone("/registrations/"+number, "registration")
			})
			if number == "" {
				t.FailNow()
			}

			t.Run("a page left open while the registration ended shows the way on", func(t *testing.T) {
				ended := s.file(bank, "上海星辰精密机械有限公司", grantorCode)
				b := s.open(t, lang)
				b.signIn(bank)
				b.do(chromedp.Navigate(s.url+"/registrations/"+ended), chromedp.WaitVisible(chromedp.CSS("#cancel"), chromedp.NodeReady))
				s.api(201, "POST", "/registrations/"+ended+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"})
				b.do(chromedp.Click(chromedp.CSS("details:has(#cancel) > summary")),
					chromedp.Click(chromedp.CSS("#cancel button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#reload")))
				if got := b.text("h1"); got != c.tr("error.registration_not_effective") {
					t.Errorf("the page says %q", got)
				}
				b.screenshot("stale-409")
				b.do(chromedp.Click(chromedp.CSS("#reload")), chromedp.WaitVisible(chromedp.CSS("dl.facts .status")))
				if got := b.text("dl.facts .status"); got != c.tr("status.cancelled") {
					t.Errorf("the registration reloaded shows %q", got)
				}
			})

			t.Run("the grantor files an objection", func(t *testing.T) {
				disputed := s.file(bank, "上海星辰精密机械有限公司", grantorCode)
				b := s.open(t, lang)
				b.signIn(grantor)
				// Blanks pass the browser's own check of a required field; the
				// server's refusal is shown beside it.
				b.do(chromedp.Navigate(s.url+"/registrations/"+disputed), chromedp.WaitVisible(chromedp.CSS("#statement")),
					typeIn("#statement", "   "),
					chromedp.Click(chromedp.CSS("#objection button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#statement + .field-error")))
				if got := b.text("#statement + .field-error"); got != c.tr("field.required") {
					t.Errorf("an empty statement shows %q", got)
				}
				b.do(typeIn("#statement", "本公司从未向该银行提供此项担保。"),
					chromedp.Click(chromedp.CSS("#objection button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS(".notice")))
				if got := b.text(".notice"); got != c.tr("notice.objection_filed") {
					t.Errorf("after the objection: %q", got)
				}
				// A warning: a sign (hidden from screen readers) before the words.
				if got := b.text("ul.objections .status"); got != "⚠ "+c.tr("objection.active") {
					t.Errorf("the objection shows %q", got)
				}
				b.screenshot("objection")
				b.labelled()
			})

			t.Run("the grantor reads its notices, watches and keeps a webhook", func(t *testing.T) {
				// The bank's filings naming the grantor by USCC made notices.
				itAdmin := s.user(grantorID, grantorCode, "org_admin", "searcher")
				b := s.open(t, lang)
				b.signIn(itAdmin)
				b.do(chromedp.Click(chromedp.CSS("a[href='/notices']")), chromedp.WaitVisible(chromedp.CSS("#unread")))
				unread := func() int {
					return run(b, chromedp.Evaluate[int](`document.querySelectorAll("table.notices tbody tr.unread").length`))
				}
				before := unread()
				if before < 2 {
					t.Fatalf("%d unread notices, want the two filings' at least", before)
				}
				if got := b.text("table.notices tbody tr.unread td:nth-child(2)"); got != c.tr("noticekind.registration_filed") {
					t.Errorf("the newest unread notice is %q", got)
				}
				b.labelled()
				b.screenshot("notices")
				b.do(chromedp.Click(chromedp.CSS("table.notices tbody tr.unread button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS(".notice")))
				if got := b.text(".notice"); got != c.tr("notice.notice_read") {
					t.Errorf("after marking read: %q", got)
				}
				if after := unread(); after != before-1 {
					t.Errorf("%d unread after marking one read, want %d", after, before-1)
				}

				// A watch: a blank value is refused beside the field, then a
				// serial number is watched.
				b.do(chromedp.Click(chromedp.CSS("a[href='/watches']")), chromedp.WaitVisible(chromedp.CSS("#new-watch")),
					chromedp.SetValue(chromedp.CSS("#watch-kind"), "serial_number"),
					typeIn("#watch-key", " "),
					chromedp.Click(chromedp.CSS("#new-watch button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#new-watch .field-error")))
				b.do(typeIn("#watch-key", "DMG-2019-00"+fmt.Sprint(4420+i)),
					typeIn("#watch-note", "借款人设备"),
					chromedp.Click(chromedp.CSS("#new-watch button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS(".notice")))
				if got := b.text(".notice"); got != c.tr("notice.watch_created") {
					t.Errorf("after watching: %q", got)
				}
				if got := b.text("table tbody tr td:nth-child(2)"); got != "DMG-2019-00"+fmt.Sprint(4420+i) {
					t.Errorf("the watch shows %q", got)
				}
				b.labelled()
				b.screenshot("watches")

				// A webhook: a private address is refused, loopback (allowed
				// by this site's settings) is kept; its deliveries page opens.
				b.do(chromedp.Click(chromedp.CSS("a[href='/webhooks']")), chromedp.WaitVisible(chromedp.CSS("#new-webhook")),
					typeIn("#webhook-url", "https://10.0.0.1/notices"),
					typeIn("#webhook-secret", "a webhook secret 0123456789"),
					chromedp.Click(chromedp.CSS("#new-webhook button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#webhook-url + .field-error, #webhook-url ~ .field-error")))
				if v := run(b, chromedp.Evaluate[string](`document.querySelector("#webhook-url").getAttribute("aria-invalid")`)); v != "true" {
					t.Errorf("the refused address is not marked invalid (%q)", v)
				}
				b.do(chromedp.SetValue(chromedp.CSS("#webhook-url"), "http://127.0.0.1:9/notices"),
					typeIn("#webhook-secret", "a webhook secret 0123456789"),
					chromedp.Click(chromedp.CSS("#new-webhook button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS(".notice")))
				if got := b.text(".notice"); got != c.tr("notice.webhook_created") {
					t.Errorf("after adding the webhook: %q", got)
				}
				b.labelled()
				b.screenshot("webhooks")
				b.do(chromedp.Click(chromedp.CSS("a[href$='/deliveries']")), chromedp.WaitVisible(chromedp.CSS("h1")))
				if got := b.text("h1"); got != c.tr("deliveries.title") {
					t.Errorf("the deliveries page's heading %q", got)
				}
			})

			t.Run("a clerk saves a draft, leaves, resumes it and files it", func(t *testing.T) {
				b := s.open(t, lang)
				b.signIn(bank)
				b.do(chromedp.Navigate(s.url+"/registrations/new"), chromedp.WaitVisible(chromedp.CSS("#save-draft")))
				g := "[data-rows=grantor] [data-row] "
				drafted := []string{"上海星辰草稿机械有限公司", "上海北辰草稿机械有限公司"}[i]
				b.do(typeIn(g+"input[name=grantor_name]", drafted),
					chromedp.Click(chromedp.CSS("#save-draft")),
					chromedp.WaitVisible(chromedp.CSS(".notice")))
				if got := b.text(".notice"); got != c.tr("notice.draft_saved") {
					t.Errorf("after saving the draft: %q", got)
				}
				b.screenshot("drafts")
				// Away and back: the draft is there to resume.
				b.searchPage()
				b.do(chromedp.Click(chromedp.CSS("a[href='/drafts']")), chromedp.WaitVisible(chromedp.CSS("table.drafts")))
				b.do(chromedp.Click(chromedp.CSS("table.drafts a.resume")), chromedp.WaitReady(chromedp.CSS("input[name=draft]")),
					chromedp.WaitVisible(chromedp.CSS(g+"input[name=grantor_uscc]")), chromedp.WaitVisible(chromedp.CSS("#description")))
				if got := run(b, chromedp.Evaluate[string](`document.querySelector("[data-rows=grantor] input[name=grantor_name]").value`)); got != drafted {
					t.Errorf("the resumed form's grantor %q, want %q", got, drafted)
				}
				b.measures()
				b.do(typeIn(g+"input[name=grantor_uscc]", grantorCode),
					typeIn("#description", "草稿中的设备一批"),
					chromedp.Click(chromedp.CSS("form[action='/registrations'] button.primary")),
					chromedp.WaitVisible(chromedp.CSS("#modification-code")))
				if n := b.text("dl.facts dd.number"); len(n) != 20 {
					t.Errorf("filed from the draft as %q", n)
				}
				b.do(chromedp.Navigate(s.url+"/drafts"), chromedp.WaitVisible(chromedp.CSS("h1")))
				if got := run(b, chromedp.Evaluate[int](`document.querySelectorAll("table.drafts tbody tr").length`)); got != 0 {
					t.Errorf("%d drafts left after filing", got)
				}
			})

			t.Run("a saved party fills a row of the filing form", func(t *testing.T) {
				saved := []string{"上海常用担保人有限公司", "上海常用客户有限公司"}[i]
				b := s.open(t, lang)
				b.signIn(bank)
				// Saved on its page: a wrong USCC is refused beside the field first.
				b.do(chromedp.Click(chromedp.CSS("a[href='/parties']")), chromedp.WaitVisible(chromedp.CSS("#new-party")),
					typeIn("#party-label", "常用"),
					typeIn("#party-name", saved),
					typeIn("#party-uscc", "91310115MA1K3YJ12X"),
					chromedp.Click(chromedp.CSS("#new-party button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#party-uscc + .field-error")))
				b.do(chromedp.SetValue(chromedp.CSS("#party-uscc"), grantorCode),
					chromedp.Click(chromedp.CSS("#new-party button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS(".notice")))
				if got := b.text(".notice"); got != c.tr("notice.party_saved") {
					t.Errorf("after saving the party: %q", got)
				}
				b.labelled()
				b.screenshot("parties")
				// And in a registration's amendment form, as a grantor to add.
				filedNumber := s.file(bank, "上海甲公司", grantorCode)
				b.do(chromedp.Navigate(s.url+"/registrations/"+filedNumber), chromedp.WaitVisible(chromedp.CSS("#add-saved-addg"), chromedp.NodeReady),
					chromedp.SetAttributeValue(chromedp.CSS("#amend"), "data-old", "1"))
				// The amendment form may be folded away: a script's click.
				run(b, chromedp.Evaluate[bool](`(b => (b.click(), true))(document.querySelector("#add-saved-addg"))`))
				b.do(chromedp.WaitNotPresent(chromedp.CSS("#amend[data-old]")),
					chromedp.WaitReady(chromedp.CSS("#amend")))
				amendRows := run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("[data-rows=addg] input[name=addg_name]")].map(i => i.value)`))
				if !slices.Contains(amendRows, saved) {
					t.Errorf("the amendment form's grantors to add: %q", amendRows)
				}
				b.do(chromedp.Navigate(s.url+"/registrations/new"), chromedp.WaitVisible(chromedp.CSS("#add-saved-grantor")),
					chromedp.Click(chromedp.CSS("#add-saved-grantor")),
					chromedp.WaitVisible(chromedp.CSS("[data-rows=grantor] [data-row]:nth-child(2)")))
				name := run(b, chromedp.Evaluate[string](`document.querySelector("[data-rows=grantor] [data-row]:nth-child(2) input[name=grantor_name]").value`))
				uscc := run(b, chromedp.Evaluate[string](`document.querySelector("[data-rows=grantor] [data-row]:nth-child(2) input[name=grantor_uscc]").value`))
				if name != saved || uscc != grantorCode {
					t.Errorf("the added row: %q %q, want %q %q", name, uscc, saved, grantorCode)
				}
				b.labelled()
			})

			t.Run("an attachment is uploaded and filed with a registration", func(t *testing.T) {
				list := filepath.Join(t.TempDir(), "collateral.csv")
				if err := os.WriteFile(list, []byte("serial_number,description\nDMG-2019-009001,机床\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				b := s.open(t, lang)
				b.signIn(bank)
				b.do(chromedp.Click(chromedp.CSS("a[href='/attachments']")), chromedp.WaitVisible(chromedp.CSS("#upload")),
					chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{list}),
					chromedp.Click(chromedp.CSS("#upload button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#uploaded")))
				id := b.text("#uploaded dd.attachment-id")
				b.labelled()
				b.screenshot("attachment")
				g := "[data-rows=grantor] [data-row] "
				b.do(chromedp.Navigate(s.url+"/registrations/new"), chromedp.WaitVisible(chromedp.CSS("#attachments")),
					typeIn(g+"input[name=grantor_name]", name),
					typeIn(g+"input[name=grantor_uscc]", grantorCode),
					typeIn("#description", "清单所列设备"),
					typeIn("#attachments", id))
				b.measures()
				b.do(chromedp.Click(chromedp.CSS("form[action='/registrations'] button.primary")),
					chromedp.WaitVisible(chromedp.CSS("#modification-code")))
				if got := b.text("ul.attachments a"); got != "text/csv" {
					t.Errorf("the filed registration's attachment: %q", got)
				}
			})

			t.Run("a CSV of filings is filed in bulk", func(t *testing.T) {
				csvFile := filepath.Join(t.TempDir(), "filings.csv")
				parties := ",上海市浦东新区,王建国,上海市浦东新区,李明,是\n"
				rows := "kind,grantor_name,grantor_uscc,secured_name,secured_uscc,description,period_months,serial_numbers," +
					"grantor_address,grantor_legal_representative,secured_address,secured_legal_representative,agreed_with_grantor\n" +
					"chattel_mortgage," + name + "," + grantorCode + ",某银行," + bankCode + ",设备一,12,BULK-" + lang + "-1" + parties +
					"chattel_mortgage," + name + ",91310115MA1K3YJ12X,某银行," + bankCode + ",设备二,12," + parties +
					"factoring," + name + "," + grantorCode + ",某银行," + bankCode + ",应收账款,24," + parties
				if err := os.WriteFile(csvFile, []byte(rows), 0o644); err != nil {
					t.Fatal(err)
				}
				b := s.open(t, lang)
				b.signIn(bank)
				b.do(chromedp.Click(chromedp.CSS("a[href='/registrations/bulk']")), chromedp.WaitVisible(chromedp.CSS("#bulk")),
					chromedp.SetUploadFiles(chromedp.CSS("#bulk-file"), []string{csvFile}),
					chromedp.Click(chromedp.CSS("#bulk button[type=submit]")),
					chromedp.WaitVisible(chromedp.CSS("#bulk-summary")))
				if got := b.text("#bulk-summary"); got != c.tr("bulk.summary", 2, 3) {
					t.Errorf("the summary %q", got)
				}
				refused := run(b, chromedp.Evaluate[string](`document.querySelector("table.bulk tr.refused td:nth-child(3)").textContent`))
				if !strings.Contains(refused, "grantors[0].uscc") {
					t.Errorf("the refused row says %q", refused)
				}
				b.labelled()
				b.screenshot("bulk")
			})

			t.Run("the clerk reopens a search from the history", func(t *testing.T) {
				b := s.open(t, lang)
				b.signIn(bank)
				b.do(chromedp.Click(chromedp.CSS("a[href='/searches']")), chromedp.WaitVisible(chromedp.CSS("table.history")))
				rows := run(b, chromedp.Evaluate[int](`document.querySelectorAll("table.history tbody tr").length`))
				if rows < 2 {
					t.Errorf("%d searches in the history, want the two made above at least", rows)
				}
				b.labelled()
				b.screenshot("history")
				number := b.text("table.history tbody tr td a")
				b.do(chromedp.Click(chromedp.CSS("table.history tbody tr td a")), chromedp.WaitVisible(chromedp.CSS("dl.facts dd.number")))
				if got := b.text("dl.facts dd.number"); got != number {
					t.Errorf("reopened %q, want %s", got, number)
				}
			})

			t.Run("anyone reads the statistics", func(t *testing.T) {
				b := s.open(t, lang)
				b.do(chromedp.Click(chromedp.CSS("a[href='/statistics']")), chromedp.WaitVisible(chromedp.CSS("table.stats")))
				if got := b.text("h1"); got != c.tr("stats.title") {
					t.Errorf("the statistics heading %q", got)
				}
				b.do(chromedp.SetValue(chromedp.CSS("#stats-by"), "kind"),
					chromedp.SetAttributeValue(chromedp.CSS("form[action='/statistics']"), "data-old", "1"),
					chromedp.Click(chromedp.CSS("form[action='/statistics'] button[type=submit]")),
					// The page by month has a chart too: wait for the next page.
					chromedp.WaitNotPresent(chromedp.CSS("form[data-old]")),
					chromedp.WaitVisible(chromedp.CSS("svg.stats-chart")))
				// Filings were made above: the chattel mortgages' bar and row.
				bars := run(b, chromedp.Evaluate[int](`document.querySelectorAll("svg.stats-chart rect.bar-registrations").length`))
				if bars == 0 {
					t.Error("the chart has no bars")
				}
				rows := run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.stats tbody tr")].map(r => r.cells[0].textContent + ":" + r.cells[1].textContent)`))
				found := false
				for _, r := range rows {
					if strings.HasPrefix(r, c.tr("kind.chattel_mortgage")+":") && r != c.tr("kind.chattel_mortgage")+":0" {
						found = true
					}
				}
				if !found {
					t.Errorf("no chattel mortgages counted: %q", rows)
				}
				b.labelled()
				b.screenshot("statistics")
			})

			t.Run("anyone verifies the cancelled registration's number", func(t *testing.T) {
				b := s.open(t, lang)
				// Typed as it is printed, in groups.
				b.do(chromedp.Navigate(s.url+"/verify"), chromedp.WaitVisible(chromedp.CSS("#number")),
					typeIn("#number", number[:4]+" "+number[4:8]+" "+number[8:12]+"-"+number[12:16]+"-"+number[16:]+kb.Enter),
					chromedp.WaitVisible(chromedp.CSS("section.verified")))
				if got := b.text(".standing"); got != c.tr("verify.standing.cancelled") {
					t.Errorf("the verified number's standing reads %q", got)
				}
				if got := b.text("dl.facts dd.number"); got != number {
					t.Errorf("the verified number reads %q, want %s", got, number)
				}
				b.screenshot("verify-cancelled")
				b.labelled()
			})

			t.Run("an auditor filters the audit trail", func(t *testing.T) {
				b := s.open(t, lang)
				b.signIn(auditor)
				b.do(chromedp.Navigate(s.url+"/audit"), chromedp.WaitVisible(chromedp.CSS("form.filters")),
					typeIn("input[name=target]", number),
					chromedp.Click(chromedp.CSS("fieldset.actions summary")),
					chromedp.Click(chromedp.CSS("input[name=action][value='registration.cancel']")),
					chromedp.SetAttributeValue(chromedp.CSS("form.filters"), "data-old", "1"),
					typeIn("input[name=organization_name]", fmt.Sprintf("张江科技支行%d", i)+kb.Enter),
					// The unfiltered page has a table too: wait for the next page.
					chromedp.WaitNotPresent(chromedp.CSS("form.filters[data-old]")),
					chromedp.WaitVisible(chromedp.CSS("form.filters")),
					chromedp.WaitVisible(chromedp.CSS("table.audit")))
				rows := run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.audit tbody tr")].map(r => [2, 3, 4, 5].map(i => r.cells[i].innerText.trim()).join(" | "))`))
				want := "测试用户\n" + bank.Email + "\n" + fmt.Sprintf("上海浦东发展银行股份有限公司张江科技支行%d", i) + " | " + c.tr("action.registration.cancel") + " | " + number + " | " + c.tr("outcome.success")
				if len(rows) != 1 || rows[0] != want {
					t.Errorf("the filtered trail: %q, want [%q]", rows, want)
				}
				export := run(b, chromedp.AttributeValue(chromedp.CSS("a[download]"), "href")).Value
				if !strings.Contains(export, "action=registration.cancel") || !strings.Contains(export, "target="+number) {
					t.Errorf("the export link %q does not carry the filters", export)
				}
				b.screenshot("audit")
				// Everything the bank's clerk did, refusals among it.
				b.do(chromedp.Navigate(s.url+"/audit?actor_email="+url.QueryEscape(bank.Email)), chromedp.WaitVisible(chromedp.CSS("table.audit")))
				b.screenshot("audit-all")
				b.labelled()
			})
		})
	}
}
