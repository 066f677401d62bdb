package xrpc

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/store"
)

func blobError(err error) error {
	switch {
	case errors.Is(err, blob.ErrTooLarge):
		return errorf(http.StatusBadRequest, "BlobTooLarge", "%v", err)
	case errors.Is(err, blob.ErrTypeMismatch), errors.Is(err, blob.ErrLocation), errors.Is(err, blob.ErrTruncated):
		return invalidRequest("%v", err)
	case errors.Is(err, blob.ErrNotFound):
		return errorf(http.StatusBadRequest, "BlobNotFound", "%v", err)
	case errors.Is(err, blob.ErrMismatch):
		return invalidRequest("%v", err)
	}
	if xe, ok := asXRPC(err); ok {
		return xe
	}
	return err
}

func (s *Server) uploadBlob(w http.ResponseWriter, r *http.Request, a *Auth) error {
	// A deactivated account may upload: that is how blobs move in during a
	// migration, before the account is activated.
	if cl := r.ContentLength; cl > s.blobs.Limit {
		// Close instead of draining the body the client announced.
		w.Header().Set("Connection", "close")
		return errorf(http.StatusBadRequest, "BlobTooLarge", "blob of %d bytes is over the %d-byte limit", cl, s.blobs.Limit)
	}
	allow, _ := strconv.ParseBool(r.Header.Get(blob.AllowLocationHeader))
	m, err := s.blobs.Upload(r.Context(), a.DID, r.Body, blob.UploadOptions{
		MimeType:      r.Header.Get("Content-Type"),
		AllowLocation: allow,
	})
	if err != nil {
		return blobError(err)
	}
	return ok(w, map[string]any{"blob": map[string]any{
		"$type": "blob", "ref": map[string]string{"$link": m.CID.String()}, "mimeType": m.MimeType, "size": m.Size,
	}})
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	q := r.URL.Query()
	did := q.Get("did")
	c, err := cid.Parse(q.Get("cid"))
	if err != nil {
		return invalidRequest("cid must be a CID")
	}
	if _, err := s.syncTarget(r); err != nil {
		return err
	}
	m, err := s.blobs.Get(did, c)
	if err != nil {
		return errorf(http.StatusBadRequest, "BlobNotFound", "Blob not found")
	}
	if m.TakenDown {
		return errorf(http.StatusBadRequest, "BlobNotFound", "Blob not found")
	}
	h := w.Header()
	h.Set("Content-Type", m.MimeType)
	h.Set("ETag", `"`+c.String()+`"`)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", "attachment; filename="+c.String())
	if strings.Contains(r.Header.Get("Range"), ",") {
		// Many ranges make a multipart answer whose part headers dwarf the
		// bytes asked for (2000 one-byte ranges of 4 KB: 260 KB). A server
		// may ignore Range, so several ranges get the whole blob, never
		// more than its size.
		r.Header.Del("Range")
	}
	// ServeContent handles Range, If-Range and If-None-Match against the ETag.
	http.ServeContent(w, r, "", m.CreatedAt, s.blobs.Open(m))
	return nil
}

func (s *Server) listBlobs(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	did, err := s.syncTarget(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), 500, 1000)
	if err != nil {
		return err
	}
	items, err := s.blobs.List(did, q.Get("since"), q.Get("cursor"), limit)
	if err != nil {
		return invalidRequest("bad cursor")
	}
	cids := []string{}
	for _, it := range items {
		cids = append(cids, it.CID.String())
	}
	out := map[string]any{"cids": cids}
	if len(cids) == limit {
		out["cursor"] = cids[len(cids)-1]
	}
	return ok(w, out)
}

// listMissingBlobs names blobs the account's records reference that are not
// stored (after an import).
func recordBlobs(b []byte) ([]blob.Ref, error) {
	v, err := dagcbor.Decode(b)
	if err != nil {
		return nil, err
	}
	var out []blob.Ref
	for _, x := range dagcbor.FindBlobs(v) {
		out = append(out, blob.Ref{CID: x.Ref, MimeType: x.MimeType, Size: x.Size})
	}
	return out, nil
}

// blobChanges works out, inside the write's transaction, which blob
// references the ops add and remove, and checks the added ones.
func (s *Server) blobChanges(tx *store.Tx, did string, ops []repo.Op) (added, removed []cid.CID, err error) {
	for _, op := range ops {
		if op.Action != repo.Create {
			if old, err := repo.GetRecord(tx, did, op.Collection, op.RKey); err == nil {
				refs, _ := recordBlobs(old.Value)
				for _, r := range refs {
					removed = append(removed, r.CID)
				}
			}
		}
		if op.Action == repo.Delete {
			continue
		}
		refs, err := recordBlobs(op.Record)
		if err != nil {
			return nil, nil, err
		}
		if err := blob.CheckRefs(tx, did, refs); err != nil {
			return nil, nil, blobError(err)
		}
		for _, r := range refs {
			added = append(added, r.CID)
		}
	}
	return added, removed, nil
}

// purgeBlob deletes a blob's bytes outright (admin), e.g. after a takedown.
func (s *Server) purgeBlob(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		CID string `json:"cid"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := cid.Parse(strings.TrimSpace(in.CID))
	if err != nil {
		return invalidRequest("cid must be a CID")
	}
	if err := s.blobs.Purge(r.Context(), c); err != nil {
		return blobError(err)
	}
	return ok(w, map[string]any{})
}

var _ = fmt.Sprintf
