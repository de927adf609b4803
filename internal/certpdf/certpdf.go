// Package certpdf makes the registry's certificates as PDF documents: a
// registration's verification statement and a search certificate, in
// Chinese or English, with a font that has the CJK characters embedded (a
// subset of it) and the QR code of the certificate's verification address.
package certpdf

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/go-pdf/fpdf"
	"github.com/skip2/go-qrcode"

	"github.com/movable-registry/registry/internal/registry"
)

// DefaultFont is Debian's fonts-droid-fallback, a TrueType font with the
// CJK characters (make test installs it).
const DefaultFont = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

// Maker makes certificates with one font file, read once.
type Maker struct {
	path string
	once sync.Once
	font []byte
	err  error
}

// New makes certificates with the TrueType font at path (DefaultFont when
// empty).
func New(path string) *Maker {
	if path == "" {
		path = DefaultFont
	}
	return &Maker{path: path}
}

func (m *Maker) fontBytes() ([]byte, error) {
	m.once.Do(func() {
		m.font, m.err = os.ReadFile(m.path)
		if m.err != nil {
			m.err = fmt.Errorf("the certificates' font %s: %w", m.path, m.err)
		}
	})
	return m.font, m.err
}

// labels are a certificate's words in each language.
var labels = map[string]map[string]string{
	"zh": {"registration": "动产和权利担保登记证明", "search": "动产和权利担保查询证明", "number": "编号", "kind": "登记类型", "status": "状态",
		"registered_at": "登记时间", "expires_at": "到期时间", "grantors": "担保人", "secured": "担保权人", "collateral": "担保财产",
		"items": "财产", "amount": "最高债权额", "searched_at": "查询时间", "as_of": "查询截止时点", "criteria": "查询条件",
		"position": "登记簿位置", "results": "查询结果", "none": "无", "verify": "扫码或访问以下地址验证本证明", "truncated": "（另有结果未列出，见联机证明）",
		"attachments": "附件（SHA-256）", "tz": "北京时间",
		"kind.chattel_mortgage": "动产抵押", "kind.receivables_pledge": "应收账款质押", "kind.document_pledge": "权利凭证质押",
		"kind.financial_lease": "融资租赁", "kind.factoring": "保理", "kind.retention_of_title": "所有权保留", "kind.other": "其他担保"},
	"en": {"registration": "Verification statement of a security interest", "search": "Search certificate", "number": "Number", "kind": "Kind",
		"status": "Status", "registered_at": "Registered at", "expires_at": "Expires at", "grantors": "Grantors", "secured": "Secured parties",
		"collateral": "Collateral", "items": "Items", "amount": "Maximum secured amount", "searched_at": "Searched at", "as_of": "As of",
		"criteria": "Criteria", "position": "Register position", "results": "Results", "none": "none", "verify": "Scan or visit to verify this certificate",
		"truncated": "(more results are in the certificate online)", "attachments": "Attachments (SHA-256)", "tz": "China Standard Time",
		"kind.chattel_mortgage": "Chattel mortgage", "kind.receivables_pledge": "Receivables pledge", "kind.document_pledge": "Pledge of documents of title",
		"kind.financial_lease": "Financial lease", "kind.factoring": "Factoring", "kind.retention_of_title": "Retention of title", "kind.other": "Other security"},
}

type doc struct {
	pdf  *fpdf.Fpdf
	l    map[string]string
	lang string
}

