package web_test

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestTheAuditPageNamesPeopleAndActionsInEitherLanguage: an auditor reads
// the trail by people's names and emails, organizations' names, and
// actions, outcomes and details in words of the page's language, never the
// ids behind them; the filters by email, by part of an organization's name
// and by a list of actions narrow the list.
func TestTheAuditPageNamesPeopleAndActionsInEitherLanguage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	auditor := s.staff("auditor")
	bank := s.bank("registrant")
	otherID, otherCode := s.org("杭州西湖机械有限公司", "enterprise")
	other := s.user(otherID, otherCode, "registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	s.api(201, "POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"description": "全部数控机床"})
	s.api(403, "POST", "/registrations/"+number+"/cancellation", other.Token, map[string]any{"reason": "debt_repaid"})

	actionCodes := regexp.MustCompile(`<span class="action" title="([^"]+)">`)
	for _, tc := range []struct {
		name, lang, query string
		want, not         []string
		actions           []string // the actions of the rows, when the filter fixes them
	}{
		{"by email: the person and the bank by name, the actions in words", "zh", "actor_email=" + url.QueryEscape(bank.Email),
			[]string{"测试用户", bank.Email, "上海星辰银行", ">初始登记<", ">变更登记<", "登记事项：变更登记 "},
			[]string{bank.UserID, bank.OrgID, other.Email, ">registration.file<"}, nil},
		{"by email, in English", "en", "actor_email=" + url.QueryEscape(strings.ToUpper(bank.Email)),
			[]string{bank.Email, "上海星辰银行", ">File a registration<", ">Amend a registration<", "Event: Amendment "},
			[]string{bank.UserID, bank.OrgID, other.Email, "CST"}, nil},
		{"by part of an organization's name: a refusal's reason in words", "zh", "organization_name=" + url.QueryEscape("西湖机械"),
			[]string{other.Email, "杭州西湖机械有限公司", ">注销登记<", "拒绝", "原因：您的账户无权进行此操作。"},
			[]string{bank.Email, otherID, other.UserID}, nil},
		{"by part of an organization's name, in English", "en", "organization_name=" + url.QueryEscape("西湖"),
			[]string{other.Email, ">Cancel a registration<", "Denied", "Reason: Your account may not do this."},
			[]string{bank.Email, otherID}, nil},
		{"by a list of actions", "zh", "action=registration.file&action=registration.cancel",
			[]string{"测试用户", "上海星辰银行", "杭州西湖机械有限公司", `value="registration.file" checked`, `value="registration.cancel" checked`, "已选 2 项"},
			[]string{bank.UserID, otherID}, []string{"registration.cancel", "registration.file"}},
		{"by a list of actions, in English", "en", "action=registration.amend&action=token.signin",
			[]string{">Amend a registration<", ">Sign in<", "2 chosen"}, nil, []string{"registration.amend", "token.signin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.browser()
			b.get("/lang/" + tc.lang + "?next=/")
			b.signIn(auditor)
			if res := b.get("/audit?" + tc.query); res.StatusCode != 200 {
				t.Fatalf("status %d:\n%s", res.StatusCode, b.last)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.last, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(b.last, w) {
					t.Errorf("the page shows %q", w)
				}
			}
			if tc.actions != nil {
				var got []string
				for _, m := range actionCodes.FindAllStringSubmatch(b.last, -1) {
					if !slices.Contains(got, m[1]) {
						got = append(got, m[1])
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, tc.actions) {
					t.Errorf("the rows' actions are %v, want %v", got, tc.actions)
				}
			}
		})
	}
	t.Run("the export link carries the filters", func(t *testing.T) {
		b := s.browser()
		b.signIn(auditor)
		b.get("/audit?actor_email=" + url.QueryEscape(bank.Email) + "&action=registration.file&action=registration.amend")
		export := regexpText(`href="(/audit/export\?[^"]+)"`, b.last)
		if res := b.get(strings.ReplaceAll(export, "&amp;", "&")); res.StatusCode != 200 || strings.Count(b.last, "\n") != 3 {
			t.Errorf("the export %s: %d\n%s", export, res.StatusCode, b.last)
		}
	})
}
