// Package words holds the register's words in Chinese and English: one
// catalog, from which the pages and the PDF certificates alike name a kind,
// a status, an event or a criterion, so that a certificate says what its
// page says.
package words

import (
	"embed"
	"encoding/json"
	"fmt"
	"sync"
)

//go:embed zh.json en.json
var files embed.FS

// Languages are the register's languages; the first is the default.
var Languages = []string{"zh", "en"}

// Catalogs are each language's words by key, read once. The maps are
// shared: callers read them and never write.
var Catalogs = sync.OnceValues(func() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, lang := range Languages {
		b, err := files.ReadFile(lang + ".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("words/%s.json: %w", lang, err)
		}
		out[lang] = m
	}
	return out, nil
})

// Counted is the key to say a count with: key's ".one" form, where the
// catalog has one, when the count given last among args is 1 ("%d
// registration" beside "%d registrations"), else key. Chinese needs no
// such form; its catalog carries the same words under both keys.
func Counted(catalog map[string]string, key string, args ...any) string {
	if len(args) == 0 {
		return key
	}
	one := false
	switch n := args[len(args)-1].(type) {
	case int:
		one = n == 1
	case int64:
		one = n == 1
	case uint64:
		one = n == 1
	}
	if _, ok := catalog[key+".one"]; one && ok {
		return key + ".one"
	}
	return key
}
