package certpdf

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// DefaultFonts are the TrueType fonts a certificate draws with, in the order
// they are asked for a character: DejaVu Sans for Latin letters, digits,
// punctuation, Greek and Cyrillic; Droid Sans Fallback for the CJK
// characters of the Basic Multilingual Plane; the Hanazono fonts for the CJK
// characters it lacks, above all those of Extension B and beyond (the rare
// characters of real names). They are Debian's fonts-dejavu-core,
// fonts-droid-fallback and fonts-hanazono.
var DefaultFonts = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
	"/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
}

// FontPackages install DefaultFonts on Debian.
const FontPackages = "fonts-dejavu-core fonts-droid-fallback fonts-hanazono"

// face is one font: its bytes for the PDF and its parsed tables for the
// characters it has and their widths.
type face struct {
	name string // the font's name in the PDF: f0, f1, …
	path string
	data []byte
	sfnt *sfnt.Font
	upem float64
	mu   sync.Mutex // sfnt.Buffer is not safe for concurrent use
	buf  sfnt.Buffer
}

// glyph is the font's glyph for r, 0 when it has none.
func (f *face) glyph(r rune) sfnt.GlyphIndex {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.sfnt.GlyphIndex(&f.buf, r)
	if err != nil {
		return 0
	}
	return g
}

// advance is the width of r in units of the em.
func (f *face) advance(r rune) float64 {
	g := f.glyph(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	adv, err := f.sfnt.GlyphAdvance(&f.buf, g, fixed.Int26_6(f.upem*64), font.HintingNone)
	if err != nil {
		return 0.5
	}
	return float64(adv) / 64 / f.upem
}

// fontSet is the fonts a certificate may draw with, in the order they are
// asked for a character, and the choice made for each character so far.
type fontSet struct {
	faces  []*face
	choice sync.Map // rune → int, the face that draws it (-1: none)
}

// loadFonts reads and parses the fonts at paths. Each must be a TrueType
// font (a collection or an OpenType font with CFF outlines is refused: the
// PDF embeds TrueType outlines).
func loadFonts(paths []string) (*fontSet, error) {
	if len(paths) == 0 {
		return nil, errors.New("no fonts named for the PDF certificates")
	}
	fs := &fontSet{}
	var missing []string
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			missing = append(missing, p)
			continue
		}
		f, err := sfnt.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("the certificates' font %s: %w", p, err)
		}
		fs.faces = append(fs.faces, &face{name: fmt.Sprintf("f%d", i), path: p, data: b, sfnt: f, upem: float64(f.UnitsPerEm())})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the certificates' fonts %s are missing (on Debian: apt-get install %s)", strings.Join(missing, ", "), FontPackages)
	}
	return fs, nil
}

// pick is the first font that has a glyph for r, or -1 when none has.
func (fs *fontSet) pick(r rune) int {
	if i, ok := fs.choice.Load(r); ok {
		return i.(int)
	}
	i := -1
	for j, f := range fs.faces {
		if f.glyph(r) != 0 {
			i = j
			break
		}
	}
	fs.choice.Store(r, i)
	return i
}

// run is text drawn in one font.
type run struct {
	face  int
	text  string
	width float64 // in ems
}

// placeholder stands for a character no font has: visible, and naming the
// character, so that nothing is dropped without a trace.
func placeholder(r rune) string { return fmt.Sprintf("[U+%04X]", r) }

// runs splits text into runs of one font each. A space or mark goes with the
// run before it when that font has it; a character no font has becomes its
// placeholder, drawn in the first font.
func (fs *fontSet) runs(text string) []run {
	var out []run
	add := func(face int, s string) {
		w := 0.0
		for _, r := range s {
			w += fs.faces[face].advance(r)
		}
		if n := len(out); n > 0 && out[n-1].face == face {
			out[n-1].text += s
			out[n-1].width += w
			return
		}
		out = append(out, run{face: face, text: s, width: w})
	}
	for _, r := range text {
		if r == '\t' {
			r = ' '
		}
		if unicode.IsControl(r) {
			continue // controls draw nothing (lines are split before)
		}
		if n := len(out); n > 0 && (unicode.IsSpace(r) || unicode.Is(unicode.Mn, r)) && fs.faces[out[n-1].face].glyph(r) != 0 {
			add(out[n-1].face, string(r))
			continue
		}
		i := fs.pick(r)
		if i < 0 {
			add(0, placeholder(r))
			continue
		}
		add(i, string(r))
	}
	return out
}
