package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/plc/plctest"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
)

// TestAdminAPIAsGoatCallsIt drives the built daemon's admin API over HTTP
// the way `goat pds admin` and pdsadmin do — Basic admin:<password> on
// com.atproto.admin.* and createInviteCodes, listRepos for the account
// list — and checks every answer against its lexicon's output schema.
func TestAdminAPIAsGoatCallsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	dir := plctest.New()
	plc := httptest.NewServer(dir)
	t.Cleanup(plc.Close)
	base, _ := runBinary(t, "HEARTH_HANDLE_DOMAINS=.test", "HEARTH_PLC_URL="+plc.URL,
		"HEARTH_INVITE_REQUIRED=true", "HEARTH_ADMIN_PASSWORD=goat-secret")
	cat, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, nsid, params string, body any, want int) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rd = bytes.NewReader(raw)
		}
		u := base + "/xrpc/" + nsid
		if params != "" {
			u += "?" + params
		}
		req, _ := http.NewRequest(method, u, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.SetBasicAuth("admin", "goat-secret")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s: %d %s, want %d", nsid, res.StatusCode, raw, want)
		}
		if want != 200 || len(bytes.TrimSpace(raw)) == 0 {
			return nil
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s: %s", nsid, raw)
		}
		if err := cat.ValidateOutput(nsid, dataModel(v)); err != nil {
			t.Fatalf("%s answer does not match its lexicon: %v\n%s", nsid, err, raw)
		}
		m, _ := v.(map[string]any)
		return m
	}
	// pdsadmin account create: an invite, then createAccount.
	codes := call("POST", "com.atproto.server.createInviteCodes", "", map[string]any{"useCount": 1, "codeCount": 1}, 200)
	code := codes["codes"].([]any)[0].(map[string]any)["codes"].([]any)[0].(string)
	single := call("POST", "com.atproto.server.createInviteCode", "", map[string]any{"useCount": 1}, 200)
	if single["code"] == "" {
		t.Fatal("createInviteCode gave no code")
	}
	acct := postJSON(t, base+"/xrpc/com.atproto.server.createAccount", map[string]any{"handle": "goat.test", "email": "goat@example.com", "password": "pw-goat-123", "inviteCode": code})
	did := acct["did"].(string)
	access := acct["accessJwt"].(string)

	repos := call("GET", "com.atproto.sync.listRepos", "", nil, 200)
	if len(repos["repos"].([]any)) != 1 {
		t.Fatalf("listRepos %v", repos)
	}
	call("GET", "com.atproto.admin.getAccountInfos", "dids="+did, nil, 200)
	info := call("GET", "com.atproto.admin.getAccountInfo", "did="+did, nil, 200)
	if info["handle"] != "goat.test" {
		t.Fatalf("info %v", info)
	}
	call("GET", "com.atproto.admin.getInviteCodes", "sort=recent&limit=10", nil, 200)

	// Takedowns of an account, a record and a blob, each read back.
	post := postJSONAuth(t, base+"/xrpc/com.atproto.repo.createRecord", access, map[string]any{"repo": did, "collection": "app.bsky.feed.post",
		"record": map[string]any{"$type": "app.bsky.feed.post", "text": "hello", "createdAt": time.Now().UTC().Format(time.RFC3339)}})
	uri, cid := post["uri"].(string), post["cid"].(string)
	blob := uploadJPEG(t, base, access)
	subjects := []struct {
		subject map[string]any
		params  string
	}{
		{map[string]any{"$type": "com.atproto.admin.defs#repoRef", "did": did}, "did=" + did},
		{map[string]any{"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid}, "uri=" + uri},
		{map[string]any{"$type": "com.atproto.admin.defs#repoBlobRef", "did": did, "cid": blob}, "did=" + did + "&blob=" + blob},
	}
	for _, s := range subjects {
		call("POST", "com.atproto.admin.updateSubjectStatus", "", map[string]any{"subject": s.subject, "takedown": map[string]any{"applied": true, "ref": "goat"}}, 200)
		st := call("GET", "com.atproto.admin.getSubjectStatus", s.params, nil, 200)
		if st["takedown"].(map[string]any)["applied"] != true {
			t.Fatalf("%s: %v", s.params, st)
		}
		call("POST", "com.atproto.admin.updateSubjectStatus", "", map[string]any{"subject": s.subject, "takedown": map[string]any{"applied": false}}, 200)
	}
	call("POST", "com.atproto.admin.updateAccountPassword", "", map[string]any{"did": did, "password": "reset-by-admin"}, 200)
	call("POST", "com.atproto.admin.disableInviteCodes", "", map[string]any{"codes": []string{single["code"].(string)}}, 200)
	call("POST", "com.atproto.admin.deleteAccount", "", map[string]any{"did": did}, 200)
	call("GET", "com.atproto.admin.getAccountInfo", "did="+did, nil, 400)
}

// dataModel turns JSON numbers into the data model's integers.
func dataModel(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
	case map[string]any:
		for k, y := range x {
			x[k] = dataModel(y)
		}
	case []any:
		for i, y := range x {
			x[i] = dataModel(y)
		}
	}
	return v
}

func itoa(n int) string { return strconv.Itoa(n) }

// runBinary builds and starts the daemon binary on a free loopback port with a
// fresh data folder, the environment's settings plus env (later ones win),
// until the test ends. It returns the base URL and the process ID.
func runBinary(t *testing.T, env ...string) (base string, pid int) {
	t.Helper()
	port := freePort(t)
	base = "http://127.0.0.1:" + itoa(port)
	cmd := exec.Command(buildHearth(t))
	cmd.Env = append(os.Environ(), "HEARTH_DATA="+t.TempDir(), "HEARTH_LISTEN=127.0.0.1:"+itoa(port),
		"HEARTH_HOSTNAME=localhost", "HEARTH_PUBLIC_URL="+base, "HEARTH_RELAYS=", "HEARTH_DEV=1")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	waitHealthy(t, base, &out)
	return base, cmd.Process.Pid
}

func waitHealthy(t *testing.T, base string, out *bytes.Buffer) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get(base + "/xrpc/_health"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("hearth did not come up:\n%s", out.String())
}

func postJSON(t *testing.T, u string, body any) map[string]any { return postJSONAuth(t, u, "", body) }

func postJSONAuth(t *testing.T, u, token string, body any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", u, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s: %d %s", u, res.StatusCode, out)
	}
	var m map[string]any
	json.Unmarshal(out, &m)
	return m
}

// uploadJPEG uploads a tiny JPEG and returns its CID.
func uploadJPEG(t *testing.T, base, token string) string {
	t.Helper()
	img := append([]byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xda, 0x00, 0x02}, bytes.Repeat([]byte{7}, 2000)...)
	img = append(img, 0xff, 0xd9)
	req, _ := http.NewRequest("POST", base+"/xrpc/com.atproto.repo.uploadBlob", bytes.NewReader(img))
	req.Header.Set("Content-Type", "image/jpeg")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m struct {
		Blob struct {
			Ref struct {
				Link string `json:"$link"`
			} `json:"ref"`
		} `json:"blob"`
	}
	if res.StatusCode != 200 || json.Unmarshal(raw, &m) != nil {
		t.Fatalf("uploadBlob: %d %s", res.StatusCode, raw)
	}
	return m.Blob.Ref.Link
}
