package main

import "testing"

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
