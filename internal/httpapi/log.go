package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// checkpoint handles GET /log/checkpoint.
func (a *api) checkpoint(c *gin.Context, caller registry.Caller) error {
	cp, err := a.svc.Checkpoint(c.Request.Context(), caller)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", cp.Note)
	return nil
}

// logKey handles GET /log/key: the verifier key as a line of text, as it
// always was; asked for JSON, the previous key too during a rotation.
func (a *api) logKey(c *gin.Context, caller registry.Caller) error {
	keys, err := a.svc.LogKeys(caller)
	if err != nil {
		return err
	}
	if c.NegotiateFormat("text/plain", "application/json") == "application/json" {
		a.render(c, http.StatusOK, keys)
		return nil
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(keys.Key+"\n"))
	return nil
}

// logEntries handles GET /log/entries.
func (a *api) logEntries(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.LogEntries(c.Request.Context(), caller, c.Query("from"), c.Query("to")))
}

// inclusionProof handles GET /log/proof/inclusion.
func (a *api) inclusionProof(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.InclusionProof(c.Request.Context(), caller, c.Query("index"), c.Query("size")))
}

// consistencyProof handles GET /log/proof/consistency.
func (a *api) consistencyProof(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.ConsistencyProof(c.Request.Context(), caller, c.Query("from"), c.Query("to")))
}

// immutable is how long a tile may be cached: for good, since the tiles
// served lie within a signed checkpoint and never change.
const immutable = "max-age=31536000, immutable"

// logTile handles GET /log/tile/{L}/{N}[.p/{W}]: a hash tile, for anyone.
func (a *api) logTile(c *gin.Context, caller registry.Caller) error {
	tile, err := a.svc.LogTile(c.Request.Context(), caller, "tile/"+c.Param("level")+c.Param("path"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "public, "+immutable)
	c.Data(http.StatusOK, "application/octet-stream", tile)
	return nil
}

// logBundle handles GET /log/tile/entries/{N}[.p/{W}]: an entry bundle, for
// those who may read the log's entries.
func (a *api) logBundle(c *gin.Context, caller registry.Caller) error {
	bundle, err := a.svc.LogBundle(c.Request.Context(), caller, "tile/entries"+c.Param("path"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "private, "+immutable)
	c.Data(http.StatusOK, "application/octet-stream", bundle)
	return nil
}

// logEvent handles GET /log/events/{number}.
func (a *api) logEvent(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.LogEvent(c.Request.Context(), caller, c.Param("number")))
}

// logColumns handles GET /log/columns.
func (a *api) logColumns(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.LogColumns(c.Request.Context(), caller, c.Query("from"), c.Query("to")))
}

// logState handles GET /log/state.
func (a *api) logState(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.LogState(c.Request.Context(), caller, c.Query("after"), c.Query("size"), c.Query("at")))
}
