package xrpc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tinyJPEG is a minimal JPEG; with gps its EXIF carries a latitude.
func tinyJPEG(gps bool, fill byte) []byte {
	le := binary.LittleEndian
	var t bytes.Buffer
	t.WriteString("II*\x00")
	binary.Write(&t, le, uint32(8))
	binary.Write(&t, le, uint16(1))
	if gps {
		binary.Write(&t, le, []uint16{0x8825, 4})
		binary.Write(&t, le, []uint32{1, 26})
		binary.Write(&t, le, uint32(0))
		binary.Write(&t, le, uint16(1))
		binary.Write(&t, le, []uint16{2, 5})
		binary.Write(&t, le, []uint32{3, 44})
		binary.Write(&t, le, uint32(0))
	} else {
		binary.Write(&t, le, []uint16{0x010f, 2})
		binary.Write(&t, le, []uint32{4, 0x00786548})
		binary.Write(&t, le, uint32(0))
	}
	exif := append([]byte("Exif\x00\x00"), t.Bytes()...)
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xd8, 0xff, 0xe1})
	binary.Write(&b, binary.BigEndian, uint16(len(exif)+2))
	b.Write(exif)
	b.Write([]byte{0xff, 0xda, 0x00, 0x02})
	b.Write(bytes.Repeat([]byte{fill}, 5000))
	b.Write([]byte{0xff, 0xd9})
	return b.Bytes()
}

func (e *testEnv) upload(token, mime string, data []byte, header ...string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.http.URL+"/xrpc/com.atproto.repo.uploadBlob", bytes.NewReader(data))
	req.Header.Set("Content-Type", mime)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Body: body, Header: res.Header}
}

func imagePost(blob any) map[string]any {
	return map[string]any{"$type": "app.bsky.feed.post", "text": "look", "createdAt": "2024-05-01T12:00:00Z",
		"embed": map[string]any{"$type": "app.bsky.embed.images", "images": []any{map[string]any{"alt": "a picture", "image": blob}}}}
}

func TestBlobsOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("rita")
	other := e.createAccount("sam")
	img := tinyJPEG(false, 1)

	expectError(t, e.upload(a.Access, "image/jpeg", tinyJPEG(true, 2)), 400, "InvalidRequest")
	if r := e.upload(a.Access, "image/jpeg", tinyJPEG(true, 2), "X-Hearth-Allow-Location", "true"); r.Status != 200 {
		t.Fatalf("upload with the location override: %d %s", r.Status, r.Body)
	}
	expectError(t, e.upload(a.Access, "image/png", img), 400, "InvalidRequest")
	expectError(t, e.do("POST", "com.atproto.repo.uploadBlob", "", "", img), 401, "AuthMissing")

	up := e.upload(a.Access, "image/jpeg", img)
	if up.Status != 200 {
		t.Fatalf("uploadBlob: %d %s", up.Status, up.Body)
	}
	blob := up.json(t)["blob"].(map[string]any)
	cid := blob["ref"].(map[string]any)["$link"].(string)

	// Someone else cannot use it; a lying size is refused; the owner can.
	expectError(t, e.post("com.atproto.repo.createRecord", other.Access, map[string]any{"repo": other.DID, "collection": "app.bsky.feed.post", "record": imagePost(blob)}), 400, "BlobNotFound")
	lying := map[string]any{"$type": "blob", "ref": blob["ref"], "mimeType": "image/jpeg", "size": 12}
	expectError(t, e.post("com.atproto.repo.createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": imagePost(lying)}), 400, "InvalidRequest")
	cr := e.post("com.atproto.repo.createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": imagePost(blob)})
	if cr.Status != 200 {
		t.Fatalf("post with image: %d %s", cr.Status, cr.Body)
	}

	// getBlob: bytes, headers, ranges, conditional requests.
	get := func(hdr ...string) *http.Response {
		req, _ := http.NewRequest("GET", e.http.URL+"/xrpc/com.atproto.sync.getBlob?did="+a.DID+"&cid="+cid, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := get()
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(body, img) {
		t.Fatalf("getBlob: %d, %d bytes", res.StatusCode, len(body))
	}
	for k, want := range map[string]string{
		"Content-Type": "image/jpeg", "X-Content-Type-Options": "nosniff", "ETag": `"` + cid + `"`,
		"Content-Security-Policy": "default-src 'none'; sandbox",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	res = get("Range", "bytes=100-199")
	part, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 206 || !bytes.Equal(part, img[100:200]) {
		t.Fatalf("range: %d, %d bytes", res.StatusCode, len(part))
	}
	if res = get("If-None-Match", `"`+cid+`"`); res.StatusCode != 304 {
		t.Fatalf("If-None-Match: %d", res.StatusCode)
	}
	res.Body.Close()
	lb := e.get("com.atproto.sync.listBlobs", "", "did="+a.DID).json(t)
	if got := lb["cids"].([]any); len(got) != 1 || got[0] != cid {
		t.Fatalf("listBlobs: %v", lb)
	}
	if m := e.get("com.atproto.repo.listMissingBlobs", a.Access, "").json(t); len(m["blobs"].([]any)) != 0 {
		t.Fatalf("listMissingBlobs: %v", m)
	}

	// Admin takedown hides it; undoing shows it again.
	e.adminPost("com.atproto.admin.updateSubjectStatus", map[string]any{
		"subject": map[string]any{"$type": "com.atproto.admin.defs#repoBlobRef", "did": a.DID, "cid": cid}, "takedown": map[string]any{"applied": true}})
	expectError(t, e.get("com.atproto.sync.getBlob", "", "did="+a.DID+"&cid="+cid), 400, "BlobNotFound")
	e.adminPost("com.atproto.admin.updateSubjectStatus", map[string]any{
		"subject": map[string]any{"$type": "com.atproto.admin.defs#repoBlobRef", "did": a.DID, "cid": cid}, "takedown": map[string]any{"applied": false}})
	if r := e.get("com.atproto.sync.getBlob", "", "did="+a.DID+"&cid="+cid); r.Status != 200 {
		t.Fatalf("after undoing the takedown: %d", r.Status)
	}

	// Deleting the only post that uses it deletes the blob.
	uri := cr.json(t)["uri"].(string)
	e.post("com.atproto.repo.deleteRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "rkey": uri[strings.LastIndexByte(uri, '/')+1:]})
	expectError(t, e.get("com.atproto.sync.getBlob", "", "did="+a.DID+"&cid="+cid), 400, "BlobNotFound")
}

func TestBlobTooLarge(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BlobLimit = 4000 })
	a := e.createAccount("tina")
	expectError(t, e.upload(a.Access, "image/jpeg", tinyJPEG(false, 3)), 400, "BlobTooLarge")
	// Without a Content-Length the limit is found while streaming.
	req, _ := http.NewRequest("POST", e.http.URL+"/xrpc/com.atproto.repo.uploadBlob", io.MultiReader(bytes.NewReader(tinyJPEG(false, 3))))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "image/jpeg")
	req.Header.Set("Authorization", "Bearer "+a.Access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(body), "BlobTooLarge") {
		t.Fatalf("chunked oversize: %d %s", res.StatusCode, body)
	}
}

// An upload that announces more than the limit is refused before any of its
// body is read: the answer comes while the client has sent only headers.
func TestOversizedUploadRefusedAtOnce(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("olga")
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /xrpc/com.atproto.repo.uploadBlob HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: image/png\r\nContent-Length: 200000000\r\n\r\n", a.Access)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	if res.StatusCode != 400 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func TestGetBlobRangesNeverAmplify(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("rhea")
	img := tinyJPEG(false, 3)
	up := e.upload(a.Access, "image/jpeg", img)
	if up.Status != 200 {
		t.Fatalf("uploadBlob: %d %s", up.Status, up.Body)
	}
	cid := up.json(t)["blob"].(map[string]any)["ref"].(map[string]any)["$link"].(string)
	many := make([]string, 2000)
	for i := range many {
		many[i] = fmt.Sprintf("%d-%d", 2*i, 2*i)
	}
	for _, tc := range []struct {
		name, rng string
		status    int
		want      []byte
	}{
		{"one range", "bytes=100-199", 206, img[100:200]},
		{"two ranges", "bytes=0-0,10-10", 200, img},
		{"2000 one-byte ranges", "bytes=" + strings.Join(many, ","), 200, img},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.http.URL+"/xrpc/com.atproto.sync.getBlob?did="+a.DID+"&cid="+cid, nil)
			req.Header.Set("Range", tc.rng)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || !bytes.Equal(body, tc.want) {
				t.Fatalf("Range %.40s…: %d, %d bytes; want %d, %d bytes (blob %d)", tc.rng, res.StatusCode, len(body), tc.status, len(tc.want), len(img))
			}
		})
	}
}
