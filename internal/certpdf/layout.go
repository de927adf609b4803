package certpdf

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/signintech/gopdf"
	"github.com/skip2/go-qrcode"
	"golang.org/x/text/width"
)

// The page, in points: A4 with margins that leave room for a binding.
const (
	pageW, pageH = 595.28, 841.89
	marginX      = 50.0
	marginTop    = 48.0
	marginBottom = 64.0
	labelW       = 118.0 // the table's label column
	cellPad      = 5.0
	bodySize     = 10.0
	lineFactor   = 1.5 // line height as a multiple of the font size
)

// doc is one certificate being laid out: the PDF, its fonts, its language
// and where the next line goes.
type doc struct {
	pdf   *gopdf.GoPdf
	fonts *fontSet
	added []bool // the fonts added to this PDF so far
	l     map[string]string
	lang  string
	y     float64
	// footer is the certificate's number, printed at the foot of each page.
	footer string
	// sandbox marks each page as a test register's (sandboxMark).
	sandbox bool
	// translucent, when set, is how translucent text is drawn.
	translucent *gopdf.Transparency
	err         error // the first drawing error; later drawing is skipped
}

// atom is a character (or a placeholder for one) as the line breaker sees
// it: its font, its width in points, and whether a line may begin with it.
type atom struct {
	face       int
	text       string
	w          float64
	space      bool
	breakAfter bool // a line may end after it
}

// closing are characters a line must not begin with (they stay with what
// they close or follow), in Chinese and Latin typesetting alike.
const closing = "，。、；：？！）」』】》〉’”,.;:?!)]}%"

// wide reports whether r is set on its own square (CJK), between any two of
// which a line may break.
func wide(r rune) bool {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return true
	}
	return false
}

// atoms are text's characters in their fonts at size.
func (d *doc) atoms(text string, size float64) []atom {
	var out []atom
	for _, rn := range d.fonts.runs(text) {
		f := d.fonts.faces[rn.face]
		for _, r := range rn.text {
			a := atom{face: rn.face, text: string(r), w: f.advance(r) * size, space: unicode.IsSpace(r)}
			out = append(out, a)
		}
	}
	// A line may end after a space, and between wide characters (or a wide
	// and a narrow one), unless what follows is closing punctuation.
	for i := range out {
		next := rune(0)
		if i+1 < len(out) {
			next = []rune(out[i+1].text)[0]
		}
		cur := []rune(out[i].text)[0]
		switch {
		case next == 0 || strings.ContainsRune(closing, next) || unicode.IsSpace(next):
		case out[i].space:
			out[i].breakAfter = true
		case wide(cur) || wide(next):
			out[i].breakAfter = true
		case cur == '/':
			out[i].breakAfter = true // a long address breaks at its slashes
		}
	}
	return out
}

// wrap breaks text into lines no wider than w points at size. Every
// character is on exactly one line, in order: a line ends where a line may
// end, or, in a word longer than the line, where the line is full. Spaces at
// the end of a line are not drawn.
func (d *doc) wrap(text string, size, w float64) [][]atom {
	var lines [][]atom
	for _, para := range strings.Split(text, "\n") {
		as := d.atoms(para, size)
		if len(as) == 0 {
			lines = append(lines, nil)
			continue
		}
		start := 0
		for start < len(as) {
			used, end, lastBreak := 0.0, start, -1
			for end < len(as) && (used+as[end].w <= w || end == start || as[end].space) {
				used += as[end].w
				if as[end].breakAfter {
					lastBreak = end
				}
				end++
			}
			if end < len(as) && lastBreak >= start {
				end = lastBreak + 1
			}
			line := as[start:end]
			for len(line) > 0 && line[len(line)-1].space {
				line = line[:len(line)-1]
			}
			lines = append(lines, line)
			start = end
			for start < len(as) && as[start].space && start > 0 {
				start++ // a break's spaces are not carried to the next line
			}
		}
	}
	return lines
}

// lineWidth is a line's width in points.
func lineWidth(line []atom) float64 {
	w := 0.0
	for _, a := range line {
		w += a.w
	}
	return w
}

