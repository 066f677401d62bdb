package main

import (
	"net/netip"
	"testing"
)

func TestLoadConfigDefaults(t *testing.T) {
	env := map[string]string{}
	c, err := loadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "./data" || c.Listen != "127.0.0.1:2583" || c.PublicURL != "http://localhost" ||
		c.HandleDomains != ".localhost" || !c.InviteRequired || c.Dev {
		t.Fatalf("defaults: %+v", c)
	}
	env["HEARTH_HOSTNAME"] = "pds.example.com"
	env["HEARTH_INVITE_REQUIRED"] = "false"
	c, err = loadConfig([]string{"-listen", ":9"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://pds.example.com" || c.HandleDomains != ".pds.example.com" || c.InviteRequired || c.Listen != ":9" {
		t.Fatalf("env and flags: %+v", c)
	}
}

func TestConfiguredAddr(t *testing.T) {
	tests := []struct {
		url, addr string
		want      bool
	}{
		{"http://127.0.0.1:2582", "127.0.0.1:2582", true},
		{"http://127.0.0.1:2582", "127.0.0.1:2583", false},
		{"http://127.0.0.1:2582", "127.0.0.2:2582", false},
		{"http://10.0.0.5", "10.0.0.5:80", true},
		{"https://[fd00::1]", "[fd00::1]:443", true},
		{"https://[::ffff:10.0.0.5]", "10.0.0.5:443", true},
	}
	for _, tt := range tests {
		allow := configuredAddr(tt.url)
		if got := allow != nil && allow(netip.MustParseAddrPort(tt.addr)); got != tt.want {
			t.Errorf("configuredAddr(%s)(%s) = %v, want %v", tt.url, tt.addr, got, tt.want)
		}
	}
	// A name is not an address: nothing is let through.
	if configuredAddr("https://plc.directory") != nil {
		t.Error("a host name was trusted")
	}
}
