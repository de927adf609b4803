package httpapi_test

import (
	"testing"
)

// TestWatches: a watch by USCC, grantor name, serial number and LEI each
// fires once, for the event that makes a registration match it (a filing,
// an amendment adding an item), and not for unrelated filings nor for the
// watcher's own; an event that matches several of one organization's
// watches makes it one notice; individuals are not watched; a key is
// watched once; an ended watch fires no more.
func TestWatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	watcher := e.newAccount(usccs[4], "searcher", "registrant")

	watch := func(criteria map[string]any) string {
		t.Helper()
		return e.must(201, e.do("POST", "/watches", watcher.Token, map[string]any{"criteria": criteria, "note": "借款人"}))["id"].(string)
	}
	byUSCC := watch(map[string]any{"uscc": usccs[1]})
	byName := watch(map[string]any{"grantor_name": "上海 星辰精密机械（有限公司）"})
	bySerial := watch(map[string]any{"serial_number": "dmg 2019 004411"})
	byLEI := watch(map[string]any{"lei": "5493001KJTIIGC8Y1R12"})

	matches := func() map[string][]string { // watch id → event numbers
		t.Helper()
		out := map[string][]string{}
		for _, n := range list(e.must(200, e.do("GET", "/notifications?kind=watch_match&limit=500", watcher.Token, nil))["items"]) {
			m := n.(map[string]any)
			d := m["detail"].(map[string]any)
			out[d["watch_id"].(string)] = append(out[d["watch_id"].(string)], m["event_number"].(string))
		}
		return out
	}

	// Unrelated: another grantor, another serial.
	other := filing("北京某某科技有限公司", usccs[3])
	other["collateral"] = map[string]any{"description": "设备", "items": []any{map[string]any{"type": "equipment", "serial_number": "XYZ-1", "description": "x"}}}
	e.must(201, e.do("POST", "/registrations", bank.Token, other))
	if got := matches(); len(got) != 0 {
		t.Fatalf("an unrelated filing matched %v", got)
	}

	// The grantor by USCC and name, and the serial (filing() carries DMG-2019-004411): one notice, one event.
	number := e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))["number"].(string)
	got := matches()
	total := 0
	for _, evs := range got {
		total += len(evs)
	}
	if total != 1 || len(got) != 1 {
		t.Fatalf("a filing matching three watches made %v, want one notice", got)
	}
	for id, evs := range got {
		if evs[0] != number || (id != byUSCC && id != byName && id != bySerial) {
			t.Errorf("notice for watch %s, events %v; want the filing %s", id, evs, number)
		}
	}

	// An amendment adding nothing watched: no notice; one adding a watched
	// item to another registration: a notice for that event.
	e.must(201, e.do("POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"description": "补充说明"}))
	if again := matches(); len(again[byUSCC])+len(again[byName])+len(again[bySerial]) != 1 {
		t.Errorf("an amendment that adds no watched key matched: %v", again)
	}
	plain := filing("广州某某有限公司", usccs[5])
	plain["collateral"] = map[string]any{"description": "设备", "items": []any{}}
	n2 := e.must(201, e.do("POST", "/registrations", bank.Token, plain))["number"].(string)
	before := len(matches()[bySerial])
	e.must(201, e.do("POST", "/registrations/"+n2+"/amendments", bank.Token, map[string]any{
		"add_items": []any{map[string]any{"type": "equipment", "serial_number": "DMG-2019-004411", "description": "同型号"}}}))
	if after := len(matches()[bySerial]); after != before+1 {
		t.Errorf("adding the watched serial: %d notices for the serial watch, was %d", after, before)
	}

	// By LEI: a foreign grantor.
	foreign := filing("x", usccs[1])
	foreign["grantors"] = []any{map[string]any{"type": "organization", "name": "Pacific Rim Trading Co., Ltd.", "country": "HK", "registration_number": "1234567", "lei": "5493001KJTIIGC8Y1R12", "address": "上海市浦东新区张江路88号"}}
	foreign["collateral"] = map[string]any{"description": "货物", "items": []any{}}
	e.must(201, e.do("POST", "/registrations", bank.Token, foreign))
	if len(matches()[byLEI]) != 1 {
		t.Errorf("the LEI watch: %v", matches()[byLEI])
	}

	// The watcher's own filing tells it nothing.
	own := len(matches()[byUSCC]) + len(matches()[byName]) + len(matches()[bySerial])
	e.must(201, e.do("POST", "/registrations", watcher.Token, filing("上海星辰精密机械有限公司", usccs[1])))
	if now := len(matches()[byUSCC]) + len(matches()[byName]) + len(matches()[bySerial]); now != own {
		t.Errorf("the watcher's own filing made %d watch notices", now-own)
	}

	// Refusals, the list, the end of a watch.
	p := e.problem(e.do("POST", "/watches", watcher.Token, map[string]any{"criteria": map[string]any{"id_number": "110101199003074514"}}), 422, "invalid_field")
	if got := fieldErrors(p); len(got) != 1 || got[0] != "criteria.id_number invalid_field" {
		t.Errorf("watching an individual: %v", got)
	}
	e.problem(e.do("POST", "/watches", watcher.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}), 409, "conflict")
	if items := list(e.must(200, e.do("GET", "/watches", watcher.Token, nil))["items"]); len(items) != 4 {
		t.Errorf("%d watches listed, want 4", len(items))
	}
	e.must(204, e.do("DELETE", "/watches/"+bySerial, watcher.Token, nil))
	e.problem(e.do("DELETE", "/watches/"+bySerial, watcher.Token, nil), 404, "not_found")
	before = len(matches()[bySerial])
	e.must(201, e.do("POST", "/registrations", bank.Token, filing("深圳某某有限公司", usccs[6]))) // DMG-2019-004411 again
	if after := len(matches()[bySerial]); after != before {
		t.Errorf("an ended watch fired")
	}
}

