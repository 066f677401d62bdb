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
	if c.Data != "./data" || c.Listen != "127.0.0.1:2583" || c.PublicURL != "http://localhost:2583" ||
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

func TestLoadConfigConnectionCaps(t *testing.T) {
	tests := []struct {
		env          map[string]string
		args         []string
		conns, perIP int
		wantErr      bool
	}{
		{env: map[string]string{}, conns: 512, perIP: 64},
		{env: map[string]string{"HEARTH_MAX_CONNS": "100", "HEARTH_MAX_CONNS_PER_IP": "0"}, conns: 100, perIP: 0},
		{env: map[string]string{"HEARTH_MAX_CONNS": "100"}, args: []string{"-max-conns", "7"}, conns: 7, perIP: 64},
		{env: map[string]string{"HEARTH_MAX_CONNS": "many"}, wantErr: true},
		{env: map[string]string{"HEARTH_MAX_CONNS_PER_IP": "-1"}, wantErr: true},
		{env: map[string]string{}, args: []string{"-max-conns-per-ip", "-3"}, wantErr: true},
	}
	for _, tt := range tests {
		c, err := loadConfig(tt.args, func(k string) string { return tt.env[k] })
		if tt.wantErr {
			if err == nil {
				t.Errorf("%v %v: no error", tt.env, tt.args)
			}
			continue
		}
		if err != nil || c.MaxConns != tt.conns || c.MaxConnsPerIP != tt.perIP {
			t.Errorf("%v %v: %d %d %v, want %d %d", tt.env, tt.args, c.MaxConns, c.MaxConnsPerIP, err, tt.conns, tt.perIP)
		}
	}
}