// use makes a font available to the PDF, the first time it is drawn with.
func (d *doc) use(face int) {
	if d.added[face] || d.err != nil {
		return
	}
	f := d.fonts.faces[face]
	d.err = d.pdf.AddTTFFontData(f.name, f.data)
	d.added[face] = true
}

// draw draws a line with its top-left corner at x, y.
func (d *doc) draw(line []atom, x, y, size float64) {
	for i := 0; i < len(line); {
		j := i
		var b strings.Builder
		w := 0.0
		for j < len(line) && line[j].face == line[i].face {
			b.WriteString(line[j].text)
			w += line[j].w
			j++
		}
		d.use(line[i].face)
		if d.err == nil {
			d.err = d.pdf.SetFont(d.fonts.faces[line[i].face].name, "", size)
		}
		if d.err == nil {
			d.pdf.SetXY(x, y)
			if d.translucent != nil {
				// Cell leaves the transparency set out of the text it draws.
				d.err = d.pdf.CellWithOption(nil, b.String(), gopdf.CellOption{Align: gopdf.Left | gopdf.Top, Float: gopdf.Right, Transparency: d.translucent})
			} else {
				d.err = d.pdf.Cell(nil, b.String())
			}
		}
		x += w
		i = j
	}
}

// text draws text at size from the left margin (align "L"), centred ("C")
// or to the right margin ("R"), wrapped to the page's width, and moves down.
func (d *doc) text(s string, size float64, align string) {
	lh := size * lineFactor
	for _, line := range d.wrap(s, size, pageW-2*marginX) {
		d.room(lh)
		x := marginX
		switch align {
		case "C":
			x = (pageW - lineWidth(line)) / 2
		case "R":
			x = pageW - marginX - lineWidth(line)
		}
		d.draw(line, x, d.y, size)
		d.y += lh
	}
}

// room starts a new page unless h points fit above the bottom margin.
func (d *doc) room(h float64) {
	if d.y+h > pageH-marginBottom {
		d.newPage()
	}
}

func (d *doc) newPage() {
	d.pdf.AddPage()
	if d.sandbox {
		d.sandboxHead()
	}
	d.y = marginTop
}

// sandboxHead says, at the top of a test register's page, that the
// certificate proves nothing (sandboxAcross says it again over the content).
func (d *doc) sandboxHead() {
	d.pdf.SetFillColor(190, 0, 0) // text is drawn in the fill colour
	d.pdf.SetTextColor(190, 0, 0)
	if head := d.wrap(d.word("sandbox_head"), 10, pageW-2*marginX); len(head) > 0 {
		d.draw(head[0], (pageW-lineWidth(head[0]))/2, 18, 10)
	}
	d.pdf.SetFillColor(0, 0, 0)
	d.pdf.SetTextColor(0, 0, 0)
}

// sandboxAcross draws the notice diagonally across the page, over the
// content (so that no cell's background hides it) but translucent, so that
// the content stays legible under it: a page cut from the rest, or a
// photograph of its middle, still carries it.
func (d *doc) sandboxAcross() {
	const size = 26.0
	d.translucent = &gopdf.Transparency{Alpha: 0.3, BlendModeType: gopdf.NormalBlendMode}
	d.pdf.SetFillColor(200, 0, 0)
	d.pdf.SetTextColor(200, 0, 0)
	d.pdf.Rotate(35, pageW/2, pageH/2)
	lines := d.wrap(d.word("sandbox_mark"), size, pageH*0.85)
	y := pageH/2 - float64(len(lines))*size*lineFactor/2
	for _, l := range lines {
		d.draw(l, (pageW-lineWidth(l))/2, y, size)
		y += size * lineFactor
	}
	d.pdf.RotateReset()
	d.translucent = nil
	d.pdf.SetFillColor(0, 0, 0)
	d.pdf.SetTextColor(0, 0, 0)
}

// rule draws a horizontal line across the page and moves down by gap.
func (d *doc) rule(gap float64) {
	d.pdf.SetStrokeColor(90, 90, 90)
	d.pdf.SetLineWidth(0.8)
	d.pdf.Line(marginX, d.y, pageW-marginX, d.y)
	d.y += gap
}

