package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserFirstDay is a new organization's first day through the pages
// alone, in each language: it signs up, is told it awaits approval, the
// registry's admin approves it, and its first user, with no second account,
// sees its tasks, files, searches and gives a colleague a role.
func TestBrowserFirstDay(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser flows take a while")
	}
	for i, lang := range []string{"zh", "en"} {
		t.Run(lang, func(t *testing.T) {
			// Each language on a register of its own, beside the other.
			t.Parallel()
			s := newSite(t)
			admin := s.staff("admin")
			c := loadCatalog(t, lang)
			orgName := []string{"苏州新材料科技有限公司", "Suzhou New Materials Co., Ltd."}[i]
			code := uscc(fmt.Sprintf("91320500MA%07d", seq.Add(1)))
			first := user{Email: fmt.Sprintf("cfo%d@suzhou-materials.example.cn", i)}

			b := s.open(t, lang)
			b.do(chromedp.Navigate(s.url+"/signup"), chromedp.WaitVisible(chromedp.CSS("#password")))
			if got := b.text("#password-rule"); got != c.tr("signup.password_rule") {
				t.Errorf("the password rule beside the field: %q", got)
			}
			b.labelled()
			b.do(typeIn("#name", orgName),
				typeIn("#uscc", code),
				typeIn("#display_name", "王经理"),
				typeIn("#email", first.Email),
				typeIn("#password", password))
			b.screenshot("firstday-signup")
			b.do(chromedp.Click(chromedp.CSS("form[action='/signup'] button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#pending")))
			if got := b.text("#pending"); got != c.tr("signup.pending", orgName) {
				t.Errorf("after signing up: %q", got)
			}
			// Reloading the page is safe.
			b.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#pending")))
			b.screenshot("firstday-submitted")

			// Signing in before the approval says why it cannot.
			b.do(chromedp.Navigate(s.url+"/signin"), chromedp.WaitVisible(chromedp.CSS("#email")),
				typeIn("#email", first.Email),
				typeIn("#password", password+kb.Enter),
				chromedp.WaitVisible(chromedp.CSS("#form-error")))
			if got := b.text("#form-error"); got != c.tr("error.organization_pending") {
				t.Errorf("signing in while pending: %q", got)
			}
			b.screenshot("firstday-signin-pending")

			a := s.open(t, lang)
			a.signIn(admin)
			a.do(chromedp.Navigate(s.url+"/admin/organizations"), chromedp.WaitVisible(chromedp.CSS("table")))
			row := run(a, chromedp.Evaluate[string](fmt.Sprintf(`[...document.querySelectorAll("tbody tr")].find(r => r.textContent.includes(%q))?.textContent ?? ""`, code)))
			if !strings.Contains(row, "王经理") || !strings.Contains(row, first.Email) {
				t.Errorf("the pending sign-up's row does not show its applicant: %q", row)
			}
			a.screenshot("firstday-approvals")
			a.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[aria-label=%q]`, c.tr("orgs.approve")+" "+orgName))), chromedp.WaitVisible(chromedp.CSS(".notice")))
			if got := a.text(".notice"); got != c.tr("notice.approved") {
				t.Errorf("after approving: %q", got)
			}

			b.signIn(first)
			tasks := run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("ul.tasks a")].map(a => a.getAttribute("href"))`))
			for _, want := range []string{"/registrations/new", "/search", "/admin/users"} {
				if !strings.Contains(strings.Join(tasks, " "), want) {
					t.Errorf("the home page offers %v, not %s", tasks, want)
				}
			}
			b.screenshot("firstday-home")

			grantor := []string{"上海星辰精密机械有限公司", "上海北辰精密机械有限公司"}[i]
			b.do(chromedp.Click(chromedp.CSS("ul.tasks a[href='/registrations/new']")), chromedp.WaitVisible(chromedp.CSS("form[action='/registrations']")))
			g := "[data-rows=grantor] [data-row] "
			b.do(typeIn(g+"input[name=grantor_name]", grantor),
				typeIn(g+"input[name=grantor_uscc]", uscc(fmt.Sprintf("91310115MA%07d", seq.Add(1)))),
				typeIn("#description", "12 CNC machining centres at the Suzhou plant"))
			b.measures()
			b.do(chromedp.Click(chromedp.CSS("form[action='/registrations'] button[type=submit]")),
				chromedp.WaitVisible(chromedp.CSS("#modification-code")))
			number := b.text("dl.facts dd.number")
			b.search(grantor)
			if got := b.text("#count"); got != c.tr("result.count", 1) {
				t.Errorf("searching for the grantor: %q", got)
			}
			if got := b.text("article.result h3 a"); got != number {
				t.Errorf("the result is %q, want %s", got, number)
			}

			// A colleague with the searcher role alone is given the
			// registrant role on the users page.
			clerk := s.api(201, "POST", "/users", adminToken, map[string]any{"organization_id": s.orgOf(code), "email": fmt.Sprintf("clerk%d@suzhou-materials.example.cn", i),
				"display_name": "李会计", "roles": []string{"searcher"}, "password": password})
			b.do(chromedp.Navigate(s.url+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("table")),
				chromedp.Click(chromedp.CSS(`a[href="/admin/users/`+clerk["id"].(string)+`"]`)),
				chromedp.WaitVisible(chromedp.CSS("#edit-user")))
			b.labelled()
			b.do(chromedp.Click(chromedp.CSS(`#edit-user input[value=registrant]`)), chromedp.SetValue(chromedp.CSS("#language"), "en"))
			b.screenshot("firstday-user-edit")
			b.do(chromedp.Click(chromedp.CSS("#edit-user button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".notice")))
			if got := b.text(".notice"); got != c.tr("notice.user_updated") {
				t.Errorf("after the edit: %q", got)
			}
			row = run(b, chromedp.Evaluate[string](fmt.Sprintf(`[...document.querySelectorAll("tbody tr")].find(r => r.textContent.includes(%q))?.textContent ?? ""`, clerk["email"])))
			if !strings.Contains(row, c.tr("role.registrant")) {
				t.Errorf("the clerk's row after the edit: %q", row)
			}
			b.screenshot("firstday-users")

			// A user without the role meets a page that says which and who.
			s.api(200, "PATCH", "/users/"+clerk["id"].(string), adminToken, map[string]any{"roles": []string{"searcher"}})
			o := s.open(t, lang)
			o.signIn(user{Email: clerk["email"].(string)})
			o.do(chromedp.Navigate(s.url+"/registrations/new"), chromedp.WaitVisible(chromedp.CSS("#needed")))
			if got := o.text("#needed strong"); got != c.tr("role.registrant") {
				t.Errorf("the refusal names %q", got)
			}
			if got := o.text("ul.admins"); !strings.Contains(got, first.Email) {
				t.Errorf("the refusal does not name the organization's admin: %q", got)
			}
			o.screenshot("firstday-needs-role")
		})
	}
}
