package xrpc

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/store"
)

// Read-after-write: the AppView says in Atproto-Repo-Rev how far it has
// indexed the caller's repo. Records the caller wrote after that are merged
// into the answers where the caller expects to see them at once.
var readAfterWriteMethods = map[string]bool{
	"app.bsky.feed.getTimeline":   true,
	"app.bsky.feed.getAuthorFeed": true,
	"app.bsky.feed.getPostThread": true,
	"app.bsky.actor.getProfile":   true,
}

const maxMergedBody = 8 << 20

// localRecord is a record of the caller newer than the AppView's view.
type localRecord struct {
	rkey  string
	cid   string
	value map[string]any
	json  json.RawMessage
}

// newerRecords lists the caller's records of a collection first written
// after rev, newest first (record keys of posts are TIDs).
func (s *Server) newerRecords(did, collection, rev string, limit int) []localRecord {
	var out []localRecord
	s.db.View(func(tx *store.Tx) error {
		r, err := tx.Repo(did)
		if err != nil {
			return err
		}
		return repo.ListRecords(tx, did, collection, "", true, 0, func(rec repo.Record) error {
			if r.BlockRev(rec.CID.Bytes()) <= rev || len(out) >= limit {
				return store.ErrStop
			}
			v, err := dagcbor.Decode(rec.Value)
			if err != nil {
				return nil
			}
			js, err := dagcbor.ToJSON(v)
			if err != nil {
				return nil
			}
			m, _ := v.(map[string]any)
			out = append(out, localRecord{rkey: rec.RKey, cid: rec.CID.String(), value: m, json: js})
			return nil
		})
	})
	return out
}

func (s *Server) localProfile(did, rev string) *localRecord {
	p := s.newerRecords(did, "app.bsky.actor.profile", rev, 1)
	if len(p) == 1 && p[0].rkey == "self" {
		return &p[0]
	}
	return nil
}

func (s *Server) postView(did, handle string, rec localRecord) map[string]any {
	author := map[string]any{"did": did, "handle": handle}
	if p := s.localProfile(did, ""); p != nil {
		if dn, ok := p.value["displayName"].(string); ok {
			author["displayName"] = dn
		}
	}
	indexed, _ := rec.value["createdAt"].(string)
	if indexed == "" {
		indexed = s.now().UTC().Format(time.RFC3339Nano)
	}
	return map[string]any{
		"uri": atURI(did, "app.bsky.feed.post", rec.rkey), "cid": rec.cid, "author": author,
		"record": rec.json, "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
		"indexedAt": indexed, "labels": []any{},
	}
}

// mergeLocal rewrites an AppView answer to include the caller's newer
// records. It returns the body unchanged when there is nothing to add.
func (s *Server) mergeLocal(nsid string, did, handle string, q url.Values, rev string, status int, body []byte) (int, []byte) {
	isSelf := func(actor string) bool { return actor == did || strings.EqualFold(actor, handle) }
	switch nsid {
	case "app.bsky.actor.getProfile":
		p := s.localProfile(did, rev)
		if status != http.StatusOK || !isSelf(q.Get("actor")) || p == nil {
			return status, body
		}
		var view map[string]any
		if json.Unmarshal(body, &view) != nil {
			return status, body
		}
		for _, k := range []string{"displayName", "description"} {
			if v, ok := p.value[k]; ok {
				view[k] = v
			} else {
				delete(view, k)
			}
		}
		out, _ := json.Marshal(view)
		return status, out
	case "app.bsky.feed.getTimeline", "app.bsky.feed.getAuthorFeed":
		if status != http.StatusOK || (nsid == "app.bsky.feed.getAuthorFeed" && !isSelf(q.Get("actor"))) || q.Get("cursor") != "" {
			return status, body
		}
		posts := s.newerRecords(did, "app.bsky.feed.post", rev, 50)
		if len(posts) == 0 {
			return status, body
		}
		var res map[string]any
		if json.Unmarshal(body, &res) != nil {
			return status, body
		}
		feed, _ := res["feed"].([]any)
		var items []any
		for _, p := range posts {
			items = append(items, map[string]any{"post": s.postView(did, handle, p)})
		}
		res["feed"] = append(items, feed...)
		out, _ := json.Marshal(res)
		return status, out
	case "app.bsky.feed.getPostThread":
		uri := q.Get("uri")
		posts := s.newerRecords(did, "app.bsky.feed.post", rev, 50)
		if len(posts) == 0 {
			return status, body
		}
		if status != http.StatusOK {
			// The AppView has not seen the post yet: answer from the repo.
			for _, p := range posts {
				if atURI(did, "app.bsky.feed.post", p.rkey) == uri || atURI(handle, "app.bsky.feed.post", p.rkey) == uri {
					out, _ := json.Marshal(map[string]any{"thread": map[string]any{
						"$type": "app.bsky.feed.defs#threadViewPost", "post": s.postView(did, handle, p), "replies": []any{}}})
					return http.StatusOK, out
				}
			}
			return status, body
		}
		var res map[string]any
		if json.Unmarshal(body, &res) != nil {
			return status, body
		}
		thread, _ := res["thread"].(map[string]any)
		post, _ := thread["post"].(map[string]any)
		if post == nil {
			return status, body
		}
		replies, _ := thread["replies"].([]any)
		added := false
		for _, p := range slices.Backward(posts) {
			reply, _ := p.value["reply"].(map[string]any)
			parent, _ := reply["parent"].(map[string]any)
			if parent != nil && parent["uri"] == post["uri"] {
				replies = append(replies, map[string]any{"$type": "app.bsky.feed.defs#threadViewPost", "post": s.postView(did, handle, p), "replies": []any{}})
				added = true
			}
		}
		if !added {
			return status, body
		}
		thread["replies"] = replies
		out, _ := json.Marshal(res)
		return status, out
	}
	return status, body
}
