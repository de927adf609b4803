package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// pdfLanguage reads ?lang=zh|en (zh by default).
func pdfLanguage(c *gin.Context) (string, error) {
	switch lang := c.Query("lang"); lang {
	case "", "zh":
		return "zh", nil
	case "en":
		return "en", nil
	}
	return "", registry.Invalid("lang", registry.CodeInvalidField, "must be zh or en")
}

// verifyURL is where a certificate's QR code leads: the public page that
// checks its number.
func (a *api) verifyURL(c *gin.Context, number string) string {
	base := strings.TrimSuffix(a.opts.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if c.Request.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + c.Request.Host
	}
	return base + "/verify?number=" + url.QueryEscape(number)
}

func (a *api) sendPDF(c *gin.Context, number, lang string, pdf []byte, err error) error {
	var busy *registry.UnavailableError
	if errors.As(err, &busy) || errors.Is(err, context.Canceled) {
		return err
	}
	if err != nil {
		a.log.Error("a PDF certificate could not be made", "error", err, "number", number)
		return httpx.NewProblem(http.StatusServiceUnavailable, "unavailable", "the certificate cannot be made as a PDF here just now")
	}
	c.Header("Content-Disposition", `inline; filename="`+number+`-`+lang+`.pdf"`)
	c.Data(http.StatusOK, "application/pdf", pdf)
	return nil
}

// registrationPDF handles GET /registrations/{number}/certificate.pdf.
func (a *api) registrationPDF(c *gin.Context, caller registry.Caller) error {
	lang, err := pdfLanguage(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	r, err := a.svc.Registration(ctx, caller, c.Param("number"))
	if err != nil {
		return err
	}
	cert, err := a.svc.Certificate(ctx, caller, r.Number)
	if err != nil {
		return err
	}
	pdf, err := a.opts.Certificates.Registration(ctx, r, cert, lang, a.verifyURL(c, r.Number))
	return a.sendPDF(c, r.Number, lang, pdf, err)
}

// searchPDF handles GET /searches/{number}/certificate.pdf.
func (a *api) searchPDF(c *gin.Context, caller registry.Caller) error {
	lang, err := pdfLanguage(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	body, err := a.svc.StoredSearch(ctx, caller, c.Param("number"))
	if err != nil {
		return err
	}
	var search registry.SearchCertificate
	if err := json.Unmarshal(body, &search); err != nil {
		return err
	}
	cert, err := a.svc.Certificate(ctx, caller, search.Number)
	if err != nil {
		return err
	}
	pdf, err := a.opts.Certificates.Search(ctx, search, cert, lang, a.verifyURL(c, search.Number))
	return a.sendPDF(c, search.Number, lang, pdf, err)
}
