package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	apiclient "github.com/movable-registry/registry/client"
)

// demoPassword is every demo user's password: the demo register is for
// looking around, never for real data.
const demoPassword = "demo password 2026"

// demoFactoringBatches is how many factoring registrations one borrower
// (上海北辰贸易有限公司) has: enough that a search for it pages in a sandbox.
const demoFactoringBatches = 12

// demoUser is a sign-in the demo prints.
type demoUser struct {
	Email, Org, Roles string
}

// demo fills an empty register, through the API as the operator would (with
// the public Go client), with a small register to look around in: the
// registry's staff, two banks, three enterprises, registrations in every
// state a user meets (effective, amended with a later item, extended,
// cancelled, disputed, revoked), searches and an objection. It prints the
// sign-ins.
func demo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "the registry")
	admin := fs.String("admin-token", "", "the operator's token (REGISTRY_ADMIN_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *admin == "" {
		return errors.New("demo: -admin-token is required")
	}
	// The client sends no token of its own: each call names whose it is.
	d := &demoer{api: newClient(*base, "").api, admin: *admin}
	users := []demoUser{
		{"admin@registry.demo", "动产融资统一登记公示系统", "admin"},
		{"auditor@registry.demo", "动产融资统一登记公示系统", "auditor"},
		{"clerk@spdb.demo", "上海浦东发展银行股份有限公司张江科技支行", "registrant, searcher, org_admin"},
		{"clerk@icbc.demo", "中国工商银行股份有限公司上海市分行", "registrant, searcher"},
		{"finance@xingchen.demo", "上海星辰精密机械有限公司", "registrant, searcher"},
	}
	res, err := d.api.CreateOrganizationWithResponse(ctx, nil, apiclient.NewOrganization{
		Name: "动产融资统一登记公示系统", Uscc: "91310104MA1FR8T2XM", Kind: apiclient.NewOrganizationKindRegistry}, as(*admin))
	if err == nil && res.StatusCode() == http.StatusConflict {
		fmt.Fprintln(out, "demo: the register has the demo's organizations already; its sign-ins:")
		return printUsers(out, users)
	}
	registryOrg, err := created("POST /organizations", res, err)
	if err != nil {
		return err
	}
	if err := d.run(ctx, registryOrg.Id); err != nil {
		return err
	}
	fmt.Fprintf(out, "demo register made: %s, %s. Sign in at %s/signin with any of these (password %q):\n",
		plural(d.registrations, "registration", "registrations"), plural(d.searches, "search", "searches"), strings.TrimSuffix(*base, "/"), demoPassword)
	return printUsers(out, users)
}

func printUsers(out io.Writer, users []demoUser) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, u := range users {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", u.Email, u.Org, u.Roles)
	}
	return w.Flush()
}

type demoer struct {
	api                     *apiclient.ClientWithResponses
	admin                   string
	registrations, searches int
}

// as authenticates one call with token.
func as(token string) apiclient.RequestEditorFn {
	return apiclient.BearerToken(token)
}

// answer201 is what each generated operation's answer that can be a 201
// has: its decoded 201, and its status and body for when it is not one.
type answer201[T any] interface {
	GetJSON201() *T
	GetBody() []byte
	Status() string
}

// created returns a call's 201, or an error naming op: the call's own, or
// the status and problem the registry answered instead.
func created[T any](op string, res answer201[T], err error) (*T, error) {
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", op, err)
	}
	if v := res.GetJSON201(); v != nil {
		return v, nil
	}
	return nil, fmt.Errorf("demo: %s: %s: %s", op, res.Status(), strings.TrimSpace(string(res.GetBody())))
}

// user makes a user of org with roles and signs it in.
func (d *demoer) user(ctx context.Context, org openapi_types.UUID, email string, roles ...apiclient.Role) (string, error) {
	res, err := d.api.CreateUserWithResponse(ctx, nil, apiclient.NewUser{OrganizationId: org, Email: openapi_types.Email(email),
		DisplayName: strings.Split(email, "@")[0], Roles: roles, Password: ptr(demoPassword)}, as(d.admin))
	if _, err := created("POST /users "+email, res, err); err != nil {
		return "", err
	}
	tok, err := d.api.CreateTokenWithResponse(ctx, apiclient.TokenRequest{Email: ptr(email), Password: ptr(demoPassword)})
	t, err := created("POST /tokens "+email, tok, err)
	if err != nil {
		return "", err
	}
	return t.Token, nil
}

