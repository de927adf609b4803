package web_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkPages compares a page with the API call behind it, through the
// real router and database: the stored search with ten results, as HTML and
// as JSON, and the filing form.
func BenchmarkPages(b *testing.B) {
	s := newSite(b)
	bank := s.bank("registrant", "searcher")
	for range 10 {
		s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	}
	search := s.api(201, "POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"grantor_name": "上海星辰精密机械有限公司"}})
	number := search["number"].(string)
	br := s.browser()
	br.signIn(bank)
	get := func(b *testing.B, req *http.Request, client *http.Client) {
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("%s: %d", req.URL, res.StatusCode)
		}
	}
	for _, tc := range []struct {
		name, path string
		api        bool
	}{
		{"search result/api", "/api/v1/searches/" + number, true},
		{"search result/page", "/searches/" + number, false},
		{"search certificate/page", "/searches/" + number + "/certificate", false},
		{"filing form/page", "/registrations/new", false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			u, _ := url.Parse(s.url + tc.path)
			for b.Loop() {
				req := &http.Request{Method: "GET", URL: u, Header: http.Header{}}
				if tc.api {
					req.Header.Set("Authorization", "Bearer "+bank.Token)
				}
				get(b, req, br.c)
			}
		})
	}
}
