package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSuccessionInTheHistory: a registration passed to a successor after a
// merger shows, in its history on its page and on its PDF certificate, in
// both languages, that the amendment was an assignment by succession, in
// whose place and on which document; the successor is named with the
// domicile and legal representative the admin gave.
func TestSuccessionInTheHistory(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	pred := s.bank("registrant")
	succID, succUSCC := s.org("上海浦江银行股份有限公司", "financial_institution")
	succ := s.user(succID, succUSCC, "registrant")
	number := s.file(pred, "上海星辰精密机械有限公司", "91310115MA1K3YJ12G")
	const doc, address, representative = "沪市监合〔2026〕第18号", "上海市黄浦区中山东一路12号", "赵立新"
	s.api(202, "POST", "/organizations/"+pred.OrgID+"/succession", adminToken, map[string]any{"successor_uscc": succUSCC, "basis": "merger",
		"document_number": doc, "successor_address": address, "successor_legal_representative": representative})
	if n, err := s.svc.RunSuccessions(context.Background()); err != nil || n != 1 {
		t.Fatalf("passed %d, %v", n, err)
	}
	b := s.browser()
	b.signIn(succ)
	for lang, want := range map[string]string{
		"zh": "因合并承继的转让，承继统一社会信用代码为 " + pred.USCC + " 的机构；文件编号 " + doc,
		"en": "an assignment by succession after a merger, in the place of USCC " + pred.USCC + "; document " + doc,
	} {
		b.get("/lang/" + lang + "?next=/")
		b.get("/registrations/" + number)
		for _, w := range []string{want, address, representative} {
			if !strings.Contains(b.last, w) {
				t.Errorf("%s: the registration's page lacks %q", lang, w)
			}
		}
		if dir := os.Getenv("SUCCESSION_PAGE_DIR"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, "succession-"+lang+".html"), []byte(b.last), 0o644) // to look at
		}
		b.get("/registrations/" + number + "/certificate.pdf?lang=" + lang)
		file := filepath.Join(t.TempDir(), "succession-"+lang+".pdf")
		if dir := os.Getenv("SUCCESSION_PAGE_DIR"); dir != "" {
			file = filepath.Join(dir, "succession-"+lang+".pdf")
		}
		if err := os.WriteFile(file, []byte(b.last), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		text := string(out)
		if !strings.Contains(strings.Join(strings.Fields(text), ""), strings.Join(strings.Fields(want), "")) {
			t.Errorf("%s: the PDF certificate's history lacks %q:\n%s", lang, want, text)
		}
	}
}