func (d *demoer) org(ctx context.Context, p apiclient.Party, kind apiclient.NewOrganizationKind) (openapi_types.UUID, error) {
	res, err := d.api.CreateOrganizationWithResponse(ctx, nil, apiclient.NewOrganization{Name: p.Name, Uscc: *p.Uscc, Kind: kind}, as(d.admin))
	o, err := created("POST /organizations "+p.Name, res, err)
	if err != nil {
		return openapi_types.UUID{}, err
	}
	return o.Id, nil
}

// party is a mainland organization with what a new filing must give of it
// (the 2021 Measures): its domicile and legal representative.
func party(name, uscc, address, representative string) apiclient.Party {
	return apiclient.Party{Type: apiclient.PartyTypeOrganization, Name: name, Uscc: ptr(uscc), Address: ptr(address), LegalRepresentative: ptr(representative)}
}

func (d *demoer) file(ctx context.Context, token string, grantor, secured apiclient.Party, kind apiclient.Kind, description string, items []apiclient.Item, months int) (string, error) {
	filing := apiclient.Filing{
		Kind: kind, Grantors: []apiclient.Party{grantor}, SecuredParties: []apiclient.Party{secured},
		Collateral:   apiclient.Collateral{Description: description},
		PeriodMonths: months, MaxSecuredAmount: &apiclient.Money{Amount: "5000000.00", Currency: "CNY"},
		// The bank agreed the content with the grantor before filing.
		AgreedWithGrantor: true,
	}
	if items != nil {
		filing.Collateral.Items = &items
	}
	res, err := d.api.FileRegistrationWithResponse(ctx, nil, filing, as(token))
	r, err := created("POST /registrations "+description, res, err)
	if err != nil {
		return "", err
	}
	d.registrations++
	return r.Number, nil
}

