package xrpc

import "testing"

func TestDescribeServerLinksAndContact(t *testing.T) {
	for _, tc := range []struct {
		name           string
		cfg            func(*Config)
		links, contact string
	}{
		{"unset", func(*Config) {}, `{}`, `{}`},
		{"all set", func(c *Config) {
			c.PrivacyPolicyURL = "https://pds.test/privacy"
			c.TermsOfServiceURL = "https://pds.test/terms"
			c.ContactEmail = "owner@pds.test"
		}, `{"privacyPolicy":"https://pds.test/privacy","termsOfService":"https://pds.test/terms"}`, `{"email":"owner@pds.test"}`},
		{"terms only", func(c *Config) { c.TermsOfServiceURL = "https://pds.test/terms" }, `{"termsOfService":"https://pds.test/terms"}`, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg)
			m := e.get("com.atproto.server.describeServer", "", "").json(t)
			if got := mustJSON(t, m["links"]); got != tc.links {
				t.Errorf("links = %s, want %s", got, tc.links)
			}
			if got := mustJSON(t, m["contact"]); got != tc.contact {
				t.Errorf("contact = %s, want %s", got, tc.contact)
			}
		})
	}
}
