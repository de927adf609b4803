package httpx

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/movable-registry/registry/internal/registry"
)

// AttachmentType tells an uploaded file's type from its content, not its
// name: PDF, PNG or JPEG as Go's content sniffing does, or CSV (UTF-8 text
// that reads as rows of at least two fields); "" for anything else.
func AttachmentType(data []byte) string {
	switch t := http.DetectContentType(data); t {
	case "application/pdf", "image/png", "image/jpeg":
		return t
	case "text/plain; charset=utf-8":
		if !utf8.Valid(data) {
			return ""
		}
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil || len(rows) == 0 || len(rows[0]) < 2 {
			return ""
		}
		return "text/csv"
	}
	return ""
}

// BodyLimit is how large a request to path may be, base for most: a bulk
// filing holds up to 1,000 filings (a bulk change as many changes), an attachment up to 10 MiB with its
// multipart framing.
func BodyLimit(path string, base int64) int64 {
	switch {
	case strings.HasSuffix(path, "/registrations/batch"), strings.HasSuffix(path, "/registrations/bulk"),
		strings.HasSuffix(path, "/registrations/changes"):
		return 32 * base
	case strings.HasSuffix(path, "/attachments"):
		return max(base, registry.MaxAttachmentBytes+64<<10)
	}
	return base
}