func (d *demoer) run(ctx context.Context, registryOrg openapi_types.UUID) error {
	for _, u := range []struct {
		email string
		role  apiclient.Role
	}{{"admin@registry.demo", apiclient.RoleAdmin}, {"auditor@registry.demo", apiclient.RoleAuditor}} {
		if _, err := d.user(ctx, registryOrg, u.email, u.role); err != nil {
			return err
		}
	}
	spdb := party("上海浦东发展银行股份有限公司张江科技支行", "91310000132209458L", "上海市浦东新区张江高科技园区博云路2号", "李明")
	icbc := party("中国工商银行股份有限公司上海市分行", "911100001000065859", "上海市黄浦区中山东一路24号", "陈华")
	xingchen := party("上海星辰精密机械有限公司", "91310115MA1K3YJ12G", "上海市浦东新区张江路88号", "王建国")
	beichen := party("上海北辰贸易有限公司", "91440300MA5DC6YB00", "深圳市南山区科技园南区18号", "赵敏")
	huaxia := party("杭州华夏纺织有限公司", "91330100MA27XY1235", "杭州市萧山区经济技术开发区建设一路66号", "周强")
	ids := map[string]openapi_types.UUID{}
	for _, o := range []struct {
		p    apiclient.Party
		kind apiclient.NewOrganizationKind
	}{
		{spdb, apiclient.NewOrganizationKindFinancialInstitution}, {icbc, apiclient.NewOrganizationKindFinancialInstitution},
		{xingchen, apiclient.NewOrganizationKindEnterprise}, {beichen, apiclient.NewOrganizationKindEnterprise}, {huaxia, apiclient.NewOrganizationKindEnterprise},
	} {
		id, err := d.org(ctx, o.p, o.kind)
		if err != nil {
			return err
		}
		ids[*o.p.Uscc] = id
	}
	spdbClerk, err := d.user(ctx, ids["91310000132209458L"], "clerk@spdb.demo", apiclient.RoleRegistrant, apiclient.RoleSearcher, apiclient.RoleOrgAdmin)
	if err != nil {
		return err
	}
	icbcClerk, err := d.user(ctx, ids["911100001000065859"], "clerk@icbc.demo", apiclient.RoleRegistrant, apiclient.RoleSearcher)
	if err != nil {
		return err
	}
	grantor, err := d.user(ctx, ids["91310115MA1K3YJ12G"], "finance@xingchen.demo", apiclient.RoleRegistrant, apiclient.RoleSearcher)
	if err != nil {
		return err
	}
	cnc := []apiclient.Item{{Type: apiclient.ItemTypeEquipment, SerialNumber: "DMG-2019-004411", Description: ptr("五轴加工中心 DMU 50")}}
	// Effective, then amended with a forklift whose priority is the amendment's.
	amended, err := d.file(ctx, spdbClerk, xingchen, spdb, apiclient.KindChattelMortgage, "浦东工厂数控加工中心十二台及全部备件", cnc, 36)
	if err != nil {
		return err
	}
	amendment, err := d.api.AmendRegistrationWithResponse(ctx, amended, nil, apiclient.Amendment{
		AddItems: &[]apiclient.Item{{Type: apiclient.ItemTypeVehicle, SerialNumber: "LINDE-H25-77812", Description: ptr("林德叉车")}}}, as(spdbClerk))
	if _, err := created("POST /registrations/"+amended+"/amendments", amendment, err); err != nil {
		return err
	}
	// Extended (any time while effective, unless a window is configured).
	extended, err := d.file(ctx, icbcClerk, beichen, icbc, apiclient.KindReceivablesPledge, "对华东区客户的全部应收账款", nil, 2)
	if err != nil {
		return err
	}
	extension, err := d.api.ExtendRegistrationWithResponse(ctx, extended, nil, apiclient.Extension{PeriodMonths: 12}, as(icbcClerk))
	if _, err := created("POST /registrations/"+extended+"/extensions", extension, err); err != nil {
		return err
	}
	// Cancelled: the debt was repaid.
	cancelled, err := d.file(ctx, spdbClerk, huaxia, spdb, apiclient.KindFinancialLease, "纺织机二十台（融资租赁）",
		[]apiclient.Item{{Type: apiclient.ItemTypeEquipment, SerialNumber: "TOYOTA-JAT810-5512"}}, 24)
	if err != nil {
		return err
	}
	cancellation, err := d.api.CancelRegistrationWithResponse(ctx, cancelled, nil, apiclient.Cancellation{Reason: apiclient.CancellationReasonDebtRepaid}, as(spdbClerk))
	if _, err := created("POST /registrations/"+cancelled+"/cancellation", cancellation, err); err != nil {
		return err
	}
	// Disputed: the grantor objects to a registration it never agreed to.
	disputed, err := d.file(ctx, icbcClerk, xingchen, icbc, apiclient.KindRetentionOfTitle, "供应的钢材五百吨，付清货款前所有权保留", nil, 12)
	if err != nil {
		return err
	}
	objection, err := d.api.FileObjectionWithResponse(ctx, disputed, nil, apiclient.ObjectionRequest{Statement: "我司与该银行之间不存在所有权保留的约定。"}, as(grantor))
	if _, err := created("POST /registrations/"+disputed+"/objections", objection, err); err != nil {
		return err
	}
	// Revoked by the registry on a court's judgment.
	revoked, err := d.file(ctx, icbcClerk, huaxia, icbc, apiclient.KindChattelMortgage, "仓库内的棉纱库存", nil, 12)
	if err != nil {
		return err
	}
	revocation, err := d.api.RevokeWithResponse(ctx, revoked, nil, apiclient.Revocation{
		Authority: "上海市浦东新区人民法院", DocumentNumber: "(2026)沪0115民初1024号"}, as(d.admin))
	if _, err := created("POST /registrations/"+revoked+"/revocation", revocation, err); err != nil {
		return err
	}
	// A trading company that factors its receivables batch by batch: with
	// the receivables pledge above, a search for it finds 13, more than a
	// sandbox's search answer holds (make sandbox: 5), so that its paging
	// can be tried.
	for batch := range demoFactoringBatches {
		if _, err := d.file(ctx, spdbClerk, beichen, spdb, apiclient.KindFactoring, fmt.Sprintf("保理项下的应收账款（%s 第%d批）", time.Now().Format("2006-01"), batch+1), nil, 12); err != nil {
			return err
		}
	}
	// A bank searches before it lends.
	for _, criteria := range []apiclient.Criteria{{GrantorName: ptr("上海星辰精密机械有限公司")}, {Uscc: ptr("91330100MA27XY1235")}, {SerialNumber: ptr("DMG-2019-004411")}, {Uscc: beichen.Uscc}} {
		res, err := d.api.SearchWithResponse(ctx, nil, apiclient.SearchRequest{Criteria: criteria, IncludeInactive: ptr(true)}, as(icbcClerk))
		if _, err := created("POST /searches", res, err); err != nil {
			return err
		}
		d.searches++
	}
	return nil
}
