package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

// demoPassword is every demo user's password: the demo register is for
// looking around, never for real data.
const demoPassword = "demo password 2026"

// demoUser is a sign-in the demo prints.
type demoUser struct {
	Email, Org, Roles string
}

// demo fills an empty register, through the API as the operator would, with
// a small register to look around in: the registry's staff, two banks, three
// enterprises, registrations in every state a user meets (effective,
// amended with a later item, extended, cancelled, disputed, revoked),
// searches and an objection. It prints the sign-ins.
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
	d := &demoer{c: newClient(*base, *admin), admin: *admin}
	users := []demoUser{
		{"admin@registry.demo", "动产融资统一登记公示系统", "admin"},
		{"auditor@registry.demo", "动产融资统一登记公示系统", "auditor"},
		{"clerk@spdb.demo", "上海浦东发展银行股份有限公司张江科技支行", "registrant, searcher, org_admin"},
		{"clerk@icbc.demo", "中国工商银行股份有限公司上海市分行", "registrant, searcher"},
		{"finance@xingchen.demo", "上海星辰精密机械有限公司", "registrant, searcher"},
	}
	status, registryOrg, err := d.call(ctx, "POST", "/organizations", *admin, map[string]any{"name": "动产融资统一登记公示系统", "uscc": "91310104MA1FR8T2XM", "kind": "registry"})
	if err != nil {
		return err
	}
	if status == http.StatusConflict {
		fmt.Fprintln(out, "demo: the register has the demo's organizations already; its sign-ins:")
		return printUsers(out, users)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("demo: POST /organizations: %d %v", status, registryOrg)
	}
	if err := d.run(ctx, registryOrg["id"].(string)); err != nil {
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
	c                       *client
	admin                   string
	registrations, searches int
}

// call sends one request and returns its status and JSON answer.
func (d *demoer) call(ctx context.Context, method, path, token string, body any) (int, map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, d.c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := d.c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, nil
}

// must sends one request that must be answered want.
func (d *demoer) must(ctx context.Context, want int, method, path, token string, body any) (map[string]any, error) {
	status, m, err := d.call(ctx, method, path, token, body)
	if err != nil {
		return nil, err
	}
	if status != want {
		return nil, fmt.Errorf("demo: %s %s %v: %d, want %d: %v", method, path, body, status, want, m)
	}
	return m, nil
}

// user makes a user of org with roles and signs it in.
func (d *demoer) user(ctx context.Context, org, email string, roles ...string) (string, error) {
	if _, err := d.must(ctx, 201, "POST", "/users", d.admin, map[string]any{"organization_id": org, "email": email,
		"display_name": strings.Split(email, "@")[0], "roles": roles, "password": demoPassword}); err != nil {
		return "", err
	}
	tok, err := d.must(ctx, 201, "POST", "/tokens", "", map[string]any{"email": email, "password": demoPassword})
	if err != nil {
		return "", err
	}
	return tok["token"].(string), nil
}

func (d *demoer) org(ctx context.Context, name, uscc, kind string) (string, error) {
	o, err := d.must(ctx, 201, "POST", "/organizations", d.admin, map[string]any{"name": name, "uscc": uscc, "kind": kind})
	if err != nil {
		return "", err
	}
	return o["id"].(string), nil
}

func party(name, uscc string) map[string]any {
	return map[string]any{"type": "organization", "name": name, "uscc": uscc}
}

func (d *demoer) file(ctx context.Context, token string, grantor, secured map[string]any, kind, description string, items []any, months int) (string, error) {
	r, err := d.must(ctx, 201, "POST", "/registrations", token, map[string]any{
		"kind": kind, "grantors": []any{grantor}, "secured_parties": []any{secured},
		"collateral":    map[string]any{"description": description, "items": items},
		"period_months": months, "max_secured_amount": map[string]any{"amount": "5000000.00", "currency": "CNY"},
	})
	if err != nil {
		return "", err
	}
	d.registrations++
	return r["number"].(string), nil
}

