package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// search handles POST /searches.
func (a *api) search(c *gin.Context, caller registry.Caller) error {
	var req registry.SearchRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	number, body, err := a.svc.Search(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	c.Header("Location", BasePath+"/searches/"+number)
	markReplay(c)
	c.Data(http.StatusCreated, "application/json; charset=utf-8", body)
	return nil
}

// storedSearch handles GET /searches/{number}.
func (a *api) storedSearch(c *gin.Context, caller registry.Caller) error {
	body, err := a.svc.StoredSearch(c.Request.Context(), caller, c.Param("number"))
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	return nil
}

// searchResults handles GET /searches/{number}/results?cursor=.
func (a *api) searchResults(c *gin.Context, caller registry.Caller) error {
	body, err := a.svc.SearchResults(c.Request.Context(), caller, c.Param("number"), c.Query("cursor"))
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	return nil
}

// certificate handles GET /certificates/{number}, without a token.
func (a *api) certificate(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Certificate(c.Request.Context(), caller, c.Param("number")))
}

// searchHistory handles GET /searches: stored searches, newest first.
func (a *api) searchHistory(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.SearchHistory(c.Request.Context(), caller, registry.SearchHistoryRequest{
		Mine: c.Query("mine"), From: c.Query("from"), To: c.Query("to"), Limit: c.Query("limit"), Cursor: c.Query("cursor")}))
}
