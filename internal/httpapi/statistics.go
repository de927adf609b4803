package httpapi

import (
	"encoding/csv"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// statistics handles GET /statistics?from=&to=&by=&format=: JSON, or CSV
// with format=csv.
func (a *api) statistics(c *gin.Context, caller registry.Caller) error {
	format := c.Query("format")
	if format != "" && format != "json" && format != "csv" {
		return registry.Invalid("format", registry.CodeInvalidField, "must be json or csv")
	}
	st, err := a.svc.Statistics(c.Request.Context(), caller, registry.StatisticsRequest{From: c.Query("from"), To: c.Query("to"), By: c.Query("by")})
	if err != nil {
		return err
	}
	if format != "csv" {
		a.render(c, http.StatusOK, st)
		return nil
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="statistics-`+st.By+`.csv"`)
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{st.By, "registrations", "amendments", "cancellations", "searches"})
	for _, r := range st.Rows {
		_ = w.Write([]string{r.Group(), strconv.FormatInt(r.Registrations, 10), strconv.FormatInt(r.Amendments, 10),
			strconv.FormatInt(r.Cancellations, 10), r.SearchesText()})
	}
	w.Flush()
	return w.Error()
}
