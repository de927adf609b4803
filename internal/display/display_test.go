package display

import (
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

func TestCapital(t *testing.T) {
	for _, tc := range []struct{ amount, want string }{
		{"3000000.00", "人民币叁佰万元整"},
		{"16.00", "人民币壹拾陆元整"},
		{"1680.32", "人民币壹仟陆佰捌拾元叁角贰分"},
		{"107000.53", "人民币壹拾万零柒仟元伍角叁分"},
		{"1409.50", "人民币壹仟肆佰零玖元伍角整"},
		{"6007.14", "人民币陆仟零柒元壹角肆分"},
		{"300.05", "人民币叁佰元零伍分"},
		{"100005.00", "人民币壹拾万零伍元整"},
		{"100500.00", "人民币壹拾万零伍佰元整"},
		{"1000000001.00", "人民币壹拾亿零壹元整"},
		{"120000000.00", "人民币壹亿贰仟万元整"},
		{"10000.00", "人民币壹万元整"},
		{"0.50", "人民币伍角整"},
		{"0.05", "人民币伍分"},
		{"0", "人民币零元整"},
		{"5000000", "人民币伍佰万元整"},
	} {
		got, ok := Capital(tc.amount)
		if !ok || got != tc.want {
			t.Errorf("Capital(%q) = %q, %v; want %q", tc.amount, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"abc", "1.234", "-5.00", "1e5", "12345678901234567.00", ""} {
		if got, ok := Capital(bad); ok && bad != "" {
			t.Errorf("Capital(%q) = %q, want refused", bad, got)
		}
	}
}

func TestGroupedAndMoney(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"3000000.00", "3,000,000.00"}, {"999.99", "999.99"}, {"1000", "1,000"}, {"12345678.5", "12,345,678.5"}, {"x1", "x1"},
	} {
		if got := Grouped(tc.in); got != tc.want {
			t.Errorf("Grouped(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	cny := registry.Money{Amount: "3000000.00", Currency: "CNY"}
	if got, want := Money(cny, "zh"), "3,000,000.00 元（人民币叁佰万元整）"; got != want {
		t.Errorf("zh: %q, want %q", got, want)
	}
	if got, want := Money(cny, "en"), "CNY 3,000,000.00 (人民币叁佰万元整)"; got != want {
		t.Errorf("en: %q, want %q", got, want)
	}
	if got, want := Money(registry.Money{Amount: "1500.00", Currency: "USD"}, "zh"), "1,500.00 USD"; got != want {
		t.Errorf("USD: %q, want %q", got, want)
	}
}

func TestTime(t *testing.T) {
	at := registry.At(time.Date(2026, 12, 7, 5, 21, 38, 0, time.UTC))
	if got, want := Time(at, "zh"), "2026-12-07 13:21:38（北京时间）"; got != want {
		t.Errorf("zh: %q, want %q", got, want)
	}
	if got, want := Time(at, "en"), "2026-12-07 13:21:38 (UTC+8)"; got != want {
		t.Errorf("en: %q, want %q", got, want)
	}
}
