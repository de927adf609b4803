package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// attach handles POST /attachments: one file, multipart/form-data, in the
// part named "file".
func (a *api) attach(c *gin.Context, caller registry.Caller) error {
	reader, err := c.Request.MultipartReader()
	if err != nil {
		return registry.Invalid("file", registry.CodeInvalidField, "send one file as multipart/form-data in a part named file")
	}
	var data []byte
	files := 0
	for {
		part, err := reader.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err)
		}
		if err != nil {
			return httpx.NewProblem(http.StatusBadRequest, "malformed_request", "the multipart body: "+err.Error())
		}
		if part.FormName() != "file" {
			return httpx.NewProblem(http.StatusBadRequest, "malformed_request", "unknown part "+strconv.Quote(part.FormName())+": send only file")
		}
		if files++; files > 1 {
			return registry.Invalid("file", registry.CodeInvalidField, "send one file at a time")
		}
		if data, err = io.ReadAll(io.LimitReader(part, registry.MaxAttachmentBytes+1)); err != nil {
			if errors.As(err, &tooBig) {
				return decodeError(err)
			}
			return httpx.NewProblem(http.StatusBadRequest, "malformed_request", "the file: "+err.Error())
		}
	}
	att, err := a.svc.Attach(c.Request.Context(), caller, data, httpx.AttachmentType(data))
	if err != nil {
		return err
	}
	c.Header("Location", BasePath+"/attachments/"+att.ID)
	a.render(c, http.StatusCreated, att)
	return nil
}

// attachment handles GET /attachments/{id}: the bytes as uploaded.
func (a *api) attachment(c *gin.Context, caller registry.Caller) error {
	att, err := a.svc.AttachmentFile(c.Request.Context(), caller, c.Param("id"))
	if err != nil {
		return err
	}
	c.Header("ETag", `"`+att.SHA256+`"`)
	c.Header("Content-Disposition", `attachment; filename="`+att.ID+extension(att.MediaType)+`"`)
	c.Header("Cache-Control", "private, max-age=31536000, immutable")
	c.Data(http.StatusOK, att.MediaType, att.Data)
	return nil
}

func extension(mediaType string) string {
	return map[string]string{"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "text/csv": ".csv"}[mediaType]
}
