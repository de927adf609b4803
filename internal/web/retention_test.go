package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/certpdf"
	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/registrytest"
	"github.com/movable-registry/registry/internal/web"
)

// TestErasedRegistrationPage: once the retention period after it ended has
// passed and the job erased its individuals' personal data, a
// registration's page, in both languages, shows when, and each individual
// as erased, with no name, identity number or address; organizations as
// they were. So do the pages of a search that found it before (its
// result, its certificate, /verify of its number), and the search's
// criteria, which were the individual's identity number.
func TestErasedRegistrationPage(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	r := registrytest.New(t, registrytest.Clock(now), registrytest.Configure(func(c *registry.Config) { c.TokenTTL = 100 * 365 * 24 * time.Hour }))
	log := registrytest.Logger()
	certs := certpdf.New(certpdf.Options{Signer: registrytest.Signer(t), Keeper: r.Store, Now: now})
	pages, err := web.New(r.Service, web.Options{Logger: log, Strict: true, Certificates: certs})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registrytest.Handler(r.Service, httpx.Options{Logger: log, Now: now}, httpapi.Options{Logger: log, Now: now, Certificates: certs}, pages))
	t.Cleanup(srv.Close)
	s := &site{t: t, url: srv.URL, svc: r.Service, client: srv.Client()}
	bank := s.bank("registrant", "searcher")
	const name, id, address = "李四海", "11010519491231002X", "北京市朝阳区建国路1号"
	number := s.api(201, "POST", "/registrations", bank.Token, map[string]any{
		"kind": "chattel_mortgage",
		"grantors": []any{
			map[string]any{"type": "individual", "name": name, "id_number": id, "address": address},
			map[string]any{"type": "organization", "name": "上海星辰精密机械有限公司", "uscc": "91310115MA1K3YJ12G", "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"},
		},
		"secured_parties":     []any{map[string]any{"type": "organization", "name": "上海浦东发展银行股份有限公司张江科技支行", "uscc": bank.USCC, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"collateral":          map[string]any{"description": "存货：钢材 500 吨", "items": []any{}},
		"period_months":       12,
		"agreed_with_grantor": true,
	})["number"].(string)
	search := s.api(201, "POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"id_number": id}})["number"].(string)
	s.api(201, "POST", "/registrations/"+number+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"})
	offset.Add(int64(16 * 365 * 24 * time.Hour))
	if n, err := r.Service.ErasePersonalData(context.Background()); err != nil || n != 1 {
		t.Fatalf("erased %d, %v", n, err)
	}
	b := s.browser()
	b.signIn(bank)
	erased := map[string]string{"zh": "自然人（个人信息已删除）", "en": "An individual (personal data erased)"}
	views := []struct {
		name, path string
		want       map[string][]string
	}{
		{"registration", "/registrations/" + number, map[string][]string{
			"zh": {"个人信息删除时间", erased["zh"], "上海星辰精密机械有限公司"},
			"en": {"Personal data erased", erased["en"], "上海星辰精密机械有限公司"}}},
		{"search", "/searches/" + search, map[string][]string{
			"zh": {"本次查询中自然人的个人信息已于", "自然人的身份证件号码（个人信息已删除）", erased["zh"], "上海星辰精密机械有限公司"},
			"en": {"Personal data of individuals in this search was erased at", "An individual&#39;s identity number (personal data erased)", erased["en"], "上海星辰精密机械有限公司"}}},
		{"search-certificate", "/searches/" + search + "/certificate", map[string][]string{
			"zh": {"本次查询中自然人的个人信息已于", "自然人的身份证件号码（个人信息已删除）", erased["zh"], "上海星辰精密机械有限公司"},
			"en": {"Personal data of individuals in this search was erased at", "An individual&#39;s identity number (personal data erased)", erased["en"], "上海星辰精密机械有限公司"}}},
		{"verify-search", "/verify?number=" + search, map[string][]string{
			"zh": {"注意：本次查询中自然人的个人信息（结果中的，或查询所用的身份证件号码）已于"},
			"en": {"Note: personal data of individuals in this search (in its results, or the identity number it was made by) was erased at"}}},
	}
	for _, lang := range []string{"zh", "en"} {
		b.get("/lang/" + lang + "?next=/")
		for _, p := range views {
			b.get(p.path)
			for _, w := range p.want[lang] {
				if !strings.Contains(b.last, w) {
					t.Errorf("%s, %s: the page lacks %q", p.name, lang, w)
				}
			}
			for _, personal := range []string{name, id, address, "110105********002X"} {
				if strings.Contains(b.last, personal) {
					t.Errorf("%s, %s: the page still shows %q", p.name, lang, personal)
				}
			}
			if dir := os.Getenv("RETENTION_PAGE_DIR"); dir != "" {
				_ = os.WriteFile(filepath.Join(dir, "erased-"+p.name+"-"+lang+".html"), []byte(b.last), 0o644) // to look at
			}
		}
	}
}
