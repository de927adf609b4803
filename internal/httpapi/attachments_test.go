package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

// TestAttachments: PDF, PNG, JPEG and CSV files are taken, their type told
// from their content (not their name); anything else is refused naming
// file; each is served back byte for byte; a filing names its
// organization's attachments, and its registration and log record carry
// each one's SHA-256.
func TestAttachments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	// Another organization: it reads the registration as a searcher.
	other := e.newAccount(usccs[2], "registrant", "searcher")
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	var pngBytes, jpegBytes bytes.Buffer
	if err := png.Encode(&pngBytes, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpegBytes, img, nil); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"application/pdf": []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
		"image/png":       pngBytes.Bytes(),
		"image/jpeg":      jpegBytes.Bytes(),
		"text/csv":        []byte("serial_number,description\nDMG-2019-004411,DMU 50\n"),
	}
	ids := map[string]string{}
	for want, data := range files {
		// Named as something else: the content decides.
		got := e.must(201, e.do("POST", "/attachments", bank.Token, fileUpload("collateral.pdf", data)))
		sum := sha256.Sum256(data)
		if got["media_type"] != want || got["sha256"] != hex.EncodeToString(sum[:]) || int(got["size"].(float64)) != len(data) {
			t.Errorf("%s: %v", want, got)
		}
		ids[want] = got["id"].(string)
		back := e.do("GET", "/attachments/"+got["id"].(string), other.Token, nil)
		if back.Status != 200 || !bytes.Equal(back.Body, data) || back.Header.Get("Content-Type") != want {
			t.Errorf("%s served back: %d %s, %d bytes", want, back.Status, back.Header.Get("Content-Type"), len(back.Body))
		}
	}
	for name, data := range map[string][]byte{"notes.txt": []byte("just some words and no rows"), "empty.csv": nil, "program.exe": {0x4d, 0x5a, 0x90, 0}} {
		p := e.problem(e.do("POST", "/attachments", bank.Token, fileUpload(name, data)), 422, "invalid_field")
		if errs := list(p["errors"]); len(errs) != 1 || errs[0].(map[string]any)["field"] != "file" {
			t.Errorf("%s: %v", name, p)
		}
	}
	e.problem(e.do("POST", "/attachments", bank.Token, fileUpload("big.csv", append([]byte("a,b\n"), bytes.Repeat([]byte("1,2\n"), 10<<18)...))), 422, "invalid_field")

	// A filing names them; the registration and its record carry the digests.
	f := filing(grantorName, usccs[1])
	f["collateral"].(map[string]any)["attachments"] = []any{ids["text/csv"], ids["application/pdf"]}
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, f))
	atts := list(reg["collateral"].(map[string]any)["attachments"])
	if len(atts) != 2 || atts[0].(map[string]any)["sha256"] == "" || atts[0].(map[string]any)["media_type"] != "text/csv" {
		t.Errorf("the registration's attachments: %v", atts)
	}
	sum := sha256.Sum256(files["text/csv"])
	if n := e.count("SELECT count(*) FROM events WHERE registration_number = $1 AND position($2 in convert_from(record, 'UTF8')) > 0", reg["number"], hex.EncodeToString(sum[:])); n != 1 {
		t.Errorf("the log record does not carry the CSV's digest")
	}
	// An amendment names one more; one already named is refused.
	n := reg["number"].(string)
	amended := e.must(201, e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"add_attachments": []any{ids["image/png"]}}))
	if got := list(amended["collateral"].(map[string]any)["attachments"]); len(got) != 3 || got[2].(map[string]any)["media_type"] != "image/png" {
		t.Errorf("after the amendment: %v", got)
	}
	again := e.problem(e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"add_attachments": []any{ids["text/csv"]}}), 422, "invalid_field")
	if errs := list(again["errors"]); len(errs) != 1 || errs[0].(map[string]any)["field"] != "add_attachments[0]" {
		t.Errorf("an attachment named again: %v", again)
	}
	if got := list(e.must(200, e.do("GET", "/registrations/"+n, other.Token, nil))["collateral"].(map[string]any)["attachments"]); len(got) != 3 {
		t.Errorf("the registration read back has %d attachments", len(got))
	}
	// Another organization's attachment, or none, is refused by its place.
	g := filing(grantorName, usccs[1])
	g["collateral"].(map[string]any)["attachments"] = []any{ids["image/png"]}
	p := e.problem(e.do("POST", "/registrations", other.Token, g), 422, "invalid_field")
	if errs := list(p["errors"]); len(errs) != 1 || errs[0].(map[string]any)["field"] != "collateral.attachments[0]" {
		t.Errorf("another's attachment: %v", p)
	}
}
