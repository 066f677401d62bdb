package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearth-pds/hearth/store"
)

// The setup code unlocks the wizard until setup is done. The data file
// keeps only its hash (meta "setup.code-hash"); the code itself is in
// <data>/setup-code, readable by Hearth's user only, so that each start can
// print it again. Both go when the owner account exists.
const (
	metaSetupCodeHash = "setup.code-hash"
	setupCodeFile     = "setup-code"
)

func hashCode(code string) string {
	h := sha256.Sum256([]byte(strings.TrimSpace(code)))
	return hex.EncodeToString(h[:])
}

// ensureSetupCode returns the setup code in force, making one when there is
// none (or its file is lost).
func (a *appliance) ensureSetupCode(dir string) (string, error) {
	path := filepath.Join(dir, setupCodeFile)
	if b, err := os.ReadFile(path); err == nil {
		code := strings.TrimSpace(string(b))
		if code != "" && a.meta(metaSetupCodeHash) == hashCode(code) {
			a.setupCode = code
			return code, nil
		}
	}
	code := newSetupCode()
	if err := writeFileAtomic(path, []byte(code+"\n"), 0o600); err != nil {
		return "", err
	}
	err := a.db.Update(context.Background(), func(tx *store.Tx) error {
		return tx.SetMeta(metaSetupCodeHash, []byte(hashCode(code)))
	})
	a.setupCode = code
	return code, err
}

// CheckSetupCode compares code with the stored hash, while setup is open.
func (a *appliance) CheckSetupCode(code string) bool {
	if _, done := a.Owner(); done {
		return false
	}
	want := a.meta(metaSetupCodeHash)
	return want != "" && subtle.ConstantTimeCompare([]byte(hashCode(code)), []byte(want)) == 1
}

// dropSetupCode ends the code once setup is done.
func (a *appliance) dropSetupCode(tx *store.Tx) error {
	os.Remove(filepath.Join(a.base.Data, setupCodeFile))
	return tx.DeleteMeta(metaSetupCodeHash)
}

// setupLinks are the addresses a person can open the wizard at: every
// address of this machine when Hearth listens on all of them (a phone on
// the LAN reaches those, not 0.0.0.0), else the one it listens on, and the
// public URL when the hostname is a real one.
func setupLinks(listen, publicURL string, local bool, addrs []net.Addr) []string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil
	}
	var out []string
	add := func(h string) { out = append(out, "http://"+net.JoinHostPort(h, port)+"/setup") }
	ip := net.ParseIP(host)
	switch {
	case host == "" || (ip != nil && ip.IsUnspecified()):
		add("localhost")
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() || (ip != nil && ip.To4() != nil && n.IP.To4() == nil) {
				continue
			}
			add(n.IP.String())
		}
	case ip != nil && ip.IsLoopback():
		add("localhost")
	default:
		add(host)
	}
	if !local {
		out = append(out, strings.TrimSuffix(publicURL, "/")+"/setup")
	}
	return out
}

// announceSetup prints, while setup is open, the setup code and every link
// the wizard can be opened at.
func (a *appliance) announceSetup() error {
	if _, done := a.Owner(); done {
		return nil
	}
	code, err := a.ensureSetupCode(a.base.Data)
	if err != nil {
		return err
	}
	cfg := a.effective(a.base)
	addrs, _ := net.InterfaceAddrs()
	links := setupLinks(cfg.Listen, cfg.PublicURL, isLocalHost(cfg.Hostname), addrs)
	a.log.Warn("Hearth is not set up yet: open one of these links and enter this setup code",
		"setup_code", code, "links", strings.Join(links, " "))
	for _, l := range links {
		a.log.Info("setup link", "url", l)
	}
	return nil
}
