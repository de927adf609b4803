package web

import (
	"bytes"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

func strictViews(t *testing.T) *views {
	t.Helper()
	v, err := loadViews(true)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sampleRegistration has every part a page can show: parties of each kind,
// a former name, items, objections in each state, and a history.
func sampleRegistration() registry.Registration {
	at := registry.At(time.Date(2026, 11, 26, 3, 14, 15, 0, time.UTC))
	lapses := registry.At(at.Add(30 * 24 * time.Hour))
	return registry.Registration{
		Number: "20261126000000001247", Kind: "chattel_mortgage", Status: registry.StatusEffective,
		RegisteredAt: at, ExpiresAt: registry.At(at.AddDate(3, 0, 0)), Version: 2, PeriodMonths: 36,
		Controller: registry.Controller{OrganizationID: "org-bank"},
		Grantors: []registry.Party{
			{Type: "organization", Name: "上海星辰精密机械（集团）有限公司", USCC: "91310115MA1K3YJ12G", FormerNames: []string{"上海星辰机械有限公司"}},
			{Type: "individual", Name: "张三", IDNumber: "110101************"},
			{Type: "organization", Name: "Pacific Rim Trading Co., Ltd.", Country: "HK", RegistrationNumber: "1234567", LEI: "5493001KJTIIGC8Y1R12"},
		},
		SecuredParties: []registry.Party{{Type: "organization", Name: "上海浦东发展银行股份有限公司张江科技支行", USCC: "91310000132209458L"}},
		Collateral: registry.Collateral{Description: "12 CNC machining centres", Items: []registry.Item{{ID: "item-1", Type: "equipment", SerialNumber: "DMG-2019-004411", Description: "DMU 50", RegisteredAt: at}},
			Attachments: []registry.Attachment{{ID: "a1", SHA256: "ab12", MediaType: "text/csv", Size: 40}}},
		MaxSecuredAmount: &registry.Money{Amount: "5000000.00", Currency: "CNY"},
		Reference:        "LN-2026-0042",
		Objections: []registry.Objection{
			{Number: "20261126000000001301", Status: registry.ObjectionActive, FiledAt: at, LapsesAt: &lapses, By: registry.Actor{OrganizationID: "org-grantor"}, Statement: "never agreed"},
			{Number: "20261126000000001302", Status: registry.ObjectionLitigating, FiledAt: at, By: registry.Actor{OrganizationID: "org-grantor"}, Statement: "disputed",
				CaseNotice: &registry.CaseNotice{Court: "上海市浦东新区人民法院", CaseNumber: "(2026)沪0115民初1号", AcceptedOn: "2026-11-27", SubmittedAt: at}},
		},
		History: []registry.HistoryEntry{{Number: "20261126000000001247", Type: registry.EventInitial, RegisteredAt: at, By: registry.Actor{OrganizationID: "org-bank"}},
			{Number: "20261126000000001301", Type: registry.EventObjection, RegisteredAt: at, Objection: "20261126000000001301"}},
	}
}

// samplePages gives every page its data, as its handler would.
func samplePages() map[string]func() (any, url.Values) {
	reg := sampleRegistration()
	at := reg.RegisteredAt
	search := &registry.SearchCertificate{Number: "20261126000000001250", SearchedAt: at, AsOf: at, Criteria: registry.Criteria{GrantorName: "上海星辰精密机械（集团）有限公司"},
		RegisterPosition: 1249, ResultCount: 1001, Truncated: true, NextCursor: "1", Results: []registry.SearchResult{{Registration: reg, MatchedBy: "former_name"}}, SimilarNames: []string{"上海星晨精密机械有限公司"}}
	filed := reg
	filed.ModificationCode = "ABCD-EFGH-JKMN-PQRS-TVWX"
	return map[string]func() (any, url.Values){
		"home": func() (any, url.Values) {
			return &homePage{Tasks: tasks, Missing: true, Admins: []registry.User{{DisplayName: "王经理", Email: "wang@example.cn"}}}, nil
		},
		"needs_role": func() (any, url.Values) {
			return needsRolePage{Roles: []string{"searcher"}, Admins: []registry.User{{DisplayName: "王经理", Email: "wang@example.cn"}}, BeyondOwn: "registration.read"}, nil
		},
		"user": func() (any, url.Values) {
			return userForm{User: registry.User{ID: "u1", OrganizationID: "o1", DisplayName: "李四", Email: "li@example.cn", Roles: []string{"searcher"}, Language: "zh"},
				Roles: []string{"registrant", "searcher", "org_admin"}}, url.Values{"roles": {"searcher"}, "language": {"en"}, "notify_email": {"1"}}
		},
		"verify": func() (any, url.Values) {
			// Under objection, and erased since: every part of the page.
			return &registry.Certificate{Number: reg.Number, KindOfCertificate: "registration", IssuedAt: at, Digest: "sha256:8a1f0c5e2b7d4a93e6f1c08b5d2e7a4c9f3b6d1e0a8c7b5f2d4e6a1c3b9f0e7d",
				Kind: "chattel_mortgage", Status: "effective", RegisteredAt: &at, ExpiresAt: &at, ErasedAt: &at,
				Objections: []registry.StandingObjection{{Number: "20261207000000000279", Status: "active", FiledAt: at, LapsesAt: &at}, {Number: "20261207000000000376", Status: "litigating", FiledAt: at}}}, nil
		},
		"signin": func() (any, url.Values) { return nil, url.Values{"next": {"/search"}} },
		"signup": func() (any, url.Values) { return nil, url.Values{"kind": {"enterprise"}} },
		"signed_up": func() (any, url.Values) {
			return registry.SignedUp{Organization: registry.Organization{Name: "上海星辰", USCC: "91310115MA1K3YJ12G"}, User: registry.User{Email: "a@b.cn"}}, nil
		},
		"error": func() (any, url.Values) {
			return errorPage{Code: "extension_window_closed", Status: 409, Message: "尚未到可展期的时间。", Registration: reg.Number}, nil
		},
		"search": func() (any, url.Values) {
			return searchForm{Criteria: criteria, Key: "k"}, url.Values{"criterion": {"uscc"}}
		},
		"search_result": func() (any, url.Values) {
			return search, nil
		},
		"search_certificate": func() (any, url.Values) {
			return certificatePage{VerifyURL: "https://r.example/verify?number=1", Search: search}, nil
		},
		"file": func() (any, url.Values) {
			g, s, items := filingRows(registry.Filing{Grantors: reg.Grantors})
			return filingForm{Key: "k", Kinds: registry.Kinds, ItemTypes: registry.ItemTypes, Grantors: g, SecuredParties: s, Items: items, Draft: "d1",
				Saved: []registry.SavedParty{{ID: "p1", Label: "本行", Party: registry.Party{Type: "organization", Name: "某银行", USCC: "91310000132209458L"}}}}, url.Values{"kind": {"factoring"}}
		},
		"filed": func() (any, url.Values) { return &filed, nil },
		"registrations": func() (any, url.Values) {
			return listPage{Statuses: statuses, Page: registry.RegistrationPage{Items: []registry.Registration{reg}}, Next: "/registrations?cursor=x"}, nil
		},
		"registration": func() (any, url.Values) {
			return &registrationPage{Reg: reg, Controls: true, ItemTypes: registry.ItemTypes, Reasons: registry.CancellationReasons, Code: "ABCD",
				AddGrantors: []partyRow{{Type: "individual", Name: "李四"}}, Assignees: []partyRow{{Type: "foreign", Name: "Pacific Rim"}},
				Saved: []registry.SavedParty{{ID: "p1", Label: "常用", Party: registry.Party{Type: "organization", Name: "某公司"}}}}, url.Values{"form": {"amend"}, "rename_name": {"", "王五"}}
		},
		"revocations": func() (any, url.Values) { return nil, url.Values{"number": {"1"}} },
		"confirm": func() (any, url.Values) {
			return confirmPage{What: "revoke", Action: "/registrations/1/revocation", Reg: reg, Objection: reg.Objections[0].Number, Reason: "debt_repaid",
				Fields: []confirmField{{"authority", "上海市浦东新区人民法院"}}}, url.Values{"authority": {"上海市浦东新区人民法院"}, "document_number": {"(2026)沪0115民初1号"}, "note": {"判决"}}
		},
		"registration_certificate": func() (any, url.Values) {
			return certificatePage{VerifyURL: "https://r.example/verify?number=1", Reg: &reg}, nil
		},
		"organizations": func() (any, url.Values) {
			return organizationsPage{Statuses: organizationStatuses, Page: registry.Page[registry.Organization]{Items: []registry.Organization{
				{ID: "o1", Name: "甲", Kind: "enterprise", Status: "pending", CreatedAt: &at, Applicant: &registry.Applicant{DisplayName: "王经理", Email: "wang@example.cn"}},
				{ID: "o2", Name: "乙", Kind: "financial_institution", Status: "active"}}}}, nil
		},
		"users": func() (any, url.Values) {
			return usersPage{OrganizationID: "o1", Roles: []string{"registrant", "searcher"}, Page: registry.Page[registry.User]{Items: []registry.User{
				{ID: "u1", Email: "a@b.cn", Roles: []string{"registrant", "searcher", "org_admin"}, Status: "active"}, {ID: "u2", Roles: []string{"auditor"}, Status: "suspended"}}}}, nil
		},
		"drafts": func() (any, url.Values) {
			return draftsPage{Page: registry.Page[registry.Draft]{Items: []registry.Draft{
				{ID: "d1", Filing: registry.Filing{Kind: "chattel_mortgage", Grantors: []registry.Party{{Type: "organization", Name: "上海星辰"}}}, UpdatedAt: at},
				{ID: "d2", Filing: registry.Filing{Kind: "not-a-kind"}, UpdatedAt: at}}}, Next: "/drafts?cursor=x"}, nil
		},
		"history": func() (any, url.Values) {
			return historyPage{Page: registry.Page[registry.SearchSummary]{Items: []registry.SearchSummary{
				{Number: search.Number, SearchedAt: at, Criteria: registry.Criteria{GrantorName: "上海星辰"}, ResultCount: 3},
				{Number: search.Number, SearchedAt: at, Criteria: registry.Criteria{SerialNumber: "DMG-1"}}}}, Next: "/searches?cursor=x"}, url.Values{"from": {"2026-11-01"}}
		},
		"parties": func() (any, url.Values) {
			return partiesPage{Page: registry.Page[registry.SavedParty]{Items: []registry.SavedParty{
				{ID: "p1", Label: "本行", Party: registry.Party{Type: "organization", Name: "某银行", USCC: "91310000132209458L"}, CreatedAt: at}}}, Next: "/parties?cursor=x"}, url.Values{"type": {"organization"}}
		},
		"attachments": func() (any, url.Values) {
			return &registry.Attachment{ID: "a1", SHA256: "ab", MediaType: "text/csv", Size: 3}, nil
		},
		"bulk": func() (any, url.Values) {
			return bulkPage{Key: "k", Columns: []string{"kind", "grantor_name"}, Filed: 1, Rows: []bulkRow{{Row: 1, Number: reg.Number}, {Row: 2, Problems: []string{"grantors[0].uscc: wrong"}}}}, nil
		},
		"changes": func() (any, url.Values) {
			return changesPage{Key: "k", Reasons: registry.CancellationReasons, Columns: []string{"number", "if_match"},
					Page: registry.RegistrationPage{Items: []registry.Registration{reg}}, Made: 1,
					Rows: []changeRow{{Row: 1, Number: reg.Number, Outcome: "extended", Code: 200, Status: "effective", Version: 2}, {Row: 2, Number: reg.Number, Outcome: "refused", Code: 412, Problems: []string{"changed"}}}},
				url.Values{"op": {"extend"}, "period_months": {"12"}}
		},
		"statistics": func() (any, url.Values) {
			m1, m2 := "2027-04", "2027-05"
			st := registry.Statistics{From: m1, To: m2, By: "month", Rows: []registry.StatRow{{Month: &m1, Registrations: 2, Amendments: 1, Searches: 1}, {Month: &m2, Cancellations: 1}}}
			return statisticsPage{Stats: st, Max: 2, CSV: "/api/v1/statistics?format=csv", Bars: []statBar{{Label: m1, Registrations: 2, Searches: 1, SearchesText: "1", RegHeight: 100, SearchHeight: 50, X: 10}, {Label: m2, SearchesText: "0", X: 50}}}, url.Values{"by": {"month"}}
		},
		"notices": func() (any, url.Values) {
			read := at
			unread := []registry.Notice{
				{ID: "3", Kind: registry.NoticeExpiryReminder, At: at, RegistrationNumber: reg.Number, EventNumber: reg.Number,
					Detail: map[string]string{"days_before": "30", "expires_at": "2029-11-26T03:14:15.000000Z"}},
				{ID: "2", Kind: registry.NoticeWatchMatch, At: at, RegistrationNumber: reg.Number, EventNumber: reg.Number,
					Detail: map[string]string{"event_type": "initial", "watch_id": "w1"}},
			}
			all := append(unread, registry.Notice{ID: "1", Kind: registry.NoticeFiled, At: at, RegistrationNumber: reg.Number, EventNumber: reg.Number,
				ReadAt: &read, Detail: map[string]string{"event_type": "initial"}})
			return noticesPage{First: true, Unread: unread, All: registry.Page[registry.Notice]{Items: all}, Next: "/notices?cursor=x"}, nil
		},
		"watches": func() (any, url.Values) {
			return watchesPage{Kinds: watchKinds, Page: registry.Page[registry.Watch]{Items: []registry.Watch{
				{ID: "w1", Criteria: registry.Criteria{USCC: "91310115MA1K3YJ12G"}, Note: "借款人", CreatedAt: at},
				{ID: "w2", Criteria: registry.Criteria{SerialNumber: "DMG-2019-004411"}, CreatedAt: at}}}}, url.Values{"kind": {"uscc"}}
		},
		"webhooks": func() (any, url.Values) {
			return webhooksPage{Page: registry.Page[registry.Webhook]{Items: []registry.Webhook{{ID: "h1", URL: "https://bank.example/notices", CreatedAt: at}}}}, nil
		},
		"deliveries": func() (any, url.Values) {
			return deliveriesPage{WebhookID: "h1", Page: registry.Page[registry.DeliveryAttempt]{Items: []registry.DeliveryAttempt{
				{NotificationID: "1", Attempt: 2, At: at, StatusCode: 204}, {NotificationID: "1", Attempt: 1, At: at, StatusCode: 502, Error: "answered 502"}}}}, nil
		},
		"audit": func() (any, url.Values) {
			return auditPage{Outcomes: []string{"success", "denied", "invalid", "error"}, Export: "/audit/export?", Page: registry.Page[registry.AuditEntry]{Items: []registry.AuditEntry{
				{ID: 1, At: at, Actor: registry.AuditActor{Kind: "user", UserID: "u1"}, Action: "registration.file", Target: reg.Number, Outcome: "success"},
				{ID: 2, At: at, Actor: registry.AuditActor{Kind: "registry"}, Action: "registration.record_expiry", Outcome: "denied"}}}}, nil
		},
	}
}

// everyone holds every role, so that every part of every page renders.
var everyone = registry.Caller{Principal: auth.Principal{UserID: "u1", OrganizationID: "org-grantor", Roles: auth.Roles}}

func TestEveryPageRendersInBothLanguagesWithNoMissingKey(t *testing.T) {
	t.Parallel()
	v := strictViews(t)
	pages := samplePages()
	if got, want := v.names(), slices.Sorted(maps.Keys(pages)); !slices.Equal(got, want) {
		t.Fatalf("pages without sample data, or samples without a page: %s", cmp.Diff(got, want))
	}
	for _, lang := range Languages {
		for name, sample := range pages {
			t.Run(lang+"/"+name, func(t *testing.T) {
				data, form := sample()
				for _, who := range []registry.Caller{{}, everyone} {
					me := &registry.Me{User: &registry.User{DisplayName: "王五"}, Organization: &registry.Organization{Name: "乙银行"}}
					if who.UserID == "" {
						me = nil
					}
					p := &Page{Lang: lang, Path: "/x", CSRF: "c", Me: me, Data: data, Form: form, caller: who,
						Errors: map[string]string{"form": "!", "grantors[0].uscc": "bad uscc"}}
					if p.Form == nil {
						p.Form = url.Values{}
					}
					var b bytes.Buffer
					if err := v.execute(&b, name, p); err != nil {
						t.Fatal(err)
					}
					html := b.String()
					if dir := os.Getenv("REGISTRY_PAGES"); dir != "" && name == "verify" && who.UserID == "" {
						// Kept, styled, to be rendered and looked at.
						static, _ := filepath.Abs("static")
						page := strings.ReplaceAll(html, `"/static/`, `"file://`+static+`/`)
						if err := os.WriteFile(filepath.Join(dir, name+"-"+lang+".html"), []byte(page), 0o644); err != nil {
							t.Fatal(err)
						}
					}
					if !strings.Contains(html, `<html lang="`+map[string]string{"zh": "zh-CN", "en": "en"}[lang]+`"`) {
						t.Errorf("page is not marked as %s", lang)
					}
					if lang == "en" && strings.ContainsAny(html, "登记查询担保") && !strings.Contains(html, "中文") {
						t.Errorf("English page shows Chinese labels")
					}
				}
			})
		}
	}
}

// A registrant that does not control a registration sees its forms with a
// field for the modification code.
func TestTheRegistrationPageAsksOthersForTheModificationCode(t *testing.T) {
	t.Parallel()
	v := strictViews(t)
	for _, lang := range Languages {
		for _, controls := range []bool{true, false} {
			data := &registrationPage{Reg: sampleRegistration(), Controls: controls, ItemTypes: registry.ItemTypes, Reasons: registry.CancellationReasons,
				AddGrantors: []partyRow{{Type: "organization"}}, Assignees: []partyRow{{Type: "organization"}}}
			var b bytes.Buffer
			if err := v.execute(&b, "registration", &Page{Lang: lang, Data: data, Form: url.Values{}, caller: everyone}); err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Count(b.String(), `name="modification_code"`), map[bool]int{true: 0, false: 3}[controls]; got != want {
				t.Errorf("%s, controls %v: %d code fields, want %d", lang, controls, got, want)
			}
			if got := strings.Contains(b.String(), "/modification-code"); got != controls {
				t.Errorf("%s, controls %v: rotation offered %v", lang, controls, got)
			}
		}
	}
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	t.Parallel()
	v := strictViews(t)
	zh, en := slices.Sorted(maps.Keys(v.catalogs["zh"])), slices.Sorted(maps.Keys(v.catalogs["en"]))
	if diff := cmp.Diff(zh, en); diff != "" {
		t.Errorf("zh and en catalogs differ (-zh +en):\n%s", diff)
	}
}

// Every value the register can show is translated: a page that meets a new
// kind, status, event or code must not fall back to the key.
func TestEveryDomainValueIsTranslated(t *testing.T) {
	t.Parallel()
	v := strictViews(t)
	var keys []string
	add := func(prefix string, values ...string) {
		for _, x := range values {
			keys = append(keys, prefix+x)
		}
	}
	add("kind.", registry.Kinds...)
	add("item.", registry.ItemTypes...)
	add("reason.", registry.CancellationReasons...)
	add("orgkind.", registry.OrganizationKinds...)
	add("event.", registry.EventTypes...)
	add("certificate.", append([]string{"registration", "search"}, registry.EventTypes[1:]...)...)
	add("status.", statuses...)
	add("objection.", registry.ObjectionActive, registry.ObjectionLitigating, registry.ObjectionWithdrawn, registry.ObjectionLapsed, registry.ObjectionRevoked)
	add("orgstatus.", organizationStatuses...)
	add("userstatus.", registry.UserActive, registry.UserSuspended)
	for _, r := range auth.Roles {
		add("role.", string(r))
	}
	add("actor.", string(audit.UserActor), string(audit.BootstrapAdmin), string(audit.Anonymous), string(audit.System))
	add("outcome.", string(audit.Success), string(audit.Denied), string(audit.Invalid), string(audit.Error))
	for _, a := range auth.Actions() {
		add("action.", string(a))
	}
	for _, g := range actionGroups() {
		add("actiongroup.", g.Name)
	}
	add("criterion.", criteria...)
	add("matched.", registry.MatchCurrentName, registry.MatchFormerName, registry.MatchUSCC, registry.MatchLEI, registry.MatchIDNumber, registry.MatchRegistrationNumber, registry.MatchSerialNumber)
	add("error.", "bad_form", "unauthenticated", "forbidden", "not_found", "conflict", "registration_not_effective", "version_mismatch",
		"extension_window_closed", "objection_not_active", "log_unavailable", "log_inconsistent", "idempotency_key_reused", "rate_limited",
		"malformed_request", "payload_too_large", "internal_error", "method_not_allowed", "unavailable", "password_change_required",
		registry.CodeInvalidField, registry.CodeInvalidUSCC, registry.CodeInvalidIDNumber, registry.CodeInvalidLEI, registry.CodeInvalidNumber)
	for _, r := range registry.Rules {
		keys = append(keys, "field."+string(r))
	}
	for _, lang := range Languages {
		for _, k := range keys {
			if _, err := v.translate(lang, k); err != nil {
				t.Error(err)
			}
		}
	}
}

// The service's field messages are shown translated, with their numbers.
func TestFieldMessagesAreTranslated(t *testing.T) {
	t.Parallel()
	v := strictViews(t)
	for _, tc := range []struct {
		fe       registry.FieldError
		zh, en   string
		fallback bool
	}{
		{registry.FieldError{Field: "collateral.description", Code: "invalid_field", Message: "is required", Rule: registry.RuleRequired}, "必填", "Required", false},
		{registry.FieldError{Field: "period_months", Code: "invalid_field", Message: "must be a whole number of months from 1 to 360", Rule: registry.RulePeriod, ArgName: "max", Arg: 360}, "应为 1 至 360 之间的整数月数", "A whole number of months from 1 to 360", false},
		{registry.FieldError{Field: "grantors[0].uscc", Code: "invalid_uscc", Message: "a USCC has 18 characters, this one has 3"}, "统一社会信用代码无效（应为18位，校验码正确）", "Not a valid USCC (18 characters with a correct check character)", false},
		{registry.FieldError{Field: "grantors[0].name", Code: "invalid_field", Message: "contains bidirectional controls (U+202A to U+202E, U+2066 to U+2069), which make text display as other text", Rule: registry.RuleBidi}, "含有改变文字方向的控制字符，请删除", "Holds characters that change the direction of text (bidirectional controls); remove them", false},
		{registry.FieldError{Field: "roles", Code: "invalid_field", Message: "the staff roles (admin, auditor) are held only by users of the registry's own organizations (kind registry)", Rule: registry.RuleStaffRole}, "管理员、审计员角色仅限登记机构自身的用户", "Staff roles (administrator, auditor) are held only by the registry's own users", false},
		{registry.FieldError{Field: "x", Code: "invalid_field", Message: "something new"}, "此项无效", "This value is invalid: something new", true},
	} {
		if got := v.fieldMessage("zh", tc.fe); got != tc.zh {
			t.Errorf("zh %q: got %q, want %q", tc.fe.Message, got, tc.zh)
		}
		if got := v.fieldMessage("en", tc.fe); got != tc.en {
			t.Errorf("en %q: got %q, want %q", tc.fe.Message, got, tc.en)
		}
	}
}

func TestLocalPathKeepsRedirectsOnTheSite(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/search": "/search", "/registrations/1?x=2": "/registrations/1?x=2",
		"https://evil.example": "/", "//evil.example": "/", "/\\evil.example": "/", "": "/", "search": "/", "/a\r\nSet-Cookie: x": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTimesAreShownInBeijingTime(t *testing.T) {
	t.Parallel()
	at := registry.At(time.Date(2026, 11, 26, 16, 30, 0, 0, time.UTC))
	for lang, want := range map[string]string{"zh": "2026-11-27 00:30:00（北京时间）", "en": "2026-11-27 00:30:00 (UTC+8)"} {
		if got := (&Page{Lang: lang}).Time(at); got != want {
			t.Errorf("%s: got %q, want %q", lang, got, want)
		}
	}
	got, ok := parseLocal("2026-11-27T00:30")
	if !ok || !got.Equal(time.Date(2026, 11, 26, 16, 30, 0, 0, time.UTC)) {
		t.Errorf("parseLocal: got %v %v", got, ok)
	}
}

func TestNextPageKeepsTheFiltersThatAreSet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		filters url.Values
		cursor  string
		want    string
	}{
		{url.Values{"status": {"effective"}, "x": {""}}, "c1", "/l?cursor=c1&status=effective"},
		{url.Values{"action": {"a&b"}}, "c/2", "/l?action=a%26b&cursor=c%2F2"},
		{url.Values{"status": {"effective"}}, "", ""},
	} {
		if got := nextPage("/l", tc.filters, tc.cursor); got != tc.want {
			t.Errorf("nextPage(%v, %q) = %q, want %q", tc.filters, tc.cursor, got, tc.want)
		}
	}
}

// Names and free text are shown isolated, each in its own direction: a
// name written right to left (or one stored before bidirectional controls
// were refused) cannot reorder the text around it.
func TestFreeTextIsShownIsolated(t *testing.T) {
	t.Parallel()
	v := strictViews(t)
	reg := sampleRegistration()
	reg.Grantors[0].Name = "شركة النجم"
	var b bytes.Buffer
	if err := v.execute(&b, "registration", &Page{Lang: "zh", Data: &registrationPage{Reg: reg, ItemTypes: registry.ItemTypes, Reasons: registry.CancellationReasons}, Form: url.Values{}, caller: everyone}); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{`<bdi class="party-name">شركة النجم</bdi>`, `<bdi>上海星辰机械有限公司</bdi>`, `<p class="description" dir="auto">12 CNC machining centres</p>`,
		`<p class="statement" dir="auto">never agreed</p>`, `<bdi>上海市浦东新区人民法院</bdi>`} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// Chinese pages write a colon after Chinese text full-width (：), and
// name Beijing time as such: "CST" reads as another zone to many.
func TestChinesePagesUseFullWidthColonsAndBeijingTime(t *testing.T) {
	t.Parallel()
	v := strictViews(t)
	asciiColon := regexp.MustCompile(`[\p{Han}\x{3000}-\x{303F}\x{FF00}-\x{FFEF}]:`)
	for name, sample := range samplePages() {
		t.Run(name, func(t *testing.T) {
			data, form := sample()
			if form == nil {
				form = url.Values{}
			}
			var b bytes.Buffer
			p := &Page{Lang: "zh", Path: "/x", CSRF: "c", Data: data, Form: form, caller: everyone,
				Me: &registry.Me{User: &registry.User{DisplayName: "王五"}, Organization: &registry.Organization{Name: "乙银行"}}}
			if err := v.execute(&b, name, p); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			if strings.Contains(html, " CST") {
				t.Error(`the page says "CST"`)
			}
			if m := asciiColon.FindAllString(html, 3); m != nil {
				t.Errorf("ASCII colons after Chinese text: %q", m)
			}
		})
	}
}

// Amounts are grouped by thousands, and renminbi is also written in
// capital numerals, as the certificates print it.
func TestAmountsAreGroupedAndInCapitalNumerals(t *testing.T) {
	t.Parallel()
	v := strictViews(t)
	for lang, want := range map[string]string{"zh": "5,000,000.00 元（人民币伍佰万元整）", "en": "CNY 5,000,000.00 (人民币伍佰万元整)"} {
		var b bytes.Buffer
		data := &registrationPage{Reg: sampleRegistration(), ItemTypes: registry.ItemTypes, Reasons: registry.CancellationReasons}
		if err := v.execute(&b, "registration", &Page{Lang: lang, Data: data, Form: url.Values{}, caller: everyone}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s: the amount is not shown as %q", lang, want)
		}
		if strings.Contains(b.String(), "5000000.00 CNY") {
			t.Errorf("%s: the amount is shown ungrouped", lang)
		}
	}
}

// The summary of errors at the top of a page names each error's form and
// field, and links to the message beside the field.
func TestTheSummaryOfErrorsNamesTheFormAndField(t *testing.T) {
	t.Parallel()
	p := &Page{Lang: "zh", v: strictViews(t), Errors: map[string]string{
		"form": "页面错误", "grantors[0].uscc": "无效", "amend.max_secured_amount.amount": "应为金额", "extend.form": "尚未到可展期的时间",
		"collateral.items[1].serial_number": "必填", "collateral.description": "必填"}}
	got, err := p.Problems()
	if err != nil {
		t.Fatal(err)
	}
	want := []problem{
		{ID: "err-amend-max_secured_amount-amount", Label: "变更登记 · 最高债权额", Message: "应为金额"},
		{ID: "err-collateral-description", Label: "担保财产描述", Message: "必填"},
		{ID: "err-collateral-items-1--serial_number", Label: "财产 2 · 序列号", Message: "必填"},
		{ID: "err-extend-form", Label: "展期登记", Message: "尚未到可展期的时间"},
		{ID: "err-grantors-0--uscc", Label: "担保人 1 · 统一社会信用代码", Message: "无效"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("the summary (-got +want):\n%s", diff)
	}
}

func TestAuditDetailsAreTranslated(t *testing.T) {
	t.Parallel()
	v := strictViews(t)
	for _, tc := range []struct {
		name, detail string
		zh, en       []string
		recorded     bool
	}{
		{"an event", "amendment 20261126000000001250", []string{"登记事项：变更登记 20261126000000001250"}, []string{"Event: Amendment 20261126000000001250"}, true},
		{"a search by identity number", "id_number 11010119900307001X", []string{"所查身份证件号码：11010119900307001X"}, []string{"Identity number searched: 11010119900307001X"}, true},
		{"a refusal on the pages", "forbidden: only the controller may (web)", []string{"原因：您的账户无权进行此操作。", "经网页"}, []string{"Reason: Your account may not do this.", "Through the pages"}, true},
		{"refusals counted by the rate limit", "rate_limited: too many (and 7 more requests from 10.0.0.1 refused by a rate limit in the second from 2026-11-26T00:00:00Z)",
			[]string{"原因：操作过于频繁，请稍后再试。", "同一秒内另有 7 次来自 10.0.0.1 的请求因频率限制被拒绝，自 2026-11-26 08:00:00（北京时间） 起"},
			[]string{"Reason: Too many attempts. Please wait and try again.", "7 more requests from 10.0.0.1 refused by the rate limit in the same second, from 2026-11-26 08:00:00 (UTC+8)"}, true},
		{"an export's filters", `actor="" organization="" action="registration.file,token.signin" target="" outcome="denied" from="" to=""`,
			[]string{"导出条件", "操作：初始登记、登录", "结果：拒绝"}, []string{"Export filters", "Action: File a registration, Sign in", "Outcome: Denied"}, true},
		{"an export of the whole trail", `actor="" organization="" action="" target="" outcome="" from="" to=""`,
			[]string{"导出条件：无（全部记录）"}, []string{"Export filters: None (the whole trail)"}, true},
		{"something new", "a detail of a kind not seen before", []string{"a detail of a kind not seen before"}, []string{"a detail of a kind not seen before"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for lang, want := range map[string][]string{"zh": tc.zh, "en": tc.en} {
				p := &Page{Lang: lang, v: v}
				got, err := p.Detail(tc.detail)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(got.Lines, want); diff != "" {
					t.Errorf("%s (-got +want):\n%s", lang, diff)
				}
				if (got.Recorded != "") != tc.recorded {
					t.Errorf("%s: as recorded %q", lang, got.Recorded)
				}
			}
		})
	}
}
