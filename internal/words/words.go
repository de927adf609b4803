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