// Webhook addresses must be globally reachable: the reserved,
// benchmarking and site-local ranges, and IPv4 inside IPv6 (compatible,
// NAT64, 6to4, Teredo) aimed at the registry's own network, are refused
// naming url, while webhooks.allow_hosts still lets loopback through.
func TestWebhookAddressesMustBeGloballyReachable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.newAccount(usccs[0], "org_admin")
	const secret = "a webhook secret of enough length"
	for _, bad := range []string{"[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "0.0.0.1", "198.18.0.1", "240.0.0.1",
		"192.0.0.1", "[fec0::1]", "[64:ff9b:1::a00:1]", "[2001:0:808:808::80ff:fefe]", "[::ffff:a9fe:a9fe]", "203.0.113.5", "[2001:db8::1]"} {
		p := e.problem(e.do("POST", "/webhooks", admin.Token, map[string]any{"url": "https://" + bad + "/notices", "secret": secret}), 422, "invalid_field")
		if got := fieldErrors(p); len(got) != 1 || got[0] != "url invalid_field" {
			t.Errorf("%s: %v", bad, got)
		}
	}
	e.must(201, e.do("POST", "/webhooks", admin.Token, map[string]any{"url": "https://[2002:808:808::1]/notices", "secret": secret}))
	e.must(201, e.do("POST", "/webhooks", admin.Token, map[string]any{"url": "http://127.0.0.1:8080/notices", "secret": secret}))
}

// TestWebhookRegistration: an org_admin registers its address (never shown
// its secret again); addresses aimed at the registry's own network are
// refused by address and by a name that resolves there, naming url; a
// missing or short secret is refused naming secret; ten at most.
func TestWebhookRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.newAccount(usccs[0], "org_admin")
	hook := func(url, secret string) response {
		return e.do("POST", "/webhooks", admin.Token, map[string]any{"url": url, "secret": secret})
	}
	const secret = "a webhook secret of enough length"
	made := e.must(201, hook("http://127.0.0.1:8080/notices", secret))
	if _, shown := made["secret"]; shown || made["url"] != "http://127.0.0.1:8080/notices" {
		t.Errorf("the answer: %v", made)
	}
	for _, bad := range []string{"https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data", "https://127.0.0.2/hook",
		"https://[::1]/hook", "http://203.0.113.10/hook", "not a url"} {
		p := e.problem(hook(bad, secret), 422, "invalid_field")
		if got := fieldErrors(p); len(got) != 1 || got[0] != "url invalid_field" {
			t.Errorf("%s: %v", bad, got)
		}
	}
	for _, s := range []string{"", "short"} {
		p := e.problem(hook("http://127.0.0.1:8080/notices", s), 422, "invalid_field")
		if got := fieldErrors(p); len(got) != 1 || got[0] != "secret invalid_field" {
			t.Errorf("secret %q: %v", s, got)
		}
	}
	for range 9 {
		e.must(201, hook("http://127.0.0.1:8080/notices", secret))
	}
	e.problem(hook("http://127.0.0.1:8080/notices", secret), 409, "conflict")
	items := list(e.must(200, e.do("GET", "/webhooks", admin.Token, nil))["items"])
	if len(items) != 10 {
		t.Fatalf("%d webhooks listed", len(items))
	}
	e.must(204, e.do("DELETE", "/webhooks/"+made["id"].(string), admin.Token, nil))
	e.problem(e.do("DELETE", "/webhooks/"+made["id"].(string), admin.Token, nil), 404, "not_found")
}
