package certpdf

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"io"
	"regexp"
	"strconv"
	"testing"
	"unicode/utf16"

	"encoding/binary"
)

// drawn is a glyph a PDF draws: the font program it is drawn from, its
// glyph id, and the character the font's ToUnicode map says it stands for.
type drawn struct {
	font  string // the font's BaseFont
	glyph uint16
	char  rune
	// outline: the embedded font program has an outline for the glyph.
	outline bool
}

var (
	objRE      = regexp.MustCompile(`(?s)(\d+) 0 obj\s*(.*?)endobj`)
	refRE      = func(key string) *regexp.Regexp { return regexp.MustCompile(`/` + key + `\s*\[?\s*(\d+) 0 R`) }
	fontResRE  = regexp.MustCompile(`/(F\d+)\s+(\d+) 0 R`)
	baseFontRE = regexp.MustCompile(`/BaseFont /(\S+)`)
	// A text operator as gopdf writes it: the font, then [<glyphs>] TJ.
	textOpRE  = regexp.MustCompile(`/(F\d+) [\d.]+ Tf|\[?<([0-9A-Fa-f]*)>\]? ?T[Jj]`)
	bfcharRE  = regexp.MustCompile(`<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>`)
	bfrangeRE = regexp.MustCompile(`<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>`)
)

// glyphs reads, from the PDF's own bytes, every glyph it draws, in the order
// drawn. It does not trust the maker: a glyph is looked up in the font
// program the PDF embeds and in its ToUnicode map, as a viewer would.
func glyphs(t *testing.T, pdf []byte) []drawn {
	t.Helper()
	objs := map[string][]byte{}
	for _, m := range objRE.FindAllSubmatch(pdf, -1) {
		objs[string(m[1])] = m[2]
	}
	stream := func(id string) []byte {
		body := objs[id]
		i := bytes.Index(body, []byte("stream"))
		if i < 0 {
			t.Fatalf("object %s has no stream", id)
		}
		data := bytes.TrimLeft(body[i+len("stream"):], "\r\n")
		data = data[:bytes.LastIndex(data, []byte("endstream"))]
		if !bytes.Contains(body[:i], []byte("FlateDecode")) {
			return data
		}
		r, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("object %s: %v", id, err)
		}
		out, err := io.ReadAll(r)
		if err != nil && len(out) == 0 {
			t.Fatalf("object %s: %v", id, err)
		}
		return out
	}
	ref := func(id, key string) string {
		m := refRE(key).FindSubmatch(objs[id])
		if m == nil {
			t.Fatalf("object %s has no /%s", id, key)
		}
		return string(m[1])
	}
	type font struct {
		name    string
		program []byte
		chars   map[uint16]rune
	}
	fonts := map[string]*font{}
	var contents []string
	for id, body := range objs {
		head := body
		if i := bytes.Index(body, []byte("stream")); i >= 0 {
			head = body[:i]
		}
		if bytes.Contains(head, []byte("/Type /Page ")) || bytes.Contains(head, []byte("/Type /Page\n")) {
			contents = append(contents, ref(id, "Contents"))
		}
		if !bytes.Contains(head, []byte("/Subtype /Type0")) {
			continue
		}
		f := &font{name: string(baseFontRE.FindSubmatch(head)[1]), chars: map[uint16]rune{}}
		desc := ref(ref(id, "DescendantFonts"), "FontDescriptor")
		f.program = stream(ref(desc, "FontFile2"))
		cmap := stream(ref(id, "ToUnicode"))
		decode := func(h string) rune {
			b, _ := hex.DecodeString(h)
			var u []uint16
			for i := 0; i+1 < len(b); i += 2 {
				u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
			}
			rs := utf16.Decode(u)
			if len(rs) != 1 {
				return -1
			}
			return rs[0]
		}
		for _, m := range bfrangeRE.FindAllSubmatch(cmap, -1) {
			lo, _ := strconv.ParseUint(string(m[1]), 16, 16)
			hi, _ := strconv.ParseUint(string(m[2]), 16, 16)
			if lo == hi {
				f.chars[uint16(lo)] = decode(string(m[3]))
			}
		}
		for _, m := range bfcharRE.FindAllSubmatch(cmap, -1) {
			g, _ := strconv.ParseUint(string(m[1]), 16, 16)
			if _, ok := f.chars[uint16(g)]; !ok {
				f.chars[uint16(g)] = decode(string(m[2]))
			}
		}
		fonts[id] = f
	}
	// Resources name fonts /F1 … by object.
	res := map[string]string{}
	for _, body := range objs {
		if i := bytes.Index(body, []byte("/Font <<")); i >= 0 {
			for _, m := range fontResRE.FindAllSubmatch(body[i:], -1) {
				res[string(m[1])] = string(m[2])
			}
		}
	}
	var out []drawn
	for _, c := range contents {
		var cur *font
		for _, m := range textOpRE.FindAllSubmatch(stream(c), -1) {
			if len(m[1]) > 0 {
				cur = fonts[res[string(m[1])]]
				if cur == nil {
					t.Fatalf("text in font /%s, which the PDF does not define", m[1])
				}
				continue
			}
			if cur == nil {
				t.Fatal("text drawn before any font is chosen")
			}
			b, err := hex.DecodeString(string(m[2]))
			if err != nil || len(b)%2 != 0 {
				t.Fatalf("glyphs %q are not two-byte ids", m[2])
			}
			for i := 0; i < len(b); i += 2 {
				g := uint16(b[i])<<8 | uint16(b[i+1])
				d := drawn{font: cur.name, glyph: g, char: cur.chars[g]}
				d.outline = hasOutline(cur.program, g)
				out = append(out, d)
			}
		}
	}
	return out
}

// text is what the glyphs say, in the order drawn.
func text(ds []drawn) string {
	var b []rune
	for _, d := range ds {
		b = append(b, d.char)
	}
	return string(b)
}

// hasOutline reports whether a TrueType font program has an outline for
// glyph g: its extent in the glyf table, by the loca table, is not empty.
// (A subset as PDFs embed it has no character map, so it is read here
// table by table.)
func hasOutline(font []byte, g uint16) bool {
	tables := map[string][]byte{}
	if len(font) < 12 {
		return false
	}
	n := int(binary.BigEndian.Uint16(font[4:]))
	for i := 0; i < n && 12+16*i+16 <= len(font); i++ {
		rec := font[12+16*i:]
		off, length := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if int(off)+int(length) <= len(font) {
			tables[string(rec[:4])] = font[off : off+length]
		}
	}
	head, loca := tables["head"], tables["loca"]
	if len(head) < 52 || loca == nil {
		return false
	}
	var start, end uint32
	if binary.BigEndian.Uint16(head[50:]) == 0 { // short offsets, in words
		if 2*int(g)+4 > len(loca) {
			return false
		}
		start, end = 2*uint32(binary.BigEndian.Uint16(loca[2*int(g):])), 2*uint32(binary.BigEndian.Uint16(loca[2*int(g)+2:]))
	} else {
		if 4*int(g)+8 > len(loca) {
			return false
		}
		start, end = binary.BigEndian.Uint32(loca[4*int(g):]), binary.BigEndian.Uint32(loca[4*int(g)+4:])
	}
	return end > start && int(end) <= len(tables["glyf"])
}
