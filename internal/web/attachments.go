package web

import (
	"io"
	"net/http"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// attachmentPage handles GET /attachments: the upload form.
func (s *site) attachmentPage(w http.ResponseWriter, r *http.Request, c *call) error {
	s.render(w, c, http.StatusOK, "attachments", (*registry.Attachment)(nil))
	return nil
}

// upload handles POST /attachments: one file, shown back with the id a
// filing names it by and its SHA-256.
func (s *site) upload(w http.ResponseWriter, r *http.Request, c *call) error {
	c.audited(auth.Attach, "")
	var data []byte
	if r.MultipartForm != nil {
		if files := r.MultipartForm.File["file"]; len(files) == 1 {
			f, err := files[0].Open()
			if err != nil {
				return err
			}
			data, err = io.ReadAll(io.LimitReader(f, registry.MaxAttachmentBytes+1))
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	att, err := s.svc.Attach(c.ctx(), c.caller, data, httpx.AttachmentType(data))
	if err != nil {
		return s.formFailed(w, c, "attachments", (*registry.Attachment)(nil), nil, "", err)
	}
	s.render(w, c, http.StatusCreated, "attachments", &att)
	return nil
}

// attachmentFile handles GET /attachments/{id}: the bytes as uploaded.
func (s *site) attachmentFile(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.audited(auth.ReadAttachment, id)
	att, err := s.svc.AttachmentFile(c.ctx(), c.caller, id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", att.MediaType)
	w.Header().Set("Content-Disposition", "attachment")
	_, _ = w.Write(att.Data)
	return nil
}