// row draws one row of the table: its label on the left, its value wrapped
// on the right, framed. A row taller than what is left of the page goes on
// over the next, its label marked as continued.
func (d *doc) row(label, value string) {
	if value == "" {
		value = d.word("none")
	}
	lh := bodySize * lineFactor
	valueW := pageW - 2*marginX - labelW - 2*cellPad
	lines := d.wrap(value, bodySize, valueW)
	labels := d.wrap(label, bodySize, labelW-2*cellPad)
	whole := float64(max(len(lines), len(labels), 1))*lh + 2*cellPad
	if d.y+whole > pageH-marginBottom && whole <= pageH-marginTop-marginBottom {
		d.newPage() // a row that fits on a page is not split
	}
	for first := true; first || len(lines) > 0; first = false {
		d.room(lh + 2*cellPad)
		fit := int((pageH - marginBottom - d.y - 2*cellPad) / lh)
		if !first {
			labels = d.wrap(label+d.word("continued"), bodySize, labelW-2*cellPad)
		}
		take := min(len(lines), fit)
		n := max(take, min(len(labels), fit), 1)
		h := float64(n)*lh + 2*cellPad
		d.pdf.SetFillColor(240, 240, 236)
		d.pdf.RectFromUpperLeftWithStyle(marginX, d.y, labelW, h, "F")
		d.pdf.SetStrokeColor(150, 150, 150)
		d.pdf.SetLineWidth(0.5)
		d.pdf.RectFromUpperLeftWithStyle(marginX, d.y, pageW-2*marginX, h, "D")
		d.pdf.Line(marginX+labelW, d.y, marginX+labelW, d.y+h)
		d.pdf.SetFillColor(0, 0, 0) // text is drawn in the fill colour
		d.pdf.SetTextColor(0, 0, 0)
		for i, l := range labels[:min(len(labels), n)] {
			d.draw(l, marginX+cellPad, d.y+cellPad+float64(i)*lh, bodySize)
		}
		for i, l := range lines[:take] {
			d.draw(l, marginX+labelW+cellPad, d.y+cellPad+float64(i)*lh, bodySize)
		}
		lines = lines[take:]
		d.y += h
	}
}

// qr draws the QR code of url with the address beside it.
func (d *doc) qr(url string) {
	png, err := qrcode.Encode(url, qrcode.Medium, 360)
	if err != nil {
		d.err = err
		return
	}
	const side = 96.0
	d.room(side + 8)
	img, err := gopdf.ImageHolderByBytes(png)
	if err == nil {
		err = d.pdf.ImageByHolder(img, marginX, d.y, &gopdf.Rect{W: side, H: side})
	}
	if err != nil && d.err == nil {
		d.err = err
	}
	x := marginX + side + 12
	y := d.y + 14
	for _, s := range []string{d.word("verify"), url} {
		for _, line := range d.wrap(s, 9, pageW-marginX-x) {
			d.draw(line, x, y, 9)
			y += 9 * lineFactor
		}
		y += 4
	}
	d.y += side + 8
}

// pageNumbers writes each page's foot: the certificate's number and "page i
// of n", once every page is laid out.
func (d *doc) pageNumbers() {
	n := d.pdf.GetNumberOfPages()
	for i := 1; i <= n; i++ {
		if err := d.pdf.SetPage(i); err != nil {
			d.err = err
			return
		}
		if d.sandbox {
			d.sandboxAcross()
		}
		d.pdf.SetStrokeColor(150, 150, 150)
		d.pdf.SetLineWidth(0.5)
		y := pageH - marginBottom + 20
		d.pdf.Line(marginX, y, pageW-marginX, y)
		left := d.wrap(d.footer, 8, pageW/2)
		right := d.wrap(fmt.Sprintf(d.word("page"), i, n), 8, pageW/2)
		if len(left) > 0 {
			d.draw(left[0], marginX, y+5, 8)
		}
		if len(right) > 0 {
			d.draw(right[0], pageW-marginX-lineWidth(right[0]), y+5, 8)
		}
	}
}