func (m *Maker) start(lang string) (*doc, error) {
	font, err := m.fontBytes()
	if err != nil {
		return nil, err
	}
	l, ok := labels[lang]
	if !ok {
		lang, l = "zh", labels["zh"]
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("cjk", "", font)
	pdf.SetTitle(l["registration"], true)
	pdf.SetCreator("registry", true)
	pdf.SetMargins(20, 20, 20)
	pdf.AddPage()
	return &doc{pdf: pdf, l: l, lang: lang}, nil
}

func (d *doc) title(key, number string) {
	d.pdf.SetFont("cjk", "", 18)
	d.pdf.CellFormat(0, 10, d.l[key], "", 1, "C", false, 0, "")
	d.pdf.SetFont("cjk", "", 11)
	d.pdf.CellFormat(0, 7, d.l["number"]+": "+number, "", 1, "C", false, 0, "")
	d.pdf.Ln(4)
}

func (d *doc) field(key, value string) {
	d.pdf.SetFont("cjk", "", 10)
	d.pdf.CellFormat(45, 6, d.l[key], "", 0, "L", false, 0, "")
	d.pdf.MultiCell(0, 6, value, "", "L", false)
}

func (d *doc) when(t registry.Time) string {
	return t.In(registry.Shanghai).Format("2006-01-02 15:04:05") + " (" + d.l["tz"] + ")"
}

func parties(ps []registry.Party) string {
	var out []string
	for _, p := range ps {
		id := p.USCC + p.IDNumber + p.RegistrationNumber
		if id != "" {
			id = " (" + id + ")"
		}
		out = append(out, p.Name+id)
	}
	return strings.Join(out, "\n")
}

// finish draws the QR code of verifyURL with the address under it.
func (d *doc) finish(verifyURL string) ([]byte, error) {
	png, err := qrcode.Encode(verifyURL, qrcode.Medium, 400)
	if err != nil {
		return nil, err
	}
	d.pdf.Ln(6)
	d.pdf.SetFont("cjk", "", 9)
	d.pdf.CellFormat(0, 6, d.l["verify"], "", 1, "L", false, 0, "")
	opts := fpdf.ImageOptions{ImageType: "PNG", ReadDpi: false}
	d.pdf.RegisterImageOptionsReader("qr", opts, bytes.NewReader(png))
	y := d.pdf.GetY()
	d.pdf.ImageOptions("qr", 20, y, 40, 40, false, opts, 0, "")
	d.pdf.SetXY(20, y+42)
	d.pdf.CellFormat(0, 6, verifyURL, "", 1, "L", false, 0, "")
	var b bytes.Buffer
	if err := d.pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Registration is a registration's verification statement.
func (m *Maker) Registration(r registry.Registration, lang, verifyURL string) ([]byte, error) {
	d, err := m.start(lang)
	if err != nil {
		return nil, err
	}
	d.title("registration", r.Number)
	d.field("kind", d.l["kind."+r.Kind])
	d.field("status", r.Status)
	d.field("registered_at", d.when(r.RegisteredAt))
	d.field("expires_at", d.when(r.ExpiresAt))
	d.field("grantors", parties(r.Grantors))
	d.field("secured", parties(r.SecuredParties))
	d.field("collateral", r.Collateral.Description)
	if len(r.Collateral.Items) > 0 {
		var items []string
		for _, it := range r.Collateral.Items {
			items = append(items, it.SerialNumber+" "+it.Description)
		}
		d.field("items", strings.Join(items, "\n"))
	}
	if len(r.Collateral.Attachments) > 0 {
		var atts []string
		for _, a := range r.Collateral.Attachments {
			atts = append(atts, a.MediaType+" "+a.SHA256)
		}
		d.field("attachments", strings.Join(atts, "\n"))
	}
	if m := r.MaxSecuredAmount; m != nil {
		d.field("amount", m.Amount+" "+m.Currency)
	}
	return d.finish(verifyURL)
}

// Search is a search certificate: its criteria and what it found.
func (m *Maker) Search(s registry.SearchCertificate, lang, verifyURL string) ([]byte, error) {
	d, err := m.start(lang)
	if err != nil {
		return nil, err
	}
	d.title("search", s.Number)
	d.field("searched_at", d.when(s.SearchedAt))
	d.field("as_of", d.when(s.AsOf))
	c := s.Criteria
	d.field("criteria", strings.TrimSpace(strings.Join([]string{c.GrantorName, c.USCC, c.LEI, c.IDNumber, c.RegistrationNumber, c.SerialNumber}, " ")))
	d.field("position", strconv.FormatInt(s.RegisterPosition, 10))
	var found []string
	for _, res := range s.Results {
		found = append(found, res.Registration.Number+"  "+parties(res.Registration.Grantors))
	}
	text := strconv.Itoa(s.ResultCount)
	if len(found) > 0 {
		text += "\n" + strings.Join(found, "\n")
	}
	if s.Truncated {
		text += "\n" + d.l["truncated"]
	}
	d.field("results", text)
	return d.finish(verifyURL)
}