func (d *demoer) run(ctx context.Context, registryOrg string) error {
	for _, u := range []struct{ email, role string }{{"admin@registry.demo", "admin"}, {"auditor@registry.demo", "auditor"}} {
		if _, err := d.user(ctx, registryOrg, u.email, u.role); err != nil {
			return err
		}
	}
	spdb := party("上海浦东发展银行股份有限公司张江科技支行", "91310000132209458L")
	icbc := party("中国工商银行股份有限公司上海市分行", "911100001000065859")
	xingchen := party("上海星辰精密机械有限公司", "91310115MA1K3YJ12G")
	beichen := party("上海北辰贸易有限公司", "91440300MA5DC6YB00")
	huaxia := party("杭州华夏纺织有限公司", "91330100MA27XY1235")
	ids := map[string]string{}
	for _, o := range []struct {
		p    map[string]any
		kind string
	}{{spdb, "financial_institution"}, {icbc, "financial_institution"}, {xingchen, "enterprise"}, {beichen, "enterprise"}, {huaxia, "enterprise"}} {
		id, err := d.org(ctx, o.p["name"].(string), o.p["uscc"].(string), o.kind)
		if err != nil {
			return err
		}
		ids[o.p["uscc"].(string)] = id
	}
	spdbClerk, err := d.user(ctx, ids["91310000132209458L"], "clerk@spdb.demo", "registrant", "searcher", "org_admin")
	if err != nil {
		return err
	}
	icbcClerk, err := d.user(ctx, ids["911100001000065859"], "clerk@icbc.demo", "registrant", "searcher")
	if err != nil {
		return err
	}
	grantor, err := d.user(ctx, ids["91310115MA1K3YJ12G"], "finance@xingchen.demo", "registrant", "searcher")
	if err != nil {
		return err
	}
	cnc := []any{map[string]any{"type": "equipment", "serial_number": "DMG-2019-004411", "description": "五轴加工中心 DMU 50"}}
	// Effective, then amended with a forklift whose priority is the amendment's.
	amended, err := d.file(ctx, spdbClerk, xingchen, spdb, "chattel_mortgage", "浦东工厂数控加工中心十二台及全部备件", cnc, 36)
	if err != nil {
		return err
	}
	if _, err := d.must(ctx, 201, "POST", "/registrations/"+amended+"/amendments", spdbClerk, map[string]any{
		"add_items": []any{map[string]any{"type": "vehicle", "serial_number": "LINDE-H25-77812", "description": "林德叉车"}}}); err != nil {
		return err
	}
	// Extended within its last 90 days.
	extended, err := d.file(ctx, icbcClerk, beichen, icbc, "receivables_pledge", "对华东区客户的全部应收账款", nil, 2)
	if err != nil {
		return err
	}
	if _, err := d.must(ctx, 201, "POST", "/registrations/"+extended+"/extensions", icbcClerk, map[string]any{"period_months": 12}); err != nil {
		return err
	}
	// Cancelled: the debt was repaid.
	cancelled, err := d.file(ctx, spdbClerk, huaxia, spdb, "financial_lease", "纺织机二十台（融资租赁）", []any{map[string]any{"type": "equipment", "serial_number": "TOYOTA-JAT810-5512"}}, 24)
	if err != nil {
		return err
	}
	if _, err := d.must(ctx, 201, "POST", "/registrations/"+cancelled+"/cancellation", spdbClerk, map[string]any{"reason": "debt_repaid"}); err != nil {
		return err
	}
	// Disputed: the grantor objects to a registration it never agreed to.
	disputed, err := d.file(ctx, icbcClerk, xingchen, icbc, "retention_of_title", "供应的钢材五百吨，付清货款前所有权保留", nil, 12)
	if err != nil {
		return err
	}
	if _, err := d.must(ctx, 201, "POST", "/registrations/"+disputed+"/objections", grantor, map[string]any{"statement": "我司与该银行之间不存在所有权保留的约定。"}); err != nil {
		return err
	}
	// Revoked by the registry on a court's judgment.
	revoked, err := d.file(ctx, icbcClerk, huaxia, icbc, "chattel_mortgage", "仓库内的棉纱库存", nil, 12)
	if err != nil {
		return err
	}
	if _, err := d.must(ctx, 201, "POST", "/registrations/"+revoked+"/revocation", d.admin, map[string]any{
		"authority": "上海市浦东新区人民法院", "document_number": "(2026)沪0115民初1024号"}); err != nil {
		return err
	}
	for range 3 {
		if _, err := d.file(ctx, spdbClerk, beichen, spdb, "factoring", fmt.Sprintf("保理项下的应收账款（%s）", time.Now().Format("2006-01")), nil, 12); err != nil {
			return err
		}
	}
	// A bank searches before it lends.
	for _, criteria := range []map[string]any{{"grantor_name": "上海星辰精密机械有限公司"}, {"uscc": "91330100MA27XY1235"}, {"serial_number": "DMG-2019-004411"}} {
		if _, err := d.must(ctx, 201, "POST", "/searches", icbcClerk, map[string]any{"criteria": criteria, "include_inactive": true}); err != nil {
			return err
		}
		d.searches++
	}
	return nil
}
