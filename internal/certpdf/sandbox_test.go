package certpdf

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/movable-registry/registry/internal/registry"
)

// pageRE is a page object (not the /Pages tree) as gopdf writes it.
var pageRE = regexp.MustCompile(`/Type\s*/Page[^s]`)

// TestSandboxCertificatesSayOnEveryPageThatTheyProveNothing: a sandbox's
// registration and search certificates draw, in their own language, a line
// and a notice across the page saying it is a test register whose
// certificate proves nothing, on every page of a certificate of several;
// the real register's draw neither; and a certificate kept by the real
// register is never served as a sandbox's.
func TestSandboxCertificatesSayOnEveryPageThatTheyProveNothing(t *testing.T) {
	k := &keeper{docs: map[string][]byte{}}
	real := newTestMaker(t, Options{Keeper: k})
	sandbox := newTestMaker(t, Options{Keeper: k, Sandbox: true})
	long := sampleRegistration()
	for i := range 60 { // enough items for several pages
		long.Collateral.Items = append(long.Collateral.Items, registry.Item{ID: fmt.Sprintf("i%d", i+2), Type: "equipment",
			SerialNumber: fmt.Sprintf("NHX4000-2023-%04d", i), Description: "卧式加工中心 horizontal machining centre", RegisteredAt: long.RegisteredAt})
	}
	marks := map[string][]string{
		"zh": {"测试登记簿—本证明不具证明效力", "测试登记簿·本证明不具证明效力"},
		"en": {"TESTREGISTER—thiscertificateprovesnothing", "TESTREGISTER·thiscertificateprovesnothing"},
	}
	ctx := context.Background()
	for _, lang := range []string{"zh", "en"} {
		other := marks["en"]
		if lang == "en" {
			other = marks["zh"]
		}
		// The real register's certificate is made (and kept) first.
		plain, err := real.Registration(ctx, long, testDigest, lang, "https://registry.example.cn/verify")
		if err != nil {
			t.Fatal(err)
		}
		reg, err := sandbox.Registration(ctx, long, testDigest, lang, "https://registry.example.cn/verify")
		if err != nil {
			t.Fatal(err)
		}
		search, err := sandbox.Search(ctx, sampleSearch(), testDigest, lang, "https://registry.example.cn/verify")
		if err != nil {
			t.Fatal(err)
		}
		for name, pdf := range map[string][]byte{"registration": reg, "search": search} {
			t.Run(lang+" "+name, func(t *testing.T) {
				pages := len(pageRE.FindAll(pdf, -1))
				if name == "registration" && pages < 2 {
					t.Fatalf("the long registration has %d page(s), want several", pages)
				}
				drawn := strings.ReplaceAll(text(glyphs(t, pdf)), " ", "")
				for _, m := range marks[lang] {
					if n := strings.Count(drawn, m); n != pages {
						t.Errorf("%q is drawn %d times on %d pages, want once a page", m, n, pages)
					}
				}
				for _, m := range other {
					if strings.Contains(drawn, m) {
						t.Errorf("%q, the other language's mark, is drawn", m)
					}
				}
			})
		}
		t.Run(lang+" the real register's", func(t *testing.T) {
			drawn := strings.ReplaceAll(text(glyphs(t, plain)), " ", "")
			for _, m := range append(marks[lang], other...) {
				if strings.Contains(drawn, m) {
					t.Errorf("the real register's certificate draws %q", m)
				}
			}
		})
	}
}
